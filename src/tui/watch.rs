//! Which threads are on screen, for the sampler: in a process of thousands
//! of threads it checks quiet ones in turn, but the rows a person is
//! looking at (and the selected thread, in the detail pane) are checked on
//! every sample.

use super::app::App;
use super::layout;
use super::table::visible_offset;
use std::collections::BTreeSet;

impl App {
    /// The TIDs of the threads table's visible rows and of the selected
    /// thread, at the current size.
    pub(crate) fn on_screen_tids(&self) -> BTreeSet<u32> {
        let (Some(snapshot), Some(areas)) = (&self.snapshot, self.areas()) else {
            return BTreeSet::new();
        };
        let rows = &self.table.rows;
        let height = layout::table_rows(&areas, self.tab);
        let offset = visible_offset(self.table.offset, self.table.selected, height, rows.len());
        let visible = rows.iter().skip(offset).take(height);
        visible
            .chain(rows.get(self.table.selected))
            .filter_map(|&i| snapshot.threads.get(i)?.native_id)
            .collect()
    }

    /// The on-screen TIDs when they differ from those the sampler was last
    /// told of (then they are taken as told).
    pub fn take_watch_change(&mut self) -> Option<BTreeSet<u32>> {
        let now = self.on_screen_tids();
        (now != self.watched).then(|| {
            self.watched = now.clone();
            now
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::action::Action;
    use super::super::fixtures;
    use std::time::Instant;

    #[test]
    fn the_visible_rows_and_the_selection_are_watched_and_told_once() {
        let mut app = fixtures::app(200, 120, 40, Instant::now());
        let told = app.take_watch_change().expect("first told");
        let snapshot = app.snapshot.as_ref().unwrap();
        let first = snapshot.threads[app.table.rows[0]].native_id.unwrap();
        let last = snapshot.threads[*app.table.rows.last().unwrap()].native_id.unwrap();
        assert!(told.contains(&first) && !told.contains(&last), "{told:?}");
        assert!(told.len() < app.table.rows.len());
        assert_eq!(app.take_watch_change(), None, "nothing moved: nothing to tell");
        app.update(Action::End);
        let told = app.take_watch_change().expect("scrolled to the end");
        assert!(told.contains(&last) && !told.contains(&first), "{told:?}");
    }
}
