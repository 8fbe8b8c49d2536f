//! [`TableState`]: which threads the table shows (filtered), in which order
//! (sorted), and which one is selected. Rebuilt once per snapshot, sort or
//! filter change, never per frame: drawing touches only the visible rows.

use super::columns::Column;
use super::words;
use crate::inspect::{Snapshot, ThreadView};
use std::cmp::Ordering;

/// The threads table's UI state (also used by the timeline).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TableState {
    /// The sort column; `None` is the snapshot's order (creation order).
    pub sort: Option<Column>,
    /// Largest first.
    pub descending: bool,
    /// Case-insensitive text every shown row contains.
    pub filter: String,
    /// Indices into `snapshot.threads`, filtered and sorted.
    pub rows: Vec<usize>,
    /// Index into `rows` of the selected row.
    pub selected: usize,
    /// The selected thread's key, to keep it selected across snapshots.
    pub selected_key: Option<u64>,
    /// First row shown.
    pub offset: usize,
}

impl TableState {
    /// Recomputes `rows` for `snapshot` and keeps the selected thread selected.
    pub fn rebuild(&mut self, snapshot: &Snapshot) {
        let threads = &snapshot.threads;
        let needle = self.filter.to_lowercase();
        self.rows = (0..threads.len())
            .filter(|&i| needle.is_empty() || words::haystack(&threads[i]).contains(&needle))
            .collect();
        if let Some(column) = self.sort {
            let descending = self.descending;
            self.rows.sort_by(|&a, &b| {
                let order = compare(column, &threads[a], &threads[b], snapshot.system.uptime_ms);
                let order = if descending { order.reverse() } else { order };
                order.then(a.cmp(&b))
            });
        } else if self.descending {
            self.rows.reverse();
        }
        let found = self.selected_key.and_then(|key| self.rows.iter().position(|&i| threads[i].key == key));
        self.selected = found.unwrap_or(self.selected).min(self.rows.len().saturating_sub(1));
        self.remember(snapshot);
    }

    /// Selects row `index` (clamped).
    pub fn select(&mut self, index: usize, snapshot: &Snapshot) {
        self.selected = index.min(self.rows.len().saturating_sub(1));
        self.remember(snapshot);
    }

    /// Moves the selection by `delta` rows.
    pub fn move_by(&mut self, delta: isize, snapshot: &Snapshot) {
        let target = self.selected.saturating_add_signed(delta);
        self.select(target, snapshot);
    }

    fn remember(&mut self, snapshot: &Snapshot) {
        self.selected_key = self.rows.get(self.selected).map(|&i| snapshot.threads[i].key);
    }

    /// The selected thread.
    pub fn selected_thread<'a>(&self, snapshot: &'a Snapshot) -> Option<&'a ThreadView> {
        self.rows.get(self.selected).map(|&i| &snapshot.threads[i])
    }

    /// Keeps the selection within `height` visible rows.
    pub fn scroll_into_view(&mut self, height: usize) {
        self.offset = visible_offset(self.offset, self.selected, height, self.rows.len());
    }
}

/// The first visible row, given the one remembered, so that `selected`
/// is visible in `height` rows and the page is as full as it can be.
pub fn visible_offset(offset: usize, selected: usize, height: usize, len: usize) -> usize {
    if height == 0 {
        return selected;
    }
    let mut offset = offset.min(len.saturating_sub(height));
    if selected < offset {
        offset = selected;
    } else if selected >= offset + height {
        offset = selected + 1 - height;
    }
    offset
}

fn compare(column: Column, a: &ThreadView, b: &ThreadView, uptime_ms: Option<u64>) -> Ordering {
    match column {
        Column::Ident => a.ident.cmp(&b.ident),
        Column::Tid => a.native_id.cmp(&b.native_id),
        Column::Name => a.name.shown().cmp(b.name.shown()),
        Column::Comm => {
            a.kernel.as_ref().map(|k| k.comm.shown()).cmp(&b.kernel.as_ref().map(|k| k.comm.shown()))
        }
        Column::State => (a.state as u8).cmp(&(b.state as u8)),
        Column::Kernel => a.kernel.as_ref().map(|k| k.state).cmp(&b.kernel.as_ref().map(|k| k.state)),
        Column::WaitsOn => waits_key(a).cmp(&waits_key(b)),
        Column::Cpu => {
            let cpu = |t: &ThreadView| {
                t.kernel.as_ref().and_then(|k| k.cpu_percent.value().copied()).unwrap_or(-1.0)
            };
            cpu(a).total_cmp(&cpu(b))
        }
        Column::Time => {
            let time = |t: &ThreadView| t.kernel.as_ref().map(|k| k.utime_ms + k.stime_ms);
            time(a).cmp(&time(b))
        }
        Column::Ctxt => words::ctxt(a).map(|(v, n)| v + n).cmp(&words::ctxt(b).map(|(v, n)| v + n)),
        Column::Daemon => a.daemon.cmp(&b.daemon),
        Column::Age => words::age(a, uptime_ms).cmp(&words::age(b, uptime_ms)),
        Column::Origin => (a.origin as u8).cmp(&(b.origin as u8)),
    }
}

fn waits_key(t: &ThreadView) -> Option<(&str, &str)> {
    t.waiting_on.as_ref().map(|w| (w.kind.label(), &*w.name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_selection_stays_visible_and_pages_stay_full() {
        assert_eq!(visible_offset(0, 0, 10, 100), 0);
        assert_eq!(visible_offset(0, 15, 10, 100), 6);
        assert_eq!(visible_offset(20, 15, 10, 100), 15);
        assert_eq!(visible_offset(95, 99, 10, 100), 90);
        assert_eq!(visible_offset(50, 3, 10, 5), 0);
        assert_eq!(visible_offset(3, 7, 0, 10), 7);
    }
}
