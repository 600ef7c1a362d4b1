//! SIEM sinks through the real binary: `portcullis serve` with a `[[server.siem]]` table sends
//! a brute force fed through the policy API to a UDP receiver as RFC 5424, naming the flagged
//! address; a sink with a bad address or format stops `serve` at start with an error naming
//! the key.

mod common;

use common::{bin, credentials, post, serve_with};
use serde_json::{Value, json};
use std::net::UdpSocket;
use std::time::{Duration, Instant};

#[test]
fn serve_sends_a_flagged_source_to_a_udp_siem_as_rfc5424() {
    let rx = UdpSocket::bind("127.0.0.1:0").unwrap();
    rx.set_read_timeout(Some(Duration::from_secs(1))).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let s = serve_with(
        tmp.path(),
        &format!(
            "[[server.siem]]\nname = \"soc\"\naddress = \"{}\"\ntransport = \"udp\"\nformat = \"rfc5424\"\nhostname = \"mx1.example.org\"\nevents = [\"source_flagged\"]\n",
            rx.local_addr().unwrap()
        ),
    );
    let (auth, _) = credentials(&tmp.path().join("data"));
    let items: Vec<Value> = (0..30)
        .map(|i| json!({"account": format!("user{}@example.org", i % 5), "outcome": "bad_password", "source": "203.0.113.77", "protocol": "imap"}))
        .collect();
    let (status, body) = post(
        &s.policy,
        "/v1/report/batch",
        &auth,
        &json!({ "items": items }).to_string(),
    );
    assert_eq!(status, 200, "{body}");

    let deadline = Instant::now() + Duration::from_secs(20);
    let mut buf = vec![0u8; 65536];
    let msg = loop {
        assert!(Instant::now() < deadline, "no message reached the SIEM");
        let Ok(n) = rx.recv(&mut buf) else { continue };
        break String::from_utf8(buf[..n].to_vec()).unwrap();
    };
    // authpriv (10) × 8 + notice (5); only the event the sink asked for.
    assert!(
        msg.starts_with("<85>1 ") && msg.contains(" mx1.example.org portcullis "),
        "{msg}"
    );
    assert!(msg.contains(" source_flagged [portcullis@32473 "), "{msg}");
    assert!(msg.contains(" source=\"203.0.113.77\""), "{msg}");
    assert!(msg.contains(" campaign=\"c"), "{msg}");
    s.terminate();
}

#[test]
fn a_siem_sink_that_cannot_work_stops_serve_naming_the_key() {
    for (table, needle) in [
        ("address = \"siem.example.org\"", "address"),
        (
            "address = \"siem.example.org:514\"\nformat = \"leef\"",
            "format",
        ),
    ] {
        let tmp = tempfile::tempdir().unwrap();
        let cfg = tmp.path().join("portcullis.toml");
        std::fs::write(
            &cfg,
            format!(
                "[server]\npolicy_listen = \"127.0.0.1:0\"\nadmin_listen = \"127.0.0.1:0\"\ndata_dir = {:?}\n[[server.siem]]\nname = \"soc\"\n{table}\n",
                tmp.path().join("data").display().to_string()
            ),
        )
        .unwrap();
        let out = bin()
            .arg("serve")
            .arg("--config")
            .arg(&cfg)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{err}");
        assert!(
            err.contains("siem") && err.contains("\"soc\"") && err.contains(needle),
            "{err}"
        );
    }
}
