//! Wiring of a running server: open the store, load the engine's newest snapshot and replay its
//! journal ([`start_engine`]), bind
//! the listeners ([`Listeners::bind`]), serve both APIs with store maintenance beside them
//! until shutdown ([`serve`]), with periodic snapshots, then drain, snapshot, flush and close.

use crate::api::{admin, policy};
use crate::config::ServerConfig;
use crate::conn::{self, ConnLimits, ConnStats};
use crate::http::AuthFailures;
use crate::hub::{EngineHandle, now};
use crate::sinks::decisions::DecisionBook;
use crate::sinks::metrics::Metrics;
use crate::sinks::{siem, webhooks};
use crate::sources::{follow, syslog};
use crate::tls;
use crate::validate::AdminRules;
use axum::serve::ListenerExt;
use portcullis_core::NormalizeOptions;
use portcullis_engine::Engine;
use portcullis_store::journal::JournalOptions;
use portcullis_store::{Store, StoreOptions};
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

/// Most familiar sources kept on disk (the most recent successes win).
pub const MAX_FAMILIAR_ROWS: usize = 5_000_000;
/// Most findings kept on disk (the latest win; campaigns keep their latest state regardless).
pub const MAX_FINDING_ROWS: usize = 1_000_000;

/// Opens the store, wraps the engine, replays the stored state into it and marks it ready.
/// Admin actions are validated against the engine's own trusted networks.
pub fn start_engine(cfg: &ServerConfig, engine: Engine) -> anyhow::Result<EngineHandle> {
    open_engine(cfg, engine, true)
}

/// [`start_engine`] for a cluster node: the local journal is neither replayed nor written (the
/// cluster's stream is the journal, `crate::cluster` loads the node's snapshot); the store is
/// opened as for a single node. Not ready until [`crate::cluster::start`] ran.
pub fn start_replica(cfg: &ServerConfig, engine: Engine) -> anyhow::Result<EngineHandle> {
    open_engine(cfg, engine, false)
}

fn open_engine(cfg: &ServerConfig, engine: Engine, journal: bool) -> anyhow::Result<EngineHandle> {
    let path = cfg.store_file();
    let store = Store::open(
        &path,
        StoreOptions {
            batch_interval: Duration::from_millis(cfg.store_batch_interval_ms),
            familiar_interval: Duration::from_millis(cfg.store_familiar_interval_ms),
            ..StoreOptions::default()
        },
    )?;
    let t = now();
    let retention = t.plus_secs(-(cfg.familiar_retention_days as i64) * 86_400);
    let pruned = store.prune(retention, t)? + store.cap(MAX_FAMILIAR_ROWS, MAX_FINDING_ROWS)?;
    let rules = AdminRules::new(
        &engine.config().trusted_networks,
        cfg.admin_min_block_prefix_v4,
        cfg.admin_min_block_prefix_v6,
        cfg.admin_max_expiry_days,
    );
    let mut notifiers =
        webhooks::start(&cfg.webhooks).map_err(|m| anyhow::anyhow!("[server] {m}"))?;
    notifiers.extend(siem::start(&cfg.siem).map_err(|m| anyhow::anyhow!("[server] {m}"))?);
    let metrics = Arc::new(Metrics::default());
    for b in notifiers.iter() {
        metrics.attach_outbox(b.kind(), b.name(), b.stats().clone());
    }
    // A flagged source is banned at the edge for decisions_flag_ban_secs, never beyond the
    // engine's own memory of the flag.
    let ban = cfg
        .decisions_flag_ban_secs
        .min(u64::from(engine.config().flag_ttl_secs)) as i64;
    let engine_trusted = engine.config().trusted_networks.clone();
    let handle = EngineHandle::new(
        engine,
        Arc::new(store),
        metrics,
        rules,
        notifiers,
        DecisionBook::new(ban, engine_trusted).with_step_up_secs(cfg.decisions_step_up_secs as i64),
    );
    if !journal {
        return Ok(handle);
    }
    let started = std::time::Instant::now();
    let rec = handle.recover(
        &cfg.journal_dir(),
        JournalOptions {
            interval: Duration::from_millis(cfg.journal_interval_ms),
            ..JournalOptions::default()
        },
        t,
        cfg.familiar_retention_days,
    )?;
    let (actions, familiar) = rec.from_store.unwrap_or_default();
    tracing::info!(
        store = %path.display(),
        journal = %cfg.journal_dir().display(),
        snapshot = rec.snapshot.as_deref().unwrap_or("none"),
        replayed = rec.replayed,
        discarded_snapshots = rec.discarded.len(),
        actions,
        familiar,
        pruned,
        ms = started.elapsed().as_millis() as u64,
        "state restored into the engine"
    );
    handle.set_ready(true);
    Ok(handle)
}

/// The bound listeners (bind first, so that tests can use port 0 and read the address), each
/// with its TLS configuration when it speaks TLS.
pub struct Listeners {
    policy: Bound,
    admin: Option<Bound>,
}

struct Bound {
    tcp: tokio::net::TcpListener,
    tls: Option<Arc<rustls::ServerConfig>>,
}

impl Listeners {
    /// Validates the configuration, loads the TLS certificate if any (errors name the file),
    /// and binds both listeners (errors name the key).
    pub async fn bind(cfg: &ServerConfig) -> anyhow::Result<Listeners> {
        cfg.validate()?;
        let (policy_tls, admin_tls) = cfg.tls_on();
        let tls = if policy_tls || admin_tls {
            Some(tls::server_config(&cfg.tls_cert, &cfg.tls_key)?)
        } else {
            None
        };
        let pa = cfg.policy_addr()?;
        let policy = tokio::net::TcpListener::bind(pa)
            .await
            .map_err(|e| anyhow::anyhow!("cannot listen on {pa} (policy_listen): {e}"))?;
        let admin = match cfg.admin_addr()? {
            Some(a) => Some(Bound {
                tcp: tokio::net::TcpListener::bind(a)
                    .await
                    .map_err(|e| anyhow::anyhow!("cannot listen on {a} (admin_listen): {e}"))?,
                tls: tls.clone().filter(|_| admin_tls),
            }),
            None => None,
        };
        Ok(Listeners {
            policy: Bound {
                tcp: policy,
                tls: tls.filter(|_| policy_tls),
            },
            admin,
        })
    }
    pub fn policy_addr(&self) -> SocketAddr {
        self.policy
            .tcp
            .local_addr()
            .expect("bound socket has an address")
    }
    pub fn admin_addr(&self) -> Option<SocketAddr> {
        self.admin
            .as_ref()
            .map(|a| a.tcp.local_addr().expect("bound socket has an address"))
    }
}

/// Serves `app` on one listener (plain or TLS) under `limits` until `stop` turns true
/// ([`conn::serve`]: timeouts, caps, bounded drain).
fn spawn_http(
    name: &'static str,
    bound: Bound,
    app: axum::Router,
    metrics: &Metrics,
    limits: ConnLimits,
    stop: tokio::sync::watch::Receiver<bool>,
) -> anyhow::Result<tokio::task::JoinHandle<()>> {
    let addr = bound.tcp.local_addr()?;
    let stats = Arc::new(ConnStats::default());
    metrics.attach_connections(name, stats.clone());
    Ok(match bound.tls {
        None => {
            tracing::info!(%addr, "{name} listener up (http)");
            // Answers go out at once: a small response must not wait for the client's ACK of
            // the previous one (Nagle), which delayed ACKs can stretch to tens of ms.
            let tcp = bound.tcp.tap_io(|s| {
                let _ = s.set_nodelay(true);
            });
            tokio::spawn(conn::serve(tcp, app, limits, stats, stop))
        }
        Some(config) => {
            let tls_stats = Arc::new(tls::TlsStats::default());
            metrics.attach_tls(name, tls_stats.clone());
            tracing::info!(%addr, "{name} listener up (https)");
            let l = tls::TlsListener::new(bound.tcp, config, tls_stats)?;
            tokio::spawn(conn::serve(l, app, limits, stats, stop))
        }
    })
}

/// Files kept free for the store, the followers and the syslog receiver when the connection
/// caps are fitted to the open-file limit.
const FD_HEADROOM: u64 = 256;

/// Raises the soft open-file limit to the hard one and lowers the connection caps so that
/// both listeners at their caps still leave [`FD_HEADROOM`] files (each connection is one).
fn fit_to_file_limit(limits: ConnLimits, listeners: u64) -> ConnLimits {
    let nofile = match conn::raise_nofile_limit() {
        Ok(n) => n,
        Err(e) => {
            tracing::warn!(error = %e, "cannot read or raise the open-file limit");
            return limits;
        }
    };
    let room = nofile.saturating_sub(FD_HEADROOM) / listeners.max(1);
    if (limits.max_connections as u64) <= room {
        return limits;
    }
    let cap = (room as usize).max(16);
    tracing::warn!(
        nofile,
        max_connections = limits.max_connections,
        lowered_to = cap,
        "max_connections lowered to fit the open-file limit (raise LimitNOFILE)"
    );
    ConnLimits {
        max_connections: cap,
        max_per_address: limits.max_per_address.min(cap),
        ..limits
    }
}

/// Serves both listeners until `shutdown` completes, then drains connections, flushes and
/// closes the store.
pub async fn serve(
    listeners: Listeners,
    cfg: Arc<ServerConfig>,
    handle: EngineHandle,
    normalize: Arc<NormalizeOptions>,
    passwords: Option<Arc<portcullis_passwords::PasswordChecker>>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    // Decisions into nftables sets (optional): up before the listeners, stopped after them.
    let nft = if cfg.nftables_table.is_empty() {
        None
    } else {
        let sink = crate::sinks::nftables::NftSink::start(
            &cfg.nftables_table,
            cfg.nftables_drop,
            handle.decisions().clone(),
        )?;
        handle.metrics().attach_nftables(sink.stats.clone());
        Some(sink)
    };
    let (tx, rx) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        shutdown.await;
        let _ = tx.send(true);
    });
    let limits = fit_to_file_limit(cfg.conn_limits(), 1 + u64::from(listeners.admin.is_some()));
    let failures = || {
        Arc::new(AuthFailures::new(
            cfg.admin_rate_per_sec as f64,
            cfg.admin_burst,
            cfg.auth_failures_per_sec,
        ))
    };
    let policy_app = policy::router(policy::PolicyState {
        handle: handle.clone(),
        cfg: cfg.clone(),
        normalize: normalize.clone(),
        passwords,
        failures: failures(),
        nginx: policy::NginxAuth::from_config(&cfg).map(Arc::new),
    });
    let metrics = handle.metrics().clone();
    let policy = spawn_http(
        "policy",
        listeners.policy,
        policy_app,
        &metrics,
        limits,
        rx.clone(),
    )?;
    let admin = match listeners.admin {
        Some(l) => {
            let app = crate::api::admin_listener(admin::AdminState {
                handle: handle.clone(),
                token: Arc::from(cfg.admin_token.as_str()),
                limiter: failures(),
                normalize: normalize.clone(),
                body_limit: cfg.body_limit_bytes,
                json_max_depth: cfg.json_max_depth,
                tls: l.tls.is_some(),
                bouncers: Arc::new(crate::bouncers::Bouncers::open(&cfg.data_dir)?),
            });
            Some(spawn_http("admin", l, app, &metrics, limits, rx.clone())?)
        }
        None => None,
    };
    // Maintenance: campaign records brought up to date, expiry, retention and size caps,
    // every 10 minutes.
    let maint_store = handle.store().clone();
    let maint_handle = handle.clone();
    let retention_days = cfg.familiar_retention_days;
    let maintenance = tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(600));
        tick.tick().await;
        loop {
            tick.tick().await;
            let h = maint_handle.clone();
            let _ = tokio::task::spawn_blocking(move || h.save_campaigns()).await;
            let s = maint_store.clone();
            let res = tokio::task::spawn_blocking(move || -> portcullis_store::Result<usize> {
                let t = now();
                Ok(s.prune(t.plus_secs(-(retention_days as i64) * 86_400), t)?
                    + s.cap(MAX_FAMILIAR_ROWS, MAX_FINDING_ROWS)?)
            })
            .await;
            match res {
                Ok(Ok(n)) if n > 0 => tracing::info!(rows = n, "store maintenance"),
                Ok(Err(e)) => tracing::warn!(error = %e, "store maintenance failed"),
                _ => {}
            }
        }
    });
    // Snapshots: after `snapshot_every_records` journal records or `snapshot_interval_secs`,
    // whichever comes first (checked every 5 s), each followed by the journal's compaction.
    let snap_handle = handle.clone();
    let (every, interval) = (cfg.snapshot_every_records, cfg.snapshot_interval_secs);
    let snapshots = tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(5));
        let (mut last_seq, mut last_at) = (snap_handle.journal_seq(), std::time::Instant::now());
        loop {
            tick.tick().await;
            let seq = snap_handle.journal_seq();
            if seq == last_seq || (seq - last_seq < every && last_at.elapsed().as_secs() < interval)
            {
                continue;
            }
            let h = snap_handle.clone();
            match tokio::task::spawn_blocking(move || h.snapshot()).await {
                Ok(Ok((at, bytes, removed))) => {
                    tracing::info!(seq = at, bytes, removed, "snapshot written");
                    last_seq = at;
                }
                Ok(Err(e)) => tracing::warn!(error = %e, "snapshot failed"),
                Err(_) => {}
            }
            last_at = std::time::Instant::now();
        }
    });
    let r1 = policy.await;
    maintenance.abort();
    snapshots.abort();
    let r2 = match admin {
        Some(a) => Some(a.await),
        None => None,
    };
    handle.set_ready(false);
    // A cluster node hands what it still buffers to the stream before it goes (up to 5 s: with
    // NATS unreachable they are lost, and the log says how many).
    if let Some(r) = handle.replica() {
        use std::sync::atomic::Ordering::Relaxed;
        let pending = || {
            r.submitted
                .load(Relaxed)
                .saturating_sub(r.published.load(Relaxed) + r.dropped.load(Relaxed))
        };
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while pending() > 0 && std::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        match pending() {
            0 => tracing::info!("cluster: every input published"),
            n => tracing::warn!(
                inputs = n,
                "cluster: inputs not published at shutdown (NATS unreachable); lost"
            ),
        }
    }
    drop(nft);
    let saved = handle.save_campaigns();
    let h = handle.clone();
    let snap = tokio::task::spawn_blocking(move || {
        let r = h.snapshot();
        (r, h.close_journal())
    })
    .await;
    match snap {
        Ok((Ok((seq, bytes, _)), Ok(()))) => {
            tracing::info!(seq, bytes, "snapshot written at shutdown")
        }
        Ok((Err(e), _)) => {
            tracing::warn!(error = %e, "snapshot at shutdown failed (the journal is replayed instead)")
        }
        Ok((_, Err(e))) => tracing::warn!(error = %e, "journal close failed"),
        Err(e) => tracing::warn!(error = %e, "snapshot at shutdown failed"),
    }
    let store = handle.store().clone();
    let closed = tokio::task::spawn_blocking(move || store.close()).await;
    tracing::info!(campaigns = saved, "store flushed and closed");
    r1?;
    if let Some(r) = r2 {
        r?;
    }
    closed??;
    Ok(())
}

/// The running event sources of a server (log followers, syslog receiver), feeding the hub.
pub struct Sources {
    followers: Vec<follow::FollowerTask>,
    syslog: Option<syslog::SyslogTask>,
}

impl Sources {
    /// Starts the followers and the syslog receiver the configuration asks for, delivering to
    /// `handle`, with their counters exported on `/metrics` (docs/followers.md).
    pub async fn start(
        cfg: &ServerConfig,
        normalize: &NormalizeOptions,
        handle: &EngineHandle,
    ) -> anyhow::Result<Sources> {
        let sink: Arc<dyn crate::sources::EventSink> = Arc::new(handle.clone());
        let followers = follow::spawn_all(&cfg.follow, &cfg.data_dir, normalize, sink.clone())?;
        for f in &followers {
            handle
                .metrics()
                .attach_follower(&f.path().display().to_string(), f.stats().clone());
        }
        let syslog = syslog::start_for(
            &cfg.syslog_udp,
            &cfg.syslog_tcp,
            &cfg.syslog_format,
            normalize,
            sink,
        )
        .await?;
        if let Some(s) = &syslog {
            handle.metrics().attach_syslog(s.stats().clone());
        }
        Ok(Sources { followers, syslog })
    }

    /// Stops them all (before the store closes, so nothing is fed to a closed store).
    pub async fn stop(self) {
        if let Some(s) = self.syslog {
            s.stop().await;
        }
        let followers = self.followers;
        let _ = tokio::task::spawn_blocking(move || drop(followers)).await;
    }
}

/// Resolves on SIGTERM or Ctrl-C.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => tracing::info!("interrupt: shutting down"),
        _ = term => tracing::info!("SIGTERM: shutting down"),
    }
}
