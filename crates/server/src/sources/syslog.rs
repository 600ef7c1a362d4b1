//! Syslog receiver: authentication logs sent over the network (rsyslog, syslog-ng, network
//! devices) feeding the live engine.
//!
//! Listens on UDP (one message per datagram) and TCP (RFC 6587: octet counting `LEN SP MSG`
//! and newline-delimited "non-transparent" framing, told apart per frame by its first byte).
//! Messages are RFC 3164 (BSD: `<PRI>Mmm dd hh:mm:ss host tag: msg`) or RFC 5424
//! (`<PRI>1 TIMESTAMP HOST APP PROCID MSGID SD MSG`); the parse crate's [`SyslogParser`] takes the
//! header apart (PRI stripped, BSD year from the clock) and dispatches by program (Dovecot,
//! Postfix smtpd, sshd, PAM). All messages go through one parser, as they would through one
//! `mail.log`, so that formats with two lines per attempt (Dovecot) count each attempt once.
//!
//! Limits: [`SyslogOptions::max_message_bytes`] (longer messages are dropped and counted),
//! [`SyslogOptions::max_connections`] (further TCP connections are closed at once and
//! counted), [`SyslogOptions::idle_timeout`] (quiet TCP connections are closed). Messages
//! without a readable syslog header are counted as `malformed`. The counters are plain atomics
//! ([`SyslogStats`]) for `/metrics`.
//!
//! Detection only: a receiver that falls behind never delays a login; UDP drops under load.
//!
//! [`SyslogParser`]: portcullis_parse::syslog::SyslogParser

use crate::clock::now;
use parking_lot::Mutex;
use portcullis_core::{AuthEvent, NormalizeOptions};
use portcullis_parse::detect::Format;
use portcullis_parse::{LineParser, LineResult, ParseCtx, reason};
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::io::AsyncReadExt;
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::sync::{Semaphore, watch};

/// Default longest message accepted (RFC 5425 receivers should take 8192 octets).
pub const DEFAULT_MAX_MESSAGE_BYTES: usize = 8192;
/// Default most simultaneous TCP connections.
pub const DEFAULT_MAX_CONNECTIONS: usize = 256;
/// Default idle timeout of TCP connections.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(300);
/// Longest octet count accepted in a frame header (digits).
const MAX_LEN_DIGITS: usize = 9;

/// Receiver settings.
#[derive(Clone, Debug)]
pub struct SyslogOptions {
    /// Line format of the messages (`Format::Syslog` reads every program we know).
    pub format: Format,
    pub normalize: NormalizeOptions,
    pub max_message_bytes: usize,
    pub max_connections: usize,
    pub idle_timeout: Duration,
}

impl Default for SyslogOptions {
    fn default() -> Self {
        SyslogOptions {
            format: Format::Syslog,
            normalize: NormalizeOptions::default(),
            max_message_bytes: DEFAULT_MAX_MESSAGE_BYTES,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
        }
    }
}

/// Counters (plain atomics, for `/metrics`).
#[derive(Debug, Default)]
pub struct SyslogStats {
    /// Messages received (datagrams and TCP frames).
    pub messages: AtomicU64,
    /// Events fed to the engine.
    pub events: AtomicU64,
    /// Messages read but not an attempt (other program, not authentication).
    pub skipped: AtomicU64,
    /// Messages without a readable syslog header, empty ones, and broken TCP framing.
    pub malformed: AtomicU64,
    /// Messages longer than the limit, dropped.
    pub oversize: AtomicU64,
    /// TCP connections accepted.
    pub connections: AtomicU64,
    /// TCP connections closed at once because `max_connections` were open.
    pub connections_refused: AtomicU64,
    /// TCP connections closed for being idle longer than the timeout.
    pub idle_closed: AtomicU64,
}

fn bump(c: &AtomicU64) {
    c.fetch_add(1, Ordering::Relaxed);
}

/// Where events go.
pub type EventSink = Arc<dyn super::EventSink>;

/// A `syslog_udp` / `syslog_tcp` setting: "" = off, a bare port = loopback, else
/// `address:port`.
pub fn parse_listen(s: &str) -> Result<Option<SocketAddr>, String> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(None);
    }
    if let Ok(port) = s.parse::<u16>() {
        return Ok(Some(SocketAddr::from(([127, 0, 0, 1], port))));
    }
    s.parse().map(Some).map_err(|_| {
        format!("{s:?} is not address:port (e.g. 127.0.0.1:5514), a port, or \"\" for off")
    })
}

struct ParserState {
    parser: Box<dyn LineParser>,
    ctx: ParseCtx,
    events: Vec<AuthEvent>,
}

/// Parses messages and feeds their events to the sink; shared by the UDP and TCP tasks.
pub struct SyslogReceiver {
    state: Mutex<ParserState>,
    sink: EventSink,
    stats: Arc<SyslogStats>,
    opts: SyslogOptions,
}

impl SyslogReceiver {
    pub fn new(opts: SyslogOptions, sink: EventSink) -> Result<Arc<SyslogReceiver>, String> {
        let parser = opts
            .format
            .line_parser()
            .ok_or_else(|| format!("format {} cannot be received as syslog", opts.format))?;
        let ctx = ParseCtx {
            normalize: opts.normalize.clone(),
            file: Some(Arc::from("syslog")),
            ..ParseCtx::default()
        };
        Ok(Arc::new(SyslogReceiver {
            state: Mutex::new(ParserState {
                parser,
                ctx,
                events: Vec::new(),
            }),
            sink,
            stats: Arc::new(SyslogStats::default()),
            opts,
        }))
    }

    pub fn stats(&self) -> &Arc<SyslogStats> {
        &self.stats
    }

    /// One message (a datagram or a TCP frame), without framing.
    pub fn message(&self, raw: &[u8]) {
        bump(&self.stats.messages);
        if raw.len() > self.opts.max_message_bytes {
            bump(&self.stats.oversize);
            return;
        }
        let raw = trim_trailer(raw);
        if raw.is_empty() {
            bump(&self.stats.malformed);
            return;
        }
        let text = String::from_utf8_lossy(raw);
        let events = {
            let mut st = self.state.lock();
            let ParserState {
                parser,
                ctx,
                events,
            } = &mut *st;
            ctx.year_reference = Some(now());
            ctx.line += 1;
            match parser.parse_line(&text, ctx, events) {
                LineResult::Events(_) => {}
                LineResult::Skip(r) if r == reason::BAD_HEADER || r == reason::EMPTY => {
                    bump(&self.stats.malformed)
                }
                LineResult::Skip(_) => bump(&self.stats.skipped),
            }
            std::mem::take(events)
        };
        self.stats
            .events
            .fetch_add(events.len() as u64, Ordering::Relaxed);
        for ev in &events {
            self.sink.deliver(ev);
        }
    }
}

/// Strips the trailers senders add: LF, CR, NUL.
fn trim_trailer(mut b: &[u8]) -> &[u8] {
    while let [rest @ .., b'\n' | b'\r' | b'\0'] = b {
        b = rest;
    }
    b
}

/// What [`FrameDecoder::next_frame`] found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decoded {
    /// One message (without its framing).
    Message(Vec<u8>),
    /// A newline-framed message longer than the limit: dropped, the stream goes on.
    Oversize,
    /// Unusable framing (bad or too large octet count): the connection must be closed.
    Fatal(&'static str),
}

/// RFC 6587 TCP framing, both kinds, told apart per frame: a digit starts an octet-counted
/// frame (`LEN SP MSG`), anything else a newline-terminated one. Buffers at most the limit
/// plus one read.
pub struct FrameDecoder {
    buf: Vec<u8>,
    max: usize,
    /// Inside an oversize newline-framed message: drop up to the next newline.
    discarding: bool,
    /// Framing broke ([`Decoded::Fatal`] returned): nothing more is decoded.
    broken: bool,
}

impl FrameDecoder {
    pub fn new(max_message_bytes: usize) -> Self {
        FrameDecoder {
            buf: Vec::new(),
            max: max_message_bytes,
            discarding: false,
            broken: false,
        }
    }

    pub fn push(&mut self, data: &[u8]) {
        if !self.broken {
            self.buf.extend_from_slice(data);
        }
    }

    /// The next complete frame, or None until more bytes arrive.
    pub fn next_frame(&mut self) -> Option<Decoded> {
        if self.broken {
            self.buf.clear();
            return None;
        }
        if self.discarding {
            match self.buf.iter().position(|&b| b == b'\n') {
                Some(i) => {
                    self.buf.drain(..=i);
                    self.discarding = false;
                }
                None => {
                    self.buf.clear();
                    return None;
                }
            }
        }
        // Separators some senders put between frames.
        let skip = self
            .buf
            .iter()
            .take_while(|&&b| matches!(b, b'\n' | b'\r' | b'\0'))
            .count();
        self.buf.drain(..skip);
        if self.buf.is_empty() {
            return None;
        }
        if self.buf[0].is_ascii_digit() {
            let digits = self.buf.iter().take_while(|b| b.is_ascii_digit()).count();
            if digits > MAX_LEN_DIGITS {
                return Some(self.fatal("octet count too long"));
            }
            if digits == self.buf.len() {
                return None;
            }
            if self.buf[digits] != b' ' {
                return Some(self.fatal("octet count not followed by a space"));
            }
            let len: usize = std::str::from_utf8(&self.buf[..digits])
                .ok()
                .and_then(|s| s.parse().ok())
                .unwrap_or(usize::MAX);
            if len > self.max {
                return Some(self.fatal("octet count above the message size limit"));
            }
            let start = digits + 1;
            if self.buf.len() < start + len {
                return None;
            }
            let msg = self.buf[start..start + len].to_vec();
            self.buf.drain(..start + len);
            return Some(Decoded::Message(msg));
        }
        match self.buf.iter().position(|&b| b == b'\n') {
            Some(i) if i > self.max => {
                self.buf.drain(..=i);
                Some(Decoded::Oversize)
            }
            Some(i) => {
                let msg = self.buf[..i].to_vec();
                self.buf.drain(..=i);
                Some(Decoded::Message(msg))
            }
            None if self.buf.len() > self.max => {
                self.buf.clear();
                self.discarding = true;
                Some(Decoded::Oversize)
            }
            None => None,
        }
    }

    fn fatal(&mut self, why: &'static str) -> Decoded {
        self.broken = true;
        self.buf = Vec::new();
        Decoded::Fatal(why)
    }

    /// At end of stream: a last newline-framed message without its newline.
    pub fn finish(&mut self) -> Option<Vec<u8>> {
        let rest = std::mem::take(&mut self.buf);
        let rest = trim_trailer(&rest);
        if self.broken || self.discarding || rest.is_empty() || rest[0].is_ascii_digit() {
            return None;
        }
        Some(rest.to_vec())
    }
}

/// The bound sockets (bind first, so that tests can use port 0 and read the addresses).
pub struct SyslogListeners {
    udp: Option<UdpSocket>,
    tcp: Option<TcpListener>,
}

impl SyslogListeners {
    pub async fn bind(
        udp: Option<SocketAddr>,
        tcp: Option<SocketAddr>,
    ) -> anyhow::Result<SyslogListeners> {
        let udp = match udp {
            Some(a) => Some(
                UdpSocket::bind(a)
                    .await
                    .map_err(|e| anyhow::anyhow!("cannot listen on udp {a} (syslog_udp): {e}"))?,
            ),
            None => None,
        };
        let tcp = match tcp {
            Some(a) => Some(
                TcpListener::bind(a)
                    .await
                    .map_err(|e| anyhow::anyhow!("cannot listen on tcp {a} (syslog_tcp): {e}"))?,
            ),
            None => None,
        };
        Ok(SyslogListeners { udp, tcp })
    }
    pub fn udp_addr(&self) -> Option<SocketAddr> {
        self.udp.as_ref().and_then(|s| s.local_addr().ok())
    }
    pub fn tcp_addr(&self) -> Option<SocketAddr> {
        self.tcp.as_ref().and_then(|s| s.local_addr().ok())
    }
    pub fn is_empty(&self) -> bool {
        self.udp.is_none() && self.tcp.is_none()
    }
}

/// A running receiver; [`SyslogTask::stop`] closes the sockets and connections.
pub struct SyslogTask {
    stop: watch::Sender<bool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    receiver: Arc<SyslogReceiver>,
}

impl SyslogTask {
    pub fn stats(&self) -> &Arc<SyslogStats> {
        self.receiver.stats()
    }
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        for t in self.tasks {
            let _ = t.await;
        }
    }
}

/// Starts the UDP and TCP tasks on the current tokio runtime.
pub fn start(listeners: SyslogListeners, receiver: Arc<SyslogReceiver>) -> SyslogTask {
    let (tx, rx) = watch::channel(false);
    let mut tasks = Vec::new();
    if let Some(sock) = listeners.udp {
        tracing::info!(addr = ?sock.local_addr().ok(), "syslog udp receiver up");
        tasks.push(tokio::spawn(udp_loop(sock, receiver.clone(), rx.clone())));
    }
    if let Some(l) = listeners.tcp {
        tracing::info!(addr = ?l.local_addr().ok(), "syslog tcp receiver up");
        tasks.push(tokio::spawn(tcp_loop(l, receiver.clone(), rx)));
    }
    SyslogTask {
        stop: tx,
        tasks,
        receiver,
    }
}

/// Binds `syslog_udp` / `syslog_tcp` and starts feeding `sink`; None when both are off. The
/// task's [`SyslogTask::stats`] are for `/metrics`.
pub async fn start_for(
    udp: &str,
    tcp: &str,
    format: &str,
    normalize: &NormalizeOptions,
    sink: EventSink,
) -> anyhow::Result<Option<SyslogTask>> {
    let u = parse_listen(udp).map_err(|m| anyhow::anyhow!("[server] syslog_udp: {m}"))?;
    let t = parse_listen(tcp).map_err(|m| anyhow::anyhow!("[server] syslog_tcp: {m}"))?;
    if u.is_none() && t.is_none() {
        return Ok(None);
    }
    let format = Format::from_name(format)
        .filter(|f| !f.is_document())
        .ok_or_else(|| anyhow::anyhow!("[server] syslog_format: unknown format {format:?}"))?;
    let listeners = SyslogListeners::bind(u, t).await?;
    let receiver = SyslogReceiver::new(
        SyslogOptions {
            format,
            normalize: normalize.clone(),
            ..SyslogOptions::default()
        },
        sink,
    )
    .map_err(|m| anyhow::anyhow!("[server] syslog_format: {m}"))?;
    Ok(Some(start(listeners, receiver)))
}

/// Runs the receiver until `shutdown` completes.
pub async fn serve(
    listeners: SyslogListeners,
    receiver: Arc<SyslogReceiver>,
    shutdown: impl Future<Output = ()>,
) {
    let task = start(listeners, receiver);
    shutdown.await;
    task.stop().await;
}

/// Resolves once the stop flag is set (the guard `wait_for` returns is not `Send`).
async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|v| *v).await;
}

async fn udp_loop(sock: UdpSocket, rx: Arc<SyslogReceiver>, mut stop: watch::Receiver<bool>) {
    // Room for the largest datagram, so that a long one is seen as long, not cut.
    let mut buf = vec![0u8; 65_536];
    loop {
        tokio::select! {
            r = sock.recv_from(&mut buf) => match r {
                Ok((n, _peer)) => rx.message(&buf[..n]),
                Err(e) => {
                    tracing::debug!(error = %e, "syslog udp receive error");
                }
            },
            _ = stopped(&mut stop) => return,
        }
    }
}

async fn tcp_loop(l: TcpListener, rx: Arc<SyslogReceiver>, mut stop: watch::Receiver<bool>) {
    let slots = Arc::new(Semaphore::new(rx.opts.max_connections));
    let mut conns = tokio::task::JoinSet::new();
    let conn_stop = stop.clone();
    loop {
        tokio::select! {
            r = l.accept() => match r {
                Ok((stream, peer)) => {
                    let Ok(permit) = slots.clone().try_acquire_owned() else {
                        bump(&rx.stats.connections_refused);
                        tracing::debug!(%peer, "syslog tcp: connection limit reached");
                        drop(stream);
                        continue;
                    };
                    bump(&rx.stats.connections);
                    let rx = rx.clone();
                    let stop = conn_stop.clone();
                    conns.spawn(async move {
                        tcp_connection(stream, rx, stop).await;
                        drop(permit);
                    });
                }
                Err(e) => {
                    tracing::debug!(error = %e, "syslog tcp accept error");
                    // Out of descriptors and the like: do not spin.
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
            _ = stopped(&mut stop) => break,
        }
    }
    conns.shutdown().await;
}

async fn tcp_connection(
    mut stream: TcpStream,
    rx: Arc<SyslogReceiver>,
    mut stop: watch::Receiver<bool>,
) {
    let mut dec = FrameDecoder::new(rx.opts.max_message_bytes);
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = tokio::select! {
            r = tokio::time::timeout(rx.opts.idle_timeout, stream.read(&mut buf)) => match r {
                Ok(Ok(n)) => n,
                Ok(Err(_)) => 0,
                Err(_) => {
                    bump(&rx.stats.idle_closed);
                    return;
                }
            },
            _ = stopped(&mut stop) => return,
        };
        if n == 0 {
            if let Some(last) = dec.finish() {
                rx.message(&last);
            }
            return;
        }
        dec.push(&buf[..n]);
        while let Some(d) = dec.next_frame() {
            match d {
                Decoded::Message(m) => rx.message(&m),
                Decoded::Oversize => {
                    bump(&rx.stats.messages);
                    bump(&rx.stats.oversize);
                }
                Decoded::Fatal(why) => {
                    bump(&rx.stats.malformed);
                    tracing::debug!(why, "syslog tcp: closing a connection with broken framing");
                    return;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frames(dec: &mut FrameDecoder) -> Vec<Decoded> {
        std::iter::from_fn(|| dec.next_frame()).collect()
    }

    #[test]
    fn octet_counted_frames_split_across_reads() {
        let mut d = FrameDecoder::new(100);
        d.push(b"11 <13>hel");
        assert_eq!(frames(&mut d), vec![]);
        d.push(b"lo w5 <1>a");
        assert_eq!(
            frames(&mut d),
            vec![Decoded::Message(b"<13>hello w".to_vec())]
        );
        d.push(b"b1");
        assert_eq!(frames(&mut d), vec![Decoded::Message(b"<1>ab".to_vec())]);
        d.push(b"0 <1>5678901");
        assert_eq!(
            frames(&mut d),
            vec![Decoded::Message(b"<1>5678901".to_vec())]
        );
        assert_eq!(d.finish(), None);
    }

    #[test]
    fn both_framings_in_one_stream() {
        let mut d = FrameDecoder::new(100);
        d.push(b"<34>Oct 11 22:14:15 a su: one\n5 <1>ab<34>two\r\n\n6 <1>xyz");
        assert_eq!(
            frames(&mut d),
            vec![
                Decoded::Message(b"<34>Oct 11 22:14:15 a su: one".to_vec()),
                Decoded::Message(b"<1>ab".to_vec()),
                Decoded::Message(b"<34>two\r".to_vec()),
                Decoded::Message(b"<1>xyz".to_vec()),
            ]
        );
        assert_eq!(d.finish(), None);
    }

    #[test]
    fn oversize_and_broken_frames() {
        let mut d = FrameDecoder::new(10);
        d.push(b"<1>0123456789abcdef");
        assert_eq!(frames(&mut d), vec![Decoded::Oversize]);
        d.push(b"still the same line\n<1>ok\n");
        assert_eq!(frames(&mut d), vec![Decoded::Message(b"<1>ok".to_vec())]);
        let mut d = FrameDecoder::new(10);
        d.push(b"99 <1>x");
        assert_eq!(
            frames(&mut d),
            vec![Decoded::Fatal("octet count above the message size limit")]
        );
        d.push(b"<1>after\n");
        assert_eq!(frames(&mut d), vec![]);
        let mut d = FrameDecoder::new(10);
        d.push(b"12x");
        assert_eq!(
            frames(&mut d)[0],
            Decoded::Fatal("octet count not followed by a space")
        );
        let mut d = FrameDecoder::new(usize::MAX);
        d.push(b"12345678901234567890 ");
        assert_eq!(frames(&mut d)[0], Decoded::Fatal("octet count too long"));
    }

    #[test]
    fn last_line_without_newline_at_end_of_stream() {
        let mut d = FrameDecoder::new(100);
        d.push(b"<1>last");
        assert_eq!(frames(&mut d), vec![]);
        assert_eq!(d.finish(), Some(b"<1>last".to_vec()));
    }

    #[test]
    fn listen_settings() {
        assert_eq!(parse_listen(""), Ok(None));
        assert_eq!(
            parse_listen("5514"),
            Ok(Some("127.0.0.1:5514".parse().unwrap()))
        );
        assert_eq!(
            parse_listen("0.0.0.0:514"),
            Ok(Some("0.0.0.0:514".parse().unwrap()))
        );
        assert!(parse_listen("localhost").is_err());
    }
}
