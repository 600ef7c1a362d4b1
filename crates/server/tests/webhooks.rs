//! Webhooks against a real receiver on loopback: a spray fed through the native API reaches a
//! signed JSON hook and a Slack-format hook as `campaign_opened`, shields up as `shields_up`;
//! a hook whose receiver is down is retried and counted while every login request is still
//! answered.

mod common;

use portcullis_server::ServerConfig;
use portcullis_server::client::AdminClient;
use portcullis_server::sinks::webhooks::{WebhookConfig, sign};
use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::mpsc::{Receiver, channel};
use std::time::{Duration, Instant};

const TOKEN: &str = "test-admin-token-0123456789";
const KEY: &str = "api-key-xyz";
const SECRET: &str = "webhook-secret-0123456789";

/// One received request: (path, headers lower-cased, body).
type Received = (String, Vec<(String, String)>, String);

/// A minimal HTTP receiver answering 200 to every request, on its own thread.
fn receiver() -> (String, Receiver<Received>) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", l.local_addr().unwrap());
    let (tx, rx) = channel();
    std::thread::spawn(move || {
        for conn in l.incoming() {
            let Ok(mut s) = conn else { continue };
            s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
            let mut r = BufReader::new(s.try_clone().unwrap());
            let mut line = String::new();
            if r.read_line(&mut line).is_err() {
                continue;
            }
            let path = line.split_whitespace().nth(1).unwrap_or("").to_string();
            let mut headers = Vec::new();
            loop {
                let mut h = String::new();
                if r.read_line(&mut h).is_err() || h.trim().is_empty() {
                    break;
                }
                if let Some((k, v)) = h.split_once(':') {
                    headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
                }
            }
            let len: usize = headers
                .iter()
                .find(|(k, _)| k == "content-length")
                .and_then(|(_, v)| v.parse().ok())
                .unwrap_or(0);
            let mut body = vec![0u8; len];
            if r.read_exact(&mut body).is_err() {
                continue;
            }
            let _ =
                s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
            if tx
                .send((path, headers, String::from_utf8_lossy(&body).into_owned()))
                .is_err()
            {
                break;
            }
        }
    });
    (url, rx)
}

/// A loopback port nothing listens on.
fn closed_port() -> String {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let a = l.local_addr().unwrap();
    drop(l);
    format!("http://{a}/down")
}

/// Waits (bounded) for a request to `path` carrying `event`, keeping the others for later
/// calls: hooks deliver in parallel, in any order.
fn next_event(
    rx: &Receiver<Received>,
    seen: &mut Vec<Received>,
    path: &str,
    event: &str,
) -> Received {
    let matches = |got: &Received| {
        got.0 == path
            && match serde_json::from_str::<Value>(&got.2) {
                Ok(v) if path == "/json" => v["event"] == event,
                Ok(v) => v["text"].as_str().is_some_and(|t| t.contains(event)),
                Err(_) => false,
            }
    };
    if let Some(i) = seen.iter().position(&matches) {
        return seen.remove(i);
    }
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let got = rx
            .recv_timeout(left)
            .unwrap_or_else(|_| panic!("no {event} reached {path}"));
        if matches(&got) {
            return got;
        }
        seen.push(got);
    }
}

fn header<'a>(r: &'a Received, name: &str) -> &'a str {
    &r.1.iter().find(|(k, _)| k == name).unwrap().1
}

#[test]
fn findings_and_shields_reach_the_hooks_signed_and_a_dead_hook_slows_nothing() {
    let (url, rx) = receiver();
    let dir = tempfile::tempdir().unwrap();
    let cfg = ServerConfig {
        policy_listen: "127.0.0.1:0".into(),
        admin_listen: "127.0.0.1:0".into(),
        data_dir: dir.path().to_path_buf(),
        policy_api_key: KEY.into(),
        admin_token: TOKEN.into(),
        webhooks: vec![
            WebhookConfig {
                name: "soc".into(),
                url: format!("{url}/json"),
                format: "json".into(),
                secret: SECRET.into(),
                ..Default::default()
            },
            WebhookConfig {
                name: "chat".into(),
                url: format!("{url}/slack"),
                format: "slack".into(),
                ..Default::default()
            },
            WebhookConfig {
                name: "down".into(),
                url: closed_port(),
                format: "slack".into(),
                events: vec!["campaign_opened".into(), "source_flagged".into()],
                timeout_ms: 200,
                ..Default::default()
            },
        ],
        ..ServerConfig::default()
    };
    let srv = common::Running::start(cfg, Vec::new(), None);
    let agent = common::agent();
    let mut seen = Vec::new();

    // Staff signing in as usual, then a distributed spray: 30 addresses from two TEST-NET
    // ranges, each trying two of 60 accounts once.
    let mut items: Vec<Value> = (0..10)
        .map(|u| json!({"account": format!("staff{u}@example.org"), "outcome": "success", "source": format!("192.0.2.{}", 10 + u)}))
        .collect();
    for i in 0..60 {
        let src = if i % 2 == 0 {
            format!("198.51.100.{}", 1 + i / 4)
        } else {
            format!("203.0.113.{}", 1 + i / 4)
        };
        items.push(json!({"account": format!("user{i:02}@example.org"), "outcome": "bad_password", "source": src}));
    }
    let mut answered = 0;
    for chunk in items.chunks(10) {
        let mut r = agent
            .post(&format!("http://{}/v1/report/batch", srv.policy))
            .header("X-API-Key", KEY)
            .send(json!({ "items": chunk }).to_string())
            .unwrap();
        assert_eq!(
            r.status(),
            200,
            "{}",
            r.body_mut().read_to_string().unwrap()
        );
        answered += 1;
    }
    assert_eq!(answered, 7, "every request answered while a hook is down");

    let got = next_event(&rx, &mut seen, "/json", "campaign_opened");
    let received = portcullis_server::now();
    let ts: i64 = header(&got, "x-portcullis-timestamp").parse().unwrap();
    assert_eq!(
        header(&got, "x-portcullis-signature"),
        format!("sha256={}", sign(SECRET, ts, &got.2)),
        "the body is signed with the hook's secret"
    );
    let v: Value = serde_json::from_str(&got.2).unwrap();
    assert_eq!(v["type"], "portcullis.notification/v1");
    assert_eq!(v["data"]["kind"], "password_spray", "{v}");
    // For the record (docs/integrations.md), not an assertion: finding to receipt.
    let at: portcullis_core::Timestamp = serde_json::from_value(v["at"].clone()).unwrap();
    eprintln!(
        "webhook latency: {} ms from the finding to the receiver",
        (received.unix_micros() - at.unix_micros()) / 1000
    );
    let chat = next_event(&rx, &mut seen, "/slack", "password spray");
    assert!(
        serde_json::from_str::<Value>(&chat.2).unwrap()["text"]
            .as_str()
            .unwrap()
            .contains("detected"),
        "{}",
        chat.2
    );

    // Shields up from the admin API reaches the JSON hook with who did it.
    let admin = AdminClient::new(&format!("http://{}", srv.admin()), TOKEN);
    admin
        .post(
            "/v1/shields",
            &json!({"up": true, "actor": "ops-jane", "reason": "overnight spray"}),
        )
        .unwrap();
    let up = next_event(&rx, &mut seen, "/json", "shields_up");
    let v: Value = serde_json::from_str(&up.2).unwrap();
    assert_eq!(v["data"]["by"], "ops-jane");

    // The dead hook: tried again and counted, never in the way.
    let deadline = Instant::now() + Duration::from_secs(20);
    let metrics = loop {
        let m = agent
            .get(&format!("http://{}/metrics", srv.admin()))
            .call()
            .unwrap()
            .body_mut()
            .read_to_string()
            .unwrap();
        if m.contains("portcullis_webhook_retries_total{hook=\"down\"} ")
            && !m.contains("portcullis_webhook_retries_total{hook=\"down\"} 0")
        {
            break m;
        }
        assert!(Instant::now() < deadline, "no retry counted:\n{m}");
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(
        metrics.contains("portcullis_webhook_delivered_total{hook=\"down\"} 0"),
        "{metrics}"
    );
    assert!(
        !metrics.contains("portcullis_webhook_delivered_total{hook=\"soc\"} 0"),
        "{metrics}"
    );
    srv.stop();
}
