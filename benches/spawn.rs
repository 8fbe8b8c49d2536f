//! Thread start+join against std's spawn+join, in one run.
//!
//! `cargo bench --bench spawn`
#![allow(missing_docs, clippy::unwrap_used)]

use criterion::{Criterion, criterion_group, criterion_main};
use std::time::Duration;
use threadscope::threading::{Registry, Thread};

fn spawn_join(c: &mut Criterion) {
    let mut group = c.benchmark_group("spawn_join");
    let registry = Registry::new();
    group.bench_function("threadscope", |b| {
        b.iter(|| {
            let t = Thread::builder().name("bench").registry(&registry).target(|| ());
            t.start().unwrap();
            t.join().unwrap();
        })
    });
    group.bench_function("std", |b| {
        b.iter(|| std::thread::Builder::new().spawn(|| ()).unwrap().join().unwrap())
    });
    // For context: std setting a name pays the same prctl(PR_SET_NAME) that
    // every threadscope thread pays to put its name in the kernel.
    group.bench_function("std_named", |b| {
        b.iter(|| std::thread::Builder::new().name("bench".into()).spawn(|| ()).unwrap().join().unwrap())
    });
    group.finish();
}

fn config() -> Criterion {
    Criterion::default().warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(4))
}

criterion_group! { name = benches; config = config(); targets = spawn_join }
criterion_main!(benches);
