//! Notifications out: findings and shields changes posted to webhooks as they happen — generic
//! JSON signed with HMAC-SHA256, or Slack- and Teams-compatible bodies for chat.
//!
//! Each configured hook is an [`Outbox`] (its own thread and bounded queue; see
//! [`crate::sinks::outbox`]): a receiver that is slow or down never slows a login. A delivery
//! that fails (connection refused, timeout, a non-2xx answer) is retried with backoff, then
//! counted as failed.
//!
//! The generic JSON body is `{"type": "portcullis.notification/v1", "event": KIND, "at":
//! TIME, "data": {...}}` with the finding (or the shields change) as `data`. Its headers
//! carry `X-Portcullis-Timestamp: UNIX_SECONDS` and `X-Portcullis-Signature: sha256=HEX`, the
//! HMAC-SHA256 under the hook's secret of `TIMESTAMP.BODY`: a receiver recomputes it, compares
//! in constant time and refuses stale timestamps (replays).

use crate::sinks::notice::{EVENTS, Notice};
use crate::sinks::outbox::{Courier, Outbox, Outboxes, SinkKind};
use hmac::{Hmac, KeyInit, Mac};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::Sha256;
use std::time::Duration;

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

    /// The events this hook is sent: those it names, else [`DEFAULT_EVENTS`].
    fn events(&self) -> Vec<String> {
        if self.events.is_empty() {
            DEFAULT_EVENTS.iter().map(|e| e.to_string()).collect()
        } else {
            self.events.clone()
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

/// Starts an outbox per hook (each validated first).
pub fn start(hooks: &[WebhookConfig]) -> Result<Outboxes, String> {
    let mut out = Vec::with_capacity(hooks.len());
    for cfg in hooks {
        cfg.validate()?;
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_global(Some(Duration::from_millis(cfg.timeout_ms.max(100))))
            .http_status_as_error(false)
            .build()
            .into();
        let courier = HookCourier {
            cfg: cfg.clone(),
            agent,
        };
        out.push(Outbox::start(
            SinkKind::Webhook,
            &cfg.name,
            cfg.events(),
            courier,
        )?);
        tracing::info!(name = %cfg.name, format = %cfg.format, "webhook ready");
    }
    Ok(Outboxes::new(out))
}

/// Posts notices to one hook.
struct HookCourier {
    cfg: WebhookConfig,
    agent: ureq::Agent,
}

impl Courier for HookCourier {
    fn deliver(&mut self, n: &Notice) -> Result<(), String> {
        // Signed afresh on every attempt: the timestamp is the sending time.
        let (body, headers) = render(&self.cfg, n, crate::clock::now().unix_secs());
        let mut req = self
            .agent
            .post(&self.cfg.url)
            .header("Content-Type", "application/json");
        for (k, v) in &headers {
            req = req.header(k.as_str(), v.as_str());
        }
        match req.send(body.as_str()) {
            Ok(r) if r.status().is_success() => Ok(()),
            Ok(r) => Err(format!("HTTP {}", r.status())),
            Err(e) => Err(e.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use portcullis_core::Timestamp;
    use portcullis_engine::AdminAction;
    use serde_json::Value;

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
        let wants = |h: &WebhookConfig, e: &str| h.events().iter().any(|x| x == e);
        let h = hook("json");
        assert!(wants(&h, "campaign_opened") && wants(&h, "account_compromised"));
        assert!(!wants(&h, "source_flagged") && !wants(&h, "campaign_updated"));
        let mut h = hook("json");
        h.events = vec!["source_flagged".into()];
        assert!(wants(&h, "source_flagged") && !wants(&h, "campaign_opened"));
    }
}
