//! nginx's mail `auth_http` through the real server on loopback, in front of a small upstream
//! auth_http server started by the test (one user, one password, a backend it names): the
//! upstream's answers pass through and teach the engine, a spray from one address ends in
//! refusals the upstream never sees, the user it knows still gets in, portcullis's credential
//! never reaches the upstream, and an unreachable upstream is a counted temporary error.

use portcullis_engine::EngineConfig;
use portcullis_server::ServerConfig;
use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

mod common;

const KEY: &str = "nginx-policy-key";
const TOKEN: &str = "test-admin-token-0123456789";
const SITE_SECRET: &str = "the site's own auth_http secret";

/// The upstream auth_http server: `alice` with `right pw` gets the backend, anyone else an
/// error with `Auth-Wait`. Counts requests, and requests carrying portcullis's credential.
struct Upstream {
    addr: SocketAddr,
    requests: Arc<AtomicUsize>,
    leaks: Arc<AtomicUsize>,
    without_site_secret: Arc<AtomicUsize>,
}

impl Upstream {
    fn start() -> Upstream {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        let requests = Arc::new(AtomicUsize::new(0));
        let leaks = Arc::new(AtomicUsize::new(0));
        let without_site_secret = Arc::new(AtomicUsize::new(0));
        let (r, lk, ws) = (requests.clone(), leaks.clone(), without_site_secret.clone());
        std::thread::spawn(move || {
            for conn in l.incoming() {
                let Ok(mut conn) = conn else { continue };
                let mut h = HashMap::new();
                let mut reader = BufReader::new(conn.try_clone().unwrap());
                let mut line = String::new();
                reader.read_line(&mut line).unwrap();
                loop {
                    line.clear();
                    if reader.read_line(&mut line).unwrap() == 0 || line.trim().is_empty() {
                        break;
                    }
                    if let Some((k, v)) = line.split_once(':') {
                        h.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
                    }
                }
                r.fetch_add(1, Ordering::SeqCst);
                if h.contains_key("x-api-key") || h.contains_key("authorization") {
                    lk.fetch_add(1, Ordering::SeqCst);
                }
                if h.get("x-auth-key").map(String::as_str) != Some(SITE_SECRET) {
                    ws.fetch_add(1, Ordering::SeqCst);
                }
                let get = |k: &str| h.get(k).map(String::as_str).unwrap_or("");
                let answer = if get("auth-user") == "alice" && get("auth-pass") == "right%20pw" {
                    "Auth-Status: OK\r\nAuth-Server: 127.0.0.1\r\nAuth-Port: 1143\r\n"
                } else {
                    "Auth-Status: Invalid login or password\r\nAuth-Wait: 3\r\n"
                };
                let _ = write!(conn, "HTTP/1.0 200 OK\r\n{answer}\r\n");
            }
        });
        Upstream {
            addr,
            requests,
            leaks,
            without_site_secret,
        }
    }
    fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }
}

fn config(dir: &std::path::Path, upstream: &str) -> ServerConfig {
    ServerConfig {
        policy_listen: "127.0.0.1:0".into(),
        admin_listen: "127.0.0.1:0".into(),
        data_dir: dir.to_path_buf(),
        policy_api_key: KEY.into(),
        admin_token: TOKEN.into(),
        nginx_auth_upstream: upstream.into(),
        nginx_auth_timeout_ms: 2_000,
        ..ServerConfig::default()
    }
}

/// An engine whose tarpits last a second (the defaults, 5 and 10 s, only slow the test).
fn engine() -> EngineConfig {
    EngineConfig {
        tarpit_secs: 1,
        spray_tarpit_secs: 1,
        ..EngineConfig::default()
    }
}

/// What nginx sends for a LOGIN, as nginx 1.22 does (user and password URL-encoded).
fn ask(
    agent: &ureq::Agent,
    policy: SocketAddr,
    key: Option<&str>,
    user: &str,
    pass: &str,
    ip: &str,
) -> (u16, HashMap<String, String>) {
    let mut req = agent
        .get(&format!("http://{policy}/nginx/auth"))
        .header("Auth-Method", "plain")
        .header("Auth-User", user)
        .header("Auth-Pass", pass)
        .header("Auth-Protocol", "imap")
        .header("Auth-Login-Attempt", "1")
        .header("Client-IP", ip)
        .header("Client-Host", "[UNAVAILABLE]")
        .header("X-Auth-Key", SITE_SECRET);
    if let Some(k) = key {
        req = req.header("X-API-Key", k);
    }
    let resp = req.call().unwrap();
    let h = resp
        .headers()
        .iter()
        .map(|(k, v)| (k.as_str().to_string(), v.to_str().unwrap().to_string()))
        .collect();
    (resp.status().as_u16(), h)
}

fn metric(agent: &ureq::Agent, admin: SocketAddr, series: &str) -> f64 {
    let text = agent
        .get(&format!("http://{admin}/metrics"))
        .header("Authorization", &format!("Bearer {TOKEN}"))
        .call()
        .unwrap()
        .body_mut()
        .read_to_string()
        .unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.trim().parse().ok())
        .unwrap_or_else(|| panic!("no {series} in /metrics"))
}

#[test]
fn nginx_auth_in_front_of_an_upstream_stops_a_spray_the_upstream_never_sees() {
    let dir = tempfile::tempdir().unwrap();
    let up = Upstream::start();
    let srv = common::Running::start_with_engine(
        config(dir.path(), &format!("http://{}/auth", up.addr)),
        engine(),
        None,
    );
    let agent = common::agent();
    let p = srv.policy;

    // Without portcullis's credential: refused, the upstream not asked.
    let (status, _) = ask(&agent, p, None, "alice", "right%20pw", "198.51.100.20");
    assert_eq!(status, 401);
    assert_eq!(up.requests(), 0);

    // The user logs in: the upstream's answer comes back unchanged.
    let (status, h) = ask(&agent, p, Some(KEY), "alice", "right%20pw", "198.51.100.20");
    assert_eq!(status, 200);
    assert_eq!(h["auth-status"], "OK");
    assert_eq!(h["auth-server"], "127.0.0.1");
    assert_eq!(h["auth-port"], "1143");
    assert_eq!(up.requests(), 1);

    // A spray from one address over many accounts, one wrong password: the upstream answers
    // (and portcullis learns the failures) until the engine refuses; from then on the upstream
    // is never asked again.
    let sprayer = "203.0.113.50";
    let mut first_refusal = None;
    for i in 0..40 {
        let before = up.requests();
        let (status, h) = ask(
            &agent,
            p,
            Some(KEY),
            &format!("user{i:02}"),
            "Winter2025!",
            sprayer,
        );
        assert_eq!(status, 200);
        if h["auth-status"] == "Authentication failed" {
            // portcullis's own refusal: reject_message, no Auth-Wait (nginx closes), upstream not asked.
            assert!(!h.contains_key("auth-wait"), "{h:?}");
            assert_eq!(
                up.requests(),
                before,
                "the upstream was asked for a refused attempt"
            );
            first_refusal.get_or_insert(i);
        } else {
            assert!(
                first_refusal.is_none(),
                "attempt {i} reached the upstream after a refusal"
            );
            assert_eq!(h["auth-status"], "Invalid login or password");
            assert_eq!(h["auth-wait"], "3");
            assert_eq!(up.requests(), before + 1);
        }
    }
    let first = first_refusal.expect("the spray was never refused");
    assert!((5..=20).contains(&first), "refused from attempt {first}");
    let upstream_after_spray = up.requests();
    assert_eq!(upstream_after_spray, 1 + first);

    // The sprayer with alice's right password: refused all the same, upstream not asked.
    let (_, h) = ask(&agent, p, Some(KEY), "alice", "right%20pw", sprayer);
    assert_eq!(h["auth-status"], "Authentication failed");
    assert_eq!(up.requests(), upstream_after_spray);

    // The user, from her usual address, still gets in during the spray.
    let (_, h) = ask(&agent, p, Some(KEY), "alice", "right%20pw", "198.51.100.20");
    assert_eq!(h["auth-status"], "OK");
    assert_eq!(up.requests(), upstream_after_spray + 1);

    // portcullis's credential never reached the upstream; the site's own header always did.
    assert_eq!(up.leaks.load(Ordering::SeqCst), 0);
    assert_eq!(up.without_site_secret.load(Ordering::SeqCst), 0);

    let admin = srv.admin();
    let requests = metric(
        &agent,
        admin,
        "portcullis_requests_total{endpoint=\"nginx_auth\"}",
    );
    assert_eq!(requests as usize, 1 + 40 + 2);
    assert!(metric(&agent, admin, "portcullis_verdicts_total{action=\"deny\"}") >= 1.0);
    assert_eq!(
        metric(&agent, admin, "portcullis_events_observed_total") as usize,
        up.requests()
    );
    assert_eq!(
        metric(&agent, admin, "portcullis_nginx_upstream_errors_total"),
        0.0
    );
    srv.stop();
}

#[test]
fn an_unreachable_upstream_is_a_counted_temporary_error_and_no_upstream_is_a_404() {
    // A port nobody listens on.
    let closed = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let srv = common::Running::start_with_engine(
        config(dir.path(), &format!("http://{closed}/auth")),
        engine(),
        None,
    );
    let agent = common::agent();
    let (status, h) = ask(
        &agent,
        srv.policy,
        Some(KEY),
        "alice",
        "pw",
        "198.51.100.20",
    );
    assert_eq!(status, 200);
    assert_eq!(
        h["auth-status"],
        "Temporary server problem, try again later"
    );
    assert_eq!(h["auth-wait"], "3");
    let admin = srv.admin();
    assert_eq!(
        metric(&agent, admin, "portcullis_nginx_upstream_errors_total"),
        1.0
    );
    // Nothing was learned: the outcome is unknown.
    assert_eq!(
        metric(&agent, admin, "portcullis_events_observed_total"),
        0.0
    );
    srv.stop();

    let dir = tempfile::tempdir().unwrap();
    let srv = common::Running::start_with_engine(config(dir.path(), ""), engine(), None);
    let (status, _) = ask(
        &agent,
        srv.policy,
        Some(KEY),
        "alice",
        "pw",
        "198.51.100.20",
    );
    assert_eq!(status, 404);
    srv.stop();
}
