//! Throughput of the engine step: `Engine::observe` over a realistic stream (a 2,000-user
//! organisation's day of benign traffic with a distributed spray in the middle), from a fresh
//! engine each iteration, so table growth is included.

#[path = "../tests/common/mod.rs"]
mod common;

use common::*;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use portcullis_core::Outcome;
use portcullis_engine::{Engine, EngineConfig};
use std::hint::black_box;

fn stream() -> Vec<portcullis_core::AuthEvent> {
    let mut rng = Rng::new(1);
    let org = Org::new(2000, &mut rng);
    let mut s = org.traffic(0, 24, &mut rng);
    let proxies = proxy_addresses(1000, &mut rng);
    for round in 0..6i64 {
        for u in 0..2000usize {
            let t = 10 * 3600 + round * 3600 + rng.below(3600) as i64;
            let a = account_name(u);
            let src = &proxies[rng.below(1000) as usize];
            s.push((
                ev(t, &a, src, Outcome::BadPassword, Some(pwfp(&a, "x"))),
                Label::Attack,
            ));
        }
    }
    sort(&mut s);
    s.into_iter().map(|(e, _)| e).collect()
}

fn bench(c: &mut Criterion) {
    let events = stream();
    let mut g = c.benchmark_group("engine");
    g.throughput(Throughput::Elements(events.len() as u64));
    g.sample_size(10);
    g.bench_function(format!("observe_{}_events", events.len()), |b| {
        b.iter(|| {
            let mut engine = Engine::new(EngineConfig::default());
            for e in &events {
                black_box(engine.observe(e));
            }
            engine
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
