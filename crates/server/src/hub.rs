//! [`EngineHandle`]: the one engine of a running server, shared by every request handler, log
//! follower and the admin API.
//!
//! The engine is synchronous and `&mut self`; an engine step is well under a microsecond, so a
//! `parking_lot::Mutex` around it costs less than handing each request to an actor thread and
//! back (see docs/bench/server.md). Every call takes the findings the step produced and queues
//! them to the store outside the lock; successful logins teach the store familiar sources
//! (account × source address, kept as a prefix so the engine may widen it), written at most once
//! an hour per pair. Admin actions are written to
//! the store durably first and applied to the engine second, so an acknowledged action survives
//! a crash.
//!
//! Every engine input (finished attempt, before-auth check, admin action) is appended to the
//! journal under the same lock, so the journal's order is the engine's
//! (`portcullis_store::journal`); on start the newest snapshot is loaded and the journal after
//! it replayed ([`EngineHandle::recover`]), so the engine's state after a restart is the state
//! before it. Admin actions are synced to the journal before they are acknowledged.
//!
//! **In a cluster** ([`EngineHandle::join_cluster`], wired by `crate::cluster`) the engine is a
//! replica: its state changes only through [`EngineHandle::apply_replicated`], in the order of
//! the cluster's input stream, so every node applies the same inputs in the same order.
//! `check`, `observe` and `admin` then answer from the replica as it is (the engine's read-only
//! `peek_*`) and hand the input to the cluster's outlet instead of applying it: a verdict never
//! waits on the network, and the replica lags by the propagation delay.

pub use crate::clock::now;
use crate::sinks::decisions::DecisionBook;
use crate::sinks::familiar::FamiliarWrites;
use crate::sinks::metrics::Metrics;
use crate::sinks::notice::Notice;
use crate::sinks::outbox::Outboxes;
use crate::sinks::timeline::Timeline;
use crate::validate::{AdminRules, Refused};
use parking_lot::Mutex;
use portcullis_core::report::{InputSummary, Report};
use portcullis_core::{Account, AuthEvent, Prefix, Timestamp};
use portcullis_engine::SNAPSHOT_VERSION;
use portcullis_engine::{Action, AdminAction, Attempt, Engine, Finding, ReportLimits, Verdict};
use portcullis_store::journal::{self, EventRecord, Journal, JournalOptions, Record};
use portcullis_store::{AuditEntry, Store};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};

struct Shared {
    engine: Mutex<Engine>,
    store: Arc<Store>,
    metrics: Arc<Metrics>,
    rules: AdminRules,
    familiar: FamiliarWrites,
    timeline: Timeline,
    /// Webhooks and SIEM sinks: the notices of findings and shields changes.
    notifiers: Outboxes,
    decisions: Arc<DecisionBook>,
    ready: AtomicBool,
    /// The input journal, once [`EngineHandle::recover`] opened it (none in unit tests that
    /// build a handle without a data directory).
    journal: OnceLock<Journal>,
    /// In a cluster: where inputs go instead of the engine, and what the replica applied.
    cluster: OnceLock<Replica>,
}

/// A node's side of the cluster, as the hub sees it: an outlet for its inputs (each one an
/// encoded [`Record`]) and the counters of what the replica applied.
pub struct Replica {
    outlet: tokio::sync::mpsc::UnboundedSender<Vec<u8>>,
    /// This node's name in the cluster.
    pub node: String,
    /// Inputs acknowledged by the stream, waiting in the buffer, dropped from a full buffer.
    pub published: std::sync::atomic::AtomicU64,
    pub buffered: std::sync::atomic::AtomicU64,
    pub dropped: std::sync::atomic::AtomicU64,
    /// True while the node applies the stream.
    pub connected: AtomicBool,
    /// The newest propagation delays of other nodes' inputs (publisher's intake to this
    /// node's apply, µs), for their quantiles.
    delays: Mutex<std::collections::VecDeque<u64>>,
    /// The stream sequence of the last input applied (0: none).
    pub applied_seq: std::sync::atomic::AtomicU64,
    /// Inputs applied from the stream, and those skipped as already applied (same origin id).
    pub applied: std::sync::atomic::AtomicU64,
    pub duplicates_skipped: std::sync::atomic::AtomicU64,
    /// Inputs handed to the outlet by this node.
    pub submitted: std::sync::atomic::AtomicU64,
}

/// What [`EngineHandle::recover`] found and did.
#[derive(Debug, Default)]
pub struct Recovery {
    /// The snapshot loaded (its file), if any, and the records replayed after it.
    pub snapshot: Option<String>,
    pub replayed: u64,
    /// Snapshots that could not be used, with why (other layout version, other configuration,
    /// damaged): each was logged and an older point used.
    pub discarded: Vec<String>,
    /// No journal yet (a first start, or the first since an upgrade): the store's admin state
    /// and familiar sources were taught instead, then a first snapshot written.
    pub from_store: Option<(usize, usize)>,
}

/// A cloneable handle to the running engine and its store.
#[derive(Clone)]
pub struct EngineHandle {
    inner: Arc<Shared>,
}

/// The hub is where every source delivers its events.
impl crate::sources::EventSink for EngineHandle {
    fn deliver(&self, ev: &AuthEvent) {
        self.observe(ev);
    }
}

/// Why an admin action did not take effect.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// The action breaks a rule ([`AdminRules`]): the operator's request is wrong (400).
    #[error(transparent)]
    Refused(#[from] Refused),
    /// The store could not commit it: nothing was applied (500).
    #[error("store: {0:#}")]
    Store(anyhow::Error),
}

/// What to do with an attempt, as a client is told it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Effective {
    Allow,
    Tarpit(u32),
    Deny,
    /// Only with a second factor (the engine's `step_up`): each protocol says it its own way,
    /// and one that cannot ask for a second factor refuses.
    StepUp,
}

/// The client's answer for an engine action. `internal_only` is a deny: the engine returns it
/// only for attempts that are neither from a trusted network nor familiar (it judges the
/// attempt's [`Standing`](portcullis_engine::Standing) once, for every path), so nothing here
/// looks at trust again.
pub fn resolve(action: Action) -> Effective {
    match action {
        Action::Allow => Effective::Allow,
        Action::Tarpit { seconds } => Effective::Tarpit(seconds.max(1)),
        Action::Deny | Action::InternalOnly => Effective::Deny,
        Action::StepUp => Effective::StepUp,
    }
}

/// How much of the engine's view the admin API and the dashboard copy: the newest 100
/// campaigns (100 sources and 100 accounts each), 1,000 flagged sources, and up to 10,000
/// compromised accounts and accounts at risk (the engine's own caps by default, so the
/// dashboard's counts are exact).
pub const LIVE_REPORT: ReportLimits = ReportLimits {
    campaigns: 100,
    sources_per_campaign: 100,
    accounts_per_campaign: 100,
    flagged_sources: 1_000,
    accounts: 10_000,
};

/// Propagation delays kept for the quantiles.
const DELAY_SAMPLES: usize = 65_536;

impl Replica {
    /// Records one propagation delay (µs).
    pub fn note_delay(&self, us: u64) {
        let mut d = self.delays.lock();
        if d.len() == DELAY_SAMPLES {
            d.pop_front();
        }
        d.push_back(us);
    }

    /// The median and 99th percentile of the delays kept (µs), and how many there are.
    pub fn delays(&self) -> (u64, u64, usize) {
        let mut v: Vec<u64> = self.delays.lock().iter().copied().collect();
        if v.is_empty() {
            return (0, 0, 0);
        }
        v.sort_unstable();
        let q = |p: f64| v[((v.len() - 1) as f64 * p).round() as usize];
        (q(0.5), q(0.99), v.len())
    }

    /// Hands an input to the cluster (never blocks; the outlet buffers).
    fn submit(&self, rec: &Record<'_>) {
        if let Ok(bytes) = postcard::to_allocvec(rec) {
            self.submitted.fetch_add(1, Ordering::Relaxed);
            let _ = self.outlet.send(bytes);
        }
    }
}

impl EngineHandle {
    /// Wraps an engine; `rules` validate every admin action.
    pub fn new(
        engine: Engine,
        store: Arc<Store>,
        metrics: Arc<Metrics>,
        rules: AdminRules,
        notifiers: Outboxes,
        decisions: DecisionBook,
    ) -> Self {
        EngineHandle {
            inner: Arc::new(Shared {
                engine: Mutex::new(engine),
                store,
                metrics,
                rules,
                familiar: FamiliarWrites::new(),
                timeline: Timeline::new(),
                notifiers,
                decisions: Arc::new(decisions),
                ready: AtomicBool::new(false),
                journal: OnceLock::new(),
                cluster: OnceLock::new(),
            }),
        }
    }

    pub fn store(&self) -> &Arc<Store> {
        &self.inner.store
    }
    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.inner.metrics
    }
    /// The rules every admin action passes (for computing expiries the same way everywhere).
    pub fn rules(&self) -> &AdminRules {
        &self.inner.rules
    }
    /// True once [`EngineHandle::restore`] finished and the store's writer is alive.
    pub fn is_ready(&self) -> bool {
        self.inner.ready.load(Ordering::Relaxed)
    }
    pub fn set_ready(&self, ready: bool) {
        self.inner.ready.store(ready, Ordering::Relaxed);
    }

    /// The start of a data directory without a journal (a first start, or the first since an
    /// upgrade from a version without one; [`EngineHandle::recover`] calls it then): replays
    /// the stored admin state (blocks, protections, shields in force at `now`) and
    /// restores familiar sources (successes newer than the retention) through
    /// [`Engine::restore_familiar`](portcullis_engine::Engine::restore_familiar): no synthetic
    /// event, so no detector runs and event time does not move. Returns (actions, familiar
    /// sources) restored.
    pub fn restore(&self, now: Timestamp, retention_days: u32) -> anyhow::Result<(usize, usize)> {
        let actions = self.inner.store.replay_actions(now)?;
        let since = now.plus_secs(-(retention_days as i64) * 86_400);
        let familiar = self.inner.store.familiar_sources(since)?;
        let next_id = self.inner.store.next_campaign_number()?;
        let mut engine = self.inner.engine.lock();
        // Campaign ids continue where the store left off: `c1` never names two attacks.
        engine.resume_campaign_ids(next_id);
        for f in &familiar {
            engine.restore_familiar(&Account::from_raw(&f.account), f.prefix, f.last_success);
        }
        let n_actions = actions.len();
        for a in actions {
            engine.apply(a);
        }
        for b in self.inner.store.blocks(now)? {
            self.inner
                .decisions
                .block(b.prefix, b.at, b.until, &b.reason);
        }
        // What the replay found was found before; it is already in the store.
        let _ = engine.take_findings();
        drop(engine);
        Ok((n_actions, familiar.len()))
    }

    /// Loads the newest usable snapshot in `dir` (the engine's own layout version, built under
    /// the same configuration) and replays the journal after it; a snapshot that cannot be
    /// used is logged and an older one (or the journal's start) used instead, never a crash.
    /// Without any journal, teaches the store's state ([`EngineHandle::restore`]) and writes a
    /// first snapshot. Then opens the journal for appending and continues campaign ids after
    /// the store's (journalled, so the state stays a function of the journal).
    pub fn recover(
        &self,
        dir: &Path,
        opts: JournalOptions,
        now: Timestamp,
        retention_days: u32,
    ) -> anyhow::Result<Recovery> {
        let mut out = Recovery::default();
        let mut engine = self.inner.engine.lock();
        let cfg = engine.config().clone();
        let mut from = None;
        for (path, snap) in journal::snapshots(dir)? {
            let why = match snap {
                Err(e) => e.to_string(),
                Ok(s) if s.version != SNAPSHOT_VERSION => format!(
                    "layout version {} (this build reads {SNAPSHOT_VERSION})",
                    s.version
                ),
                Ok(s) => match postcard::from_bytes::<Engine>(&s.bytes) {
                    Err(e) => format!("unreadable: {e}"),
                    Ok(e) if !e.built_with(&cfg) => {
                        "built under another [engine] configuration".to_string()
                    }
                    Ok(e) => {
                        *engine = e;
                        from = Some(s.seq);
                        out.snapshot = Some(path.display().to_string());
                        break;
                    }
                },
            };
            tracing::warn!(snapshot = %path.display(), reason = %why,
                "snapshot discarded; an older snapshot or the journal's start is used instead");
            out.discarded.push(format!("{}: {why}", path.display()));
        }
        let first = journal::first_seq(dir)?;
        let has_journal = from.is_some() || dir.join(format!("{first:020}.seg")).exists();
        let start = from.unwrap_or(first);
        if from.is_none() && has_journal {
            if first > 0 {
                tracing::warn!(
                    from = first,
                    "no usable snapshot: the engine is rebuilt from the oldest journal record kept; what it learned before that is lost"
                );
            } else {
                tracing::info!("no snapshot: the engine is rebuilt from the whole journal");
            }
        }
        let mut replayed = 0u64;
        let end = journal::replay(dir, start, |_, rec| {
            replayed += 1;
            journal::apply(&mut engine, &rec)?;
            // Found before the restart: already in the store.
            engine.take_findings();
            Ok(())
        })?;
        out.replayed = replayed;
        let j = Journal::open(dir, end, opts)?;
        let _ = self.inner.journal.set(j);
        drop(engine);
        if has_journal {
            for b in self.inner.store.blocks(now)? {
                self.inner
                    .decisions
                    .block(b.prefix, b.at, b.until, &b.reason);
            }
        } else {
            out.from_store = Some(self.restore(now, retention_days)?);
            self.snapshot()?;
        }
        let next_id = self.inner.store.next_campaign_number()?;
        let mut engine = self.inner.engine.lock();
        if next_id > engine.next_campaign_id() {
            self.journal(&Record::ResumeIds(next_id));
            engine.resume_campaign_ids(next_id);
        }
        Ok(out)
    }

    /// Appends an input to the journal (under the engine lock, by the caller).
    #[inline]
    fn journal(&self, rec: &Record<'_>) {
        if let Some(j) = self.inner.journal.get() {
            j.append(rec);
        }
    }

    /// Records appended to the journal so far (0 without one).
    pub fn journal_seq(&self) -> u64 {
        self.inner.journal.get().map_or(0, |j| j.next_seq())
    }

    /// Writes a snapshot of the engine (serialised under the lock, written outside it) and
    /// compacts the journal. Returns (first record not in it, bytes written, files removed).
    pub fn snapshot(&self) -> anyhow::Result<(u64, u64, usize)> {
        let Some(j) = self.inner.journal.get() else {
            return Ok((0, 0, 0));
        };
        let (seq, bytes) = {
            let engine = self.inner.engine.lock();
            (j.next_seq(), postcard::to_allocvec(&*engine)?)
        };
        let (written, removed) = journal::write_snapshot(j.dir(), SNAPSHOT_VERSION, seq, &bytes)?;
        Ok((seq, written, removed))
    }

    /// Writes what the journal holds and stops its writer (at shutdown, after the snapshot).
    pub fn close_journal(&self) -> std::io::Result<()> {
        match self.inner.journal.get() {
            Some(j) => j.close(),
            None => Ok(()),
        }
    }

    fn persist_findings(&self, findings: Vec<Finding>) {
        if findings.is_empty() {
            return;
        }
        let at = now();
        for f in &findings {
            self.inner.metrics.finding(f);
            self.inner.store.record_finding(at, f);
            match f {
                Finding::CampaignOpened(c) | Finding::CampaignUpdated(c) => {
                    self.inner.decisions.campaign(c)
                }
                Finding::SourceFlagged(s) => self.inner.decisions.flag(s, at),
                _ => {}
            }
            if !self.inner.notifiers.is_empty() {
                self.inner.notifiers.notify(&Notice::finding(at, f));
            }
        }
    }

    /// An attempt before authentication (Dovecot's `allow`, the native `check`, nginx's
    /// `auth_http`). A step-up is also a `captcha` decision on its address for the bouncers.
    pub fn check(&self, attempt: &Attempt<'_>) -> Verdict {
        let (verdict, findings) = if let Some(r) = self.inner.cluster.get() {
            let v = self.inner.engine.lock().peek_check(attempt);
            r.submit(&Record::Check(attempt.ts.unix_micros()));
            (v, Vec::new())
        } else {
            let mut e = self.inner.engine.lock();
            self.journal(&Record::Check(attempt.ts.unix_micros()));
            let v = e.check(attempt);
            (v, e.take_findings())
        };
        self.persist_findings(findings);
        if verdict.action == Action::StepUp
            && let Some(ip) = attempt.source
        {
            let code = verdict.reasons.first().map_or("step_up", |r| r.code);
            self.inner.decisions.step_up(ip, now(), code);
        }
        verdict
    }

    /// A finished attempt (Dovecot's `report`, the native `report`, log followers).
    pub fn observe(&self, ev: &AuthEvent) -> Verdict {
        let (verdict, findings) = if let Some(r) = self.inner.cluster.get() {
            let v = self.inner.engine.lock().peek_event(ev);
            r.submit(&Record::Observe(EventRecord::of(ev)));
            (v, Vec::new())
        } else {
            let mut e = self.inner.engine.lock();
            self.journal(&Record::Observe(EventRecord::of(ev)));
            let v = e.observe(ev);
            (v, e.take_findings())
        };
        self.persist_findings(findings);
        let write = ev.source.is_some_and(|ip| self.inner.familiar.note(ev, ip));
        self.inner
            .timeline
            .record(ev, verdict.standing.familiar, verdict.action);
        if write && let Some(ip) = ev.source {
            self.inner
                .store
                .record_familiar(&ev.account.name, Prefix::host(ip), ev.ts);
        }
        verdict
    }

    /// An admin action, from any path: validated ([`AdminRules`]), written and fsynced with
    /// its audit entry, then applied to the engine. Returns the audit sequence number.
    pub fn admin(&self, entry: AuditEntry) -> Result<i64, AdminError> {
        self.inner.rules.check(&entry.action)?;
        let action = entry.action.clone();
        let notice = Notice::admin(entry.at, &entry.action, &entry.actor);
        let (at, reason) = (entry.at, entry.reason.clone());
        let seq = self
            .inner
            .store
            .record_admin(entry)
            .map_err(|e| AdminError::Store(e.into()))?;
        if let Some(r) = self.inner.cluster.get() {
            // Applied (here and on every node) when it comes back in stream order; the edge
            // decisions and notices follow it there.
            r.submit(&Record::admin(&action));
            self.inner.metrics.admin_action();
            return Ok(seq);
        }
        let findings = {
            let mut e = self.inner.engine.lock();
            self.journal(&Record::admin(&action));
            e.apply(action.clone());
            e.take_findings()
        };
        // Acknowledged only once on disk in the journal too: no acknowledged action is lost.
        if let Some(j) = self.inner.journal.get() {
            j.sync().map_err(|e| AdminError::Store(e.into()))?;
        }
        self.persist_findings(findings);
        self.inner.metrics.admin_action();
        self.edge_decision(&action, at, &reason);
        if let Some(n) = notice {
            self.inner.notifiers.notify(&n);
        }
        Ok(seq)
    }

    /// Makes this handle a cluster replica: from now on inputs go to `outlet` (encoded
    /// [`Record`]s) and the engine changes only through [`EngineHandle::apply_replicated`].
    /// The journal is not used then (the cluster's stream is the journal).
    pub fn join_cluster(
        &self,
        node: &str,
        outlet: tokio::sync::mpsc::UnboundedSender<Vec<u8>>,
    ) -> &Replica {
        let _ = self.inner.cluster.set(Replica {
            outlet,
            node: node.to_string(),
            published: Default::default(),
            buffered: Default::default(),
            dropped: Default::default(),
            connected: Default::default(),
            delays: Default::default(),
            applied_seq: Default::default(),
            applied: Default::default(),
            duplicates_skipped: Default::default(),
            submitted: Default::default(),
        });
        self.inner.cluster.get().expect("just set")
    }

    /// The cluster side of this handle, if it is a replica.
    pub fn replica(&self) -> Option<&Replica> {
        self.inner.cluster.get()
    }

    /// Applies one input of the cluster's stream (stream sequence `seq`) to the replica, with
    /// what a local input's application does besides: findings to the store and notifiers,
    /// admin blocks to the edge decisions.
    pub fn apply_replicated(&self, seq: u64, rec: &Record<'_>) -> std::io::Result<()> {
        let admin = match rec {
            Record::Admin(json) => Some(Record::admin_action(json)?),
            _ => None,
        };
        let findings = {
            let mut e = self.inner.engine.lock();
            journal::apply(&mut e, rec)?;
            if let Some(r) = self.inner.cluster.get() {
                r.applied_seq.store(seq, Ordering::Release);
                r.applied.fetch_add(1, Ordering::Relaxed);
            }
            e.take_findings()
        };
        self.persist_findings(findings);
        if let Some(a) = admin {
            let (at, reason) = match &a {
                AdminAction::Block { at, reason, .. } => (*at, reason.clone()),
                _ => (now(), String::new()),
            };
            self.edge_decision(&a, at, &reason);
        }
        Ok(())
    }

    /// Runs `f` on the engine under its lock (the cluster's snapshots and digest).
    pub fn with_engine<T>(&self, f: impl FnOnce(&mut Engine) -> T) -> T {
        f(&mut self.inner.engine.lock())
    }

    /// Keeps the decisions bouncers pull in step with an admin block or unblock.
    fn edge_decision(&self, action: &AdminAction, at: Timestamp, reason: &str) {
        match action {
            AdminAction::Block { prefix, until, .. } => {
                self.inner.decisions.block(*prefix, at, *until, reason)
            }
            AdminAction::Unblock { prefix } => self.inner.decisions.unblock(*prefix),
            _ => {}
        }
    }

    /// The decisions enforcement points pull (`/v1/decisions`, the nftables sink).
    pub fn decisions(&self) -> &Arc<DecisionBook> {
        &self.inner.decisions
    }

    /// Applies an action to the engine without storing it (tests, dry runs).
    pub fn apply_volatile(&self, action: AdminAction) {
        let mut e = self.inner.engine.lock();
        self.journal(&Record::admin(&action));
        e.apply(action);
    }

    /// The attempts observed since start-up, for the dashboard.
    pub fn timeline(&self) -> &Timeline {
        &self.inner.timeline
    }

    /// Writes the engine's current campaigns (the [`LIVE_REPORT`] view: the newest 100) to
    /// their store records, so that what survives a restart is their latest state — sources,
    /// accounts, attempts, last seen — and not that of their last `campaign_updated` finding
    /// (at most one per `campaign_update_secs`). Called every 10 minutes and at shutdown.
    /// Returns how many were queued.
    pub fn save_campaigns(&self) -> usize {
        // Only the campaigns are wanted: no flagged sources or accounts copied under the lock.
        let limits = ReportLimits {
            flagged_sources: 0,
            accounts: 0,
            ..LIVE_REPORT
        };
        let campaigns = self
            .inner
            .engine
            .lock()
            .report_limited(InputSummary::default(), limits)
            .campaigns;
        campaigns
            .iter()
            .filter(|c| self.inner.store.record_campaign(c))
            .count()
    }

    /// The engine's current view as report v1, bounded ([`LIVE_REPORT`]): the engine lock is
    /// held for work proportional to those limits, never to the whole tables.
    pub fn report(&self) -> Report {
        self.inner
            .engine
            .lock()
            .report_limited(InputSummary::default(), LIVE_REPORT)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use portcullis_core::{Outcome, Protocol};

    fn handle(dir: &Path, cfg: portcullis_engine::EngineConfig) -> EngineHandle {
        let store = Store::open(dir.join("p.db"), Default::default()).unwrap();
        EngineHandle::new(
            Engine::new(cfg),
            Arc::new(store),
            Arc::new(Metrics::default()),
            AdminRules::new(&[], 16, 32, 365),
            Outboxes::default(),
            DecisionBook::new(3600, Vec::new()),
        )
    }

    /// Staff logins, then a spray of 40 addresses over 400 accounts, one attempt a second.
    fn events() -> Vec<AuthEvent> {
        let t0 = Timestamp::from_unix_secs(1_700_000_000);
        let mut out = Vec::new();
        for u in 0..20 {
            out.push(AuthEvent::new(
                t0.plus_secs(u),
                Protocol::Imap,
                Account::from_raw(&format!("staff{u}@example.org")),
                Some(format!("192.0.2.{}", 10 + u).parse().unwrap()),
                Outcome::Success,
            ));
        }
        for i in 0..400i64 {
            out.push(AuthEvent::new(
                t0.plus_secs(100 + i),
                Protocol::Imap,
                Account::from_raw(&format!("user{i}@example.org")),
                Some(format!("198.51.100.{}", 1 + i % 40).parse().unwrap()),
                Outcome::BadPassword,
            ));
        }
        out
    }

    fn report_json(r: &Report) -> String {
        serde_json::to_string(r).unwrap()
    }

    /// The engine's state is a function of the journalled inputs: after a restart from a
    /// snapshot plus the journal after it, from an older snapshot when the newest is of another
    /// layout version, or from the journal's start when no snapshot fits the configuration, the
    /// engine's view is that of an engine fed the same inputs without any restart.
    #[test]
    fn a_restart_is_a_replay_whichever_snapshot_can_be_used() {
        let tmp = tempfile::tempdir().unwrap();
        let jdir = tmp.path().join("journal");
        let evs = events();
        let opts = JournalOptions::default();
        let t = Timestamp::from_unix_secs(1_700_000_000);
        let cfg = portcullis_engine::EngineConfig::default();
        {
            let h = handle(tmp.path(), cfg.clone());
            let rec = h.recover(&jdir, opts, t, 90).unwrap();
            assert!(rec.from_store.is_some() && rec.snapshot.is_none());
            for (i, ev) in evs.iter().enumerate() {
                h.observe(ev);
                if i == 250 {
                    h.snapshot().unwrap();
                }
            }
            h.close_journal().unwrap();
            h.store().close().unwrap();
        }
        let reference = |cfg: &portcullis_engine::EngineConfig| {
            let mut e = Engine::new(cfg.clone());
            for ev in &evs {
                e.observe(ev);
            }
            report_json(&e.report_limited(InputSummary::default(), LIVE_REPORT))
        };
        let want = reference(&cfg);
        assert!(want.contains("password_spray"), "{want}");

        // The newest snapshot, and the records after it.
        let h = handle(tmp.path(), cfg.clone());
        let rec = h.recover(&jdir, opts, t, 90).unwrap();
        assert!(rec.snapshot.is_some() && rec.discarded.is_empty());
        assert_eq!(rec.replayed, (evs.len() - 251) as u64);
        assert_eq!(report_json(&h.report()), want);
        h.close_journal().unwrap();
        h.store().close().unwrap();
        drop(h);

        // The newest snapshot claims another layout version: discarded, the older one used.
        let snaps = journal::snapshots(&jdir).unwrap();
        let newest = snaps[0].0.clone();
        let mut data = std::fs::read(&newest).unwrap();
        data[8..12].copy_from_slice(&(SNAPSHOT_VERSION + 1).to_le_bytes());
        std::fs::write(&newest, data).unwrap();
        let h = handle(tmp.path(), cfg.clone());
        let rec = h.recover(&jdir, opts, t, 90).unwrap();
        assert_eq!(rec.discarded.len(), 1, "{:?}", rec.discarded);
        assert!(
            rec.discarded[0].contains("layout version"),
            "{:?}",
            rec.discarded
        );
        assert!(rec.replayed > (evs.len() - 251) as u64);
        assert_eq!(report_json(&h.report()), want);
        h.close_journal().unwrap();
        h.store().close().unwrap();
        drop(h);

        // Another configuration: no snapshot is this engine's; the whole journal is replayed.
        let other = portcullis_engine::EngineConfig {
            max_sources: cfg.max_sources / 2,
            ..cfg.clone()
        };
        let h = handle(tmp.path(), other.clone());
        let rec = h.recover(&jdir, opts, t, 90).unwrap();
        assert!(rec.snapshot.is_none());
        assert!(rec.discarded.len() >= 2, "{:?}", rec.discarded);
        assert!(rec.replayed >= evs.len() as u64);
        assert_eq!(report_json(&h.report()), reference(&other));
        h.close_journal().unwrap();
        h.store().close().unwrap();
    }

    /// `internal_only` is decided by the engine, which judged the attempt's standing: an
    /// internal-only account answers allow from a trusted network and deny from outside, and
    /// the server maps the engine's action without a second trusted list.
    #[test]
    fn internal_only_is_decided_by_the_engine_and_resolved_to_deny() {
        let mut engine = Engine::new(portcullis_engine::EngineConfig {
            trusted_networks: vec!["10.0.0.0/8".parse().unwrap()],
            ..Default::default()
        });
        let t = Timestamp::from_unix_secs(1_700_000_000);
        engine.apply(AdminAction::Protect {
            account: "alice".into(),
            mode: portcullis_engine::ProtectionMode::InternalOnly,
            at: t,
            until: None,
        });
        let account = Account::from_raw("alice");
        let ask = |e: &mut Engine, ip: &str| {
            let v = e.check(&Attempt {
                ts: t.plus_secs(1),
                protocol: Protocol::Imap,
                account: &account,
                source: Some(ip.parse().unwrap()),
                password_fingerprint: None,
            });
            (v.standing.trusted, resolve(v.action))
        };
        assert_eq!(ask(&mut engine, "10.1.2.3"), (true, Effective::Allow));
        assert_eq!(ask(&mut engine, "203.0.113.9"), (false, Effective::Deny));
        assert_eq!(resolve(Action::Allow), Effective::Allow);
        assert_eq!(resolve(Action::Deny), Effective::Deny);
        // A zero-second tarpit would be read as "allow" by Dovecot: at least one second.
        assert_eq!(resolve(Action::Tarpit { seconds: 0 }), Effective::Tarpit(1));
        assert_eq!(resolve(Action::Tarpit { seconds: 5 }), Effective::Tarpit(5));
        assert_eq!(resolve(Action::StepUp), Effective::StepUp);
    }
}
