//! What the notification sinks are told: a [`Notice`] — a finding, or a shields change — with
//! its event name ([`EVENTS`]), its time and its data as JSON, and one line of text for
//! people. Built once by the hub per finding or admin action, shared by every outbox.

use portcullis_core::Timestamp;
use portcullis_engine::{AdminAction, Finding};
use serde_json::{Value, json};

/// Every event a notification sink may name.
pub const EVENTS: [&str; 7] = [
    "campaign_opened",
    "campaign_updated",
    "source_flagged",
    "account_compromised",
    "account_at_risk",
    "shields_up",
    "shields_down",
];

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
    pub fn text(&self) -> String {
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
