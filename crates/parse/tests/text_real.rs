//! Real third-party logs through the whole input layer.
//!
//! * loghub `OpenSSH/OpenSSH_2k.log` (LogPAI loghub, 2,000 lines of a real sshd): the counts per
//!   outcome must equal counts derived here independently with plain `str` matching and a
//!   different dedup method (per sshd process id instead of the parser's (address, user)
//!   credits).
//! * CrowdSec hub test logs (`crowdsec-hub-tests/{dovecot,postfix,ssh,sshd}-*`): every line
//!   must be framed and no authentication line may be left unrecognised.

use portcullis_core::Outcome;
use portcullis_parse::input::{InputOptions, open};
use std::collections::HashMap;

const REAL: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/data/real/");

/// Independent count over loghub OpenSSH_2k.log: (success, bad_password, unknown_account).
fn independent_openssh_counts(text: &str) -> (u64, u64, u64) {
    let mut success = 0;
    let mut bad = 0;
    // Per sshd pid: "Invalid user" lines and "Failed password for invalid user" lines. One
    // attempt writes at most one of each, so the attempts of a process are the larger count.
    let mut invalid: HashMap<&str, u64> = HashMap::new();
    let mut failed_invalid: HashMap<&str, u64> = HashMap::new();
    for line in text.lines() {
        let pid = line
            .split("sshd[")
            .nth(1)
            .and_then(|r| r.split(']').next())
            .unwrap_or("");
        let (n, msg) = match line.split_once("message repeated ") {
            Some((_, r)) => {
                let (n, rest) = r.split_once(" times: [ ").expect("repeat shape");
                (n.parse::<u64>().expect("repeat count"), rest)
            }
            None => (1, line),
        };
        if msg.contains("Accepted password for") || msg.contains("Accepted publickey for") {
            success += n;
        } else if msg.contains("Failed password for invalid user") {
            *failed_invalid.entry(pid).or_default() += n;
        } else if msg.contains("Failed password for") {
            bad += n;
        }
        if line.contains("]: Invalid user ") {
            *invalid.entry(pid).or_default() += 1;
        }
    }
    let mut pids: Vec<&&str> = invalid.keys().chain(failed_invalid.keys()).collect();
    pids.sort();
    pids.dedup();
    let unknown = pids
        .iter()
        .map(|p| {
            invalid
                .get(**p)
                .copied()
                .unwrap_or(0)
                .max(failed_invalid.get(**p).copied().unwrap_or(0))
        })
        .sum();
    (success, bad, unknown)
}

#[test]
fn loghub_openssh_counts_match_an_independent_count() {
    let path = format!("{REAL}loghub/OpenSSH/OpenSSH_2k.log");
    let text = std::fs::read_to_string(&path).unwrap();
    let (success, bad, unknown) = independent_openssh_counts(&text);
    // The numbers, so that a change in either method shows up here.
    assert_eq!((success, bad, unknown), (1, 393, 138));

    let mut s = open(
        &[path.as_str()],
        &InputOptions {
            year: Some(2017),
            ..Default::default()
        },
    )
    .unwrap();
    let events: Vec<_> = s.by_ref().collect();
    let st = s.stats();
    assert_eq!(st.lines, 2000);
    assert_eq!(
        st.events_by_outcome
            .get(&Outcome::Success)
            .copied()
            .unwrap_or(0),
        success
    );
    assert_eq!(
        st.events_by_outcome
            .get(&Outcome::BadPassword)
            .copied()
            .unwrap_or(0),
        bad
    );
    assert_eq!(
        st.events_by_outcome
            .get(&Outcome::UnknownAccount)
            .copied()
            .unwrap_or(0),
        unknown
    );
    assert_eq!(st.events, success + bad + unknown);
    assert_eq!(events.len() as u64, st.events);
    assert_eq!(
        st.skipped_by_reason.get("unrecognised"),
        None,
        "{:?}",
        st.skipped_by_reason
    );
    assert_eq!(st.skipped_by_reason.get("bad_header"), None);
    // Dec 10 .. Jan 7 of the next year: the year guesser turns over once.
    assert_eq!(st.first_event.unwrap().to_rfc3339()[..10], *"2017-12-10");
    assert!(
        events.windows(2).all(|w| w[0].ts <= w[1].ts),
        "events are in time order"
    );
    assert!(
        events
            .iter()
            .all(|e| e.source.is_some() && e.server.as_deref() == Some("LabSZ"))
    );
}

#[test]
fn crowdsec_hub_logs_have_no_unrecognised_auth_lines() {
    let dir = format!("{REAL}crowdsec-hub-tests/");
    let mut checked = 0;
    let mut total_events = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name().to_string_lossy().to_string();
        if !(name.starts_with("dovecot") || name.starts_with("postfix") || name.starts_with("ssh"))
        {
            continue;
        }
        let log = entry.path().join(format!("{name}.log"));
        let mut s = open(
            &[log.to_str().unwrap()],
            &InputOptions {
                year: Some(2024),
                samples_per_reason: 3,
                ..Default::default()
            },
        )
        .unwrap();
        let n = s.by_ref().count() as u64;
        let st = s.stats();
        assert!(st.lines > 0, "{name}");
        for bad in [
            "unrecognised",
            "bad_header",
            "unknown_format",
            "no_source",
            "malformed",
        ] {
            assert_eq!(
                st.skipped_by_reason.get(bad),
                None,
                "{name}: {bad}: {:?}",
                st.samples
            );
        }
        checked += 1;
        total_events += n;
    }
    assert!(checked >= 10, "only {checked} crowdsec logs found");
    assert!(total_events >= 60, "{total_events}");
}
