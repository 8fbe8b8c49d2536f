//! The threads table's columns: what they are (also the sort keys), and
//! which of them fit a given width. Layout for drawing (`ui/threads.rs`),
//! clicks (`mouse.rs`) and stepping the sort through the shown columns
//! (`app.rs`) all ask here, so they agree on what is on screen.

use crate::inspect::Snapshot;

/// A column of the threads table (also a sort key).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Column {
    /// pthread ident, hex.
    Ident,
    /// Kernel TID.
    Tid,
    /// Library name (or comm for foreign threads).
    Name,
    /// Kernel comm.
    Comm,
    /// Library state.
    State,
    /// Kernel state letter.
    Kernel,
    /// What it waits on.
    WaitsOn,
    /// CPU %.
    Cpu,
    /// Cumulative CPU time (user + system), as htop's TIME+.
    Time,
    /// Context switches.
    Ctxt,
    /// Daemon flag.
    Daemon,
    /// Time since creation.
    Age,
    /// Ours, inspector's, foreign.
    Origin,
}

impl Column {
    /// Every column, in display order.
    pub const ALL: [Column; 13] = [
        Column::Ident,
        Column::Tid,
        Column::Name,
        Column::Comm,
        Column::State,
        Column::Kernel,
        Column::WaitsOn,
        Column::Cpu,
        Column::Time,
        Column::Ctxt,
        Column::Daemon,
        Column::Age,
        Column::Origin,
    ];

    /// Its header.
    pub fn title(self) -> &'static str {
        match self {
            Column::Ident => "IDENT",
            Column::Tid => "TID",
            Column::Name => "NAME",
            Column::Comm => "COMM",
            Column::State => "STATE",
            Column::Kernel => "K",
            Column::WaitsOn => "WAITS ON",
            Column::Cpu => "CPU%",
            Column::Time => "TIME+",
            Column::Ctxt => "CTXT v/nv",
            Column::Daemon => "D",
            Column::Age => "AGE",
            Column::Origin => "ORIGIN",
        }
    }

    /// The next (or previous) column, wrapping.
    pub fn step(self, forward: bool) -> Column {
        let i = Column::ALL.iter().position(|&c| c == self).unwrap_or(0);
        let n = Column::ALL.len();
        Column::ALL[if forward { (i + 1) % n } else { (i + n - 1) % n }]
    }
}

/// What the snapshot on screen asks of the table, beside the width.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Needs {
    /// Some thread's kernel comm differs from its name (the kernel's cut
    /// counts): otherwise COMM would only repeat NAME.
    pub(crate) comm: bool,
    /// The process has daemon threads: otherwise D would be empty.
    pub(crate) daemon: bool,
    /// The widest name, in cells.
    pub(crate) name: u16,
}

impl Default for Needs {
    /// Everything, before the first sample.
    fn default() -> Self {
        Needs { comm: true, daemon: true, name: NAME_MIN }
    }
}

impl Needs {
    /// What `snapshot`'s threads need.
    pub(crate) fn of(snapshot: &Snapshot) -> Self {
        // One pass over 10,000 threads, every sample.
        let mut needs = Needs { comm: false, daemon: false, name: 0 };
        let mut name = 0;
        for t in &snapshot.threads {
            needs.comm |= t.kernel.as_ref().is_some_and(|k| k.comm.shown() != t.name.shown());
            needs.daemon |= t.daemon == Some(true);
            name = name.max(t.name.width());
        }
        needs.name = name.min(usize::from(u16::MAX)) as u16;
        needs
    }
}

/// Which columns stay when the screen is narrow, most important first:
/// the last one shown is the first to go. NAME and WAITS ON never go;
/// STATE, TID and CPU% stay down to 80 columns; then the daemon mark and
/// the kernel state letter; COMM, TIME+, AGE, ORIGIN, IDENT and CTXT go
/// first.
pub(crate) const PRIORITY: [Column; 13] = [
    Column::Name,
    Column::WaitsOn,
    Column::State,
    Column::Tid,
    Column::Cpu,
    Column::Daemon,
    Column::Kernel,
    Column::Comm,
    Column::Time,
    Column::Age,
    Column::Origin,
    Column::Ident,
    Column::Ctxt,
];

/// The narrowest a column is drawn before it is dropped instead.
fn min_width(column: Column) -> u16 {
    match column {
        Column::Ident => 12,
        Column::Tid => 7,
        Column::Name => NAME_MIN,
        Column::Comm => 16,
        Column::State => 10,
        Column::Kernel | Column::Daemon => 1,
        Column::WaitsOn => 32,
        Column::Cpu => 5,
        Column::Time => 9,
        Column::Ctxt => 11,
        Column::Age => 7,
        Column::Origin => 9,
    }
}

/// The name column's width before it grows to fit the names (less when
/// every name is shorter).
const NAME_MIN: u16 = 18;
/// The name column is never narrower than its title.
const NAME_TITLE: u16 = 4;
/// The name column stops growing here; the rest goes to "waits on".
const NAME_MAX: u16 = 40;
/// How many of [`PRIORITY`] come before anything optional.
const ESSENTIAL: usize = 7;
/// "Waits on" keeps this much before any optional column shows.
const WAITS_ROOMY: u16 = 46;

/// The columns that fit in `width`, with their x offset and width.
pub(crate) fn columns(width: u16, needs: Needs) -> Vec<(Column, u16, u16)> {
    let wanted = |c: &Column| match c {
        Column::Comm => needs.comm,
        Column::Daemon => needs.daemon,
        _ => true,
    };
    let mut kept: Vec<Column> = PRIORITY.into_iter().filter(wanted).collect();
    let essential = PRIORITY[..ESSENTIAL].iter().filter(|c| wanted(c)).count();
    // Names all shorter than the column's usual floor leave their spare
    // cells to "waits on", where a holder's name would otherwise be cut.
    let name_floor = needs.name.clamp(NAME_TITLE, NAME_MIN);
    let floor = |c: Column| if c == Column::Name { name_floor } else { min_width(c) };
    let name_want = needs.name.clamp(name_floor, NAME_MAX);
    // An optional column shows only once the names fit whole and "waits
    // on" is roomy: they matter more than an ident or an age.
    let need = |kept: &[Column]| {
        let sum = kept.iter().map(|&c| floor(c) + 1).sum::<u16>().saturating_sub(1);
        let roomy = (WAITS_ROOMY - min_width(Column::WaitsOn)) + (name_want - name_floor);
        if kept.len() > essential { sum + roomy } else { sum }
    };
    // NAME, WAITS ON and STATE are never dropped (they shrink instead).
    while need(&kept) > width && kept.len() > 3 {
        kept.pop();
    }
    let shown: Vec<Column> = Column::ALL.into_iter().filter(|c| kept.contains(c)).collect();
    let mut widths: Vec<u16> = shown.iter().map(|&c| floor(c)).collect();
    let at = |column: Column| shown.iter().position(|&c| c == column);
    // Both are first in PRIORITY, so never dropped.
    let (name, waits) = (at(Column::Name).unwrap_or(0), at(Column::WaitsOn).unwrap_or(0));
    // Still too wide: "waits on", then the name, give up room.
    let used = |widths: &[u16]| widths.iter().map(|w| w + 1).sum::<u16>().saturating_sub(1);
    let mut excess = used(&widths).saturating_sub(width);
    for i in [waits, name] {
        let cut = excess.min(widths[i].saturating_sub(8));
        widths[i] -= cut;
        excess -= cut;
    }
    // The names get what they need to be told apart (cut in the middle
    // when they still do not fit), the rest goes to "waits on".
    let mut spare = width.saturating_sub(used(&widths));
    let grow = name_want.saturating_sub(widths[name]).min(spare);
    widths[name] += grow;
    spare -= grow;
    widths[waits] += spare;
    let mut x = 0;
    shown
        .iter()
        .zip(widths)
        .map(|(&c, w)| {
            let at = x;
            x += w + 1;
            (c, at, w.min(width.saturating_sub(at)))
        })
        .collect()
}

/// The column under offset `x` of a table `width` wide.
pub(crate) fn column_at(width: u16, needs: Needs, x: u16) -> Option<Column> {
    columns(width, needs).into_iter().find(|&(_, at, w)| x >= at && x <= at + w).map(|(c, _, _)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shown(width: u16, needs: Needs) -> Vec<Column> {
        columns(width, needs).into_iter().map(|(c, _, _)| c).collect()
    }

    #[test]
    fn columns_fit_and_narrow_screens_drop_the_least_useful() {
        for width in [20u16, 60, 80, 120, 200, 400] {
            let layout = columns(width, Needs::default());
            let (_, x, w) = layout.last().copied().unwrap_or((Column::Name, 0, 0));
            assert!(x + w <= width, "{width}: {layout:?}");
            assert!(layout.iter().any(|(c, _, _)| *c == Column::Name));
        }
        assert_eq!(shown(200, Needs::default()), Column::ALL);
        let narrow = shown(60, Needs::default());
        assert!(!narrow.contains(&Column::Ctxt) && narrow.contains(&Column::State));
    }

    #[test]
    fn down_to_80_columns_the_essentials_stay() {
        use Column::*;
        for width in [80, 100, 120] {
            let shown = shown(width, Needs::default());
            for column in [Tid, Name, State, WaitsOn, Cpu, Daemon] {
                assert!(shown.contains(&column), "{width}: {column:?} in {shown:?}");
            }
        }
        // COMM goes before any of them.
        assert!(!shown(80, Needs::default()).contains(&Comm));
        assert!(shown(120, Needs::default()).contains(&Comm));
    }

    #[test]
    fn comm_and_the_daemon_mark_only_when_they_say_something() {
        let needs = Needs { comm: false, daemon: false, name: 10 };
        let shown = shown(200, needs);
        assert!(!shown.contains(&Column::Comm) && !shown.contains(&Column::Daemon), "{shown:?}");
    }

    #[test]
    fn names_get_the_room_to_be_told_apart() {
        let name_width = |width, name| {
            let needs = Needs { name, ..Needs::default() };
            columns(width, needs).into_iter().find(|(c, _, _)| *c == Column::Name).map(|(_, _, w)| w)
        };
        // "PaymentService-Processor-1" is 26 cells: whole from 100 columns,
        // cut in the middle at 80 (`PaymentSe…cessor-1`).
        assert_eq!(name_width(80, 26), Some(NAME_MIN));
        for width in [100, 120] {
            assert_eq!(name_width(width, 26), Some(26), "{width}");
        }
        assert_eq!(name_width(120, 30), Some(30));
        assert_eq!(name_width(200, 90), Some(NAME_MAX));
    }

    #[test]
    fn short_names_leave_their_spare_cells_to_waits_on() {
        let width_of = |column, name| {
            let needs = Needs { name, ..Needs::default() };
            columns(80, needs).into_iter().find(|(c, _, _)| *c == column).map(|(_, _, w)| w)
        };
        assert_eq!(width_of(Column::Name, 13), Some(13));
        assert_eq!(width_of(Column::Name, 2), Some(NAME_TITLE));
        assert_eq!(width_of(Column::WaitsOn, 13), width_of(Column::WaitsOn, 18).map(|w| w + 5));
    }

    #[test]
    fn a_click_finds_its_column() {
        assert_eq!(column_at(200, Needs::default(), 0), Some(Column::Ident));
        assert_eq!(column_at(200, Needs::default(), 13), Some(Column::Tid));
    }
}
