//! Account guessing with smart-lockout semantics, single-source spray, enumeration, and
//! compromise after guessing.

mod common;

use common::*;
use portcullis_core::report::{CampaignKind, InputSummary};
use portcullis_core::{Account, Outcome, Timestamp};
use portcullis_engine::{Action, Attempt, Engine, EngineConfig, Finding};

#[test]
fn lockout_is_never_the_attackers_weapon() {
    let mut engine = Engine::new(EngineConfig::default());
    // Alice logs in from her phone's carrier address and from home.
    engine.observe(&ev(0, "alice", "37.10.1.10", Outcome::Success, Some(1)));
    engine.observe(&ev(10, "alice", "81.2.3.4", Outcome::Success, Some(1)));
    // 60 addresses each guess one password for alice.
    let mut last = None;
    for i in 0..60i64 {
        let src = format!("203.0.{}.{}", i / 200, 1 + i % 200);
        last = Some(engine.observe(&ev(
            100 + i * 20,
            "alice",
            &src,
            Outcome::BadPassword,
            Some(i as u64 + 100),
        )));
    }
    // Unfamiliar sources are now denied on alice...
    assert_eq!(last.unwrap().action, Action::Deny);
    let acct = Account::from_raw("alice");
    let stranger = Attempt {
        ts: Timestamp::from_unix_secs(T0 + 1400),
        protocol: portcullis_core::Protocol::Imap,
        account: &acct,
        source: Some("198.18.7.7".parse().unwrap()),
        password_fingerprint: None,
    };
    assert_eq!(engine.check(&stranger).action, Action::Deny);
    // ...but alice, from her familiar addresses (and her carrier's /24), is not.
    for src in ["37.10.1.10", "81.2.3.4", "37.10.1.99"] {
        let v = engine.observe(&ev(1500, "alice", src, Outcome::Success, Some(1)));
        assert_eq!(v.action, Action::Allow, "{src}: {v:?}");
    }
    // Even a typo from home is allowed and does not count.
    let v = engine.observe(&ev(
        1510,
        "alice",
        "81.2.3.4",
        Outcome::BadPassword,
        Some(7),
    ));
    assert_eq!(v.action, Action::Allow);
    let report = engine.report(InputSummary::default());
    assert!(report.accounts_at_risk.iter().any(|a| a.account == "alice"));
    assert!(
        report
            .campaigns
            .iter()
            .any(|c| c.kind == CampaignKind::AccountGuessing)
    );
    assert!(report.compromised_accounts.is_empty());
}

#[test]
fn the_same_wrong_password_again_counts_once() {
    let mut engine = Engine::new(EngineConfig::default());
    engine.observe(&ev(0, "bob", "81.2.3.5", Outcome::Success, Some(1)));
    // A stale phone on a new address retries the old password every 5 minutes all day.
    for i in 0..288i64 {
        let v = engine.observe(&ev(
            60 + i * 300,
            "bob",
            "46.20.7.1",
            Outcome::BadPassword,
            Some(0xabc),
        ));
        assert_eq!(v.action, Action::Allow, "attempt {i}: {v:?}");
    }
    let report = engine.report(InputSummary::default());
    assert!(report.accounts_at_risk.is_empty());
    assert!(report.flagged_sources.is_empty());
    // Whereas as many different passwords put the account at risk.
    for i in 0..12i64 {
        engine.observe(&ev(
            90_000 + i * 60,
            "bob",
            "46.20.7.1",
            Outcome::BadPassword,
            Some(0x100 + i as u64),
        ));
    }
    assert!(
        engine
            .take_findings()
            .iter()
            .any(|f| matches!(f, Finding::AccountAtRisk(a) if a.account == "bob"))
    );
}

#[test]
fn a_guessed_password_is_a_compromise() {
    let mut engine = Engine::new(EngineConfig::default());
    engine.observe(&ev(0, "carol", "81.2.3.6", Outcome::Success, Some(1)));
    for i in 0..12i64 {
        engine.observe(&ev(
            100 + i * 200,
            "carol",
            "198.18.0.9",
            Outcome::BadPassword,
            Some(50 + i as u64),
        ));
    }
    engine.observe(&ev(3000, "carol", "198.18.0.9", Outcome::Success, Some(2)));
    let report = engine.report(InputSummary::default());
    assert_eq!(report.compromised_accounts.len(), 1, "{:#?}", report);
    assert_eq!(report.compromised_accounts[0].account, "carol");
    // The guesser did not become familiar: it is still held off.
    let v = engine.observe(&ev(
        3100,
        "carol",
        "198.18.0.9",
        Outcome::BadPassword,
        Some(99),
    ));
    assert_ne!(v.action, Action::Allow);
}

#[test]
fn one_source_spraying_many_accounts_is_flagged_and_enumeration_named() {
    let mut engine = Engine::new(EngineConfig::default());
    for i in 0..40i64 {
        engine.observe(&ev(
            i * 300,
            &format!("user{i}"),
            "198.18.1.1",
            Outcome::BadPassword,
            Some(7),
        ));
        engine.observe(&ev(
            i * 300 + 1,
            &format!("nobody{i}"),
            "198.18.2.2",
            Outcome::UnknownAccount,
            Some(7),
        ));
    }
    let report = engine.report(InputSummary::default());
    let kind_of = |src: &str| {
        let f = report
            .flagged_sources
            .iter()
            .find(|f| f.source.to_string() == src)
            .unwrap_or_else(|| panic!("{src} not flagged: {report:#?}"));
        report
            .campaigns
            .iter()
            .find(|c| Some(&c.id) == f.campaign.as_ref())
            .unwrap()
            .kind
    };
    assert_eq!(kind_of("198.18.1.1"), CampaignKind::PasswordSpray);
    assert_eq!(kind_of("198.18.2.2"), CampaignKind::UserEnumeration);
    // Slow (one try per 5 minutes): never a brute force.
    assert!(
        !report
            .campaigns
            .iter()
            .any(|c| c.kind == CampaignKind::BruteForce)
    );
}

#[test]
fn a_gateway_where_many_users_succeed_is_never_flagged() {
    let mut engine = Engine::new(EngineConfig::default());
    let nat = "198.51.100.10";
    for h in 0..24i64 {
        for u in 0..50 {
            let name = format!("staff{u}");
            // One in ten logins is preceded by a couple of typos.
            if (u + h) % 10 == 0 {
                engine.observe(&ev(
                    h * 3600 + u * 60,
                    &name,
                    nat,
                    Outcome::BadPassword,
                    Some(h as u64),
                ));
                engine.observe(&ev(
                    h * 3600 + u * 60 + 5,
                    &name,
                    nat,
                    Outcome::BadPassword,
                    Some(h as u64 + 1),
                ));
            }
            engine.observe(&ev(
                h * 3600 + u * 60 + 10,
                &name,
                nat,
                Outcome::Success,
                Some(1),
            ));
        }
        // Someone new tries an account from the office (wrong name).
        engine.observe(&ev(
            h * 3600 + 3500,
            &format!("newhire{h}"),
            nat,
            Outcome::UnknownAccount,
            Some(3),
        ));
    }
    let report = engine.report(InputSummary::default());
    assert!(
        report.flagged_sources.is_empty(),
        "{:#?}",
        report.flagged_sources
    );
    assert_eq!(report.verdicts.get("deny"), None);
}

#[test]
fn brute_force_from_a_rotating_prefix_is_flagged() {
    let mut engine = Engine::new(EngineConfig::default());
    for i in 0..200i64 {
        let src = format!("198.18.9.{}", 1 + i % 250);
        engine.observe(&ev(i, "root", &src, Outcome::BadPassword, Some(i as u64)));
    }
    let report = engine.report(InputSummary::default());
    assert!(
        report
            .flagged_sources
            .iter()
            .any(|f| f.source.to_string() == "198.18.9.0/24"),
        "{:#?}",
        report.flagged_sources
    );
}

/// A device forgotten at the user's home (an old phone or NAS still configured with a
/// long-changed password) retries every five minutes for days, from the user's home
/// address; the log carries no password fingerprints, so every retry counts as a wrong
/// password. Whether or not the home was already familiar, the user's own login from home
/// is not a compromise, the home address is never flagged or denied; and once the user has
/// logged in from home, the device's failures are judged apart.
#[test]
fn a_forgotten_device_at_home_makes_no_compromise_and_no_flag() {
    let mut engine = Engine::new(EngineConfig::default());
    let office = "198.51.100.7";
    // Dora's home was already familiar; Fred's had never been seen succeeding (the log starts
    // while his device is already failing).
    let homes = [
        ("dora", "81.2.69.160"),
        ("fred", "2001:db8:7c74:4611::67fb"),
    ];
    engine.observe(&ev(0, "dora", homes[0].1, Outcome::Success, None));
    let mut denied_at_home = 0;
    for k in 0..(2 * 24 * 12) {
        let t = 60 + k * 300;
        for (user, home) in homes {
            let v = engine.observe(&ev(t, user, home, Outcome::BadPassword, None));
            if v.action != Action::Allow && user == "dora" {
                denied_at_home += 1;
            }
        }
        // Their desktops at the office, every working hour.
        if k % 12 == 0 {
            for (user, _) in homes {
                engine.observe(&ev(t + 30, user, office, Outcome::Success, None));
            }
        }
    }
    // Then each logs in from home.
    let t = 2 * 86_400 + 1_000;
    for (user, home) in homes {
        let v = engine.observe(&ev(t, user, home, Outcome::Success, None));
        if user == "dora" {
            assert_eq!(v.action, Action::Allow, "a familiar home is allowed");
        }
    }
    let report = engine.report(InputSummary::default());
    assert!(
        report.compromised_accounts.is_empty(),
        "{:#?}",
        report.compromised_accounts
    );
    for (_, home) in homes {
        let ip: std::net::IpAddr = home.parse().unwrap();
        assert!(
            !report.flagged_sources.iter().any(|f| f.source.contains(ip)),
            "home {home} flagged: {:#?}",
            report.flagged_sources
        );
    }
    assert_eq!(denied_at_home, 0, "the familiar home was held off");
    // Fred's home is familiar now: his device's next failure is judged apart.
    let v = engine.observe(&ev(t + 300, "fred", homes[1].1, Outcome::BadPassword, None));
    assert_eq!(v.action, Action::Allow);

    // A guesser without fingerprints that also failed on other accounts still is one.
    let mut engine = Engine::new(EngineConfig::default());
    engine.observe(&ev(0, "carol", "81.2.3.6", Outcome::Success, None));
    for i in 0..12i64 {
        for who in ["carol", "dave"] {
            engine.observe(&ev(
                100 + i * 200,
                who,
                "198.18.0.9",
                Outcome::BadPassword,
                None,
            ));
        }
    }
    engine.observe(&ev(3000, "carol", "198.18.0.9", Outcome::Success, None));
    let report = engine.report(InputSummary::default());
    assert_eq!(report.compromised_accounts.len(), 1, "{report:#?}");
}
