//! `eval` on small hand-made labels and reports whose scores are worked out by hand.

use portcullis_core::report::{
    Campaign, CampaignKind, CompromisedAccount, FlaggedSource, InputSummary, Report,
};
use portcullis_core::{Prefix, Timestamp};
use portcullis_sim::eval::{evaluate, render};
use portcullis_sim::labels::*;
use std::net::IpAddr;

fn t(s: &str) -> Timestamp {
    Timestamp::parse_rfc3339(s).unwrap()
}
fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn benign(addr: &str, kind: &str) -> BenignSource {
    BenignSource {
        address: ip(addr),
        kind: kind.into(),
        attempts: 10,
        failures: 1,
    }
}

fn attack_src(addr: &str, role: &str) -> AttackSource {
    AttackSource {
        address: ip(addr),
        roles: vec![role.into()],
        attempts: 3,
        successes: 0,
    }
}

fn labels(attack: Option<AttackLabels>) -> Labels {
    let sources = vec![
        benign("198.51.100.1", "office_nat"),
        benign("192.0.2.7", "home"),
        benign("203.0.113.200", "home"),
        benign("2001:db8:1::5", "home"),
    ];
    Labels {
        schema: LABELS_SCHEMA_V1.into(),
        scenario: if attack.is_some() {
            "parliament-2017"
        } else {
            "benign"
        }
        .into(),
        seed: 1,
        accounts: 100,
        days: 2,
        domain: "example.org".into(),
        format: "dovecot".into(),
        start: t("2017-06-22T00:00:00Z"),
        end: t("2017-06-24T00:00:00Z"),
        files: vec!["mail.log".into()],
        command: String::new(),
        attack,
        benign: BenignLabels {
            gateways: vec![ip("198.51.100.1")],
            sources,
            expiry_wave: None,
            password_changes: 0,
            forgotten_passwords: 0,
            typos: 0,
            stale_device_failures: 0,
            travellers: 0,
            forgotten_devices: 0,
            forgotten_device_failures: 0,
        },
        counts: Counts::default(),
    }
}

fn spray_labels() -> Labels {
    let mut sources: Vec<AttackSource> = (1..=5)
        .map(|i| attack_src(&format!("203.0.113.{i}"), "spray"))
        .collect();
    sources.push(attack_src("2001:db8:8000:1::9", "spray"));
    sources.push(attack_src("100.1.2.3", "reader"));
    labels(Some(AttackLabels {
        expected_kinds: vec![CampaignKind::PasswordSpray],
        detect_within_secs: 900,
        every_attempt_new_address: false,
        main_role: "spray".into(),
        first_probe: Some(t("2017-06-21T23:00:00Z")),
        first_linked_probe: Some(t("2017-06-22T03:00:00Z")),
        main_start: Some(t("2017-06-23T22:00:00Z")),
        main_end: Some(t("2017-06-23T23:00:00Z")),
        first_attempt: Some(t("2017-06-22T03:00:00Z")),
        last_attempt: Some(t("2017-06-23T23:30:00Z")),
        sources,
        networks: vec![],
        compromised: vec![Compromise {
            account: "alice@example.org".into(),
            at: t("2017-06-23T22:10:00Z"),
            source: ip("203.0.113.4"),
        }],
        attacker_logins: vec![],
        weak_accounts: vec!["alice@example.org".into()],
        targeted_accounts: vec![],
        targeted_unknown_accounts: 0,
        passwords_tried: 1,
    }))
}

fn campaign(id: &str, kind: CampaignKind, detected: &str, sources: &[&str]) -> Campaign {
    Campaign {
        id: id.into(),
        kind,
        first_seen: t("2017-06-22T03:00:00Z"),
        detected_at: t(detected),
        last_seen: t("2017-06-23T23:00:00Z"),
        sources: sources
            .iter()
            .map(|s| s.parse::<Prefix>().unwrap())
            .collect(),
        accounts_targeted: 100,
        attempts: 500,
        summary: String::new(),
        accounts: vec![],
    }
}

fn compromised(account: &str) -> CompromisedAccount {
    CompromisedAccount {
        account: account.into(),
        at: t("2017-06-23T22:10:00Z"),
        source: None,
        campaign: Some("c1".into()),
        evidence: String::new(),
    }
}

#[test]
fn a_flagged_prefix_covers_attack_and_benign_addresses_alike() {
    let l = spray_labels();
    let mut r = Report::new(InputSummary::default());
    r.campaigns.push(campaign(
        "c1",
        CampaignKind::PasswordSpray,
        "2017-06-23T22:10:00Z",
        &["203.0.113.0/24", "2001:db8:8000::/48"],
    ));
    r.flagged_sources.push(FlaggedSource {
        source: "100.1.2.3".parse().unwrap(),
        first_flagged: t("2017-06-24T01:00:00Z"),
        reason: "reader".into(),
        campaign: None,
    });
    // Flags nothing labelled.
    r.flagged_sources.push(FlaggedSource {
        source: "8.8.8.8".parse().unwrap(),
        first_flagged: t("2017-06-24T01:00:00Z"),
        reason: "x".into(),
        campaign: None,
    });
    r.compromised_accounts
        .push(compromised("Alice@Example.org"));
    r.compromised_accounts.push(compromised("bob@example.org"));
    let e = evaluate(&l, &r);

    let d = e.detection.as_ref().unwrap();
    assert_eq!(d.delay_secs, Some(600));
    assert_eq!(d.campaign.as_deref(), Some("c1"));
    assert_eq!(d.links_probing, Some(true));

    let s = &e.sources;
    assert_eq!(s.flagged, 4);
    assert_eq!(s.flagged_unlabelled, 1);
    assert_eq!(s.flagged_benign_only, 0);
    assert_eq!((s.attack_covered, s.attack_addresses), (7, 7));
    assert_eq!((s.main_covered, s.main_addresses), (6, 6));
    // 203.0.113.200 is a benign home inside the flagged /24.
    assert_eq!((s.benign_flagged, s.benign_addresses), (1, 4));
    assert!((s.precision - 7.0 / 8.0).abs() < 1e-9);
    assert!(s.gateways_flagged.is_empty());

    let c = &e.compromised;
    assert_eq!((c.truth, c.reported, c.correct), (1, 2, 1));
    assert_eq!(c.recall, 1.0);
    assert_eq!(c.precision, 0.5);
    assert_eq!(c.wrong, vec!["bob@example.org".to_string()]);

    let failed: Vec<&str> = e
        .checks
        .iter()
        .filter(|c| !c.pass)
        .map(|c| c.name.as_str())
        .collect();
    assert_eq!(failed, ["compromised_precision", "benign_flagged"]);
    assert!(!e.pass);
    let text = render(&e);
    assert!(text.contains("600 s after"), "{text}");
    assert!(text.contains("MISS"), "{text}");
}

#[test]
fn a_perfect_report_passes_and_a_slow_one_does_not() {
    let l = spray_labels();
    let mut r = Report::new(InputSummary::default());
    let mut hosts: Vec<&str> = vec![
        "203.0.113.1",
        "203.0.113.2",
        "203.0.113.3",
        "203.0.113.4",
        "203.0.113.5",
        "2001:db8:8000:1::9",
    ];
    r.campaigns.push(campaign(
        "c1",
        CampaignKind::PasswordSpray,
        "2017-06-23T22:15:00Z",
        &hosts,
    ));
    r.compromised_accounts
        .push(compromised("alice@example.org"));
    let e = evaluate(&l, &r);
    assert!(e.pass, "{}", render(&e));
    assert_eq!(e.sources.main_coverage, 1.0);
    assert_eq!(e.sources.recall, 6.0 / 7.0);
    assert_eq!(e.sources.benign_flagged, 0);

    // One second too late; and 5 of 6 spray addresses is 83 % < 90 %.
    hosts.pop();
    r.campaigns[0] = campaign(
        "c1",
        CampaignKind::PasswordSpray,
        "2017-06-23T22:15:01Z",
        &hosts,
    );
    let e = evaluate(&l, &r);
    let failed: Vec<&str> = e
        .checks
        .iter()
        .filter(|c| !c.pass)
        .map(|c| c.name.as_str())
        .collect();
    assert_eq!(failed, ["detection_delay", "attack_coverage"]);
}

#[test]
fn only_campaigns_of_the_expected_kind_overlapping_the_attack_count() {
    let l = spray_labels();
    let mut r = Report::new(InputSummary::default());
    r.campaigns.push(campaign(
        "c1",
        CampaignKind::BruteForce,
        "2017-06-23T22:01:00Z",
        &[],
    ));
    let mut old = campaign(
        "c2",
        CampaignKind::PasswordSpray,
        "2017-06-22T01:30:00Z",
        &[],
    );
    old.first_seen = t("2017-06-22T01:00:00Z");
    old.last_seen = t("2017-06-22T02:00:00Z"); // over before the first probe
    r.campaigns.push(old);
    let e = evaluate(&l, &r);
    // c2 ended before the first probe and flags nothing of it; c1 overlaps the attack in time.
    assert_eq!(e.unrelated_campaigns, vec!["c2 password_spray".to_string()]);
    let d = e.detection.unwrap();
    assert_eq!(d.delay_secs, None);
    assert!(!e.pass);
    assert_eq!(e.campaigns.get("brute_force"), Some(&1));
    // No compromise named: recall 0.
    assert_eq!(e.compromised.recall, 0.0);
}

#[test]
fn benign_months_must_have_no_spray_and_spare_gateways() {
    let l = labels(None);
    let r = Report::new(InputSummary::default());
    let e = evaluate(&l, &r);
    assert!(e.pass, "{}", render(&e));
    assert!(e.detection.is_none());

    let mut r = Report::new(InputSummary::default());
    r.campaigns.push(campaign(
        "c1",
        CampaignKind::PasswordSpray,
        "2017-06-23T22:01:00Z",
        &["198.51.100.0/24"],
    ));
    let e = evaluate(&l, &r);
    let failed: Vec<&str> = e
        .checks
        .iter()
        .filter(|c| !c.pass)
        .map(|c| c.name.as_str())
        .collect();
    assert_eq!(
        failed,
        ["no_spray_in_benign", "benign_flagged", "gateways_flagged"]
    );
    assert_eq!(e.sources.gateways_flagged, vec![ip("198.51.100.1")]);
    assert_eq!(e.unrelated_campaigns, vec!["c1 password_spray".to_string()]);
    // The office gateway is 1 of 4 benign addresses.
    assert_eq!(e.sources.benign_flagged, 1);
}

#[test]
fn evaluation_round_trips_as_json() {
    let e = evaluate(&spray_labels(), &Report::new(InputSummary::default()));
    let j = serde_json::to_string(&e).unwrap();
    assert!(j.contains(r#""schema":"portcullis.sim-eval/v1""#));
    let back: portcullis_sim::eval::Evaluation = serde_json::from_str(&j).unwrap();
    assert_eq!(back, e);
}

#[test]
fn probing_counts_as_linked_only_from_the_first_probe_that_shares_a_source() {
    let mut l = spray_labels();
    let mut r = Report::new(InputSummary::default());
    r.campaigns.push(campaign(
        "c1",
        CampaignKind::PasswordSpray,
        "2017-06-23T22:05:00Z",
        &[
            "203.0.113.1",
            "203.0.113.2",
            "203.0.113.3",
            "203.0.113.4",
            "203.0.113.5",
            "2001:db8:8000::/48",
        ],
    ));
    r.compromised_accounts
        .push(compromised("alice@example.org"));
    // first_seen (06-22 03:00) is the first shared probe, 4 h after the very first probe
    // (from an address that never came back): linked.
    let e = evaluate(&l, &r);
    assert_eq!(e.detection.as_ref().unwrap().links_probing, Some(true));
    assert!(e.pass, "{}", render(&e));
    // A campaign that starts two hours after the first shared probe does not reach back.
    r.campaigns[0].first_seen = t("2017-06-22T05:00:00Z");
    let e = evaluate(&l, &r);
    assert_eq!(e.detection.as_ref().unwrap().links_probing, Some(false));
    let failed: Vec<&str> = e
        .checks
        .iter()
        .filter(|c| !c.pass)
        .map(|c| c.name.as_str())
        .collect();
    assert_eq!(failed, ["probing_linked"]);
    // No probe shares anything with the attack: nothing to link, no check.
    l.attack.as_mut().unwrap().first_linked_probe = None;
    let e = evaluate(&l, &r);
    assert_eq!(e.detection.as_ref().unwrap().links_probing, None);
    assert!(e.checks.iter().all(|c| c.name != "probing_linked"));
}
