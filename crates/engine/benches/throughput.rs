//! Engine throughput measured in CPU time, not wall time: the build machine is shared, so the
//! wall clock (what criterion reports in `benches/engine.rs`) includes time spent waiting for
//! a core. This runs `Engine::observe` over a realistic stream (a 10,000-user organisation's
//! day with a distributed spray) on successive days with one engine and divides by the thread's on-CPU time from
//! `/proc/thread-self/schedstat` (nanoseconds). Run:
//! `cargo bench -p portcullis-engine --bench throughput`.

#[path = "../tests/common/mod.rs"]
mod common;

use common::*;
use portcullis_core::Outcome;
use portcullis_engine::{Engine, EngineConfig};
use std::hint::black_box;

fn cpu_ns() -> u64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

fn main() {
    let users = 10_000usize;
    let mut rng = Rng::new(1);
    let org = Org::new(users, &mut rng);
    let mut s = org.traffic(0, 24, &mut rng);
    let proxies = proxy_addresses(1000, &mut rng);
    for round in 0..6i64 {
        for u in 0..users {
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
    let events: Vec<_> = s.into_iter().map(|(e, _)| e).collect();
    // Steady state: one engine, the same day replayed on successive days (warm tables).
    let rounds = 5;
    let mut days: Vec<Vec<portcullis_core::AuthEvent>> = Vec::new();
    for d in 0..=rounds as i64 {
        days.push(
            events
                .iter()
                .map(|e| {
                    let mut e = e.clone();
                    e.ts = e.ts.plus_secs(d * 86_400);
                    e
                })
                .collect(),
        );
    }
    let mut engine = Engine::new(EngineConfig::default());
    for e in &days[0] {
        black_box(engine.observe(e));
    }
    let wall = std::time::Instant::now();
    let cpu0 = cpu_ns();
    for day in &days[1..] {
        for e in day {
            black_box(engine.observe(e));
        }
    }
    let cpu = (cpu_ns() - cpu0) as f64 / 1e9;
    let n = (events.len() * rounds) as f64;
    println!(
        "{} events x {rounds}: {:.2} M events/s per CPU second ({:.0} ns/event); wall {:.2} s for {:.2} CPU s",
        events.len(),
        n / cpu / 1e6,
        cpu * 1e9 / n,
        wall.elapsed().as_secs_f64(),
        cpu
    );
}
