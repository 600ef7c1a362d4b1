//! Addresses that spend themselves, and accounts that leave a spray's rounds: what the engine
//! can still say about a spray that takes a new address for every attempt, with no password
//! fingerprint in the log (Dovecot's default logging).
//!
//! * **Attribution.** An address whose first and only attempt failed, during a live spray (or
//!   within `spray_lookback_secs` before it opened), in a /24 or /64 (and /48) nobody ever
//!   logged in from, and that did nothing more within `spray_single_use_grace_secs`, is listed
//!   among the spray's sources. It is *attributed*, not flagged: one failure is no reason to
//!   refuse an address a real user may be behind, and a single-use address never comes back
//!   to be refused. Attributed sources feed no verdict and no compromise evidence.
//! * **Leaving the rounds.** A spray comes back to every account once a round. A success held
//!   during a live spray (an address and network new to the account) after which the spray
//!   went on for two rounds (its population signal still firing) and never tried the account
//!   again is the attacker's: it drops an account from its list once the account has fallen.
//!   A user who logs in from a new network during the spray keeps being tried. The round is
//!   measured, not assumed: the gap 95 % of a targeted account's successive unfamiliar
//!   failures stay under while the spray is live; two, because a spray that shuffles its
//!   list every round comes back after anything up to two.
//! * **Coming back.** A second success for the account, within `spray_comeback_secs` of a
//!   held success from a network nobody ever logged in from, from yet another such network:
//!   the attacker reading the mail it has just opened. If the spray has not reached the
//!   account yet (stuffing: its one try was the success), the comeback waits until it does.
//!   Neither rule holds if the spray tried the account again after the success (an attacker
//!   that got in does not guess the password it has).
//!
//! The address of a success named by these rules is attributed, not flagged (it spent itself
//! on that success); the address that came back is flagged (it read the mail, and may again).
//!
//! Bounded: at most [`MAX_PENDING`] attempts wait out the grace period, and at most
//! [`MAX_CHECKS`] each of the successes waiting for a round, the cold successes remembered
//! outside a spray and the comebacks waiting for the spray (the oldest go first, counted); each
//! step settles at most [`MAX_PER_STEP`] of each.

use crate::engine::Engine;
use crate::keys::{AccountKey, FixedMap, Secs, SourceKey, fixed_map, secs};
use crate::provisional::Provisional;
use crate::state::COMPROMISED;
use portcullis_core::Prefix;
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;

/// Most first failures waiting out the grace period (16 bytes each).
pub const MAX_PENDING: usize = 200_000;
/// Most held successes waiting for the spray's next round.
pub const MAX_CHECKS: usize = 100_000;
/// Most entries of either queue settled in one step (the rest wait for the next steps).
pub const MAX_PER_STEP: usize = 64;
/// Gap samples needed before the round is taken as measured.
pub const MIN_GAP_SAMPLES: u32 = 20;
/// Width of one bucket of the gap histogram (s), and how many buckets (the last holds every
/// gap of 12 h or more).
const GAP_BUCKET: u32 = 300;
const GAP_BUCKETS: usize = 144;

/// One source attributed to a campaign.
#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
pub struct Attribution {
    pub source: Prefix,
    pub at: Secs,
    pub campaign: u32,
}

/// A second success from a never-used network that came back to an account the spray had
/// not yet reached when it came (credential stuffing tries an account once, and that try
/// succeeded): waiting for the spray to cover the account.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Comeback {
    pub first: Provisional,
    pub second: SourceKey,
    pub at: Secs,
}

/// A success held during a live spray, waiting for the spray's next round.
#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
pub struct RoundCheck {
    pub at: Secs,
    pub bits: SourceKey,
    pub akey: AccountKey,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct SingleUse {
    /// First failures of never-seen addresses in networks nobody logged in from, oldest first.
    pending: VecDeque<(Secs, SourceKey)>,
    /// Held successes, oldest first, kept for `spray_comeback_secs`; `checks[..checked]` had
    /// their round check already.
    checks: VecDeque<RoundCheck>,
    checked: usize,
    /// The newest held success from a cold network, per account (for coming back), kept as
    /// long as its entry in `checks`.
    #[serde(with = "crate::snapshot::fixed")]
    cold_by_account: FixedMap<AccountKey, Provisional>,
    /// Successes from networks nobody had logged in from while no spray was live, oldest
    /// first, for `spray_lookback_secs` (at most [`MAX_CHECKS`]): when a spray opens, those
    /// within its look-back are held as if it had been live (the first pairs of a stuffing
    /// list succeed before the signal fires).
    recent_cold: VecDeque<Provisional>,
    /// Comebacks to accounts the spray had not yet covered, oldest first (at most
    /// [`MAX_CHECKS`]), kept for `spray_comeback_secs` after the first success.
    deferred: VecDeque<Comeback>,
    /// Gaps between a targeted account's successive unfamiliar failures in a live spray: a
    /// histogram of [`GAP_BUCKET`]-second buckets, halved when it holds 4,096 gaps (so it
    /// follows a change of pace).
    gaps: Vec<u32>,
    pub gap_samples: u32,
    /// Attributed sources, in order, at most `max_flagged`.
    pub attributed: Vec<Attribution>,
    /// Entries dropped by the caps.
    pub dropped: u64,
}

impl Default for SingleUse {
    fn default() -> Self {
        SingleUse {
            pending: VecDeque::new(),
            checks: VecDeque::new(),
            checked: 0,
            cold_by_account: fixed_map(),
            recent_cold: VecDeque::new(),
            deferred: VecDeque::new(),
            gaps: vec![0; GAP_BUCKETS],
            gap_samples: 0,
            attributed: Vec::new(),
            dropped: 0,
        }
    }
}

impl SingleUse {
    /// A never-seen address in an unused network failed: it waits out the grace period.
    pub fn first_failure(&mut self, now: Secs, bits: SourceKey) {
        if self.pending.len() >= MAX_PENDING {
            self.pending.pop_front();
            self.dropped += 1;
        }
        self.pending.push_back((now, bits));
    }

    /// The next first failure whose grace period is over by `now`, if any.
    pub fn next_due(&mut self, now: Secs, grace: u32) -> Option<(Secs, SourceKey)> {
        let &(t, _) = self.pending.front()?;
        if now.saturating_sub(t) < grace {
            return None;
        }
        self.pending.pop_front()
    }

    /// A failure counted while spray is live, on an account whose previous unfamiliar failure
    /// was at `prev` (0: none), with the spray opened (or looked back) from `since`.
    pub fn spray_failure(&mut self, now: Secs, prev: Secs, since: Secs) {
        if prev == 0 || prev < since || now.saturating_sub(prev) < 60 {
            return;
        }
        let b = (now.saturating_sub(prev) / GAP_BUCKET) as usize;
        self.gaps[b.min(GAP_BUCKETS - 1)] += 1;
        self.gap_samples = self.gap_samples.saturating_add(1);
        if self.gaps.iter().sum::<u32>() >= 4096 {
            for g in self.gaps.iter_mut() {
                *g /= 2;
            }
        }
    }

    /// The spray's round, once enough gaps were seen: the gap that 95 % of the gaps between
    /// its successive tries of one account stay under (the upper edge of its bucket). A spray
    /// that shuffles its list every round comes back to an account after up to two rounds.
    pub fn round(&self) -> Option<u32> {
        if self.gap_samples < MIN_GAP_SAMPLES {
            return None;
        }
        let total: u32 = self.gaps.iter().sum();
        let mut seen = 0;
        for (i, g) in self.gaps.iter().enumerate() {
            seen += g;
            if seen * 20 >= total * 19 {
                return Some((i as u32 + 1) * GAP_BUCKET);
            }
        }
        Some(GAP_BUCKETS as u32 * GAP_BUCKET)
    }

    /// A success was held during a live spray; `cold`: nobody had logged in from its network.
    pub fn held(&mut self, p: &Provisional, cold: bool) {
        if self.checks.len() >= MAX_CHECKS {
            self.pop_check();
            self.dropped += 1;
        }
        if cold {
            self.cold_by_account.insert(p.akey, p.clone());
        }
        self.checks.push_back(RoundCheck {
            at: secs(p.at),
            bits: p.bits,
            akey: p.akey,
        });
    }

    fn pop_check(&mut self) {
        if let Some(c) = self.checks.pop_front() {
            if self.checked > 0 {
                self.checked -= 1;
            }
            if self
                .cold_by_account
                .get(&c.akey)
                .is_some_and(|x| secs(x.at) == c.at && x.bits == c.bits)
            {
                self.cold_by_account.remove(&c.akey);
            }
        }
    }

    /// Drops held successes older than `max_age`.
    pub fn age_out(&mut self, now: Secs, max_age: u32) {
        let mut n = 0;
        while n < MAX_PER_STEP
            && self
                .checks
                .front()
                .is_some_and(|c| now.saturating_sub(c.at) > max_age)
        {
            self.pop_check();
            n += 1;
        }
    }

    /// The next held success due for its round check (`wait` after it), if any.
    pub fn next_round_check(&mut self, now: Secs, wait: u32) -> Option<RoundCheck> {
        let c = *self.checks.get(self.checked)?;
        if now.saturating_sub(c.at) < wait {
            return None;
        }
        self.checked += 1;
        Some(c)
    }

    /// The cold held success of `akey` still remembered, forgetting it.
    pub fn take_cold(&mut self, akey: AccountKey) -> Option<Provisional> {
        self.cold_by_account.remove(&akey)
    }

    /// Looks at the cold held success of `akey` without taking it.
    pub fn cold_of(&self, akey: AccountKey) -> Option<&Provisional> {
        self.cold_by_account.get(&akey)
    }

    /// A success from a network nobody had logged in from, with no spray live: kept for
    /// `keep` seconds (the spray look-back).
    pub fn cold_outside_spray(&mut self, p: &Provisional, keep: u32) {
        let now = secs(p.at);
        while self
            .recent_cold
            .front()
            .is_some_and(|x| now.saturating_sub(secs(x.at)) > keep)
            || self.recent_cold.len() >= MAX_CHECKS
        {
            self.recent_cold.pop_front();
        }
        self.recent_cold.push_back(p.clone());
    }

    /// A spray opened at `now`: the cold successes of the last `keep` seconds are held as if
    /// it had been live (for coming back; they were learned, so no round check can take
    /// them). Returns how many.
    pub fn adopt_recent_cold(&mut self, now: Secs, keep: u32) -> usize {
        let recent: Vec<Provisional> = self.recent_cold.drain(..).collect();
        let mut n = 0;
        for p in recent {
            if now.saturating_sub(secs(p.at)) <= keep {
                self.held(&p, true);
                n += 1;
            }
        }
        n
    }

    /// A comeback waits for the spray to cover its account.
    pub fn defer(&mut self, c: Comeback) {
        if self.deferred.len() >= MAX_CHECKS {
            self.deferred.pop_front();
            self.dropped += 1;
        }
        self.deferred.push_back(c);
    }

    /// Records an attribution, unless the list is full.
    pub fn attribute(&mut self, a: Attribution, cap: usize) -> bool {
        if self.attributed.len() >= cap {
            self.dropped += 1;
            return false;
        }
        self.attributed.push(a);
        true
    }

    /// Entries waiting (first failures, held successes).
    #[cfg(test)]
    pub fn waiting(&self) -> (usize, usize) {
        (self.pending.len(), self.checks.len())
    }
}

/// The spray campaign whose live span (looked back `lookback` before it opened) covers `t`.
fn spray_covering(e: &Engine, t: Secs) -> Option<usize> {
    let i = e.spray.or(e.last_spray)?;
    let c = e.campaigns.get(i)?;
    let from = secs(c.detected_at).saturating_sub(e.cfg.spray_lookback_secs);
    let to = secs(c.last_seen);
    (t >= from && t <= to).then_some(i)
}

impl Engine {
    /// Settles the first failures whose grace period is over: the address did nothing more,
    /// nobody logged in from its network since, and a spray was live then: attributed to it.
    pub(crate) fn attribute_single_use(&mut self) {
        let grace = self.cfg.spray_single_use_grace_secs;
        for _ in 0..MAX_PER_STEP {
            let Some((t, bits)) = self.single_use.next_due(self.now_s, grace) else {
                return;
            };
            self.walked += 1;
            let Some(i) = spray_covering(self, t) else {
                continue;
            };
            let quiet = self
                .hosts
                .get(&bits)
                .is_some_and(|h| h.failures == 1 && h.accounts_ok.is_empty() && h.last_seen == t);
            let unused = bits.nets().0;
            let unused = self
                .nets
                .get(&unused)
                .is_none_or(|n| n.accounts_ok.is_empty());
            if !quiet || !unused || self.flagged.host(bits).is_some() {
                continue;
            }
            self.attribute_source(i, bits, t);
        }
    }

    /// Lists `bits` among campaign `i`'s sources, attributed at `at` (not flagged).
    fn attribute_source(&mut self, i: usize, bits: SourceKey, at: Secs) {
        let a = Attribution {
            source: bits.host_prefix(),
            at,
            campaign: i as u32,
        };
        if self.single_use.attribute(a, self.cfg.max_flagged) {
            self.campaigns[i].attributed += 1;
            self.campaigns[i].dirty = true;
        }
    }

    /// Round checks of held successes, and the ageing of what is held (every minute).
    pub(crate) fn settle_left_rounds(&mut self) {
        let idle = self.cfg.spray_idle_secs;
        let keep = self.cfg.spray_comeback_secs.max(idle);
        self.single_use.age_out(self.now_s, keep);
        let Some(round) = self.single_use.round() else {
            return;
        };
        // Two rounds after the success (a round: the gap 95 % of the spray's returns to an
        // account stay under): the spray has come back to every account it still tries. One
        // is not enough: a spray that shuffles its list every round comes back after anything
        // up to two rounds, and 5 % of the users who log in from a new network during the
        // spray were then accused (parliament-2017, seed 1: 116 of 9,000). Never longer than
        // the success is held.
        let wait = round.saturating_mul(2).clamp(900, idle.saturating_sub(300));
        // Checked a bucket after the round is over, so that "the spray went on" is seen
        // whatever the spray's pace (checked at `wait` exactly, its last failure is before).
        for _ in 0..MAX_PER_STEP {
            let Some(c) = self
                .single_use
                .next_round_check(self.now_s, wait.saturating_add(GAP_BUCKET))
            else {
                return;
            };
            self.walked += 1;
            let Some(i) = spray_covering(self, c.at) else {
                continue;
            };
            let left = self.accounts.get(&c.akey).is_some_and(|a| {
                !a.has(COMPROMISED) && a.last_guess() < c.at && targeted(self, i, a.campaign)
            });
            // The spray went on after the success for as long as it takes to come back to
            // every account: its population signal was still above threshold. (Failures alone
            // do not say so: after the attack stops, users' own failures go on while the
            // campaign waits out `spray_idle_secs`, and near the end of parliament-2017 seed 1
            // they accused 8 users who logged in from new networks.)
            let last_signal = self.campaigns[i].last_signal;
            let went_on = last_signal >= c.at.saturating_add(wait);
            if !left || !went_on {
                continue;
            }
            // Held successes keep their microseconds; the check, whole seconds.
            let found = self
                .provisional
                .take(c.bits, false, |p| p.akey == c.akey && secs(p.at) == c.at);
            for p in found {
                self.single_use.take_cold(p.akey);
                self.withdraw_familiarity(&p);
                let evidence = format!(
                    "success from {} (new to the account) during {}; the spray went on for {} min more, coming back to the accounts it tries within {} min, and never tried this account again: it left the spray's rounds",
                    self.label(p.bits),
                    self.campaigns[i].name(),
                    last_signal.saturating_sub(c.at) / 60,
                    wait / 60
                );
                self.name_compromise(
                    &p.account,
                    p.at,
                    p.akey,
                    p.bits,
                    Some(i as u32),
                    evidence,
                    false,
                );
                self.attribute_source(i, p.bits, secs(p.at));
            }
        }
    }

    /// A success from an address in a network nobody ever logged in from, for an account
    /// that had such a success during a spray within `spray_comeback_secs`: the attacker came
    /// back to read the mail. Both are the attacker's (the first is a compromise even if it
    /// was no longer held); returns true, and nothing is learned from the second. When the
    /// spray has not reached the account yet (its one try was the success), the comeback
    /// waits until it does ([`Engine::settle_comebacks`]) and false is returned.
    pub(crate) fn came_back(&mut self, akey: AccountKey, bits: SourceKey, account: &str) -> bool {
        let Some(first) = self.single_use.cold_of(akey).cloned() else {
            return false;
        };
        let first_at = secs(first.at);
        let (subnet, site) = bits.nets();
        let (first_subnet, first_site) = first.bits.nets();
        if first_subnet == subnet
            || (site.is_some() && site == first_site)
            || self.now_s.saturating_sub(first_at) > self.cfg.spray_comeback_secs
        {
            return false;
        }
        let Some(i) = spray_covering(self, first_at) else {
            return false;
        };
        if !untried_since(self, akey, first_at) {
            return false;
        }
        let campaign = self.accounts.get(&akey).and_then(|a| a.campaign);
        if !targeted(self, i, campaign) {
            self.single_use.defer(Comeback {
                first,
                second: bits,
                at: self.now_s,
            });
            return false;
        }
        self.single_use.take_cold(akey);
        self.name_comeback(i, first, bits, self.now_s, account);
        true
    }

    /// Comebacks that waited for the spray to cover their account: named once it does
    /// (their first success is still within `spray_comeback_secs` of the spray's span), dropped
    /// once their first success is older than `spray_comeback_secs`.
    pub(crate) fn settle_comebacks(&mut self) {
        for _ in 0..MAX_PER_STEP {
            let Some(c) = self.single_use.deferred.front() else {
                return;
            };
            self.walked += 1;
            let first_at = secs(c.first.at);
            let expired = self.now_s.saturating_sub(first_at) > self.cfg.spray_comeback_secs;
            let akey = c.first.akey;
            let campaign = self.accounts.get(&akey).and_then(|a| a.campaign);
            let tried = !untried_since(self, akey, first_at);
            let due = spray_covering(self, first_at).filter(|&i| targeted(self, i, campaign));
            if due.is_none() && !expired && !tried {
                return;
            }
            let c = self.single_use.deferred.pop_front().expect("front exists");
            let Some(i) = due.filter(|_| !tried) else {
                continue;
            };
            if self.accounts.get(&akey).is_some_and(|a| a.has(COMPROMISED)) {
                continue;
            }
            if self
                .single_use
                .cold_of(akey)
                .is_some_and(|x| x.at == c.first.at && x.bits == c.first.bits)
            {
                self.single_use.take_cold(akey);
            }
            let account = c.first.account.clone();
            self.name_comeback(i, c.first, c.second, c.at, &account);
            // The second success, held or remembered as a user's, is the attacker's too.
            self.resolve_provisional(i, false, c.second);
        }
    }

    /// Names the compromise of a comeback: `first` (during spray `i`) and `second` (at
    /// `second_at`) were both the attacker's; the second address is flagged.
    fn name_comeback(
        &mut self,
        i: usize,
        first: Provisional,
        second: SourceKey,
        second_at: Secs,
        account: &str,
    ) {
        let first_at = secs(first.at);
        // Still held or not (held successes are released after `spray_idle_secs`).
        let _ = self.provisional.take(first.bits, false, |p| {
            p.akey == first.akey && secs(p.at) == first_at
        });
        self.withdraw_familiarity(&first);
        let evidence = format!(
            "success from {} (new to the account, in a network nobody had logged in from) during {}; {} min later a second such address, {}, logged in to it too: the attacker came back to read the mail",
            self.label(first.bits),
            self.campaigns[i].name(),
            second_at.saturating_sub(first_at) / 60,
            self.label(second)
        );
        self.name_compromise(
            &first.account,
            first.at,
            first.akey,
            first.bits,
            Some(i as u32),
            evidence,
            false,
        );
        self.attribute_source(i, first.bits, first_at);
        let name = self.campaigns[i].name();
        self.flag(
            false,
            second,
            second.host_prefix(),
            i,
            format!("came back to read the mail of {account} after its compromise in {name}"),
        );
    }
}

/// No unfamiliar failure on the account since `t` (but the user's own typos, taken back by
/// their success): an attacker that got in does not guess the password it has, while a user
/// who logs in from a new network during a spray keeps being tried by it.
fn untried_since(e: &Engine, akey: AccountKey, t: Secs) -> bool {
    e.accounts.get(&akey).is_none_or(|a| a.last_guess() <= t)
}

/// The account is among spray `i`'s targets: the spray tried it, or tries at least half of the
/// accounts known (a spray of the whole directory reaches every account in time).
fn targeted(e: &Engine, i: usize, campaign: Option<crate::campaign::CampaignRef>) -> bool {
    e.campaigns[i].accounts_targeted * 2 >= e.known_accounts
        || campaign == Some(crate::campaign::CampaignRef::new(i))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(i: u32) -> SourceKey {
        SourceKey::of_ip(std::net::IpAddr::from([198, 51, (i >> 8) as u8, i as u8]))
    }

    #[test]
    fn first_failures_wait_out_the_grace_period_in_order_and_are_bounded() {
        let mut s = SingleUse::default();
        s.first_failure(100, key(1));
        s.first_failure(200, key(2));
        assert!(s.next_due(999, 900).is_none());
        assert_eq!(s.next_due(1000, 900), Some((100, key(1))));
        assert!(s.next_due(1000, 900).is_none());
        assert_eq!(s.next_due(1100, 900), Some((200, key(2))));
        for i in 0..MAX_PENDING + 3 {
            s.first_failure(5000, key(i as u32));
        }
        assert_eq!(s.waiting().0, MAX_PENDING);
        assert_eq!(s.dropped, 3);
    }

    #[test]
    fn the_round_is_measured_from_gaps_inside_the_spray() {
        let mut s = SingleUse::default();
        // Before the spray, and repeats within a minute, teach nothing.
        s.spray_failure(10_000, 100, 5_000);
        s.spray_failure(10_030, 10_000, 5_000);
        assert_eq!(s.gap_samples, 0);
        for i in 0..MIN_GAP_SAMPLES - 1 {
            let t = 20_000 + i * 10;
            s.spray_failure(t, t - 1800, 5_000);
        }
        assert_eq!(s.round(), None, "too few gaps yet");
        s.spray_failure(30_000, 30_000 - 7200, 5_000);
        // 19 of 20 gaps were 30 min: the round is the upper edge of their bucket.
        assert_eq!(s.round(), Some(2100));
        // One more long gap: 95 % of them now reach the long ones.
        s.spray_failure(30_010, 30_010 - 7200, 5_000);
        assert_eq!(s.round(), Some(7500));
    }

    #[test]
    fn held_successes_are_checked_once_and_remembered_until_they_age_out() {
        let mut s = SingleUse::default();
        let a = AccountKey::default();
        let p = Provisional {
            at: portcullis_core::Timestamp::from_unix_secs(100),
            bits: key(1),
            akey: a,
            account: "alice".into(),
            host_fp: 1,
            net_fp: 2,
        };
        s.held(&p, true);
        assert!(s.next_round_check(500, 600).is_none());
        assert!(s.next_round_check(700, 600).is_some());
        assert!(s.next_round_check(9_000, 600).is_none(), "checked once");
        assert!(s.cold_of(a).is_some(), "still there for coming back");
        s.age_out(100 + 10_801, 10_800);
        assert!(s.cold_of(a).is_none());
        assert_eq!(s.waiting().1, 0);
    }
}
