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
/// The detail pane needs the body to be at least this tall.
const DETAIL_MIN_BODY: u16 = 20;
/// The detail pane's height.
const DETAIL_HEIGHT: u16 = 12;

/// The regions of the screen.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Areas {
    /// Process, system, counts (and the DEADLOCK banner).
    pub header: Rect,
    /// The tab bar.
    pub tabs: Rect,
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
    pub detail: bool,
    /// Rows of the DEADLOCK banner (or of what the deadlock search
    /// covers, attached to another process); 0 without one.
    pub banner: u16,
}

/// The regions for a terminal of `area`, or `None` if it is too small.
pub fn areas(area: Rect, flags: Flags) -> Option<Areas> {
    if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
        return None;
    }
    let header_height = 2 + flags.banner;
    let [header, tabs, body, status] = Layout::vertical([
        Constraint::Length(header_height),
        Constraint::Length(1),
        Constraint::Min(1),
        Constraint::Length(1),
    ])
    .areas(area);
    let (table, detail) = if flags.tab == Tab::Threads && flags.detail && body.height >= DETAIL_MIN_BODY {
        let [table, detail] =
            Layout::vertical([Constraint::Min(1), Constraint::Length(DETAIL_HEIGHT)]).areas(body);
        (table, Some(detail))
    } else {
        (body, None)
    };
    Some(Areas { header, tabs, body, table, detail, status })
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
        Flags { tab, detail: true, banner: 0 }
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
    fn tabs_are_found_by_column() {
        let bar = Rect::new(0, 2, 120, 1);
        assert_eq!(tab_at(0, bar), Some(Tab::Threads));
        assert_eq!(tab_at(12, bar), Some(Tab::Locks));
        assert_eq!(tab_at(119, bar), None);
    }
}
