//! Source brute force: one address (or one /24, /64 whose addresses rotate) failing
//! `brute_force_failures` times within `brute_force_window_secs`, whatever the accounts.

use crate::config::EngineConfig;
use crate::keys::Secs;
use crate::state::SourceState;
use portcullis_core::report::CampaignKind;

/// Brute force from this source, with the reason, if its recent failures reach the threshold.
pub(crate) fn brute_force(
    s: &SourceState,
    now: Secs,
    cfg: &EngineConfig,
) -> Option<(CampaignKind, String)> {
    let recent = s.recent_failures(now, cfg);
    (recent >= cfg.brute_force_failures).then(|| {
        (
            CampaignKind::BruteForce,
            format!("{recent} failures within {} s", cfg.brute_force_window_secs),
        )
    })
}
