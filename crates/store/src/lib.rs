//! Durable state for `portcullis serve`, in one SQLite file (WAL mode).
//!
//! What survives a restart, graceful or `kill -9`:
//! - **admin state**: source blocks with expiry, account protections, the organisation-wide
//!   shields; replayed into the engine on start ([`Store::replay_actions`]);
//! - **familiar sources**: account × prefix → last successful login, re-taught to the engine on
//!   start ([`Store::familiar_sources`]);
//! - **campaigns and findings**: every [`Finding`] as JSON, the latest state of each campaign;
//! - **the admin audit log**: who did what, when and why ([`AuditEntry`]).
//!
//! Durability contract. All writes go through one writer thread that commits in groups
//! ("group commit"): woken by the first item of a batch, it sleeps through
//! [`StoreOptions::batch_interval`] (asynchronous items never wake it; a synchronous call does),
//! then takes everything queued, up to [`StoreOptions::batch_max`] items, and commits it in one
//! transaction.
//! - An admin action ([`Store::record_admin`]) is *synchronous*: the call returns only after the
//!   transaction that holds it (and everything queued before it) is committed and fsynced
//!   (`synchronous=FULL`), so an acknowledged block survives `kill -9` and power loss.
//! - Findings ([`Store::record_finding`]) are *asynchronous*: queued without waiting, committed
//!   with `synchronous=FULL` within one batch interval (default 5 ms) plus the commit time.
//! - Familiar sources ([`Store::record_familiar`]) are asynchronous too, and held back by the
//!   writer for up to [`StoreOptions::familiar_interval`] (default 1 s) or until
//!   [`StoreOptions::familiar_max`] of them are waiting, then committed together, sorted by
//!   account: alone in a transaction with `synchronous=NORMAL` (WAL mode: no fsync at that
//!   commit; the WAL is fsynced by the next `FULL` commit or checkpoint), or, when findings or
//!   admin items are due in the same round, in their `FULL` transaction (one commit, not two).
//!   A flush (and the writer's end) takes them in at once. So the familiar sources of the last second are lost
//!   when the process is killed (`kill -9`), and the last ones committed may be lost on power
//!   loss or an OS crash. That is acceptable for this memory only: a familiar source is
//!   relearned at the account's next successful login, and on a busy server it is the one
//!   write per login — random keys all over the table's B-tree — that per-batch commits and
//!   fsyncs would make expensive. Blocks, protections, shields, audit entries and findings are
//!   never held back and never written without `FULL`.
//!
//! The queue is bounded ([`StoreOptions::queue_capacity`]); when it is full an asynchronous
//! item is dropped and counted ([`StoreStats::dropped`]) rather than slowing requests. So are
//! the asynchronous items of a transaction that fails (disk full, read-only, I/O error): the
//! failure is kept until a commit succeeds again, and [`Store::health`] reports it (the
//! server's `/readyz` turns 503 with the reason).
//!
//! Reads use a second connection (WAL readers never block the writer).

pub mod journal;

use portcullis_core::{Prefix, Protocol, Timestamp};
use portcullis_engine::{AdminAction, Finding, ProtectionMode};
use rusqlite::{Connection, OptionalExtension, params};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::mpsc::{
    Receiver, RecvTimeoutError, SyncSender, TryRecvError, TrySendError, sync_channel,
};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Errors of the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("store database error: {0}")]
    Sql(#[from] rusqlite::Error),
    #[error("store JSON error: {0}")]
    Json(#[from] serde_json::Error),
    #[error("the store's writer thread has stopped")]
    WriterGone,
    #[error("store file {path}: {msg}")]
    Open { path: PathBuf, msg: String },
}

pub type Result<T> = std::result::Result<T, StoreError>;

/// Tuning of the writer.
#[derive(Clone, Debug)]
pub struct StoreOptions {
    /// Longest wait between the first queued item and its commit.
    pub batch_interval: Duration,
    /// Most items in one transaction.
    pub batch_max: usize,
    /// Bound of the write queue (asynchronous items beyond it are dropped and counted).
    pub queue_capacity: usize,
    /// Longest time familiar sources are held back by the writer, to be committed together,
    /// sorted, with no fsync of their own (see the durability contract).
    pub familiar_interval: Duration,
    /// Most familiar sources held back (reached, they are committed at once).
    pub familiar_max: usize,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            batch_interval: Duration::from_millis(5),
            batch_max: 4096,
            queue_capacity: 65_536,
            familiar_interval: Duration::from_secs(1),
            familiar_max: 65_536,
        }
    }
}

/// One audited admin action: who, when, what, why, and through which interface.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// Sequence number in the log (0 before it is written).
    #[serde(default)]
    pub seq: i64,
    pub at: Timestamp,
    /// Who: the operator name the client claimed, authenticated by the admin token.
    pub actor: String,
    /// Where it came from (`admin-api`, `wforce-api`, `cli`, ...).
    pub via: String,
    pub action: AdminAction,
    pub reason: String,
}

/// A source block as stored.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BlockRecord {
    pub prefix: Prefix,
    pub at: Timestamp,
    pub until: Option<Timestamp>,
    pub reason: String,
    pub actor: String,
}

/// An account protection as stored.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ProtectionRecord {
    pub account: String,
    pub mode: ProtectionMode,
    pub at: Timestamp,
    pub until: Option<Timestamp>,
    pub reason: String,
    pub actor: String,
}

/// The shields-up state as stored.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ShieldsRecord {
    /// Protocols covered; empty = all.
    pub protocols: Vec<Protocol>,
    pub at: Timestamp,
    pub until: Option<Timestamp>,
    pub reason: String,
    pub actor: String,
}

/// A familiar source: the account logged in successfully from this prefix.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FamiliarSource {
    pub account: String,
    pub prefix: Prefix,
    pub last_success: Timestamp,
}

/// A stored finding.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FindingRecord {
    pub seq: i64,
    /// Wall-clock time the server recorded it.
    pub at: Timestamp,
    pub finding: Finding,
}

/// Counters of the writer, for metrics.
#[derive(Debug, Default)]
pub struct StoreStats {
    /// Transactions committed.
    pub commits: AtomicU64,
    /// Items written.
    pub items: AtomicU64,
    /// Asynchronous items dropped: the queue was full, or their transaction failed.
    pub dropped: AtomicU64,
    /// Transactions that failed (items lost, logged).
    pub errors: AtomicU64,
    /// Total microseconds spent committing (for the mean).
    pub commit_micros: AtomicU64,
    /// Transactions committed with `synchronous=NORMAL` (familiar sources only).
    pub relaxed_commits: AtomicU64,
    /// Why the last transaction failed, until one succeeds again.
    pub last_error: Mutex<Option<String>>,
}

enum Item {
    Admin(AuditEntry),
    Finding(Timestamp, String, Finding),
    Familiar(FamiliarSource),
    /// A campaign's current state (no finding row): keeps the record current between the
    /// engine's rate-limited `campaign_updated` findings.
    Campaign(Box<portcullis_core::report::Campaign>),
}

enum Msg {
    Item(Item),
    /// Commit everything queued including this item, then answer.
    Sync(Item, std::sync::mpsc::Sender<Result<i64>>),
    /// Commit everything queued, then answer.
    Flush(std::sync::mpsc::Sender<Result<i64>>),
}

/// The store: a writer thread plus a read connection. Cheap to share behind an `Arc`.
pub struct Store {
    path: PathBuf,
    tx: Mutex<Option<SyncSender<Msg>>>,
    writer: Mutex<Option<JoinHandle<()>>>,
    /// The writer thread, to wake it early when a synchronous call waits.
    writer_thread: std::thread::Thread,
    /// Synchronous messages sent and not yet taken by the writer (counted after the send, so
    /// a positive count means one is in the queue): the writer stops sleeping.
    pending_sync: Arc<AtomicI64>,
    reader: Mutex<Connection>,
    stats: Arc<StoreStats>,
}

const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS blocks (
    prefix TEXT PRIMARY KEY, at INTEGER NOT NULL, until INTEGER,
    reason TEXT NOT NULL, actor TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS protections (
    account TEXT PRIMARY KEY, mode TEXT NOT NULL, at INTEGER NOT NULL, until INTEGER,
    reason TEXT NOT NULL, actor TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS shields (
    id INTEGER PRIMARY KEY CHECK (id = 1), protocols TEXT NOT NULL, at INTEGER NOT NULL,
    until INTEGER, reason TEXT NOT NULL, actor TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS familiar (
    account TEXT NOT NULL, prefix TEXT NOT NULL, last_success INTEGER NOT NULL,
    PRIMARY KEY (account, prefix)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS campaigns (
    id TEXT PRIMARY KEY, kind TEXT NOT NULL, first_seen INTEGER NOT NULL,
    last_seen INTEGER NOT NULL, json TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS findings (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, at INTEGER NOT NULL, kind TEXT NOT NULL,
    json TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS audit (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, at INTEGER NOT NULL, actor TEXT NOT NULL,
    via TEXT NOT NULL, reason TEXT NOT NULL, json TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS familiar_by_time ON familiar (last_success);
INSERT OR IGNORE INTO meta (key, value) VALUES ('schema', '1');
"#;

/// Page cache of each connection, in KiB (a cap, allocated as pages are used).
const CACHE_KIB: i64 = 16 * 1024;

fn open_conn(path: &Path) -> Result<Connection> {
    let conn = Connection::open(path).map_err(|e| StoreError::Open {
        path: path.to_path_buf(),
        msg: e.to_string(),
    })?;
    conn.busy_timeout(Duration::from_secs(5))?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    // Room for the hot part of the familiar table's B-trees (the default is 2 MiB): random
    // account × address inserts otherwise read most of their pages back from the OS.
    conn.pragma_update(None, "cache_size", -CACHE_KIB)?;
    Ok(conn)
}

/// The message of an error without its own path (the caller names the path once).
fn bare(e: &StoreError) -> String {
    match e {
        StoreError::Open { msg, .. } => msg.clone(),
        e => e.to_string(),
    }
}

/// Why SQLite could not open or write the store, as the OS says it ("Read-only file system",
/// "Permission denied", "No space left on device"): SQLite's own message names neither.
fn why_unwritable(path: &Path) -> String {
    let probe = if path.exists() {
        std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(path)
            .map(drop)
    } else {
        let dir = path.parent().filter(|d| !d.as_os_str().is_empty());
        let probe = dir
            .unwrap_or(Path::new("."))
            .join(format!(".portcullis-probe-{}", std::process::id()));
        let r = std::fs::write(&probe, b"x");
        let _ = std::fs::remove_file(&probe);
        r
    };
    match probe {
        Ok(()) => String::new(),
        Err(e) => format!(" (cannot write there: {e})"),
    }
}

fn ts_opt(t: Option<Timestamp>) -> Option<i64> {
    t.map(|t| t.unix_micros())
}

impl Store {
    /// Opens (creating if needed) the store at `path` and starts its writer thread.
    pub fn open(path: impl AsRef<Path>, opts: StoreOptions) -> Result<Store> {
        let path = path.as_ref().to_path_buf();
        if let Some(dir) = path.parent()
            && !dir.as_os_str().is_empty()
        {
            std::fs::create_dir_all(dir).map_err(|e| StoreError::Open {
                path: path.clone(),
                msg: format!("cannot create directory {}: {e}", dir.display()),
            })?;
        }
        let opened = open_conn(&path).and_then(|w| {
            w.execute_batch(SCHEMA)?;
            Ok((w, open_conn(&path)?))
        });
        let (wconn, reader) = opened.map_err(|e| StoreError::Open {
            path: path.clone(),
            msg: format!("{}{}", bare(&e), why_unwritable(&path)),
        })?;
        let stats = Arc::new(StoreStats::default());
        let (tx, rx) = sync_channel(opts.queue_capacity.max(16));
        let st = stats.clone();
        let pending_sync = Arc::new(AtomicI64::new(0));
        let u = pending_sync.clone();
        let writer = std::thread::Builder::new()
            .name("portcullis-store".into())
            .spawn(move || {
                lower_priority();
                writer_loop(wconn, rx, opts, st, u)
            })
            .map_err(|e| StoreError::Open {
                path: path.clone(),
                msg: format!("cannot start writer thread: {e}"),
            })?;
        Ok(Store {
            path,
            tx: Mutex::new(Some(tx)),
            writer_thread: writer.thread().clone(),
            writer: Mutex::new(Some(writer)),
            pending_sync,
            reader: Mutex::new(reader),
            stats,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn stats(&self) -> &StoreStats {
        &self.stats
    }

    /// `Err(why)` while the store cannot commit (its last transaction failed: disk full,
    /// read-only file system, I/O error), or once its writer has stopped.
    pub fn health(&self) -> std::result::Result<(), String> {
        if let Some(e) = self.stats.last_error.lock().ok().and_then(|g| g.clone()) {
            return Err(format!("store {} cannot commit: {e}", self.path.display()));
        }
        let stopped = self
            .writer
            .lock()
            .map(|w| w.as_ref().is_none_or(|h| h.is_finished()))
            .unwrap_or(true);
        if stopped {
            return Err("the store's writer has stopped".into());
        }
        Ok(())
    }

    fn sender(&self) -> Result<SyncSender<Msg>> {
        self.tx
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
            .ok_or(StoreError::WriterGone)
    }

    fn call(&self, make: impl FnOnce(std::sync::mpsc::Sender<Result<i64>>) -> Msg) -> Result<i64> {
        let (rtx, rrx) = std::sync::mpsc::channel();
        self.sender()?
            .send(make(rtx))
            .map_err(|_| StoreError::WriterGone)?;
        // The writer may be sleeping through a batch interval: someone is waiting, commit now.
        self.pending_sync.fetch_add(1, Ordering::AcqRel);
        self.writer_thread.unpark();
        rrx.recv().map_err(|_| StoreError::WriterGone)?
    }

    /// Records an admin action and its audit entry; returns once both are committed and
    /// fsynced (with everything queued before). Returns the audit sequence number.
    pub fn record_admin(&self, entry: AuditEntry) -> Result<i64> {
        self.call(|r| Msg::Sync(Item::Admin(entry), r))
    }

    fn enqueue(&self, item: Item) -> bool {
        let Ok(tx) = self.sender() else {
            self.stats.dropped.fetch_add(1, Ordering::Relaxed);
            return false;
        };
        match tx.try_send(Msg::Item(item)) {
            Ok(()) => true,
            Err(TrySendError::Full(_)) | Err(TrySendError::Disconnected(_)) => {
                self.stats.dropped.fetch_add(1, Ordering::Relaxed);
                false
            }
        }
    }

    /// Queues a finding (durable within one batch interval). False if it was dropped.
    pub fn record_finding(&self, at: Timestamp, finding: &Finding) -> bool {
        match serde_json::to_string(finding) {
            Ok(json) => self.enqueue(Item::Finding(at, json, finding.clone())),
            Err(_) => {
                self.stats.errors.fetch_add(1, Ordering::Relaxed);
                false
            }
        }
    }

    /// Queues a campaign's current state for its record (`campaigns` table; no finding row).
    /// False if it was dropped.
    pub fn record_campaign(&self, c: &portcullis_core::report::Campaign) -> bool {
        self.enqueue(Item::Campaign(Box::new(c.clone())))
    }

    /// Queues "this account logged in successfully from this prefix at that time".
    pub fn record_familiar(&self, account: &str, prefix: Prefix, at: Timestamp) -> bool {
        self.enqueue(Item::Familiar(FamiliarSource {
            account: account.to_string(),
            prefix,
            last_success: at,
        }))
    }

    /// Waits until everything queued so far is committed.
    pub fn flush(&self) -> Result<()> {
        self.call(Msg::Flush).map(|_| ())
    }

    /// Flushes and stops the writer thread. Later writes fail with [`StoreError::WriterGone`].
    pub fn close(&self) -> Result<()> {
        let res = self.flush();
        let tx = self.tx.lock().unwrap_or_else(|p| p.into_inner()).take();
        drop(tx);
        if let Some(h) = self.writer.lock().unwrap_or_else(|p| p.into_inner()).take() {
            let _ = h.join();
        }
        match res {
            Err(StoreError::WriterGone) => Ok(()),
            r => r,
        }
    }

    fn read<T>(&self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        let conn = self.reader.lock().unwrap_or_else(|p| p.into_inner());
        f(&conn)
    }

    /// Blocks in force at `now` (expired ones are left out).
    pub fn blocks(&self, now: Timestamp) -> Result<Vec<BlockRecord>> {
        self.read(|c| {
            let mut st = c.prepare(
                "SELECT prefix, at, until, reason, actor FROM blocks
                 WHERE until IS NULL OR until > ?1 ORDER BY at",
            )?;
            let rows = st.query_map([now.unix_micros()], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, Option<i64>>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, String>(4)?,
                ))
            })?;
            let mut out = Vec::new();
            for row in rows {
                let (p, at, until, reason, actor) = row?;
                // A row that does not parse was not written by us: skip it, never panic.
                if let Ok(prefix) = p.parse() {
                    out.push(BlockRecord {
                        prefix,
                        at: Timestamp(at),
                        until: until.map(Timestamp),
                        reason,
                        actor,
                    });
                }
            }
            Ok(out)
        })
    }

    /// Protections in force at `now`.
    pub fn protections(&self, now: Timestamp) -> Result<Vec<ProtectionRecord>> {
        self.read(|c| {
            let mut st = c.prepare(
                "SELECT account, mode, at, until, reason, actor FROM protections
                 WHERE until IS NULL OR until > ?1 ORDER BY at",
            )?;
            let rows = st.query_map([now.unix_micros()], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, i64>(2)?,
                    r.get::<_, Option<i64>>(3)?,
                    r.get::<_, String>(4)?,
                    r.get::<_, String>(5)?,
                ))
            })?;
            let mut out = Vec::new();
            for row in rows {
                let (account, mode, at, until, reason, actor) = row?;
                if let Some(mode) = ProtectionMode::from_name(&mode) {
                    out.push(ProtectionRecord {
                        account,
                        mode,
                        at: Timestamp(at),
                        until: until.map(Timestamp),
                        reason,
                        actor,
                    });
                }
            }
            Ok(out)
        })
    }

    /// The shields-up state in force at `now`, if any.
    pub fn shields(&self, now: Timestamp) -> Result<Option<ShieldsRecord>> {
        self.read(|c| {
            let row = c
                .query_row(
                    "SELECT protocols, at, until, reason, actor FROM shields
                     WHERE id = 1 AND (until IS NULL OR until > ?1)",
                    [now.unix_micros()],
                    |r| {
                        Ok((
                            r.get::<_, String>(0)?,
                            r.get::<_, i64>(1)?,
                            r.get::<_, Option<i64>>(2)?,
                            r.get::<_, String>(3)?,
                            r.get::<_, String>(4)?,
                        ))
                    },
                )
                .optional()?;
            Ok(match row {
                None => None,
                Some((protocols, at, until, reason, actor)) => Some(ShieldsRecord {
                    protocols: serde_json::from_str(&protocols)?,
                    at: Timestamp(at),
                    until: until.map(Timestamp),
                    reason,
                    actor,
                }),
            })
        })
    }

    /// The admin state in force at `now`, as engine actions to replay on start: blocks,
    /// protections, then shields.
    pub fn replay_actions(&self, now: Timestamp) -> Result<Vec<AdminAction>> {
        let mut out = Vec::new();
        for b in self.blocks(now)? {
            out.push(AdminAction::Block {
                prefix: b.prefix,
                at: b.at,
                until: b.until,
                reason: b.reason,
            });
        }
        for p in self.protections(now)? {
            out.push(AdminAction::Protect {
                account: p.account,
                mode: p.mode,
                at: p.at,
                until: p.until,
            });
        }
        if let Some(s) = self.shields(now)? {
            out.push(AdminAction::ShieldsUp {
                protocols: s.protocols,
                at: s.at,
                until: s.until,
            });
        }
        Ok(out)
    }

    /// Familiar sources with a success at or after `since`, oldest first.
    pub fn familiar_sources(&self, since: Timestamp) -> Result<Vec<FamiliarSource>> {
        self.read(|c| {
            let mut st = c.prepare(
                "SELECT account, prefix, last_success FROM familiar
                 WHERE last_success >= ?1 ORDER BY last_success",
            )?;
            let rows = st.query_map([since.unix_micros()], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, i64>(2)?,
                ))
            })?;
            let mut out = Vec::new();
            for row in rows {
                let (account, p, t) = row?;
                if let Ok(prefix) = p.parse() {
                    out.push(FamiliarSource {
                        account,
                        prefix,
                        last_success: Timestamp(t),
                    });
                }
            }
            Ok(out)
        })
    }

    /// Deletes familiar sources older than `before` and expired blocks/protections/shields.
    /// Returns the number of rows removed.
    pub fn prune(&self, before: Timestamp, now: Timestamp) -> Result<usize> {
        // Through the reader connection: a short write transaction of its own (WAL allows one
        // writer at a time; busy_timeout covers the writer thread's commits).
        self.read(|c| {
            let mut n = c.execute(
                "DELETE FROM familiar WHERE last_success < ?1",
                [before.unix_micros()],
            )?;
            for t in ["blocks", "protections", "shields"] {
                n += c.execute(
                    &format!("DELETE FROM {t} WHERE until IS NOT NULL AND until <= ?1"),
                    [now.unix_micros()],
                )?;
            }
            Ok(n)
        })
    }

    /// Keeps the store bounded on disk: at most `max_familiar` familiar sources (the most
    /// recent) and `max_findings` findings (the latest). Returns the number of rows removed.
    pub fn cap(&self, max_familiar: usize, max_findings: usize) -> Result<usize> {
        self.read(|c| {
            let mut n = c.execute(
                "DELETE FROM familiar WHERE last_success < (
                   SELECT last_success FROM familiar ORDER BY last_success DESC
                   LIMIT 1 OFFSET ?1)",
                [max_familiar.max(1) as i64 - 1],
            )?;
            n += c.execute(
                "DELETE FROM findings WHERE seq <= (
                   SELECT seq FROM findings ORDER BY seq DESC LIMIT 1 OFFSET ?1)",
                [max_findings as i64],
            )?;
            Ok(n)
        })
    }

    /// Campaigns, latest state of each, most recently active first.
    /// One more than the highest campaign number (`c<N>`) stored, 1 for none: where the
    /// engine continues its ids after a restart (campaign rows are never pruned).
    pub fn next_campaign_number(&self) -> Result<u64> {
        self.read(|c| {
            let max: Option<i64> = c.query_row(
                "SELECT MAX(CAST(SUBSTR(id, 2) AS INTEGER)) FROM campaigns
                 WHERE id GLOB 'c[0-9]*'",
                [],
                |r| r.get(0),
            )?;
            Ok(max.map_or(1, |m| m.max(0) as u64 + 1))
        })
    }

    pub fn campaigns(&self, limit: usize) -> Result<Vec<portcullis_core::report::Campaign>> {
        self.read(|c| {
            let mut st =
                c.prepare("SELECT json FROM campaigns ORDER BY last_seen DESC LIMIT ?1")?;
            let rows = st.query_map([limit as i64], |r| r.get::<_, String>(0))?;
            let mut out = Vec::new();
            for row in rows {
                out.push(serde_json::from_str(&row?)?);
            }
            Ok(out)
        })
    }

    /// One campaign by id.
    pub fn campaign(&self, id: &str) -> Result<Option<portcullis_core::report::Campaign>> {
        self.read(|c| {
            let json: Option<String> = c
                .query_row("SELECT json FROM campaigns WHERE id = ?1", [id], |r| {
                    r.get(0)
                })
                .optional()?;
            Ok(match json {
                Some(j) => Some(serde_json::from_str(&j)?),
                None => None,
            })
        })
    }

    /// Findings with a sequence number above `after`, oldest first, at most `limit`.
    pub fn findings(&self, after: i64, limit: usize) -> Result<Vec<FindingRecord>> {
        self.read(|c| {
            let mut st = c.prepare(
                "SELECT seq, at, json FROM findings WHERE seq > ?1 ORDER BY seq LIMIT ?2",
            )?;
            let rows = st.query_map(params![after, limit as i64], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, String>(2)?,
                ))
            })?;
            let mut out = Vec::new();
            for row in rows {
                let (seq, at, json) = row?;
                out.push(FindingRecord {
                    seq,
                    at: Timestamp(at),
                    finding: serde_json::from_str(&json)?,
                });
            }
            Ok(out)
        })
    }

    /// The latest `limit` audit entries, newest first.
    pub fn audit(&self, limit: usize) -> Result<Vec<AuditEntry>> {
        self.read(|c| {
            let mut st = c.prepare(
                "SELECT seq, at, actor, via, reason, json FROM audit ORDER BY seq DESC LIMIT ?1",
            )?;
            let rows = st.query_map([limit as i64], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, String>(4)?,
                    r.get::<_, String>(5)?,
                ))
            })?;
            let mut out = Vec::new();
            for row in rows {
                let (seq, at, actor, via, reason, json) = row?;
                out.push(AuditEntry {
                    seq,
                    at: Timestamp(at),
                    actor,
                    via,
                    action: serde_json::from_str(&json)?,
                    reason,
                });
            }
            Ok(out)
        })
    }

    /// Counts of rows per table (for `/metrics` and tests).
    pub fn counts(&self) -> Result<Vec<(&'static str, i64)>> {
        self.read(|c| {
            let mut out = Vec::new();
            for t in [
                "blocks",
                "protections",
                "shields",
                "familiar",
                "campaigns",
                "findings",
                "audit",
            ] {
                let n: i64 = c.query_row(&format!("SELECT COUNT(*) FROM {t}"), [], |r| r.get(0))?;
                out.push((t, n));
            }
            Ok(out)
        })
    }
}

impl Drop for Store {
    fn drop(&mut self) {
        let _ = self.close();
    }
}

fn writer_loop(
    mut conn: Connection,
    rx: Receiver<Msg>,
    opts: StoreOptions,
    stats: Arc<StoreStats>,
    pending_sync: Arc<AtomicI64>,
) {
    let mut b = Batch::default();
    // `synchronous` of the connection: true = FULL (as opened).
    let mut full_sync = true;
    // The last batch stopped at `batch_max`: more is waiting, do not sleep.
    let mut backlog = false;
    loop {
        // Block for the first message of a batch, or until the familiar sources held back
        // are due.
        let mut disconnected = false;
        let first = match b.familiar_since {
            None => match rx.recv() {
                Ok(m) => Some(m),
                Err(_) => return,
            },
            Some(t) => {
                let left = (t + opts.familiar_interval).saturating_duration_since(Instant::now());
                match rx.recv_timeout(left) {
                    Ok(m) => Some(m),
                    Err(RecvTimeoutError::Timeout) => None,
                    Err(RecvTimeoutError::Disconnected) => {
                        disconnected = true;
                        None
                    }
                }
            }
        };
        if let Some(first) = first {
            let urgent = b.push(first, &pending_sync);
            // Sleep through the batch interval, unless someone waits for this commit.
            // Sleeping (rather than waiting on the channel) means that queueing an
            // asynchronous item never wakes this thread: one wake-up per batch instead of one
            // per item.
            if !urgent && !backlog {
                let deadline = Instant::now() + opts.batch_interval;
                loop {
                    if pending_sync.load(Ordering::Acquire) > 0 {
                        break;
                    }
                    let left = deadline.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        break;
                    }
                    std::thread::park_timeout(left);
                }
            }
            // Take what is queued, without waiting.
            while b.items.len() < opts.batch_max && b.familiar.len() < opts.familiar_max {
                match rx.try_recv() {
                    Ok(m) => {
                        b.push(m, &pending_sync);
                    }
                    Err(TryRecvError::Empty) => break,
                    Err(TryRecvError::Disconnected) => {
                        disconnected = true;
                        break;
                    }
                }
            }
        }
        backlog = b.items.len() >= opts.batch_max || b.familiar.len() >= opts.familiar_max;
        // Familiar sources held back go in when due, when someone waits for everything
        // queued (a flush), and at the end; sorted, so that the B-tree is walked in order.
        let flush = b.waiters.iter().any(|(_, i)| *i == usize::MAX);
        let due = b
            .familiar_since
            .is_some_and(|t| t.elapsed() >= opts.familiar_interval)
            || b.familiar.len() >= opts.familiar_max
            || flush
            || disconnected;
        if due && !b.familiar.is_empty() {
            b.familiar.sort_unstable_by(|x, y| match (x, y) {
                (Item::Familiar(x), Item::Familiar(y)) => {
                    (&x.account, x.prefix).cmp(&(&y.account, y.prefix))
                }
                _ => std::cmp::Ordering::Equal,
            });
            b.items.append(&mut b.familiar);
            b.familiar_since = None;
        }
        if b.items.is_empty() && b.waiters.is_empty() {
            if disconnected {
                return;
            }
            continue;
        }
        let items = &mut b.items;
        let waiters = &mut b.waiters;
        // Familiar sources alone are committed without fsync (see the module's durability
        // contract); anything else in the batch makes the whole transaction FULL.
        let want_full = items.iter().any(|i| !matches!(i, Item::Familiar(_)));
        if want_full != full_sync {
            let mode = if want_full { "FULL" } else { "NORMAL" };
            match conn.pragma_update(None, "synchronous", mode) {
                Ok(()) => full_sync = want_full,
                Err(e) => tracing::error!(error = %e, mode, "store: cannot set synchronous"),
            }
        }
        if want_full && !full_sync {
            // Never commit durable state without FULL: fail the batch instead.
            stats.errors.fetch_add(1, Ordering::Relaxed);
            failed(&stats, items, "cannot switch to synchronous=FULL".into());
            for (w, _) in waiters.drain(..) {
                let _ = w.send(Err(StoreError::Open {
                    path: PathBuf::new(),
                    msg: "cannot switch the store to synchronous=FULL".into(),
                }));
            }
            items.clear();
            if disconnected {
                return;
            }
            continue;
        }
        let t0 = Instant::now();
        let res = commit(&mut conn, items);
        stats
            .commit_micros
            .fetch_add(t0.elapsed().as_micros() as u64, Ordering::Relaxed);
        match &res {
            Ok(_) => {
                if let Ok(mut g) = stats.last_error.lock() {
                    *g = None;
                }
                stats.commits.fetch_add(1, Ordering::Relaxed);
                if !full_sync {
                    stats.relaxed_commits.fetch_add(1, Ordering::Relaxed);
                }
                stats.items.fetch_add(items.len() as u64, Ordering::Relaxed);
            }
            Err(e) => {
                stats.errors.fetch_add(1, Ordering::Relaxed);
                tracing::error!(error = %e, items = items.len(), "store commit failed");
                failed(&stats, items, e.to_string());
            }
        }
        for (w, idx) in waiters.drain(..) {
            let answer = match &res {
                Ok(seqs) => Ok(if idx == usize::MAX {
                    0
                } else {
                    seqs.get(idx).copied().unwrap_or(0)
                }),
                Err(e) => Err(StoreError::Open {
                    path: PathBuf::new(),
                    msg: format!("commit failed: {e}"),
                }),
            };
            let _ = w.send(answer);
        }
        items.clear();
        if disconnected {
            return;
        }
    }
}

/// Notes a failed transaction: its asynchronous items count as dropped (the synchronous ones
/// are answered with the error), and the reason is kept for [`Store::health`].
fn failed(stats: &StoreStats, items: &[Item], why: String) {
    let lost = items
        .iter()
        .filter(|i| !matches!(i, Item::Admin(_)))
        .count();
    stats.dropped.fetch_add(lost as u64, Ordering::Relaxed);
    if let Ok(mut g) = stats.last_error.lock() {
        *g = Some(why);
    }
}

/// How much nicer than the process the writer thread runs (Linux): when the CPUs are busy,
/// answering requests comes first and the writer, whose work can wait (its queue is bounded
/// and an overflow is counted, never a stall), takes what is left; on an idle machine it
/// changes nothing.
pub const WRITER_NICE: i32 = 10;

#[cfg(target_os = "linux")]
#[allow(unsafe_code)]
fn lower_priority() {
    // SAFETY: gettid and setpriority take plain integers and touch no memory of ours. On
    // Linux, PRIO_PROCESS with a thread id sets that thread's nice value alone.
    let r = unsafe {
        let tid = libc::gettid();
        let cur = libc::getpriority(libc::PRIO_PROCESS, tid as libc::id_t);
        libc::setpriority(
            libc::PRIO_PROCESS,
            tid as libc::id_t,
            (cur + WRITER_NICE).min(19),
        )
    };
    if r != 0 {
        tracing::debug!("store: cannot lower the writer thread's priority");
    }
}

#[cfg(not(target_os = "linux"))]
fn lower_priority() {}

/// What the writer has taken from the queue and not yet committed.
#[derive(Default)]
struct Batch {
    /// Items for the next transaction, in queue order.
    items: Vec<Item>,
    /// Callers waiting for it, with the index of their item (`usize::MAX`: a flush).
    waiters: Vec<(std::sync::mpsc::Sender<Result<i64>>, usize)>,
    /// Familiar sources held back (for up to `familiar_interval`) since `familiar_since`.
    familiar: Vec<Item>,
    familiar_since: Option<Instant>,
}

impl Batch {
    /// Takes one message; true when someone waits for its commit.
    fn push(&mut self, m: Msg, pending_sync: &AtomicI64) -> bool {
        match m {
            Msg::Item(i @ Item::Familiar(_)) => {
                self.familiar_since.get_or_insert_with(Instant::now);
                self.familiar.push(i);
                false
            }
            Msg::Item(i) => {
                self.items.push(i);
                false
            }
            Msg::Sync(i, r) => {
                pending_sync.fetch_sub(1, Ordering::AcqRel);
                self.items.push(i);
                self.waiters.push((r, self.items.len() - 1));
                true
            }
            Msg::Flush(r) => {
                pending_sync.fetch_sub(1, Ordering::AcqRel);
                self.waiters.push((r, usize::MAX));
                true
            }
        }
    }
}

fn upsert_campaign(
    camp: &mut rusqlite::CachedStatement<'_>,
    c: &portcullis_core::report::Campaign,
) -> Result<()> {
    camp.execute(params![
        c.id,
        c.kind.as_str(),
        c.first_seen.unix_micros(),
        c.last_seen.unix_micros(),
        serde_json::to_string(c)?
    ])?;
    Ok(())
}

/// Writes one batch in one transaction; returns, per item, the audit sequence (admin items)
/// or 0.
fn commit(conn: &mut Connection, items: &[Item]) -> Result<Vec<i64>> {
    let tx = conn.transaction()?;
    let mut seqs = Vec::with_capacity(items.len());
    {
        let mut fam = tx.prepare_cached(
            "INSERT INTO familiar (account, prefix, last_success) VALUES (?1, ?2, ?3)
             ON CONFLICT (account, prefix) DO UPDATE SET last_success =
               MAX(last_success, excluded.last_success)",
        )?;
        let mut find =
            tx.prepare_cached("INSERT INTO findings (at, kind, json) VALUES (?1, ?2, ?3)")?;
        let mut camp = tx.prepare_cached(
            "INSERT INTO campaigns (id, kind, first_seen, last_seen, json) VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (id) DO UPDATE SET kind = excluded.kind, first_seen = excluded.first_seen,
               last_seen = excluded.last_seen, json = excluded.json",
        )?;
        for item in items {
            match item {
                Item::Familiar(f) => {
                    fam.execute(params![
                        f.account,
                        f.prefix.to_string(),
                        f.last_success.unix_micros()
                    ])?;
                    seqs.push(0);
                }
                Item::Finding(at, json, finding) => {
                    find.execute(params![at.unix_micros(), finding.kind(), json])?;
                    if let Finding::CampaignOpened(c) | Finding::CampaignUpdated(c) = finding {
                        upsert_campaign(&mut camp, c)?;
                    }
                    seqs.push(0);
                }
                Item::Campaign(c) => {
                    upsert_campaign(&mut camp, c)?;
                    seqs.push(0);
                }
                Item::Admin(e) => {
                    apply_admin(&tx, e)?;
                    tx.execute(
                        "INSERT INTO audit (at, actor, via, reason, json) VALUES (?1, ?2, ?3, ?4, ?5)",
                        params![
                            e.at.unix_micros(),
                            e.actor,
                            e.via,
                            e.reason,
                            serde_json::to_string(&e.action)?
                        ],
                    )?;
                    seqs.push(tx.last_insert_rowid());
                }
            }
        }
    }
    tx.commit()?;
    Ok(seqs)
}

fn apply_admin(tx: &rusqlite::Transaction<'_>, e: &AuditEntry) -> Result<()> {
    match &e.action {
        AdminAction::Block {
            prefix, at, until, ..
        } => {
            tx.execute(
                "INSERT INTO blocks (prefix, at, until, reason, actor) VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (prefix) DO UPDATE SET at = excluded.at, until = excluded.until,
                   reason = excluded.reason, actor = excluded.actor",
                params![
                    prefix.to_string(),
                    at.unix_micros(),
                    ts_opt(*until),
                    e.reason,
                    e.actor
                ],
            )?;
        }
        AdminAction::Unblock { prefix } => {
            tx.execute("DELETE FROM blocks WHERE prefix = ?1", [prefix.to_string()])?;
        }
        AdminAction::Protect {
            account,
            mode,
            at,
            until,
        } => {
            tx.execute(
                "INSERT INTO protections (account, mode, at, until, reason, actor)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT (account) DO UPDATE SET mode = excluded.mode, at = excluded.at,
                   until = excluded.until, reason = excluded.reason, actor = excluded.actor",
                params![
                    account,
                    mode.as_str(),
                    at.unix_micros(),
                    ts_opt(*until),
                    e.reason,
                    e.actor
                ],
            )?;
        }
        AdminAction::Unprotect { account } => {
            tx.execute("DELETE FROM protections WHERE account = ?1", [account])?;
        }
        AdminAction::ShieldsUp {
            protocols,
            at,
            until,
        } => {
            tx.execute(
                "INSERT INTO shields (id, protocols, at, until, reason, actor)
                 VALUES (1, ?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (id) DO UPDATE SET protocols = excluded.protocols, at = excluded.at,
                   until = excluded.until, reason = excluded.reason, actor = excluded.actor",
                params![
                    serde_json::to_string(protocols)?,
                    at.unix_micros(),
                    ts_opt(*until),
                    e.reason,
                    e.actor
                ],
            )?;
        }
        AdminAction::ShieldsDown => {
            tx.execute("DELETE FROM shields", [])?;
        }
        // Engine state only (failure counters): the audit entry is the record.
        AdminAction::ResetAccount { .. } => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests;
