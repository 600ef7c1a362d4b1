//! `portcullis report --server` against the real thing: the binary's `serve` on ephemeral
//! loopback ports with first-run credentials, a distributed password spray fed through the
//! native policy API, then the binary's `report` reading the live service (token from the data
//! directory's credentials.toml) and writing the HTML, CSV and STIX files.

use portcullis_server::client::AdminClient;
use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_portcullis"));
    // Credentials come from the first run or from the arguments, never from this environment.
    for v in [
        "PORTCULLIS_ADMIN_TOKEN",
        "PORTCULLIS_POLICY_PASSWORD",
        "PORTCULLIS_POLICY_API_KEY",
    ] {
        c.env_remove(v);
    }
    c.env("NO_COLOR", "1");
    c
}

/// A running `portcullis serve`, stopped (killed) when dropped.
struct Serve {
    child: Child,
    policy: String,
    admin: String,
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The value of `addr=` in a log line, without terminal colours.
fn addr_in(line: &str) -> Option<String> {
    let mut plain = String::new();
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            plain.push(c);
        }
    }
    let rest = &plain[plain.find("addr=")? + 5..];
    Some(rest.split_whitespace().next()?.to_string())
}

fn serve(dir: &Path) -> Serve {
    let cfg = dir.join("portcullis.toml");
    std::fs::write(
        &cfg,
        format!(
            "[server]\npolicy_listen = \"127.0.0.1:0\"\nadmin_listen = \"127.0.0.1:0\"\ndata_dir = {:?}\n",
            dir.join("data").display().to_string()
        ),
    )
    .unwrap();
    let mut child = bin()
        .arg("serve")
        .arg("--config")
        .arg(&cfg)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start portcullis serve");
    // The listeners bind port 0: read the addresses they got from the log.
    let (tx, rx) = std::sync::mpsc::channel();
    let stderr = child.stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let (mut policy, mut admin, mut log) = (None, None, Vec::new());
    let deadline = Instant::now() + Duration::from_secs(60);
    while policy.is_none() || admin.is_none() {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(line) => {
                if line.contains("policy listener up") {
                    policy = addr_in(&line);
                } else if line.contains("admin listener up") {
                    admin = addr_in(&line);
                }
                log.push(line);
            }
            Err(_) => {
                let _ = child.kill();
                panic!("serve did not report its listeners:\n{}", log.join("\n"));
            }
        }
    }
    Serve {
        child,
        policy: policy.unwrap(),
        admin: admin.unwrap(),
    }
}

/// A plain HTTP/1.1 POST (the test needs no client library for one endpoint).
fn post(addr: &str, path: &str, auth: &str, body: &str) -> (u16, String) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    write!(
        s,
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: {auth}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut resp = String::new();
    s.read_to_string(&mut resp).unwrap();
    let status = resp
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = resp.split_once("\r\n\r\n").map(|x| x.1).unwrap_or("");
    (status, body.to_string())
}

fn basic(user: &str, password: &str) -> String {
    use base64::Engine as _;
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
    )
}

#[test]
fn report_from_the_live_server_names_the_spray_it_saw() {
    let tmp = tempfile::tempdir().unwrap();
    let s = serve(tmp.path());
    let data = tmp.path().join("data");
    let cred: toml::Table =
        toml::from_str(&std::fs::read_to_string(data.join("credentials.toml")).unwrap()).unwrap();
    let auth = basic(
        cred["policy_user"].as_str().unwrap(),
        cred["policy_password"].as_str().unwrap(),
    );
    let token = cred["admin_token"].as_str().unwrap().to_string();

    // Staff signing in as usual, then a distributed spray: 30 addresses from two TEST-NET
    // ranges, each trying two of 60 accounts once.
    let mut items: Vec<Value> = (0..10)
        .map(|u| json!({"account": format!("staff{u}@example.org"), "outcome": "success", "source": format!("192.0.2.{}", 10 + u), "protocol": "imap"}))
        .collect();
    for i in 0..60 {
        let src = if i % 2 == 0 {
            format!("198.51.100.{}", 1 + i / 4)
        } else {
            format!("203.0.113.{}", 1 + i / 4)
        };
        items.push(json!({"account": format!("user{i:02}@example.org"), "outcome": "bad_password", "source": src, "protocol": "imap"}));
    }
    let (status, body) = post(
        &s.policy,
        "/v1/report/batch",
        &auth,
        &json!({ "items": items }).to_string(),
    );
    assert_eq!(status, 200, "{body}");
    assert!(!body.contains("\"error\""), "{body}");

    // The server raised a campaign (bounded wait for the engine and the store).
    let admin = AdminClient::new(&format!("http://{}", s.admin), &token);
    let mut live = Value::Null;
    for _ in 0..100 {
        live = admin.get("/v1/report").unwrap();
        if !live["campaigns"].as_array().unwrap().is_empty() {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let campaigns = live["campaigns"].as_array().unwrap();
    let spray = campaigns
        .iter()
        .find(|c| c["kind"] == "password_spray")
        .unwrap_or_else(|| panic!("no password spray raised: {live}"));
    let id = spray["id"].as_str().unwrap().to_string();

    // An admin blocks one of its sources; the report shows it under actions taken.
    admin
        .post(
            "/v1/blocks",
            &json!({"prefix": "198.51.100.0/24", "actor": "ops-jane", "reason": "spray sources", "expires_in_secs": 86400}),
        )
        .unwrap();

    // `portcullis report --server`, the token read from the data directory.
    let out = tmp.path().join("incident");
    let run = bin()
        .args(["report", "--server", &format!("http://{}", s.admin)])
        .arg("--data-dir")
        .arg(&data)
        .arg("--out")
        .arg(&out)
        .args(["--title", "Live spray"])
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "report --server failed: {}",
        String::from_utf8_lossy(&run.stderr)
    );
    let html = std::fs::read_to_string(out.join("incident-report.html")).unwrap();
    assert!(html.contains("Live spray"), "the title");
    assert!(html.contains(&id), "the HTML names campaign {id}");
    assert!(html.contains("password spray"), "and its kind");
    assert!(html.contains("198.51.100."), "and its sources");
    assert!(
        html.contains("ops-jane") && html.contains("spray sources"),
        "the block is an action taken"
    );
    assert!(
        !html.contains("(estimated)"),
        "the live service has a real time series: attempts over time are not estimated"
    );
    assert!(
        html.contains("70 recognised as login attempts"),
        "what was read: {}",
        {
            let i = html.find("What was read").unwrap_or(0);
            &html[i..(i + 600).min(html.len())]
        }
    );
    assert!(!html.contains(&token), "the token never reaches the report");
    let csv = std::fs::read_to_string(out.join("indicators.csv")).unwrap();
    assert!(
        csv.lines()
            .any(|l| l.contains("198.51.100.") && l.contains(&id)),
        "{csv}"
    );
    let stix: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("indicators.stix.json")).unwrap())
            .unwrap();
    let objects = stix["objects"].as_array().unwrap();
    assert!(objects.iter().any(|o| o["type"] == "campaign"), "{stix}");
    assert!(objects.iter().any(|o| o["type"] == "indicator"));

    // A wrong token is refused with the server's reason, and writes nothing.
    let out2 = tmp.path().join("refused");
    let run = bin()
        .args(["report", "--server", &format!("http://{}", s.admin)])
        .args(["--token", "not-the-admin-token-0123456789"])
        .arg("--out")
        .arg(&out2)
        .output()
        .unwrap();
    assert!(!run.status.success());
    let err = String::from_utf8_lossy(&run.stderr);
    assert!(err.contains("401"), "{err}");
    assert!(!out2.join("incident-report.html").exists());
    // No token anywhere: says where it looked.
    let run = bin()
        .args(["report", "--server", &format!("http://{}", s.admin)])
        .arg("--data-dir")
        .arg(tmp.path().join("nowhere"))
        .arg("--out")
        .arg(&out2)
        .output()
        .unwrap();
    assert!(!run.status.success());
    let err = String::from_utf8_lossy(&run.stderr);
    assert!(
        err.contains("no admin token") && err.contains("credentials.toml"),
        "{err}"
    );
}
