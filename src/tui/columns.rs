//! The threads table's columns: what they are (also the sort keys), and
//! which of them fit a given width. Layout for drawing (`ui/threads.rs`),
//! clicks (`mouse.rs`) and stepping the sort through the shown columns
//! (`app.rs`) all ask here, so they agree on what is on screen.

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
    pub const ALL: [Column; 12] = [
        Column::Ident,
        Column::Tid,
        Column::Name,
        Column::Comm,
        Column::State,
        Column::Kernel,
        Column::WaitsOn,
        Column::Cpu,
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

/// How a column is laid out: minimum width, and the order in which columns
/// are dropped when the screen is narrow (highest first).
struct Spec {
    column: Column,
    min: u16,
    drop_order: u8,
}

const SPECS: [Spec; 12] = [
    Spec { column: Column::Ident, min: 12, drop_order: 9 },
    Spec { column: Column::Tid, min: 7, drop_order: 2 },
    Spec { column: Column::Name, min: 18, drop_order: 0 },
    Spec { column: Column::Comm, min: 16, drop_order: 5 },
    Spec { column: Column::State, min: 10, drop_order: 1 },
    Spec { column: Column::Kernel, min: 1, drop_order: 3 },
    Spec { column: Column::WaitsOn, min: 40, drop_order: 0 },
    Spec { column: Column::Cpu, min: 5, drop_order: 4 },
    Spec { column: Column::Ctxt, min: 11, drop_order: 10 },
    Spec { column: Column::Daemon, min: 1, drop_order: 7 },
    Spec { column: Column::Age, min: 7, drop_order: 6 },
    Spec { column: Column::Origin, min: 9, drop_order: 8 },
];
/// The name column stops growing here; the rest goes to "waits on".
const NAME_MAX: u16 = 30;

/// The columns that fit in `width`, with their x offset and width.
pub(crate) fn columns(width: u16) -> Vec<(Column, u16, u16)> {
    let mut shown: Vec<&Spec> = SPECS.iter().collect();
    let need = |shown: &[&Spec]| shown.iter().map(|s| s.min + 1).sum::<u16>().saturating_sub(1);
    while need(&shown) > width {
        let droppable = shown.iter().enumerate().filter(|(_, s)| s.drop_order > 1);
        let Some((i, _)) = droppable.max_by_key(|(_, s)| s.drop_order) else { break };
        shown.remove(i);
    }
    let mut widths: Vec<u16> = shown.iter().map(|s| s.min).collect();
    // Still too wide: "waits on", then the name, give up room.
    let mut excess = need(&shown).saturating_sub(width);
    for column in [Column::WaitsOn, Column::Name] {
        if let Some(i) = shown.iter().position(|s| s.column == column) {
            let cut = excess.min(widths[i].saturating_sub(8));
            widths[i] -= cut;
            excess -= cut;
        }
    }
    let used: u16 = widths.iter().map(|w| w + 1).sum::<u16>().saturating_sub(1);
    let mut spare = width.saturating_sub(used);
    if let Some(i) = shown.iter().position(|s| s.column == Column::Name) {
        let extra = (spare / 4).min(NAME_MAX.saturating_sub(widths[i]));
        widths[i] += extra;
        spare -= extra;
    }
    if let Some(i) = shown.iter().position(|s| s.column == Column::WaitsOn) {
        widths[i] += spare;
    }
    let mut x = 0;
    shown
        .iter()
        .zip(widths)
        .map(|(s, w)| {
            let at = x;
            x += w + 1;
            (s.column, at, w.min(width.saturating_sub(at)))
        })
        .collect()
}

/// The column under offset `x` of a table `width` wide.
pub(crate) fn column_at(width: u16, x: u16) -> Option<Column> {
    columns(width).into_iter().find(|&(_, at, w)| x >= at && x <= at + w).map(|(c, _, _)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_fit_and_narrow_screens_drop_the_least_useful() {
        for width in [20u16, 60, 80, 120, 200, 400] {
            let layout = columns(width);
            let (_, x, w) = layout.last().copied().unwrap_or((Column::Name, 0, 0));
            assert!(x + w <= width, "{width}: {layout:?}");
            assert!(layout.iter().any(|(c, _, _)| *c == Column::Name));
        }
        let wide: Vec<Column> = columns(200).into_iter().map(|(c, _, _)| c).collect();
        assert_eq!(wide, Column::ALL);
        let narrow: Vec<Column> = columns(60).into_iter().map(|(c, _, _)| c).collect();
        assert!(!narrow.contains(&Column::Ctxt) && narrow.contains(&Column::State));
    }

    #[test]
    fn a_click_finds_its_column() {
        assert_eq!(column_at(200, 0), Some(Column::Ident));
        assert_eq!(column_at(200, 13), Some(Column::Tid));
    }
}
