//! Account guessing (smart lockout): an account failing with many distinct wrong passwords
//! from unfamiliar sources is at risk; its unfamiliar sources are tarpitted, then denied
//! (`verdict.rs`). The counting happens in the step (`step.rs`).

use crate::api::Finding;
use crate::engine::Engine;
use portcullis_core::report::{AccountAtRisk, CampaignKind};
use portcullis_core::{AuthEvent, Timestamp};

impl Engine {
    pub(crate) fn account_at_risk(&mut self, ev: &AuthEvent, guesses: u32, since: Timestamp) {
        let idx = self.campaign_for(
            CampaignKind::AccountGuessing,
            "an account guessed from unfamiliar sources",
        );
        let c = &mut self.campaigns[idx];
        c.accounts_targeted += 1;
        if c.accounts.len() < self.cfg.report_max_accounts {
            c.accounts.push(ev.account.name.clone());
        }
        c.link_first_seen(since);
        c.last_seen = self.now;
        c.attempts += u64::from(guesses);
        c.dirty = true;
        let r = AccountAtRisk {
            account: ev.account.name.clone(),
            since: ev.ts,
            reason: format!(
                "{guesses} distinct wrong passwords from unfamiliar sources within {} s",
                self.cfg.account_guess_window_secs
            ),
            campaign: Some(c.name()),
        };
        self.push(Finding::AccountAtRisk(r.clone()));
        if self.at_risk.len() >= self.cfg.max_at_risk.max(1) {
            self.at_risk.pop_front();
            self.dropped_at_risk += 1;
        }
        self.at_risk.push_back(r);
    }
}
