//! A realistic synthetic incident, for demos (`portcullis report --demo`), the documentation's
//! screenshots, the dashboard's mock API and tests.
//!
//! Modelled on the June 2017 UK Parliament attack: weeks of sparse probing, then an overnight
//! spray from about a thousand rotating sources against thousands of accounts, a few of which
//! fall; alongside, an ordinary brute force and a user enumeration. All addresses are from the
//! documentation ranges (RFC 5737, RFC 3849); all names are invented. Deterministic.

use crate::actions::ActionTaken;
use crate::incident::TimeBucket;
use portcullis_core::report::{
    AccountAtRisk, Campaign, CampaignKind, CompromisedAccount, FlaggedSource, InputSummary, Report,
};
use portcullis_core::{Outcome, Prefix, Timestamp};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

fn t(s: &str) -> Timestamp {
    Timestamp::parse_rfc3339(s).unwrap_or_default()
}

/// A small deterministic generator (64-bit LCG, high bits).
struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

const FIRST: [&str; 16] = [
    "alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy", "mallory",
    "niaj", "olivia", "peggy", "rupert", "sybil",
];
const LAST: [&str; 12] = [
    "smith", "jones", "taylor", "brown", "williams", "wilson", "johnson", "davies", "robinson",
    "wright", "thompson", "evans",
];

fn account(i: u64) -> String {
    format!(
        "{}.{}{}@example.org",
        FIRST[(i % 16) as usize],
        LAST[((i / 16) % 12) as usize],
        i / 192
    )
}

/// Spray sources: 640 IPv4 hosts from the three documentation /24s and 380 IPv6 /64s.
fn spray_sources(rng: &mut Lcg) -> Vec<Prefix> {
    let mut out = Vec::new();
    for (k, base) in [[192, 0, 2], [198, 51, 100], [203, 0, 113]]
        .iter()
        .enumerate()
    {
        let n = if k == 2 { 140 } else { 250 };
        for h in 0..n {
            let ip = Ipv4Addr::new(base[0], base[1], base[2], (h + 3) as u8);
            out.push(Prefix::host(IpAddr::V4(ip)));
        }
    }
    for _ in 0..380 {
        let ip = Ipv6Addr::new(
            0x2001,
            0xdb8,
            rng.below(0x1000) as u16,
            rng.below(0x10000) as u16,
            0,
            0,
            0,
            0,
        );
        out.push(Prefix::new(IpAddr::V6(ip), 64));
    }
    out.sort();
    out.dedup();
    out
}

/// The incident: a report v1 with an hourly timeline.
pub fn parliament_like() -> Report {
    let mut rng = Lcg(20_170_623);
    let probe_start = t("2017-06-02T03:14:00Z");
    let spray_start = t("2017-06-23T22:40:00Z");
    let detected = t("2017-06-23T23:31:00Z");
    let spray_end = t("2017-06-25T06:12:00Z");
    let first_event = t("2017-06-01T00:00:00Z");
    let last_event = t("2017-06-25T23:59:00Z");

    let sources = spray_sources(&mut rng);
    let targeted: Vec<String> = (0..500u64).map(|i| account(i * 17 + 3)).collect();
    let mut c1_accounts = targeted.clone();
    c1_accounts.push("admin'--".into());
    let mut campaigns = vec![
        Campaign {
            id: "c1".into(),
            kind: CampaignKind::PasswordSpray,
            first_seen: probe_start,
            detected_at: detected,
            last_seen: spray_end,
            sources: sources.clone(),
            accounts_targeted: 9_017,
            attempts: 0,
            summary: "About one wrong password an hour against each of 9,017 accounts, from 1,020 \
                      rotating residential addresses each trying a few times an hour; early sparse \
                      probes from the same networks since 2 June."
                .into(),
            accounts: c1_accounts,
        },
        Campaign {
            id: "c2".into(),
            kind: CampaignKind::BruteForce,
            first_seen: t("2017-06-20T10:02:11Z"),
            detected_at: t("2017-06-20T10:04:40Z"),
            last_seen: t("2017-06-20T11:31:05Z"),
            sources: vec!["203.0.113.66".parse().unwrap_or(sources[0])],
            accounts_targeted: 3,
            attempts: 4_812,
            summary: "4,812 failures from one address against three mailboxes in 90 minutes."
                .into(),
            accounts: vec![
                "postmaster@example.org".into(),
                "info@example.org".into(),
                "admin@example.org".into(),
            ],
        },
        Campaign {
            id: "c3".into(),
            kind: CampaignKind::UserEnumeration,
            first_seen: t("2017-06-24T02:05:00Z"),
            detected_at: t("2017-06-24T02:19:00Z"),
            last_seen: t("2017-06-24T04:48:00Z"),
            sources: vec!["2001:db8:bad::/48".parse().unwrap_or(sources[0])],
            accounts_targeted: 1_206,
            attempts: 1_206,
            summary: "1,206 account names that do not exist, tried once each from one IPv6 site."
                .into(),
            accounts: vec![],
        },
    ];

    // Hourly series: ordinary diurnal traffic, sparse probes, the brute force, the spray.
    let mut buckets = Vec::new();
    let mut spray_attempts = 0u64;
    let mut hour = first_event;
    while hour <= last_event {
        let h = hour
            .to_chrono()
            .format("%H")
            .to_string()
            .parse::<i64>()
            .unwrap_or(0);
        let day_factor = if (7..19).contains(&h) { 1.0 } else { 0.25 };
        let base = (1_800.0 * day_factor) as u64 + rng.below(300);
        let mut failures = base * 3 / 100 + rng.below(20);
        let mut unfamiliar = failures / 6;
        let mut attempts = base;
        if hour >= probe_start && hour < spray_start {
            let p = 2 + rng.below(9);
            spray_attempts += p;
            attempts += p;
            failures += p;
            unfamiliar += p;
        }
        if hour >= t("2017-06-20T10:00:00Z") && hour < t("2017-06-20T11:40:00Z") {
            let b = if hour < t("2017-06-20T11:00:00Z") {
                3_300
            } else {
                1_512
            };
            attempts += b;
            failures += b;
            unfamiliar += b;
        }
        if hour >= t("2017-06-24T02:00:00Z") && hour < t("2017-06-24T05:00:00Z") {
            attempts += 402;
            failures += 402;
            unfamiliar += 402;
        }
        if hour >= t("2017-06-23T22:00:00Z") && hour <= spray_end {
            let ramp = (hour.secs_since(spray_start) as f64 / 3600.0 + 1.0).clamp(0.3, 3.0) / 3.0;
            let s = (8_600.0 * ramp) as u64 + rng.below(900);
            spray_attempts += s;
            attempts += s;
            failures += s - s / 1_000;
            unfamiliar += s - s / 1_000;
        }
        buckets.push(TimeBucket {
            start: hour,
            width_secs: 3600,
            attempts,
            failures,
            unfamiliar_failures: unfamiliar,
        });
        hour = hour.plus_secs(3600);
    }
    campaigns[0].attempts = spray_attempts;

    let mut compromised = Vec::new();
    for k in 0..27u64 {
        let at = t("2017-06-24T00:07:00Z").plus_secs((k * 733 + rng.below(600)) as i64);
        let src = sources[rng.below(sources.len() as u64) as usize];
        compromised.push(CompromisedAccount {
            account: targeted[(k * 13 % 500) as usize].clone(),
            at,
            source: Some(src),
            campaign: Some("c1".into()),
            evidence: format!(
                "successful IMAP login from {src}, a spray source never seen for this account, after 1 failure"
            ),
        });
    }
    let at_risk = (0..64u64)
        .map(|k| AccountAtRisk {
            account: targeted[((k * 7 + 1) % 500) as usize].clone(),
            since: detected.plus_secs((k * 97) as i64),
            reason: "targeted by the spray; a guess matched a password from a breach corpus \
                     list"
                .into(),
            campaign: Some("c1".into()),
        })
        .collect();
    let mut flagged: Vec<FlaggedSource> = sources
        .iter()
        .enumerate()
        .map(|(i, s)| FlaggedSource {
            source: *s,
            first_flagged: detected.plus_secs((i as i64 * 37) % 20_000),
            reason: "failures against many accounts it never logged in to".into(),
            campaign: Some("c1".into()),
        })
        .collect();
    flagged.push(FlaggedSource {
        source: "203.0.113.66".parse().unwrap_or(sources[0]),
        first_flagged: t("2017-06-20T10:04:40Z"),
        reason: "4,812 failures in 90 minutes".into(),
        campaign: Some("c2".into()),
    });

    let events: u64 = buckets.iter().map(|b| b.attempts).sum();
    let failures: u64 = buckets.iter().map(|b| b.failures).sum();
    let mut input = InputSummary {
        files: vec![
            "/var/log/dovecot/dovecot.log".into(),
            "/var/log/dovecot/dovecot.log.1.gz".into(),
        ],
        lines: events + events / 3,
        events,
        skipped: events / 3,
        first_event: Some(first_event),
        last_event: Some(last_event),
        ..InputSummary::default()
    };
    input
        .skipped_by_reason
        .insert("not_an_auth_event".into(), events / 3 - 17);
    input.skipped_by_reason.insert("unparsable_time".into(), 17);
    input
        .events_by_outcome
        .insert(Outcome::Success, events - failures);
    input
        .events_by_outcome
        .insert(Outcome::BadPassword, failures - 1_206 - 310);
    input
        .events_by_outcome
        .insert(Outcome::UnknownAccount, 1_206);
    input.events_by_outcome.insert(Outcome::Locked, 310);
    let mut report = Report::new(input);
    report.generator = "portcullis 0.1.0".into();
    report
        .verdicts
        .insert("allow".into(), events - failures + failures / 10);
    report.verdicts.insert("tarpit".into(), failures / 3);
    report
        .verdicts
        .insert("deny".into(), failures - failures / 10 - failures / 3 - 900);
    report.verdicts.insert("internal_only".into(), 900);
    report.campaigns = campaigns;
    report.compromised_accounts = compromised;
    report.accounts_at_risk = at_risk;
    report.flagged_sources = flagged;
    report.timeline = buckets;
    report
}

/// The actions an admin took during the sample incident (as an audit log would record them).
pub fn parliament_like_actions() -> Vec<ActionTaken> {
    let a = |at: &str, action: &str, target: &str, actor: &str, until: Option<&str>, note: &str| {
        ActionTaken {
            at: Some(t(at)),
            action: action.into(),
            target: target.into(),
            actor: Some(actor.into()),
            until: until.map(t),
            note: Some(note.into()),
        }
    };
    vec![
        a(
            "2017-06-20T10:06:00Z",
            "block",
            "203.0.113.66",
            "ops-oncall",
            Some("2017-06-27T10:06:00Z"),
            "brute force c2",
        ),
        a(
            "2017-06-23T23:48:00Z",
            "shields_up",
            "imap, smtp, activesync",
            "ops-oncall",
            None,
            "spray c1: remote access only from familiar sources",
        ),
        a(
            "2017-06-24T01:15:00Z",
            "protect",
            "27 compromised accounts",
            "security-team",
            None,
            "must_reset",
        ),
        a(
            "2017-06-24T08:30:00Z",
            "password reset",
            "27 compromised accounts",
            "helpdesk",
            None,
            "owners contacted by phone",
        ),
        a(
            "2017-06-25T09:00:00Z",
            "shields_down",
            "",
            "security-team",
            None,
            "spray ended at 06:12",
        ),
    ]
}

/// The sample as report JSON, as `analyze` would write it.
pub fn parliament_like_json() -> serde_json::Value {
    serde_json::to_value(parliament_like()).unwrap_or_default()
}
