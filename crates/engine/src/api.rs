//! The engine's public vocabulary: verdicts, findings, admin actions, attempts. The
//! [`Engine`](crate::Engine) and its entry points are in `engine.rs`.

use portcullis_core::report::{AccountAtRisk, Campaign, CompromisedAccount, FlaggedSource};
use portcullis_core::{Account, Prefix, Protocol, Timestamp};
use serde::{Deserialize, Serialize};
use std::net::IpAddr;

/// What to do with an attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "action")]
pub enum Action {
    Allow,
    /// Let it proceed after a delay (Dovecot: positive status = seconds).
    Tarpit {
        seconds: u32,
    },
    Deny,
    /// Denied: the account (protection `internal_only`) or the shields accept only trusted
    /// networks and familiar sources, and this source is neither. The engine resolves it: a
    /// trusted or familiar source gets `Allow` (see [`Verdict::standing`]), so a caller maps
    /// `InternalOnly` to a denial without looking at trusted networks again; it is a separate
    /// action only so that callers can say why.
    InternalOnly,
    /// Let it in only after a second factor: an unfamiliar source that nothing accuses, on an
    /// account a live spray targets or that guessing put at risk — where, without
    /// `step_up`, it would be tarpitted. Given only when the engine's `step_up` setting is on
    /// (off by default); never to a trusted or familiar source, never instead of a denial. A
    /// caller that cannot ask for a second factor refuses the attempt (a step-up is never an
    /// allow).
    StepUp,
}

impl Action {
    /// Every action's name, in the order of [`Action::index`].
    pub const NAMES: [&'static str; 5] = ["allow", "tarpit", "deny", "internal_only", "step_up"];

    /// The action's stable name (`allow`, `tarpit`, `deny`, `internal_only`, `step_up`).
    pub fn as_str(&self) -> &'static str {
        Self::NAMES[self.index()]
    }
    /// The action's position in [`Action::NAMES`] (for counters kept per action).
    pub fn index(&self) -> usize {
        match self {
            Action::Allow => 0,
            Action::Tarpit { .. } => 1,
            Action::Deny => 2,
            Action::InternalOnly => 3,
            Action::StepUp => 4,
        }
    }
}

impl std::fmt::Display for Action {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a verdict is what it is: a stable code (`source_blocked`, `password_spray`, …) and words.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Reason {
    pub code: &'static str,
    pub detail: String,
}

/// Where a source stands with an account: inside a trusted network, and familiar (an earlier
/// genuine success on the account from the address or its /24 or /64). The one answer to
/// these questions: `serve`, `analyze` and the dashboard take it from the verdict rather than
/// judging trust and familiarity again.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Standing {
    pub trusted: bool,
    pub familiar: bool,
}

impl Standing {
    /// Trusted or familiar: judged apart from any attack on the account.
    pub fn known(self) -> bool {
        self.trusted || self.familiar
    }
}

/// The answer for one attempt.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Verdict {
    pub action: Action,
    pub reasons: Vec<Reason>,
    /// The source's standing with the account as judged for this verdict: before the event's
    /// own outcome was learned (a first success does not make its own verdict familiar).
    /// Filled for every verdict the engine returns; no source = neither.
    pub standing: Standing,
}

impl Verdict {
    pub fn allow() -> Self {
        Verdict {
            action: Action::Allow,
            reasons: Vec::new(),
            standing: Standing::default(),
        }
    }
}

/// An attempt whose outcome is not known yet (before authentication).
#[derive(Clone, Copy, Debug)]
pub struct Attempt<'a> {
    pub ts: Timestamp,
    pub protocol: Protocol,
    pub account: &'a Account,
    pub source: Option<IpAddr>,
    pub password_fingerprint: Option<u64>,
}

/// Something the engine found, emitted when it arises.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "finding")]
pub enum Finding {
    CampaignOpened(Campaign),
    CampaignUpdated(Campaign),
    SourceFlagged(FlaggedSource),
    AccountCompromised(CompromisedAccount),
    AccountAtRisk(AccountAtRisk),
}

impl Finding {
    /// Every finding's kind, in the order of [`Finding::index`].
    pub const KINDS: [&'static str; 5] = [
        "campaign_opened",
        "campaign_updated",
        "source_flagged",
        "account_compromised",
        "account_at_risk",
    ];

    /// The finding's stable kind (`campaign_opened`, `source_flagged`, …).
    pub fn kind(&self) -> &'static str {
        Self::KINDS[self.index()]
    }
    /// The finding's position in [`Finding::KINDS`].
    pub fn index(&self) -> usize {
        match self {
            Finding::CampaignOpened(_) => 0,
            Finding::CampaignUpdated(_) => 1,
            Finding::SourceFlagged(_) => 2,
            Finding::AccountCompromised(_) => 3,
            Finding::AccountAtRisk(_) => 4,
        }
    }
}

/// How an account is protected by an admin.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProtectionMode {
    /// Only from trusted networks and familiar sources.
    InternalOnly,
    /// No login at all.
    Disabled,
    /// Logins denied until the password is reset (then the admin lifts it).
    MustReset,
}

impl ProtectionMode {
    /// The mode's stable name, as in the API and the store.
    pub fn as_str(&self) -> &'static str {
        match self {
            ProtectionMode::InternalOnly => "internal_only",
            ProtectionMode::Disabled => "disabled",
            ProtectionMode::MustReset => "must_reset",
        }
    }
    /// The mode named `s` (as [`ProtectionMode::as_str`] writes it).
    pub fn from_name(s: &str) -> Option<ProtectionMode> {
        [
            ProtectionMode::InternalOnly,
            ProtectionMode::Disabled,
            ProtectionMode::MustReset,
        ]
        .into_iter()
        .find(|m| m.as_str() == s)
    }
}

impl std::fmt::Display for ProtectionMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An admin decision, timestamped by the caller (the engine reads no clock).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "type")]
pub enum AdminAction {
    Block {
        prefix: Prefix,
        at: Timestamp,
        until: Option<Timestamp>,
        reason: String,
    },
    Unblock {
        prefix: Prefix,
    },
    Protect {
        account: String,
        mode: ProtectionMode,
        at: Timestamp,
        until: Option<Timestamp>,
    },
    Unprotect {
        account: String,
    },
    /// Organisation-wide: remote access only from familiar sources or trusted networks, for the
    /// given protocols (empty = all).
    ShieldsUp {
        protocols: Vec<Protocol>,
        at: Timestamp,
        until: Option<Timestamp>,
    },
    ShieldsDown,
    /// Forget the account's failure state (after a password reset).
    ResetAccount {
        account: String,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The names the code writes are the names serde writes: one vocabulary, not two.
    #[test]
    fn names_are_the_serialised_names() {
        let name = |v: serde_json::Value, key: &str| v[key].as_str().unwrap().to_string();
        for a in [
            Action::Allow,
            Action::Tarpit { seconds: 3 },
            Action::Deny,
            Action::InternalOnly,
            Action::StepUp,
        ] {
            assert_eq!(a.as_str(), name(serde_json::to_value(a).unwrap(), "action"));
        }
        for m in [
            ProtectionMode::InternalOnly,
            ProtectionMode::Disabled,
            ProtectionMode::MustReset,
        ] {
            assert_eq!(serde_json::to_value(m).unwrap(), m.as_str());
            assert_eq!(ProtectionMode::from_name(m.as_str()), Some(m));
        }
        let t = Timestamp::from_unix_secs(1_700_000_000);
        let c = Campaign {
            id: "c1".into(),
            kind: portcullis_core::report::CampaignKind::PasswordSpray,
            first_seen: t,
            detected_at: t,
            last_seen: t,
            sources: Vec::new(),
            accounts_targeted: 0,
            attempts: 0,
            summary: String::new(),
            accounts: Vec::new(),
        };
        for f in [
            Finding::CampaignOpened(c.clone()),
            Finding::CampaignUpdated(c),
        ] {
            assert_eq!(f.kind(), name(serde_json::to_value(&f).unwrap(), "finding"));
        }
    }
}
