//! The invariants ARCHITECTURE.md states about the engine, each checked here (or where named):
//! no request pays for the whole table (this file: the hour's upkeep is a bounded slice per
//! step), memory is bounded (`tests/memory.rs` for the tables; the campaign, compromised and
//! at-risk lists here), a live server's report is bounded work (`Engine::report_limited`,
//! here), the engine reads no clock (same calls, same answers: here, `tests/rotation.rs`, and
//! the scenario tests that replay twice).
//!
//! Work is counted in table entries visited (`EngineStats::max_entries_visited_in_one_step`),
//! never timed: the figures in time come from `benches/hour_crossing.rs`.

mod common;

use common::*;
use portcullis_core::Outcome;
use portcullis_core::report::{CampaignKind, InputSummary};
use portcullis_engine::{Action, Engine, EngineConfig, ReportLimits};

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

/// `rounds` brute-force attacks, each from its own address on its own account, four hours
/// apart (longer than `spray_idle_secs`: each opens two new campaigns, account guessing and
/// brute force); after each, the attacker logs in from that address to three accounts (each
/// a compromise).
fn brute_force_rounds(engine: &mut Engine, rounds: usize) {
    for r in 0..rounds {
        let t0 = r as i64 * 4 * 3600;
        let attacker = format!("203.0.{r}.66");
        let target = format!("target{r}@example.org");
        for i in 0..200u64 {
            engine.observe(&ev(
                t0 + i as i64,
                &target,
                &attacker,
                Outcome::BadPassword,
                Some(i),
            ));
        }
        for k in 0..3 {
            engine.observe(&ev(
                t0 + 300 + k,
                &format!("victim{r}-{k}@example.org"),
                &attacker,
                Outcome::Success,
                None,
            ));
        }
    }
}

#[test]
fn campaigns_and_compromised_accounts_stay_within_their_caps() {
    let cfg = EngineConfig {
        max_campaigns: 3,
        max_compromised: 5,
        ..EngineConfig::default()
    };
    let mut e = Engine::new(cfg);
    brute_force_rounds(&mut e, 10);
    let stats = e.stats();
    assert_eq!(stats.campaigns, 3, "{stats:?}");
    assert_eq!(stats.dropped_campaigns, 17, "{stats:?}");
    assert_eq!(stats.dropped_compromised, 25, "{stats:?}");
    let report = e.report(InputSummary::default());
    // The campaigns seen most recently stay; ids are never given twice.
    let kinds: Vec<(&str, CampaignKind)> = report
        .campaigns
        .iter()
        .map(|c| (c.id.as_str(), c.kind))
        .collect();
    assert_eq!(
        kinds,
        [
            ("c18", CampaignKind::BruteForce),
            ("c19", CampaignKind::AccountGuessing),
            ("c20", CampaignKind::BruteForce)
        ]
    );
    assert_eq!(e.next_campaign_id(), 21);
    // The newest compromises stay, oldest first.
    let accounts: Vec<&str> = report
        .compromised_accounts
        .iter()
        .map(|c| c.account.as_str())
        .collect();
    assert_eq!(
        accounts,
        [
            "victim8-1@example.org",
            "victim8-2@example.org",
            "victim9-0@example.org",
            "victim9-1@example.org",
            "victim9-2@example.org"
        ]
    );
    // A dropped campaign's sources stay flagged while their flags last (7 days): denied, in
    // the name of the campaign they were flagged in.
    let v = e.observe(&ev(
        40 * 3600,
        "someone@example.org",
        "203.0.0.66",
        Outcome::BadPassword,
        Some(1),
    ));
    assert_eq!(v.action, Action::Deny);
    assert!(
        v.reasons
            .iter()
            .any(|r| r.code == "brute_force" && r.detail.contains("campaign c2:")),
        "{v:?}"
    );
    assert_eq!(report.flagged_sources.len(), 10);
}

#[test]
fn at_risk_accounts_stay_within_their_cap() {
    let cfg = EngineConfig {
        max_at_risk: 2,
        ..EngineConfig::default()
    };
    let mut e = Engine::new(cfg);
    // Each round's target is guessed with 200 distinct passwords: at risk.
    brute_force_rounds(&mut e, 5);
    let r = e.report(InputSummary::default());
    let at_risk: Vec<&str> = r
        .accounts_at_risk
        .iter()
        .map(|a| a.account.as_str())
        .collect();
    assert_eq!(at_risk, ["target3@example.org", "target4@example.org"]);
    assert_eq!(e.stats().dropped_at_risk, 3);
}

#[test]
fn a_limited_report_copies_no_more_than_its_limits() {
    let mut e = Engine::new(EngineConfig::default());
    brute_force_rounds(&mut e, 10);
    let input = InputSummary::default();
    let full = e.report(input.clone());
    // With limits above what the engine holds, the limited report is the whole report.
    let generous = ReportLimits {
        campaigns: 1000,
        sources_per_campaign: 100,
        accounts_per_campaign: 1000,
        flagged_sources: 1000,
        accounts: 1000,
    };
    assert_eq!(e.report_limited(input.clone(), generous), full);
    let limits = ReportLimits {
        campaigns: 4,
        sources_per_campaign: 0,
        accounts_per_campaign: 0,
        flagged_sources: 3,
        accounts: 2,
    };
    let r = e.report_limited(input, limits);
    assert_eq!(r.verdicts, full.verdicts);
    // The newest of each list, oldest first.
    assert_eq!(r.campaigns, {
        let mut c = full.campaigns[16..].to_vec();
        for c in &mut c {
            c.sources.clear();
            c.accounts.clear();
        }
        c
    });
    assert_eq!(r.flagged_sources, full.flagged_sources[7..]);
    assert_eq!(r.compromised_accounts, full.compromised_accounts[28..]);
    assert!(r.accounts_at_risk.len() <= 2);
}

#[test]
fn same_events_same_findings_and_counts() {
    let run = || {
        let cfg = EngineConfig {
            max_campaigns: 4,
            max_compromised: 7,
            ..EngineConfig::default()
        };
        let mut e = Engine::new(cfg);
        brute_force_rounds(&mut e, 8);
        // Past the sources' time-to-live: the expiry is swept over the following steps.
        for k in 0..100 {
            e.observe(&ev(
                30 * 86_400 + k,
                "late@example.org",
                "198.51.100.9",
                Outcome::BadPassword,
                Some(1),
            ));
        }
        let findings = e.take_findings();
        let report = e.report(InputSummary::default());
        (findings, report, format!("{:?}", e.stats()))
    };
    assert_eq!(run(), run());
}
