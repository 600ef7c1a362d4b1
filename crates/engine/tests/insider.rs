//! Trust decides what is blocked, never what is seen: a compromised host inside the trusted
//! networks that sprays every account is flagged as that one host, its lucky guesses are named
//! as compromises, and `trusted_flagged` decides what it gets — while the office gateway in the
//! same trusted range (many users' successes, their typos) is never flagged, the host's own
//! user keeps logging in from it, and nothing wider than the host is ever flagged. Default
//! logging: no password fingerprints.

mod common;

use common::*;
use portcullis_core::report::{InputSummary, Report};
use portcullis_core::{Account, Outcome, Protocol, Timestamp};
use portcullis_engine::config::TrustedFlagged;
use portcullis_engine::{Action, Attempt, Engine, EngineConfig};

const ACCOUNTS: usize = 300;
const GATEWAY: &str = "10.0.0.1";
const INSIDER: &str = "10.20.30.40";
/// Accounts whose weak password the insider finds (late in its first round).
const FALLEN: [usize; 3] = [210, 240, 270];
const DAY: i64 = 86_400;

fn name(i: usize) -> String {
    format!("u{i}@example.org")
}

/// A week of office life, then a night of spraying from `INSIDER` (u7's desktop); returns
/// the engine.
fn run(cfg: EngineConfig) -> Engine {
    let mut engine = Engine::new(cfg);
    let mut rng = Rng::new(7);
    // Days 0–6: everyone logs in through the office gateway in the morning (a few typos
    // first); u7 from their own desktop too; some from home.
    for day in 0..7 {
        for i in 0..ACCOUNTS {
            let t = day * DAY + 8 * 3600 + rng.below(4 * 3600) as i64;
            if rng.chance(0.05) {
                engine.observe(&ev(t, &name(i), GATEWAY, Outcome::BadPassword, None));
            }
            engine.observe(&ev(t + 5, &name(i), GATEWAY, Outcome::Success, None));
            if i % 10 == 3 {
                let home = format!("198.51.{}.{}", i % 200, 10 + day);
                engine.observe(&ev(t + 9 * 3600, &name(i), &home, Outcome::Success, None));
            }
        }
        engine.observe(&ev(
            day * DAY + 9 * 3600,
            &name(7),
            INSIDER,
            Outcome::Success,
            None,
        ));
    }
    // Night of day 7, from 01:00: two rounds over every account, one attempt every 6 s.
    let mut t = 7 * DAY + 3600;
    for round in 0..2 {
        for i in 0..ACCOUNTS {
            if i == 7 {
                continue;
            }
            let outcome = if round == 0 && FALLEN.contains(&i) {
                Outcome::Success
            } else if round == 1 && FALLEN.contains(&i) {
                continue; // fallen accounts are dropped from later rounds
            } else {
                Outcome::BadPassword
            };
            engine.observe(&ev(t, &name(i), INSIDER, outcome, None));
            t += 6;
        }
    }
    engine
}

fn check(engine: &mut Engine, account: usize, source: &str) -> Action {
    let account = Account::from_raw(&name(account));
    engine
        .check(&Attempt {
            ts: Timestamp::from_unix_secs(T0 + 7 * DAY + 5 * 3600),
            protocol: Protocol::Imap,
            account: &account,
            source: Some(source.parse().unwrap()),
            password_fingerprint: None,
        })
        .action
}

fn flagged(r: &Report) -> Vec<String> {
    r.flagged_sources
        .iter()
        .map(|f| f.source.to_string())
        .collect()
}

#[test]
fn an_insider_spraying_from_a_trusted_host_is_seen_flagged_as_that_host_and_denied() {
    let mut engine = run(EngineConfig::default());
    let r = engine.report(InputSummary::default());
    let flagged = flagged(&r);
    // The insider, as a host; nothing else of 10/8, and never the gateway or a network.
    assert!(flagged.contains(&INSIDER.to_string()), "{flagged:?}");
    for f in r
        .flagged_sources
        .iter()
        .filter(|f| f.source.to_string().starts_with("10."))
    {
        assert_eq!(f.source.to_string(), INSIDER, "flagged inside: {f:?}");
    }
    assert!(
        !flagged.iter().any(|f| f.starts_with(GATEWAY)),
        "{flagged:?}"
    );
    // A campaign names it among its sources.
    assert!(
        r.campaigns
            .iter()
            .any(|c| c.sources.iter().any(|s| s.to_string() == INSIDER)),
        "{:?}",
        r.campaigns
    );
    // Its lucky guesses are compromises, from it; no one else's account is named.
    let mut named: Vec<&str> = r
        .compromised_accounts
        .iter()
        .map(|c| c.account.as_str())
        .collect();
    named.sort();
    let mut fallen: Vec<String> = FALLEN.iter().map(|&i| name(i)).collect();
    fallen.sort();
    assert_eq!(named, fallen, "{:?}", r.compromised_accounts);
    for c in &r.compromised_accounts {
        assert_eq!(c.source.map(|s| s.to_string()).as_deref(), Some(INSIDER));
    }
    // What it gets (default deny_unfamiliar): refused on accounts it never logged in to,
    // allowed on its own user's; the gateway, and any other inside host, allowed.
    assert_eq!(check(&mut engine, 50, INSIDER), Action::Deny);
    assert_eq!(check(&mut engine, 7, INSIDER), Action::Allow);
    assert_eq!(check(&mut engine, 50, GATEWAY), Action::Allow);
    assert_eq!(check(&mut engine, 50, "10.20.30.41"), Action::Allow);
}

#[test]
fn trusted_flagged_decides_what_the_flagged_inside_host_gets_never_whether_it_is_seen() {
    for (setting, expected) in [
        (TrustedFlagged::DenyUnfamiliar, Action::Deny),
        (
            TrustedFlagged::TarpitUnfamiliar,
            Action::Tarpit { seconds: 5 },
        ),
        (TrustedFlagged::ReportOnly, Action::Allow),
    ] {
        let mut engine = run(EngineConfig {
            trusted_flagged: setting,
            ..EngineConfig::default()
        });
        let r = engine.report(InputSummary::default());
        assert!(flagged(&r).contains(&INSIDER.to_string()), "{setting:?}");
        assert_eq!(r.compromised_accounts.len(), FALLEN.len(), "{setting:?}");
        assert_eq!(check(&mut engine, 50, INSIDER), expected, "{setting:?}");
        assert_eq!(check(&mut engine, 7, INSIDER), Action::Allow, "{setting:?}");
    }
}

#[test]
fn loopback_failures_name_no_host_and_are_never_flagged() {
    let mut engine = Engine::new(EngineConfig::default());
    for i in 0..500i64 {
        let v = engine.observe(&ev(
            i,
            &format!("u{}", i % 50),
            "127.0.0.1",
            Outcome::BadPassword,
            None,
        ));
        assert_eq!(v.action, Action::Allow);
    }
    assert!(flagged(&engine.report(InputSummary::default())).is_empty());
}
