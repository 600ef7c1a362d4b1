//! The long horizon: three weeks of sparse probing (a few wrong passwords a day, from
//! addresses that later take part in the spray) before an overnight spray. The spray's
//! campaign must reach back to the first probe, and the probing alone must raise nothing.

mod common;

use common::*;
use portcullis_core::Outcome;
use portcullis_core::Timestamp;
use portcullis_core::report::{CampaignKind, InputSummary};
use portcullis_engine::{Engine, EngineConfig};

#[test]
fn probing_weeks_before_the_spray_is_linked_to_it() {
    let mut rng = Rng::new(99);
    let org = Org::new(500, &mut rng);
    let days = 22i64;
    let mut stream = org.traffic(0, days * 24, &mut rng);
    let proxies = proxy_addresses(300, &mut rng);
    // Probing: days 1..21, three tries a day from the first 30 proxies.
    let mut first_probe = i64::MAX;
    for d in 1..21i64 {
        for _ in 0..3 {
            let secs = d * 86_400 + rng.below(86_400) as i64;
            first_probe = first_probe.min(secs);
            let src = &proxies[rng.below(30) as usize];
            let account = account_name(rng.below(500) as usize);
            stream.push((
                ev(
                    secs,
                    &account,
                    src,
                    Outcome::BadPassword,
                    Some(pwfp(&account, "probe")),
                ),
                Label::Attack,
            ));
        }
    }
    // The spray: day 21, 01:00, four rounds.
    let start = 21 * 86_400 + 3600;
    for round in 0..4i64 {
        for u in 0..500usize {
            let secs = start + round * 3600 + rng.below(3600) as i64;
            let src = &proxies[rng.below(300) as usize];
            let account = account_name(u);
            stream.push((
                ev(
                    secs,
                    &account,
                    src,
                    Outcome::BadPassword,
                    Some(pwfp(&account, &format!("Winter{round}"))),
                ),
                Label::Attack,
            ));
        }
    }
    sort(&mut stream);
    let mut engine = Engine::new(EngineConfig::default());
    for (e, _) in &stream {
        engine.observe(e);
    }
    let report = engine.report(InputSummary::default());
    let sprays: Vec<_> = report
        .campaigns
        .iter()
        .filter(|c| c.kind == CampaignKind::PasswordSpray)
        .collect();
    assert_eq!(sprays.len(), 1, "{:#?}", report.campaigns);
    let c = sprays[0];
    let first_probe = Timestamp::from_unix_secs(T0 + first_probe);
    let spray_start = Timestamp::from_unix_secs(T0 + start);
    eprintln!(
        "first probe {first_probe}, first_seen {}, detected {}",
        c.first_seen, c.detected_at
    );
    assert!(
        c.detected_at >= spray_start,
        "probing alone raised the spray"
    );
    assert!(c.detected_at.secs_since(spray_start) <= 15 * 60);
    assert_eq!(
        c.first_seen, first_probe,
        "first_seen must reach back to the first probe"
    );
}

/// Probing loud enough to be flagged on its own (each probe address fails on a dozen accounts
/// in a few minutes: a small single-source campaign), weeks before a distributed spray in
/// which those addresses take part again. The spray links them: it names them among its
/// sources, says so, and its first sighting reaches back to the first probe.
#[test]
fn sources_flagged_for_probing_weeks_before_are_linked_to_the_spray() {
    let mut rng = Rng::new(7);
    let org = Org::new(500, &mut rng);
    let days = 22i64;
    let mut stream = org.traffic(0, days * 24, &mut rng);
    let proxies = proxy_addresses(300, &mut rng);
    // Probing: on days 2, 5 and 9, one proxy each fails on 12 accounts within ten minutes.
    let probe_days = [2i64, 5, 9];
    let mut first_probe = i64::MAX;
    for (p, d) in probe_days.iter().enumerate() {
        let base = d * 86_400 + 3 * 3600;
        for k in 0..12i64 {
            let secs = base + k * 50;
            first_probe = first_probe.min(secs);
            let account = account_name(rng.below(500) as usize);
            stream.push((
                ev(
                    secs,
                    &account,
                    &proxies[p],
                    Outcome::BadPassword,
                    Some(pwfp(&account, "probe")),
                ),
                Label::Attack,
            ));
        }
    }
    // The spray: day 21, 01:00, four rounds; the probe addresses take part from round 2.
    let start = 21 * 86_400 + 3600;
    for round in 0..4i64 {
        for u in 0..500usize {
            let secs = start + round * 3600 + rng.below(3600) as i64;
            let src = if round >= 1 && u % 50 < 3 {
                &proxies[u % 50]
            } else {
                &proxies[3 + rng.below(297) as usize]
            };
            let account = account_name(u);
            stream.push((
                ev(
                    secs,
                    &account,
                    src,
                    Outcome::BadPassword,
                    Some(pwfp(&account, &format!("Winter{round}"))),
                ),
                Label::Attack,
            ));
        }
    }
    sort(&mut stream);
    let mut engine = Engine::new(EngineConfig::default());
    for (e, _) in &stream {
        engine.observe(e);
    }
    let report = engine.report(InputSummary::default());
    let sprays: Vec<_> = report
        .campaigns
        .iter()
        .filter(|c| c.kind == CampaignKind::PasswordSpray)
        .collect();
    for c in &sprays {
        eprintln!("{} {} {} {}", c.id, c.first_seen, c.detected_at, c.summary);
    }
    let spray_start = Timestamp::from_unix_secs(T0 + start);
    let main: Vec<_> = sprays
        .iter()
        .filter(|c| c.detected_at >= spray_start)
        .collect();
    assert_eq!(
        main.len(),
        1,
        "one distributed spray: {:#?}",
        report.campaigns
    );
    let c = main[0];
    let earlier = sprays.len() - 1;
    assert!(earlier >= 1, "the probing was flagged on its own");
    assert_eq!(
        c.first_seen,
        Timestamp::from_unix_secs(T0 + first_probe),
        "first_seen must reach back to the first probe"
    );
    for p in &proxies[..3] {
        let ip: std::net::IpAddr = p.parse().unwrap();
        assert!(
            c.sources.iter().any(|s| s.contains(ip)),
            "probe address {p} is among the spray's sources"
        );
    }
    assert!(c.summary.contains("probing linked"), "{}", c.summary);
}
