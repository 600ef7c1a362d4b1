//! Classic brute force: one address, many failures on one account, quickly.

mod common;

use common::ev;
use portcullis_core::Outcome;
use portcullis_core::report::{CampaignKind, InputSummary};
use portcullis_engine::{Action, Engine, EngineConfig};

#[test]
fn brute_force_source_is_flagged_and_denied() {
    let mut engine = Engine::new(EngineConfig::default());
    // A real user logs in from home first.
    engine.observe(&ev(
        0,
        "alice@example.org",
        "198.51.100.7",
        Outcome::Success,
        None,
    ));
    let mut last = None;
    for i in 0..200u64 {
        let v = engine.observe(&ev(
            60 + i as i64,
            "alice@example.org",
            "203.0.113.66",
            Outcome::BadPassword,
            Some(i),
        ));
        last = Some(v);
    }
    assert_eq!(last.unwrap().action, Action::Deny);
    let report = engine.report(InputSummary::default());
    assert!(
        report
            .flagged_sources
            .iter()
            .any(|f| f.source.to_string() == "203.0.113.66")
    );
    assert!(
        report
            .campaigns
            .iter()
            .any(|c| c.kind == CampaignKind::BruteForce)
    );
    // Alice, from her familiar address, is never denied because of the attack.
    let v = engine.observe(&ev(
        400,
        "alice@example.org",
        "198.51.100.7",
        Outcome::Success,
        None,
    ));
    assert_eq!(v.action, Action::Allow);
    assert_eq!(report.verdicts.values().sum::<u64>(), 201);
}
