//! Successes held for a while in case their source turns out to be the attacker's (see
//! `Engine::learn`): a time-ordered queue, bounded in age and length, indexed by address and by
//! network so that "take what is held from this source" — asked every time a source is flagged
//! or enrolled in a campaign — touches only that source's entries, never the whole queue of up
//! to [`MAX_HELD`] (a full scan per flag was a tenth of `serve`'s CPU under a spray).
//!
//! Each entry has a sequence number (its position plus the sequence of the queue's front). A
//! taken entry leaves an empty slot behind, dropped when it reaches the front; every index list
//! holds the sequence numbers of the *live* entries of its key, in order.

use crate::keys::{AccountKey, NetLevel, SourceKey};
use crate::sharded::{ShardedMap, shards_for};
use portcullis_core::Timestamp;
use serde::{Deserialize, Serialize};
use smallvec::SmallVec;
use std::collections::VecDeque;

/// The sequence numbers of one key's live entries, in order (most keys have one or two).
type Seqs = SmallVec<[u64; 2]>;

/// Most slots held, live or taken and not yet at the front (oldest dropped first). A night of
/// a 9,000-account spray holds tens of thousands of benign successes from new addresses (phones
/// on rotating carrier addresses), and an early lucky guess must survive until its address is
/// enrolled, hours later: about 100 bytes each plus the index, so at most ~20 MB.
pub const MAX_HELD: usize = 100_000;

/// A success from an address (and network) new to its account.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Provisional {
    pub at: Timestamp,
    pub bits: SourceKey,
    pub akey: AccountKey,
    pub account: String,
    pub host_fp: u32,
    pub net_fp: u32,
}

/// The networks an address belongs to (its /24 or /64, and its /48 for IPv6).
fn nets(bits: SourceKey) -> impl Iterator<Item = SourceKey> {
    [NetLevel::Subnet, NetLevel::Site]
        .into_iter()
        .filter_map(move |l| bits.net(l))
}

/// Removes `seq` from the (sorted) list of `key`, and the list when it is empty.
fn unindex(map: &mut ShardedMap<SourceKey, Seqs>, key: SourceKey, seq: u64) {
    if let Some(list) = map.get_mut(&key) {
        if let Ok(i) = list.binary_search(&seq) {
            list.remove(i);
        }
        if list.is_empty() {
            map.remove(&key);
        }
    }
}

/// The queue with its indexes (sharded maps: growing them never stalls one request for the
/// whole index).
#[derive(Debug, Serialize, Deserialize)]
pub struct Held {
    /// Slots in time order; `None` where an entry was taken.
    queue: VecDeque<Option<Provisional>>,
    /// Sequence number of `queue[0]`.
    head: u64,
    /// Entries held (slots that are `Some`).
    live: usize,
    hosts: ShardedMap<SourceKey, Seqs>,
    nets: ShardedMap<SourceKey, Seqs>,
}

impl Default for Held {
    fn default() -> Self {
        Held {
            queue: VecDeque::new(),
            head: 0,
            live: 0,
            hosts: ShardedMap::new(shards_for(MAX_HELD)),
            // An IPv6 address is in two networks (its /64 and its /48).
            nets: ShardedMap::new(shards_for(2 * MAX_HELD)),
        }
    }
}

impl Held {
    fn index(&mut self, bits: SourceKey, seq: u64) {
        self.hosts.entry(bits).or_default().push(seq);
        for n in nets(bits) {
            self.nets.entry(n).or_default().push(seq);
        }
    }

    fn unindex(&mut self, bits: SourceKey, seq: u64) {
        unindex(&mut self.hosts, bits, seq);
        for n in nets(bits) {
            unindex(&mut self.nets, n, seq);
        }
    }

    /// Takes the entry of slot `seq` out, leaving the slot empty.
    fn take_slot(&mut self, seq: u64) -> Option<Provisional> {
        let p = self.queue.get_mut((seq - self.head) as usize)?.take()?;
        self.live -= 1;
        self.unindex(p.bits, seq);
        Some(p)
    }

    fn pop_front(&mut self) {
        if let Some(slot) = self.queue.pop_front() {
            if let Some(p) = slot {
                self.live -= 1;
                self.unindex(p.bits, self.head);
            }
            self.head += 1;
        }
    }

    /// Holds `p`, first dropping empty slots and entries older than `secs` before it at the
    /// front, and the oldest beyond [`MAX_HELD`].
    pub fn hold(&mut self, p: Provisional, secs: u32) {
        let horizon = p.at.plus_secs(-i64::from(secs));
        while let Some(front) = self.queue.front() {
            let drop = match front {
                None => true,
                Some(q) => q.at < horizon || self.queue.len() >= MAX_HELD,
            };
            if !drop {
                break;
            }
            self.pop_front();
        }
        let seq = self.head + self.queue.len() as u64;
        self.index(p.bits, seq);
        self.queue.push_back(Some(p));
        self.live += 1;
    }

    /// Takes out the entries from address `key` (or, with `is_net`, from network `key`) that
    /// satisfy `keep_if`, oldest first; the others stay, in order.
    pub fn take(
        &mut self,
        key: SourceKey,
        is_net: bool,
        keep_if: impl Fn(&Provisional) -> bool,
    ) -> Vec<Provisional> {
        let list = if is_net {
            self.nets.get(&key)
        } else {
            self.hosts.get(&key)
        };
        let Some(list) = list else {
            return Vec::new();
        };
        let head = self.head;
        let wanted: Vec<u64> = list
            .iter()
            .copied()
            .filter(|&seq| {
                self.queue[(seq - head) as usize]
                    .as_ref()
                    .is_some_and(&keep_if)
            })
            .collect();
        self.take_slots(wanted)
    }

    /// Takes out every entry that satisfies `pred` (a scan: for settling a spray's round, once
    /// per sprayed password, not per event).
    pub fn take_matching(&mut self, pred: impl Fn(&Provisional) -> bool) -> Vec<Provisional> {
        let head = self.head;
        let wanted: Vec<u64> = self
            .queue
            .iter()
            .enumerate()
            .filter(|(_, slot)| slot.as_ref().is_some_and(&pred))
            .map(|(i, _)| head + i as u64)
            .collect();
        self.take_slots(wanted)
    }

    /// Slots in the queue (what [`Held::take_matching`] scans).
    pub fn slots(&self) -> usize {
        self.queue.len()
    }

    /// Takes the entries of slots `seqs` (in order) out.
    fn take_slots(&mut self, seqs: Vec<u64>) -> Vec<Provisional> {
        seqs.into_iter()
            .filter_map(|seq| self.take_slot(seq))
            .collect()
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.live
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::{AccountKey, SourceKey};

    fn p(at: i64, ip: &str, account: &str) -> Provisional {
        Provisional {
            at: Timestamp::from_unix_secs(at),
            bits: SourceKey::of_ip(ip.parse().unwrap()),
            akey: AccountKey::default(),
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
        let host = SourceKey::of_ip("198.51.100.7".parse().unwrap());
        let got = h.take(host, false, |_| true);
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].account, "a");
        assert!(h.take(host, false, |_| true).is_empty(), "taken once");
        // The /24 still holds b; a predicate can leave it there.
        let net = host.net(NetLevel::Subnet).unwrap();
        assert!(h.take(net, true, |q| q.account == "zz").is_empty());
        assert_eq!(h.take(net, true, |_| true).len(), 1);
        // Taken by a predicate, the counts follow.
        h.hold(p(30, "198.51.100.9", "d"), 3600);
        let got = h.take_matching(|q| q.account == "d");
        assert_eq!(got.len(), 1);
        let d = SourceKey::of_ip("198.51.100.9".parse().unwrap());
        assert!(h.take(d, false, |_| true).is_empty());
        // The IPv6 entry is found by its /48 and its /64.
        let v6 = SourceKey::of_ip("2001:db8:1:2::5".parse().unwrap());
        let site = v6.net(NetLevel::Site).unwrap();
        assert_eq!(h.take(site, true, |_| true).len(), 1);
        assert!(h.len() == 0 && h.hosts.is_empty() && h.nets.is_empty());
    }

    #[test]
    fn a_slot_taken_in_the_middle_leaves_the_others_findable_in_order() {
        let mut h = Held::default();
        h.hold(p(0, "203.0.113.1", "a"), 100);
        h.hold(p(10, "203.0.113.2", "b"), 100);
        h.hold(p(20, "203.0.113.3", "c"), 100);
        let b = SourceKey::of_ip("203.0.113.2".parse().unwrap());
        assert_eq!(h.take(b, false, |_| true)[0].account, "b");
        // `a` ages out at the front, then the empty slot of `b` goes with it.
        h.hold(p(105, "203.0.113.4", "d"), 100);
        h.hold(p(115, "198.51.100.1", "e"), 100);
        assert_eq!((h.len(), h.queue.len()), (3, 3));
        let net = b.net(NetLevel::Subnet).unwrap();
        let got: Vec<String> = h
            .take(net, true, |_| true)
            .into_iter()
            .map(|p| p.account)
            .collect();
        assert_eq!(got, ["c", "d"]);
        let e = SourceKey::of_ip("198.51.100.1".parse().unwrap());
        assert_eq!(h.take(e, false, |_| true).len(), 1);
        assert!(h.len() == 0 && h.hosts.is_empty() && h.nets.is_empty());
    }

    #[test]
    fn old_entries_and_overflow_leave_the_counts_too() {
        let mut h = Held::default();
        h.hold(p(0, "192.0.2.1", "old"), 60);
        h.hold(p(1000, "192.0.2.2", "new"), 60);
        assert_eq!(h.len(), 1);
        assert!(
            h.take(
                SourceKey::of_ip("192.0.2.1".parse().unwrap()),
                false,
                |_| true
            )
            .is_empty()
        );
        for i in 0..MAX_HELD + 5 {
            h.hold(
                p(2000, &format!("10.{}.{}.1", i / 256 % 256, i % 256), "x"),
                60,
            );
        }
        assert_eq!(h.len(), MAX_HELD);
        let total: usize = h.hosts.values().map(|l| l.len()).sum();
        assert_eq!(total, MAX_HELD);
        let nets: usize = h.nets.values().map(|l| l.len()).sum();
        assert_eq!(nets, MAX_HELD);
    }
}
