//! The server over real HTTP on loopback: Dovecot and wforce shapes, the native API, limits,
//! authentication, admin actions with their audit trail, metrics, and a restart that keeps
//! the admin state.

use base64::Engine as _;
use portcullis_server::ServerConfig;
use portcullis_server::client::{AdminClient, ClientError};
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

const TOKEN: &str = "test-admin-token-0123456789";
const USER: &str = "dovecot";
const PASS: &str = "policy-secret";
const KEY: &str = "api-key-xyz";

mod common;

struct TestServer {
    srv: common::Running,
    policy: SocketAddr,
    admin: SocketAddr,
    agent: ureq::Agent,
}

fn config(dir: &Path) -> ServerConfig {
    ServerConfig {
        policy_listen: "127.0.0.1:0".into(),
        admin_listen: "127.0.0.1:0".into(),
        data_dir: dir.to_path_buf(),
        policy_user: USER.into(),
        policy_password: PASS.into(),
        policy_api_key: KEY.into(),
        admin_token: TOKEN.into(),
        admin_rate_per_sec: 1000,
        admin_burst: 1000,
        body_limit_bytes: 4096,
        ..ServerConfig::default()
    }
}

impl TestServer {
    fn start(cfg: ServerConfig) -> TestServer {
        let srv = common::Running::start(cfg, Vec::new(), None);
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

    fn admin(&self) -> AdminClient {
        AdminClient::new(&format!("http://{}", self.admin), TOKEN)
    }

    /// POST to the policy listener; returns (status, body as JSON or string).
    fn post(&self, path: &str, headers: &[(&str, &str)], body: &str) -> (u16, Value) {
        let mut req = self.agent.post(&format!("http://{}{path}", self.policy));
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let mut resp = req.send(body.to_string()).unwrap();
        let status = resp.status().as_u16();
        let text = resp.body_mut().read_to_string().unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    fn get(&self, path: &str) -> (u16, String) {
        let mut resp = self
            .agent
            .get(&format!("http://{}{path}", self.policy))
            .header("X-API-Key", KEY)
            .call()
            .unwrap();
        let status = resp.status().as_u16();
        (status, resp.body_mut().read_to_string().unwrap())
    }

    /// GET from the policy listener with the given `Authorization` header.
    fn get_as(&self, path: &str, auth: &str) -> (u16, String) {
        let mut resp = self
            .agent
            .get(&format!("http://{}{path}", self.policy))
            .header("Authorization", auth)
            .call()
            .unwrap();
        let status = resp.status().as_u16();
        (status, resp.body_mut().read_to_string().unwrap())
    }
}

fn basic() -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{USER}:{PASS}"))
    )
}

/// What Dovecot 2.3 sends for `allow` (attributes as strings; tls a boolean).
const DOVECOT_ALLOW: &str = r#"{"login":"alice@example.org","pwhash":"a3f","remote":"203.0.113.9","device_id":"","protocol":"imap","session_id":"abcDEF123","tls":false}"#;

#[test]
fn dovecot_allow_and_report_with_basic_or_api_key() {
    let dir = tempfile::tempdir().unwrap();
    let s = TestServer::start(config(dir.path()));
    let auth = basic();
    let (st, v) = s.post(
        "/?command=allow",
        &[("Authorization", &auth)],
        DOVECOT_ALLOW,
    );
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["status"], 0);
    assert_eq!(v["msg"], "");
    // The URL ending in `&`: Dovecot appends `command=` to the existing query.
    let (st, v) = s.post(
        "/policy?tenant=a&command=allow",
        &[("X-API-Key", KEY)],
        DOVECOT_ALLOW,
    );
    assert_eq!((st, v["status"].as_i64()), (200, Some(0)));
    // wforce path form.
    let (st, _) = s.post("/command/allow", &[("X-API-Key", KEY)], DOVECOT_ALLOW);
    assert_eq!(st, 200);
    // report: booleans success / policy_reject; 2.4 adds fail_type.
    let (st, v) = s.post(
        "/?command=report",
        &[("Authorization", &auth)],
        r#"{"login":"alice@example.org","pwhash":"a3f","remote":"203.0.113.9","protocol":"imap","success":false,"policy_reject":false,"fail_type":"credentials","tls":true}"#,
    );
    assert_eq!((st, v["status"].as_str()), (200, Some("ok")));
    let m = s.admin().metrics().unwrap();
    assert!(
        m.contains("portcullis_requests_total{endpoint=\"allow\"} 3"),
        "{m}"
    );
    assert!(m.contains("portcullis_events_observed_total 1"), "{m}");
    // Each of the four decision requests was timed once, and the cumulative buckets end in all four.
    assert!(m.contains("portcullis_decision_seconds_count 4"), "{m}");
    assert!(
        m.contains("portcullis_decision_seconds_bucket{le=\"+Inf\"} 4"),
        "{m}"
    );
    s.stop();
}

#[test]
fn unauthenticated_oversized_deep_and_malformed_requests_are_refused_and_counted() {
    let dir = tempfile::tempdir().unwrap();
    let s = TestServer::start(config(dir.path()));
    let (st, _) = s.post("/?command=allow", &[], DOVECOT_ALLOW);
    assert_eq!(st, 401);
    let wrong = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{USER}:nope"))
    );
    let (st, _) = s.post(
        "/?command=allow",
        &[("Authorization", &wrong)],
        DOVECOT_ALLOW,
    );
    assert_eq!(st, 401);
    let (st, _) = s.post(
        "/?command=allow",
        &[("X-API-Key", "api-key-xyZ")],
        DOVECOT_ALLOW,
    );
    assert_eq!(st, 401);
    let big = format!(r#"{{"login":"{}"}}"#, "a".repeat(10_000));
    let (st, _) = s.post("/?command=allow", &[("X-API-Key", KEY)], &big);
    assert_eq!(st, 413);
    let deep = format!("{}{}", "[".repeat(50), "]".repeat(50));
    let (st, _) = s.post("/?command=allow", &[("X-API-Key", KEY)], &deep);
    assert_eq!(st, 400);
    let (st, _) = s.post("/?command=allow", &[("X-API-Key", KEY)], "{not json");
    assert_eq!(st, 400);
    let (st, _) = s.post("/?command=frobnicate", &[("X-API-Key", KEY)], "{}");
    assert_eq!(st, 404);
    let (st, _) = s.post("/", &[("X-API-Key", KEY)], "{}");
    assert_eq!(st, 404);
    let m = s.admin().metrics().unwrap();
    for line in [
        "reason=\"unauthorized\"} 3",
        "reason=\"body_too_large\"} 1",
        "reason=\"json_too_deep\"} 1",
        "reason=\"bad_json\"} 1",
        "reason=\"unknown_command\"} 2",
    ] {
        assert!(m.contains(line), "missing {line} in\n{m}");
    }
    s.stop();
}

#[test]
fn native_api_refuses_passwords_and_answers_batches() {
    let dir = tempfile::tempdir().unwrap();
    let s = TestServer::start(config(dir.path()));
    let k = [("X-API-Key", KEY)];
    let (st, v) = s.post(
        "/v1/check",
        &k,
        r#"{"account":"bob","source":"198.51.100.4","protocol":"imap","password_fingerprint":"0a1b"}"#,
    );
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["action"], "allow");
    assert_eq!(v["delay_secs"], 0);
    let (st, v) = s.post("/v1/check", &k, r#"{"account":"bob","password":"hunter2"}"#);
    assert_eq!(st, 400);
    assert!(
        v["reason"]
            .as_str()
            .unwrap()
            .contains("password_fingerprint"),
        "{v}"
    );
    let (st, _) = s.post(
        "/v1/report",
        &k,
        r#"{"account":"bob","outcome":"success","source":"nope"}"#,
    );
    assert_eq!(st, 400);
    let (st, _) = s.post("/v1/report", &k, r#"{"account":"bob","outcome":"guessed"}"#);
    assert_eq!(st, 400);
    let (st, v) = s.post(
        "/v1/report/batch",
        &k,
        r#"{"items":[
            {"account":"bob","outcome":"success","source":"198.51.100.4"},
            {"account":"bob","outcome":"bad_password","password":"x"},
            {"account":"carol","outcome":"bad_password","source":"203.0.113.5","password_fingerprint":"ff0"}
        ]}"#,
    );
    assert_eq!(st, 200, "{v}");
    let r = v["results"].as_array().unwrap();
    assert_eq!(r.len(), 3);
    assert_eq!(r[0]["action"], "allow");
    assert!(r[1]["error"].as_str().unwrap().contains("plaintext"));
    assert_eq!(r[2]["action"], "allow");
    let (st, v) = s.post(
        "/v1/check/batch",
        &k,
        r#"{"items":[{"account":"bob"},{"account":"dave","source":"2001:db8::1"}]}"#,
    );
    assert_eq!(st, 200);
    assert_eq!(v["results"].as_array().unwrap().len(), 2);
    let m = s.admin().metrics().unwrap();
    assert!(m.contains("reason=\"password_field\"} 2"), "{m}");
    s.stop();
}

#[test]
fn wforce_blacklist_round_trip_ping_and_stats() {
    let dir = tempfile::tempdir().unwrap();
    let s = TestServer::start(config(dir.path()));
    // The blacklist commands take the admin credential (the policy one gets 403).
    let admin_basic = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("wforce:{TOKEN}"))
    );
    let k = [("Authorization", admin_basic.as_str())];
    let (st, _) = s.post(
        "/?command=addBLEntry",
        &[("X-API-Key", KEY)],
        r#"{"ip":"203.0.113.66","expire_secs":3600,"reason":"too many failures"}"#,
    );
    assert_eq!(st, 403, "the policy credential cannot blacklist");
    let (st, v) = s.post(
        "/?command=addBLEntry",
        &k,
        r#"{"ip":"203.0.113.66","expire_secs":3600,"reason":"too many failures"}"#,
    );
    assert_eq!((st, v["status"].as_str()), (200, Some("ok")), "{v}");
    let (st, _) = s.post(
        "/command/addBLEntry",
        &k,
        r#"{"netmask":"198.51.100.0/24","expire_secs":60,"reason":"net"}"#,
    );
    assert_eq!(st, 200);
    let (st, _) = s.post(
        "/?command=addBLEntry",
        &k,
        r#"{"login":"Mallory@Example.org","expire_secs":60,"reason":"abuse"}"#,
    );
    assert_eq!(st, 200);
    let (st, _) = s.post("/?command=addBLEntry", &k, r#"{"ip":"203.0.113.1"}"#);
    assert_eq!(st, 400, "expire_secs is required");
    let (st, body) = s.get_as("/?command=getBL", &admin_basic);
    assert_eq!(st, 200);
    let v: Value = serde_json::from_str(&body).unwrap();
    let ips: Vec<&str> = v["bl_entries"]["ip"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["ip"].as_str().unwrap())
        .collect();
    assert_eq!(ips.len(), 2, "{v}");
    assert!(ips.contains(&"203.0.113.66") && ips.contains(&"198.51.100.0/24"));
    assert_eq!(v["bl_entries"]["login"][0]["login"], "mallory@example.org");
    let (st, _) = s.post("/?command=delBLEntry", &k, r#"{"ip":"203.0.113.66"}"#);
    assert_eq!(st, 200);
    let (st, _) = s.post("/?command=reset", &k, r#"{"login":"mallory@example.org"}"#);
    assert_eq!(st, 200);
    let (_, body) = s.get_as("/?command=getBL", &admin_basic);
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["bl_entries"]["ip"].as_array().unwrap().len(), 1, "{v}");
    assert_eq!(v["bl_entries"]["login"].as_array().unwrap().len(), 0, "{v}");
    let (st, body) = s.get("/?command=ping");
    assert_eq!((st, body.as_str()), (200, r#"{"status":"ok"}"#));
    let (st, body) = s.get("/command/stats");
    assert_eq!(st, 200);
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["commandstats"]["addBLEntry"], 4);
    // Every wforce change is in the audit log, attributed to the wforce API.
    let audit = s.admin().get("/v1/audit").unwrap();
    let audit = audit.as_array().unwrap();
    assert!(audit.len() >= 5, "{audit:?}");
    assert!(audit.iter().all(|e| e["via"] == "wforce-api"));
    s.stop();
}

#[test]
fn admin_actions_are_audited_durable_and_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let s = TestServer::start(config(dir.path()));
    let a = s.admin();
    let r = a
        .post(
            "/v1/blocks",
            &json!({"prefix": "203.0.113.0/24", "expires_in_secs": 3600, "actor": "ops-jane", "reason": "spray c1"}),
        )
        .unwrap();
    assert_eq!(r["status"], "ok");
    assert!(r["audit_seq"].as_i64().unwrap() > 0);
    a.post(
        "/v1/protections",
        &json!({"account": "Bob@Example.org", "mode": "internal_only", "actor": "ops-jane", "reason": "targeted"}),
    )
    .unwrap();
    a.post(
        "/v1/shields",
        &json!({"up": true, "protocols": ["imap", "pop3"], "actor": "ops-jane", "reason": "overnight spray"}),
    )
    .unwrap();
    a.post(
        "/v1/reset",
        &json!({"account": "carol", "actor": "ops-jane", "reason": "password reset done"}),
    )
    .unwrap();
    // The engine now refuses that network: Dovecot sees a negative status and the message.
    let blocked = DOVECOT_ALLOW.replace("203.0.113.9", "203.0.113.200");
    let (st, v) = s.post("/?command=allow", &[("X-API-Key", KEY)], &blocked);
    assert_eq!((st, v["status"].as_i64()), (200, Some(-1)), "{v}");
    assert_eq!(v["msg"], "Authentication failed");
    let (_, v) = s.post(
        "/v1/check",
        &[("X-API-Key", KEY)],
        r#"{"account":"x","source":"203.0.113.7"}"#,
    );
    assert_eq!(v["action"], "deny", "{v}");
    assert!(
        !v["reasons"].as_array().unwrap().is_empty(),
        "a deny says why: {v}"
    );
    // Who and why are mandatory.
    match a.post(
        "/v1/blocks",
        &json!({"prefix": "192.0.2.1", "actor": "x", "reason": ""}),
    ) {
        Err(ClientError::Http {
            status: 400, msg, ..
        }) => assert!(msg.contains("audited"), "{msg}"),
        other => panic!("{other:?}"),
    }
    match a.post(
        "/v1/blocks",
        &json!({"prefix": "not-an-ip", "actor": "x", "reason": "y"}),
    ) {
        Err(ClientError::Http { status: 400, .. }) => {}
        other => panic!("{other:?}"),
    }
    // A wrong token is refused.
    let bad = AdminClient::new(&format!("http://{}", s.admin), "wrong-token-0123456789");
    assert!(matches!(
        bad.get("/v1/blocks"),
        Err(ClientError::Http { status: 401, .. })
    ));
    s.stop();

    // Restart on the same store: the state is replayed and listed.
    let s = TestServer::start(config(dir.path()));
    let a = s.admin();
    let blocks = a.get("/v1/blocks").unwrap();
    assert_eq!(blocks[0]["prefix"], "203.0.113.0/24", "{blocks}");
    assert_eq!(blocks[0]["actor"], "ops-jane");
    let prots = a.get("/v1/protections").unwrap();
    assert_eq!(prots[0]["account"], "bob@example.org");
    assert_eq!(prots[0]["mode"], "internal_only");
    let (_, v) = s.post("/?command=allow", &[("X-API-Key", KEY)], &blocked);
    assert_eq!(v["status"], -1, "the block holds after a restart: {v}");
    let sh = a.get("/v1/shields").unwrap();
    assert_eq!(sh["protocols"], json!(["imap", "pop3"]));
    let audit = a.get("/v1/audit?limit=10").unwrap();
    let audit = audit.as_array().unwrap();
    assert_eq!(audit.len(), 4);
    assert_eq!(audit[0]["action"]["type"], "reset_account");
    assert_eq!(audit[0]["reason"], "password reset done");
    assert_eq!(audit[3]["action"]["type"], "block");
    a.post(
        "/v1/shields",
        &json!({"up": false, "actor": "ops-jane", "reason": "over"}),
    )
    .unwrap();
    assert_eq!(a.get("/v1/shields").unwrap(), Value::Null);
    assert!(
        a.get("/v1/campaigns")
            .unwrap()
            .as_array()
            .unwrap()
            .is_empty()
    );
    assert!(matches!(
        a.get("/v1/campaigns/c404"),
        Err(ClientError::Http { status: 404, .. })
    ));
    let report = a.get("/v1/report").unwrap();
    assert_eq!(report["schema"], "portcullis.report/v1");
    s.stop();
}

#[test]
fn failed_admin_authentications_are_rate_limited_and_health_endpoints_answer() {
    let dir = tempfile::tempdir().unwrap();
    let s = TestServer::start(ServerConfig {
        admin_rate_per_sec: 1,
        admin_burst: 3,
        ..config(dir.path())
    });
    // The operator's authenticated calls are never limited...
    let a = s.admin();
    for _ in 0..30 {
        a.get("/v1/blocks").unwrap();
    }
    // ...wrong tokens are.
    let wrong = AdminClient::new(&format!("http://{}", s.admin), "wrong-token-0123456789");
    let mut limited = 0;
    for _ in 0..30 {
        if let Err(ClientError::Http { status: 429, .. }) = wrong.get("/v1/blocks") {
            limited += 1;
        }
    }
    assert!(
        limited >= 20,
        "burst 3 at 1/s: most of 30 quick failures are refused ({limited})"
    );
    let (st, body) = s.get("/healthz");
    assert_eq!((st, body.as_str()), (200, "ok\n"));
    let (st, body) = s.get("/readyz");
    assert_eq!((st, body.as_str()), (200, "ready\n"));
    s.stop();
}

#[test]
fn findings_reach_the_store_and_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let s = TestServer::start(config(dir.path()));
    // A brute force from one address across many accounts: the engine flags it.
    for i in 0..60 {
        let body = format!(
            r#"{{"login":"user{i}@example.org","pwhash":"{:03x}","remote":"203.0.113.50","protocol":"imap","success":false,"policy_reject":false}}"#,
            i * 7
        );
        let (st, _) = s.post("/?command=report", &[("X-API-Key", KEY)], &body);
        assert_eq!(st, 200);
    }
    let (_, v) = s.post(
        "/?command=allow",
        &[("X-API-Key", KEY)],
        &DOVECOT_ALLOW.replace("203.0.113.9", "203.0.113.50"),
    );
    assert!(
        v["status"].as_i64().unwrap() != 0,
        "the flagged source is not simply allowed: {v}"
    );
    // Findings are durable within one group-commit interval; wait for it (bounded).
    let a = s.admin();
    let mut findings = Value::Null;
    for _ in 0..100 {
        findings = a.get("/v1/findings").unwrap();
        if !findings.as_array().unwrap().is_empty() {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(
        !findings.as_array().unwrap().is_empty(),
        "no finding stored"
    );
    let campaigns = a.get("/v1/campaigns").unwrap();
    let n_campaigns = campaigns.as_array().unwrap().len();
    s.stop();

    let s = TestServer::start(config(dir.path()));
    let a = s.admin();
    let again = a.get("/v1/findings").unwrap();
    assert_eq!(
        again.as_array().unwrap().len(),
        findings.as_array().unwrap().len()
    );
    assert_eq!(
        a.get("/v1/campaigns").unwrap().as_array().unwrap().len(),
        n_campaigns
    );
    if let Some(id) = campaigns
        .as_array()
        .unwrap()
        .first()
        .and_then(|c| c["id"].as_str())
    {
        let one = a.get(&format!("/v1/campaigns/{id}")).unwrap();
        assert_eq!(one["campaign"]["id"], id);
    }
    // The engine remembers across the restart (journal and snapshot): the flagged source is
    // still not allowed, and a same-kind attack after the restart continues the campaign under
    // its id instead of opening a new one.
    let (_, v) = s.post(
        "/?command=allow",
        &[("X-API-Key", KEY)],
        &DOVECOT_ALLOW.replace("203.0.113.9", "203.0.113.50"),
    );
    assert!(
        v["status"].as_i64().unwrap() != 0,
        "the flagged source is still not simply allowed after the restart: {v}"
    );
    let attempts = |c: &[Value]| -> u64 { c.iter().map(|c| c["attempts"].as_u64().unwrap()).sum() };
    let before_attempts = attempts(campaigns.as_array().unwrap());
    for i in 0..60 {
        let body = format!(
            r#"{{"login":"user{i}@example.org","pwhash":"{:03x}","remote":"198.51.100.77","protocol":"imap","success":false,"policy_reject":false}}"#,
            i * 7
        );
        assert_eq!(
            s.post("/?command=report", &[("X-API-Key", KEY)], &body).0,
            200
        );
    }
    // Campaign records are written every 10 minutes and at shutdown: stop to have them.
    s.stop();
    let s = TestServer::start(config(dir.path()));
    let a = s.admin();
    let after = a.get("/v1/campaigns").unwrap().as_array().unwrap().clone();
    assert!(
        attempts(&after) > before_attempts,
        "the campaign went on after the restart: {after:#?}"
    );
    let mut ids: Vec<&str> = after.iter().filter_map(|c| c["id"].as_str()).collect();
    let mut old_ids: Vec<&str> = campaigns
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["id"].as_str())
        .collect();
    old_ids.sort_unstable();
    let mut sorted = ids.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, old_ids, "the same campaigns, under the same ids");
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(
        ids.len(),
        after.len(),
        "a campaign id was reused: {after:#?}"
    );
    let m = a.metrics().unwrap();
    assert!(m.contains("portcullis_store_errors_total 0"), "{m}");
    s.stop();
}

/// The campaign record in the store follows the engine's: attempts made after the campaign's
/// last `campaign_updated` finding (at most one per `campaign_update_secs`, 10 min) are in
/// the record that survives a restart, because the server writes its campaigns' current
/// state at shutdown (and every 10 minutes).
#[test]
fn the_stored_campaign_is_the_engines_latest_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let s = TestServer::start(config(dir.path()));
    let brute = |s: &TestServer, from: usize, to: usize| {
        for i in from..to {
            let body = format!(
                r#"{{"login":"user{i}@example.org","pwhash":"{:03x}","remote":"203.0.113.60","protocol":"imap","success":false,"policy_reject":false}}"#,
                i * 7
            );
            assert_eq!(
                s.post("/?command=report", &[("X-API-Key", KEY)], &body).0,
                200
            );
        }
    };
    brute(&s, 0, 60);
    // The engine's view of the campaign after another 90 attempts, within seconds.
    brute(&s, 60, 150);
    let live = s.admin().get("/v1/report").unwrap();
    let campaign = live["campaigns"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| {
            c["sources"]
                .as_array()
                .unwrap()
                .iter()
                .any(|x| x == "203.0.113.60")
        })
        .expect("a campaign with the source")
        .clone();
    let id = campaign["id"].as_str().unwrap().to_string();
    let attempts = campaign["attempts"].as_u64().unwrap();
    assert!(attempts >= 100, "{campaign}");
    s.stop();

    let s = TestServer::start(config(dir.path()));
    let stored = s.admin().get(&format!("/v1/campaigns/{id}")).unwrap();
    assert_eq!(
        stored["campaign"]["attempts"].as_u64(),
        Some(attempts),
        "{stored}"
    );
    assert_eq!(
        stored["campaign"]["last_seen"], campaign["last_seen"],
        "{stored}"
    );
    s.stop();
}
