//! A restart changes nothing, through the real binary: a spray is driven through Dovecot's
//! auth_policy protocol until its addresses are refused, a user logs in from home, an admin
//! blocks a network; then `serve` is stopped — gracefully (SIGTERM: a snapshot at shutdown) or
//! killed (`kill -9`: the journal's last group commit is what there is) — and started again on
//! the same data directory. Every answer is the same after the restart: the next attempt of a
//! spray address on an account it never tried is still refused, the user is still familiar,
//! the block (acknowledged just before the kill) still holds, and the spray's campaign goes on
//! under its id instead of a new one opening.

mod common;

use common::{Serve, credentials, post, serve};
use portcullis_server::client::AdminClient;
use serde_json::{Value, json};
use std::path::Path;
use std::time::Duration;

/// A spray address (of 30, in two TEST-NET ranges).
fn spray_source(i: usize) -> String {
    if i.is_multiple_of(2) {
        format!("198.51.100.{}", 1 + i % 30)
    } else {
        format!("203.0.113.{}", 1 + i % 30)
    }
}

fn dovecot(s: &Serve, auth: &str, command: &str, body: Value) -> Value {
    let (st, body) = post(
        &s.policy,
        &format!("/?command={command}"),
        auth,
        &body.to_string(),
    );
    assert_eq!(st, 200, "{body}");
    serde_json::from_str(&body).unwrap()
}

/// One round of the spray: each of the 30 addresses tries one wrong password on its own account
/// of round `r`.
fn spray_round(s: &Serve, auth: &str, r: usize) {
    for i in 0..30 {
        let login = format!("user{}@example.org", r * 30 + i);
        dovecot(
            s,
            auth,
            "report",
            json!({"login": login, "remote": spray_source(i), "protocol": "imap",
                   "pwhash": format!("{:03x}", r), "success": false}),
        );
    }
}

/// What a client would be told, and what the operator sees: the Dovecot `allow` status of each
/// spray address on an account it never tried, of alice from home and of a blocked address;
/// alice's standing from home; the campaigns' ids and kinds.
fn answers(s: &Serve, auth: &str, token: &str) -> Vec<String> {
    let mut out = Vec::new();
    for i in 0..30 {
        let v = dovecot(
            s,
            auth,
            "allow",
            json!({"login": "never-tried@example.org", "remote": spray_source(i),
                   "protocol": "imap", "pwhash": "abc"}),
        );
        out.push(format!("spray {} -> {}", spray_source(i), v["status"]));
    }
    for (who, remote) in [("alice", "192.0.2.10"), ("blocked", "192.0.2.200")] {
        let v = dovecot(
            s,
            auth,
            "allow",
            json!({"login": "alice@example.org", "remote": remote, "protocol": "imap"}),
        );
        out.push(format!("{who} -> {}", v["status"]));
    }
    let (st, body) = post(
        &s.policy,
        "/v1/check",
        auth,
        &json!({"account": "alice@example.org", "source": "192.0.2.10", "protocol": "imap"})
            .to_string(),
    );
    assert_eq!(st, 200, "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    out.push(format!("alice standing {}", v["standing"]));
    let admin = AdminClient::new(&format!("http://{}", s.admin), token);
    let report = admin.get("/v1/report").unwrap();
    for c in report["campaigns"].as_array().unwrap() {
        out.push(format!("campaign {} {}", c["id"], c["kind"]));
    }
    out
}

/// Drives the scenario, restarts with `stop`, and compares.
fn restart_changes_nothing(stop: impl FnOnce(Serve), graceful: bool) {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let s = serve(tmp.path());
    let (auth, token) = credentials(&data);

    // alice logs in from home, as every day.
    dovecot(
        &s,
        &auth,
        "report",
        json!({"login": "alice@example.org", "remote": "192.0.2.10", "protocol": "imap",
               "success": true}),
    );
    // The spray, round after round, until its addresses are refused on an untried account.
    let mut refused = false;
    for r in 0..20 {
        spray_round(&s, &auth, r);
        let v = dovecot(
            &s,
            &auth,
            "allow",
            json!({"login": "never-tried@example.org", "remote": spray_source(0),
                   "protocol": "imap", "pwhash": "abc"}),
        );
        if v["status"].as_i64().unwrap() < 0 {
            refused = true;
            break;
        }
    }
    assert!(
        refused,
        "the spray's addresses are refused before the restart"
    );
    // An admin blocks a network just before the stop: acknowledged means it survives.
    let (st, body) = post(
        &s.admin,
        "/v1/blocks",
        &format!("Bearer {token}"),
        &json!({"prefix": "192.0.2.192/26", "actor": "ops", "reason": "test",
                "expires_in_secs": 86400})
        .to_string(),
    );
    assert!(st == 200 || st == 201, "{st} {body}");
    let before = answers(&s, &auth, &token);
    assert!(
        before.iter().any(|a| a.contains("password_spray")),
        "a spray campaign is listed: {before:#?}"
    );
    assert!(before.iter().any(|a| a == "alice -> 0"), "{before:#?}");
    assert!(before.iter().any(|a| a == "blocked -> -1"), "{before:#?}");
    if !graceful {
        // The loss window of a kill is one journal group commit (10 ms): every answer above
        // was given more than that before the kill.
        std::thread::sleep(Duration::from_millis(200));
    }
    stop(s);
    let journal = data.join("journal");
    let snaps = std::fs::read_dir(&journal)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "snap")
        })
        .count();
    // The first start wrote one snapshot (no journal yet); a graceful stop writes another.
    assert_eq!(
        snaps,
        if graceful { 2 } else { 1 },
        "snapshots in {journal:?}"
    );

    let s = serve(tmp.path());
    let after = answers(&s, &auth, &token);
    assert_eq!(before, after, "the same answers after the restart");
    // The spray goes on after the restart: its campaign continues, no new one opens.
    for r in 20..23 {
        spray_round(&s, &auth, r);
    }
    let again = answers(&s, &auth, &token);
    let campaigns = |a: &[String]| -> Vec<String> {
        a.iter()
            .filter(|l| l.starts_with("campaign"))
            .cloned()
            .collect()
    };
    assert_eq!(campaigns(&before), campaigns(&again));
    s.terminate();
    check_no_password_in(&journal);
}

/// The journal holds fingerprints, never a password: the test's only password-like strings are
/// the `pwhash` hex values, and no `password` attribute is ever accepted; the account names are
/// there (they are what the engine learns about).
fn check_no_password_in(journal: &Path) {
    let mut all = Vec::new();
    for e in std::fs::read_dir(journal).unwrap() {
        all.extend(std::fs::read(e.unwrap().path()).unwrap());
    }
    let text = String::from_utf8_lossy(&all);
    assert!(
        text.contains("alice@example.org"),
        "the journal holds the inputs"
    );
    assert!(
        !text.contains("password"),
        "no password field in the journal"
    );
}

#[test]
fn a_graceful_restart_during_a_spray_changes_no_answer() {
    restart_changes_nothing(|s| s.terminate(), true);
}

#[test]
fn a_kill_9_during_a_spray_changes_no_answer() {
    restart_changes_nothing(drop, false);
}
