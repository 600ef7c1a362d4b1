//! The dashboard's JSON API over real HTTP against an in-process `serve` on loopback: sign-in
//! with the admin token and the session cookie's attributes, 401 without a session, CSRF on
//! every POST, an action through the audited admin path that the policy listener then enforces,
//! the overview's counts against the attempts actually sent, and sign-out.

use portcullis_core::Prefix;
use portcullis_server::ServerConfig;
use portcullis_server::client::AdminClient;
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

const TOKEN: &str = "dash-admin-token-0123456789";
const KEY: &str = "dash-api-key-xyz";

mod common;

struct TestServer {
    srv: common::Running,
    policy: SocketAddr,
    admin: SocketAddr,
    agent: ureq::Agent,
}

/// One HTTP answer: status, `Set-Cookie` values, other headers of interest, body.
struct Answer {
    status: u16,
    set_cookie: Vec<String>,
    headers: ureq::http::HeaderMap,
    text: String,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text))
    }
}

fn config(dir: &Path) -> ServerConfig {
    ServerConfig {
        policy_listen: "127.0.0.1:0".into(),
        admin_listen: "127.0.0.1:0".into(),
        data_dir: dir.to_path_buf(),
        policy_api_key: KEY.into(),
        admin_token: TOKEN.into(),
        admin_rate_per_sec: 1000,
        admin_burst: 1000,
        ..ServerConfig::default()
    }
}

impl TestServer {
    fn start(cfg: ServerConfig) -> TestServer {
        Self::start_trusting(cfg, Vec::new())
    }

    fn start_trusting(cfg: ServerConfig, trusted: Vec<Prefix>) -> TestServer {
        let srv = common::Running::start(cfg, trusted, None);
        TestServer {
            policy: srv.policy,
            admin: srv.admin(),
            srv,
            agent: common::agent(),
        }
    }

    fn stop(self) {
        self.srv.stop();
    }

    fn admin_api(&self) -> AdminClient {
        AdminClient::new(&format!("http://{}", self.admin), TOKEN)
    }

    /// A request to the admin listener; `body` makes it a POST with a JSON content type.
    fn dash(&self, path: &str, headers: &[(&str, &str)], body: Option<&str>) -> Answer {
        let url = format!("http://{}{path}", self.admin);
        let resp = match body {
            Some(b) => {
                let mut req = self
                    .agent
                    .post(&url)
                    .header("Content-Type", "application/json");
                for (k, v) in headers {
                    req = req.header(*k, *v);
                }
                req.send(b.to_string())
            }
            None => {
                let mut req = self.agent.get(&url);
                for (k, v) in headers {
                    req = req.header(*k, *v);
                }
                req.call()
            }
        };
        let mut resp = resp.unwrap();
        let set_cookie = resp
            .headers()
            .get_all("set-cookie")
            .iter()
            .map(|v| v.to_str().unwrap().to_string())
            .collect();
        let headers = resp.headers().clone();
        Answer {
            status: resp.status().as_u16(),
            set_cookie,
            headers,
            text: resp.body_mut().read_to_string().unwrap(),
        }
    }

    /// Signs in; returns (the `Cookie` header value, the CSRF token, the raw `Set-Cookie`).
    fn login(&self, user: &str) -> (String, String, String) {
        let a = self.dash(
            "/api/login",
            &[],
            Some(&json!({"username": user, "password": TOKEN}).to_string()),
        );
        assert_eq!(a.status, 200, "{}", a.text);
        let v = a.json();
        assert_eq!(v["authenticated"], true, "{v}");
        assert_eq!(v["user"], user);
        let csrf = v["csrf_token"].as_str().unwrap().to_string();
        assert_eq!(a.set_cookie.len(), 1, "{:?}", a.set_cookie);
        let raw = a.set_cookie[0].clone();
        let pair = raw.split(';').next().unwrap().trim().to_string();
        (pair, csrf, raw)
    }

    /// POST to the policy listener's native API; returns the JSON answer.
    fn policy(&self, path: &str, body: &Value) -> Value {
        let mut resp = self
            .agent
            .post(&format!("http://{}{path}", self.policy))
            .header("X-API-Key", KEY)
            .header("Content-Type", "application/json")
            .send(body.to_string())
            .unwrap();
        assert_eq!(resp.status().as_u16(), 200);
        serde_json::from_str(&resp.body_mut().read_to_string().unwrap()).unwrap()
    }
}

/// Every cookie attribute, lower-cased, without values except `max-age`.
fn attributes(set_cookie: &str) -> Vec<String> {
    set_cookie
        .split(';')
        .skip(1)
        .map(|a| a.trim().to_ascii_lowercase())
        .collect()
}

#[test]
fn without_a_session_every_api_call_is_401_and_the_session_probe_says_anonymous() {
    let dir = tempfile::tempdir().unwrap();
    let s = TestServer::start(config(dir.path()));
    for path in [
        "/api/overview",
        "/api/overview?hours=24",
        "/api/campaigns",
        "/api/campaigns/c1",
        "/api/accounts/alice%40example.org",
        "/api/state",
        "/api/actions",
    ] {
        let a = s.dash(path, &[], None);
        assert_eq!(a.status, 401, "GET {path}: {}", a.text);
        assert!(a.json()["error"].as_str().unwrap().contains("sign in"));
        // A made-up session id is no better than none.
        let a = s.dash(
            path,
            &[(
                "Cookie",
                "portcullis_session=00112233445566778899aabbccddeeff",
            )],
            None,
        );
        assert_eq!(a.status, 401, "GET {path} with a forged cookie");
    }
    for path in ["/api/actions", "/api/logout"] {
        let a = s.dash(
            path,
            &[("X-CSRF-Token", "whatever")],
            Some(r#"{"type":"shields_down"}"#),
        );
        assert_eq!(a.status, 401, "POST {path}: {}", a.text);
    }
    let a = s.dash("/api/session", &[], None);
    assert_eq!(a.status, 200);
    assert_eq!(a.json(), json!({"authenticated": false}));
    // The page itself loads for anyone (it shows the sign-in form), under the strict CSP.
    let a = s.dash("/", &[], None);
    assert_eq!(a.status, 200);
    assert!(a.text.contains("<meta name=\"csrf-token\" content=\"\">"));
    let csp = a.headers["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"));
    // Nothing was done.
    assert!(
        s.admin_api()
            .get("/v1/audit")
            .unwrap()
            .as_array()
            .unwrap()
            .is_empty()
    );
    s.stop();
}

#[test]
fn sign_in_needs_the_admin_token_and_sets_a_strict_http_only_cookie() {
    let dir = tempfile::tempdir().unwrap();
    let s = TestServer::start(config(dir.path()));
    // Wrong token, empty user: refused, no cookie.
    for body in [
        json!({"username": "ops", "password": "dash-admin-token-012345678X"}),
        json!({"username": "ops", "password": ""}),
        json!({"username": "", "password": TOKEN}),
    ] {
        let a = s.dash("/api/login", &[], Some(&body.to_string()));
        assert!(
            a.status == 401 || a.status == 403,
            "{body}: {} {}",
            a.status,
            a.text
        );
        assert!(a.set_cookie.is_empty(), "{:?}", a.set_cookie);
        assert!(!a.text.contains("dash-admin-token"), "{}", a.text);
    }
    // The right token from another origin: refused (a cross-site sign-in is never ours).
    let a = s.dash(
        "/api/login",
        &[("Origin", "http://evil.example")],
        Some(&json!({"username": "ops", "password": TOKEN}).to_string()),
    );
    assert_eq!(a.status, 403, "{}", a.text);
    assert!(a.set_cookie.is_empty());

    let (cookie, csrf, raw) = s.login("ops-jane");
    let attrs = attributes(&raw);
    assert!(attrs.contains(&"httponly".to_string()), "{raw}");
    assert!(attrs.contains(&"samesite=strict".to_string()), "{raw}");
    assert!(attrs.contains(&"path=/".to_string()), "{raw}");
    let max_age: i64 = attrs
        .iter()
        .find_map(|a| a.strip_prefix("max-age="))
        .expect("the cookie says how long it lasts")
        .parse()
        .unwrap();
    assert_eq!(max_age, portcullis_server::dashboard::SESSION_SECS, "{raw}");
    let id = cookie.strip_prefix("portcullis_session=").unwrap();
    assert!(
        id.len() >= 32 && id.chars().all(|c| c.is_ascii_hexdigit()),
        "{id}"
    );
    assert!(
        csrf.len() >= 32 && csrf != id,
        "the CSRF token is not the session id"
    );
    // The session works and says who.
    let a = s.dash("/api/session", &[("Cookie", &cookie)], None);
    let v = a.json();
    assert_eq!(
        (v["authenticated"].as_bool(), v["user"].as_str()),
        (Some(true), Some("ops-jane"))
    );
    assert_eq!(v["csrf_token"], csrf.as_str());
    assert_eq!(
        s.dash("/api/state", &[("Cookie", &cookie)], None).status,
        200
    );
    // The page rendered for the session carries its CSRF token.
    let a = s.dash("/", &[("Cookie", &cookie)], None);
    assert!(
        a.text
            .contains(&format!("<meta name=\"csrf-token\" content=\"{csrf}\">")),
        "{}",
        a.text
    );
    assert!(!attrs.contains(&"secure".to_string()), "plain HTTP: {raw}");
    // Through a TLS-terminating proxy the cookie is Secure.
    let a = s.dash(
        "/api/login",
        &[("X-Forwarded-Proto", "https")],
        Some(&json!({"username": "ops", "password": TOKEN}).to_string()),
    );
    assert_eq!(a.status, 200, "{}", a.text);
    assert!(
        attributes(&a.set_cookie[0]).contains(&"secure".to_string()),
        "{:?}",
        a.set_cookie
    );
    // A second sign-in is a different session with a different token. (Six sign-ins so far:
    // one more than the burst, so wait for the limiter's next token, one per 2 s.)
    std::thread::sleep(Duration::from_millis(2100));
    let (cookie2, csrf2, _) = s.login("ops-joe");
    assert_ne!(
        (cookie2.as_str(), csrf2.as_str()),
        (cookie.as_str(), csrf.as_str())
    );
    s.stop();
}

#[test]
fn failed_sign_ins_are_rate_limited() {
    let dir = tempfile::tempdir().unwrap();
    let s = TestServer::start(config(dir.path()));
    let wrong = json!({"username": "x", "password": "not-the-token-0123456789"}).to_string();
    let statuses: Vec<u16> = (0..12)
        .map(|_| s.dash("/api/login", &[], Some(&wrong)).status)
        .collect();
    let limited = statuses.iter().filter(|&&c| c == 429).count();
    assert!(
        limited >= 5,
        "12 quick wrong sign-ins: most refused with 429: {statuses:?}"
    );
    assert!(
        statuses.iter().all(|&c| c == 401 || c == 429),
        "{statuses:?}"
    );
    s.stop();
}

#[test]
fn actions_need_the_csrf_token_and_go_through_the_audited_admin_path() {
    let dir = tempfile::tempdir().unwrap();
    let s = TestServer::start(config(dir.path()));
    let admin = s.admin_api();
    let ip = "203.0.113.77";
    let probe = json!({"account": "alice@example.org", "source": ip, "protocol": "imap"});
    assert_eq!(s.policy("/v1/check", &probe)["action"], "allow");

    let (cookie, csrf, _) = s.login("ops-jane");
    let block = json!({"type": "block", "prefix": ip, "until": null, "reason": "spray from the dashboard test"}).to_string();
    // No token, a wrong token, another session's token: 403, and nothing is done.
    let (_, other_csrf, _) = s.login("ops-joe");
    // The right token with its last digit changed.
    let last = if csrf.ends_with('0') { "1" } else { "0" };
    let wrong = format!("{}{last}", &csrf[..csrf.len() - 1]);
    assert_ne!(wrong, csrf);
    for hdrs in [
        vec![("Cookie", cookie.as_str())],
        vec![("Cookie", cookie.as_str()), ("X-CSRF-Token", "")],
        vec![
            ("Cookie", cookie.as_str()),
            ("X-CSRF-Token", wrong.as_str()),
        ],
        vec![
            ("Cookie", cookie.as_str()),
            ("X-CSRF-Token", other_csrf.as_str()),
        ],
    ] {
        let a = s.dash("/api/actions", &hdrs, Some(&block));
        assert_eq!(a.status, 403, "{hdrs:?}: {}", a.text);
        assert_eq!(a.json()["error"], "missing or wrong X-CSRF-Token");
    }
    assert!(
        admin
            .get("/v1/audit")
            .unwrap()
            .as_array()
            .unwrap()
            .is_empty()
    );
    assert!(
        admin
            .get("/v1/blocks")
            .unwrap()
            .as_array()
            .unwrap()
            .is_empty()
    );
    assert_eq!(s.policy("/v1/check", &probe)["action"], "allow");

    // With the cookie and the token: applied, audited under the signed-in name, enforced.
    let ok = [("Cookie", cookie.as_str()), ("X-CSRF-Token", csrf.as_str())];
    let a = s.dash("/api/actions", &ok, Some(&block));
    assert_eq!(a.status, 200, "{}", a.text);
    let v = a.json();
    assert_eq!(v["ok"], true);
    assert_eq!(v["entry"]["actor"], "ops-jane");
    assert_eq!(v["entry"]["action"]["type"], "block");
    assert_eq!(v["entry"]["action"]["prefix"], ip);

    let audit = admin.get("/v1/audit").unwrap();
    let audit = audit.as_array().unwrap();
    assert_eq!(audit.len(), 1, "{audit:?}");
    assert_eq!(audit[0]["actor"], "ops-jane");
    assert_eq!(audit[0]["via"], "dashboard");
    assert_eq!(audit[0]["reason"], "spray from the dashboard test");
    assert_eq!(audit[0]["action"]["type"], "block");
    assert_eq!(audit[0]["action"]["prefix"], ip);
    let blocks = admin.get("/v1/blocks").unwrap();
    assert_eq!(blocks.as_array().unwrap().len(), 1, "{blocks}");
    assert_eq!(blocks[0]["prefix"], ip);
    assert_eq!(blocks[0]["actor"], "ops-jane");
    let v = s.policy("/v1/check", &probe);
    assert_eq!(v["action"], "deny", "the blocked source is refused: {v}");
    // A neighbour is not.
    let v = s.policy(
        "/v1/check",
        &json!({"account": "alice@example.org", "source": "203.0.113.78"}),
    );
    assert_eq!(v["action"], "allow", "{v}");
    // The dashboard's own views show it.
    let st = s.dash("/api/state", &ok, None).json();
    assert_eq!(st["blocks"][0]["prefix"], ip, "{st}");
    assert_eq!(st["blocks"][0]["by"], "ops-jane");
    let log = s.dash("/api/actions", &ok, None).json();
    assert_eq!(log["actions"][0]["action"]["prefix"], ip, "{log}");

    // Bad actions are 400 and change nothing.
    for bad in [
        json!({"type": "block", "prefix": "not-an-ip", "until": null, "reason": "x"}),
        json!({"type": "frobnicate"}),
        json!({"type": "block", "prefix": "198.51.100.9", "until": "2000-01-01T00:00:00Z", "reason": "x"}),
        json!({"type": "protect", "account": "  ", "mode": "internal_only", "until": null}),
    ] {
        let a = s.dash("/api/actions", &ok, Some(&bad.to_string()));
        assert_eq!(a.status, 400, "{bad}: {}", a.text);
    }
    assert_eq!(admin.get("/v1/audit").unwrap().as_array().unwrap().len(), 1);

    // Unblock from the dashboard: the source is allowed again.
    let a = s.dash(
        "/api/actions",
        &ok,
        Some(&json!({"type": "unblock", "prefix": ip}).to_string()),
    );
    assert_eq!(a.status, 200, "{}", a.text);
    assert!(
        admin
            .get("/v1/blocks")
            .unwrap()
            .as_array()
            .unwrap()
            .is_empty()
    );
    assert_eq!(s.policy("/v1/check", &probe)["action"], "allow");
    assert_eq!(admin.get("/v1/audit").unwrap().as_array().unwrap().len(), 2);
    s.stop();
}

#[test]
fn a_trusted_network_cannot_be_blocked_from_the_dashboard() {
    let dir = tempfile::tempdir().unwrap();
    let s = TestServer::start_trusting(config(dir.path()), vec!["192.0.2.0/24".parse().unwrap()]);
    let (cookie, csrf, _) = s.login("ops");
    let ok = [("Cookie", cookie.as_str()), ("X-CSRF-Token", csrf.as_str())];
    let a = s.dash(
        "/api/actions",
        &ok,
        Some(
            &json!({"type": "block", "prefix": "192.0.2.0/25", "until": null, "reason": "oops"})
                .to_string(),
        ),
    );
    assert_eq!(a.status, 400, "{}", a.text);
    assert!(a.json()["error"].as_str().unwrap().contains("trusted"));
    assert!(
        s.admin_api()
            .get("/v1/blocks")
            .unwrap()
            .as_array()
            .unwrap()
            .is_empty()
    );
    s.stop();
}

#[test]
fn the_overview_counts_exactly_the_attempts_sent() {
    let dir = tempfile::tempdir().unwrap();
    let s = TestServer::start(config(dir.path()));
    let (cookie, _, _) = s.login("ops");
    let c = [("Cookie", cookie.as_str())];
    // Before any traffic: no attempt anywhere.
    let o = s.dash("/api/overview?hours=24", &c, None).json();
    let total: u64 = o["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["attempts"].as_u64().unwrap())
        .sum();
    assert_eq!(total, 0, "{o}");

    // 3 users sign in from their usual addresses, then fail once each from the same address
    // (familiar failures); a spray fails from 25 new addresses (unfamiliar failures); one more
    // success for a sprayed account from an address it never used.
    let mut items = Vec::new();
    for u in 0..3 {
        items.push(json!({"account": format!("staff{u}@example.org"), "outcome": "success", "source": format!("192.0.2.{}", 10 + u), "protocol": "imap"}));
    }
    for u in 0..3 {
        items.push(json!({"account": format!("staff{u}@example.org"), "outcome": "bad_password", "source": format!("192.0.2.{}", 10 + u), "protocol": "imap"}));
    }
    for i in 0..25 {
        items.push(json!({"account": format!("user{i:02}@example.org"), "outcome": "bad_password", "source": format!("198.51.100.{}", 1 + i), "protocol": "imap"}));
    }
    items.push(json!({"account": "user07@example.org", "outcome": "success", "source": "198.51.100.200", "protocol": "imap"}));
    let (attempts, failures, unfamiliar) = (32u64, 28u64, 25u64);
    assert_eq!(items.len() as u64, attempts);
    let r = s.policy("/v1/report/batch", &json!({"items": items}));
    assert!(
        r["results"]
            .as_array()
            .unwrap()
            .iter()
            .all(|x| x.get("error").is_none()),
        "{r}"
    );

    for hours in [1, 24, 48, 168, 720, 2160] {
        let a = s.dash(&format!("/api/overview?hours={hours}"), &c, None);
        assert_eq!(a.status, 200, "{}", a.text);
        let o = a.json();
        let buckets = o["timeline"].as_array().unwrap();
        assert!(!buckets.is_empty(), "{o}");
        assert!(
            buckets.len() <= 2000,
            "{hours} h: {} buckets",
            buckets.len()
        );
        let sum = |k: &str| -> u64 { buckets.iter().map(|b| b[k].as_u64().unwrap()).sum() };
        assert_eq!(sum("attempts"), attempts, "{hours} h: {o}");
        assert_eq!(sum("failures"), failures, "{hours} h: {o}");
        assert_eq!(sum("unfamiliar_failures"), unfamiliar, "{hours} h: {o}");
        // Every bucket says how wide it is; they follow each other without gaps or overlap.
        let width = buckets[0]["width_secs"].as_i64().unwrap();
        assert!(width > 0);
        let starts: Vec<i64> = buckets
            .iter()
            .map(|b| {
                assert_eq!(b["width_secs"].as_i64(), Some(width), "{b}");
                chrono_secs(b["start"].as_str().unwrap())
            })
            .collect();
        for w in starts.windows(2) {
            assert_eq!(w[1] - w[0], width, "{hours} h: {starts:?}");
        }
        assert_eq!(starts[0] % width, 0, "buckets are aligned to their width");
        // The verdicts in the window add up to the attempts.
        let verdicts: u64 = o["verdicts"]
            .as_object()
            .unwrap()
            .values()
            .map(|v| v.as_u64().unwrap())
            .sum();
        assert_eq!(verdicts, attempts, "{o}");
        assert!(o["now"].is_string());
        assert_eq!(o["shields"]["up"], false);
    }
    for bad in ["0", "2161", "-3", "many"] {
        let a = s.dash(&format!("/api/overview?hours={bad}"), &c, None);
        assert_eq!(a.status, 400, "hours={bad}: {}", a.text);
    }
    // The admin API's live report carries the same counts (`portcullis report --server`).
    let r = s.admin_api().get("/v1/report").unwrap();
    let tl = r["timeline"].as_array().unwrap();
    let sum = |k: &str| -> u64 { tl.iter().map(|b| b[k].as_u64().unwrap()).sum() };
    assert_eq!(
        (sum("attempts"), sum("failures"), sum("unfamiliar_failures")),
        (attempts, failures, unfamiliar),
        "{r}"
    );
    assert!(
        tl.iter().all(|b| b["width_secs"] == 60),
        "a minute of traffic: {r}"
    );
    assert_eq!(r["input"]["events"], attempts);
    assert_eq!(r["input"]["events_by_outcome"]["success"], 4);
    // The account page shows the account's attempts, newest first, with no password material.
    let a = s
        .dash("/api/accounts/Staff1%40Example.org", &c, None)
        .json();
    assert_eq!(a["account"], "staff1@example.org", "{a}");
    let recent = a["recent_attempts"].as_array().unwrap();
    assert_eq!(recent.len(), 2, "{a}");
    assert_eq!(recent[0]["outcome"], "bad_password");
    assert_eq!(
        recent[0]["familiar"], true,
        "the failure came from the user's own address"
    );
    assert_eq!(recent[1]["outcome"], "success");
    assert!(!a.to_string().contains("fingerprint") && !a.to_string().contains("pwhash"));
    s.stop();
}

/// Seconds since the epoch of an RFC 3339 UTC time as the server writes it.
fn chrono_secs(s: &str) -> i64 {
    portcullis_core::Timestamp::parse_rfc3339(s)
        .unwrap_or_else(|| panic!("not RFC 3339: {s}"))
        .unix_secs()
}

#[test]
fn sign_out_ends_the_session() {
    let dir = tempfile::tempdir().unwrap();
    let s = TestServer::start(config(dir.path()));
    let (cookie, csrf, _) = s.login("ops");
    let (other, _, _) = s.login("ops2");
    // Sign-out is a POST like any other: the CSRF token is required.
    let a = s.dash("/api/logout", &[("Cookie", &cookie)], Some("{}"));
    assert_eq!(a.status, 403, "{}", a.text);
    assert_eq!(
        s.dash("/api/state", &[("Cookie", &cookie)], None).status,
        200
    );

    let a = s.dash(
        "/api/logout",
        &[("Cookie", &cookie), ("X-CSRF-Token", &csrf)],
        Some("{}"),
    );
    assert_eq!(a.status, 200, "{}", a.text);
    assert_eq!(a.json(), json!({"ok": true}));
    // The browser is told to drop the cookie.
    assert_eq!(a.set_cookie.len(), 1);
    assert!(
        a.set_cookie[0].starts_with("portcullis_session=;"),
        "{:?}",
        a.set_cookie
    );
    assert!(attributes(&a.set_cookie[0]).contains(&"max-age=0".to_string()));
    // The old cookie and token are worthless now, even if the browser kept them.
    for path in ["/api/state", "/api/overview"] {
        assert_eq!(s.dash(path, &[("Cookie", &cookie)], None).status, 401);
    }
    let a = s.dash(
        "/api/actions",
        &[("Cookie", &cookie), ("X-CSRF-Token", &csrf)],
        Some(r#"{"type":"shields_up","protocols":[],"until":null}"#),
    );
    assert_eq!(a.status, 401, "{}", a.text);
    assert_eq!(
        s.dash("/api/session", &[("Cookie", &cookie)], None).json(),
        json!({"authenticated": false})
    );
    assert!(
        s.admin_api()
            .get("/v1/audit")
            .unwrap()
            .as_array()
            .unwrap()
            .is_empty()
    );
    // Another session is untouched.
    assert_eq!(
        s.dash("/api/state", &[("Cookie", &other)], None).status,
        200
    );
    s.stop();
}

#[test]
fn a_campaign_page_counts_what_its_sources_sent() {
    let dir = tempfile::tempdir().unwrap();
    let s = TestServer::start(config(dir.path()));
    let (cookie, _, _) = s.login("ops");
    let c = [("Cookie", cookie.as_str())];
    // A distributed spray: 30 addresses in two networks, each trying two of 60 accounts; and a
    // user signing in from home.
    let mut items = vec![
        json!({"account": "staff@example.org", "outcome": "success", "source": "192.0.2.10", "protocol": "imap"}),
    ];
    let mut sent: Vec<std::net::IpAddr> = Vec::new();
    for i in 0..60 {
        let src = if i % 2 == 0 {
            format!("198.51.100.{}", 1 + i / 4)
        } else {
            format!("203.0.113.{}", 1 + i / 4)
        };
        sent.push(src.parse().unwrap());
        items.push(json!({"account": format!("user{i:02}@example.org"), "outcome": "bad_password", "source": src, "protocol": "imap"}));
    }
    let r = s.policy("/v1/report/batch", &json!({ "items": items }));
    assert!(!r.to_string().contains("\"error\""), "{r}");

    let list = s.dash("/api/campaigns?state=all", &c, None).json();
    let campaigns = list["campaigns"].as_array().unwrap();
    let spray = campaigns
        .iter()
        .find(|x| x["kind"] == "password_spray")
        .unwrap_or_else(|| panic!("no spray campaign: {list}"));
    assert_eq!(spray["state"], "open");
    let id = spray["id"].as_str().unwrap();
    let a = s.dash(&format!("/api/campaigns/{id}"), &c, None);
    assert_eq!(a.status, 200, "{}", a.text);
    let d = a.json();
    let rows = d["sources"].as_array().unwrap();
    assert!(!rows.is_empty(), "{d}");
    let mut total = 0;
    for row in rows {
        let p: Prefix = row["source"].as_str().unwrap().parse().unwrap();
        let expect = sent.iter().filter(|ip| p.contains(**ip)).count() as u64;
        assert!(expect > 0, "{p} sent nothing: {d}");
        assert_eq!(row["attempts"].as_u64(), Some(expect), "{p}: {row}");
        assert_eq!(row["failures"].as_u64(), Some(expect), "{p}: {row}");
        assert_eq!(row["blocked"], false);
        total += expect;
    }
    let timeline: u64 = d["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["attempts"].as_u64().unwrap())
        .sum();
    // Every attempt from its sources since its first is on its chart (it is still open).
    assert_eq!(timeline, total, "{d}");
    // Every account tried from its sources is listed, once, even when the engine names none.
    let accounts = d["accounts"].as_array().unwrap();
    assert_eq!(accounts.len() as u64, total, "{d}");
    let names: std::collections::HashSet<&str> = accounts
        .iter()
        .map(|a| a["account"].as_str().unwrap())
        .collect();
    assert_eq!(names.len(), accounts.len());
    assert!(!names.contains("staff@example.org"));
    // Each of those accounts' pages says which campaign targeted it; the user's does not.
    let a = s
        .dash("/api/accounts/user59%40example.org", &c, None)
        .json();
    assert_eq!(a["campaigns"], json!([id]), "{a}");
    let a = s.dash("/api/accounts/staff%40example.org", &c, None).json();
    assert_eq!(a["campaigns"], json!([]), "{a}");
    assert!(
        accounts
            .iter()
            .all(|a| a["attempts"] == 1 && a["state"] == "targeted"),
        "{d}"
    );
    assert_eq!(
        s.dash("/api/campaigns/c404", &c, None).status,
        404,
        "an unknown campaign"
    );
    s.stop();
}
