//! Campaign ids continue after a restart (`serve` passes one more than the highest id its
//! store holds), so `c1` never names two different attacks.

mod common;

use common::*;
use portcullis_core::Outcome;
use portcullis_core::report::InputSummary;
use portcullis_engine::{Engine, EngineConfig, Finding};

/// 25 failures (the same wrong password: no account guessing) in two minutes from `ip`: a
/// brute-force campaign.
fn brute_force(engine: &mut Engine, start: i64, ip: &str) {
    for i in 0..25 {
        engine.observe(&ev(
            start + i * 5,
            "admin",
            ip,
            Outcome::BadPassword,
            Some(1),
        ));
    }
}

#[test]
fn campaign_ids_resume_where_the_store_left_off() {
    let mut engine = Engine::new(EngineConfig::default());
    assert_eq!(engine.next_campaign_id(), 1);
    engine.resume_campaign_ids(42);
    assert_eq!(engine.next_campaign_id(), 42);
    brute_force(&mut engine, 0, "203.0.113.9");
    let opened: Vec<String> = engine
        .take_findings()
        .into_iter()
        .filter_map(|f| match f {
            Finding::CampaignOpened(c) => Some(c.id),
            _ => None,
        })
        .collect();
    assert_eq!(opened, ["c42"]);
    // Ids never go back: a lower value is ignored.
    engine.resume_campaign_ids(7);
    assert_eq!(engine.next_campaign_id(), 43);
    // A day later (the first campaign is over), another source: the next id.
    brute_force(&mut engine, 86_400, "198.18.7.7");
    let report = engine.report(InputSummary::default());
    let ids: Vec<&str> = report.campaigns.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(ids, ["c42", "c43"]);
    // Flags name the campaign by its id too.
    assert!(
        report
            .flagged_sources
            .iter()
            .all(|f| matches!(f.campaign.as_deref(), Some("c42" | "c43"))),
        "{:#?}",
        report.flagged_sources
    );
    // Resuming after campaigns exist moves only the ids still to come.
    engine.resume_campaign_ids(100);
    brute_force(&mut engine, 2 * 86_400, "198.18.9.9");
    let report = engine.report(InputSummary::default());
    let ids: Vec<&str> = report.campaigns.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(ids, ["c42", "c43", "c100"]);
}
