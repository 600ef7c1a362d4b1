//! The dashboard's JSON API as Rust types: what `serve` returns to the embedded UI, exactly as
//! docs/dashboard-api.md describes. Building responses from these types keeps the server and
//! the UI in step; field names are the contract.
//!
//! Admin actions travel as the engine's `AdminAction` JSON; this crate does not depend on the
//! engine, so they appear here as [`serde_json::Value`].

use portcullis_core::report::{AccountAtRisk, Campaign, CompromisedAccount};
use portcullis_core::{Outcome, Prefix, Timestamp};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// `GET /api/session`, `POST /api/login`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Session {
    pub authenticated: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub csrf_token: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<Timestamp>,
}

impl Session {
    pub fn anonymous() -> Self {
        Session {
            authenticated: false,
            user: None,
            csrf_token: None,
            expires_at: None,
        }
    }
}

/// `POST /api/login` body.
#[derive(Clone, Deserialize)]
pub struct Login {
    pub username: String,
    pub password: String,
}

impl std::fmt::Debug for Login {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Login")
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .finish()
    }
}

/// Any error: `{"error": "…"}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ApiError {
    pub error: String,
}

/// Attempts in `[start, start + width_secs)`: the report's own timeline bucket.
pub use portcullis_core::report::TimeBucket as Bucket;

/// Organisation-wide shields.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Default)]
pub struct Shields {
    pub up: bool,
    /// Empty = all protocols.
    pub protocols: Vec<String>,
    pub until: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<Timestamp>,
}

/// `GET /api/overview?hours=N`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Overview {
    pub now: Timestamp,
    pub timeline: Vec<Bucket>,
    /// Verdicts in the window, keyed like `Report::verdicts`.
    pub verdicts: BTreeMap<String, u64>,
    pub shields: Shields,
    pub open_campaigns: Vec<Campaign>,
    pub compromised_count: u64,
    pub at_risk_count: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CampaignState {
    Open,
    Closed,
}

/// A campaign in a list, with its state.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CampaignListed {
    #[serde(flatten)]
    pub campaign: Campaign,
    pub state: CampaignState,
}

/// `GET /api/campaigns?state=open|all`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CampaignList {
    pub campaigns: Vec<CampaignListed>,
}

/// A campaign's source with its counts.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SourceRow {
    pub source: Prefix,
    pub attempts: u64,
    pub failures: u64,
    pub first_seen: Timestamp,
    pub last_seen: Timestamp,
    pub blocked: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub asn: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub as_org: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccountState {
    Targeted,
    AtRisk,
    Compromised,
    Protected,
}

/// An account a campaign targeted.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AccountRow {
    pub account: String,
    pub attempts: u64,
    pub last_attempt: Option<Timestamp>,
    pub state: AccountState,
}

/// One audit-log entry: who did what when. `action` is the engine's `AdminAction` JSON.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub at: Timestamp,
    pub actor: String,
    pub action: serde_json::Value,
}

/// `GET /api/campaigns/{id}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CampaignDetail {
    pub campaign: Campaign,
    pub state: CampaignState,
    pub timeline: Vec<Bucket>,
    pub sources: Vec<SourceRow>,
    pub accounts: Vec<AccountRow>,
    pub compromised: Vec<CompromisedAccount>,
    pub at_risk: Vec<AccountAtRisk>,
    pub actions: Vec<AuditEntry>,
}

/// How an account is protected.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Protection {
    /// `internal_only`, `must_reset` or `disabled` (the engine's `ProtectionMode`).
    pub mode: String,
    pub since: Timestamp,
    pub until: Option<Timestamp>,
    pub by: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FamiliarSource {
    pub source: Prefix,
    pub successes: u64,
    pub last_success: Timestamp,
}

/// One recent attempt on an account (never any password material).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AttemptRow {
    pub ts: Timestamp,
    pub source: Option<Prefix>,
    pub protocol: String,
    pub outcome: Outcome,
    /// `allow`, `tarpit`, `deny`, `internal_only`.
    pub verdict: String,
    pub familiar: bool,
}

/// `GET /api/accounts/{name}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AccountDetail {
    pub account: String,
    pub protection: Option<Protection>,
    pub familiar_sources: Vec<FamiliarSource>,
    /// Newest first.
    pub recent_attempts: Vec<AttemptRow>,
    pub compromised: Option<CompromisedAccount>,
    pub at_risk: Option<AccountAtRisk>,
    pub campaigns: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BlockRow {
    pub prefix: Prefix,
    pub at: Timestamp,
    pub until: Option<Timestamp>,
    pub reason: String,
    pub by: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ProtectionRow {
    pub account: String,
    pub mode: String,
    pub at: Timestamp,
    pub until: Option<Timestamp>,
    pub by: String,
}

/// `GET /api/state`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct State {
    pub shields: Shields,
    pub blocks: Vec<BlockRow>,
    pub protections: Vec<ProtectionRow>,
}

/// `GET /api/actions`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ActionLog {
    /// Newest first.
    pub actions: Vec<AuditEntry>,
}

/// `POST /api/actions` answer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ActionDone {
    pub ok: bool,
    pub entry: AuditEntry,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The keys the UI reads (assets/dashboard/*.js) are the keys these types write.
    #[test]
    fn shapes_match_what_the_ui_reads() {
        let report = crate::sample::parliament_like();
        let c = report.campaigns[0].clone();
        let t = c.detected_at;
        let detail = CampaignDetail {
            campaign: c.clone(),
            state: CampaignState::Open,
            timeline: vec![Bucket {
                start: t,
                width_secs: 3600,
                attempts: 10,
                failures: 9,
                unfamiliar_failures: 8,
            }],
            sources: vec![SourceRow {
                source: c.sources[0],
                attempts: 5,
                failures: 5,
                first_seen: c.first_seen,
                last_seen: c.last_seen,
                blocked: false,
                asn: None,
                as_org: None,
                country: Some("GB".into()),
            }],
            accounts: vec![AccountRow {
                account: "a@example.org".into(),
                attempts: 2,
                last_attempt: Some(t),
                state: AccountState::AtRisk,
            }],
            compromised: report.compromised_accounts[..1].to_vec(),
            at_risk: vec![],
            actions: vec![AuditEntry {
                at: t,
                actor: "alice".into(),
                action: json!({"type": "block", "prefix": "198.51.100.0/24", "at": t, "until": null, "reason": "x"}),
            }],
        };
        let v = serde_json::to_value(&detail).unwrap();
        assert_eq!(v["campaign"]["kind"], "password_spray");
        assert_eq!(v["timeline"][0]["unfamiliar_failures"], 8);
        assert_eq!(v["sources"][0]["country"], "GB");
        assert!(
            v["sources"][0].get("asn").is_none(),
            "absent geo keys are omitted"
        );
        assert_eq!(v["accounts"][0]["state"], "at_risk");
        assert_eq!(v["actions"][0]["action"]["type"], "block");
        assert_eq!(serde_json::from_value::<CampaignDetail>(v).unwrap(), detail);

        let listed = serde_json::to_value(CampaignList {
            campaigns: vec![CampaignListed {
                campaign: c,
                state: CampaignState::Closed,
            }],
        })
        .unwrap();
        assert_eq!(listed["campaigns"][0]["state"], "closed");
        assert_eq!(
            listed["campaigns"][0]["id"], "c1",
            "campaign fields are flattened"
        );

        let s = serde_json::to_value(Session::anonymous()).unwrap();
        assert_eq!(s, json!({"authenticated": false}));

        let ui = [
            ("overview.js", "open_campaigns"),
            ("overview.js", "compromised_count"),
            ("account.js", "recent_attempts"),
            ("account.js", "familiar_sources"),
            ("campaign.js", "accounts_targeted"),
            ("api.js", "csrf_token"),
        ];
        for (file, key) in ui {
            let js = std::str::from_utf8(crate::dashboard::asset(file).unwrap().0).unwrap();
            assert!(
                js.contains(key),
                "{file} no longer reads {key}: update docs and types"
            );
        }
    }

    #[test]
    fn login_debug_never_shows_the_password() {
        let l: Login =
            serde_json::from_str(r#"{"username":"alice","password":"hunter2"}"#).unwrap();
        assert!(!format!("{l:?}").contains("hunter2"));
    }
}
