//! The generic schema's documentation examples (docs/event-schema.md) are read as documented,
//! and what portcullis prints reads back as the same events.

use portcullis_core::event::EventRecord;
use portcullis_core::{Outcome, Protocol};
use portcullis_parse::{LineResult, ParseCtx, generic, windows};

fn doc_examples() -> Vec<String> {
    let doc = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../docs/event-schema.md"
    ))
    .unwrap();
    let mut lines = Vec::new();
    let mut in_json = false;
    for l in doc.lines() {
        if l.starts_with("```json") {
            in_json = true;
        } else if l.starts_with("```") {
            in_json = false;
        } else if in_json && !l.trim().is_empty() {
            lines.push(l.to_string());
        }
    }
    lines
}

#[test]
fn documented_examples_parse() {
    let lines = doc_examples();
    assert_eq!(lines.len(), 6);
    let ctx = ParseCtx::default();
    let mut out = Vec::new();
    for l in &lines {
        assert!(generic::looks_like(l), "{l}");
        assert_eq!(
            generic::parse_line(l, &ctx, &mut out),
            LineResult::Events(1),
            "{l}"
        );
    }
    assert_eq!(out[0].outcome, Outcome::BadPassword);
    assert_eq!(out[1].protocol, Protocol::Http);
    assert_eq!(out[1].account.name, "alice@example.org");
    assert_eq!(out[2].password_fingerprint, Some(0xa3f));
    assert_eq!(out[3].account.name, "carol");
    assert!(out[4].account.is_empty());
    assert_eq!(out[5].account.name, "lrodriguez");
}

/// Real Windows events → what `portcullis parse` prints → the generic reader → same events.
/// Source: OTRF Security-Datasets SDWIN-201022042947 (MIT).
#[test]
fn windows_events_round_trip_through_the_schema() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/data/real/otrf-purplesharp/purplesharp_ad_playbook_I_security_auth_only.jsonl"
    ))
    .unwrap();
    let ctx = ParseCtx::default();
    let mut evs = Vec::new();
    for l in text.lines() {
        windows::parse_line(l, &ctx, &mut evs);
    }
    assert_eq!(evs.len(), 33);
    let mut back = Vec::new();
    for e in &evs {
        let line = serde_json::to_string(&EventRecord::from_event(e)).unwrap();
        assert_eq!(
            generic::parse_line(&line, &ctx, &mut back),
            LineResult::Events(1)
        );
    }
    for (a, b) in evs.iter().zip(&back) {
        let mut a = a.clone();
        a.origin = Default::default();
        let mut b = b.clone();
        b.origin = Default::default();
        assert_eq!(a, b);
    }
}

/// The three sniffers do not claim each other's real first lines (the detector relies on it).
#[test]
fn sniffers_are_mutually_exclusive_on_real_lines() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/data/real/");
    let first = |rel: &str| {
        std::fs::read_to_string(format!("{root}{rel}"))
            .unwrap()
            .lines()
            .next()
            .unwrap()
            .to_string()
    };
    for rel in [
        "windows-evtx-to-mitre/ID4768-4771-Kerberos-user-enumeration-Kerbrute.jsonl",
        "windows-evtx-to-mitre/ID4-OpenSSH-brutforce-with-valid-users.jsonl",
        "otrf-purplesharp/purplesharp_ad_playbook_I_security_auth_only.jsonl",
        "crowdsec-hub-tests/windows-bf/windows-bf.log",
    ] {
        let l = first(rel);
        assert!(windows::looks_like(&l), "{rel}");
        assert!(!portcullis_parse::entra::looks_like(&l), "{rel}");
        assert!(!generic::looks_like(&l), "{rel}");
    }
    for l in doc_examples() {
        assert!(!windows::looks_like(&l), "{l}");
        assert!(!portcullis_parse::entra::looks_like(&l), "{l}");
    }
    // Text logs are none of them.
    let sshd = first("loghub/OpenSSH/OpenSSH_2k.log");
    assert!(!windows::looks_like(&sshd) && !generic::looks_like(&sshd));
    assert!(!portcullis_parse::entra::looks_like(&sshd));
}
