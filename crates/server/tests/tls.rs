//! TLS on the listeners, over real sockets with a real certificate (generated per test run):
//! Dovecot-shaped policy requests and the admin client over https, no plain-HTTP fallback, a
//! client that never finishes its handshake does not hold up others, and the handshake
//! counters on /metrics.

use portcullis_server::client::AdminClient;
use portcullis_server::{Listeners, ServerConfig};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::time::Duration;
use ureq::tls::{Certificate, RootCerts, TlsConfig};

const TOKEN: &str = "test-admin-token-0123456789";
const KEY: &str = "api-key-xyz";

mod common;

/// The server under test, with its two addresses.
struct Server {
    srv: common::Running,
    policy: SocketAddr,
    admin: SocketAddr,
}

impl Server {
    fn start(cfg: ServerConfig) -> Server {
        let srv = common::Running::start(cfg, Vec::new(), None);
        Server {
            policy: srv.policy,
            admin: srv.admin(),
            srv,
        }
    }

    fn stop(self) {
        self.srv.stop();
    }
}

/// A self-signed certificate for 127.0.0.1 and localhost, written as PEM files.
fn certificate(dir: &Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let ck =
        rcgen::generate_simple_self_signed(vec!["127.0.0.1".into(), "localhost".into()]).unwrap();
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&cert, ck.cert.pem()).unwrap();
    std::fs::write(&key, ck.signing_key.serialize_pem()).unwrap();
    (cert, key)
}

fn config(dir: &Path, listeners: &str) -> ServerConfig {
    let (cert, key) = certificate(dir);
    ServerConfig {
        policy_listen: "127.0.0.1:0".into(),
        admin_listen: "127.0.0.1:0".into(),
        data_dir: dir.to_path_buf(),
        policy_api_key: KEY.into(),
        admin_token: TOKEN.into(),
        admin_rate_per_sec: 1000,
        admin_burst: 1000,
        tls_cert: cert,
        tls_key: key,
        tls_listeners: listeners.into(),
        ..ServerConfig::default()
    }
}

/// An https agent that trusts only the test certificate.
fn agent(cert: &Path) -> ureq::Agent {
    let pem = std::fs::read(cert).unwrap();
    let certs: Vec<Certificate<'static>> = ureq::tls::parse_pem(&pem)
        .filter_map(|i| match i.unwrap() {
            ureq::tls::PemItem::Certificate(c) => Some(c),
            _ => None,
        })
        .collect();
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(20)))
        .tls_config(
            TlsConfig::builder()
                .root_certs(RootCerts::new_with_certs(&certs))
                .build(),
        )
        .build()
        .into()
}

fn dovecot_allow(agent: &ureq::Agent, url: &str) -> Result<(u16, String), ureq::Error> {
    let mut r = agent
        .post(url)
        .header("X-API-Key", KEY)
        .header("Content-Type", "application/json")
        .send(r#"{"login":"alice@example.org","remote":"192.0.2.7","protocol":"imap","pwhash":"abc"}"#)?;
    Ok((r.status().as_u16(), r.body_mut().read_to_string()?))
}

fn metric(text: &str, line_start: &str) -> u64 {
    text.lines()
        .find_map(|l| l.strip_prefix(line_start))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no {line_start} in /metrics:\n{text}"))
}

#[test]
fn policy_and_admin_over_tls_with_no_plaintext_fallback() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), "both");
    let cert = cfg.tls_cert.clone();
    let s = Server::start(cfg);
    let https = agent(&cert);

    // A hostile or broken client that opens a connection and never handshakes.
    let mut stalled = TcpStream::connect(s.policy).unwrap();
    stalled.write_all(b"\x16\x03\x01").unwrap();

    // Dovecot's allow over https is answered while that connection hangs.
    let url = format!("https://127.0.0.1:{}/?command=allow", s.policy.port());
    let (status, body) = dovecot_allow(&https, &url).unwrap();
    assert_eq!(status, 200, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["status"], 0, "{body}");

    // Plain HTTP to the TLS port gets no HTTP answer.
    let mut plain = TcpStream::connect(s.policy).unwrap();
    plain
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    plain
        .write_all(b"POST /?command=allow HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}")
        .unwrap();
    let mut buf = Vec::new();
    let _ = plain.read_to_end(&mut buf);
    assert!(
        !buf.starts_with(b"HTTP/"),
        "plain HTTP was answered: {:?}",
        String::from_utf8_lossy(&buf)
    );

    // A client that does not trust the certificate is refused by its own TLS check.
    let public_roots: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(20)))
        .build()
        .into();
    assert!(dovecot_allow(&public_roots, &url).is_err());

    // The admin client over https, trusting the server's certificate.
    let admin_url = format!("https://127.0.0.1:{}", s.admin.port());
    let admin = AdminClient::with_ca_file(&admin_url, TOKEN, &cert).unwrap();
    let campaigns = admin.get("/v1/campaigns").unwrap();
    assert!(campaigns.is_object() || campaigns.is_array(), "{campaigns}");
    // Without the certificate it cannot connect.
    assert!(
        AdminClient::new(&admin_url, TOKEN)
            .get("/v1/campaigns")
            .is_err()
    );

    // The dashboard's session cookie is Secure on a TLS admin listener.
    let mut r = https
        .post(&format!("{admin_url}/api/login"))
        .header("Content-Type", "application/json")
        .send(format!(r#"{{"username":"operator","password":"{TOKEN}"}}"#))
        .unwrap();
    assert_eq!(
        r.status().as_u16(),
        200,
        "{}",
        r.body_mut().read_to_string().unwrap()
    );
    let cookie = r
        .headers()
        .get("set-cookie")
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        cookie.contains("; Secure") && cookie.contains("HttpOnly"),
        "{cookie}"
    );

    // Handshake counters: the refused plaintext and the untrusting client failed; the good
    // clients (Dovecot-shaped, admin) completed.
    let text = admin.metrics().unwrap();
    assert!(
        metric(
            &text,
            "portcullis_tls_handshakes_total{listener=\"policy\"}"
        ) >= 1
    );
    assert!(
        metric(
            &text,
            "portcullis_tls_handshake_failures_total{listener=\"policy\"}"
        ) >= 2
    );
    // (the admin client keeps its connection alive: one handshake for its calls)
    assert!(metric(&text, "portcullis_tls_handshakes_total{listener=\"admin\"}") >= 1);
    assert!(
        metric(
            &text,
            "portcullis_tls_handshake_failures_total{listener=\"admin\"}"
        ) >= 1
    );
    drop(stalled);
    s.stop();
}

#[test]
fn tls_on_the_policy_listener_only_leaves_the_admin_api_plain() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), "policy");
    let cert = cfg.tls_cert.clone();
    let s = Server::start(cfg);
    let url = format!("https://127.0.0.1:{}/?command=allow", s.policy.port());
    assert_eq!(dovecot_allow(&agent(&cert), &url).unwrap().0, 200);
    let admin = AdminClient::new(&format!("http://{}", s.admin), TOKEN);
    assert!(admin.get("/v1/campaigns").is_ok());
    s.stop();
}

#[test]
fn a_bad_certificate_stops_start_up_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(dir.path(), "both");
    std::fs::write(&cfg.tls_key, "not a key").unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let e = rt
        .block_on(Listeners::bind(&cfg))
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("tls_key") && e.contains("key.pem"), "{e}");
    cfg.tls_key = Default::default();
    let e = rt
        .block_on(Listeners::bind(&cfg))
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("tls_cert and tls_key go together"), "{e}");
}
