//! Slow and hostile clients against the real server on loopback: slow headers, silent and idle
//! connections, slow bodies, connection caps per address and overall, a bounded shutdown with
//! a request in progress, failed-authentication floods that must not lock the operator out,
//! the policy credential's lack of admin power on the wforce commands, strict Dovecot bodies,
//! and random requests against both routers. Loops are bounded in count and in time; nothing
//! asserts a duration.

use base64::Engine as _;
use portcullis_server::ServerConfig;
use serde_json::Value;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::Path;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

mod common;

const TOKEN: &str = "test-admin-token-0123456789";
const PASS: &str = "policy-secret";

fn config(dir: &Path) -> ServerConfig {
    ServerConfig {
        policy_listen: "127.0.0.1:0".into(),
        admin_listen: "127.0.0.1:0".into(),
        data_dir: dir.to_path_buf(),
        policy_password: PASS.into(),
        admin_token: TOKEN.into(),
        ..ServerConfig::default()
    }
}

fn basic(user: &str, pass: &str) -> String {
    let b = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"));
    format!("Basic {b}")
}

/// A connection to `to` from the loopback address `from`.
async fn connect_from(from: Ipv4Addr, to: SocketAddr) -> TcpStream {
    let s = TcpSocket::new_v4().unwrap();
    s.bind(SocketAddr::new(from.into(), 0)).unwrap();
    s.connect(to).await.unwrap()
}

/// One HTTP/1.1 request from `from` (Connection: close); (status, body).
async fn request(
    from: Ipv4Addr,
    to: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, String) {
    let mut c = connect_from(from, to).await;
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {to}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    req.push_str(body);
    c.write_all(req.as_bytes()).await.unwrap();
    read_response(&mut c).await
}

/// Reads a whole response (the server closes after it); (status, body).
async fn read_response(c: &mut TcpStream) -> (u16, String) {
    let mut out = Vec::new();
    tokio::time::timeout(Duration::from_secs(20), c.read_to_end(&mut out))
        .await
        .expect("an answer within 20 s")
        .unwrap();
    let text = String::from_utf8_lossy(&out).to_string();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}

/// Whether the server has closed `c` (EOF or reset) within `within`.
async fn closed_within(c: &mut TcpStream, within: Duration) -> bool {
    let mut b = [0u8; 256];
    let deadline = Instant::now() + within;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return false;
        }
        match tokio::time::timeout(left, c.read(&mut b)).await {
            Err(_) => return false,
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            Ok(Ok(_)) => continue,
        }
    }
}

/// A metric's value (the first line starting with `series`).
fn metric(admin: SocketAddr, series: &str) -> u64 {
    let mut r = common::agent()
        .get(&format!("http://{admin}/metrics"))
        .call()
        .unwrap();
    let text = r.body_mut().read_to_string().unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix(series))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no {series} in /metrics"))
}

const LOCAL: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 1);
const ALLOW: &str = r#"{"login":"alice@example.org","remote":"203.0.113.9","protocol":"imap"}"#;

#[test]
fn slow_headers_and_silent_connections_are_closed_while_logins_are_answered() {
    let dir = tempfile::tempdir().unwrap();
    let srv = common::Running::start(
        ServerConfig {
            header_read_timeout_ms: 300,
            idle_timeout_ms: 600,
            ..config(dir.path())
        },
        vec![],
        None,
    );
    let (policy, admin) = (srv.policy, srv.admin());
    srv.rt.block_on(async {
        let mut slow = Vec::new();
        let mut silent = Vec::new();
        for i in 0..150u8 {
            let from = Ipv4Addr::new(127, 0, 1, i % 50 + 2);
            let mut c = connect_from(from, policy).await;
            c.write_all(b"POST /?command=allow HTT").await.unwrap();
            slow.push(c);
            silent.push(connect_from(from, policy).await);
        }
        // A login is answered at once while all of them are open.
        let auth = basic("dovecot", PASS);
        let (st, body) = request(
            LOCAL,
            policy,
            "POST",
            "/?command=allow",
            &[("Authorization", &auth)],
            ALLOW,
        )
        .await;
        assert_eq!(st, 200, "{body}");
        // Every hostile connection is closed by the server (bounded wait).
        for c in slow.iter_mut().chain(silent.iter_mut()) {
            assert!(closed_within(c, Duration::from_secs(20)).await);
        }
        // A keep-alive connection that answered a request is closed once idle too.
        let mut ka = connect_from(LOCAL, policy).await;
        let req = format!(
            "POST /?command=allow HTTP/1.1\r\nHost: x\r\nAuthorization: {auth}\r\nContent-Length: {}\r\n\r\n{ALLOW}",
            ALLOW.len()
        );
        ka.write_all(req.as_bytes()).await.unwrap();
        let mut b = [0u8; 512];
        let n = ka.read(&mut b).await.unwrap();
        assert!(String::from_utf8_lossy(&b[..n]).starts_with("HTTP/1.1 200"));
        assert!(closed_within(&mut ka, Duration::from_secs(20)).await);
    });
    let header =
        r#"portcullis_connections_closed_total{listener="policy",reason="header_timeout"}"#;
    let idle = r#"portcullis_connections_closed_total{listener="policy",reason="idle_timeout"}"#;
    assert!(metric(admin, header) >= 150);
    assert!(metric(admin, idle) >= 151);
    srv.stop();
}

#[test]
fn a_slow_body_is_answered_408_and_counted() {
    let dir = tempfile::tempdir().unwrap();
    let srv = common::Running::start(
        ServerConfig {
            body_read_timeout_ms: 300,
            ..config(dir.path())
        },
        vec![],
        None,
    );
    let (policy, admin) = (srv.policy, srv.admin());
    srv.rt.block_on(async {
        let mut c = connect_from(LOCAL, policy).await;
        let head = format!(
            "POST /?command=allow HTTP/1.1\r\nHost: x\r\nAuthorization: {}\r\nContent-Length: {}\r\n\r\n",
            basic("dovecot", PASS),
            ALLOW.len()
        );
        c.write_all(head.as_bytes()).await.unwrap();
        c.write_all(&ALLOW.as_bytes()[..10]).await.unwrap();
        let (st, body) = read_response(&mut c).await;
        assert_eq!(st, 408, "{body}");
    });
    assert_eq!(
        metric(
            admin,
            r#"portcullis_rejected_requests_total{reason="body_timeout"}"#
        ),
        1
    );
    srv.stop();
}

#[test]
fn per_address_cap_refuses_and_a_full_listener_makes_room_for_a_working_client() {
    let dir = tempfile::tempdir().unwrap();
    let srv = common::Running::start(
        ServerConfig {
            max_connections: 64,
            max_connections_per_address: 8,
            ..config(dir.path())
        },
        vec![],
        None,
    );
    let (policy, admin) = (srv.policy, srv.admin());
    srv.rt.block_on(async {
        // One address: 8 connections are kept, the 9th is closed at once.
        let one = Ipv4Addr::new(127, 0, 2, 1);
        let mut kept = Vec::new();
        for _ in 0..8 {
            kept.push(connect_from(one, policy).await);
        }
        let mut ninth = connect_from(one, policy).await;
        assert!(closed_within(&mut ninth, Duration::from_secs(10)).await);
        // 200 silent connections from 40 addresses: far over the cap of 64.
        let mut flood = Vec::new();
        for i in 0..200u32 {
            let from = Ipv4Addr::new(127, 0, 3, (i % 40) as u8 + 1);
            flood.push(connect_from(from, policy).await);
        }
        // A working client is still served, again and again.
        let auth = basic("dovecot", PASS);
        for _ in 0..20 {
            let (st, body) = request(
                LOCAL,
                policy,
                "POST",
                "/?command=allow",
                &[("Authorization", &auth)],
                ALLOW,
            )
            .await;
            assert_eq!(st, 200, "{body}");
        }
        drop((kept, flood));
    });
    let r = |why: &str| {
        metric(
            admin,
            &format!(r#"portcullis_connections_closed_total{{listener="policy",reason="{why}"}}"#),
        )
    };
    assert_eq!(r("refused_per_address"), 1);
    // 208 silent connections for a cap of 64: each of the 144 over it either made room by
    // evicting the longest-idle connection (its address under its fair share of the cap) or
    // was refused (its address at or over it: the flood's addresses, once the cap is shared
    // among 41); the working client's address always held less, so it was always let in.
    assert!(
        r("evicted_idle") + r("refused_fair_share") >= 144,
        "{} {}",
        r("evicted_idle"),
        r("refused_fair_share")
    );
    assert!(r("refused_fair_share") > 0);
    assert_eq!(r("refused_cap"), 0);
    srv.stop();
}

#[test]
fn shutdown_answers_the_request_in_progress_and_is_bounded_whatever_clients_do() {
    let dir = tempfile::tempdir().unwrap();
    let srv = common::Running::start(
        ServerConfig {
            // Long enough that only the shutdown can end these connections.
            header_read_timeout_ms: 600_000,
            idle_timeout_ms: 600_000,
            body_read_timeout_ms: 600_000,
            shutdown_grace_ms: 1_500,
            ..config(dir.path())
        },
        vec![],
        None,
    );
    let policy = srv.policy;
    // The clients live on a runtime of their own: the server's ends with `stop`.
    let client = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (mut in_progress, mut slow) = client.block_on(async {
        let mut slow = connect_from(LOCAL, policy).await;
        slow.write_all(b"POST /?command=allow HTT").await.unwrap();
        let mut c = connect_from(LOCAL, policy).await;
        let head = format!(
            "POST /?command=allow HTTP/1.1\r\nHost: x\r\nAuthorization: {}\r\nContent-Length: {}\r\n\r\n",
            basic("dovecot", PASS),
            ALLOW.len()
        );
        c.write_all(head.as_bytes()).await.unwrap();
        c.write_all(&ALLOW.as_bytes()[..10]).await.unwrap();
        // Let the server read the head (the request is then in its handler).
        tokio::time::sleep(Duration::from_millis(300)).await;
        (c, slow)
    });
    let (tx, rx) = std::sync::mpsc::channel();
    let stopper = std::thread::spawn(move || {
        srv.stop();
        let _ = tx.send(());
    });
    client.block_on(async {
        tokio::time::sleep(Duration::from_millis(200)).await;
        in_progress
            .write_all(&ALLOW.as_bytes()[10..])
            .await
            .unwrap();
        let (st, body) = read_response(&mut in_progress).await;
        assert_eq!(st, 200, "the request in progress is answered: {body}");
        assert!(closed_within(&mut slow, Duration::from_secs(30)).await);
    });
    rx.recv_timeout(Duration::from_secs(30))
        .expect("shutdown finished despite a client that never sends its headers");
    stopper.join().unwrap();
}

#[test]
fn a_wrong_token_flood_never_locks_the_operator_out() {
    let dir = tempfile::tempdir().unwrap();
    let srv = common::Running::start(
        ServerConfig {
            admin_rate_per_sec: 1,
            admin_burst: 5,
            auth_failures_per_sec: 20,
            ..config(dir.path())
        },
        vec![],
        None,
    );
    let admin = srv.admin();
    let bearer = format!("Bearer {TOKEN}");
    srv.rt.block_on(async {
        let attacker = Ipv4Addr::new(127, 0, 4, 1);
        let mut codes = Vec::new();
        for _ in 0..100 {
            let (st, _) = request(
                attacker,
                admin,
                "GET",
                "/v1/blocks",
                &[("Authorization", "Bearer wrong-token-0123456789")],
                "",
            )
            .await;
            codes.push(st);
        }
        // Burst 5, then one a second: nearly all of 100 quick tries are refused.
        assert!(codes.iter().all(|&c| c == 401 || c == 429), "{codes:?}");
        assert!(codes[..5].iter().all(|&c| c == 401), "{codes:?}");
        assert!(
            codes.iter().filter(|&&c| c == 429).count() >= 50,
            "{codes:?}"
        );
        // The attacker's address is refused even with the right token: guessing is slow.
        let (st, _) = request(
            attacker,
            admin,
            "GET",
            "/v1/blocks",
            &[("Authorization", &bearer)],
            "",
        )
        .await;
        assert_eq!(st, 429);
        // Wrong tokens from many addresses exhaust the overall ceiling...
        for i in 0..100u32 {
            let from = Ipv4Addr::new(127, 0, 5, (i % 100) as u8 + 1);
            request(
                from,
                admin,
                "GET",
                "/v1/blocks",
                &[("Authorization", "Bearer nope")],
                "",
            )
            .await;
        }
        // ...and the operator is answered every time, during and after both floods.
        for _ in 0..30 {
            let (st, body) = request(
                LOCAL,
                admin,
                "GET",
                "/v1/blocks",
                &[("Authorization", &bearer)],
                "",
            )
            .await;
            assert_eq!(st, 200, "{body}");
        }
        // Dashboard sign-in: throttled per source, the operator signs in.
        let login =
            |user: &str, pass: &str| format!(r#"{{"username":"{user}","password":"{pass}"}}"#);
        let mut last = 0;
        for _ in 0..20 {
            last = request(
                attacker,
                admin,
                "POST",
                "/api/login",
                &[("Content-Type", "application/json")],
                &login("x", "guess"),
            )
            .await
            .0;
        }
        assert_eq!(last, 429);
        let (st, body) = request(
            LOCAL,
            admin,
            "POST",
            "/api/login",
            &[("Content-Type", "application/json")],
            &login("operator", TOKEN),
        )
        .await;
        assert_eq!(st, 200, "{body}");
    });
    srv.stop();
}

#[test]
fn the_policy_credential_cannot_blacklist_and_the_admin_one_passes_the_one_validation() {
    let dir = tempfile::tempdir().unwrap();
    let srv = common::Running::start(
        ServerConfig {
            wforce_admin_password: "wforce-admin-password-1".into(),
            ..config(dir.path())
        },
        vec![],
        None,
    );
    let (policy, admin) = (srv.policy, srv.admin());
    let dovecot = basic("dovecot", PASS);
    let as_admin = basic("wforce", TOKEN);
    let separate = basic("wforce", "wforce-admin-password-1");
    srv.rt.block_on(async {
        let post = |auth: String, cmd: &'static str, body: &'static str| async move {
            request(
                LOCAL,
                policy,
                "POST",
                &format!("/?command={cmd}"),
                &[("Authorization", &auth)],
                body,
            )
            .await
        };
        for (cmd, body) in [
            (
                "addBLEntry",
                r#"{"netmask":"0.0.0.0/0","expire_secs":60,"reason":"x"}"#,
            ),
            (
                "addBLEntry",
                r#"{"login":"ceo@example.org","expire_secs":60}"#,
            ),
            ("delBLEntry", r#"{"ip":"203.0.113.66"}"#),
            ("reset", r#"{"login":"ceo@example.org"}"#),
            ("getBL", ""),
        ] {
            let (st, b) = post(dovecot.clone(), cmd, body).await;
            assert_eq!(st, 403, "{cmd}: {b}");
            let v: Value = serde_json::from_str(&b).unwrap();
            assert_eq!(v["status"], "failure", "wforce's error shape: {b}");
        }
        // The policy credential still answers ping and stats.
        assert_eq!(post(dovecot.clone(), "ping", "").await.0, 200);
        assert_eq!(post(dovecot.clone(), "stats", "").await.0, 200);
        // The admin credential may blacklist, within the one validation of every block.
        let (st, b) = post(
            as_admin.clone(),
            "addBLEntry",
            r#"{"netmask":"0.0.0.0/0","expire_secs":60,"reason":"x"}"#,
        )
        .await;
        assert_eq!(st, 400, "{b}");
        let (st, b) = post(
            as_admin.clone(),
            "addBLEntry",
            r#"{"netmask":"::/0","expire_secs":60,"reason":"x"}"#,
        )
        .await;
        assert_eq!(st, 400, "{b}");
        let (st, b) = post(
            as_admin.clone(),
            "addBLEntry",
            r#"{"ip":"203.0.113.66","expire_secs":9223372036854775807,"reason":"x"}"#,
        )
        .await;
        assert_eq!(st, 400, "an absurd expiry is refused: {b}");
        let (st, b) = post(
            as_admin.clone(),
            "addBLEntry",
            r#"{"ip":"203.0.113.66","expire_secs":3600,"reason":"spray"}"#,
        )
        .await;
        assert_eq!(st, 200, "{b}");
        let (st, b) = post(separate.clone(), "delBLEntry", r#"{"ip":"203.0.113.66"}"#).await;
        assert_eq!(st, 200, "{b}");
        let (st, _) = post(basic("wforce", "not-the-password-000"), "getBL", "").await;
        assert_eq!(st, 401);
        // The audit log says who and why, even when the wforce client gave no reason.
        let bearer = format!("Bearer {TOKEN}");
        let (st, b) = request(
            LOCAL,
            admin,
            "GET",
            "/v1/audit",
            &[("Authorization", &bearer)],
            "",
        )
        .await;
        assert_eq!(st, 200);
        let audit: Value = serde_json::from_str(&b).unwrap();
        let audit = audit.as_array().unwrap();
        assert_eq!(audit.len(), 2, "{audit:?}");
        assert!(
            audit
                .iter()
                .all(|e| !e["reason"].as_str().unwrap().trim().is_empty()),
            "{audit:?}"
        );
    });
    srv.stop();
}

#[test]
fn dovecot_bodies_with_a_password_or_without_a_boolean_success_are_refused_and_counted() {
    let dir = tempfile::tempdir().unwrap();
    let srv = common::Running::start(config(dir.path()), vec![], None);
    let (policy, admin) = (srv.policy, srv.admin());
    let auth = basic("dovecot", PASS);
    let bad = r#"portcullis_rejected_requests_total{reason="bad_request"}"#;
    let pw = r#"portcullis_rejected_requests_total{reason="password_field"}"#;
    srv.rt.block_on(async {
        let post = |cmd: &'static str, body: &'static str| {
            let auth = auth.clone();
            async move {
                request(LOCAL, policy, "POST", &format!("/?command={cmd}"), &[("Authorization", &auth)], body).await
            }
        };
        for cmd in ["allow", "report"] {
            let (st, b) = post(cmd, r#"{"login":"a@example.org","remote":"203.0.113.9","password":"hunter2","success":true}"#).await;
            assert_eq!(st, 400, "{cmd}: {b}");
            assert!(!b.contains("hunter2"));
        }
        for body in [
            r#"{"login":"a@example.org","remote":"203.0.113.9"}"#,
            r#"{"login":"a@example.org","remote":"203.0.113.9","success":"maybe"}"#,
            r#"{"login":"a@example.org","remote":"203.0.113.9","success":[true]}"#,
        ] {
            let (st, b) = post("report", body).await;
            assert_eq!(st, 400, "{body}: {b}");
        }
        let (st, _) = post("report", r#"{"login":"a@example.org","remote":"203.0.113.9","success":"false"}"#).await;
        assert_eq!(st, 200);
    });
    assert_eq!(metric(admin, pw), 2);
    assert_eq!(metric(admin, bad), 3);
    assert_eq!(
        metric(admin, r#"portcullis_requests_total{endpoint="report"}"#),
        5
    );
    srv.stop();
}

/// A small deterministic generator (xorshift64*), so that a failure can be replayed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
        xs[(self.next() % xs.len() as u64) as usize]
    }
    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
}

#[test]
fn random_requests_to_both_routers_never_get_a_5xx_nor_stop_the_server() {
    let dir = tempfile::tempdir().unwrap();
    let srv = common::Running::start(
        ServerConfig {
            admin_rate_per_sec: 1000,
            admin_burst: 1000,
            ..config(dir.path())
        },
        vec![],
        None,
    );
    let (policy, admin) = (srv.policy, srv.admin());
    let methods = [
        "GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD", "BREW", "post",
    ];
    let paths = [
        "/",
        "/?command=allow",
        "/?command=report",
        "/?command=addBLEntry",
        "/?command=getBL",
        "/?command=",
        "/?command=nope&command=allow",
        "/command/allow",
        "/command/reset",
        "/command/%00",
        "/v1/check",
        "/v1/report",
        "/v1/check/batch",
        "/v1/report/batch",
        "/v1/password/check",
        "/v1/blocks",
        "/v1/unblock",
        "/v1/protections",
        "/v1/shields",
        "/v1/reset",
        "/v1/campaigns/%ff",
        "/v1/campaigns/1",
        "/v1/findings?limit=-1",
        "/v1/report?format=zzz",
        "/v1/audit?since=x",
        "/metrics",
        "/readyz",
        "/healthz",
        "/api/login",
        "/api/session",
        "/api/logout",
        "/api/campaigns",
        "/api/blocks",
        "/dashboard",
        "/static/../../etc/passwd",
        "//",
        "/%2e%2e/",
        "*",
    ];
    let auths = [
        String::new(),
        format!("Bearer {TOKEN}"),
        basic("dovecot", PASS),
        basic("wforce", TOKEN),
        "Basic !!!".into(),
        "Bearer ".into(),
    ];
    let bodies = [
        "",
        "{}",
        "[]",
        "null",
        r#"{"login":"a","remote":"203.0.113.1","success":true}"#,
        r#"{"ip":"10.0.0.0/8","netmask":"x","expire_secs":-1}"#,
        r#"{"prefix":"203.0.113.0/24","actor":"a","reason":"r","expires_in_secs":60}"#,
        r#"{"events":[{"account":"a","source":"203.0.113.1","outcome":"bad_password"}]}"#,
        r#"{"a":[[[[[[[[[[[[1]]]]]]]]]]]]}"#,
        r#"{"login":"\ud800","remote":"::ffff:1.2.3.4"}"#,
        "{\"login\":",
    ];
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut served = 0;
    srv.rt.block_on(async {
        for i in 0..600 {
            let to = if i % 2 == 0 { policy } else { admin };
            let method = rng.pick(&methods);
            let path = rng.pick(&paths);
            let auth = &auths[(rng.next() % auths.len() as u64) as usize];
            let mut body = rng.pick(&bodies).as_bytes().to_vec();
            if rng.next().is_multiple_of(4) {
                let n = (rng.next() % 300) as usize;
                body = rng.bytes(n);
            }
            let mut req = format!("{method} {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n");
            if !auth.is_empty() {
                req.push_str(&format!("Authorization: {auth}\r\n"));
            }
            match rng.next() % 5 {
                0 => req.push_str("Content-Type: application/json\r\n"),
                1 => req.push_str(
                    "X-CSRF-Token: x\r\nOrigin: http://evil\r\nCookie: portcullis_session=1\r\n",
                ),
                2 => req.push_str("Transfer-Encoding: chunked\r\n"),
                _ => {}
            }
            if !req.contains("chunked") {
                req.push_str(&format!("Content-Length: {}\r\n", body.len()));
            }
            req.push_str("\r\n");
            let mut bytes = req.into_bytes();
            if bytes.windows(7).any(|w| w == b"chunked") {
                bytes.extend_from_slice(format!("{:x}\r\n", body.len()).as_bytes());
                bytes.extend_from_slice(&body);
                bytes.extend_from_slice(b"\r\n0\r\n\r\n");
            } else {
                bytes.extend_from_slice(&body);
            }
            let mut c = connect_from(LOCAL, to).await;
            c.write_all(&bytes).await.unwrap();
            let (st, b) = read_response(&mut c).await;
            assert!(
                (100..500).contains(&st),
                "request {i}: {method} {path} answered {st}: {b}"
            );
            served += 1;
        }
    });
    assert_eq!(served, 600);
    srv.stop();
}
