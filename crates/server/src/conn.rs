//! Connection hygiene of both listeners: every accepted connection is served by hyper's
//! HTTP/1.1 connection under limits that no client, slow or hostile, can stretch.
//!
//! - **Header read**: once the first byte of a request has arrived, its headers must be
//!   complete within `header_read_timeout_ms`, or the connection is closed.
//! - **Idle**: a connection with no request in progress (fresh, or between keep-alive requests)
//!   is closed after `idle_timeout_ms` of silence.
//! - **Body**: a request body must be complete within `body_read_timeout_ms` of its headers
//!   (the read fails with [`BodyTimedOut`], answered 408 by [`crate::http::bounded_body`]).
//! - **Caps**: at most `max_connections` open connections per listener and
//!   `max_connections_per_address` from one address (an IPv6 address counts as its /64). A
//!   connection over the per-address cap is closed at once. At the overall cap, the connection
//!   that has been idle longest is closed to make room (a slow client that never completed a
//!   request is idle since it connected), so a flood of silent connections cannot keep a
//!   working client out; only when every connection is busy is the new one refused.
//! - **Shutdown**: no new connection is accepted; idle connections close at once, requests in
//!   progress are answered (keep-alive off), and whatever is left after `shutdown_grace_ms` is
//!   dropped, so shutdown is bounded whatever clients do.
//!
//! Every closure for one of these reasons is counted in [`ConnStats`] (exported on `/metrics`
//! as `portcullis_connections_*`). Each request carries its peer's address as
//! [`axum::extract::ConnectInfo`].

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::ConnectInfo;
use axum::serve::Listener;
use http_body::{Frame, SizeHint};
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use parking_lot::Mutex;
use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::{Notify, watch};
use tokio::time::Sleep;
use tower::Service;

/// The limits of one listener's connections.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConnLimits {
    pub header_read_timeout: Duration,
    pub body_read_timeout: Duration,
    pub idle_timeout: Duration,
    pub max_connections: usize,
    pub max_per_address: usize,
    pub shutdown_grace: Duration,
}

/// Counters of one listener's connections (exported on /metrics).
#[derive(Debug, Default)]
pub struct ConnStats {
    pub accepted: AtomicU64,
    pub open: AtomicU64,
    pub refused_cap: AtomicU64,
    pub refused_per_address: AtomicU64,
    /// Refused at the overall cap because the address already held its fair share.
    pub refused_fair_share: AtomicU64,
    pub evicted: AtomicU64,
    pub header_timeouts: AtomicU64,
    pub idle_timeouts: AtomicU64,
    pub body_timeouts: AtomicU64,
    pub shutdown_dropped: AtomicU64,
}

impl ConnStats {
    /// Appends this listener's families to a text exposition (one `listener` label).
    pub fn render(stats: &[(&'static str, Arc<ConnStats>)], s: &mut String) {
        if stats.is_empty() {
            return;
        }
        let l = |c: &AtomicU64| c.load(Ordering::Relaxed);
        let _ = writeln!(
            s,
            "# HELP portcullis_connections_open Connections open now.\n# TYPE portcullis_connections_open gauge"
        );
        for (name, st) in stats {
            let _ = writeln!(
                s,
                "portcullis_connections_open{{listener=\"{name}\"}} {}",
                l(&st.open)
            );
        }
        let _ = writeln!(
            s,
            "# HELP portcullis_connections_accepted_total Connections accepted.\n# TYPE portcullis_connections_accepted_total counter"
        );
        for (name, st) in stats {
            let _ = writeln!(
                s,
                "portcullis_connections_accepted_total{{listener=\"{name}\"}} {}",
                l(&st.accepted)
            );
        }
        let _ = writeln!(
            s,
            "# HELP portcullis_connections_closed_total Connections closed by the server's limits, by reason.\n# TYPE portcullis_connections_closed_total counter"
        );
        for (name, st) in stats {
            for (reason, c) in [
                ("refused_cap", &st.refused_cap),
                ("refused_per_address", &st.refused_per_address),
                ("refused_fair_share", &st.refused_fair_share),
                ("evicted_idle", &st.evicted),
                ("header_timeout", &st.header_timeouts),
                ("idle_timeout", &st.idle_timeouts),
                ("body_timeout", &st.body_timeouts),
                ("shutdown", &st.shutdown_dropped),
            ] {
                let _ = writeln!(
                    s,
                    "portcullis_connections_closed_total{{listener=\"{name}\",reason=\"{reason}\"}} {}",
                    l(c)
                );
            }
        }
    }
}

/// The key connections are counted under: an IPv4 address, or an IPv6 address's /64.
pub fn address_key(ip: IpAddr) -> u128 {
    match ip.to_canonical() {
        IpAddr::V4(a) => u128::from(a.to_ipv6_mapped()),
        IpAddr::V6(a) => u128::from(a) & !((1u128 << 64) - 1),
    }
}

/// One connection's state, shared by its task, its service and its reader.
struct ConnShared {
    /// Requests in the service now.
    busy: AtomicU32,
    /// Its key in the idle map (0: not in it).
    idle_seq: AtomicU64,
    /// When it last became idle (ms since the registry's epoch).
    idle_since: AtomicU64,
    /// When the first byte of the next request arrived (ms since the epoch, plus 1; 0: none).
    first_byte: AtomicU64,
    /// Closes the connection if it is idle (the overall cap needs room).
    evict: Notify,
}

struct Inner {
    open: usize,
    per_address: HashMap<u128, u32>,
    /// Idle connections, the longest idle first.
    idle: BTreeMap<u64, Arc<ConnShared>>,
    next_seq: u64,
}

/// The open connections of one listener.
struct Registry {
    limits: ConnLimits,
    stats: Arc<ConnStats>,
    epoch: Instant,
    inner: Mutex<Inner>,
}

impl Registry {
    fn now_ms(&self) -> u64 {
        self.epoch.elapsed().as_millis() as u64
    }

    /// Takes a connection from `key` in, making room by closing the longest-idle one at the
    /// overall cap; None when it must be refused. At the cap, an address that already holds
    /// its fair share (the cap over the addresses holding connections) is refused rather than
    /// allowed to evict: a flood that reconnects every evicted connection at once then costs an
    /// accept and a close, not a connection's setup and another's teardown, and it cannot push
    /// out the clients of addresses holding less.
    fn admit(&self, key: u128) -> Option<Arc<ConnShared>> {
        let mut g = self.inner.lock();
        let n = g.per_address.get(&key).copied().unwrap_or(0);
        if n as usize >= self.limits.max_per_address {
            self.stats
                .refused_per_address
                .fetch_add(1, Ordering::Relaxed);
            return None;
        }
        if g.open >= self.limits.max_connections {
            let fair = self.limits.max_connections / g.per_address.len().max(1);
            if n as usize >= fair.max(1) {
                self.stats
                    .refused_fair_share
                    .fetch_add(1, Ordering::Relaxed);
                return None;
            }
            match g.idle.pop_first() {
                Some((_, victim)) => {
                    victim.idle_seq.store(0, Ordering::Relaxed);
                    victim.evict.notify_one();
                    self.stats.evicted.fetch_add(1, Ordering::Relaxed);
                }
                None => {
                    self.stats.refused_cap.fetch_add(1, Ordering::Relaxed);
                    return None;
                }
            }
        }
        g.open += 1;
        *g.per_address.entry(key).or_insert(0) += 1;
        g.next_seq += 1;
        let seq = g.next_seq;
        let c = Arc::new(ConnShared {
            busy: AtomicU32::new(0),
            idle_seq: AtomicU64::new(seq),
            idle_since: AtomicU64::new(self.now_ms()),
            first_byte: AtomicU64::new(0),
            evict: Notify::new(),
        });
        g.idle.insert(seq, c.clone());
        self.stats.open.store(g.open as u64, Ordering::Relaxed);
        Some(c)
    }

    fn release(&self, key: u128, c: &ConnShared) {
        let mut g = self.inner.lock();
        g.open -= 1;
        if let Some(n) = g.per_address.get_mut(&key) {
            *n -= 1;
            if *n == 0 {
                g.per_address.remove(&key);
            }
        }
        let seq = c.idle_seq.swap(0, Ordering::Relaxed);
        if seq != 0 {
            g.idle.remove(&seq);
        }
        self.stats.open.store(g.open as u64, Ordering::Relaxed);
    }

    /// A request starts on `c`.
    fn busy(&self, c: &ConnShared) {
        c.busy.fetch_add(1, Ordering::Relaxed);
        c.first_byte.store(0, Ordering::Relaxed);
        let seq = c.idle_seq.swap(0, Ordering::Relaxed);
        if seq != 0 {
            self.inner.lock().idle.remove(&seq);
        }
    }

    /// A request on `c` is answered.
    fn done(&self, c: &Arc<ConnShared>) {
        if c.busy.fetch_sub(1, Ordering::Relaxed) != 1 {
            return;
        }
        c.idle_since.store(self.now_ms(), Ordering::Relaxed);
        let mut g = self.inner.lock();
        g.next_seq += 1;
        let seq = g.next_seq;
        g.idle.insert(seq, c.clone());
        c.idle_seq.store(seq, Ordering::Relaxed);
    }

    /// Whether `c` has outstayed a limit (and which), or when to look again.
    fn check(&self, c: &ConnShared) -> Result<Duration, &'static str> {
        let l = &self.limits;
        if c.busy.load(Ordering::Relaxed) > 0 {
            return Ok(l.header_read_timeout.min(l.idle_timeout));
        }
        let now = self.now_ms();
        let (since, limit, why) = match c.first_byte.load(Ordering::Relaxed) {
            0 => (c.idle_since.load(Ordering::Relaxed), l.idle_timeout, "idle"),
            t => (t - 1, l.header_read_timeout, "header"),
        };
        let limit_ms = limit.as_millis() as u64;
        let waited = now.saturating_sub(since);
        if waited >= limit_ms {
            Err(why)
        } else {
            // Look again when this limit would run out, or sooner if the phase changes.
            Ok(Duration::from_millis(
                (limit_ms - waited).min(l.header_read_timeout.as_millis() as u64) + 1,
            ))
        }
    }
}

/// The socket, noting when the first byte of a request arrives on an idle connection.
struct Watched<IO> {
    io: IO,
    conn: Arc<ConnShared>,
    reg: Arc<Registry>,
}

impl<IO: AsyncRead + Unpin> AsyncRead for Watched<IO> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let r = Pin::new(&mut self.io).poll_read(cx, buf);
        if buf.filled().len() > before
            && self.conn.busy.load(Ordering::Relaxed) == 0
            && self.conn.first_byte.load(Ordering::Relaxed) == 0
        {
            let t = self.reg.now_ms() + 1;
            self.conn.first_byte.store(t, Ordering::Relaxed);
        }
        r
    }
}

impl<IO: AsyncWrite + Unpin> AsyncWrite for Watched<IO> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, buf)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.io).poll_write_vectored(cx, bufs)
    }
    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }
}

/// The error of a request body not complete within `body_read_timeout_ms`.
#[derive(Debug)]
pub struct BodyTimedOut;

impl std::fmt::Display for BodyTimedOut {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("request body not received in time")
    }
}

impl std::error::Error for BodyTimedOut {}

/// A request body with a deadline. The timer is armed only if the body is not already there
/// when first read (the usual case for small bodies costs no timer).
struct Deadline {
    inner: Incoming,
    deadline: Instant,
    sleep: Option<Pin<Box<Sleep>>>,
    stats: Arc<ConnStats>,
}

impl http_body::Body for Deadline {
    type Data = Bytes;
    type Error = Box<dyn std::error::Error + Send + Sync>;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = &mut *self;
        if let Poll::Ready(r) = Pin::new(&mut this.inner).poll_frame(cx) {
            return Poll::Ready(r.map(|f| f.map_err(Into::into)));
        }
        let deadline = this.deadline;
        let sleep = this
            .sleep
            .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline.into())));
        if sleep.as_mut().poll(cx).is_ready() {
            this.stats.body_timeouts.fetch_add(1, Ordering::Relaxed);
            return Poll::Ready(Some(Err(Box::new(BodyTimedOut))));
        }
        Poll::Pending
    }
    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }
    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// Marks the connection idle again when the request's service future ends (however it ends).
struct BusyGuard {
    reg: Arc<Registry>,
    conn: Arc<ConnShared>,
}

impl Drop for BusyGuard {
    fn drop(&mut self) {
        self.reg.done(&self.conn);
    }
}

/// Serves `app` on `listener` under `limits` until `stop` turns true, then drains within the
/// grace period. Returns once every connection is closed or dropped.
pub async fn serve<L>(
    mut listener: L,
    app: Router,
    limits: ConnLimits,
    stats: Arc<ConnStats>,
    mut stop: watch::Receiver<bool>,
) where
    L: Listener<Addr = SocketAddr>,
    L::Io: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let reg = Arc::new(Registry {
        limits,
        stats: stats.clone(),
        epoch: Instant::now(),
        inner: Mutex::new(Inner {
            open: 0,
            per_address: HashMap::new(),
            idle: BTreeMap::new(),
            next_seq: 0,
        }),
    });
    let (drain_tx, drain_rx) = watch::channel(false);
    let mut tasks = tokio::task::JoinSet::new();
    loop {
        let (io, peer) = tokio::select! {
            x = listener.accept() => x,
            _ = stop.wait_for(|v| *v) => break,
        };
        while tasks.try_join_next().is_some() {}
        stats.accepted.fetch_add(1, Ordering::Relaxed);
        let key = address_key(peer.ip());
        let Some(conn) = reg.admit(key) else {
            drop(io);
            continue;
        };
        tasks.spawn(serve_one(
            reg.clone(),
            app.clone(),
            io,
            peer,
            key,
            conn,
            drain_rx.clone(),
        ));
    }
    drop(listener);
    let _ = drain_tx.send(true);
    let drained = tokio::time::timeout(limits.shutdown_grace, async {
        while tasks.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        stats
            .shutdown_dropped
            .fetch_add(tasks.len() as u64, Ordering::Relaxed);
        tracing::warn!(
            connections = tasks.len(),
            "shutdown grace over: dropping the connections left"
        );
        tasks.shutdown().await;
    }
}

async fn serve_one<IO>(
    reg: Arc<Registry>,
    app: Router,
    io: IO,
    peer: SocketAddr,
    key: u128,
    conn: Arc<ConnShared>,
    mut drain: watch::Receiver<bool>,
) where
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let io = TokioIo::new(Watched {
        io,
        conn: conn.clone(),
        reg: reg.clone(),
    });
    let (svc_reg, svc_conn) = (reg.clone(), conn.clone());
    let body_timeout = reg.limits.body_read_timeout;
    let svc = hyper::service::service_fn(move |req: hyper::Request<Incoming>| {
        svc_reg.busy(&svc_conn);
        let guard = BusyGuard {
            reg: svc_reg.clone(),
            conn: svc_conn.clone(),
        };
        let stats = svc_reg.stats.clone();
        let mut req = req.map(|inner| {
            Body::new(Deadline {
                inner,
                deadline: Instant::now() + body_timeout,
                sleep: None,
                stats,
            })
        });
        req.extensions_mut().insert(ConnectInfo(peer));
        let mut app = app.clone();
        async move {
            let _guard = guard;
            app.call(req).await
        }
    });
    let limits = reg.limits;
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        // A backstop only: the limits are kept by the checks below.
        .header_read_timeout(limits.header_read_timeout + limits.idle_timeout)
        .keep_alive(true);
    let c = builder.serve_connection(io, svc);
    tokio::pin!(c);
    let first = limits.header_read_timeout.min(limits.idle_timeout);
    let sleep = tokio::time::sleep(first);
    tokio::pin!(sleep);
    let mut draining = false;
    loop {
        tokio::select! {
            r = c.as_mut() => {
                if let Err(e) = r {
                    tracing::debug!(%peer, error = %e, "connection ended with an error");
                }
                break;
            }
            _ = &mut sleep => match reg.check(&conn) {
                Ok(next) => sleep.as_mut().reset(tokio::time::Instant::now() + next),
                Err(why) => {
                    let c = if why == "header" {
                        &reg.stats.header_timeouts
                    } else {
                        &reg.stats.idle_timeouts
                    };
                    c.fetch_add(1, Ordering::Relaxed);
                    tracing::debug!(%peer, "closing connection: {why} timeout");
                    break;
                }
            },
            _ = conn.evict.notified() => {
                if conn.busy.load(Ordering::Relaxed) == 0 {
                    tracing::debug!(%peer, "closing the longest-idle connection: at the cap");
                    break;
                }
            }
            _ = drain.wait_for(|v| *v), if !draining => {
                draining = true;
                if conn.busy.load(Ordering::Relaxed) == 0 {
                    break;
                }
                c.as_mut().graceful_shutdown();
            }
        }
    }
    reg.release(key, &conn);
}

/// Raises the soft limit of open files to the hard limit; returns the soft limit in force.
// `rlim_t` is u64 on Linux but not on every Unix.
// The two libc calls are the only `unsafe` of the server crate (workspace lints deny it
// elsewhere); each says why it is sound.
#[allow(clippy::unnecessary_cast, unsafe_code)]
pub fn raise_nofile_limit() -> std::io::Result<u64> {
    #[cfg(unix)]
    {
        let mut l = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: getrlimit/setrlimit only read and write the struct passed.
        if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut l) } != 0 {
            return Err(std::io::Error::last_os_error());
        }
        if l.rlim_cur < l.rlim_max {
            let want = libc::rlimit {
                rlim_cur: l.rlim_max,
                rlim_max: l.rlim_max,
            };
            // SAFETY: as above.
            if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &want) } == 0 {
                return Ok(want.rlim_cur as u64);
            }
            return Err(std::io::Error::last_os_error());
        }
        Ok(l.rlim_cur as u64)
    }
    #[cfg(not(unix))]
    {
        Ok(u64::MAX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn registry(max_connections: usize) -> Registry {
        Registry {
            limits: ConnLimits {
                header_read_timeout: Duration::from_secs(5),
                body_read_timeout: Duration::from_secs(5),
                idle_timeout: Duration::from_secs(60),
                max_connections,
                max_per_address: 512,
                shutdown_grace: Duration::from_secs(1),
            },
            stats: Arc::new(ConnStats::default()),
            epoch: Instant::now(),
            inner: Mutex::new(Inner {
                open: 0,
                per_address: HashMap::new(),
                idle: BTreeMap::new(),
                next_seq: 0,
            }),
        }
    }

    /// At the cap, a flooding address over its fair share is refused instead of evicting;
    /// an address holding less still gets room by evicting the longest-idle connection.
    #[test]
    fn at_the_cap_only_addresses_under_their_fair_share_evict() {
        let reg = registry(10);
        let (flood, other, newcomer) = (1u128, 2u128, 3u128);
        let mut held: Vec<_> = (0..8).map(|_| reg.admit(flood).unwrap()).collect();
        held.extend((0..2).map(|_| reg.admit(other).unwrap()));
        // Full: 10 open, 2 addresses, fair share 5. The flood (8) is refused outright...
        assert!(reg.admit(flood).is_none());
        assert_eq!(reg.stats.refused_fair_share.load(Ordering::Relaxed), 1);
        assert_eq!(reg.stats.evicted.load(Ordering::Relaxed), 0);
        // ...while an address under its share (other: 2) and a new one (0) make room.
        let a = reg.admit(other).expect("under its fair share");
        let b = reg.admit(newcomer).expect("a new address");
        assert_eq!(reg.stats.evicted.load(Ordering::Relaxed), 2);
        // The evicted were the longest idle: the flood's first two.
        assert_eq!(held[0].idle_seq.load(Ordering::Relaxed), 0);
        assert_eq!(held[1].idle_seq.load(Ordering::Relaxed), 0);
        assert_ne!(held[2].idle_seq.load(Ordering::Relaxed), 0);
        drop((a, b));
    }

    #[test]
    fn ipv6_counts_per_64_and_mapped_ipv4_as_ipv4() {
        let k = |s: &str| address_key(s.parse().unwrap());
        assert_eq!(k("2001:db8:1:2::1"), k("2001:db8:1:2:ffff::9"));
        assert_ne!(k("2001:db8:1:2::1"), k("2001:db8:1:3::1"));
        assert_eq!(k("::ffff:192.0.2.1"), k("192.0.2.1"));
        assert_ne!(k("192.0.2.1"), k("192.0.2.2"));
    }
}
