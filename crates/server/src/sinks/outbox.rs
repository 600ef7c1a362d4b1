//! The delivery machinery every notification sink shares (webhooks, SIEM over syslog): one
//! [`Outbox`] per configured target, with its own thread, a bounded queue ([`QUEUE_CAP`]) and
//! a [`Courier`] that knows how to carry a [`Notice`] to it.
//!
//! The hub only offers notices ([`Outboxes::notify`]): `try_send`, so a full queue drops the
//! notice and counts it, and a target that is slow or down never slows a login. A delivery
//! that fails is tried again after each of [`RETRY_DELAYS_MS`] (counted as retries), then
//! counted as failed. The counters ([`OutboxStats`]) are exported on `/metrics` under the
//! sink's own family names.

use crate::sinks::notice::Notice;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::time::Duration;

/// Notices waiting for one target at most; beyond, new ones are dropped (counted).
pub const QUEUE_CAP: usize = 1024;
/// Waits before the retries of a failed delivery.
pub const RETRY_DELAYS_MS: [u64; 4] = [500, 1000, 2000, 4000];

/// Carries a notice to one target (an HTTP endpoint, a syslog receiver). Runs on the outbox's
/// own thread; may block up to its own timeout.
pub trait Courier: Send + 'static {
    /// Delivers `n`, or says why not (the outbox retries, then counts it failed).
    fn deliver(&mut self, n: &Notice) -> Result<(), String>;
}

/// Delivery counters of one outbox, for `/metrics`.
#[derive(Debug, Default)]
pub struct OutboxStats {
    pub sent: AtomicU64,
    pub failed: AtomicU64,
    pub dropped: AtomicU64,
    pub retries: AtomicU64,
}

/// The kinds of sink, which name their `/metrics` families.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SinkKind {
    Webhook,
    Siem,
}

impl SinkKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SinkKind::Webhook => "webhook",
            SinkKind::Siem => "siem",
        }
    }
}

/// One target's queue and thread.
pub struct Outbox {
    kind: SinkKind,
    name: String,
    /// The events this target wants (resolved from its configuration).
    events: Vec<String>,
    tx: SyncSender<Notice>,
    stats: Arc<OutboxStats>,
}

impl Outbox {
    /// Starts the thread that delivers `events` to `name` through `courier`.
    pub fn start(
        kind: SinkKind,
        name: &str,
        events: Vec<String>,
        courier: impl Courier,
    ) -> Result<Outbox, String> {
        let (tx, rx) = sync_channel(QUEUE_CAP);
        let stats = Arc::new(OutboxStats::default());
        let (n, s) = (name.to_string(), stats.clone());
        std::thread::Builder::new()
            .name(format!("portcullis-{}", kind.as_str()))
            .spawn(move || run(kind, n, rx, s, courier))
            .map_err(|e| format!("{} {name:?}: cannot start its thread: {e}", kind.as_str()))?;
        Ok(Outbox {
            kind,
            name: name.to_string(),
            events,
            tx,
            stats,
        })
    }

    pub fn kind(&self) -> SinkKind {
        self.kind
    }
    pub fn name(&self) -> &str {
        &self.name
    }
    pub fn stats(&self) -> &Arc<OutboxStats> {
        &self.stats
    }

    /// Queues `n` if this target wants it; a full queue drops it (counted).
    fn offer(&self, n: &Notice) {
        if !self.events.iter().any(|e| e == n.event) {
            return;
        }
        if let Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) =
            self.tx.try_send(n.clone())
        {
            self.stats.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// Every running outbox: [`Outboxes::notify`] never blocks.
#[derive(Default)]
pub struct Outboxes {
    boxes: Vec<Outbox>,
}

impl Outboxes {
    pub fn new(boxes: Vec<Outbox>) -> Self {
        Outboxes { boxes }
    }
    /// Adds another set of outboxes (the SIEM sinks beside the webhooks).
    pub fn extend(&mut self, other: Outboxes) {
        self.boxes.extend(other.boxes);
    }
    /// Offers `n` to every outbox.
    pub fn notify(&self, n: &Notice) {
        for b in &self.boxes {
            b.offer(n);
        }
    }
    /// True when there is none (the hub skips building notices).
    pub fn is_empty(&self) -> bool {
        self.boxes.is_empty()
    }
    pub fn iter(&self) -> impl Iterator<Item = &Outbox> {
        self.boxes.iter()
    }
}

fn run(
    kind: SinkKind,
    name: String,
    rx: Receiver<Notice>,
    stats: Arc<OutboxStats>,
    mut courier: impl Courier,
) {
    // Ends when the hub (every sender) is gone.
    while let Ok(n) = rx.recv() {
        let mut attempt = 0;
        loop {
            match courier.deliver(&n) {
                Ok(()) => {
                    stats.sent.fetch_add(1, Ordering::Relaxed);
                    break;
                }
                Err(e) => match RETRY_DELAYS_MS.get(attempt) {
                    Some(ms) => {
                        attempt += 1;
                        stats.retries.fetch_add(1, Ordering::Relaxed);
                        std::thread::sleep(Duration::from_millis(*ms));
                    }
                    None => {
                        stats.failed.fetch_add(1, Ordering::Relaxed);
                        tracing::warn!(sink = kind.as_str(), name = %name, event = n.event, error = %e, "notice not delivered");
                        break;
                    }
                },
            }
        }
    }
}
