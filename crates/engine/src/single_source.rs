//! Single-source spray: one address (or one /24, /64 whose addresses rotate) failing on too
//! many accounts — a spray from one source, user enumeration, credential stuffing — and the
//! single-source step that also asks the brute-force detector (`brute_force.rs`) and flags the
//! source in its campaign.

use crate::brute_force::brute_force;
use crate::config::EngineConfig;
use crate::engine::Engine;
use crate::keys::{SourceKey, ts};
use crate::state::SourceState;
use portcullis_core::report::CampaignKind;

/// A source that failed on `min_accounts` distinct accounts or more: a single-source spray,
/// or user enumeration (mostly unknown accounts), or credential stuffing (about one password
/// per account, many unknown); with the reason.
fn source_spray(
    s: &SourceState,
    is_net: bool,
    min_accounts: u32,
    cfg: &EngineConfig,
) -> Option<(CampaignKind, String)> {
    let accounts = s.accounts_failed.estimate();
    if accounts < min_accounts {
        return None;
    }
    let unknown_share = f64::from(s.unknown) / f64::from(s.failures.max(1));
    let kind = if unknown_share >= cfg.enumeration_unknown_share {
        CampaignKind::UserEnumeration
    } else if !is_net
        && f64::from(s.spread.estimate()) >= cfg.stuffing_password_share * f64::from(accounts)
        && unknown_share >= 0.3
    {
        CampaignKind::CredentialStuffing
    } else {
        CampaignKind::PasswordSpray
    };
    Some((
        kind,
        format!(
            "failed on {accounts} distinct accounts ({:.0} % unknown) since {}",
            unknown_share * 100.0,
            ts(s.epoch)
        ),
    ))
}

impl Engine {
    /// One address (or one /24, /64 whose addresses rotate) failing too often or on too many
    /// accounts: brute force, single-source spray, enumeration or stuffing.
    pub(crate) fn single_source(&mut self, key: SourceKey, s: &SourceState, is_net: bool) {
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
        let min_accounts = if !is_net && key.is_workstation() {
            cfg.client_spray_accounts
        } else {
            cfg.source_spray_accounts
        };
        let accounts = s.accounts_failed.estimate();
        let Some((kind, reason)) =
            source_spray(s, is_net, min_accounts, cfg).or_else(|| brute_force(s, now, cfg))
        else {
            return;
        };
        let prefix = if is_net {
            key.net_prefix()
        } else {
            key.host_prefix()
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
