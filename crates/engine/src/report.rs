//! The report projection: the engine's view as report schema v1 — whole ([`Engine::report`],
//! for `analyze`), or bounded ([`Engine::report_limited`], for a live server that must not
//! clone every flagged source while it holds the engine).

use crate::api::Action;
use crate::engine::Engine;
use portcullis_core::Prefix;
use portcullis_core::report::{InputSummary, Report};
use std::collections::BTreeMap;

/// How much of the engine's view [`Engine::report_limited`] copies: the newest entries of
/// each list. The work done is proportional to these limits, not to what the engine holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReportLimits {
    /// Campaigns: the newest (last opened) this many.
    pub campaigns: usize,
    /// Sources named per campaign: its newest, at most 100 (as in `campaign_updated`
    /// findings), plus the sources linked from earlier campaigns (at most 64).
    pub sources_per_campaign: usize,
    /// Accounts named per campaign: the first this many it named (`accounts_targeted` is
    /// always the full count).
    pub accounts_per_campaign: usize,
    /// Flagged sources: the newest this many.
    pub flagged_sources: usize,
    /// Compromised accounts, and accounts at risk: the newest this many of each.
    pub accounts: usize,
}

impl Default for ReportLimits {
    /// 100 campaigns with 100 sources and 100 accounts each, 1,000 flagged sources,
    /// 1,000 compromised accounts and 1,000 accounts at risk.
    fn default() -> Self {
        ReportLimits {
            campaigns: 100,
            sources_per_campaign: crate::campaign::FINDING_MAX_SOURCES,
            accounts_per_campaign: crate::campaign::FINDING_MAX_SOURCES,
            flagged_sources: 1000,
            accounts: 1000,
        }
    }
}

impl Engine {
    fn report_head(&self, input: InputSummary) -> Report {
        let mut r = Report::new(input);
        for (name, n) in Action::NAMES.iter().zip(self.verdicts) {
            if n > 0 {
                r.verdicts.insert((*name).to_string(), n);
            }
        }
        r
    }

    /// A bounded view of the report (see [`ReportLimits`]): the newest campaigns with their
    /// newest sources, and the newest flagged sources, compromised and at-risk accounts, each
    /// list oldest first as in [`Engine::report`]. The counts in each campaign are complete;
    /// [`Engine::stats`] says how many flags there are in all. Verdict counts are as in
    /// [`Engine::report`].
    pub fn report_limited(&self, input: InputSummary, limits: ReportLimits) -> Report {
        let mut r = self.report_head(input);
        let mut campaigns: Vec<_> = self
            .campaigns
            .iter()
            .rev()
            .take(limits.campaigns)
            .map(|(_, c)| {
                let skip = c
                    .recent_sources
                    .len()
                    .saturating_sub(limits.sources_per_campaign);
                c.to_report_with(
                    c.recent_sources.range(skip..).copied().collect(),
                    limits.accounts_per_campaign,
                )
            })
            .collect();
        campaigns.reverse();
        r.campaigns = campaigns;
        let mut flagged: Vec<_> = self
            .flagged
            .list
            .iter()
            .rev()
            .filter(|f| !f.workstation)
            .take(limits.flagged_sources)
            .map(|f| f.source.clone())
            .collect();
        flagged.reverse();
        r.flagged_sources = flagged;
        let newest = |n: usize| n.saturating_sub(limits.accounts);
        r.compromised_accounts = self
            .compromised
            .range(newest(self.compromised.len())..)
            .cloned()
            .collect();
        r.accounts_at_risk = self
            .at_risk
            .range(newest(self.at_risk.len())..)
            .cloned()
            .collect();
        r
    }

    /// The engine's view as report v1, around the given input summary: everything it holds
    /// (for `analyze`; a live server wants [`Engine::report_limited`]).
    pub fn report(&self, input: InputSummary) -> Report {
        let mut r = self.report_head(input);
        let mut by_campaign: BTreeMap<u32, Vec<Prefix>> = BTreeMap::new();
        for f in self.flagged.list.iter().filter(|f| !f.workstation) {
            by_campaign
                .entry(f.campaign)
                .or_default()
                .push(f.source.source);
        }
        for a in &self.single_use.attributed {
            by_campaign.entry(a.campaign).or_default().push(a.source);
        }
        r.campaigns = self
            .campaigns
            .iter()
            .map(|(i, c)| c.to_report(by_campaign.remove(&(i as u32)).unwrap_or_default()))
            .collect();
        r.flagged_sources = self
            .flagged
            .list
            .iter()
            .filter(|f| !f.workstation)
            .map(|f| f.source.clone())
            .collect();
        r.compromised_accounts = self.compromised.iter().cloned().collect();
        r.accounts_at_risk = self.at_risk.iter().cloned().collect();
        r
    }
}
