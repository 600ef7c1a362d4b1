//! One answer for trust and familiarity, through the real binary and across a restart: the
//! native API returns the engine's `standing` with each verdict; a source that logged in is
//! familiar to that account (not to another), an internal-only account lets it in and refuses
//! a stranger; after `serve` is stopped (SIGTERM) and started again on the same data directory,
//! the store's familiar sources are restored into the engine and every one of these answers is
//! the same.

mod common;

use common::{credentials, post, serve};
use serde_json::{Value, json};

/// (action, trusted, familiar) for a native check.
fn check(policy: &str, auth: &str, account: &str, source: &str) -> (String, bool, bool) {
    let (st, body) = post(
        policy,
        "/v1/check",
        auth,
        &json!({"account": account, "source": source, "protocol": "imap"}).to_string(),
    );
    assert_eq!(st, 200, "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    (
        v["action"].as_str().unwrap().to_string(),
        v["standing"]["trusted"].as_bool().unwrap(),
        v["standing"]["familiar"].as_bool().unwrap(),
    )
}

fn deny(s: &str) -> (String, bool, bool) {
    (s.to_string(), false, false)
}

#[test]
fn familiar_sources_and_their_standing_survive_a_restart() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let s = serve(tmp.path());
    let (auth, token) = credentials(&data);

    // alice logs in from her home address; the first success's own verdict is not familiar.
    let (st, body) = post(
        &s.policy,
        "/v1/report",
        &auth,
        &json!({"account": "alice@example.org", "source": "198.51.100.20", "protocol": "imap",
                "outcome": "success"})
        .to_string(),
    );
    assert_eq!(st, 200, "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["standing"], json!({"trusted": false, "familiar": false}));

    // Her account becomes internal-only (e.g. while she is suspected to be a target).
    let (st, body) = post(
        &s.admin,
        "/v1/protections",
        &format!("Bearer {token}"),
        &json!({"account": "alice@example.org", "mode": "internal_only", "actor": "ops",
                "reason": "test"})
        .to_string(),
    );
    assert_eq!(st, 200, "{body}");

    let expected = |policy: &str| {
        // Her address, and its /24, are familiar to her and let in.
        assert_eq!(
            check(policy, &auth, "alice@example.org", "198.51.100.20"),
            ("allow".into(), false, true)
        );
        assert_eq!(
            check(policy, &auth, "alice@example.org", "198.51.100.77"),
            ("allow".into(), false, true)
        );
        // A stranger is refused; so is her address for another account's standing.
        assert_eq!(
            check(policy, &auth, "alice@example.org", "203.0.113.9"),
            deny("deny")
        );
        assert_eq!(
            check(policy, &auth, "bob@example.org", "198.51.100.20"),
            deny("allow")
        );
        // Loopback is in the default trusted networks: trusted, not familiar.
        assert_eq!(
            check(policy, &auth, "alice@example.org", "127.0.0.1"),
            ("allow".into(), true, false)
        );
    };
    expected(&s.policy);

    s.terminate();
    let s = serve(tmp.path());
    expected(&s.policy);
}
