//! Provisional successes: an early lucky guess from a spray address, before anything marks
//! the address as the spray's, becomes a compromise once the address is flagged — however it
//! is flagged — and benign successes from new addresses during the spray never do.

mod common;

use common::*;
use portcullis_core::Outcome;
use portcullis_core::report::InputSummary;
use portcullis_engine::{Engine, EngineConfig};
use std::collections::BTreeSet;

fn spray_night(rng: &mut Rng, org_users: usize) -> (Stream, Vec<String>, i64) {
    let org = Org::new(org_users, rng);
    let mut stream = org.traffic(0, 2 * 24, rng);
    let proxies = proxy_addresses(300, rng);
    let start = 86_400 + 3600;
    for round in 0..4i64 {
        for u in 0..org_users {
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
    (stream, proxies, start)
}

#[test]
fn an_early_lucky_guess_is_a_compromise_once_its_address_is_flagged_by_a_later_success() {
    let mut rng = Rng::new(31);
    let (mut stream, _, start) = spray_night(&mut rng, 500);
    // A fresh address, outside the proxy pool: 40 minutes into the spray it guesses
    // account 7's password at its first try; ten minutes later it fails once on account 8,
    // then guesses account 9 (which the spray has targeted): that second success is
    // evidence, flags the address, and must bring the first one with it.
    let x = "45.77.12.34";
    let lucky = account_name(7);
    let second = account_name(9);
    stream.push((
        ev(start + 2400, &lucky, x, Outcome::Success, None),
        Label::Attack,
    ));
    stream.push((
        ev(
            start + 3000,
            &account_name(8),
            x,
            Outcome::BadPassword,
            Some(1),
        ),
        Label::Attack,
    ));
    stream.push((
        ev(start + 3100, &second, x, Outcome::Success, None),
        Label::Attack,
    ));
    sort(&mut stream);
    let mut engine = Engine::new(EngineConfig::default());
    for (e, _) in &stream {
        engine.observe(e);
    }
    let report = engine.report(InputSummary::default());
    let compromised: BTreeSet<&str> = report
        .compromised_accounts
        .iter()
        .map(|c| c.account.as_str())
        .collect();
    eprintln!("{:#?}", report.compromised_accounts);
    assert!(compromised.contains(second.as_str()), "the evident success");
    assert!(
        compromised.contains(lucky.as_str()),
        "the early lucky guess"
    );
    assert_eq!(
        compromised.len(),
        2,
        "benign successes from new addresses during the spray stay benign"
    );
}

#[test]
fn a_lucky_guess_in_the_minutes_before_the_spray_is_raised_is_found_too() {
    let mut rng = Rng::new(32);
    let (mut stream, _, start) = spray_night(&mut rng, 500);
    // Five seconds into the spray — minutes before the population signal can fire — a fresh
    // address guesses account 7's password at its first try (a credential-stuffing bot's
    // reused password). It then fails on a dozen other accounts over the next hour and is
    // flagged by the single-source detector: its earlier success is the compromise.
    let x = "45.77.12.34";
    let lucky = account_name(7);
    stream.push((
        ev(start + 5, &lucky, x, Outcome::Success, None),
        Label::Attack,
    ));
    for k in 0..12i64 {
        let victim = account_name(100 + k as usize);
        stream.push((
            ev(
                start + 300 + 300 * k,
                &victim,
                x,
                Outcome::BadPassword,
                Some(pwfp(&victim, "leaked")),
            ),
            Label::Attack,
        ));
    }
    sort(&mut stream);
    let mut engine = Engine::new(EngineConfig::default());
    for (e, _) in &stream {
        engine.observe(e);
    }
    let report = engine.report(InputSummary::default());
    let spray = report
        .campaigns
        .iter()
        .find(|c| c.kind == portcullis_core::report::CampaignKind::PasswordSpray)
        .expect("the spray is raised");
    assert!(
        spray.detected_at.unix_secs() > T0 + start + 5,
        "raised after the lucky guess"
    );
    let ip: std::net::IpAddr = x.parse().unwrap();
    assert!(report.flagged_sources.iter().any(|f| f.source.contains(ip)));
    let compromised: Vec<&str> = report
        .compromised_accounts
        .iter()
        .map(|c| c.account.as_str())
        .collect();
    assert_eq!(compromised, [lucky.as_str()], "{report:#?}");
}
