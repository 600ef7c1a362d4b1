//! Single-source detectors: one address (or one /24, /64 whose addresses rotate) failing too
//! often — brute force — or on too many accounts — single-source spray, user enumeration,
//! credential stuffing.

use crate::engine::Engine;
use crate::keys::{host_prefix, net_prefix, ts};
use crate::state::SourceState;
use crate::workstations::is_client_key;
use portcullis_core::report::CampaignKind;

impl Engine {
    /// One address (or one /24, /64 whose addresses rotate) failing too often or on too many
    /// accounts: brute force, single-source spray, enumeration or stuffing.
    pub(crate) fn single_source(&mut self, key: u128, s: &SourceState, is_net: bool) {
        let cfg = &self.cfg;
        let now = self.now_s;
        let already = if is_net {
            self.flagged.net(key).is_some()
        } else {
            self.flagged.host(key).is_some()
        };
        if already {
            return;
        }
        let accounts = s.accounts_failed.estimate();
        let recent = s.recent_failures(now, cfg);
        let min_accounts = if !is_net && is_client_key(key) {
            cfg.client_spray_accounts
        } else {
            cfg.source_spray_accounts
        };
        let (kind, reason) = if accounts >= min_accounts {
            let unknown_share = f64::from(s.unknown) / f64::from(s.failures.max(1));
            let kind = if unknown_share >= cfg.enumeration_unknown_share {
                CampaignKind::UserEnumeration
            } else if !is_net
                && f64::from(s.spread.estimate())
                    >= cfg.stuffing_password_share * f64::from(accounts)
                && unknown_share >= 0.3
            {
                CampaignKind::CredentialStuffing
            } else {
                CampaignKind::PasswordSpray
            };
            (
                kind,
                format!(
                    "failed on {accounts} distinct accounts ({:.0} % unknown) since {}",
                    unknown_share * 100.0,
                    ts(s.epoch)
                ),
            )
        } else if recent >= cfg.brute_force_failures {
            (
                CampaignKind::BruteForce,
                format!("{recent} failures within {} s", cfg.brute_force_window_secs),
            )
        } else {
            return;
        };
        let prefix = if is_net {
            net_prefix(key)
        } else {
            host_prefix(key)
        };
        let idx = match (kind, self.spray) {
            (CampaignKind::PasswordSpray, Some(i)) => i,
            _ => self.campaign_for(kind, "single-source detections"),
        };
        let reason = if is_net {
            format!("{reason}, from {} addresses", s.spread.estimate())
        } else {
            reason
        };
        let c = &mut self.campaigns[idx];
        c.link_first_seen(ts(s.first_fail));
        c.attempts += u64::from(s.failures);
        c.accounts_targeted += u64::from(accounts);
        c.last_seen = self.now;
        c.dirty = true;
        self.flag(is_net, key, prefix, idx, reason);
    }
}
