//! The invariants ARCHITECTURE.md states about the engine, each checked here (or where named):
//! no request pays for the whole table (this file: the hour's upkeep is a bounded slice per
//! step), memory is bounded (`tests/memory.rs`, and the lists here), the engine reads no clock
//! (same calls, same answers: `tests/rotation.rs` and the scenario tests replay twice).
//!
//! Work is counted in table entries visited (`EngineStats::max_entries_visited_in_one_step`),
//! never timed: the figures in time are in `benches/hour_crossing.rs`.

mod common;

use common::*;
use portcullis_core::Outcome;
use portcullis_engine::{Engine, EngineConfig};

/// A shard holds at most 8,192 entries; a step may sweep one shard of each of the three
/// tables, or evict in one.
const STEP_BOUND: u64 = 3 * 8192;

fn address(i: usize) -> String {
    format!(
        "{}.{}.{}.{}",
        11 + i / 65_536 % 200,
        i / 256 % 256,
        i % 256,
        7
    )
}

#[test]
fn crossing_the_hour_with_full_tables_pays_one_shard_per_table() {
    let cfg = EngineConfig::default();
    let cap = cfg.max_sources;
    let mut e = Engine::new(cfg);
    // The source table full (the default cap, 64 shards): a success from each of `cap`
    // addresses, over one hour, for 100,000 accounts.
    for i in 0..cap {
        let t = (i as i64 * 3600) / cap as i64;
        e.observe(&ev(
            t,
            &account_name(i % 100_000),
            &address(i),
            Outcome::Success,
            None,
        ));
    }
    let full = e.stats();
    assert!(full.sources > cap * 9 / 10, "{} sources", full.sources);
    assert!(full.accounts >= 100_000);
    assert!(
        full.max_entries_visited_in_one_step <= STEP_BOUND,
        "loading: {full:?}"
    );
    // Fifteen days later every source has outlived its 14 days; the first event crosses the
    // hour (and the expiry): it must not walk the table.
    let later = 15 * 86_400;
    e.observe(&ev(
        later,
        "someone@example.org",
        "203.0.113.1",
        Outcome::BadPassword,
        Some(1),
    ));
    let crossed = e.stats();
    assert!(
        crossed.max_entries_visited_in_one_step <= STEP_BOUND,
        "crossing: {crossed:?}"
    );
    // Expired at once for every look-up: an old address is a stranger again (a failure from
    // it is counted from scratch), though most slots are not reclaimed yet.
    assert!(
        crossed.sources > cap / 2,
        "swept too much in one step: {crossed:?}"
    );
    // The following steps reclaim them, one shard per table each.
    for k in 1..=64 {
        e.observe(&ev(
            later + k,
            "someone@example.org",
            "203.0.113.1",
            Outcome::BadPassword,
            Some(1),
        ));
    }
    let swept = e.stats();
    assert!(swept.sources < 10, "{swept:?}");
    assert!(
        swept.max_entries_visited_in_one_step <= STEP_BOUND,
        "{swept:?}"
    );
    // Accounts live 90 days and stay.
    assert!(swept.accounts >= 100_000);
}
