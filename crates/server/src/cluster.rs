//! A cluster of `serve` nodes over one NATS JetStream stream (`[cluster]`): every node
//! publishes its engine inputs to the stream and applies the stream, in stream order, to its
//! own engine, so every replica is a function of the same ordered inputs.
//!
//! - **Verdicts** come from the local replica as it is ([`EngineHandle::check`] and
//!   [`EngineHandle::observe`] use the engine's read-only `peek_*` in cluster mode): they never
//!   wait on the network, and the replica lags the cluster by the propagation delay.
//! - **Publishing** ([`publisher`]): a node's inputs are buffered in memory in their order and
//!   published with `Nats-Msg-Id = <node>:<boot epoch>:<number>`, so a retried publish is
//!   stored once by JetStream (within `duplicate_window_secs`); an input whose id was already
//!   applied is skipped again on apply ([`Seen`], counted as `duplicates_skipped`), which
//!   covers retries after the window too.
//! - **Applying** ([`consumer`]): an ordered consumer from the sequence after the last one
//!   applied; each message is applied under the engine's lock
//!   ([`EngineHandle::apply_replicated`]).
//! - **NATS unreachable**: fail-open. Nodes keep answering from their replica as it was when
//!   NATS went away (their own inputs are not applied provisionally), buffer their inputs (up
//!   to `max_buffered`, the oldest dropped beyond and counted), and publish them when it
//!   returns; every node then applies the same stream and converges.
//! - **Snapshots** (`<data_dir>/cluster/<next seq>.snap`, the journal's snapshot format holding
//!   the engine and [`Seen`]): a restarted node loads its newest and consumes the stream from
//!   the sequence after it. A node with none first loads the newest snapshot another node put
//!   in the JetStream object store (`<stream>_SNAPSHOTS`, objects named by the sequence), and
//!   otherwise replays the stream from its start.
//! - **Digest** ([`status`]): the applied sequence and a SHA-256 of the engine's canonical
//!   serialisation (JSON, maps sorted by key), on the admin API (`GET /v1/cluster`), to compare nodes.

use crate::hub::{EngineHandle, Replica};
use async_nats::jetstream::{self, consumer, object_store, stream};
use portcullis_engine::{Engine, SNAPSHOT_VERSION};
use portcullis_store::journal::{self, Record};
use serde::{Deserialize, Serialize};
use sha2::Digest as _;
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::time::Duration;
use tokio::io::AsyncReadExt;

/// `[cluster]` in `portcullis.toml`. Without the section (or with `nats_url` empty) `serve`
/// runs a single node.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ClusterConfig {
    /// NATS servers, comma-separated (`nats://10.0.0.1:4222,nats://10.0.0.2:4222`).
    pub nats_url: String,
    /// This node's name, unique in the cluster (letters, digits, `-`, `_`).
    pub node: String,
    /// The JetStream stream of inputs; its subjects are `<subject_prefix>.<node>`.
    pub stream: String,
    pub subject_prefix: String,
    /// Copies JetStream keeps of the stream (3 with a three-server NATS cluster).
    pub replicas: usize,
    /// How long JetStream remembers a message id for deduplication.
    pub duplicate_window_secs: u64,
    /// Inputs applied between two snapshots (local, and put in the object store).
    pub snapshot_every: u64,
    /// Most inputs buffered while NATS is unreachable; the oldest are dropped beyond (counted).
    pub max_buffered: usize,
}

impl Default for ClusterConfig {
    fn default() -> Self {
        ClusterConfig {
            nats_url: String::new(),
            node: String::new(),
            stream: "PORTCULLIS_INPUTS".into(),
            subject_prefix: "portcullis.inputs".into(),
            replicas: 1,
            duplicate_window_secs: 600,
            snapshot_every: 100_000,
            max_buffered: 1_000_000,
        }
    }
}

impl ClusterConfig {
    /// True when `[cluster]` asks for a cluster.
    pub fn enabled(&self) -> bool {
        !self.nats_url.is_empty()
    }

    /// Refuses what cannot work (an empty or odd node name, zero limits).
    pub fn validate(&self) -> Result<(), String> {
        let ok = |s: &str| {
            !s.is_empty()
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        };
        if !ok(&self.node) {
            return Err("[cluster] node must be set: letters, digits, '-' and '_'".into());
        }
        if !ok(&self.stream) {
            return Err("[cluster] stream: letters, digits, '-' and '_'".into());
        }
        if self.replicas == 0 || self.snapshot_every == 0 || self.max_buffered == 0 {
            return Err(
                "[cluster] replicas, snapshot_every and max_buffered must be positive".into(),
            );
        }
        Ok(())
    }

    fn subject(&self) -> String {
        format!("{}.{}", self.subject_prefix, self.node)
    }

    fn bucket(&self) -> String {
        format!("{}_SNAPSHOTS", self.stream)
    }
}

/// What travels in the stream: the input and who published it under which number.
#[derive(Serialize, Deserialize)]
struct Envelope<'a> {
    node: &'a str,
    epoch: u64,
    seq: u64,
    /// When the publishing node took the input (wall clock, µs): for the propagation delay.
    sent_us: i64,
    #[serde(borrow)]
    record: Record<'a>,
}

/// The input ids applied, per publisher (node and boot epoch): everything up to `upto`, and
/// the numbers above it seen out of order. Part of the replica's state (in its snapshot), so
/// every node skips the same duplicates.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Seen {
    by: BTreeMap<(String, u64), (u64, BTreeSet<u64>)>,
}

impl Seen {
    /// Records `seq` of publisher (`node`, `epoch`); false when it was already recorded.
    pub fn first_time(&mut self, node: &str, epoch: u64, seq: u64) -> bool {
        let (upto, above) = self.by.entry((node.to_string(), epoch)).or_default();
        if seq <= *upto || !above.insert(seq) {
            return false;
        }
        while above.remove(&(*upto + 1)) {
            *upto += 1;
        }
        true
    }
}

/// What a cluster snapshot holds.
#[derive(Serialize, Deserialize)]
struct ClusterSnapshot {
    applied_seq: u64,
    seen: Seen,
    engine: Vec<u8>,
}

/// The node's view for the admin API: the applied sequence and the digest read under the
/// engine's lock, so they belong together.
pub fn status(handle: &EngineHandle) -> serde_json::Value {
    let Some(r) = handle.replica() else {
        return serde_json::Value::Null;
    };
    // The engine's canonical form (JSON: maps by key, whatever their history), so that a
    // node restored from a snapshot and one that never stopped hash alike.
    let (applied_seq, bytes) = handle.with_engine(|e| {
        (
            r.applied_seq.load(Ordering::Acquire),
            serde_json::to_vec(&*e).unwrap_or_default(),
        )
    });
    let c = r;
    let (p50, p99, n) = r.delays();
    serde_json::json!({
        "propagation_us": {"p50": p50, "p99": p99, "samples": n},
        "node": r.node,
        "applied_seq": applied_seq,
        "digest": hex::encode(sha2::Sha256::digest(&bytes)),
        "applied": r.applied.load(Ordering::Relaxed),
        "duplicates_skipped": r.duplicates_skipped.load(Ordering::Relaxed),
        "submitted": r.submitted.load(Ordering::Relaxed),
        "published": c.published.load(Ordering::Relaxed),
        "buffered": c.buffered.load(Ordering::Relaxed),
        "dropped": c.dropped.load(Ordering::Relaxed),
        "connected": c.connected.load(Ordering::Relaxed),
    })
}

/// Makes `handle` a replica and starts the cluster's tasks on the current runtime: loads the
/// newest local snapshot (`<data_dir>/cluster/`) first, so the engine is where it was.
pub fn start(handle: &EngineHandle, cfg: &ClusterConfig, data_dir: &Path) -> anyhow::Result<()> {
    cfg.validate().map_err(|m| anyhow::anyhow!(m))?;
    let dir = data_dir.join("cluster");
    std::fs::create_dir_all(&dir)?;
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let replica = handle.join_cluster(&cfg.node, tx);
    let mut seen = Seen::default();
    if let Some(snap) = load_local(handle, &dir)? {
        replica.applied_seq.store(snap.0, Ordering::Release);
        seen = snap.1;
        tracing::info!(applied_seq = snap.0, "cluster: local snapshot loaded");
    }
    // A reconnection re-attaches the consumer at once, instead of waiting for the ordered
    // consumer to miss two idle heartbeats (over ten seconds) before it recreates itself.
    let reconnected = std::sync::Arc::new(tokio::sync::Notify::new());
    let on_event = reconnected.clone();
    let opts = async_nats::ConnectOptions::new()
        .event_callback(move |ev| {
            let n = on_event.clone();
            async move {
                if matches!(ev, async_nats::Event::Connected) {
                    n.notify_one();
                }
            }
        })
        .name(format!("portcullis-{}", cfg.node))
        .retry_on_initial_connect()
        .max_reconnects(None::<usize>)
        .connection_timeout(Duration::from_secs(2))
        // Back soon after NATS is: 100 ms more per failed attempt, at most 1 s between two.
        .reconnect_delay_callback(|attempts| {
            Duration::from_millis((attempts as u64 * 100).min(1000))
        });
    let url = cfg.nats_url.clone();
    let cfg = cfg.clone();
    let h = handle.clone();
    tokio::spawn(async move {
        let client = match opts.connect(url.as_str()).await {
            Ok(c) => c,
            Err(e) => {
                tracing::error!(error = %e, "cluster: bad NATS address; running alone");
                return;
            }
        };
        let js = jetstream::ContextBuilder::new()
            .timeout(Duration::from_secs(2))
            .build(client);
        let epoch = crate::clock::now().unix_micros() as u64;
        tokio::spawn(publisher(js.clone(), cfg.clone(), epoch, rx, h.clone()));
        consumer(js, cfg, h, dir, seen, reconnected).await;
    });
    Ok(())
}

/// The newest usable local snapshot, loaded into the engine: (applied sequence, seen ids).
fn load_local(handle: &EngineHandle, dir: &Path) -> anyhow::Result<Option<(u64, Seen)>> {
    for (path, snap) in journal::snapshots(dir)? {
        let why = match snap.map_err(|e| e.to_string()).and_then(|s| {
            if s.version != SNAPSHOT_VERSION {
                return Err(format!("layout version {}", s.version));
            }
            install(handle, &s.bytes)
        }) {
            Ok(v) => return Ok(Some(v)),
            Err(e) => e,
        };
        tracing::warn!(snapshot = %path.display(), reason = %why, "cluster snapshot discarded");
    }
    Ok(None)
}

/// Puts a cluster snapshot's engine in place if it was built under this configuration.
fn install(handle: &EngineHandle, bytes: &[u8]) -> Result<(u64, Seen), String> {
    let s: ClusterSnapshot = postcard::from_bytes(bytes).map_err(|e| e.to_string())?;
    let e: Engine = postcard::from_bytes(&s.engine).map_err(|e| e.to_string())?;
    handle.with_engine(|cur| {
        if !e.built_with(cur.config()) {
            return Err("built under another [engine] configuration".to_string());
        }
        *cur = e;
        Ok(())
    })?;
    Ok((s.applied_seq, s.seen))
}

/// Publishes the node's inputs in order, retrying until JetStream acknowledges each.
async fn publisher(
    js: jetstream::Context,
    cfg: ClusterConfig,
    epoch: u64,
    mut rx: tokio::sync::mpsc::UnboundedReceiver<Vec<u8>>,
    handle: EngineHandle,
) {
    let Some(counters) = handle.replica() else {
        return;
    };
    let subject = cfg.subject();
    let mut buf: VecDeque<(u64, bytes::Bytes)> = VecDeque::new();
    let mut next = 1u64;
    let mut take = |buf: &mut VecDeque<(u64, bytes::Bytes)>, rec: Vec<u8>| {
        // The record is re-wrapped with its id (decoded once here, off the request path).
        let Ok(record) = postcard::from_bytes::<Record<'_>>(&rec) else {
            return;
        };
        let env = Envelope {
            node: &cfg.node,
            epoch,
            seq: next,
            sent_us: crate::clock::now().unix_micros(),
            record,
        };
        if let Ok(b) = postcard::to_allocvec(&env) {
            buf.push_back((next, b.into()));
            next += 1;
        }
        if buf.len() > cfg.max_buffered {
            buf.pop_front();
            counters.dropped.fetch_add(1, Ordering::Relaxed);
        }
    };
    loop {
        if buf.is_empty() {
            match rx.recv().await {
                Some(r) => take(&mut buf, r),
                None => return,
            }
        }
        while let Ok(r) = rx.try_recv() {
            take(&mut buf, r);
        }
        counters.buffered.store(buf.len() as u64, Ordering::Relaxed);
        let mut acks = Vec::new();
        let mut failed = false;
        for (seq, payload) in buf.iter().take(1024) {
            let msg = jetstream::message::PublishMessage::build()
                .payload(payload.clone())
                .message_id(format!("{}:{epoch}:{seq}", cfg.node));
            match js.send_publish(subject.clone(), msg).await {
                Ok(ack) => acks.push(ack),
                Err(_) => {
                    failed = true;
                    break;
                }
            }
        }
        // Only the acknowledged front of the buffer leaves it; whatever follows a failure is
        // published again (JetStream and `Seen` drop the copies).
        let mut done = 0usize;
        for ack in acks {
            match ack.await {
                Ok(_) if !failed => done += 1,
                Ok(_) => {}
                Err(_) => failed = true,
            }
        }
        buf.drain(..done);
        counters.published.fetch_add(done as u64, Ordering::Relaxed);
        counters.buffered.store(buf.len() as u64, Ordering::Relaxed);
        if failed {
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }
}

/// Applies the stream in order, for ever: (re)attaches an ordered consumer after the last
/// sequence applied whenever the previous one failed.
async fn consumer(
    js: jetstream::Context,
    cfg: ClusterConfig,
    handle: EngineHandle,
    dir: PathBuf,
    mut seen: Seen,
    reconnected: std::sync::Arc<tokio::sync::Notify>,
) {
    let Some(replica) = handle.replica() else {
        return;
    };
    let mut bootstrapped = replica.applied_seq.load(Ordering::Acquire) > 0;
    let mut since_snapshot = 0u64;
    loop {
        let r = attach(
            &js,
            &cfg,
            &handle,
            replica,
            &dir,
            &mut seen,
            &mut bootstrapped,
            &mut since_snapshot,
            &reconnected,
        )
        .await;
        replica.connected.store(false, Ordering::Relaxed);
        if let Err(e) = r {
            tracing::warn!(error = %e, "cluster: stream unavailable; answering from the local replica");
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

#[allow(clippy::too_many_arguments)]
async fn attach(
    js: &jetstream::Context,
    cfg: &ClusterConfig,
    handle: &EngineHandle,
    replica: &Replica,
    dir: &Path,
    seen: &mut Seen,
    bootstrapped: &mut bool,
    since_snapshot: &mut u64,
    reconnected: &tokio::sync::Notify,
) -> anyhow::Result<()> {
    use futures_util::StreamExt;
    let stream = js
        .get_or_create_stream(stream::Config {
            name: cfg.stream.clone(),
            subjects: vec![format!("{}.*", cfg.subject_prefix)],
            storage: stream::StorageType::File,
            num_replicas: cfg.replicas,
            duplicate_window: Duration::from_secs(cfg.duplicate_window_secs),
            ..Default::default()
        })
        .await?;
    let store = match js.get_object_store(cfg.bucket()).await {
        Ok(s) => s,
        Err(_) => {
            js.create_object_store(object_store::Config {
                bucket: cfg.bucket(),
                num_replicas: cfg.replicas,
                storage: stream::StorageType::File,
                ..Default::default()
            })
            .await?
        }
    };
    if !*bootstrapped {
        let newest = tokio::time::timeout(SHARED_TIMEOUT, newest_shared(&store))
            .await
            .unwrap_or_else(|_| Err(anyhow::anyhow!("timed out")));
        match newest {
            Ok(Some((name, bytes))) => match install(handle, &bytes) {
                Ok((seq, s)) => {
                    replica.applied_seq.store(seq, Ordering::Release);
                    *seen = s;
                    tracing::info!(object = %name, applied_seq = seq, "cluster: joined from a shared snapshot");
                }
                Err(e) => {
                    tracing::warn!(object = %name, reason = %e, "cluster: shared snapshot unusable; replaying the stream")
                }
            },
            Ok(None) => {}
            Err(e) => {
                tracing::warn!(error = %e, "cluster: shared snapshots unreadable; replaying the stream")
            }
        }
        *bootstrapped = true;
    }
    let start = replica.applied_seq.load(Ordering::Acquire) + 1;
    let consumer = stream
        .create_consumer(consumer::pull::OrderedConfig {
            deliver_policy: consumer::DeliverPolicy::ByStartSequence {
                start_sequence: start,
            },
            ..Default::default()
        })
        .await?;
    let mut messages = consumer.messages().await?;
    replica.connected.store(true, Ordering::Relaxed);
    tracing::info!(from = start, "cluster: applying the stream");
    loop {
        let msg = tokio::select! {
            m = messages.next() => m,
            _ = reconnected.notified() => {
                tracing::info!("cluster: NATS reconnected; re-attaching to the stream");
                return Ok(());
            }
        };
        let Some(msg) = msg else { break };
        let msg = msg?;
        let seq = msg
            .info()
            .map_err(|e| anyhow::anyhow!("{e}"))?
            .stream_sequence;
        let last = replica.applied_seq.load(Ordering::Acquire);
        if seq <= last {
            continue;
        }
        if seq > last + 1 {
            tracing::error!(
                applied_seq = last,
                next = seq,
                "cluster: the stream no longer holds the inputs after this node's snapshot; its state differs from the others' (remove <data_dir>/cluster/ to join from the shared snapshot)"
            );
        }
        match postcard::from_bytes::<Envelope<'_>>(&msg.payload) {
            Ok(env) if seen.first_time(env.node, env.epoch, env.seq) => {
                handle.apply_replicated(seq, &env.record)?;
                if env.node != cfg.node {
                    let d = crate::clock::now().unix_micros() - env.sent_us;
                    replica.note_delay(d.max(0) as u64);
                }
            }
            Ok(_) => {
                replica.duplicates_skipped.fetch_add(1, Ordering::Relaxed);
                handle.with_engine(|_| replica.applied_seq.store(seq, Ordering::Release));
            }
            Err(e) => {
                tracing::warn!(seq, error = %e, "cluster: undecodable input skipped");
                handle.with_engine(|_| replica.applied_seq.store(seq, Ordering::Release));
            }
        }
        *since_snapshot += 1;
        if *since_snapshot >= cfg.snapshot_every {
            *since_snapshot = 0;
            if let Err(e) = snapshot(handle, replica, seen, dir, &store).await {
                tracing::warn!(error = %e, "cluster: snapshot failed");
            }
        }
    }
    Ok(())
}

/// Writes a snapshot of the replica locally and, unless another node already did for the same
/// sequence, to the shared object store (keeping the newest two there).
async fn snapshot(
    handle: &EngineHandle,
    replica: &Replica,
    seen: &Seen,
    dir: &Path,
    store: &object_store::ObjectStore,
) -> anyhow::Result<()> {
    let (applied_seq, engine) = handle.with_engine(|e| {
        (
            replica.applied_seq.load(Ordering::Acquire),
            postcard::to_allocvec(&*e),
        )
    });
    let bytes = postcard::to_allocvec(&ClusterSnapshot {
        applied_seq,
        seen: seen.clone(),
        engine: engine?,
    })?;
    let (d, b) = (dir.to_path_buf(), bytes.clone());
    tokio::task::spawn_blocking(move || {
        journal::write_snapshot(&d, SNAPSHOT_VERSION, applied_seq + 1, &b)
    })
    .await??;
    tracing::info!(
        applied_seq,
        bytes = bytes.len(),
        "cluster: snapshot written"
    );
    // The shared copy is put beside the stream's application, never in its way.
    let store = store.clone();
    tokio::spawn(async move {
        let name = format!("snap-v{SNAPSHOT_VERSION}-{applied_seq:020}");
        match tokio::time::timeout(SHARED_TIMEOUT, share(&store, &name, &bytes)).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                tracing::warn!(object = %name, error = %e, "cluster: shared snapshot not put")
            }
            Err(_) => tracing::warn!(object = %name, "cluster: shared snapshot not put in time"),
        }
    });
    Ok(())
}

/// How long putting or getting a shared snapshot may take.
const SHARED_TIMEOUT: Duration = Duration::from_secs(60);

/// Puts a snapshot in the object store unless a node already did for that sequence, and
/// keeps the newest two there.
async fn share(store: &object_store::ObjectStore, name: &str, bytes: &[u8]) -> anyhow::Result<()> {
    if store.info(name).await.is_ok() {
        return Ok(());
    }
    store.put(name, &mut &bytes[..]).await?;
    let mut names = shared_names(store).await?;
    names.sort();
    let keep = names.len().saturating_sub(2);
    for old in &names[..keep] {
        let _ = store.delete(old).await;
    }
    Ok(())
}

async fn shared_names(store: &object_store::ObjectStore) -> anyhow::Result<Vec<String>> {
    use futures_util::StreamExt;
    let prefix = format!("snap-v{SNAPSHOT_VERSION}-");
    let mut list = store.list().await?;
    let mut names = Vec::new();
    while let Some(info) = list.next().await {
        let info = info?;
        if info.name.starts_with(&prefix) && !info.deleted {
            names.push(info.name);
        }
    }
    Ok(names)
}

/// The newest shared snapshot of this layout version, if any.
async fn newest_shared(
    store: &object_store::ObjectStore,
) -> anyhow::Result<Option<(String, Vec<u8>)>> {
    let Some(name) = shared_names(store).await?.into_iter().max() else {
        return Ok(None);
    };
    let mut obj = store.get(&name).await?;
    let mut bytes = Vec::new();
    obj.read_to_end(&mut bytes).await?;
    Ok(Some((name, bytes)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_id_is_applied_once_whatever_the_order_it_arrives_in() {
        let mut s = Seen::default();
        assert!(s.first_time("a", 1, 1));
        assert!(s.first_time("a", 1, 3));
        assert!(!s.first_time("a", 1, 3));
        assert!(s.first_time("a", 1, 2));
        assert!(!s.first_time("a", 1, 1) && !s.first_time("a", 1, 2));
        // Everything up to 3 is now folded into the watermark.
        assert_eq!(s.by[&("a".to_string(), 1)], (3, BTreeSet::new()));
        // Another boot epoch, another node: their own numbering.
        assert!(s.first_time("a", 2, 1));
        assert!(s.first_time("b", 1, 1));
    }

    #[test]
    fn the_config_refuses_what_cannot_work() {
        let mut c = ClusterConfig {
            nats_url: "nats://127.0.0.1:4222".into(),
            node: "a".into(),
            ..Default::default()
        };
        assert!(c.enabled() && c.validate().is_ok());
        c.node = "a.b".into();
        assert!(c.validate().is_err());
        c.node = String::new();
        assert!(c.validate().is_err());
        assert!(!ClusterConfig::default().enabled());
    }
}
