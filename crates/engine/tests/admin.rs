//! Admin actions (blocks, protections, shields up), judged by event time; `check` answers
//! without counting; trusted hosts are seen and flagged as hosts, never as networks.

mod common;

use common::*;
use portcullis_core::report::InputSummary;
use portcullis_core::{Account, Outcome, Protocol, Timestamp};
use portcullis_engine::{Action, AdminAction, Attempt, Engine, EngineConfig, ProtectionMode};

fn at(secs: i64) -> Timestamp {
    Timestamp::from_unix_secs(T0 + secs)
}

#[test]
fn blocks_expire_by_event_time() {
    let mut engine = Engine::new(EngineConfig::default());
    engine.apply(AdminAction::Block {
        prefix: "203.0.113.0/24".parse().unwrap(),
        at: at(0),
        until: Some(at(600)),
        reason: "seen in the spray".into(),
    });
    let v = engine.observe(&ev(10, "dave", "203.0.113.5", Outcome::Success, None));
    assert_eq!(v.action, Action::Deny);
    assert_eq!(v.reasons[0].code, "admin_block");
    let v = engine.observe(&ev(700, "dave", "203.0.113.5", Outcome::Success, None));
    assert_eq!(v.action, Action::Allow);
    engine.apply(AdminAction::Block {
        prefix: "2001:db8::/32".parse().unwrap(),
        at: at(800),
        until: None,
        reason: "x".into(),
    });
    let v = engine.observe(&ev(900, "dave", "2001:db8:1::1", Outcome::Success, None));
    assert_eq!(v.action, Action::Deny);
    engine.apply(AdminAction::Unblock {
        prefix: "2001:db8::/32".parse().unwrap(),
    });
    let v = engine.observe(&ev(901, "dave", "2001:db8:1::1", Outcome::Success, None));
    assert_eq!(v.action, Action::Allow);
}

#[test]
fn internal_only_and_shields_up_spare_trusted_and_familiar_sources() {
    let mut engine = Engine::new(EngineConfig::default());
    engine.observe(&ev(0, "erin", "81.7.7.7", Outcome::Success, None));
    engine.apply(AdminAction::Protect {
        account: "Erin".into(),
        mode: ProtectionMode::InternalOnly,
        at: at(10),
        until: None,
    });
    assert_eq!(
        engine
            .observe(&ev(20, "erin", "81.7.7.7", Outcome::Success, None))
            .action,
        Action::Allow
    );
    assert_eq!(
        engine
            .observe(&ev(21, "erin", "10.1.2.3", Outcome::Success, None))
            .action,
        Action::Allow
    );
    assert_eq!(
        engine
            .observe(&ev(22, "erin", "198.18.5.5", Outcome::Success, None))
            .action,
        Action::InternalOnly
    );
    engine.apply(AdminAction::Protect {
        account: "erin".into(),
        mode: ProtectionMode::Disabled,
        at: at(30),
        until: Some(at(60)),
    });
    assert_eq!(
        engine
            .observe(&ev(40, "erin", "81.7.7.7", Outcome::Success, None))
            .action,
        Action::Deny
    );
    assert_eq!(
        engine
            .observe(&ev(70, "erin", "81.7.7.7", Outcome::Success, None))
            .action,
        Action::Allow
    );

    engine.apply(AdminAction::ShieldsUp {
        protocols: vec![Protocol::Imap],
        at: at(100),
        until: None,
    });
    assert_eq!(
        engine
            .observe(&ev(110, "frank", "198.18.5.6", Outcome::Success, None))
            .action,
        Action::InternalOnly
    );
    assert_eq!(
        engine
            .observe(&ev(111, "erin", "81.7.7.7", Outcome::Success, None))
            .action,
        Action::Allow
    );
    engine.apply(AdminAction::ShieldsDown);
    assert_eq!(
        engine
            .observe(&ev(120, "frank", "198.18.5.6", Outcome::Success, None))
            .action,
        Action::Allow
    );
}

#[test]
fn check_does_not_count_the_attempt() {
    let mut engine = Engine::new(EngineConfig::default());
    let acct = Account::from_raw("gina");
    for i in 0..1000 {
        let a = Attempt {
            ts: at(i),
            protocol: Protocol::Imap,
            account: &acct,
            source: Some("198.18.3.3".parse().unwrap()),
            password_fingerprint: Some(i as u64),
        };
        assert_eq!(engine.check(&a).action, Action::Allow);
    }
    let r = engine.report(InputSummary::default());
    assert!(r.flagged_sources.is_empty());
    assert!(
        r.verdicts.is_empty(),
        "check must not count verdicts: {:?}",
        r.verdicts
    );
}

/// Trust decides what is blocked, never what is seen (this test asserted the opposite until
/// 2026-12-05: trusted sources were never counted). A host inside a trusted network that
/// guesses is flagged as that host, never as its network; see also `tests/insider.rs`.
#[test]
fn trusted_hosts_are_seen_and_flagged_as_hosts_only() {
    let host_only = |engine: &Engine, host: &str| {
        let r = engine.report(InputSummary::default());
        let flagged: Vec<String> = r
            .flagged_sources
            .iter()
            .map(|f| f.source.to_string())
            .collect();
        assert_eq!(flagged, vec![host.to_string()]);
    };
    let mut engine = Engine::new(EngineConfig::default());
    let mut last = Action::Allow;
    for i in 0..500i64 {
        last = engine
            .observe(&ev(
                i,
                &format!("u{}", i % 50),
                "10.0.0.5",
                Outcome::BadPassword,
                Some(i as u64),
            ))
            .action;
    }
    host_only(&engine, "10.0.0.5");
    assert_eq!(last, Action::Deny);
    // A configured trusted network too.
    let cfg: EngineConfig = toml::from_str("trusted_networks = [\"198.18.0.0/15\"]").unwrap();
    let mut engine = Engine::new(cfg);
    for i in 0..500i64 {
        engine.observe(&ev(
            i,
            "root",
            "198.18.4.4",
            Outcome::BadPassword,
            Some(i as u64),
        ));
    }
    host_only(&engine, "198.18.4.4");
}

#[test]
fn small_disorder_is_tolerated() {
    // The same brute force, with every pair of events swapped, is still caught.
    let mut events: Vec<_> = (0..100i64)
        .map(|i| {
            ev(
                i * 2,
                "root",
                "198.18.6.6",
                Outcome::BadPassword,
                Some(i as u64),
            )
        })
        .collect();
    for pair in events.chunks_mut(2) {
        pair.swap(0, 1);
    }
    let mut engine = Engine::new(EngineConfig::default());
    for e in &events {
        engine.observe(e);
    }
    let r = engine.report(InputSummary::default());
    assert_eq!(r.flagged_sources.len(), 1);
    let bf = r
        .campaigns
        .iter()
        .find(|c| c.kind == portcullis_core::report::CampaignKind::BruteForce)
        .unwrap();
    assert!(bf.first_seen <= at(2), "{bf:#?}");
    assert!(
        r.campaigns.iter().all(|c| c.first_seen <= at(2)),
        "{:#?}",
        r.campaigns
    );
}

#[test]
fn extreme_times_and_empty_fields_never_panic() {
    use portcullis_core::AuthEvent;
    let mut engine = Engine::new(EngineConfig::default());
    let times = [
        i64::MIN,
        -1,
        0,
        1,
        i64::from(u32::MAX) * 1_000_000 - 1,
        i64::from(u32::MAX) * 1_000_000,
        i64::MAX,
        0,
        i64::MAX,
    ];
    for (k, &t) in times.iter().enumerate() {
        for outcome in Outcome::ALL {
            for (name, src) in [
                ("", None),
                ("x", Some("203.0.113.1")),
                ("x", Some("::")),
                ("y", Some("2001:db8::1")),
                ("y", Some("0.0.0.0")),
            ] {
                let mut ev = AuthEvent::new(
                    Timestamp::from_unix_micros(t),
                    Protocol::Other,
                    Account::from_raw(name),
                    src.map(|s| s.parse().unwrap()),
                    outcome,
                );
                ev.password_fingerprint = Some(k as u64);
                engine.observe(&ev);
            }
        }
    }
    let _ = engine.take_findings();
    let _ = engine.report(InputSummary::default());
}
