//! No request pays for the whole table: the time of one `Engine::observe` with about a
//! million tracked sources, for an ordinary event and for the event that crosses the hour
//! (when the engine expires idle state). Run:
//! `cargo bench -p portcullis-engine --bench hour_crossing`.
//!
//! - `normal_event`: a success from a known address to its account, event time standing still
//!   (no upkeep due).
//! - `crossing_the_hour`: every event crosses an hour, so every one does the hourly upkeep:
//!   the expiry cut-off of each table advances (one per shard) and one shard of each table is
//!   swept (walked; the sources' time-to-live is set long enough that none expire during the
//!   run, so the table stays full).
//! - Before those, once: the step in which every one of the million sources expires (15 days
//!   later) and the 64 steps after it, each of which reclaims one shard per table; printed,
//!   not sampled (each sample would need a million sources loaded again).
//!
//! The entries each step visited are counted, not timed, in `tests/invariants.rs`.

#[path = "../tests/common/mod.rs"]
mod common;

use common::*;
use criterion::Criterion;
use portcullis_core::Outcome;
use portcullis_engine::{Engine, EngineConfig};
use std::hint::black_box;
use std::time::{Duration, Instant};

/// Sources tracked.
const SOURCES: usize = 1 << 20;
const ACCOUNTS: usize = 100_000;

fn address(i: usize) -> String {
    format!(
        "{}.{}.{}.{}",
        11 + i / 65_536 % 200,
        i / 256 % 256,
        i % 256,
        7
    )
}

/// An engine tracking [`SOURCES`] addresses, each with one success in the first hour.
fn loaded(cfg: EngineConfig) -> Engine {
    let mut e = Engine::new(cfg);
    for i in 0..SOURCES {
        let t = (i as i64 * 3600) / SOURCES as i64;
        e.observe(&ev(
            t,
            &account_name(i % ACCOUNTS),
            &address(i),
            Outcome::Success,
            None,
        ));
    }
    e
}

fn config(source_ttl_secs: u32) -> EngineConfig {
    EngineConfig {
        max_sources: SOURCES,
        source_ttl_secs,
        ..EngineConfig::default()
    }
}

/// The step where everything expires, timed once, and the steps that sweep it.
fn mass_expiry() {
    let mut e = loaded(config(14 * 86_400));
    let before = e.stats();
    let later = 15 * 86_400;
    let step = |e: &mut Engine, t: i64| {
        let start = Instant::now();
        black_box(e.observe(&ev(
            t,
            "someone@example.org",
            "203.0.113.1",
            Outcome::BadPassword,
            Some(1),
        )));
        start.elapsed()
    };
    let crossing = step(&mut e, later);
    let mut slowest = Duration::ZERO;
    let mut total = Duration::ZERO;
    for k in 1..=64 {
        let d = step(&mut e, later + k);
        slowest = slowest.max(d);
        total += d;
    }
    let after = e.stats();
    println!(
        "mass expiry: {} sources tracked; the step crossing the hour (all expire): {:?}; the 64 steps after it (one shard per table swept each): slowest {:?}, mean {:?}; {} sources left; most entries visited in one step: {}",
        before.sources,
        crossing,
        slowest,
        total / 64,
        after.sources,
        after.max_entries_visited_in_one_step
    );
}

fn bench(c: &mut Criterion) {
    // Ten years: nothing expires during the run, the cut-offs still advance every hour.
    let mut e = loaded(config(3650 * 86_400));
    let tracked = e.stats().sources;
    let mut g = c.benchmark_group(format!("hour_crossing_{tracked}_sources"));
    let mut i = 0usize;
    // Event time stands at the end of the first hour.
    let now = 3599;
    g.bench_function("normal_event", |b| {
        b.iter(|| {
            i = (i + 7919) % SOURCES;
            let ev = ev(
                now,
                &account_name(i % ACCOUNTS),
                &address(i),
                Outcome::Success,
                None,
            );
            black_box(e.observe(&ev))
        })
    });
    let mut hour = 1i64;
    g.bench_function("crossing_the_hour", |b| {
        b.iter(|| {
            i = (i + 7919) % SOURCES;
            hour += 1;
            let ev = ev(
                hour * 3600,
                &account_name(i % ACCOUNTS),
                &address(i),
                Outcome::Success,
                None,
            );
            black_box(e.observe(&ev))
        })
    });
    g.finish();
    println!(
        "most entries visited in one step: {}",
        e.stats().max_entries_visited_in_one_step
    );
}

fn main() {
    mass_expiry();
    let mut c = Criterion::default().configure_from_args().sample_size(20);
    bench(&mut c);
    c.final_summary();
}
