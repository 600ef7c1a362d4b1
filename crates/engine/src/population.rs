//! The population-level spray signal: how many distinct accounts fail from unfamiliar sources in
//! the last 5 and 15 minutes, and how many of those failures name unknown accounts, against a
//! baseline learned per hour of the week.
//!
//! Distinct accounts in a sliding window are counted exactly and in O(1): each account remembers
//! the minute of its last counted failure, and a 64-minute ring holds, per minute, how many
//! accounts have their *last* counted failure in that minute. Moving an account to the current
//! minute decrements its old slot and increments the current one, so the sum of the ring over
//! the last W minutes is the number of distinct accounts that failed in those W minutes.
//!
//! The baseline is an exponentially weighted mean and mean absolute deviation of the 15-minute
//! count, sampled every minute, one pair per hour of the week (168) plus one for all hours,
//! which stands in until an hour has been seen. It learns only while no spray is live, and
//! learns the threshold rather than the value when a minute is above it, so an attack cannot
//! teach the engine that attacks are normal, while slow organic growth is followed.

use crate::config::EngineConfig;
use crate::keys::ts;
use serde::{Deserialize, Serialize};

const RING: usize = 64;
/// Minutes of the longest window.
pub const LONG: u32 = 15;
pub const SHORT: u32 = 5;

#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize)]
struct Ewma {
    mean: f64,
    dev: f64,
    n: u32,
}

impl Ewma {
    fn learn(&mut self, x: f64, alpha: f64) {
        if self.n == 0 {
            self.mean = x;
            self.dev = 0.0;
        } else {
            let d = (x - self.mean).abs();
            self.mean += alpha * (x - self.mean);
            self.dev += alpha * (d - self.dev);
        }
        self.n = self.n.saturating_add(1);
    }
}

/// The population counters and baselines.
#[derive(Debug, Serialize, Deserialize)]
pub struct Population {
    #[serde(with = "crate::snapshot::array")]
    accounts: [u32; RING],
    #[serde(with = "crate::snapshot::array")]
    networks: [u32; RING],
    #[serde(with = "crate::snapshot::array")]
    failures: [u32; RING],
    #[serde(with = "crate::snapshot::array")]
    unknown: [u32; RING],
    minute: u32,
    started: bool,
    #[serde(with = "crate::snapshot::array")]
    hours: [Ewma; 168],
    all_hours: Ewma,
}

/// What the signal says now.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Signal {
    pub accounts_15m: u32,
    pub accounts_5m: u32,
    pub threshold_15m: f64,
    pub threshold_5m: f64,
    pub unknown_share: f64,
    /// Distinct failing networks (/24, /64) in 15 minutes.
    pub networks_15m: u32,
    pub firing: bool,
}

impl Default for Population {
    fn default() -> Self {
        Population {
            accounts: [0; RING],
            networks: [0; RING],
            failures: [0; RING],
            unknown: [0; RING],
            minute: 0,
            started: false,
            hours: [Ewma::default(); 168],
            all_hours: Ewma::default(),
        }
    }
}

impl Population {
    /// The current minute (event time).
    pub fn minute(&self) -> u32 {
        self.minute
    }

    /// Moves time forward to `minute`, learning the baseline from each completed minute
    /// (`live` = a spray campaign is live: learn nothing). `known_accounts` scales the floor.
    pub fn advance(&mut self, minute: u32, live: bool, known_accounts: u64, cfg: &EngineConfig) {
        if !self.started {
            self.started = true;
            self.minute = minute;
            return;
        }
        if minute <= self.minute {
            return;
        }
        // Learn from at most one day of completed minutes; beyond that the ring is all zeros.
        let gap = minute - self.minute;
        let steps = gap.min(24 * 60);
        for _ in 0..steps {
            if !live {
                let x = f64::from(self.window(LONG));
                let thr = self.thresholds(self.minute, known_accounts, cfg).0;
                let hour = usize::from(ts(self.minute.saturating_mul(60)).hour_of_week());
                let alpha = cfg.spray_baseline_alpha.clamp(0.0, 1.0);
                self.hours[hour].learn(x.min(thr), alpha);
                self.all_hours.learn(x.min(thr), alpha / 10.0);
            }
            self.minute += 1;
            let i = self.minute as usize % RING;
            self.accounts[i] = 0;
            self.networks[i] = 0;
            self.failures[i] = 0;
            self.unknown[i] = 0;
        }
        if gap > steps {
            self.minute = minute;
            self.accounts = [0; RING];
            self.networks = [0; RING];
            self.failures = [0; RING];
            self.unknown = [0; RING];
        }
    }

    /// Counts an unfamiliar failure; `account_minute` is the account's minute of last counted
    /// failure (0 = never), updated here. `new_guess` = false for a repeat that should not
    /// move the account (the same wrong password from the same place again).
    pub fn count_failure(&mut self, account_minute: &mut u32, unknown: bool, new_guess: bool) {
        let i = self.minute as usize % RING;
        self.failures[i] += 1;
        if unknown {
            self.unknown[i] += 1;
        }
        if new_guess {
            Self::move_to_now(&mut self.accounts, self.minute, account_minute);
        }
    }

    /// Counts the failing network (/24 or /64) of an unfamiliar failure, the same way.
    pub fn count_network(&mut self, network_minute: &mut u32) {
        Self::move_to_now(&mut self.networks, self.minute, network_minute);
    }

    fn move_to_now(ring: &mut [u32; RING], now: u32, minute: &mut u32) {
        let prev = *minute;
        if prev == now {
            return;
        }
        if prev != 0 && prev.saturating_add(RING as u32) > now && prev < now {
            let j = prev as usize % RING;
            ring[j] = ring[j].saturating_sub(1);
        }
        ring[now as usize % RING] += 1;
        *minute = now;
    }

    /// Takes an account back out of the window: its failure was a user's, after all (a typo
    /// followed by a success from the same network).
    pub fn uncount(&mut self, account_minute: &mut u32) {
        let prev = *account_minute;
        if prev != 0 && prev.saturating_add(RING as u32) > self.minute && prev <= self.minute {
            let j = prev as usize % RING;
            self.accounts[j] = self.accounts[j].saturating_sub(1);
        }
        *account_minute = 0;
    }

    /// Distinct accounts with a counted failure in the last `w` minutes (including this one).
    pub fn window(&self, w: u32) -> u32 {
        (0..w.min(RING as u32))
            .map(|k| self.accounts[self.minute.wrapping_sub(k) as usize % RING])
            .sum()
    }

    fn sum(ring: &[u32; RING], minute: u32, w: u32) -> u32 {
        (0..w.min(RING as u32))
            .map(|k| ring[minute.wrapping_sub(k) as usize % RING])
            .sum()
    }

    /// The 15- and 5-minute thresholds at `minute`.
    fn thresholds(&self, minute: u32, known_accounts: u64, cfg: &EngineConfig) -> (f64, f64) {
        let hour = usize::from(ts(minute.saturating_mul(60)).hour_of_week());
        let slot = &self.hours[hour];
        // An hour of the week is trusted after half an hour of samples; until then the
        // all-hours baseline (after two hours) stands in; until then, the floor alone.
        let base = if slot.n >= 30 {
            Some(slot)
        } else if self.all_hours.n >= 120 {
            Some(&self.all_hours)
        } else {
            None
        };
        // Cold start: the floor, raised to a share of the accounts known to exist. Once a
        // baseline is trusted, the learned level replaces the share.
        let floor = f64::from(cfg.spray_floor_accounts_15m);
        let learned = match base {
            Some(b) => cfg.spray_baseline_factor * b.mean + cfg.spray_baseline_deviations * b.dev,
            None => cfg.spray_floor_share * known_accounts as f64,
        };
        let t15 = floor.max(learned);
        let ratio =
            f64::from(cfg.spray_floor_accounts_5m) / f64::from(cfg.spray_floor_accounts_15m.max(1));
        (t15, t15 * ratio)
    }

    /// The signal now.
    pub fn signal(&self, known_accounts: u64, cfg: &EngineConfig) -> Signal {
        let (t15, t5) = self.thresholds(self.minute, known_accounts, cfg);
        let a15 = self.window(LONG);
        let a5 = self.window(SHORT);
        let f15 = Self::sum(&self.failures, self.minute, LONG);
        let u15 = Self::sum(&self.unknown, self.minute, LONG);
        let unknown_share = if f15 == 0 {
            0.0
        } else {
            f64::from(u15) / f64::from(f15)
        };
        let n15 = Self::sum(&self.networks, self.minute, LONG);
        // Distributed: the accounts fail from several networks (one source's dictionary run
        // is the single-source detectors' business).
        let firing = n15 >= cfg.spray_min_networks
            && (f64::from(a15) >= t15
                || f64::from(a5) >= t5
                || (f64::from(a15) >= t15 / 2.0 && unknown_share >= cfg.spray_unknown_share));
        Signal {
            accounts_15m: a15,
            accounts_5m: a5,
            threshold_15m: t15,
            threshold_5m: t5,
            unknown_share,
            networks_15m: n15,
            firing,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distinct_accounts_in_window_are_exact() {
        let cfg = EngineConfig::default();
        let mut p = Population::default();
        let mut accts = vec![0u32; 100];
        p.advance(1000, false, 0, &cfg);
        // 100 accounts fail in minute 1000..1010, each several times.
        for m in 1000..1010 {
            p.advance(m, false, 0, &cfg);
            for a in accts.iter_mut() {
                p.count_failure(a, false, true);
            }
        }
        assert_eq!(p.window(LONG), 100);
        assert_eq!(p.window(SHORT), 100);
        p.advance(1020, false, 0, &cfg);
        assert_eq!(p.window(SHORT), 0);
        assert_eq!(p.window(LONG), 100); // minute 1009 is within the last 15
        p.advance(1030, false, 0, &cfg);
        assert_eq!(p.window(LONG), 0);
    }

    #[test]
    fn an_account_taken_back_leaves_the_window() {
        let cfg = EngineConfig::default();
        let mut p = Population::default();
        p.advance(500, false, 0, &cfg);
        let mut a = 0u32;
        let mut b = 0u32;
        p.count_failure(&mut a, false, true);
        p.count_failure(&mut b, false, true);
        assert_eq!(p.window(LONG), 2);
        p.advance(503, false, 0, &cfg);
        p.uncount(&mut a);
        assert_eq!(p.window(LONG), 1);
        p.uncount(&mut a); // twice is harmless
        assert_eq!(p.window(LONG), 1);
    }

    #[test]
    fn the_baseline_learns_a_busy_hour_and_raises_its_threshold() {
        let cfg = EngineConfig::default();
        let mut p = Population::default();
        let start = 1_497_830_400 / 60; // a Monday
        let mut accts = vec![0u32; 200];
        let mut k = 0usize;
        // Two weeks in which 100 distinct accounts fail per 15 minutes, every minute.
        for m in start..start + 14 * 24 * 60 {
            p.advance(m, false, 0, &cfg);
            for _ in 0..7 {
                p.count_failure(&mut accts[k % 200], false, true);
                k += 1;
            }
        }
        let s = p.signal(0, &cfg);
        assert!(s.accounts_15m >= 90, "{s:?}");
        assert!(!s.firing, "normal traffic must not fire: {s:?}");
        assert!(s.threshold_15m > 200.0, "{s:?}");
    }
}
