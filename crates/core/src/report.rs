//! Report schema v1 (`portcullis.report/v1`): the stable JSON contract of `portcullis analyze`.
//!
//! Documented in docs/report-schema.md, with a JSON Schema in docs/report-v1.schema.json. Fields
//! may be added in v1; none is removed or changes meaning. `eval`, the dashboard and the HTML
//! incident report all read this one type.

use crate::addr::Prefix;
use crate::event::Outcome;
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

pub const SCHEMA_V1: &str = "portcullis.report/v1";

/// The whole report.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// Always [`SCHEMA_V1`].
    pub schema: String,
    /// The program that wrote it (`portcullis 0.1.0`).
    #[serde(default)]
    pub generator: String,
    pub input: InputSummary,
    /// How many attempts got each verdict (`allow`, `tarpit`, `deny`, `internal_only`).
    #[serde(default)]
    pub verdicts: BTreeMap<String, u64>,
    pub campaigns: Vec<Campaign>,
    pub compromised_accounts: Vec<CompromisedAccount>,
    pub flagged_sources: Vec<FlaggedSource>,
    pub accounts_at_risk: Vec<AccountAtRisk>,
    /// Attempts over time in equal intervals, oldest first (empty when the producer keeps none).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub timeline: Vec<TimeBucket>,
}

/// Attempts in one interval of the report's timeline.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimeBucket {
    pub start: Timestamp,
    /// Interval length in seconds (3600 = hourly).
    pub width_secs: i64,
    pub attempts: u64,
    pub failures: u64,
    /// Failures from sources that had never succeeded for the account (its "familiar" sources)
    /// and are not in trusted networks: the population the spray detector watches.
    pub unfamiliar_failures: u64,
}

impl Report {
    /// An empty report for the given input summary.
    pub fn new(input: InputSummary) -> Self {
        Report {
            schema: SCHEMA_V1.to_string(),
            generator: String::new(),
            input,
            verdicts: BTreeMap::new(),
            campaigns: Vec::new(),
            compromised_accounts: Vec::new(),
            flagged_sources: Vec::new(),
            accounts_at_risk: Vec::new(),
            timeline: Vec::new(),
        }
    }
}

/// What was read.
#[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize)]
pub struct InputSummary {
    pub files: Vec<String>,
    /// Lines (or records) read.
    pub lines: u64,
    /// Login attempts recognised.
    pub events: u64,
    /// Lines that were not login attempts or could not be read, by reason.
    pub skipped: u64,
    pub skipped_by_reason: BTreeMap<String, u64>,
    /// Lines understood but not an attempt of their own: merged into another line's attempt
    /// (Dovecot's auth-worker twin of a login line, sshd's PAM line), or held and given out
    /// later.
    #[serde(default)]
    pub absorbed: u64,
    /// Attempts beyond one per line: a record that holds several, and held lines given out at
    /// the end of a file. Every line is accounted for:
    /// `lines + extra_events = events + absorbed + skipped`.
    #[serde(default)]
    pub extra_events: u64,
    pub events_by_outcome: BTreeMap<Outcome, u64>,
    pub first_event: Option<Timestamp>,
    pub last_event: Option<Timestamp>,
}

/// The kinds of campaign the engine names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CampaignKind {
    /// Many failures from one source or prefix.
    BruteForce,
    /// Many guesses against one account.
    AccountGuessing,
    /// Few guesses against many accounts, from one or many sources.
    PasswordSpray,
    /// Unknown account names tried.
    UserEnumeration,
    /// A distinct (leaked) password per account.
    CredentialStuffing,
}

impl CampaignKind {
    pub fn as_str(self) -> &'static str {
        match self {
            CampaignKind::BruteForce => "brute_force",
            CampaignKind::AccountGuessing => "account_guessing",
            CampaignKind::PasswordSpray => "password_spray",
            CampaignKind::UserEnumeration => "user_enumeration",
            CampaignKind::CredentialStuffing => "credential_stuffing",
        }
    }
}

/// A named attack.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Campaign {
    /// Stable within a report (`c1`, `c2`, …; in `serve`, stable across restarts).
    pub id: String,
    pub kind: CampaignKind,
    /// The first attempt attributed to it (reaches back to early probes linked to it).
    pub first_seen: Timestamp,
    /// The event time at which the engine, seeing events in order, first raised it.
    pub detected_at: Timestamp,
    pub last_seen: Timestamp,
    /// Addresses and prefixes taking part.
    pub sources: Vec<Prefix>,
    pub accounts_targeted: u64,
    pub attempts: u64,
    pub summary: String,
    /// Accounts targeted, by name (may be capped; `accounts_targeted` is the true count).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub accounts: Vec<String>,
}

/// An account that fell: a success inside a campaign.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CompromisedAccount {
    pub account: String,
    pub at: Timestamp,
    pub source: Option<Prefix>,
    pub campaign: Option<String>,
    pub evidence: String,
}

/// A source the engine flagged.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FlaggedSource {
    pub source: Prefix,
    pub first_flagged: Timestamp,
    pub reason: String,
    pub campaign: Option<String>,
}

/// An account under attack but not (yet) fallen.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AccountAtRisk {
    pub account: String,
    pub since: Timestamp,
    pub reason: String,
    pub campaign: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_serialises_with_schema_and_snake_case() {
        let mut r = Report::new(InputSummary::default());
        r.input.events_by_outcome.insert(Outcome::BadPassword, 3);
        r.campaigns.push(Campaign {
            id: "c1".into(),
            kind: CampaignKind::PasswordSpray,
            first_seen: Timestamp::from_unix_secs(0),
            detected_at: Timestamp::from_unix_secs(60),
            last_seen: Timestamp::from_unix_secs(120),
            sources: vec!["198.51.100.0/24".parse().unwrap()],
            accounts_targeted: 2,
            attempts: 3,
            summary: "spray".into(),
            accounts: vec![],
        });
        let j = serde_json::to_string(&r).unwrap();
        assert!(j.contains(r#""schema":"portcullis.report/v1""#));
        assert!(j.contains(r#""bad_password":3"#));
        assert!(j.contains(r#""kind":"password_spray""#));
        assert!(j.contains(r#""sources":["198.51.100.0/24"]"#));
        let back: Report = serde_json::from_str(&j).unwrap();
        assert_eq!(back, r);
    }
}
