//! Where everything goes on the screen: one pure function of the terminal
//! size and a few flags, used both to draw and to map mouse clicks, so the
//! two always agree.

use super::action::Tab;
use ratatui::layout::{Constraint, Layout, Rect};

/// Below this the screen only says it is too small.
pub const MIN_WIDTH: u16 = 60;
/// Below this the screen only says it is too small.
pub const MIN_HEIGHT: u16 = 12;
/// The DEADLOCK banner wraps onto at most this many rows.
pub const BANNER_MAX: u16 = 4;
/// Shown without being asked for, the detail pane needs the body to be at
/// least this tall, so the table keeps most of a short screen.
const DETAIL_MIN_BODY: u16 = 20;
/// The detail pane's height.
const DETAIL_HEIGHT: u16 = 12;
/// Asked for, the detail pane takes rows from the table down to this
/// (its header and three threads, the selected one kept among them)…
const TABLE_MIN_HEIGHT: u16 = 4;
/// …and is shown only if it gets this many (its title and five fields).
const DETAIL_MIN_HEIGHT: u16 = 6;

/// The regions of the screen.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Areas {
    /// Process, system, counts (and the DEADLOCK banner).
    pub header: Rect,
    /// The tab bar.
    pub tabs: Rect,
    /// Replaying: where the play state, speed, position and timeline go —
    /// beside the tabs when they fit there, else on a row of their own.
    pub replay: Option<Rect>,
    /// The current screen.
    pub body: Rect,
    /// On the threads screen: the table (header row included).
    pub table: Rect,
    /// On the threads screen: the detail pane, when shown.
    pub detail: Option<Rect>,
    /// The status line.
    pub status: Rect,
}

/// What the layout depends on besides the size.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Flags {
    /// The current screen.
    pub tab: Tab,
    /// Whether the detail pane is wanted.
    pub detail: DetailPane,
    /// Rows of the DEADLOCK banner (or of what the deadlock search
    /// covers, attached to another process); 0 without one.
    pub banner: u16,
    /// Replaying: the columns the play state, speed and position need
    /// beside the tabs (the timeline bar shrinks to fit); 0 otherwise.
    pub replay: u16,
    /// Rows of data the threads table has: a detail pane that is shown
    /// grows into the rows the table leaves empty.
    pub rows: u16,
}

/// Whether the threads screen shows the detail pane.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum DetailPane {
    /// Shown when the table keeps most of the screen (the default).
    #[default]
    Auto,
    /// Asked for: shown whenever it fits, taking rows from the table.
    Shown,
    /// Hidden.
    Hidden,
}

/// What Enter makes of the detail pane on a screen of `area`: the new
/// state, or how many more rows the screen needs to show it.
pub fn toggle_detail(area: Rect, flags: Flags) -> Result<DetailPane, u16> {
    let shown = areas(area, flags).is_some_and(|a| a.detail.is_some());
    if shown {
        return Ok(DetailPane::Hidden);
    }
    let asked = Flags { detail: DetailPane::Shown, ..flags };
    match areas(area, asked) {
        Some(a) if flags.tab != Tab::Threads || a.detail.is_some() => Ok(DetailPane::Shown),
        Some(a) => Err((TABLE_MIN_HEIGHT + DETAIL_MIN_HEIGHT).saturating_sub(a.body.height)),
        // Too small for any screen (nor a status line to say so): as asked.
        None if flags.detail == DetailPane::Hidden => Ok(DetailPane::Shown),
        None => Ok(DetailPane::Hidden),
    }
}

/// The regions for a terminal of `area`, or `None` if it is too small.
pub fn areas(area: Rect, flags: Flags) -> Option<Areas> {
    if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
        return None;
    }
    let header_height = 2 + flags.banner;
    let tabs_width = tab_titles().map(|(_, title)| title.chars().count() as u16).sum::<u16>();
    let replay_row = flags.replay > 0 && tabs_width + flags.replay > area.width;
    let [header, tabs, replay_row, body, status] = Layout::vertical([
        Constraint::Length(header_height),
        Constraint::Length(1),
        Constraint::Length(u16::from(replay_row)),
        Constraint::Min(1),
        Constraint::Length(1),
    ])
    .areas(area);
    let replay = match flags.replay {
        0 => None,
        _ if replay_row.height > 0 => Some(replay_row),
        _ => Some(Rect { x: tabs.x + tabs_width, width: tabs.width - tabs_width, ..tabs }),
    };
    let detail_height = match flags.detail {
        _ if flags.tab != Tab::Threads => 0,
        DetailPane::Auto if body.height >= DETAIL_MIN_BODY => DETAIL_HEIGHT,
        DetailPane::Shown => DETAIL_HEIGHT.min(body.height.saturating_sub(TABLE_MIN_HEIGHT)),
        DetailPane::Auto | DetailPane::Hidden => 0,
    };
    let (table, detail) = if detail_height >= DETAIL_MIN_HEIGHT {
        // Rows the table would leave empty go to the pane (a long stack,
        // a wrapped holder), the table keeping every row it has.
        let table_needs = flags.rows.saturating_add(1).max(TABLE_MIN_HEIGHT);
        let detail_height = detail_height.max(body.height.saturating_sub(table_needs));
        let [table, detail] =
            Layout::vertical([Constraint::Min(1), Constraint::Length(detail_height)]).areas(body);
        (table, Some(detail))
    } else {
        (body, None)
    };
    Some(Areas { header, tabs, replay, body, table, detail, status })
}

/// Rows of data the threads table (or the timeline) shows: its height
/// less the header row.
pub fn table_rows(areas: &Areas, tab: Tab) -> usize {
    let area = if tab == Tab::Threads { areas.table } else { areas.body };
    usize::from(area.height.saturating_sub(1))
}

/// The tab under column `x` of the tab bar, as [`tab_titles`] lays them out.
pub fn tab_at(x: u16, tabs: Rect) -> Option<Tab> {
    let mut left = tabs.x;
    for (tab, title) in tab_titles() {
        let width = title.chars().count() as u16;
        if x >= left && x < left + width {
            return Some(tab);
        }
        left += width;
    }
    None
}

/// The tab bar's titles, each with its key and padding.
pub fn tab_titles() -> impl Iterator<Item = (Tab, String)> {
    Tab::ALL.iter().enumerate().map(|(i, &tab)| {
        let key = if tab == Tab::Help { '?' } else { char::from(b'1' + i as u8) };
        (tab, format!(" {key} {} ", tab.title()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flags(tab: Tab) -> Flags {
        Flags { tab, detail: DetailPane::Auto, banner: 0, replay: 0, rows: u16::MAX }
    }

    #[test]
    fn too_small_is_none() {
        assert!(areas(Rect::new(0, 0, 59, 40), flags(Tab::Threads)).is_none());
        assert!(areas(Rect::new(0, 0, 120, 11), flags(Tab::Threads)).is_none());
        assert!(areas(Rect::new(0, 0, 60, 12), flags(Tab::Threads)).is_some());
    }

    #[test]
    fn the_detail_pane_only_when_there_is_room() {
        let big = areas(Rect::new(0, 0, 120, 40), flags(Tab::Threads)).unwrap_or_else(|| unreachable!());
        assert!(big.detail.is_some());
        assert_eq!(big.table.height + DETAIL_HEIGHT, big.body.height);
        let small = areas(Rect::new(0, 0, 120, 20), flags(Tab::Threads)).unwrap_or_else(|| unreachable!());
        assert!(small.detail.is_none());
    }

    #[test]
    fn asked_for_the_detail_pane_takes_rows_from_the_table() {
        // 80×24 under a four-row DEADLOCK banner: a body of 16 rows.
        let screen = Rect::new(0, 0, 80, 24);
        let banner = Flags { banner: 4, ..flags(Tab::Threads) };
        let auto = areas(screen, banner).unwrap_or_else(|| unreachable!());
        assert_eq!((auto.body.height, auto.detail), (16, None));
        assert_eq!(toggle_detail(screen, banner), Ok(DetailPane::Shown));
        let asked = Flags { detail: DetailPane::Shown, ..banner };
        let shown = areas(screen, asked).unwrap_or_else(|| unreachable!());
        assert_eq!(shown.detail.map(|d| d.height), Some(DETAIL_HEIGHT));
        assert_eq!(shown.table.height, TABLE_MIN_HEIGHT);
        assert_eq!(toggle_detail(screen, asked), Ok(DetailPane::Hidden));
        // The smallest screen has no room: Enter says how many rows short.
        let tiny = Rect::new(0, 0, 80, 12);
        let one = Flags { banner: 1, ..flags(Tab::Threads) };
        assert_eq!(areas(tiny, Flags { detail: DetailPane::Shown, ..one }).and_then(|a| a.detail), None);
        assert_eq!(toggle_detail(tiny, one), Err(3));
        // Other screens have no pane to refuse.
        assert_eq!(toggle_detail(tiny, Flags { tab: Tab::Locks, ..one }), Ok(DetailPane::Shown));
    }

    #[test]
    fn the_replay_position_goes_beside_the_tabs_or_on_its_own_row() {
        let replay = Flags { replay: 30, ..flags(Tab::Threads) };
        let wide = areas(Rect::new(0, 0, 120, 40), replay).unwrap_or_else(|| unreachable!());
        assert_eq!(wide.replay, Some(Rect::new(66, wide.tabs.y, 54, 1)));
        let narrow = areas(Rect::new(0, 0, 80, 24), replay).unwrap_or_else(|| unreachable!());
        assert_eq!(narrow.replay, Some(Rect::new(0, narrow.tabs.y + 1, 80, 1)));
        assert_eq!(narrow.body.y, narrow.tabs.y + 2);
        let live = areas(Rect::new(0, 0, 80, 24), flags(Tab::Threads)).unwrap_or_else(|| unreachable!());
        assert_eq!((live.replay, live.body.y), (None, live.tabs.y + 1));
    }

    #[test]
    fn a_shown_pane_grows_into_the_rows_the_table_leaves_empty() {
        let screen = Rect::new(0, 0, 120, 40);
        let few = Flags { rows: 3, ..flags(Tab::Threads) };
        let a = areas(screen, few).unwrap_or_else(|| unreachable!());
        assert_eq!(a.table.height, 4, "the header and its three rows");
        assert_eq!(a.table.height + a.detail.map_or(0, |d| d.height), a.body.height);
        let many = Flags { rows: 500, ..flags(Tab::Threads) };
        let b = areas(screen, many).unwrap_or_else(|| unreachable!());
        assert_eq!(b.detail.map(|d| d.height), Some(DETAIL_HEIGHT), "a full table keeps its rows");
        let hidden = Flags { detail: DetailPane::Hidden, ..few };
        assert!(areas(screen, hidden).unwrap_or_else(|| unreachable!()).detail.is_none());
    }

    #[test]
    fn tabs_are_found_by_column() {
        let bar = Rect::new(0, 2, 120, 1);
        assert_eq!(tab_at(0, bar), Some(Tab::Threads));
        assert_eq!(tab_at(12, bar), Some(Tab::Locks));
        assert_eq!(tab_at(119, bar), None);
    }
}
