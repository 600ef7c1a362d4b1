//! The engine: state, the event step, verdicts, and the report. (Basic version: source brute
//! force and per-account guessing; the population-level detectors follow.)

use crate::api::{Action, AdminAction, Attempt, Finding, Reason, Verdict};
use crate::config::EngineConfig;
use ahash::AHashMap;
use portcullis_core::report::{
    AccountAtRisk, Campaign, CampaignKind, FlaggedSource, InputSummary, Report,
};
use portcullis_core::{AuthEvent, Outcome, Prefix, Timestamp};
use std::collections::BTreeMap;
use std::net::IpAddr;

#[derive(Debug, Default)]
struct SourceState {
    window_start: Timestamp,
    window_failures: u32,
    failures: u64,
    flagged: bool,
}

#[derive(Debug, Default)]
struct AccountState {
    window_start: Timestamp,
    window_failures: u32,
    last_fingerprint: Option<u64>,
    familiar: Vec<IpAddr>,
    at_risk: bool,
}

/// The engine.
#[derive(Debug, Default)]
pub struct Engine {
    cfg: EngineConfig,
    now: Timestamp,
    sources: AHashMap<IpAddr, SourceState>,
    accounts: AHashMap<String, AccountState>,
    campaigns: Vec<Campaign>,
    brute_force_campaign: Option<usize>,
    flagged: Vec<FlaggedSource>,
    at_risk: Vec<AccountAtRisk>,
    blocks: Vec<(Prefix, Option<Timestamp>)>,
    findings: Vec<Finding>,
    verdicts: BTreeMap<String, u64>,
}

fn is_guess(o: Outcome) -> bool {
    matches!(
        o,
        Outcome::BadPassword | Outcome::UnknownAccount | Outcome::OtherFailure | Outcome::Locked
    )
}

impl Engine {
    pub fn new(config: EngineConfig) -> Self {
        Engine {
            cfg: config,
            ..Engine::default()
        }
    }

    /// A finished attempt: learn from it, and answer what a live server should have done.
    pub fn observe(&mut self, ev: &AuthEvent) -> Verdict {
        self.now = self.now.max(ev.ts);
        let verdict = self.decide(ev.source, &ev.account.name);
        let key = match verdict.action {
            Action::Allow => "allow",
            Action::Tarpit { .. } => "tarpit",
            Action::Deny => "deny",
            Action::InternalOnly => "internal_only",
        };
        *self.verdicts.entry(key.to_string()).or_default() += 1;
        let trusted = ev.source.is_some_and(|ip| self.is_trusted(ip));
        let now = self.now;
        if ev.outcome.is_success() {
            let acct = self.accounts.entry(ev.account.name.clone()).or_default();
            if let Some(ip) = ev.source
                && !acct.familiar.contains(&ip)
            {
                if acct.familiar.len() >= 8 {
                    acct.familiar.remove(0);
                }
                acct.familiar.push(ip);
            }
            return verdict;
        }
        if !is_guess(ev.outcome) {
            return verdict;
        }
        // Source brute force.
        if let Some(ip) = ev.source
            && !trusted
        {
            let window = i64::from(self.cfg.brute_force_window_secs);
            let s = self.sources.entry(ip).or_default();
            if now.secs_since(s.window_start) > window {
                s.window_start = now;
                s.window_failures = 0;
            }
            s.window_failures += 1;
            s.failures += 1;
            if !s.flagged && s.window_failures >= self.cfg.brute_force_failures {
                s.flagged = true;
                let failures = s.failures;
                self.flag_brute_force(ip, ev, failures);
            }
        }
        // Account guessing (unfamiliar sources only; the same wrong password counts once).
        let acct = self.accounts.entry(ev.account.name.clone()).or_default();
        let familiar = ev.source.is_some_and(|ip| acct.familiar.contains(&ip));
        if !familiar && !trusted {
            let window = i64::from(self.cfg.account_guess_window_secs);
            if now.secs_since(acct.window_start) > window {
                acct.window_start = now;
                acct.window_failures = 0;
            }
            let repeat = ev.password_fingerprint.is_some()
                && ev.password_fingerprint == acct.last_fingerprint;
            acct.last_fingerprint = ev.password_fingerprint;
            if !repeat {
                acct.window_failures += 1;
            }
            if !acct.at_risk && acct.window_failures >= self.cfg.account_guess_failures {
                acct.at_risk = true;
                let r = AccountAtRisk {
                    account: ev.account.name.clone(),
                    since: now,
                    reason: format!(
                        "{} wrong passwords from unfamiliar sources within {} s",
                        acct.window_failures, window
                    ),
                    campaign: None,
                };
                self.findings.push(Finding::AccountAtRisk(r.clone()));
                self.at_risk.push(r);
            }
        }
        verdict
    }

    fn flag_brute_force(&mut self, ip: IpAddr, ev: &AuthEvent, failures: u64) {
        let idx = match self.brute_force_campaign {
            Some(i) => i,
            None => {
                self.campaigns.push(Campaign {
                    id: format!("c{}", self.campaigns.len() + 1),
                    kind: CampaignKind::BruteForce,
                    first_seen: ev.ts,
                    detected_at: self.now,
                    last_seen: ev.ts,
                    sources: Vec::new(),
                    accounts_targeted: 0,
                    attempts: 0,
                    summary: String::new(),
                    accounts: Vec::new(),
                });
                self.brute_force_campaign = Some(self.campaigns.len() - 1);
                self.campaigns.len() - 1
            }
        };
        let c = &mut self.campaigns[idx];
        c.sources.push(Prefix::host(ip));
        c.attempts += failures;
        c.last_seen = ev.ts;
        c.summary = format!("brute force from {} source(s)", c.sources.len());
        let first = c.sources.len() == 1;
        let f = FlaggedSource {
            source: Prefix::host(ip),
            first_flagged: self.now,
            reason: format!(
                "{} failures within {} s",
                self.cfg.brute_force_failures, self.cfg.brute_force_window_secs
            ),
            campaign: Some(c.id.clone()),
        };
        let c = c.clone();
        self.findings.push(if first {
            Finding::CampaignOpened(c)
        } else {
            Finding::CampaignUpdated(c)
        });
        self.findings.push(Finding::SourceFlagged(f.clone()));
        self.flagged.push(f);
    }

    fn is_trusted(&self, ip: IpAddr) -> bool {
        self.cfg.trusted_networks.iter().any(|p| p.contains(ip))
    }

    fn decide(&self, source: Option<IpAddr>, account: &str) -> Verdict {
        if let Some(ip) = source {
            if self
                .blocks
                .iter()
                .any(|(p, until)| p.contains(ip) && until.is_none_or(|u| self.now < u))
            {
                return Verdict {
                    action: Action::Deny,
                    reasons: vec![Reason {
                        code: "admin_block",
                        detail: format!("{ip} is blocked by an admin"),
                    }],
                };
            }
            if self.is_trusted(ip) {
                return Verdict::allow();
            }
        }
        let acct = self.accounts.get(account);
        if let (Some(a), Some(ip)) = (acct, source)
            && a.familiar.contains(&ip)
        {
            return Verdict::allow();
        }
        if let Some(ip) = source
            && self.sources.get(&ip).is_some_and(|s| s.flagged)
        {
            return Verdict {
                action: Action::Deny,
                reasons: vec![Reason {
                    code: "brute_force",
                    detail: format!("{ip} is flagged for brute force"),
                }],
            };
        }
        if let Some(a) = acct
            && a.at_risk
        {
            let action = if a.window_failures >= self.cfg.account_lock_failures {
                Action::Deny
            } else {
                Action::Tarpit {
                    seconds: self.cfg.tarpit_secs,
                }
            };
            return Verdict {
                action,
                reasons: vec![Reason {
                    code: "account_guessing",
                    detail: format!("{account} is under guessing from unfamiliar sources"),
                }],
            };
        }
        Verdict::allow()
    }

    /// An attempt before authentication (not counted: the report that follows is).
    pub fn check(&mut self, attempt: &Attempt<'_>) -> Verdict {
        self.now = self.now.max(attempt.ts);
        self.decide(attempt.source, &attempt.account.name)
    }

    /// An admin decision.
    pub fn apply(&mut self, action: AdminAction) {
        match action {
            AdminAction::Block { prefix, until, .. } => self.blocks.push((prefix, until)),
            AdminAction::Unblock { prefix } => self.blocks.retain(|(p, _)| *p != prefix),
            _ => {}
        }
    }

    /// Findings since the last call, oldest first.
    pub fn take_findings(&mut self) -> Vec<Finding> {
        std::mem::take(&mut self.findings)
    }

    /// The engine's view as report v1, around the given input summary.
    pub fn report(&self, input: InputSummary) -> Report {
        let mut r = Report::new(input);
        r.verdicts = self.verdicts.clone();
        r.campaigns = self.campaigns.clone();
        r.flagged_sources = self.flagged.clone();
        r.accounts_at_risk = self.at_risk.clone();
        r
    }
}
