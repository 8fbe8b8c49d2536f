//! `App::update` and `App::handle_event` without a terminal.
#![allow(clippy::unwrap_used)]

use super::*;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use std::time::Instant;

fn key(app: &mut App, code: KeyCode) -> Effect {
    app.handle_event(Event::Key(KeyEvent::new(code, KeyModifiers::NONE)))
}

fn typed(app: &mut App, text: &str) {
    for c in text.chars() {
        let code = match c {
            '\r' => KeyCode::Enter,
            '\x1b' => KeyCode::Esc,
            c => KeyCode::Char(c),
        };
        key(app, code);
    }
}

#[test]
fn filter_then_stop_acts_on_the_filtered_thread() {
    let mut app = fixtures::app(0, 120, 40, Instant::now());
    typed(&mut app, "/Producer\r");
    assert_eq!(app.table().rows.len(), 1);
    let effect = key(&mut app, KeyCode::Char('x'));
    assert_eq!(effect, Effect::Command(Command::Stop { key: 6, name: "Producer".into() }), "{:?}", app.status());
}
