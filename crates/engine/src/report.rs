//! The report projection: the engine's view as report schema v1.

use crate::engine::Engine;
use portcullis_core::Prefix;
use portcullis_core::report::{InputSummary, Report};
use std::collections::BTreeMap;

impl Engine {
    /// The engine's view as report v1, around the given input summary.
    pub fn report(&self, input: InputSummary) -> Report {
        let mut r = Report::new(input);
        for (name, n) in ["allow", "tarpit", "deny", "internal_only"]
            .iter()
            .zip(self.verdicts)
        {
            if n > 0 {
                r.verdicts.insert((*name).to_string(), n);
            }
        }
        let mut by_campaign: BTreeMap<u32, Vec<Prefix>> = BTreeMap::new();
        for f in self.flagged.list.iter().filter(|f| !f.workstation) {
            by_campaign
                .entry(f.campaign)
                .or_default()
                .push(f.source.source);
        }
        r.campaigns = self
            .campaigns
            .iter()
            .enumerate()
            .map(|(i, c)| c.to_report(by_campaign.remove(&(i as u32)).unwrap_or_default()))
            .collect();
        r.flagged_sources = self
            .flagged
            .list
            .iter()
            .filter(|f| !f.workstation)
            .map(|f| f.source.clone())
            .collect();
        r.compromised_accounts = self.compromised.clone();
        r.accounts_at_risk = self.at_risk.clone();
        r
    }
}
