//! What the tests that run the real binary share: the binary itself with a clean environment,
//! `portcullis analyze`'s JSON report of a file, `portcullis serve` on ephemeral loopback ports
//! with first-run credentials, and a minimal HTTP/1.1 POST.

#![allow(dead_code)] // each test file uses its own part of this

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub fn bin() -> Command {
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

/// `portcullis analyze --format json --no-progress FILE`, which must succeed: its report.
pub fn analyze_json(path: &Path) -> serde_json::Value {
    let out = bin()
        .args(["analyze", "--format", "json", "--no-progress"])
        .arg(path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// A running `portcullis serve`, stopped (killed) when dropped.
pub struct Serve {
    child: Child,
    pub policy: String,
    pub admin: String,
}

impl Serve {
    /// Stops `serve` as systemd does (SIGTERM) and waits for it to exit cleanly.
    pub fn terminate(mut self) {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        assert!(sent.success(), "kill -TERM {pid}");
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(st) = self.child.try_wait().unwrap() {
                assert!(st.success(), "serve exited with {st} on SIGTERM");
                return;
            }
            assert!(Instant::now() < deadline, "serve did not stop on SIGTERM");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
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

pub fn serve(dir: &Path) -> Serve {
    serve_with(dir, "")
}

/// `serve` with `extra` appended to the `[server]` section of its config (keys or
/// `[[server.…]]` tables).
pub fn serve_with(dir: &Path, extra: &str) -> Serve {
    let cfg = dir.join("portcullis.toml");
    std::fs::write(
        &cfg,
        format!(
            "[server]\npolicy_listen = \"127.0.0.1:0\"\nadmin_listen = \"127.0.0.1:0\"\ndata_dir = {:?}\n{extra}",
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

/// A plain HTTP/1.1 POST (the tests need no client library): (status, body).
pub fn post(addr: &str, path: &str, auth: &str, body: &str) -> (u16, String) {
    let (status, _, body) = request(addr, "POST", path, &[("Authorization", auth)], body);
    (status, body)
}

/// A plain HTTP/1.1 request with extra headers: (status, response head, body).
pub fn request(
    addr: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, String, String) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let extra: String = headers
        .iter()
        .map(|(k, v)| format!("{k}: {v}\r\n"))
        .collect();
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\n{extra}Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
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
    let (head, body) = resp.split_once("\r\n\r\n").unwrap_or((&resp, ""));
    (status, head.to_string(), body.to_string())
}

pub fn basic(user: &str, password: &str) -> String {
    use base64::Engine as _;
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
    )
}

/// The first-run credentials `serve` wrote: (policy Basic authorization, admin token).
pub fn credentials(data: &Path) -> (String, String) {
    let cred: toml::Table =
        toml::from_str(&std::fs::read_to_string(data.join("credentials.toml")).unwrap()).unwrap();
    (
        basic(
            cred["policy_user"].as_str().unwrap(),
            cred["policy_password"].as_str().unwrap(),
        ),
        cred["admin_token"].as_str().unwrap().to_string(),
    )
}
