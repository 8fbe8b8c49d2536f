//! The locks table's columns: which fit a width, how wide each is, and
//! each primitive's row fitted to them.

use super::super::words::{self, fit_middle, human, safe};
use crate::inspect::{PrimitiveView, ThreadLink};
use std::collections::HashSet;

/// A column of the locks table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum LockColumn {
    Name,
    Kind,
    Holders,
    Waiters,
    HeldFor,
    Acquisitions,
    Contentions,
    Waited,
}

impl LockColumn {
    /// Display order.
    pub(super) const ALL: [LockColumn; 8] = [
        LockColumn::Name,
        LockColumn::Kind,
        LockColumn::Holders,
        LockColumn::Waiters,
        LockColumn::HeldFor,
        LockColumn::Acquisitions,
        LockColumn::Contentions,
        LockColumn::Waited,
    ];
    /// Most important first: the last one shown is the first to go.
    const PRIORITY: [LockColumn; 8] = [
        LockColumn::Name,
        LockColumn::Holders,
        LockColumn::Waiters,
        LockColumn::Kind,
        LockColumn::HeldFor,
        LockColumn::Waited,
        LockColumn::Contentions,
        LockColumn::Acquisitions,
    ];

    pub(super) fn title(self) -> &'static str {
        match self {
            LockColumn::Name => "PRIMITIVE",
            LockColumn::Kind => "KIND",
            LockColumn::Holders => "HOLDERS",
            LockColumn::Waiters => "WAITERS (in order)",
            LockColumn::HeldFor => "HELD FOR",
            LockColumn::Acquisitions => "ACQ",
            LockColumn::Contentions => "CONT",
            LockColumn::Waited => "WAITED",
        }
    }

    /// The heading when the title does not fit.
    pub(super) fn short_title(self) -> &'static str {
        match self {
            LockColumn::Name => "NAME",
            LockColumn::Waiters => "WAITERS",
            LockColumn::HeldFor => "HELD",
            other => other.title(),
        }
    }

    /// The narrowest it is drawn before it is dropped instead.
    fn min(self) -> usize {
        match self {
            LockColumn::Name => 9,
            LockColumn::Kind => 5,
            LockColumn::Holders | LockColumn::Waiters => 14,
            LockColumn::HeldFor | LockColumn::Waited => 8,
            LockColumn::Acquisitions | LockColumn::Contentions => 7,
        }
    }

    /// HELD FOR, ACQ, CONT and WAITED: what the lock counted.
    pub(super) fn is_a_statistic(self) -> bool {
        self.right_aligned()
    }

    fn right_aligned(self) -> bool {
        matches!(
            self,
            LockColumn::HeldFor | LockColumn::Acquisitions | LockColumn::Contentions | LockColumn::Waited
        )
    }
}

/// What the primitives on screen ask of the locks table.
#[derive(Clone, Copy, Debug)]
pub(super) struct Needs {
    /// The widest primitive name.
    pub(super) name: usize,
    /// The widest kind with what it is on (`condition on config`).
    pub(super) kind: usize,
    /// The widest kind's own word, never cut.
    pub(super) kind_floor: usize,
    /// Some primitive counts acquisitions and waits: another program's
    /// locks count nothing, and four columns of `—` would only take the
    /// holders' and waiters' room.
    pub(super) counted: bool,
}

/// The columns that fit in `width` and their widths: the names and kinds
/// get what they need (up to a cap), holders and waiters share the rest.
pub(super) fn table(width: u16, needs: Needs) -> Vec<(LockColumn, usize)> {
    let width = usize::from(width);
    let min = |c: &LockColumn| if *c == LockColumn::Kind { c.min().max(needs.kind_floor) } else { c.min() };
    let need = |cols: &[LockColumn]| cols.iter().map(|c| min(c) + 1).sum::<usize>().saturating_sub(1);
    let mut kept: Vec<LockColumn> =
        LockColumn::PRIORITY.into_iter().filter(|c| needs.counted || !c.is_a_statistic()).collect();
    while need(&kept) > width && kept.len() > 1 {
        kept.pop();
    }
    let mut spare = width.saturating_sub(need(&kept));
    let shown: Vec<LockColumn> = LockColumn::ALL.into_iter().filter(|c| kept.contains(c)).collect();
    let mut widths: Vec<usize> = shown.iter().map(min).collect();
    for (column, want) in [(LockColumn::Name, needs.name.min(24)), (LockColumn::Kind, needs.kind.min(20))] {
        if let Some(i) = shown.iter().position(|&c| c == column) {
            let grow = want.saturating_sub(widths[i]).min(spare);
            widths[i] += grow;
            spare -= grow;
        }
    }
    let people: Vec<usize> =
        (0..shown.len()).filter(|&i| matches!(shown[i], LockColumn::Holders | LockColumn::Waiters)).collect();
    for (n, &i) in people.iter().enumerate() {
        widths[i] += spare / people.len() + usize::from(n < spare % people.len());
    }
    shown.into_iter().zip(widths).collect()
}

/// `text` (already fitted) padded to `width` on the column's side.
pub(super) fn pad(column: LockColumn, text: &str, width: usize) -> String {
    use unicode_width::UnicodeWidthStr;
    let room = " ".repeat(width.saturating_sub(text.width()));
    if column.right_aligned() { format!("{room}{text}") } else { format!("{text}{room}") }
}

pub(super) fn kind_text(p: &PrimitiveView) -> String {
    match &p.related {
        Some(related) => format!("{} on {}", p.kind.label(), safe(&related.name)),
        None => p.kind.label().to_owned(),
    }
}

pub(super) fn primitive_row(
    p: &PrimitiveView,
    table: &[(LockColumn, usize)],
    shared: &HashSet<String>,
) -> String {
    cells(p, table, shared).join(" ").trim_end().to_owned()
}

/// One row's cells, each fitted and padded to its column.
pub(super) fn cells(
    p: &PrimitiveView,
    table: &[(LockColumn, usize)],
    shared: &HashSet<String>,
) -> Vec<String> {
    table
        .iter()
        .map(|&(column, w)| {
            let text = match column {
                LockColumn::Name => safe(&p.name).into_owned(),
                // "condition on config" where it fits, else "condition".
                LockColumn::Kind => Some(kind_text(p))
                    .filter(|k| k.chars().count() <= w)
                    .unwrap_or_else(|| p.kind.label().to_owned()),
                LockColumn::Holders => names_in(&p.holders, w, shared),
                LockColumn::Waiters => names_in(&p.waiters, w, shared),
                LockColumn::HeldFor => {
                    p.stats.value().and_then(|s| s.held_for).map_or_else(|| "—".to_owned(), human)
                }
                LockColumn::Acquisitions => {
                    p.stats.value().map_or_else(|| "—".to_owned(), |s| s.acquisitions.to_string())
                }
                LockColumn::Contentions => {
                    p.stats.value().map_or_else(|| "—".to_owned(), |s| s.contentions.to_string())
                }
                LockColumn::Waited => p.stats.value().map_or_else(|| "—".to_owned(), |s| human(s.total_wait)),
            };
            // Names are cut in the middle: where they differ is often the end.
            pad(column, &fit_middle(&text, w), w)
        })
        .collect()
}

/// Threads in a cell `width` wide: all of them when they fit; otherwise
/// the first, cut in its middle, and how many more (`Payment…read-1 +1`),
/// so two names cut together never read as one.
pub(super) fn names_in(list: &[ThreadLink], width: usize, shared: &HashSet<String>) -> String {
    use unicode_width::UnicodeWidthStr;
    let all = if list.is_empty() { "—".to_owned() } else { words::whom(list, shared) };
    if all.width() <= width {
        return all;
    }
    if list.len() < 2 {
        return fit_whom(&list[0], width, shared);
    }
    let more = format!(" +{}", list.len() - 1);
    format!("{}{more}", fit_whom(&list[0], width.saturating_sub(more.len()), shared))
}

/// One thread in `width` cells: its name cut in the middle, never its
/// `(tid N)` (half a TID tells nothing apart).
pub(super) fn fit_whom(link: &ThreadLink, width: usize, shared: &HashSet<String>) -> String {
    use unicode_width::UnicodeWidthStr;
    let whole = words::who(link, shared);
    match whole.rfind(" (tid ") {
        Some(at) if whole[at..].width() + 2 <= width => {
            let (name, tid) = whole.split_at(at);
            format!("{}{tid}", fit_middle(name, width - tid.width()))
        }
        _ => fit_middle(&whole, width).into_owned(),
    }
}
