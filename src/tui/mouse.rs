//! Mouse input to actions, through the same layout the views draw with.

use super::action::{Action, Tab};
use super::app::App;
use super::columns::column_at;
use super::layout;
use super::table::visible_offset;
use crossterm::event::{MouseButton, MouseEvent, MouseEventKind};
use ratatui::layout::Position;

impl App {
    /// The action a click or wheel turn means here, if any.
    pub(crate) fn mouse_action(&self, mouse: MouseEvent) -> Option<Action> {
        let areas = self.areas()?;
        let at = Position::new(mouse.column, mouse.row);
        match mouse.kind {
            MouseEventKind::ScrollUp => Some(Action::Up),
            MouseEventKind::ScrollDown => Some(Action::Down),
            MouseEventKind::Down(MouseButton::Left) if self.dialog.is_none() => {
                if areas.tabs.contains(at) {
                    return layout::tab_at(at.x, areas.tabs).map(Action::ShowTab);
                }
                let table = match self.tab {
                    Tab::Threads => areas.table,
                    Tab::Timeline => areas.body,
                    _ => return None,
                };
                if !table.contains(at) {
                    return None;
                }
                if at.y == table.y {
                    return if self.tab == Tab::Threads {
                        column_at(table.width, self.column_needs, at.x.saturating_sub(table.x))
                            .map(Action::SortBy)
                    } else {
                        None
                    };
                }
                let rows = layout::table_rows(&areas, self.tab);
                let offset =
                    visible_offset(self.table.offset, self.table.selected, rows, self.table.rows.len());
                let row = offset + usize::from(at.y - table.y - 1);
                (row < self.table.rows.len()).then_some(Action::SelectRow(row))
            }
            _ => None,
        }
    }
}
