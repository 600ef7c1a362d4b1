//! The dashboard's view models as pure functions: given what a handler read (the engine's
//! report, store rows, the live timeline), the answer of docs/dashboard-api.md. No locks held
//! across calls, no I/O.

use super::OPEN_SECS;
use crate::sinks::timeline::{PrefixSet, Recent, Timeline};
use portcullis_core::report::{Campaign, Report};
use portcullis_core::{Outcome, Prefix, Timestamp};
use portcullis_engine::{Action, AdminAction};
use portcullis_report::dashboard_api as api;
use portcullis_store::{AuditEntry, BlockRecord, FamiliarSource, ProtectionRecord};
use serde_json::Value;
use std::collections::HashSet;

pub fn is_open(c: &Campaign, t: Timestamp) -> bool {
    t.secs_since(c.last_seen) < OPEN_SECS
}

pub fn state_of(c: &Campaign, t: Timestamp) -> api::CampaignState {
    if is_open(c, t) {
        api::CampaignState::Open
    } else {
        api::CampaignState::Closed
    }
}

pub fn audit_rows(entries: Vec<portcullis_store::AuditEntry>) -> Vec<api::AuditEntry> {
    entries
        .into_iter()
        .map(|e| api::AuditEntry {
            at: e.at,
            actor: e.actor,
            action: serde_json::to_value(&e.action).unwrap_or(Value::Null),
        })
        .collect()
}

/// A campaign's page.
pub fn campaign_detail(
    c: Campaign,
    r: &Report,
    blocks: &[BlockRecord],
    prots: &[ProtectionRecord],
    audit: Vec<AuditEntry>,
    tl: &Timeline,
    t: Timestamp,
) -> api::CampaignDetail {
    // An open campaign's sources are still its own: show their attempts up to now (the
    // engine moves `last_seen` only when it flags or links something).
    let until = if is_open(&c, t) {
        t.max(c.first_seen)
    } else {
        c.last_seen.max(c.first_seen)
    };
    let timeline = tl.campaign_buckets(&c.sources, c.first_seen, until);
    // Accounts the engine named, then those tried from the campaign's sources (the engine
    // names none for some detections, and caps the list).
    let mut names: Vec<String> = c.accounts.iter().take(5000).cloned().collect();
    let mut seen: HashSet<String> = names.iter().cloned().collect();
    for a in tl.campaign_accounts(&c.sources, c.first_seen, until) {
        if names.len() >= 5000 {
            break;
        }
        if seen.insert(a.to_string()) {
            names.push(a.to_string());
        }
    }
    let (mut sources, accounts) = {
        let shown = &c.sources[..c.sources.len().min(5000)];
        let counts = tl.source_counts(shown);
        let sources: Vec<api::SourceRow> = shown
            .iter()
            .map(|p| {
                let s = counts.get(p).copied();
                api::SourceRow {
                    source: *p,
                    attempts: s.map_or(0, |s| s.attempts),
                    failures: s.map_or(0, |s| s.failures),
                    first_seen: s.map_or(c.first_seen, |s| s.first),
                    last_seen: s.map_or(c.last_seen, |s| s.last),
                    blocked: blocks.iter().any(|b| b.prefix.contains(p.addr())),
                    asn: None,
                    as_org: None,
                    country: None,
                }
            })
            .collect();
        let tried = tl.account_counts(&names);
        let accounts: Vec<api::AccountRow> = names
            .iter()
            .zip(tried)
            .map(|(a, n)| {
                let state = if r.compromised_accounts.iter().any(|x| &x.account == a) {
                    api::AccountState::Compromised
                } else if prots.iter().any(|x| &x.account == a) {
                    api::AccountState::Protected
                } else if r.accounts_at_risk.iter().any(|x| &x.account == a) {
                    api::AccountState::AtRisk
                } else {
                    api::AccountState::Targeted
                };
                api::AccountRow {
                    account: a.clone(),
                    attempts: n.map_or(0, |n| n.0),
                    last_attempt: n.map(|n| n.1),
                    state,
                }
            })
            .collect();
        (sources, accounts)
    };
    sources.sort_by_key(|s| std::cmp::Reverse(s.attempts));
    let actions = audit_rows(
        audit
            .into_iter()
            .filter(|e| match &e.action {
                AdminAction::Block { prefix, .. } | AdminAction::Unblock { prefix } => c
                    .sources
                    .iter()
                    .any(|s| prefix.contains(s.addr()) || s.contains(prefix.addr())),
                AdminAction::Protect { account, .. }
                | AdminAction::Unprotect { account }
                | AdminAction::ResetAccount { account } => c.accounts.contains(account),
                AdminAction::ShieldsUp { .. } | AdminAction::ShieldsDown => e.at >= c.first_seen,
            })
            .collect(),
    );
    api::CampaignDetail {
        state: state_of(&c, t),
        timeline,
        sources,
        accounts,
        compromised: r
            .compromised_accounts
            .iter()
            .filter(|x| x.campaign.as_deref() == Some(c.id.as_str()))
            .cloned()
            .collect(),
        at_risk: r
            .accounts_at_risk
            .iter()
            .filter(|x| x.campaign.as_deref() == Some(c.id.as_str()))
            .cloned()
            .collect(),
        actions,
        campaign: c,
    }
}

/// An account's page.
pub fn account_detail(
    name: String,
    r: &Report,
    protection: Option<ProtectionRecord>,
    familiar: Vec<FamiliarSource>,
    recent: Vec<Recent>,
    campaigns: Vec<Campaign>,
) -> api::AccountDetail {
    let protection = protection.map(|p| api::Protection {
        mode: p.mode.as_str().to_string(),
        since: p.at,
        until: p.until,
        by: p.actor,
    });
    let familiar_sources = familiar
        .into_iter()
        .map(|f| api::FamiliarSource {
            successes: recent
                .iter()
                .filter(|x| {
                    x.outcome == Outcome::Success
                        && x.source.is_some_and(|ip| f.prefix.contains(ip))
                })
                .count()
                .max(1) as u64,
            source: f.prefix,
            last_success: f.last_success,
        })
        .collect();
    let recent_attempts = recent
        .iter()
        .map(|x| api::AttemptRow {
            ts: x.ts,
            source: x.source.map(Prefix::host),
            protocol: x.protocol.to_string(),
            outcome: x.outcome,
            verdict: Action::NAMES[x.verdict as usize].to_string(),
            familiar: x.familiar,
        })
        .collect();
    // Campaigns that name the account, or whose sources tried it since they began.
    let campaigns = campaigns
        .into_iter()
        .filter(|c| {
            c.accounts.contains(&name) || {
                let set = PrefixSet::new(&c.sources);
                recent.iter().any(|x| {
                    x.ts >= c.first_seen
                        && x.outcome != Outcome::Success
                        && x.source.is_some_and(|ip| set.find(ip).is_some())
                })
            }
        })
        .map(|c| c.id)
        .collect();
    api::AccountDetail {
        protection,
        familiar_sources,
        recent_attempts,
        compromised: r
            .compromised_accounts
            .iter()
            .find(|x| x.account == name)
            .cloned(),
        at_risk: r
            .accounts_at_risk
            .iter()
            .find(|x| x.account == name)
            .cloned(),
        campaigns,
        account: name,
    }
}
