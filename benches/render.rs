//! The threads screen with 10,000 threads: one update (a key) plus one
//! draw on a 200×50 `TestBackend`, which must stay under 2 ms a frame;
//! and taking in a 10,000-thread sample (once per refresh, not per frame).
#![allow(clippy::unwrap_used, missing_docs)]

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use std::hint::black_box;
use std::time::{Duration, Instant};
use threadscope::tui::{Action, Event, Sample, fixtures, ui};

const THREADS: usize = 10_000;

fn render(c: &mut Criterion) {
    let start = Instant::now();
    let mut app = fixtures::app(THREADS, 200, 50, start);
    let mut terminal = Terminal::new(TestBackend::new(200, 50)).unwrap();
    let keys = [Action::PageDown, Action::Down, Action::Down, Action::Up, Action::PageDown, Action::Home];
    let mut i = 0;
    c.bench_function("threads screen: update + draw, 10,000 threads, 200x50", |b| {
        b.iter(|| {
            black_box(app.update(keys[i % keys.len()].clone()));
            i += 1;
            terminal.draw(|frame| ui::draw(frame, &app)).unwrap();
        });
    });

    let snapshot = fixtures::snapshot(THREADS);
    let mut at = start + Duration::from_secs(60);
    c.bench_function("take in a sample: 10,000 threads", |b| {
        b.iter_batched(
            || snapshot.clone(),
            |snapshot| {
                at += Duration::from_secs(1);
                app.handle_event(Event::Sample(Box::new(Sample { snapshot, at, progress: Vec::new() })))
            },
            BatchSize::LargeInput,
        );
    });
}

criterion_group!(benches, render);
criterion_main!(benches);
