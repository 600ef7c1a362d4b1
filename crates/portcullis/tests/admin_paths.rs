//! One validation for every admin path, through the real binary: the admin API, the CLI
//! (`portcullis admin block`), the dashboard and the wforce `addBLEntry` command (with the
//! admin credential: the policy one is refused outright) all refuse
//! the same blocks (everyone, a network wider than the minimum, a trusted network, loopback,
//! an absurd expiry) with a reason, store none of them, and all accept an ordinary block.

mod common;

use common::{basic, bin, credentials, post, request, serve};
use serde_json::{Value, json};

/// Blocks no path may make, with a word the refusal must contain.
const REFUSED: [(&str, Option<i64>, &str); 6] = [
    ("0.0.0.0/0", None, "every IPv4 address"),
    ("::/0", None, "every IPv6 address"),
    ("203.0.0.0/8", None, "/16 or narrower"),
    ("10.20.0.0/16", None, "trusted network"),
    ("127.0.0.1", None, "loopback"),
    ("198.51.100.7", Some(i64::MAX), "days away"),
];

#[test]
fn every_admin_path_refuses_the_same_blocks_and_accepts_an_ordinary_one() {
    let tmp = tempfile::tempdir().unwrap();
    let s = serve(tmp.path());
    let data = tmp.path().join("data");
    let (policy_auth, token) = credentials(&data);
    let bearer = format!("Bearer {token}");
    // wforce clients send the admin token as their HTTP Basic password.
    let wforce_admin = basic("wforce", &token);
    let admin_url = format!("http://{}", s.admin);

    // The dashboard: sign in for a session cookie and its CSRF token.
    let (st, head, body) = request(
        &s.admin,
        "POST",
        "/api/login",
        &[],
        &json!({"username": "ops-jane", "password": token}).to_string(),
    );
    assert_eq!(st, 200, "{body}");
    let cookie = head
        .lines()
        .find_map(|l| {
            l.strip_prefix("set-cookie: ")
                .or(l.strip_prefix("Set-Cookie: "))
        })
        .and_then(|c| c.split(';').next())
        .expect("a session cookie")
        .to_string();
    let csrf = serde_json::from_str::<Value>(&body).unwrap()["csrf_token"]
        .as_str()
        .unwrap()
        .to_string();

    for (prefix, secs, why) in REFUSED {
        // Admin API.
        let (st, body) = post(
            &s.admin,
            "/v1/blocks",
            &bearer,
            &json!({"prefix": prefix, "expires_in_secs": secs, "actor": "ops", "reason": "t"})
                .to_string(),
        );
        assert_eq!(st, 400, "admin API accepted {prefix}: {body}");
        assert!(body.contains(why), "admin API, {prefix}: {body}");

        // CLI.
        let mut cli = bin();
        cli.args([
            "admin", "--url", &admin_url, "--token", &token, "block", prefix,
        ])
        .args(["--reason", "t"]);
        if let Some(s) = secs {
            cli.args(["--for", &s.to_string()]);
        }
        let out = cli.output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "CLI accepted {prefix}");
        assert!(err.contains(why), "CLI, {prefix}: {err}");

        // Dashboard.
        let until = secs.map(|_| json!("9999-12-31T00:00:00Z"));
        let (st, _, body) = request(
            &s.admin,
            "POST",
            "/api/actions",
            &[("Cookie", &cookie), ("X-CSRF-Token", &csrf)],
            &json!({"type": "block", "prefix": prefix, "until": until, "reason": "t"}).to_string(),
        );
        assert_eq!(st, 400, "dashboard accepted {prefix}: {body}");
        assert!(body.contains(why), "dashboard, {prefix}: {body}");

        // wforce: the policy credential has no admin power at all...
        let (st, body) = post(
            &s.policy,
            "/?command=addBLEntry",
            &policy_auth,
            &json!({"netmask": prefix, "expire_secs": 3600, "reason": "t"}).to_string(),
        );
        assert_eq!(
            st, 403,
            "wforce with the policy credential, {prefix}: {body}"
        );
        // ...and the admin credential passes the same validation.
        let (st, body) = post(
            &s.policy,
            "/?command=addBLEntry",
            &wforce_admin,
            &json!({"netmask": prefix, "expire_secs": secs.unwrap_or(3600), "reason": "t"})
                .to_string()
                .replace("\"netmask\":\"127.0.0.1\"", "\"ip\":\"127.0.0.1\"")
                .replace("\"netmask\":\"198.51.100.7\"", "\"ip\":\"198.51.100.7\""),
        );
        assert_eq!(st, 400, "wforce accepted {prefix}: {body}");
        assert!(body.contains(why), "wforce, {prefix}: {body}");
    }

    let blocks = |s: &common::Serve| {
        let (_, _, body) = request(
            &s.admin,
            "GET",
            "/v1/blocks",
            &[("Authorization", &bearer)],
            "",
        );
        serde_json::from_str::<Value>(&body).unwrap()
    };
    assert_eq!(blocks(&s), json!([]), "nothing refused was stored");

    // An ordinary block passes every path.
    let out = bin()
        .args([
            "admin",
            "--url",
            &admin_url,
            "--token",
            &token,
            "block",
            "198.51.100.0/24",
        ])
        .args(["--reason", "spray sources", "--for", "1h"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (st, body) = post(
        &s.admin,
        "/v1/blocks",
        &bearer,
        &json!({"prefix": "203.0.113.0/24", "actor": "ops", "reason": "t"}).to_string(),
    );
    assert_eq!(st, 200, "{body}");
    let (st, _, body) = request(
        &s.admin,
        "POST",
        "/api/actions",
        &[("Cookie", &cookie), ("X-CSRF-Token", &csrf)],
        &json!({"type": "block", "prefix": "192.0.2.0/24", "until": null, "reason": "t"})
            .to_string(),
    );
    assert_eq!(st, 200, "{body}");
    let (st, body) = post(
        &s.policy,
        "/?command=addBLEntry",
        &wforce_admin,
        &json!({"ip": "198.18.0.9", "expire_secs": 600, "reason": "t"}).to_string(),
    );
    assert_eq!(st, 200, "{body}");
    let stored: Vec<String> = blocks(&s)
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["prefix"].as_str().unwrap().to_string())
        .collect();
    for p in [
        "198.51.100.0/24",
        "203.0.113.0/24",
        "192.0.2.0/24",
        "198.18.0.9",
    ] {
        assert!(stored.iter().any(|x| x == p), "{p} missing from {stored:?}");
    }
}
