//! The incident report and indicator exports, end to end on realistic reports: attacker-chosen
//! text is escaped everywhere, the CSV round-trips through a CSV reader, and the STIX bundle has
//! every property STIX 2.1 requires for the object types emitted, with stable ids.

use portcullis_core::report::{
    AccountAtRisk, Campaign, CampaignKind, CompromisedAccount, FlaggedSource, InputSummary, Report,
};
use portcullis_core::{Outcome, Prefix, Timestamp};
use portcullis_report::actions::parse_audit_log;
use portcullis_report::{incident, indicators, sample, stix};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

const EVIL: &str = "<script>alert('pwned')</script>";
const EVIL_IMG: &str = "\"><img src=x onerror=alert(1)>";

fn t(s: &str) -> Timestamp {
    Timestamp::parse_rfc3339(s).unwrap()
}

fn p(s: &str) -> Prefix {
    s.parse().unwrap()
}

/// A small spray with hostile account names, reasons and evidence, as a log could produce.
fn hostile_report() -> Report {
    let mut input = InputSummary {
        files: vec![format!("/var/log/{EVIL}.log")],
        lines: 1200,
        events: 1000,
        skipped: 200,
        first_event: Some(t("2017-06-23T20:00:00Z")),
        last_event: Some(t("2017-06-24T08:00:00Z")),
        ..Default::default()
    };
    input.skipped_by_reason.insert(EVIL.into(), 200);
    input.events_by_outcome.insert(Outcome::Success, 700);
    input.events_by_outcome.insert(Outcome::BadPassword, 300);
    let mut r = Report::new(input);
    r.verdicts.insert("allow".into(), 800);
    r.verdicts.insert("deny".into(), 200);
    r.campaigns.push(Campaign {
        id: "c1".into(),
        kind: CampaignKind::PasswordSpray,
        first_seen: t("2017-06-23T21:00:00Z"),
        detected_at: t("2017-06-23T22:30:00Z"),
        last_seen: t("2017-06-24T06:00:00Z"),
        sources: vec![p("198.51.100.7"), p("203.0.113.0/24"), p("2001:db8:1::/48")],
        accounts_targeted: 250,
        attempts: 290,
        summary: format!("spray incl. {EVIL}"),
        accounts: vec![EVIL.into(), EVIL_IMG.into(), "bob@example.org".into()],
    });
    r.compromised_accounts.push(CompromisedAccount {
        account: EVIL.into(),
        at: t("2017-06-24T01:00:00Z"),
        source: Some(p("198.51.100.7")),
        campaign: Some("c1".into()),
        evidence: EVIL_IMG.into(),
    });
    r.accounts_at_risk.push(AccountAtRisk {
        account: EVIL_IMG.into(),
        since: t("2017-06-23T23:00:00Z"),
        reason: EVIL.into(),
        campaign: Some("c1".into()),
    });
    r.flagged_sources.push(FlaggedSource {
        source: p("198.51.100.7"),
        first_flagged: t("2017-06-23T22:30:00Z"),
        reason: format!("=cmd|' /C calc'!A0, \"quoted\"\nand {EVIL}"),
        campaign: Some("c1".into()),
    });
    r.flagged_sources.push(FlaggedSource {
        source: p("192.0.2.99"),
        first_flagged: t("2017-06-24T02:00:00Z"),
        reason: "lone brute force".into(),
        campaign: None,
    });
    r
}

#[test]
fn attacker_controlled_text_never_appears_raw_in_html() {
    let r = hostile_report();
    let log = parse_audit_log(&format!(
        r#"[{{"at":"2017-06-24T02:00:00Z","actor":"{a}","action":{{"type":"protect","account":"{a}","mode":"must_reset","at":"2017-06-24T02:00:00Z"}}}}]"#,
        a = "<script>x</script>"
    ))
    .unwrap();
    let opts = incident::Options {
        title: Some(format!("Incident {EVIL}")),
        actions: log.actions,
        ..Default::default()
    };
    let inds = indicators::collect(&r);
    let html = incident::render(&r, &inds, &opts);
    let lower = html.to_lowercase();
    assert!(!lower.contains("<script"), "raw <script> in the report");
    assert!(!lower.contains("<img"), "raw <img> in the report");
    // The only `onerror` left is inside escaped text, never after a raw quote or tag.
    assert_eq!(
        lower.matches("onerror").count(),
        lower.matches("&lt;img src=x onerror").count(),
        "attribute injection survived"
    );
    assert!(!html.contains("\"><img"));
    // …but the names are there, escaped, for the reader.
    assert!(html.contains("&lt;script&gt;alert(&#39;pwned&#39;)&lt;/script&gt;"));
    assert!(html.contains("&quot;&gt;&lt;img src=x onerror=alert(1)&gt;"));
    // The report is one file: no external fetches, no script.
    for needle in ["src=\"http", "href=\"http", "<link", "@import", "url("] {
        assert!(!lower.contains(needle), "external reference {needle:?}");
    }
    assert!(html.contains("Content-Security-Policy"));
}

#[test]
fn summary_states_what_happened_in_plain_words() {
    let r = hostile_report();
    let s = incident::summary_sentences(&r).join(" ");
    assert!(
        s.contains("A password spray against 250 accounts from 1 address and 2 networks began on Fri 23 Jun 2017, 21:00 UTC"),
        "{s}"
    );
    assert!(
        s.contains("detected on Fri 23 Jun 2017, 22:30 UTC, 1 h 30 min after the first attempt"),
        "{s}"
    );
    assert!(s.contains("1 account fell"), "{s}");
    assert!(s.contains("1 more account is under attack"), "{s}");

    let quiet = Report::new(InputSummary {
        events: 42,
        ..Default::default()
    });
    let s = incident::summary_sentences(&quiet).join(" ");
    assert!(
        s.starts_with("No attack campaign was found in the 42 login attempts read"),
        "{s}"
    );
    assert!(s.contains("No account is known to have fallen"), "{s}");
}

#[test]
fn sample_incident_renders_every_section_with_charts() {
    let r = sample::parliament_like();
    let opts = incident::Options {
        actions: sample::parliament_like_actions(),
        ..Default::default()
    };
    let inds = indicators::collect(&r);
    let html = incident::render(&r, &inds, &opts);
    for id in [
        "summary",
        "timeline",
        "attempts",
        "campaigns",
        "sources",
        "targeted",
        "compromised",
        "at-risk",
        "actions",
        "input",
        "appendix",
    ] {
        assert!(
            html.contains(&format!("<section id=\"{id}\"")),
            "missing section {id}"
        );
    }
    assert!(html.matches("<svg class=\"chart\"").count() >= 4);
    // The attempts chart draws bars from the time series (one per non-empty layer per hour).
    let attempts = section(&html, "attempts");
    assert!(attempts.matches("<rect").count() > 500, "too few bars");
    assert!(!attempts.contains("Estimated"));
    // Long lists are capped.
    let targeted = section(&html, "targeted");
    assert!(
        targeted.contains("Showing 400 of 9,017 accounts (the report names only some)"),
        "{}",
        &targeted[..300.min(targeted.len())]
    );
    let sources = section(&html, "sources");
    let distinct: BTreeSet<_> = inds.iter().map(|i| i.source).collect();
    assert!(distinct.len() > 1000);
    let note = format!(
        "Showing 200 of {} sources",
        portcullis_report::fmt::count(distinct.len() as u64)
    );
    assert!(sources.contains(&note), "{note}");
    // Networks are ranked by how many sources they hold: the three documentation /24s lead.
    let first_rows: Vec<&str> = sources
        .match_indices("<tr><td class=\"mono\">")
        .take(3)
        .map(|(i, _)| &sources[i + 21..i + 40])
        .collect();
    assert!(
        first_rows[0].starts_with("192.0.2.0/24") || first_rows[0].starts_with("198.51.100.0/24"),
        "{first_rows:?}"
    );
    assert!(
        sources.contains("203.0.113.0/24</td><td class=\"n\">140</td>"),
        "distinct sources: c2's brute forcer 203.0.113.66 is also one of c1's 140"
    );
    assert!(html.contains("27 accounts fell"));
}

#[test]
fn without_a_time_series_the_chart_is_an_estimate_and_says_so() {
    let r = hostile_report();
    let inds = indicators::collect(&r);
    let html = incident::render(&r, &inds, &incident::Options::default());
    let attempts = section(&html, "attempts");
    assert!(attempts.contains("Estimated"));
    assert!(attempts.contains("attempts per 5 min (estimated)"));
    assert!(attempts.contains("<rect"));
    let actions = section(&html, "actions");
    assert!(actions.contains("No audit log was given"));
    // An audit log that was read but holds nothing says so, and where it was.
    let opts = incident::Options {
        audit_source: Some("http://127.0.0.1:8301/v1/audit?x=<b>".into()),
        ..incident::Options::default()
    };
    let html = incident::render(&r, &inds, &opts);
    let actions = section(&html, "actions");
    assert!(
        actions.contains("records no action") && !actions.contains("No audit log was given"),
        "{actions}"
    );
    assert!(actions.contains("x=&lt;b&gt;"), "escaped: {actions}");
}

fn section<'a>(html: &'a str, id: &str) -> &'a str {
    let start = html.find(&format!("<section id=\"{id}\"")).unwrap();
    let end = html[start..].find("</section>").unwrap();
    &html[start..start + end]
}

#[test]
fn indicators_merge_sources_per_campaign() {
    let r = hostile_report();
    let inds = indicators::collect(&r);
    let rows: Vec<(String, &str, Option<&str>)> = inds
        .iter()
        .map(|i| (i.source.to_string(), i.kind.as_str(), i.campaign.as_deref()))
        .collect();
    assert_eq!(
        rows,
        [
            ("198.51.100.7".to_string(), "ipv4-addr", Some("c1")),
            ("203.0.113.0/24".to_string(), "ipv4-net", Some("c1")),
            ("2001:db8:1::/48".to_string(), "ipv6-net", Some("c1")),
            ("192.0.2.99".to_string(), "ipv4-addr", None),
        ]
    );
    let first = &inds[0];
    // Campaign source + flagged + source of a compromise: one row, three reasons.
    assert_eq!(first.reason.matches("; ").count(), 2, "{}", first.reason);
    assert_eq!(first.first_seen, t("2017-06-23T21:00:00Z"));
    assert_eq!(first.last_seen, t("2017-06-24T06:00:00Z"));
}

#[test]
fn csv_quotes_and_defuses_and_round_trips() {
    let r = hostile_report();
    let inds = indicators::collect(&r);
    let text = indicators::to_csv(&inds);
    assert!(text.starts_with("type,value,first_seen,last_seen,campaign,reason\n"));
    let mut rd = csv::Reader::from_reader(text.as_bytes());
    let rows: Vec<csv::StringRecord> = rd.records().map(|r| r.unwrap()).collect();
    assert_eq!(rows.len(), inds.len());
    for (row, ind) in rows.iter().zip(&inds) {
        assert_eq!(row.len(), 6);
        assert_eq!(&row[0], ind.kind.as_str());
        assert_eq!(&row[1], ind.source.to_string());
        assert_eq!(Timestamp::parse_rfc3339(&row[2]), Some(ind.first_seen));
        assert_eq!(Timestamp::parse_rfc3339(&row[3]), Some(ind.last_seen));
        assert_eq!(&row[4], ind.campaign.as_deref().unwrap_or(""));
    }
    // The reason with a comma, quotes and a newline survived quoting intact…
    assert!(rows[0][5].contains("=cmd|' /C calc'!A0, \"quoted\"\nand <script>"));
    // …and a reason that starts a formula is defused.
    let mut r2 = hostile_report();
    r2.campaigns.clear();
    r2.compromised_accounts.clear();
    r2.flagged_sources.truncate(1);
    r2.flagged_sources[0].campaign = None;
    r2.flagged_sources[0].reason = "=1+1".into();
    let inds2 = indicators::collect(&r2);
    let text2 = indicators::to_csv(&inds2);
    let mut rd = csv::Reader::from_reader(text2.as_bytes());
    let row = rd.records().next().unwrap().unwrap();
    assert_eq!(
        &row[5], "flagged: =1+1",
        "prefixed reasons need no defusing"
    );
    let mut ind = inds2[0].clone();
    ind.reason = "=1+1".into();
    let text = indicators::to_csv(&[ind]);
    assert!(text.contains(",'=1+1"), "{text}");
}

/// Checks a STIX 2.1 object's common required properties and returns its type.
fn check_common(o: &Value) -> String {
    let ty = o["type"].as_str().expect("type").to_string();
    assert_eq!(o["spec_version"], "2.1", "{ty} spec_version");
    let id = o["id"].as_str().expect("id");
    let (prefix, uuid) = id.split_once("--").expect("type--uuid");
    assert_eq!(prefix, ty);
    check_uuid(uuid);
    for k in ["created", "modified"] {
        check_time(o[k].as_str().unwrap_or_else(|| panic!("{ty} {k}")));
    }
    assert!(o["modified"].as_str() >= o["created"].as_str());
    if let Some(c) = o.get("created_by_ref") {
        assert!(c.as_str().unwrap().starts_with("identity--"));
    }
    ty
}

fn check_uuid(u: &str) {
    let parts: Vec<&str> = u.split('-').collect();
    assert_eq!(
        parts.iter().map(|p| p.len()).collect::<Vec<_>>(),
        [8, 4, 4, 4, 12],
        "{u}"
    );
    assert!(
        u.chars()
            .all(|c| c == '-' || c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
    );
    assert_eq!(&parts[2][..1], "5", "UUIDv5 expected: {u}");
    assert!(
        matches!(&parts[3][..1], "8" | "9" | "a" | "b"),
        "RFC 4122 variant: {u}"
    );
}

/// STIX timestamps: RFC 3339, UTC with a literal Z.
fn check_time(s: &str) {
    assert!(s.ends_with('Z'), "{s}");
    assert!(Timestamp::parse_rfc3339(s).is_some(), "{s}");
    assert_eq!(&s[10..11], "T", "{s}");
}

#[test]
fn stix_bundle_has_the_required_properties() {
    let r = hostile_report();
    let inds = indicators::collect(&r);
    let b = stix::bundle(
        &r,
        &inds,
        &stix::Producer {
            organisation: Some("Example Ltd".into()),
        },
    );
    assert_eq!(b["type"], "bundle");
    assert!(
        b.get("spec_version").is_none(),
        "bundles have no spec_version in 2.1"
    );
    check_uuid(b["id"].as_str().unwrap().strip_prefix("bundle--").unwrap());
    let objects = b["objects"].as_array().unwrap();
    let mut by_type: BTreeMap<String, Vec<&Value>> = BTreeMap::new();
    let mut ids = BTreeSet::new();
    for o in objects {
        let ty = check_common(o);
        assert!(ids.insert(o["id"].as_str().unwrap()), "duplicate id");
        by_type.entry(ty).or_default().push(o);
    }
    assert_eq!(by_type["identity"].len(), 1);
    let ident = by_type["identity"][0];
    assert_eq!(ident["name"], "Example Ltd");
    assert_eq!(ident["identity_class"], "organization");

    assert_eq!(by_type["campaign"].len(), 1);
    let camp = by_type["campaign"][0];
    assert!(camp["name"].as_str().unwrap().contains("c1"));
    assert!(camp["last_seen"].as_str() >= camp["first_seen"].as_str());

    let inds_json = &by_type["indicator"];
    assert_eq!(inds_json.len(), 4);
    let patterns: BTreeSet<&str> = inds_json
        .iter()
        .map(|i| i["pattern"].as_str().unwrap())
        .collect();
    assert_eq!(
        patterns,
        BTreeSet::from([
            "[ipv4-addr:value = '198.51.100.7']",
            "[ipv4-addr:value ISSUBSET '203.0.113.0/24']",
            "[ipv6-addr:value ISSUBSET '2001:db8:1::/48']",
            "[ipv4-addr:value = '192.0.2.99']",
        ])
    );
    for i in inds_json {
        assert_eq!(i["pattern_type"], "stix");
        check_time(i["valid_from"].as_str().unwrap());
        let until = i["valid_until"].as_str().unwrap();
        check_time(until);
        assert!(
            until > i["valid_from"].as_str().unwrap(),
            "valid_until must be later"
        );
        assert!(
            i["indicator_types"]
                .as_array()
                .is_some_and(|a| !a.is_empty())
        );
        assert_eq!(i["created_by_ref"], ident["id"]);
    }
    // One `indicates` relationship per indicator with a campaign, pointing at real objects.
    let rels = &by_type["relationship"];
    assert_eq!(rels.len(), 3);
    for rel in rels {
        assert_eq!(rel["relationship_type"], "indicates");
        let (s, tgt) = (
            rel["source_ref"].as_str().unwrap(),
            rel["target_ref"].as_str().unwrap(),
        );
        assert!(s.starts_with("indicator--") && ids.contains(s));
        assert!(tgt == camp["id"].as_str().unwrap());
    }
}

#[test]
fn stix_output_is_stable_across_runs_and_ids_follow_content() {
    let r = hostile_report();
    let inds = indicators::collect(&r);
    let prod = stix::Producer { organisation: None };
    let a = serde_json::to_string(&stix::bundle(&r, &inds, &prod)).unwrap();
    let b =
        serde_json::to_string(&stix::bundle(&r.clone(), &indicators::collect(&r), &prod)).unwrap();
    assert_eq!(a, b);
    // A different source gives a different indicator id; unrelated objects keep theirs.
    let mut r2 = r.clone();
    r2.campaigns[0].sources[0] = p("198.51.100.8");
    let c = stix::bundle(&r2, &indicators::collect(&r2), &prod);
    let ids_a: BTreeSet<String> = serde_json::from_str::<Value>(&a).unwrap()["objects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["id"].as_str().unwrap().to_string())
        .collect();
    let ids_c: BTreeSet<String> = c["objects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["id"].as_str().unwrap().to_string())
        .collect();
    assert_ne!(ids_a, ids_c);
    assert!(
        ids_a
            .intersection(&ids_c)
            .any(|i| i.starts_with("campaign--"))
    );
    assert!(
        ids_a
            .intersection(&ids_c)
            .any(|i| i.starts_with("identity--"))
    );
}

#[test]
fn writes_the_three_files() {
    let dir = tempfile::tempdir().unwrap();
    let r = sample::parliament_like();
    let w = portcullis_report::write_incident_bundle(
        dir.path(),
        &r,
        &incident::Options::default(),
        &stix::Producer { organisation: None },
    )
    .unwrap();
    let html = std::fs::read_to_string(&w.html).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>"));
    let csv_lines = std::fs::read_to_string(&w.csv).unwrap().lines().count();
    assert_eq!(csv_lines, w.indicators + 1);
    let stix: Value = serde_json::from_str(&std::fs::read_to_string(&w.stix).unwrap()).unwrap();
    assert_eq!(stix["type"], "bundle");
}

/// Odd but well-formed reports (empty names, detection before first sight, a campaign spanning
/// 1970 to 2100, huge counts, a zero-length campaign) render and export without panicking.
#[test]
fn odd_reports_render_without_panicking() {
    let mut r = hostile_report();
    r.campaigns.push(Campaign {
        id: String::new(),
        kind: CampaignKind::CredentialStuffing,
        first_seen: t("2100-01-01T00:00:00Z"),
        detected_at: t("1970-01-01T00:00:00Z"),
        last_seen: t("1970-01-01T00:00:00Z"),
        sources: vec![],
        accounts_targeted: u64::MAX,
        attempts: u64::MAX,
        summary: "\u{202E}gnirts desrever".into(),
        accounts: vec![String::new()],
    });
    r.campaigns.push(Campaign {
        id: "c9".into(),
        kind: CampaignKind::AccountGuessing,
        first_seen: t("2017-06-24T00:00:00Z"),
        detected_at: t("2017-06-24T00:00:00Z"),
        last_seen: t("2017-06-24T00:00:00Z"),
        sources: vec![p("::/0")],
        accounts_targeted: 1,
        attempts: 0,
        summary: String::new(),
        accounts: vec![],
    });
    r.compromised_accounts.push(CompromisedAccount {
        account: String::new(),
        at: t("1970-01-01T00:00:00Z"),
        source: None,
        campaign: Some("no-such-campaign".into()),
        evidence: String::new(),
    });
    r.timeline = vec![incident::TimeBucket {
        start: t("2017-06-24T00:00:00Z"),
        width_secs: 0, // nonsense on purpose, like the counts
        attempts: 1,
        failures: 5, // inconsistent on purpose: more failures than attempts
        unfamiliar_failures: 9,
    }];
    let inds = indicators::collect(&r);
    let opts = incident::Options {
        max_rows: 1,
        ..Default::default()
    };
    let html = incident::render(&r, &inds, &opts);
    assert!(html.contains("</html>"));
    assert!(
        !html.contains('\u{202E}'),
        "bidi override must not reach the page"
    );
    let _ = indicators::to_csv(&inds);
    let b = stix::bundle(&r, &inds, &stix::Producer { organisation: None });
    // A 1970 → 2100 campaign has last_seen before first_seen: STIX forbids that, so it is left out.
    let weird = b["objects"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["type"] == "campaign" && o["first_seen"] == "2100-01-01T00:00:00.000Z")
        .unwrap();
    assert!(weird.get("last_seen").is_none());
}
