//! Entra ID / Azure AD sign-ins on real field layouts.
//!
//! Source: `panther-analysis-tests/labelled_test_events.jsonl` (panther-labs/panther-analysis,
//! Apache-2.0): the unit-test events of Panther's Azure.Audit (Azure Monitor diagnostic
//! sign-in records, lower-cased envelope) and Microsoft365.Audit.AzureActiveDirectory rules,
//! with the other vendors' events of the same file as negatives.

use portcullis_core::{AuthEvent, Outcome, Protocol, Timestamp};
use portcullis_parse::entra;
use portcullis_parse::{LineResult, ParseCtx};
use serde_json::Value;

fn labelled() -> Vec<Value> {
    let p = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/data/real/panther-analysis-tests/labelled_test_events.jsonl"
    );
    std::fs::read_to_string(p)
        .expect("test data present")
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn parse(v: &Value) -> Result<AuthEvent, &'static str> {
    let mut out = Vec::new();
    // Through the line entry point, as the input layer would call it.
    let line = serde_json::to_string(v).unwrap();
    match entra::parse_line(&line, &ParseCtx::default(), &mut out) {
        LineResult::Events(1) => Ok(out.pop().unwrap()),
        LineResult::Events(n) => panic!("{n} events"),
        LineResult::Skip(r) => Err(r),
    }
}

fn find<'a>(all: &'a [Value], test: &str) -> &'a Value {
    &all.iter()
        .find(|e| e["test"] == test && e["log_type"] != "Asana.Audit")
        .unwrap_or_else(|| panic!("no test {test}"))["log"]
}

#[test]
fn azure_monitor_sign_in_records() {
    let all = labelled();

    let e = parse(find(&all, "Account Lockout Error 50053")).unwrap();
    assert_eq!(e.outcome, Outcome::Locked);
    assert_eq!(e.account.name, "boromir@lotr.com");
    assert_eq!(e.source, Some("4.4.4.4".parse().unwrap()));
    assert_eq!(e.protocol, Protocol::Entra);
    assert_eq!(e.client.as_deref(), Some("python-requests/2.28.0"));
    assert_eq!(e.server.as_deref(), Some("Microsoft Office"));
    // No createdDateTime in this record: the envelope's `time`.
    assert_eq!(
        e.ts,
        Timestamp::parse_rfc3339("2025-01-15T08:15:23.456Z").unwrap()
    );

    let e = parse(find(&all, "Different Error Code")).unwrap();
    assert_eq!(e.outcome, Outcome::BadPassword);
    assert_eq!(e.account.name, "peregrin@lotr.com");

    let e = parse(find(&all, "Microsoft Corporate ASN Excluded")).unwrap();
    assert_eq!(e.outcome, Outcome::Locked);
    assert_eq!(e.source, Some("13.64.151.161".parse().unwrap()));

    // Service principal sign-ins: 7000215 (invalid client secret) is a wrong secret.
    let e = parse(find(&all, "Failed Sign-In")).unwrap();
    assert_eq!(e.outcome, Outcome::BadPassword);
    assert_eq!(e.account.name, "some-service-principal");
    assert_eq!(e.source, Some("12.12.12.12".parse().unwrap()));
    assert_eq!(
        e.session.as_deref(),
        Some("5889315c-c4ac-4807-99da-e17417eae786")
    );
    assert_eq!(
        e.ts,
        Timestamp::parse_rfc3339("2023-07-26T22:58:30.983201Z").unwrap()
    );

    let e = parse(find(&all, "Successful Sign-In")).unwrap();
    assert_eq!(e.outcome, Outcome::Success);
    assert_eq!(e.account.name, "very-normal-service-principal");
}

#[test]
fn m365_unified_audit_logins() {
    let all = labelled();
    let e = parse(find(&all, "Failed Login event")).unwrap();
    assert_eq!(e.outcome, Outcome::BadPassword);
    assert_eq!(e.account.name, "sample.user@yourorg.onmicrosoft.com");
    assert_eq!(e.source, Some("1.2.3.4".parse().unwrap()));
    assert!(e.client.as_deref().unwrap().starts_with("Mozilla/5.0"));
    assert_eq!(
        e.ts,
        Timestamp::parse_rfc3339("2022-12-12T15:57:57Z").unwrap()
    );

    let e = parse(find(&all, "Login Event")).unwrap();
    assert_eq!(e.outcome, Outcome::Success);
}

/// Every Azure/M365 record of the file parses; no record of another vendor (Okta, GSuite,
/// AWS, Box, 1Password, …) is mistaken for an Entra sign-in.
#[test]
fn only_entra_records_become_events() {
    let all = labelled();
    let mut entra_events = 0;
    for e in &all {
        let lt = e["log_type"].as_str().unwrap();
        let p_lt = e["log"]["p_log_type"].as_str().unwrap_or(lt);
        let is_entra = p_lt.starts_with("Azure.Audit")
            || lt.starts_with("Microsoft365.Audit.AzureActiveDirectory");
        let r = parse(&e["log"]);
        let line = serde_json::to_string(&e["log"]).unwrap();
        assert_eq!(entra::looks_like(&line), is_entra, "{}", e["test"]);
        assert!(!portcullis_parse::windows::looks_like(&line));
        assert!(!portcullis_parse::generic::looks_like(&line));
        if is_entra {
            assert!(r.is_ok(), "{}: {:?}", e["test"], r);
            entra_events += 1;
        } else {
            assert!(
                r.is_err(),
                "{} ({p_lt}) parsed as Entra: {:?}",
                e["test"],
                r
            );
        }
    }
    assert_eq!(entra_events, 7);
}

#[test]
fn document_of_the_real_records() {
    let all = labelled();
    let logs: Vec<&Value> = all
        .iter()
        .filter(|e| {
            e["log"]["p_log_type"] == "Azure.Audit"
                || e["log_type"] == "Microsoft365.Audit.AzureActiveDirectory"
        })
        .map(|e| &e["log"])
        .collect();
    let doc = serde_json::to_string_pretty(&serde_json::json!({ "value": logs })).unwrap();
    let mut out = Vec::new();
    let stats = entra::parse_document(&doc, &ParseCtx::default(), &mut out).unwrap();
    assert_eq!(stats.records, 7);
    assert_eq!(stats.events, 7);
    let failures = out.iter().filter(|e| e.outcome.is_failure()).count();
    assert_eq!(failures, 5);
}
