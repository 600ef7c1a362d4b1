//! An insider through the real binary, with Dovecot's default logging (no password hashes):
//! a week of an office behind its NAT gateway (10.0.0.1, inside the default trusted networks),
//! then one night a compromised desktop (10.20.30.40, a user's own machine) sprays every
//! account and finds three weak passwords. `portcullis analyze` must see it like any attack:
//! the desktop flagged as that host (never the gateway, never a network), a campaign that
//! names it, the three fallen accounts named — trust decides what is blocked, not what is seen.

mod common;

use std::fmt::Write as _;

const ACCOUNTS: usize = 300;
const FALLEN: [usize; 3] = [210, 240, 270];

fn stamp(day: u32, secs: u32) -> String {
    format!(
        "Jun {:>2} {:02}:{:02}:{:02}",
        day + 1,
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

fn success(log: &mut String, day: u32, secs: u32, user: usize, ip: &str) {
    writeln!(
        log,
        "{} mx dovecot: imap-login: Login: user=<u{user}@example.org>, method=PLAIN, rip={ip}, lip=10.0.0.25, mpid=1, TLS",
        stamp(day, secs)
    )
    .unwrap();
}

fn failure(log: &mut String, day: u32, secs: u32, user: usize, ip: &str) {
    writeln!(
        log,
        "{} mx dovecot: imap-login: Disconnected (auth failed, 1 attempts in 2 secs): user=<u{user}@example.org>, method=PLAIN, rip={ip}, lip=10.0.0.25, TLS",
        stamp(day, secs)
    )
    .unwrap();
}

#[test]
fn an_insider_spray_from_a_trusted_host_is_seen_named_and_its_victims_found() {
    let mut log = String::new();
    for day in 0..7 {
        // Mornings through the gateway, one login every 30 s; every 20th user typos first.
        for i in 0..ACCOUNTS {
            let t = 8 * 3600 + 30 * i as u32;
            if i % 20 == 0 {
                failure(&mut log, day, t, i, "10.0.0.1");
            }
            success(&mut log, day, t + 3, i, "10.0.0.1");
        }
        // u7 also reads mail on their own desktop.
        success(&mut log, day, 11 * 3600, 7, "10.20.30.40");
    }
    // Night 8, from 01:00: two rounds over every account, an attempt every 6 s; the fallen
    // accounts are dropped from the second round.
    let mut t = 3600;
    for round in 0..2 {
        for i in (0..ACCOUNTS).filter(|&i| i != 7) {
            if FALLEN.contains(&i) {
                if round == 0 {
                    success(&mut log, 7, t, i, "10.20.30.40");
                    t += 6;
                }
                continue;
            }
            failure(&mut log, 7, t, i, "10.20.30.40");
            t += 6;
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mail.log");
    std::fs::write(&path, &log).unwrap();

    let r = common::analyze_json(&path);
    let by = &r["input"]["events_by_outcome"];
    assert_eq!(by["success"], 7 * (ACCOUNTS + 1) + 3, "{by}");

    let flagged: Vec<&str> = r["flagged_sources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["source"].as_str().unwrap())
        .collect();
    assert_eq!(flagged, ["10.20.30.40"], "only the desktop, as a host");
    let campaigns = r["campaigns"].as_array().unwrap();
    assert!(
        campaigns.iter().any(|c| c["sources"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s == "10.20.30.40")),
        "{campaigns:?}"
    );
    let mut named: Vec<&str> = r["compromised_accounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["account"].as_str().unwrap())
        .collect();
    named.sort();
    assert_eq!(
        named,
        ["u210@example.org", "u240@example.org", "u270@example.org"]
    );
}
