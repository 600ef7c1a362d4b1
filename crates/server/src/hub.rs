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
//! a crash and is replayed on start ([`EngineHandle::restore`]).

pub use crate::clock::now;
use crate::sinks::decisions::DecisionBook;
use crate::sinks::familiar::FamiliarWrites;
use crate::sinks::metrics::Metrics;
use crate::sinks::timeline::Timeline;
use crate::sinks::webhooks::{Notice, Webhooks};
use crate::validate::{AdminRules, Refused};
use parking_lot::Mutex;
use portcullis_core::report::{InputSummary, Report};
use portcullis_core::{Account, AuthEvent, Outcome, Prefix, Protocol, Timestamp};
use portcullis_engine::{Action, AdminAction, Attempt, Engine, Finding, Verdict};
use portcullis_store::{AuditEntry, Store};
use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

struct Shared {
    engine: Mutex<Engine>,
    store: Arc<Store>,
    metrics: Arc<Metrics>,
    trusted: Vec<Prefix>,
    rules: AdminRules,
    familiar: FamiliarWrites,
    timeline: Timeline,
    webhooks: Webhooks,
    decisions: Arc<DecisionBook>,
    ready: AtomicBool,
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

/// What to do with an attempt, resolved for a client: `InternalOnly` already decided against
/// the trusted networks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Effective {
    Allow,
    Tarpit(u32),
    Deny,
}

/// Resolves an engine action for an attempt from `source`: `internal_only` allows trusted
/// networks and denies everyone else (the engine lets familiar sources through itself).
pub fn resolve(action: Action, source: Option<IpAddr>, trusted: &[Prefix]) -> Effective {
    match action {
        Action::Allow => Effective::Allow,
        Action::Tarpit { seconds } => Effective::Tarpit(seconds.max(1)),
        Action::Deny => Effective::Deny,
        Action::InternalOnly => match source {
            Some(ip) if trusted.iter().any(|p| p.contains(ip)) => Effective::Allow,
            _ => Effective::Deny,
        },
    }
}

impl EngineHandle {
    /// Wraps an engine. `trusted` are the engine's trusted networks (for `internal_only`);
    /// `rules` validate every admin action.
    pub fn new(
        engine: Engine,
        store: Arc<Store>,
        metrics: Arc<Metrics>,
        trusted: Vec<Prefix>,
        rules: AdminRules,
        webhooks: Webhooks,
        decisions: DecisionBook,
    ) -> Self {
        EngineHandle {
            inner: Arc::new(Shared {
                engine: Mutex::new(engine),
                store,
                metrics,
                trusted,
                rules,
                familiar: FamiliarWrites::new(),
                timeline: Timeline::new(),
                webhooks,
                decisions: Arc::new(decisions),
                ready: AtomicBool::new(false),
            }),
        }
    }

    pub fn store(&self) -> &Arc<Store> {
        &self.inner.store
    }
    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.inner.metrics
    }
    pub fn trusted(&self) -> &[Prefix] {
        &self.inner.trusted
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

    /// Replays the stored admin state (blocks, protections, shields in force at `now`) and
    /// re-teaches familiar sources (successes newer than the retention) as synthetic success
    /// events in time order. Returns (actions, familiar sources) replayed.
    pub fn restore(&self, now: Timestamp, retention_days: u32) -> anyhow::Result<(usize, usize)> {
        let actions = self.inner.store.replay_actions(now)?;
        let since = now.plus_secs(-(retention_days as i64) * 86_400);
        let familiar = self.inner.store.familiar_sources(since)?;
        let next_id = self.inner.store.next_campaign_number()?;
        let mut engine = self.inner.engine.lock();
        // Campaign ids continue where the store left off: `c1` never names two attacks.
        engine.resume_campaign_ids(next_id);
        for ev in familiar.iter().map(|f| {
            let mut ev = AuthEvent::new(
                f.last_success,
                Protocol::Other,
                Account::from_raw(&f.account),
                Some(f.prefix.addr()),
                Outcome::Success,
            );
            ev.server = Some("portcullis-restore".into());
            ev
        }) {
            engine.observe(&ev);
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
            if !self.inner.webhooks.is_empty() {
                self.inner.webhooks.notify(&Notice::finding(at, f));
            }
        }
    }

    /// An attempt before authentication (Dovecot's `allow`, the native `check`).
    pub fn check(&self, attempt: &Attempt<'_>) -> Verdict {
        let (verdict, findings) = {
            let mut e = self.inner.engine.lock();
            let v = e.check(attempt);
            (v, e.take_findings())
        };
        self.persist_findings(findings);
        verdict
    }

    /// A finished attempt (Dovecot's `report`, the native `report`, log followers).
    pub fn observe(&self, ev: &AuthEvent) -> Verdict {
        let (verdict, findings) = {
            let mut e = self.inner.engine.lock();
            let v = e.observe(ev);
            (v, e.take_findings())
        };
        self.persist_findings(findings);
        let (familiar, write) = match ev.source {
            Some(ip) => self.inner.familiar.note(ev, ip),
            None => (false, false),
        };
        self.inner.timeline.record(ev, familiar, verdict.action);
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
        let findings = {
            let mut e = self.inner.engine.lock();
            e.apply(action.clone());
            e.take_findings()
        };
        self.persist_findings(findings);
        self.inner.metrics.admin_action();
        self.edge_decision(&action, at, &reason);
        if let Some(n) = notice {
            self.inner.webhooks.notify(&n);
        }
        Ok(seq)
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
        self.inner.engine.lock().apply(action);
    }

    /// The webhooks findings and shields changes are posted to.
    pub fn webhooks(&self) -> &Webhooks {
        &self.inner.webhooks
    }

    /// The attempts observed since start-up, for the dashboard.
    pub fn timeline(&self) -> &Timeline {
        &self.inner.timeline
    }

    /// The engine's current view as report v1.
    pub fn report(&self) -> Report {
        self.inner.engine.lock().report(InputSummary::default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_only_is_resolved_against_the_trusted_networks() {
        let trusted: Vec<Prefix> = vec!["10.0.0.0/8".parse().unwrap()];
        let inside = Some("10.1.2.3".parse().unwrap());
        let outside = Some("203.0.113.9".parse().unwrap());
        assert_eq!(
            resolve(Action::InternalOnly, inside, &trusted),
            Effective::Allow
        );
        assert_eq!(
            resolve(Action::InternalOnly, outside, &trusted),
            Effective::Deny
        );
        assert_eq!(
            resolve(Action::InternalOnly, None, &trusted),
            Effective::Deny
        );
        assert_eq!(resolve(Action::Allow, outside, &trusted), Effective::Allow);
        assert_eq!(resolve(Action::Deny, inside, &trusted), Effective::Deny);
        // A zero-second tarpit would be read as "allow" by Dovecot: at least one second.
        assert_eq!(
            resolve(Action::Tarpit { seconds: 0 }, outside, &trusted),
            Effective::Tarpit(1)
        );
        assert_eq!(
            resolve(Action::Tarpit { seconds: 5 }, outside, &trusted),
            Effective::Tarpit(5)
        );
    }
}
