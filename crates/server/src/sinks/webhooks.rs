//! Notifications out: findings and shields changes posted to webhooks as they happen — generic
//! JSON signed with HMAC-SHA256, or Slack- and Teams-compatible bodies for chat.
//!
//! Each configured hook has its own thread and a bounded queue ([`QUEUE_CAP`]). The hub only
//! `try_send`s: a full queue drops the notification and counts it, so a receiver that is slow
//! or down never slows a login. A delivery that fails (connection refused, timeout, a non-2xx
//! answer) is retried with exponential backoff ([`RETRY_DELAYS_MS`]), then counted as failed.
//!
//! The generic JSON body is `{"type": "portcullis.notification/v1", "event": KIND, "at":
//! TIME, "data": {...}}` with the finding (or the shields change) as `data`. Its headers
//! carry `X-Portcullis-Timestamp: UNIX_SECONDS` and `X-Portcullis-Signature: sha256=HEX`, the
//! HMAC-SHA256 under the hook's secret of `TIMESTAMP.BODY`: a receiver recomputes it, compares
//! in constant time and refuses stale timestamps (replays).

use hmac::{Hmac, KeyInit, Mac};
use portcullis_core::Timestamp;
use portcullis_engine::{AdminAction, Finding};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::Sha256;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::time::Duration;

/// Notifications waiting for one hook at most; beyond, new ones are dropped (counted).
pub const QUEUE_CAP: usize = 1024;
/// Waits before the retries of a failed delivery.
pub const RETRY_DELAYS_MS: [u64; 4] = [500, 1000, 2000, 4000];

/// One webhook (`[[server.webhooks]]`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WebhookConfig {
    /// A short name for logs and metrics.
    pub name: String,
    /// Where to POST (http or https).
    pub url: String,
    /// "json" (signed), "slack" or "teams".
    pub format: String,
    /// The HMAC key of the "json" format (required for it).
    pub secret: String,
    /// Which events to send: finding kinds (`campaign_opened`, `campaign_updated`,
    /// `source_flagged`, `account_compromised`, `account_at_risk`) and `shields_up`,
    /// `shields_down`. Empty: the default set, which leaves out the per-source events a
    /// large spray produces by the thousand.
    pub events: Vec<String>,
    /// Timeout of one delivery attempt, milliseconds.
    pub timeout_ms: u64,
}

impl Default for WebhookConfig {
    fn default() -> Self {
        WebhookConfig {
            name: String::new(),
            url: String::new(),
            format: "json".into(),
            secret: String::new(),
            events: Vec::new(),
            timeout_ms: 5000,
        }
    }
}

/// Sent when a hook names no events.
pub const DEFAULT_EVENTS: [&str; 4] = [
    "campaign_opened",
    "account_compromised",
    "shields_up",
    "shields_down",
];

/// Every event a hook may name.
const EVENTS: [&str; 7] = [
    "campaign_opened",
    "campaign_updated",
    "source_flagged",
    "account_compromised",
    "account_at_risk",
    "shields_up",
    "shields_down",
];

impl WebhookConfig {
    /// Checks the hook can work; the error names what is wrong.
    pub fn validate(&self) -> Result<(), String> {
        if !(self.url.starts_with("http://") || self.url.starts_with("https://")) {
            return Err(format!("webhook {:?}: url must be http(s)://…", self.name));
        }
        match self.format.as_str() {
            "json" if self.secret.len() < 16 => {
                return Err(format!(
                    "webhook {:?}: the json format is signed: give a secret of 16 characters or more",
                    self.name
                ));
            }
            "json" | "slack" | "teams" => {}
            f => {
                return Err(format!(
                    "webhook {:?}: format {f:?} is not json, slack or teams",
                    self.name
                ));
            }
        }
        if let Some(e) = self.events.iter().find(|e| !EVENTS.contains(&e.as_str())) {
            return Err(format!(
                "webhook {:?}: unknown event {e:?} (one of {})",
                self.name,
                EVENTS.join(", ")
            ));
        }
        Ok(())
    }

    fn wants(&self, event: &str) -> bool {
        if self.events.is_empty() {
            DEFAULT_EVENTS.contains(&event)
        } else {
            self.events.iter().any(|e| e == event)
        }
    }
}

/// Something worth telling: a finding, or a shields change.
#[derive(Clone, Debug)]
pub struct Notice {
    pub event: &'static str,
    pub at: Timestamp,
    pub data: Value,
}

impl Notice {
    pub fn finding(at: Timestamp, f: &Finding) -> Notice {
        let mut data = serde_json::to_value(f).unwrap_or(Value::Null);
        if let Some(o) = data.as_object_mut() {
            o.remove("finding");
        }
        Notice {
            event: f.kind(),
            at,
            data,
        }
    }

    /// A shields change, or None for other admin actions.
    pub fn admin(at: Timestamp, a: &AdminAction, actor: &str) -> Option<Notice> {
        let (event, data) = match a {
            AdminAction::ShieldsUp {
                protocols, until, ..
            } => (
                "shields_up",
                json!({"protocols": protocols, "until": until, "by": actor}),
            ),
            AdminAction::ShieldsDown => ("shields_down", json!({"by": actor})),
            _ => return None,
        };
        Some(Notice { event, at, data })
    }

    /// One line for people (the chat formats, the SIEM's free text).
    pub(crate) fn text(&self) -> String {
        let d = &self.data;
        let s = |k: &str| d[k].as_str().unwrap_or("?").to_string();
        match self.event {
            "campaign_opened" | "campaign_updated" => format!(
                "portcullis: {} {} {}: {}",
                s("kind").replace('_', " "),
                s("id"),
                if self.event == "campaign_opened" {
                    "detected"
                } else {
                    "updated"
                },
                s("summary")
            ),
            "source_flagged" => format!(
                "portcullis: source {} flagged ({}): {}",
                s("source"),
                d["campaign"].as_str().unwrap_or("no campaign"),
                s("reason")
            ),
            "account_compromised" => format!(
                "portcullis: account {} compromised ({}), from {}",
                s("account"),
                d["campaign"].as_str().unwrap_or("no campaign"),
                d["source"].as_str().unwrap_or("an unknown source")
            ),
            "account_at_risk" => format!(
                "portcullis: account {} at risk: {}",
                s("account"),
                s("reason")
            ),
            "shields_up" => format!("portcullis: shields up by {}", s("by")),
            "shields_down" => format!("portcullis: shields down by {}", s("by")),
            e => format!("portcullis: {e}"),
        }
    }
}

/// The body and headers of one notice for one hook.
fn render(hook: &WebhookConfig, n: &Notice, now_secs: i64) -> (String, Vec<(String, String)>) {
    match hook.format.as_str() {
        "slack" => (json!({"text": n.text()}).to_string(), Vec::new()),
        "teams" => (
            json!({
                "@type": "MessageCard",
                "@context": "http://schema.org/extensions",
                "summary": n.text(),
                "text": n.text(),
            })
            .to_string(),
            Vec::new(),
        ),
        _ => {
            let body = json!({
                "type": "portcullis.notification/v1",
                "event": n.event,
                "at": n.at,
                "data": n.data,
            })
            .to_string();
            let sig = sign(&hook.secret, now_secs, &body);
            (
                body,
                vec![
                    ("X-Portcullis-Timestamp".into(), now_secs.to_string()),
                    ("X-Portcullis-Signature".into(), format!("sha256={sig}")),
                ],
            )
        }
    }
}

/// HMAC-SHA256 under `secret` of `TIMESTAMP.BODY`, in hex.
pub fn sign(secret: &str, timestamp: i64, body: &str) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes keys of any size");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// Delivery counters of one hook, for `/metrics`.
#[derive(Debug, Default)]
pub struct HookStats {
    pub delivered: AtomicU64,
    pub failed: AtomicU64,
    pub dropped: AtomicU64,
    pub retries: AtomicU64,
}

struct Hook {
    cfg: WebhookConfig,
    tx: SyncSender<Notice>,
    stats: Arc<HookStats>,
}

/// The running webhooks: [`Webhooks::notify`] never blocks.
#[derive(Default)]
pub struct Webhooks {
    hooks: Vec<Hook>,
}

impl Webhooks {
    /// Starts a delivery thread per hook (each validated first).
    pub fn start(hooks: &[WebhookConfig]) -> Result<Webhooks, String> {
        let mut out = Vec::with_capacity(hooks.len());
        for cfg in hooks {
            cfg.validate()?;
            let (tx, rx) = sync_channel(QUEUE_CAP);
            let stats = Arc::new(HookStats::default());
            let (c, s) = (cfg.clone(), stats.clone());
            std::thread::Builder::new()
                .name("portcullis-webhook".into())
                .spawn(move || deliver_loop(c, rx, s))
                .map_err(|e| format!("webhook {:?}: cannot start its thread: {e}", cfg.name))?;
            tracing::info!(name = %cfg.name, format = %cfg.format, "webhook ready");
            out.push(Hook {
                cfg: cfg.clone(),
                tx,
                stats,
            });
        }
        Ok(Webhooks { hooks: out })
    }

    /// Queues `n` for every hook that wants it; a full queue drops it (counted).
    pub fn notify(&self, n: &Notice) {
        for h in self.hooks.iter().filter(|h| h.cfg.wants(n.event)) {
            match h.tx.try_send(n.clone()) {
                Ok(()) => {}
                Err(TrySendError::Full(_)) | Err(TrySendError::Disconnected(_)) => {
                    h.stats.dropped.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
    }

    /// True when there is no hook (the hub skips building notices).
    pub fn is_empty(&self) -> bool {
        self.hooks.is_empty()
    }

    /// (name, counters) of each hook.
    pub fn stats(&self) -> Vec<(String, Arc<HookStats>)> {
        self.hooks
            .iter()
            .map(|h| (h.cfg.name.clone(), h.stats.clone()))
            .collect()
    }
}

fn deliver_loop(cfg: WebhookConfig, rx: Receiver<Notice>, stats: Arc<HookStats>) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_millis(cfg.timeout_ms.max(100))))
        .http_status_as_error(false)
        .build()
        .into();
    // Ends when the hub (every sender) is gone.
    while let Ok(n) = rx.recv() {
        let mut attempt = 0;
        loop {
            let now = crate::clock::now().unix_secs();
            let (body, headers) = render(&cfg, &n, now);
            let mut req = agent
                .post(&cfg.url)
                .header("Content-Type", "application/json");
            for (k, v) in &headers {
                req = req.header(k.as_str(), v.as_str());
            }
            let ok = match req.send(body.as_str()) {
                Ok(r) => r.status().is_success(),
                Err(_) => false,
            };
            if ok {
                stats.delivered.fetch_add(1, Ordering::Relaxed);
                break;
            }
            match RETRY_DELAYS_MS.get(attempt) {
                Some(ms) => {
                    attempt += 1;
                    stats.retries.fetch_add(1, Ordering::Relaxed);
                    std::thread::sleep(Duration::from_millis(*ms));
                }
                None => {
                    stats.failed.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(name = %cfg.name, event = n.event, "webhook delivery failed");
                    break;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hook(format: &str) -> WebhookConfig {
        WebhookConfig {
            name: "t".into(),
            url: "http://127.0.0.1:9/".into(),
            format: format.into(),
            secret: "0123456789abcdef".into(),
            ..Default::default()
        }
    }

    #[test]
    fn the_signature_covers_timestamp_and_body() {
        let h = hook("json");
        let n = Notice::admin(
            Timestamp::from_unix_secs(1),
            &AdminAction::ShieldsDown,
            "ops",
        )
        .unwrap();
        let (body, headers) = render(&h, &n, 1_700_000_000);
        let sig = &headers[1].1;
        assert_eq!(
            sig,
            &format!("sha256={}", sign(&h.secret, 1_700_000_000, &body))
        );
        assert_ne!(
            sign(&h.secret, 1_700_000_001, &body),
            sign(&h.secret, 1_700_000_000, &body)
        );
        assert_ne!(sign("another secret!!", 1_700_000_000, &body), sig[7..]);
        let v: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(v["event"], "shields_down");
        assert_eq!(v["data"]["by"], "ops");
    }

    #[test]
    fn configurations_that_cannot_work_are_refused() {
        assert!(hook("json").validate().is_ok());
        assert!(hook("slack").validate().is_ok());
        assert!(hook("xml").validate().is_err());
        let mut h = hook("json");
        h.secret = "short".into();
        assert!(h.validate().is_err());
        let mut h = hook("teams");
        h.events = vec!["everything".into()];
        assert!(h.validate().is_err());
        let mut h = hook("slack");
        h.url = "ftp://x".into();
        assert!(h.validate().is_err());
    }

    #[test]
    fn the_default_events_leave_out_per_source_ones() {
        let h = hook("json");
        assert!(h.wants("campaign_opened") && h.wants("account_compromised"));
        assert!(!h.wants("source_flagged") && !h.wants("campaign_updated"));
    }
}
