//! Per-key state: what the engine remembers about one source (address or network) and one
//! account. Both are small fixed-size structs (no heap), so memory is entries × size; see
//! `docs/detection.md` for the bytes per key.

use crate::campaign::CampaignRef;
use crate::config::EngineConfig;
use crate::keys::{AccountKey, Secs};
use crate::sketch::{Distinct64, WindowCount};
use crate::table::Aged;
use serde::{Deserialize, Serialize};

/// One source: an address (host table) or a /24, /64 or /48 (network table). Only failures
/// from sources *unfamiliar* to the account are counted here.
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize)]
pub struct SourceState {
    pub last_seen: Secs,
    /// First failure ever remembered (the long horizon), and the latest.
    pub first_fail: Secs,
    pub last_fail: Secs,
    /// Start of the current failure epoch (sketches reset after `source_memory_secs` quiet).
    pub epoch: Secs,
    pub failures: u32,
    pub unknown: u32,
    /// Failures within the brute-force window.
    pub fail_window: WindowCount,
    /// Distinct accounts failed on, and succeeded for (gateway evidence).
    pub accounts_failed: Distinct64,
    pub accounts_ok: Distinct64,
    /// Distinct password fingerprints (hosts) or distinct failing hosts / subnets (networks).
    pub spread: Distinct64,
    /// Minute of the last failure counted by the population signal (/24 and /64 only).
    pub population_minute: u32,
}

impl Aged for SourceState {
    fn last_seen(&self) -> Secs {
        self.last_seen
    }
    fn precious(&self) -> bool {
        !self.accounts_ok.is_empty()
    }
    fn stamp(&mut self, t: Secs) {
        self.last_seen = t;
    }
}

impl SourceState {
    /// Records an unfamiliar failure.
    pub fn fail(
        &mut self,
        now: Secs,
        account: AccountKey,
        unknown: bool,
        spread: Option<u64>,
        cfg: &EngineConfig,
    ) {
        if self.last_fail != 0 && now.saturating_sub(self.last_fail) > cfg.source_memory_secs {
            self.epoch = now;
            self.failures = 0;
            self.unknown = 0;
            self.accounts_failed = Distinct64::default();
            self.spread = Distinct64::default();
        }
        if self.first_fail == 0 {
            self.first_fail = now;
            self.epoch = now;
        }
        self.last_fail = self.last_fail.max(now);
        self.last_seen = self.last_seen.max(now);
        self.failures = self.failures.saturating_add(1);
        if unknown {
            self.unknown = self.unknown.saturating_add(1);
        }
        self.fail_window.add(now, cfg.brute_force_window_secs, 1);
        self.accounts_failed.add(account.bits());
        if let Some(h) = spread {
            self.spread.add(h);
        }
    }

    pub fn succeed(&mut self, now: Secs, account: AccountKey) {
        self.last_seen = self.last_seen.max(now);
        self.accounts_ok.add(account.bits());
    }

    /// A shared gateway (NAT, CGNAT): successes for several distinct accounts, not dwarfed by
    /// its failing accounts.
    pub fn is_gateway(&self, cfg: &EngineConfig) -> bool {
        let ok = self.accounts_ok.estimate();
        ok >= cfg.gateway_min_accounts
            && f64::from(ok)
                >= cfg.gateway_success_share * f64::from(self.accounts_failed.estimate())
    }

    /// Failures in the brute-force window ending now.
    pub fn recent_failures(&self, now: Secs, cfg: &EngineConfig) -> u32 {
        self.fail_window.value(now, cfg.brute_force_window_secs)
    }
}

/// Account flags.
pub const KNOWN: u8 = 1;
pub const AT_RISK: u8 = 2;
pub const COMPROMISED: u8 = 4;
pub const NAMED: u8 = 8;
pub const UNKNOWN: u8 = 16;
/// The last unfamiliar failure was the user's own typo, taken back by their success.
pub const TAKEN_BACK: u8 = 32;

const SLOTS: usize = 4;

/// One account.
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize)]
pub struct AccountState {
    pub last_seen: Secs,
    pub last_success: Secs,
    /// Familiar sources: fingerprints of addresses and of their /24 or /64 that logged in to
    /// the account (most recent first; 0 = empty).
    pub familiar_hosts: [u32; SLOTS],
    pub familiar_nets: [u32; SLOTS],
    /// Distinct wrong passwords from unfamiliar sources, over the guessing window.
    pub guesses: WindowCount,
    /// The last few wrong-password fingerprints (folded to 16 bits), to count a repeat once.
    pub recent_passwords: [u16; SLOTS],
    /// Fingerprint of the network of the last unfamiliar failure, and when it was.
    pub last_fail_net: u32,
    pub last_fail: Secs,
    /// [`AccountState::last_guess`] as it was before the last unfamiliar failure, for when
    /// that failure is taken back ([`TAKEN_BACK`]).
    pub guess_before: Secs,
    /// First unfamiliar failure of the current guessing episode.
    pub guess_since: Secs,
    /// Minute of the last failure counted by the population signal.
    pub population_minute: u32,
    /// The spray campaign that targeted the account.
    pub campaign: Option<CampaignRef>,
    pub flags: u8,
}

impl Aged for AccountState {
    fn last_seen(&self) -> Secs {
        self.last_seen
    }
    fn precious(&self) -> bool {
        self.flags & KNOWN != 0
    }
    fn stamp(&mut self, t: Secs) {
        self.last_seen = t;
    }
}

/// A password fingerprint folded to the 16 bits kept per account (0 marks an empty slot).
fn fold16(fingerprint: u64) -> u16 {
    ((crate::keys::mix64(fingerprint) >> 48) as u16).max(1)
}

/// A non-zero 32-bit fingerprint of a 64-bit hash (0 marks an empty slot).
pub fn fp32(h: u64) -> u32 {
    ((h >> 32) as u32) | 1
}

fn remember(slots: &mut [u32; SLOTS], v: u32) {
    let pos = slots.iter().position(|&s| s == v).unwrap_or(SLOTS - 1);
    slots.copy_within(0..pos, 1);
    slots[0] = v;
}

impl AccountState {
    pub fn has(&self, f: u8) -> bool {
        self.flags & f != 0
    }
    /// An unfamiliar failure at `now` from the network `net_fp`.
    pub fn failed(&mut self, now: Secs, net_fp: u32) {
        self.guess_before = self.last_guess();
        self.last_fail = now;
        self.last_fail_net = net_fp;
        self.flags &= !TAKEN_BACK;
    }
    /// The last unfamiliar failure came from `net_fp` at most `within` seconds before `now`.
    pub fn failed_here(&self, net_fp: u32, now: Secs, within: u32) -> bool {
        self.last_fail_net == net_fp && now.saturating_sub(self.last_fail) <= within
    }
    /// The last unfamiliar failure was the user's own typo: it is not a guess.
    pub fn take_back(&mut self) {
        self.flags |= TAKEN_BACK;
    }
    /// The last unfamiliar failure that was not taken back as the user's own typo: when a
    /// spray last tried the account, as far as anyone can tell.
    pub fn last_guess(&self) -> Secs {
        if self.has(TAKEN_BACK) {
            self.guess_before
        } else {
            self.last_fail
        }
    }
    /// True when the address or its network has logged in to the account before.
    pub fn familiar_host(&self, host: u32) -> bool {
        self.familiar_hosts.contains(&host)
    }
    pub fn familiar_net(&self, net: u32) -> bool {
        self.familiar_nets.contains(&net)
    }
    pub fn remember_success(&mut self, now: Secs, host: u32, net: u32) {
        self.last_success = self.last_success.max(now);
        remember(&mut self.familiar_hosts, host);
        remember(&mut self.familiar_nets, net);
    }
    /// Is `fingerprint` among the last few wrong passwords tried on the account?
    pub fn tried_password(&self, fingerprint: u64) -> bool {
        self.recent_passwords.contains(&fold16(fingerprint))
    }

    /// Records a wrong password; true when it is a new one (not among the last few).
    pub fn new_wrong_password(&mut self, fingerprint: Option<u64>) -> bool {
        let Some(f) = fingerprint else {
            return true;
        };
        let f16 = fold16(f);
        if self.recent_passwords.contains(&f16) {
            return false;
        }
        self.recent_passwords.copy_within(0..SLOTS - 1, 1);
        self.recent_passwords[0] = f16;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn familiar_slots_keep_the_most_recent() {
        let mut a = AccountState::default();
        for h in 1..=6u32 {
            a.remember_success(h, h * 2 + 1, 7);
        }
        assert!(a.familiar_host(13) && a.familiar_host(7));
        assert!(!a.familiar_host(3));
        assert!(a.familiar_net(7));
        assert_eq!(a.familiar_nets.iter().filter(|&&n| n == 7).count(), 1);
    }

    #[test]
    fn the_same_wrong_password_counts_once() {
        let mut a = AccountState::default();
        assert!(a.new_wrong_password(Some(0xabc)));
        assert!(!a.new_wrong_password(Some(0xabc)));
        assert!(a.new_wrong_password(Some(0xabd)));
        assert!(!a.new_wrong_password(Some(0xabc)));
        assert!(a.new_wrong_password(None));
        assert!(a.new_wrong_password(None));
    }
}
