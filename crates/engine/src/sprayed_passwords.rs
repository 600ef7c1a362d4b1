//! Sprayed passwords: one password tried on many accounts.
//!
//! A password spray tries one password (a season and a year, a company name) on every account,
//! then the next. Where the logs carry an *unsalted* fingerprint of the password tried (the
//! `SHA1 of given password` Dovecot writes with `auth_verbose_passwords=sha1`; see
//! `AuthEvent::fingerprint_unsalted`), that is visible directly: the same fingerprint failing
//! on many distinct accounts from unfamiliar sources. Users' own wrong passwords (a typo, last
//! year's password) differ from one account to the next.
//!
//! Per fingerprint this keeps one *episode*: failures with no pause longer than
//! `spray_password_window_secs` between them. An episode that reaches
//! `spray_password_accounts` distinct accounts is *sprayed*; it stays listed as *open* until
//! the engine has settled the successes held during its span (the round-skip evidence of a
//! compromise, `Engine::settle_rounds`). Bounded: at most [`MAX_PASSWORDS`] fingerprints, about
//! 48 bytes each; when full, episodes that ended are dropped, then every episode not sprayed.

use crate::keys::{FixedMap, Secs, fixed_map};
use crate::sketch::Distinct64;
use serde::{Deserialize, Serialize};

/// Most fingerprints tracked at once (a hash table of 65,536 slots, ≈ 3 MB).
pub const MAX_PASSWORDS: usize = 57_000;

/// One fingerprint's current episode.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Episode {
    /// First and last failure of the episode.
    pub first: Secs,
    pub last: Secs,
    /// Failures in the episode (in a spray, one per account and round).
    pub failures: u32,
    /// Distinct accounts the episode failed on (sketch).
    pub accounts: Distinct64,
    /// When the episode became a spray (0 = not sprayed).
    pub sprayed: Secs,
}

/// What one failure did to its fingerprint's episode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Outcome {
    /// The episode is sprayed (before or because of this failure).
    pub sprayed: bool,
    /// It became sprayed with this failure.
    pub newly: bool,
    /// Distinct accounts of the episode (estimate).
    pub accounts: u32,
}

/// The tracked fingerprints.
#[derive(Debug, Serialize, Deserialize)]
pub struct SprayedPasswords {
    #[serde(with = "crate::snapshot::fixed")]
    map: FixedMap<u64, Episode>,
    /// Sprayed episodes not yet settled, oldest first (fingerprint, first failure).
    open: Vec<(u64, Secs)>,
}

impl Default for SprayedPasswords {
    fn default() -> Self {
        SprayedPasswords {
            map: fixed_map(),
            open: Vec::new(),
        }
    }
}

impl SprayedPasswords {
    /// Counts a failure with fingerprint `fp` (already mixed) on account `akey` at `now`.
    pub fn fail(&mut self, fp: u64, akey: u64, now: Secs, min_accounts: u32, gap: Secs) -> Outcome {
        if !self.map.contains_key(&fp) && self.map.len() >= MAX_PASSWORDS {
            self.make_room(now, gap);
        }
        let e = self.map.entry(fp).or_default();
        if e.failures == 0 || now.saturating_sub(e.last) > gap {
            // A new episode (a sprayed one left open is then dropped by `take_done`, which
            // finds its first failure changed).
            *e = Episode {
                first: now,
                ..Episode::default()
            };
        }
        e.last = e.last.max(now);
        e.failures = e.failures.saturating_add(1);
        e.accounts.add(crate::keys::mix64(akey ^ fp));
        let accounts = e.accounts.estimate();
        let newly = e.sprayed == 0 && accounts >= min_accounts;
        if newly {
            e.sprayed = now.max(1);
            let first = e.first;
            self.open.push((fp, first));
        }
        Outcome {
            sprayed: e.sprayed != 0,
            newly,
            accounts,
        }
    }

    /// The episode of `fp`, if tracked.
    #[cfg(test)]
    pub fn get(&self, fp: u64) -> Option<&Episode> {
        self.map.get(&fp)
    }

    /// Takes out the open (sprayed, unsettled) episodes that `done` says are over, with their
    /// fingerprints; episodes replaced since they were opened are dropped.
    pub fn take_done(&mut self, done: impl Fn(&Episode) -> bool) -> Vec<(u64, Episode)> {
        let mut out = Vec::new();
        let map = &self.map;
        self.open.retain(|&(fp, first)| match map.get(&fp) {
            Some(e) if e.first == first && e.sprayed != 0 => {
                if done(e) {
                    out.push((fp, *e));
                    false
                } else {
                    true
                }
            }
            _ => false,
        });
        out
    }

    /// Sprayed episodes not yet settled.
    pub fn open_len(&self) -> usize {
        self.open.len()
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn heap_bytes(&self) -> usize {
        self.map.capacity() * (std::mem::size_of::<(u64, Episode)>() + 1)
            + self.open.capacity() * std::mem::size_of::<(u64, Secs)>()
    }

    /// Full: drop the episodes that have ended, then (a flood of distinct passwords, as in
    /// credential stuffing) every episode that is not sprayed. Each clearing frees at least
    /// half the table, so the cost is amortised.
    fn make_room(&mut self, now: Secs, gap: Secs) {
        self.map
            .retain(|_, e| e.sprayed != 0 || now.saturating_sub(e.last) <= gap);
        if self.map.len() >= MAX_PASSWORDS / 2 {
            self.map.retain(|_, e| e.sprayed != 0);
        }
        if self.map.len() >= MAX_PASSWORDS / 2 {
            // Only sprayed episodes left, and still full: keep the newest half.
            let mut lasts: Vec<Secs> = self.map.values().map(|e| e.last).collect();
            lasts.sort_unstable();
            let cut = lasts[lasts.len() / 2];
            self.map.retain(|_, e| e.last > cut);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_password_on_ten_accounts_is_sprayed_and_a_pause_starts_a_new_episode() {
        let mut p = SprayedPasswords::default();
        let fp = 0x5eed;
        for a in 0..9u64 {
            let o = p.fail(fp, a * 7919, 100 + a as u32, 10, 3600);
            assert!(!o.sprayed, "{a}");
        }
        // The same account again is not a new account.
        assert!(!p.fail(fp, 0, 120, 10, 3600).sprayed);
        let o = p.fail(fp, 9 * 7919, 130, 10, 3600);
        assert!(o.sprayed && o.newly);
        assert!(!p.fail(fp, 11 * 7919, 140, 10, 3600).newly);
        assert_eq!(p.open_len(), 1);
        // Not over while it goes on; over when `done` says so.
        assert!(p.take_done(|e| e.last < 140).is_empty());
        let done = p.take_done(|e| e.last <= 140);
        assert_eq!(done.len(), 1);
        assert_eq!((done[0].1.first, done[0].1.last), (100, 140));
        assert_eq!(p.open_len(), 0);
        // After a pause longer than the window, a new episode counts from zero.
        let o = p.fail(fp, 1, 140 + 3601, 10, 3600);
        assert!(!o.sprayed && o.accounts == 1);
    }

    #[test]
    fn a_replaced_episode_is_not_settled_twice() {
        let mut p = SprayedPasswords::default();
        for a in 0..10u64 {
            p.fail(1, a * 104_729, 10, 10, 60);
        }
        assert_eq!(p.open_len(), 1);
        p.fail(1, 5, 1000, 10, 60); // a new episode
        assert!(p.take_done(|_| true).is_empty());
        assert_eq!(p.open_len(), 0);
    }

    #[test]
    fn a_flood_of_distinct_passwords_stays_bounded_and_keeps_the_sprayed_ones() {
        let mut p = SprayedPasswords::default();
        for a in 0..10u64 {
            p.fail(42, a * 104_729, 0, 10, 3600);
        }
        for i in 0..(3 * MAX_PASSWORDS as u64) {
            p.fail(1_000 + i, i, 1, 10, 3600);
            assert!(p.len() <= MAX_PASSWORDS);
        }
        assert!(p.get(42).is_some_and(|e| e.sprayed != 0));
    }
}
