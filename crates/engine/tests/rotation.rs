//! Address rotation: a spray where every attempt comes from a new address inside a few dozen
//! IPv4 /24s, and one rotating inside three IPv6 /48s (a new /64 and address every time). The
//! prefixes must be flagged, within 30 minutes.

mod common;

use common::*;
use portcullis_core::Outcome;
use portcullis_core::report::{CampaignKind, InputSummary, Report};
use portcullis_engine::{Engine, EngineConfig};
use std::net::IpAddr;

fn run(stream: &Stream) -> Report {
    let mut engine = Engine::new(EngineConfig::default());
    for (e, _) in stream {
        engine.observe(e);
    }
    engine.report(InputSummary::default())
}

fn check(report: &Report, attack: &[IpAddr], start_secs: i64, max_delay: i64) {
    let spray = report
        .campaigns
        .iter()
        .find(|c| c.kind == CampaignKind::PasswordSpray)
        .unwrap_or_else(|| panic!("no spray: {:#?}", report.campaigns));
    let start = portcullis_core::Timestamp::from_unix_secs(T0 + start_secs);
    let delay = spray.detected_at.secs_since(start);
    eprintln!(
        "{}: delay {delay} s; {} flagged",
        spray.summary,
        report.flagged_sources.len()
    );
    assert!(
        (0..=max_delay).contains(&delay),
        "raised {delay} s after the first attempt"
    );
    let covered = attack
        .iter()
        .filter(|ip| {
            report
                .flagged_sources
                .iter()
                .any(|f| f.source.contains(**ip))
        })
        .count();
    assert!(
        covered * 10 >= attack.len() * 9,
        "covered {covered} of {}",
        attack.len()
    );
    assert!(
        report.flagged_sources.iter().any(|f| !f.source.is_host()),
        "prefixes flagged"
    );
}

/// 600 users of benign life for a day, then the rotating attack from hour 26 for 3 hours.
fn attack(v6: bool, seed: u64) -> (Stream, Vec<IpAddr>, i64) {
    let mut rng = Rng::new(seed);
    let org = Org::new(600, &mut rng);
    let mut stream = org.traffic(0, 30, &mut rng);
    let start = 26 * 3600;
    let nets: Vec<u64> = (0..40).map(|_| rng.next_u64()).collect();
    let mut addrs = Vec::new();
    let mut first = i64::MAX;
    for i in 0..1500 {
        let secs = start + (i * 3 * 3600) / 1500 + rng.below(5) as i64;
        first = first.min(secs);
        let n = nets[rng.below(if v6 { 3 } else { 40 }) as usize];
        let src = if v6 {
            format!(
                "2001:db8:{:x}:{:x}:{:x}:{:x}:{:x}:{:x}",
                n & 0xffff,
                rng.below(65536),
                rng.below(65536),
                rng.below(65536),
                rng.below(65536),
                rng.below(65536)
            )
        } else {
            format!(
                "{}.{}.{}.{}",
                1 + (n % 9) * 20,
                (n >> 8) & 0xff,
                (n >> 16) & 0xff,
                1 + rng.below(254)
            )
        };
        let account = account_name(rng.below(600) as usize);
        addrs.push(src.parse().unwrap());
        stream.push((
            ev(
                secs,
                &account,
                &src,
                Outcome::BadPassword,
                Some(pwfp(&account, &format!("Spring{}", i / 500))),
            ),
            Label::Attack,
        ));
    }
    sort(&mut stream);
    (stream, addrs, first)
}

#[test]
fn a_new_ipv4_address_for_every_attempt_flags_the_prefixes() {
    let (stream, addrs, first) = attack(false, 5);
    let report = run(&stream);
    check(&report, &addrs, first, 30 * 60);
}

#[test]
fn ipv6_rotation_inside_three_48s_flags_the_48s() {
    let (stream, addrs, first) = attack(true, 6);
    let report = run(&stream);
    check(&report, &addrs, first, 30 * 60);
    assert!(
        report.flagged_sources.iter().any(|f| f.source.len() == 48),
        "a /48 flagged: {:?}",
        report
            .flagged_sources
            .iter()
            .map(|f| f.source.to_string())
            .collect::<Vec<_>>()
    );
}

/// Rotation through a residential-proxy pool spread thinly over 500 provider /24s: every
/// attempt from a new address, three per /24 on average over the night (many with one or two). Twenty of those
/// /24s also hold the home of a real user, who logged in from there before: they must never be
/// flagged. The others are flagged once two of their addresses failed on two accounts.
#[test]
fn thin_rotation_flags_the_24s_that_no_user_logs_in_from() {
    let mut rng = Rng::new(9);
    let mut org = Org::new(600, &mut rng);
    let nets: Vec<(u64, u64, u64)> = (0..500)
        .map(|_| (public_octet(&mut rng), rng.below(256), rng.below(256)))
        .collect();
    // Users 0..20 live inside the first twenty of those /24s.
    for (u, n) in nets.iter().take(20).enumerate() {
        org.homes[u] = format!("{}.{}.{}.250", n.0, n.1, n.2);
        org.evening_home[u] = true;
    }
    let mut stream = org.traffic(0, 30, &mut rng);
    let start = 26 * 3600;
    let mut addrs: Vec<IpAddr> = Vec::new();
    for i in 0..1500i64 {
        let secs = start + (i * 3 * 3600) / 1500 + rng.below(5) as i64;
        let n = nets[rng.below(500) as usize];
        let src = loop {
            let ip: IpAddr = format!("{}.{}.{}.{}", n.0, n.1, n.2, 1 + rng.below(240))
                .parse()
                .unwrap();
            if !addrs.contains(&ip) {
                break ip;
            }
        };
        addrs.push(src);
        let account = account_name(rng.below(600) as usize);
        let fp = Some(pwfp(&account, &format!("Spring{}", i / 500)));
        stream.push((
            ev(secs, &account, &src.to_string(), Outcome::BadPassword, fp),
            Label::Attack,
        ));
    }
    sort(&mut stream);
    let report = run(&stream);
    check(&report, &addrs, start, 30 * 60);
    for (u, n) in nets.iter().take(20).enumerate() {
        let home: IpAddr = org.homes[u].parse().unwrap();
        assert!(
            !report
                .flagged_sources
                .iter()
                .any(|f| f.source.contains(home)),
            "/24 of user {u}'s home {}.{}.{}.0 flagged",
            n.0,
            n.1,
            n.2
        );
    }
}
