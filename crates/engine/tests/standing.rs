//! One answer for trust and familiarity: every verdict carries the source's standing as the
//! engine judged it (before the event's own learning); `internal_only` is already resolved
//! against it; and familiar sources restored at start-up (`Engine::restore_familiar`) give the
//! same later verdicts as the synthetic success events `serve` used to replay.

mod common;

use common::*;
use portcullis_core::{Account, AuthEvent, Outcome, Prefix, Protocol, Timestamp};
use portcullis_engine::{Action, AdminAction, Engine, EngineConfig, ProtectionMode, Standing};

fn at(secs: i64) -> Timestamp {
    Timestamp::from_unix_secs(T0 + secs)
}

#[test]
fn standing_is_judged_before_the_event_learns() {
    let mut e = Engine::new(EngineConfig::default());
    let first = e.observe(&ev(
        0,
        "alice@example.org",
        "198.51.100.7",
        Outcome::Success,
        None,
    ));
    assert_eq!(
        first.standing,
        Standing::default(),
        "a first success is not yet familiar"
    );
    let second = e.observe(&ev(
        60,
        "alice@example.org",
        "198.51.100.7",
        Outcome::Success,
        None,
    ));
    assert_eq!(
        second.standing,
        Standing {
            trusted: false,
            familiar: true
        }
    );
    // Its /24 too, and not another account.
    let net = e.observe(&ev(
        90,
        "alice@example.org",
        "198.51.100.99",
        Outcome::BadPassword,
        Some(1),
    ));
    assert!(net.standing.familiar && !net.standing.trusted);
    let bob = e.observe(&ev(
        120,
        "bob@example.org",
        "198.51.100.7",
        Outcome::BadPassword,
        Some(1),
    ));
    assert_eq!(bob.standing, Standing::default());
    // Trusted networks (the defaults hold RFC 1918).
    let office = e.observe(&ev(
        180,
        "bob@example.org",
        "10.1.2.3",
        Outcome::BadPassword,
        Some(2),
    ));
    assert!(office.standing.trusted && !office.standing.familiar);
    // The read-only query agrees with the verdicts.
    let alice = Account::from_raw("alice@example.org");
    assert!(e.standing(&alice, "198.51.100.8".parse().unwrap()).familiar);
    assert!(!e.standing(&alice, "203.0.113.1".parse().unwrap()).known());
    assert!(e.standing(&alice, "192.168.1.1".parse().unwrap()).trusted);
}

#[test]
fn internal_only_means_denied_and_known_sources_are_allowed() {
    let mut e = Engine::new(EngineConfig::default());
    e.observe(&ev(
        0,
        "alice@example.org",
        "198.51.100.7",
        Outcome::Success,
        None,
    ));
    e.apply(AdminAction::ShieldsUp {
        protocols: vec![],
        at: at(10),
        until: None,
    });
    let stranger = e.observe(&ev(
        20,
        "alice@example.org",
        "203.0.113.5",
        Outcome::Success,
        None,
    ));
    assert_eq!(stranger.action, Action::InternalOnly);
    assert!(!stranger.standing.known());
    let home = e.observe(&ev(
        30,
        "alice@example.org",
        "198.51.100.7",
        Outcome::Success,
        None,
    ));
    assert_eq!(home.action, Action::Allow);
    assert!(home.standing.familiar);
    let office = e.observe(&ev(
        40,
        "alice@example.org",
        "10.0.0.5",
        Outcome::Success,
        None,
    ));
    assert_eq!(office.action, Action::Allow);
    assert!(office.standing.trusted);
    // The same for an account protected as internal-only.
    e.apply(AdminAction::ShieldsDown);
    e.apply(AdminAction::Protect {
        account: "bob@example.org".into(),
        mode: ProtectionMode::InternalOnly,
        at: at(50),
        until: None,
    });
    let v = e.observe(&ev(
        60,
        "bob@example.org",
        "203.0.113.5",
        Outcome::BadPassword,
        Some(3),
    ));
    assert_eq!(v.action, Action::InternalOnly);
    assert!(!v.standing.known());
    let v = e.observe(&ev(
        70,
        "bob@example.org",
        "172.16.0.9",
        Outcome::Success,
        None,
    ));
    assert_eq!(v.action, Action::Allow);
    assert!(v.standing.trusted);
}

/// The familiar sources of a few hundred accounts: home addresses (IPv4, some IPv6), a few
/// on trusted networks, some stored as a /24.
fn remembered(rng: &mut Rng) -> Vec<(String, Prefix, i64)> {
    let mut out = Vec::new();
    for u in 0..300usize {
        let name = account_name(u);
        let t = -1800 + u as i64 * 5;
        let p: Prefix = match u % 10 {
            0 => format!("2001:db8:{:x}:{:x}::7", u, rng.below(65_536))
                .parse()
                .unwrap(),
            1 => format!("10.20.{}.{}", u % 256, 1 + rng.below(254))
                .parse()
                .unwrap(),
            2 => format!(
                "{}.{}.{}.0/24",
                public_octet(rng),
                rng.below(256),
                rng.below(256)
            )
            .parse()
            .unwrap(),
            _ => public_address(rng).parse().unwrap(),
        };
        out.push((name, p, t));
        if u % 3 == 0 {
            out.push((account_name(u), public_address(rng).parse().unwrap(), t + 1));
        }
    }
    out
}

/// Later traffic: the remembered sources failing and succeeding (and their neighbours),
/// strangers guessing some accounts, and a distributed spray over all of them.
fn later(mem: &[(String, Prefix, i64)], rng: &mut Rng) -> Vec<AuthEvent> {
    let mut s: Stream = Vec::new();
    for (i, (name, p, _)) in mem.iter().enumerate() {
        let t = 600 + i as i64 * 7;
        let home = p.addr().to_string();
        s.push((
            ev(t, name, &home, Outcome::BadPassword, Some(1)),
            Label::Benign,
        ));
        s.push((
            ev(t + 20, name, &home, Outcome::Success, None),
            Label::Benign,
        ));
        if let std::net::IpAddr::V4(v4) = p.addr() {
            let o = v4.octets();
            let neighbour = format!("{}.{}.{}.{}", o[0], o[1], o[2], o[3] ^ 0x40);
            s.push((
                ev(t + 40, name, &neighbour, Outcome::BadPassword, Some(2)),
                Label::Benign,
            ));
        }
    }
    // Guessing on a few accounts from strangers.
    for u in 0..20usize {
        for k in 0..35u64 {
            let src = format!("198.51.{}.{}", u, 1 + k);
            s.push((
                ev(
                    3000 + k as i64 * 30 + u as i64,
                    &account_name(u),
                    &src,
                    Outcome::BadPassword,
                    Some(100 + k),
                ),
                Label::Attack,
            ));
        }
    }
    // A spray from 400 proxies over every account, then each remembered source logs in.
    let proxies = proxy_addresses(400, rng);
    for round in 0..3i64 {
        for u in 0..300usize {
            let src = &proxies[rng.below(400) as usize];
            let t = 7200 + round * 1800 + u as i64 * 5;
            s.push((
                ev(
                    t,
                    &account_name(u),
                    src,
                    Outcome::BadPassword,
                    Some(7 + round as u64),
                ),
                Label::Attack,
            ));
        }
    }
    for (i, (name, p, _)) in mem.iter().enumerate() {
        let home = p.addr().to_string();
        s.push((
            ev(14_000 + i as i64 * 3, name, &home, Outcome::Success, None),
            Label::Benign,
        ));
    }
    sort(&mut s);
    s.into_iter().map(|(e, _)| e).collect()
}

#[test]
fn restored_familiar_sources_give_the_verdicts_of_synthetic_successes() {
    let mut rng = Rng::new(18);
    let mem = remembered(&mut rng);
    // Before: each remembered pair replayed as a success event (what `serve` did).
    let mut synthetic = Engine::new(EngineConfig::default());
    let mut sorted = mem.clone();
    sorted.sort_by_key(|m| m.2);
    for (name, p, t) in &sorted {
        let mut e = AuthEvent::new(
            at(*t),
            Protocol::Other,
            Account::from_raw(name),
            Some(p.addr()),
            Outcome::Success,
        );
        e.server = Some("portcullis-restore".into());
        synthetic.observe(&e);
    }
    synthetic.take_findings();
    // After: the engine method, in any order.
    let mut restored = Engine::new(EngineConfig::default());
    for (name, p, t) in mem.iter().rev() {
        restored.restore_familiar(&Account::from_raw(name), *p, at(*t));
    }
    assert!(restored.take_findings().is_empty());
    assert_eq!(
        restored.now(),
        Timestamp::default(),
        "event time did not move"
    );
    assert_eq!(restored.stats().sources, synthetic.stats().sources);
    assert_eq!(restored.stats().accounts, synthetic.stats().accounts);

    let stream = later(&mem, &mut rng);
    let (mut familiar, mut trusted, mut not_allowed) = (0, 0, 0);
    for (i, e) in stream.iter().enumerate() {
        let a = synthetic.observe(e);
        let b = restored.observe(e);
        assert_eq!(a, b, "event {i}: {e:?}");
        familiar += usize::from(b.standing.familiar);
        trusted += usize::from(b.standing.trusted);
        not_allowed += usize::from(b.action != Action::Allow);
    }
    // The comparison is not vacuous: familiarity, trust and detections all took part.
    assert!(familiar > 300, "{familiar} familiar verdicts");
    assert!(trusted > 30, "{trusted} trusted verdicts");
    assert!(not_allowed > 100, "{not_allowed} verdicts other than allow");
    // Restores are not attempts: only the synthetic path counted them as verdicts.
    let count = |e: &Engine| -> u64 { e.report(Default::default()).verdicts.values().sum() };
    assert_eq!(count(&restored), stream.len() as u64);
    assert_eq!(count(&synthetic), (stream.len() + mem.len()) as u64);
}
