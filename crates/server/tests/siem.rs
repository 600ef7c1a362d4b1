//! SIEM sinks against real receivers on loopback: a brute force fed through the native API
//! reaches a UDP receiver as RFC 5424 messages and a TCP receiver (octet-counted frames,
//! checked byte by byte) as CEF, naming the flagged source and its campaign; a sink whose TCP
//! receiver is down is counted as failed while every login request is still answered.

mod common;

use portcullis_server::ServerConfig;
use portcullis_server::sinks::siem::SiemConfig;
use serde_json::{Value, json};
use std::io::Read;
use std::net::{TcpListener, UdpSocket};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::time::{Duration, Instant};

const KEY: &str = "api-key-xyz";
const TOKEN: &str = "test-admin-token-0123456789";
const HOST: &str = "mx-test.example.org";
const ATTACKER: &str = "203.0.113.9";

/// A UDP receiver: one message per datagram.
fn udp_receiver() -> (String, Receiver<String>) {
    let s = UdpSocket::bind("127.0.0.1:0").unwrap();
    let addr = s.local_addr().unwrap().to_string();
    let (tx, rx) = channel();
    std::thread::spawn(move || {
        let mut buf = vec![0u8; 65536];
        while let Ok(n) = s.recv(&mut buf) {
            let m = String::from_utf8(buf[..n].to_vec()).expect("UTF-8 datagram");
            if tx.send(m).is_err() {
                break;
            }
        }
    });
    (addr, rx)
}

/// Reads RFC 6587 octet-counted frames (`MSG-LEN SP SYSLOG-MSG`) from one connection; a frame
/// that breaks the grammar is sent on as `BAD FRAME: …` so that the test fails on it.
fn read_frames(mut s: std::net::TcpStream, tx: Sender<String>) {
    let mut data = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let n = match s.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        data.extend_from_slice(&buf[..n]);
        while let Some(sp) = data.iter().position(|&b| b == b' ') {
            let len = &data[..sp];
            let ok = !len.is_empty()
                && len[0] != b'0'
                && len.iter().all(u8::is_ascii_digit)
                && len.len() <= 6;
            if !ok {
                let _ = tx.send(format!("BAD FRAME: {:?}", String::from_utf8_lossy(&data)));
                return;
            }
            let len: usize = std::str::from_utf8(len).unwrap().parse().unwrap();
            if data.len() < sp + 1 + len {
                break;
            }
            let msg = String::from_utf8(data[sp + 1..sp + 1 + len].to_vec()).expect("UTF-8");
            data.drain(..sp + 1 + len);
            if tx.send(msg).is_err() {
                return;
            }
        }
    }
}

fn tcp_receiver() -> (String, Receiver<String>) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap().to_string();
    let (tx, rx) = channel();
    std::thread::spawn(move || {
        for conn in l.incoming() {
            let Ok(s) = conn else { continue };
            let tx = tx.clone();
            std::thread::spawn(move || read_frames(s, tx));
        }
    });
    (addr, rx)
}

/// A loopback port nothing listens on.
fn closed_port() -> String {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let a = l.local_addr().unwrap().to_string();
    drop(l);
    a
}

/// Waits (bounded) for a message that `wanted` accepts, keeping the others in `seen`.
fn next(
    rx: &Receiver<String>,
    seen: &mut Vec<String>,
    what: &str,
    wanted: impl Fn(&str) -> bool,
) -> String {
    if let Some(i) = seen.iter().position(|m| wanted(m)) {
        return seen.remove(i);
    }
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let m = rx
            .recv_timeout(left)
            .unwrap_or_else(|_| panic!("no {what} arrived; got {seen:#?}"));
        assert!(!m.starts_with("BAD FRAME"), "{m}");
        if wanted(&m) {
            return m;
        }
        seen.push(m);
    }
}

/// An RFC 5424 message taken apart: (PRI, TIMESTAMP, HOSTNAME, APP-NAME, MSGID, SD-PARAMs
/// unescaped, MSG). Panics on anything the grammar does not allow.
struct Rfc5424 {
    pri: u32,
    timestamp: String,
    hostname: String,
    app: String,
    msgid: String,
    sd_id: String,
    params: Vec<(String, String)>,
    msg: String,
}

fn parse_rfc5424(m: &str) -> Rfc5424 {
    let rest = m.strip_prefix('<').unwrap_or_else(|| panic!("no PRI: {m}"));
    let (pri, rest) = rest.split_once('>').unwrap();
    let rest = rest.strip_prefix("1 ").expect("VERSION 1");
    let mut head = rest.splitn(6, ' ');
    let mut word = || head.next().unwrap().to_string();
    let (timestamp, hostname, app, procid, msgid) = (word(), word(), word(), word(), word());
    let sd = head.next().unwrap();
    assert!(procid.parse::<u32>().is_ok(), "PROCID {procid}");
    for f in [&hostname, &app, &msgid] {
        assert!(
            !f.is_empty() && f.bytes().all(|b| (33..=126).contains(&b)),
            "{f}"
        );
    }
    let sd = sd.strip_prefix('[').expect("one SD-ELEMENT");
    let (sd_id, mut rest) = sd.split_once(' ').unwrap();
    let mut params = Vec::new();
    loop {
        let (name, after) = rest.split_once("=\"").expect("PARAM-NAME=\"");
        let mut value = String::new();
        let mut chars = after.char_indices();
        let end = loop {
            match chars.next().expect("closing quote") {
                (_, '\\') => {
                    let (_, c) = chars.next().unwrap();
                    assert!(matches!(c, '"' | '\\' | ']'), "escape \\{c}");
                    value.push(c);
                }
                (i, '"') => break i,
                (_, ']') => panic!("unescaped ] in {m}"),
                (_, c) => value.push(c),
            }
        };
        params.push((name.to_string(), value));
        rest = &after[end + 1..];
        if let Some(msg) = rest.strip_prefix("] ") {
            return Rfc5424 {
                pri: pri.parse().unwrap(),
                timestamp,
                hostname,
                app,
                msgid,
                sd_id: sd_id.to_string(),
                params,
                msg: msg.to_string(),
            };
        }
        rest = rest.strip_prefix(' ').expect("SP between SD-PARAMs");
    }
}

impl Rfc5424 {
    fn param(&self, k: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.as_str())
    }
}

/// A CEF line in an RFC 3164 header taken apart: (PRI, HOSTNAME, the seven header fields,
/// the extension's `key=value` pairs, unescaped).
fn parse_cef(m: &str) -> (u32, String, Vec<String>, Vec<(String, String)>) {
    let rest = m.strip_prefix('<').unwrap();
    let (pri, rest) = rest.split_once('>').unwrap();
    // Mmm dd hh:mm:ss (the day padded with a space), then HOSTNAME.
    let (stamp, rest) = rest.split_at(15);
    assert!(
        stamp.as_bytes()[3] == b' ' && stamp.as_bytes()[6] == b' ' && &stamp[9..10] == ":",
        "RFC 3164 TIMESTAMP: {stamp:?}"
    );
    let (host, body) = rest[1..].split_once(' ').unwrap();
    let body = body.strip_prefix("CEF:").expect("CEF:");
    let mut header = vec![String::new()];
    let mut chars = body.chars();
    while header.len() < 8 {
        match chars.next().expect("seven header fields") {
            '\\' => header.last_mut().unwrap().push(chars.next().unwrap()),
            '|' => header.push(String::new()),
            c => header.last_mut().unwrap().push(c),
        }
    }
    header.pop();
    let ext: String = chars.collect();
    // Split at each unescaped `=`: the key is the last word before it.
    let mut pairs: Vec<(String, String)> = Vec::new();
    let mut cur = String::new();
    let mut it = ext.chars();
    while let Some(c) = it.next() {
        match c {
            '\\' => match it.next().unwrap() {
                'n' => cur.push('\n'),
                'r' => cur.push('\r'),
                e => cur.push(e),
            },
            '=' => {
                let (before, key) = match cur.rfind(' ') {
                    Some(i) => (cur[..i].to_string(), cur[i + 1..].to_string()),
                    None => (String::new(), cur.clone()),
                };
                if let Some(last) = pairs.last_mut() {
                    last.1 = before;
                }
                pairs.push((key, String::new()));
                cur.clear();
            }
            c => cur.push(c),
        }
    }
    if let Some(last) = pairs.last_mut() {
        last.1 = cur;
    }
    (pri.parse().unwrap(), host.to_string(), header, pairs)
}

fn get<'a>(pairs: &'a [(String, String)], k: &str) -> Option<&'a str> {
    pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str())
}

fn metrics(addr: std::net::SocketAddr) -> String {
    common::agent()
        .get(&format!("http://{addr}/metrics"))
        .call()
        .unwrap()
        .body_mut()
        .read_to_string()
        .unwrap()
}

#[test]
fn a_brute_force_reaches_the_siem_as_rfc5424_and_cef_and_a_dead_siem_slows_nothing() {
    let (udp, udp_rx) = udp_receiver();
    let (tcp, tcp_rx) = tcp_receiver();
    let dir = tempfile::tempdir().unwrap();
    let cfg = ServerConfig {
        policy_listen: "127.0.0.1:0".into(),
        admin_listen: "127.0.0.1:0".into(),
        data_dir: dir.path().to_path_buf(),
        policy_api_key: KEY.into(),
        admin_token: TOKEN.into(),
        siem: vec![
            SiemConfig {
                name: "udp-5424".into(),
                address: udp,
                transport: "udp".into(),
                format: "rfc5424".into(),
                hostname: HOST.into(),
                ..Default::default()
            },
            SiemConfig {
                name: "tcp-cef".into(),
                address: tcp,
                transport: "tcp".into(),
                format: "cef".into(),
                facility: "local4".into(),
                hostname: HOST.into(),
                ..Default::default()
            },
            SiemConfig {
                name: "down".into(),
                address: closed_port(),
                transport: "tcp".into(),
                format: "cef".into(),
                timeout_ms: 200,
                ..Default::default()
            },
        ],
        ..ServerConfig::default()
    };
    let srv = common::Running::start(cfg, Vec::new(), None);
    let agent = common::agent();

    // One address failing 40 times against common account names: a brute force. The engine
    // files single-source detections under one campaign (no sources of its own); the flag
    // names the address and that campaign.
    let items: Vec<Value> = (0..40)
        .map(|i| json!({"account": format!("user{}@example.org", i % 8), "outcome": "bad_password", "source": ATTACKER}))
        .collect();
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
    assert_eq!(answered, 4, "every request answered while a SIEM is down");

    // RFC 5424 over UDP: the flagged source, then the campaign it belongs to.
    let mut seen = Vec::new();
    let flagged = next(&udp_rx, &mut seen, "RFC 5424 source_flagged", |m| {
        parse_rfc5424(m).msgid == "source_flagged"
    });
    let received = portcullis_server::now();
    let f = parse_rfc5424(&flagged);
    assert_eq!(f.pri, 10 * 8 + 5, "authpriv, notice: {flagged}");
    assert_eq!((f.hostname.as_str(), f.app.as_str()), (HOST, "portcullis"));
    assert_eq!(f.sd_id, "portcullis@32473");
    assert_eq!(f.param("source"), Some(ATTACKER), "{flagged}");
    let campaign = f.param("campaign").expect("a campaign").to_string();
    assert!(f.msg.contains(ATTACKER), "{flagged}");
    let at = portcullis_core::Timestamp::parse_rfc3339(&f.timestamp).expect("RFC 3339 time");
    // For the record (docs/integrations.md), not an assertion: finding to receipt.
    eprintln!(
        "siem latency: {} ms from the finding to the UDP receiver",
        (received.unix_micros() - at.unix_micros()) / 1000
    );
    let opened = next(&udp_rx, &mut seen, "RFC 5424 campaign_opened", |m| {
        parse_rfc5424(m).msgid == "campaign_opened"
    });
    let o = parse_rfc5424(&opened);
    assert_eq!(o.pri, 10 * 8 + 4, "authpriv, warning: {opened}");
    assert_eq!(o.param("id"), Some(campaign.as_str()), "{opened}");
    assert_eq!(o.param("kind"), Some("brute_force"), "{opened}");

    // CEF over TCP, in octet-counted frames.
    let mut seen = Vec::new();
    let flagged = next(&tcp_rx, &mut seen, "CEF source_flagged", |m| {
        m.contains("|source_flagged|")
    });
    let (pri, host, header, ext) = parse_cef(&flagged);
    assert_eq!(pri, 20 * 8 + 5, "local4, notice: {flagged}");
    assert_eq!(host, HOST);
    assert_eq!(
        header[..3]
            .iter()
            .chain(&header[4..])
            .map(String::as_str)
            .collect::<Vec<_>>(),
        [
            "0",
            "portcullis",
            "portcullis",
            "source_flagged",
            "Source flagged",
            "5"
        ]
    );
    assert_eq!(get(&ext, "src"), Some(ATTACKER), "{flagged}");
    assert_eq!(get(&ext, "cs1Label"), Some("campaignId"));
    assert_eq!(get(&ext, "cs1"), Some(campaign.as_str()), "{flagged}");
    assert_eq!(get(&ext, "act"), Some("flagged"));
    assert!(get(&ext, "rt").is_some_and(|t| t.parse::<i64>().is_ok()));
    let opened = next(&tcp_rx, &mut seen, "CEF campaign_opened", |m| {
        m.contains("|campaign_opened|")
    });
    let (_, _, header, ext) = parse_cef(&opened);
    assert_eq!(header[5], "Campaign opened: brute force");
    assert_eq!(header[6], "7");
    assert_eq!(get(&ext, "cs1"), Some(campaign.as_str()), "{opened}");
    assert_eq!(get(&ext, "cs3"), Some("brute_force"));

    // The dead SIEM: retried, then counted as failed; nothing sent; never in the way.
    let deadline = Instant::now() + Duration::from_secs(30);
    let m = loop {
        let m = metrics(srv.admin());
        if m.contains("portcullis_siem_failed_total{sink=\"down\"} ")
            && !m.contains("portcullis_siem_failed_total{sink=\"down\"} 0")
        {
            break m;
        }
        assert!(Instant::now() < deadline, "no failure counted:\n{m}");
        std::thread::sleep(Duration::from_millis(200));
    };
    assert!(
        m.contains("portcullis_siem_sent_total{sink=\"down\"} 0"),
        "{m}"
    );
    for sink in ["udp-5424", "tcp-cef"] {
        assert!(
            !m.contains(&format!("portcullis_siem_sent_total{{sink=\"{sink}\"}} 0")),
            "{m}"
        );
        assert!(
            m.contains(&format!(
                "portcullis_siem_failed_total{{sink=\"{sink}\"}} 0"
            )),
            "{m}"
        );
    }
    srv.stop();
}

#[test]
fn a_tcp_sink_reconnects_when_its_receiver_closes_the_connection() {
    use portcullis_engine::AdminAction;
    use portcullis_server::sinks::notice::Notice;
    use portcullis_server::sinks::siem;

    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let sink = SiemConfig {
        name: "soc".into(),
        address: l.local_addr().unwrap().to_string(),
        transport: "tcp".into(),
        ..Default::default()
    };
    let siem = siem::start(&[sink]).unwrap();
    let notice =
        |by: &str| Notice::admin(portcullis_server::now(), &AdminAction::ShieldsDown, by).unwrap();
    // The receiver reads one frame from each connection, then closes it (a SIEM restarting).
    let (tx, rx) = channel();
    std::thread::spawn(move || {
        for conn in l.incoming().take(2) {
            let (ftx, frx) = channel();
            let s = conn.unwrap();
            let reader = s.try_clone().unwrap();
            std::thread::spawn(move || read_frames(reader, ftx));
            let m = frx.recv_timeout(Duration::from_secs(20)).unwrap();
            s.shutdown(std::net::Shutdown::Both).unwrap();
            tx.send(m).unwrap();
        }
    });
    siem.notify(&notice("first"));
    let first = rx.recv_timeout(Duration::from_secs(20)).expect("first");
    assert!(
        parse_rfc5424(&first).param("by") == Some("first"),
        "{first}"
    );
    siem.notify(&notice("second"));
    let second = rx.recv_timeout(Duration::from_secs(20)).expect("second");
    assert!(
        parse_rfc5424(&second).param("by") == Some("second"),
        "{second}"
    );
    let stats = siem.iter().next().unwrap().stats();
    let load = |c: &std::sync::atomic::AtomicU64| c.load(std::sync::atomic::Ordering::Relaxed);
    // The counter follows the write, which the receiver may see first.
    let deadline = Instant::now() + Duration::from_secs(20);
    while load(&stats.sent) < 2 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!((load(&stats.sent), load(&stats.failed)), (2, 0));
}
