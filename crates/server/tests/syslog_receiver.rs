//! Syslog receiver over real sockets on 127.0.0.1 (ephemeral ports): RFC 3164 and RFC 5424
//! sshd and Dovecot messages over UDP and TCP (octet counting and newline framing) reach a
//! real engine; malformed and oversize messages, the connection limit and the idle timeout
//! are counted. Waits use a generous deadline, never a timing assertion.

use parking_lot::Mutex;
use portcullis_core::{AuthEvent, NormalizeOptions, Outcome};
use portcullis_engine::{Engine, EngineConfig};
use portcullis_server::syslog::{
    SyslogListeners, SyslogOptions, SyslogReceiver, SyslogStats, start,
};
use portcullis_server::{EngineHandle, ServerConfig, start_engine};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio::io::AsyncWriteExt;

/// The real Dovecot line of the crowdsec hub test `dovecot-logs`
/// (github.com/crowdsecurity/hub, .tests/dovecot-logs), without its BSD header.
const DOVECOT_MSG: &str = "imap-login: Disconnected (auth failed, 1 attempts in 6 secs): \
    user=<toto@toto.com>, method=PLAIN, rip=1.1.1.1, lip=7.7.7.7, TLS, session=<azdaDADSqqsvf-za>";

fn sshd_msg(user: &str, ip: &str) -> String {
    format!("Failed password for invalid user {user} from {ip} port 40222 ssh2")
}

struct Harness {
    handle: EngineHandle,
    seen: Arc<Mutex<Vec<AuthEvent>>>,
    _dir: tempfile::TempDir,
}

fn harness() -> (Harness, portcullis_server::syslog::EventSink) {
    let dir = tempfile::tempdir().unwrap();
    let cfg = ServerConfig {
        data_dir: dir.path().to_path_buf(),
        allow_unauthenticated: true,
        admin_listen: String::new(),
        ..ServerConfig::default()
    };
    let handle = start_engine(&cfg, Engine::new(EngineConfig::default())).unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let (h, s) = (handle.clone(), seen.clone());
    let sink: portcullis_server::syslog::EventSink = Arc::new(move |ev: &AuthEvent| {
        h.observe(ev);
        s.lock().push(ev.clone());
    });
    (
        Harness {
            handle,
            seen,
            _dir: dir,
        },
        sink,
    )
}

async fn wait_until(what: &str, mut ok: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !ok() {
        assert!(Instant::now() < deadline, "gave up waiting for {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

fn load(c: &AtomicU64) -> u64 {
    c.load(Ordering::Relaxed)
}

async fn receiver(
    opts: SyslogOptions,
    sink: portcullis_server::syslog::EventSink,
) -> (
    portcullis_server::syslog::SyslogTask,
    SocketAddr,
    SocketAddr,
    Arc<SyslogStats>,
) {
    let lo: SocketAddr = "127.0.0.1:0".parse().unwrap();
    let l = SyslogListeners::bind(Some(lo), Some(lo)).await.unwrap();
    let (u, t) = (l.udp_addr().unwrap(), l.tcp_addr().unwrap());
    let rx = SyslogReceiver::new(opts, sink).unwrap();
    let stats = rx.stats().clone();
    (start(l, rx), u, t, stats)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rfc3164_and_rfc5424_over_udp_and_both_tcp_framings_reach_the_engine() {
    let (h, sink) = harness();
    let (task, udp_addr, tcp_addr, stats) = receiver(SyslogOptions::default(), sink).await;

    // UDP: one message per datagram, RFC 3164 and RFC 5424.
    let udp = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let m1 = format!(
        "<38>Nov 20 10:00:01 mx sshd[101]: {}",
        sshd_msg("udp3164", "198.51.100.1")
    );
    let m2 = format!(
        "<38>1 2026-11-20T10:00:02.123456+00:00 mx sshd 102 - - {}",
        sshd_msg("udp5424", "198.51.100.2")
    );
    for m in [&m1, &m2] {
        udp.send_to(m.as_bytes(), udp_addr).await.unwrap();
    }

    // TCP, octet counting (RFC 6587 3.4.1), Dovecot in RFC 5424 and sshd in RFC 3164.
    let m3 = format!("<22>1 2026-11-20T10:00:03Z mail dovecot 7508 - - {DOVECOT_MSG}");
    let m4 = format!(
        "<38>Nov 20 10:00:04 mx sshd[104]: {}",
        sshd_msg("tcpcount", "198.51.100.4")
    );
    let mut tcp = tokio::net::TcpStream::connect(tcp_addr).await.unwrap();
    let mut framed = Vec::new();
    for m in [&m3, &m4] {
        framed.extend_from_slice(format!("{} {m}", m.len()).as_bytes());
    }
    // Split in an awkward place: frames span reads.
    tcp.write_all(&framed[..7]).await.unwrap();
    tcp.flush().await.unwrap();
    tcp.write_all(&framed[7..]).await.unwrap();
    drop(tcp);

    // TCP, newline framing (RFC 6587 3.4.2), as rsyslog's `@@host:port` sends by default.
    let m5 = format!(
        "<38>Nov 20 10:00:05 mx sshd[105]: {}",
        sshd_msg("tcpline", "198.51.100.5")
    );
    let m6 = format!(
        "<38>1 2026-11-20T10:00:06+01:00 mx sshd 106 - [meta x=\"]\"] {}",
        sshd_msg("tcpline5424", "198.51.100.6")
    );
    let mut tcp = tokio::net::TcpStream::connect(tcp_addr).await.unwrap();
    tcp.write_all(format!("{m5}\n{m6}\n").as_bytes())
        .await
        .unwrap();
    drop(tcp);

    wait_until("six events", || h.seen.lock().len() >= 6).await;
    task.stop().await;

    let seen = h.seen.lock().clone();
    let mut accounts: Vec<(String, String)> = seen
        .iter()
        .map(|e| {
            assert_ne!(e.outcome, Outcome::Success, "{e:?}");
            (
                e.account.name.clone(),
                e.source.map(|s| s.to_string()).unwrap_or_default(),
            )
        })
        .collect();
    accounts.sort();
    let want = [
        ("tcpcount", "198.51.100.4"),
        ("tcpline", "198.51.100.5"),
        ("tcpline5424", "198.51.100.6"),
        ("toto@toto.com", "1.1.1.1"),
        ("udp3164", "198.51.100.1"),
        ("udp5424", "198.51.100.2"),
    ]
    .map(|(a, s)| (a.to_string(), s.to_string()));
    assert_eq!(accounts, want);
    // Time from the header: RFC 5424 with its offset, RFC 3164 in the year from the clock.
    let t5424 = seen
        .iter()
        .find(|e| e.account.name == "tcpline5424")
        .unwrap();
    assert_eq!(t5424.ts.to_string(), "2026-11-20T09:00:06Z");
    assert_eq!(load(&stats.events), 6);
    assert_eq!(load(&stats.messages), 6);
    assert_eq!(load(&stats.malformed), 0);
    // The engine saw each one as an attempt.
    assert_eq!(h.handle.report().verdicts.values().sum::<u64>(), 6);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_oversize_and_unrelated_messages_are_counted_not_fed() {
    let (h, sink) = harness();
    let opts = SyslogOptions {
        max_message_bytes: 512,
        normalize: NormalizeOptions::default(),
        ..SyslogOptions::default()
    };
    let (task, udp_addr, tcp_addr, stats) = receiver(opts, sink).await;
    let udp = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let good = format!(
        "<38>Nov 20 10:00:01 mx sshd[1]: {}",
        sshd_msg("good", "198.51.100.9")
    );
    for m in [
        "no header at all".to_string(),
        String::new(),
        format!("<38>Nov 20 10:00:01 mx sshd[1]: {}", "z".repeat(600)),
        "<30>Nov 20 10:00:01 mx systemd[1]: Started Session 4 of user bob.".to_string(),
        good.clone(),
    ] {
        udp.send_to(m.as_bytes(), udp_addr).await.unwrap();
    }
    wait_until("five datagrams", || load(&stats.messages) >= 5).await;
    assert_eq!(load(&stats.malformed), 2, "{stats:?}");
    assert_eq!(load(&stats.oversize), 1, "{stats:?}");
    assert_eq!(load(&stats.skipped), 1, "{stats:?}");
    assert_eq!(load(&stats.events), 1, "{stats:?}");

    // TCP: an octet count above the limit closes the connection, counted as malformed; a
    // fresh connection still works.
    let mut tcp = tokio::net::TcpStream::connect(tcp_addr).await.unwrap();
    tcp.write_all(b"99999 <38>Nov").await.unwrap();
    wait_until("the broken frame", || load(&stats.malformed) >= 3).await;
    let mut tcp = tokio::net::TcpStream::connect(tcp_addr).await.unwrap();
    tcp.write_all(format!("{good}\n").as_bytes()).await.unwrap();
    drop(tcp);
    wait_until("the second good message", || load(&stats.events) >= 2).await;
    task.stop().await;
    assert_eq!(h.seen.lock().len(), 2);
    assert_eq!(h.handle.report().verdicts.values().sum::<u64>(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connection_limit_and_idle_timeout() {
    let (_h, sink) = harness();
    let opts = SyslogOptions {
        max_connections: 1,
        idle_timeout: Duration::from_secs(2),
        ..SyslogOptions::default()
    };
    let (task, _udp, tcp_addr, stats) = receiver(opts, sink).await;
    let _first = tokio::net::TcpStream::connect(tcp_addr).await.unwrap();
    wait_until("the first connection", || load(&stats.connections) >= 1).await;
    let _second = tokio::net::TcpStream::connect(tcp_addr).await.unwrap();
    wait_until("the refusal", || load(&stats.connections_refused) >= 1).await;
    // The first, silent, is closed for idleness; its slot is free again.
    wait_until("the idle close", || load(&stats.idle_closed) >= 1).await;
    let _third = tokio::net::TcpStream::connect(tcp_addr).await.unwrap();
    wait_until("the third connection", || load(&stats.connections) >= 2).await;
    assert_eq!(load(&stats.connections_refused), 1);
    task.stop().await;
}
