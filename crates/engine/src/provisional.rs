//! Successes held for a while in case their source turns out to be the attacker's (see
//! `Engine::learn`): a time-ordered queue, bounded in age and length, with a count of held
//! entries per address and per network so that "does anything here come from this source?" —
//! asked every time a source is flagged or enrolled in a campaign — is a hash lookup rather
//! than a scan of up to [`MAX_HELD`] entries.

use crate::keys::{NetLevel, net_key};
use portcullis_core::Timestamp;
use std::collections::{HashMap, VecDeque};

/// Most entries held (oldest dropped first). A night of a 9,000-account spray holds tens of
/// thousands of benign successes from new addresses (phones on rotating carrier addresses),
/// and an early lucky guess must survive until its address is enrolled, hours later: about
/// 100 bytes each plus the counts, so at most ~15 MB.
pub const MAX_HELD: usize = 100_000;

/// A success from an address (and network) new to its account.
#[derive(Clone, Debug)]
pub struct Provisional {
    pub at: Timestamp,
    pub bits: u128,
    pub akey: u64,
    pub account: String,
    pub host_fp: u32,
    pub net_fp: u32,
}

/// The networks an address belongs to (its /24 or /64, and its /48 for IPv6).
fn nets(bits: u128) -> impl Iterator<Item = u128> {
    [NetLevel::Subnet, NetLevel::Site]
        .into_iter()
        .filter_map(move |l| net_key(bits, l))
}

fn bump(map: &mut HashMap<u128, u32>, key: u128, up: bool) {
    if up {
        *map.entry(key).or_default() += 1;
    } else if let Some(n) = map.get_mut(&key) {
        *n -= 1;
        if *n == 0 {
            map.remove(&key);
        }
    }
}

/// The queue with its per-source counts.
#[derive(Debug, Default)]
pub struct Held {
    queue: VecDeque<Provisional>,
    hosts: HashMap<u128, u32>,
    nets: HashMap<u128, u32>,
}

impl Held {
    fn count(&mut self, p: &Provisional, up: bool) {
        bump(&mut self.hosts, p.bits, up);
        for n in nets(p.bits) {
            bump(&mut self.nets, n, up);
        }
    }

    /// Holds `p`, first dropping entries older than `secs` before it and the oldest beyond
    /// [`MAX_HELD`].
    pub fn hold(&mut self, p: Provisional, secs: u32) {
        let horizon = p.at.plus_secs(-i64::from(secs));
        while self
            .queue
            .front()
            .is_some_and(|q| q.at < horizon || self.queue.len() >= MAX_HELD)
        {
            if let Some(old) = self.queue.pop_front() {
                self.count(&old, false);
            }
        }
        self.count(&p, true);
        self.queue.push_back(p);
    }

    /// Takes out the entries from address `key` (or, with `is_net`, from network `key`) that
    /// satisfy `keep_if`; the others stay, in order.
    pub fn take(
        &mut self,
        key: u128,
        is_net: bool,
        keep_if: impl Fn(&Provisional) -> bool,
    ) -> Vec<Provisional> {
        let present = if is_net {
            self.nets.contains_key(&key)
        } else {
            self.hosts.contains_key(&key)
        };
        if !present {
            return Vec::new();
        }
        let hit = |p: &Provisional| {
            (if is_net {
                nets(p.bits).any(|n| n == key)
            } else {
                p.bits == key
            }) && keep_if(p)
        };
        let (found, kept): (Vec<Provisional>, Vec<Provisional>) =
            self.queue.drain(..).partition(|p| hit(p));
        self.queue = kept.into();
        for p in &found {
            self.count(p, false);
        }
        found
    }

    /// Takes out every entry that satisfies `pred` (a scan: for settling a spray's round, once
    /// per sprayed password, not per event).
    pub fn take_matching(&mut self, pred: impl Fn(&Provisional) -> bool) -> Vec<Provisional> {
        if self.queue.is_empty() {
            return Vec::new();
        }
        let (found, kept): (Vec<Provisional>, Vec<Provisional>) =
            self.queue.drain(..).partition(|p| pred(p));
        self.queue = kept.into();
        for p in &found {
            self.count(p, false);
        }
        found
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.queue.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::ip_bits;

    fn p(at: i64, ip: &str, account: &str) -> Provisional {
        Provisional {
            at: Timestamp::from_unix_secs(at),
            bits: ip_bits(ip.parse().unwrap()),
            akey: 0,
            account: account.into(),
            host_fp: 0,
            net_fp: 0,
        }
    }

    #[test]
    fn taking_by_address_or_network_keeps_the_counts_true() {
        let mut h = Held::default();
        h.hold(p(0, "198.51.100.7", "a"), 3600);
        h.hold(p(10, "198.51.100.8", "b"), 3600);
        h.hold(p(20, "2001:db8:1:2::5", "c"), 3600);
        let host = ip_bits("198.51.100.7".parse().unwrap());
        let got = h.take(host, false, |_| true);
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].account, "a");
        assert!(h.take(host, false, |_| true).is_empty(), "taken once");
        // The /24 still holds b; a predicate can leave it there.
        let net = net_key(host, NetLevel::Subnet).unwrap();
        assert!(h.take(net, true, |q| q.account == "zz").is_empty());
        assert_eq!(h.take(net, true, |_| true).len(), 1);
        // Taken by a predicate, the counts follow.
        h.hold(p(30, "198.51.100.9", "d"), 3600);
        let got = h.take_matching(|q| q.account == "d");
        assert_eq!(got.len(), 1);
        let d = ip_bits("198.51.100.9".parse().unwrap());
        assert!(h.take(d, false, |_| true).is_empty());
        // The IPv6 entry is found by its /48 and its /64.
        let v6 = ip_bits("2001:db8:1:2::5".parse().unwrap());
        let site = net_key(v6, NetLevel::Site).unwrap();
        assert_eq!(h.take(site, true, |_| true).len(), 1);
        assert!(h.len() == 0 && h.hosts.is_empty() && h.nets.is_empty());
    }

    #[test]
    fn old_entries_and_overflow_leave_the_counts_too() {
        let mut h = Held::default();
        h.hold(p(0, "192.0.2.1", "old"), 60);
        h.hold(p(1000, "192.0.2.2", "new"), 60);
        assert_eq!(h.len(), 1);
        assert!(
            h.take(ip_bits("192.0.2.1".parse().unwrap()), false, |_| true)
                .is_empty()
        );
        for i in 0..MAX_HELD + 5 {
            h.hold(
                p(2000, &format!("10.{}.{}.1", i / 256 % 256, i % 256), "x"),
                60,
            );
        }
        assert_eq!(h.len(), MAX_HELD);
        let total: u32 = h.hosts.values().sum();
        assert_eq!(total as usize, MAX_HELD);
    }
}
