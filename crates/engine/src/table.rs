//! A bounded state table: a hash map with a hard cap on entries and explicit eviction, split
//! into shards ([`ShardedMap`]) so that no single insert rehashes or scans the whole table.
//!
//! Entries report when they were last touched ([`Aged::last_seen`]). A table with a cap of
//! [`SHARD_SLOTS`](crate::sharded::SHARD_SLOTS) or more is split into up to 64 shards, each
//! with its share of the cap. When an insert finds its shard full, it evicts the older half of
//! that shard's ordinary entries (cut-off: the median `last_seen` of a deterministic sample of
//! 1,024), and only if that frees too little, the least recently seen quarter of all its
//! entries, precious ones included; then it rebuilds the shard at its new size, so each insert
//! pays O(1) amortised and the table never outgrows the slots its cap needs.
//!
//! Expiry is incremental: [`Table::expire`] only records a cut-off per shard (O(shards)); from
//! then on, entries last seen before it are gone for every look-up, iteration and insert (an
//! insert over an expired entry starts afresh), exactly as if they had been removed at once.
//! Their slots are reclaimed one shard at a time by [`Table::sweep_one`] (the engine calls it
//! once per step), or by an insert that finds its shard full. So no single step walks the
//! whole table: at most one shard (≤ 8,192 entries) per sweep or eviction.
//!
//! Eviction per shard is 1/64 of a whole-table eviction, as a shard's resize is 1/64 of a
//! whole-table resize (why: `crate::sharded`). Small tables (the tests', a small deployment's)
//! are one shard and behave exactly as an unsharded table.

use crate::keys::Secs;
use crate::sharded::{ShardKey, ShardedMap, shards_for};
use serde::{Deserialize, Serialize};

/// State that knows when it was last touched, in event seconds.
pub trait Aged {
    fn last_seen(&self) -> Secs;
    /// Entries worth more than their age (an account known to exist, with its familiar
    /// sources; an address where users log in): evicted only after the others.
    fn precious(&self) -> bool {
        false
    }
    /// Sets the last-seen time of an entry just created (see [`Table::entry`]). State that can
    /// be created and left unstamped implements it.
    fn stamp(&mut self, _t: Secs) {}
}

/// A hash map with a hard cap on entries.
#[derive(Debug, Serialize, Deserialize)]
#[serde(bound(
    serialize = "K: Serialize + Ord, V: Serialize",
    deserialize = "K: Deserialize<'de> + ShardKey, V: Deserialize<'de>"
))]
pub struct Table<K, V> {
    map: ShardedMap<K, V>,
    /// Entries per shard at most.
    shard_cap: usize,
    evictions: u64,
    /// Per shard: entries last seen before this are expired (logically gone), and the cut-off
    /// its slots were last physically swept at.
    cutoff: Box<[Secs]>,
    swept: Box<[Secs]>,
    /// The next shard [`Table::sweep_one`] looks at.
    cursor: usize,
    /// Precious entries dropped (expired or evicted) since the last [`Table::take_precious_dropped`].
    precious_dropped: u64,
    /// Entries visited by sweeps and evictions since the last [`Table::take_visited`].
    visited: u64,
}

/// An entry that is gone: last seen before its shard's cut-off.
#[inline]
fn expired<V: Aged>(v: &V, cutoff: Secs) -> bool {
    v.last_seen() < cutoff
}

impl<K: ShardKey + Copy, V: Aged + Default> Table<K, V> {
    pub fn new(cap: usize) -> Self {
        let cap = cap.max(16);
        let n = shards_for(cap);
        let map = ShardedMap::new(n);
        let shards = map.shard_count();
        Table {
            map,
            shard_cap: cap.div_ceil(n).max(16),
            evictions: 0,
            cutoff: vec![0; shards].into_boxed_slice(),
            swept: vec![0; shards].into_boxed_slice(),
            cursor: 0,
            precious_dropped: 0,
            visited: 0,
        }
    }
    /// How many shards the table has (1 below
    /// [`SHARD_SLOTS`](crate::sharded::SHARD_SLOTS) entries of cap).
    #[cfg(test)]
    pub fn shard_count(&self) -> usize {
        self.map.shard_count()
    }
    /// Entries held in all shards, expired ones not yet swept included (sums the shards: for
    /// statistics, not the hot path).
    pub fn len(&self) -> usize {
        self.map.len()
    }
    /// Entries visited by sweeps and evictions since the last call.
    pub fn take_visited(&mut self) -> u64 {
        std::mem::take(&mut self.visited)
    }
    /// Precious entries dropped (expired or evicted) since the last call: the engine keeps
    /// its count of accounts known to exist exact with it.
    pub fn take_precious_dropped(&mut self) -> u64 {
        std::mem::take(&mut self.precious_dropped)
    }
    /// Entries evicted so far because the table (one of its shards) was full.
    pub fn evictions(&self) -> u64 {
        self.evictions
    }
    #[inline]
    pub fn get(&self, k: &K) -> Option<&V> {
        let i = self.map.shard_of(k);
        let cutoff = self.cutoff[i];
        self.map.shard(i).get(k).filter(|v| !expired(*v, cutoff))
    }
    #[inline]
    pub fn get_mut(&mut self, k: &K) -> Option<&mut V> {
        let i = self.map.shard_of(k);
        let cutoff = self.cutoff[i];
        self.map
            .shard_mut(i)
            .get_mut(k)
            .filter(|v| !expired(&**v, cutoff))
    }
    /// The entry for `k`, created with `V::default()` if absent or expired (evicting first if
    /// its shard is full). A new entry is stamped with its shard's cut-off: it outlives the
    /// current expiry and goes at the next unless its caller stamps it later (an entry created
    /// after an eager expiry, stamped or not, lived until the next one too).
    #[inline]
    pub fn entry(&mut self, k: K) -> &mut V {
        let i = self.map.shard_of(&k);
        if self.map.shard(i).len() >= self.shard_cap && !self.map.shard(i).contains_key(&k) {
            self.evict(i);
        }
        let cutoff = self.cutoff[i];
        let mut fresh = false;
        let v = self.map.shard_mut(i).entry(k).or_insert_with(|| {
            fresh = true;
            V::default()
        });
        if !fresh && expired(v, cutoff) {
            self.precious_dropped += u64::from(v.precious());
            *v = V::default();
            fresh = true;
        }
        if fresh && cutoff > 0 {
            v.stamp(cutoff);
        }
        v
    }
    /// Expires entries not seen since `cutoff`: from now on they are gone; their slots are
    /// reclaimed shard by shard by [`Table::sweep_one`]. O(shards).
    pub fn expire_lazily(&mut self, cutoff: Secs) {
        for c in self.cutoff.iter_mut() {
            *c = (*c).max(cutoff);
        }
    }
    /// Expires entries not seen since `cutoff` and reclaims their slots at once (every shard
    /// visited: the engine uses [`Table::expire_lazily`]).
    #[cfg(test)]
    pub fn expire(&mut self, cutoff: Secs) {
        self.expire_lazily(cutoff);
        while self.sweep_one() {}
    }
    /// Sweeps the next shard with expired entries not yet reclaimed, if any: at most one
    /// shard's entries visited. Returns whether there was one.
    pub fn sweep_one(&mut self) -> bool {
        let n = self.cutoff.len();
        for step in 0..n {
            let i = (self.cursor + step) % n;
            if self.swept[i] < self.cutoff[i] {
                self.sweep(i);
                self.cursor = (i + 1) % n;
                return true;
            }
        }
        false
    }
    /// Drops the expired entries of shard `i`.
    fn sweep(&mut self, i: usize) {
        let cutoff = self.cutoff[i];
        self.swept[i] = cutoff;
        let map = self.map.shard_mut(i);
        let before = map.len();
        self.visited += before as u64;
        let mut precious = 0u64;
        map.retain(|_, v| {
            let gone = expired(v, cutoff);
            precious += u64::from(gone && v.precious());
            !gone
        });
        self.precious_dropped += precious;
        if map.len() < before {
            // Removals leave tombstones; rebuild the shard at the size of what is left.
            map.shrink_to_fit();
        }
    }
    /// Live entries (expired ones skipped).
    pub fn iter(&self) -> impl Iterator<Item = (&K, &V)> {
        let cutoff = &self.cutoff;
        self.map
            .shards()
            .enumerate()
            .flat_map(move |(i, m)| m.iter().filter(move |(_, v)| !expired(*v, cutoff[i])))
    }
    pub fn iter_mut(&mut self) -> impl Iterator<Item = (&K, &mut V)> {
        let cutoff = &self.cutoff;
        self.map
            .shards_mut()
            .enumerate()
            .flat_map(move |(i, m)| m.iter_mut().filter(move |(_, v)| !expired(&**v, cutoff[i])))
    }
    /// Approximate heap bytes held (buckets × (key + value + 1 control byte)).
    pub fn heap_bytes(&self) -> usize {
        self.map.capacity() * (std::mem::size_of::<(K, V)>() + 1)
    }

    fn evict(&mut self, shard: usize) {
        // Expired entries go first: if that frees a slot, nothing live is evicted (as if they
        // had been removed when they expired).
        if self.swept[shard] < self.cutoff[shard] {
            self.sweep(shard);
            if self.map.shard(shard).len() < self.shard_cap {
                return;
            }
        }
        let map = self.map.shard_mut(shard);
        let before = map.len();
        self.visited += before as u64;
        let mut precious = 0u64;
        // First the ordinary entries: the older half of them (by a deterministic sample).
        let mut sample: Vec<Secs> = map
            .values()
            .filter(|v| !v.precious())
            .take(1024)
            .map(Aged::last_seen)
            .collect();
        if sample.len() >= 64 {
            sample.sort_unstable();
            let cutoff = sample[sample.len() / 2];
            map.retain(|_, v| v.precious() || v.last_seen() > cutoff);
        }
        if map.len() > before - before / 8 {
            // Not enough: the least recently seen quarter of everything.
            let mut sample: Vec<Secs> = map.values().take(1024).map(Aged::last_seen).collect();
            sample.sort_unstable();
            let cutoff = sample[sample.len() / 4];
            map.retain(|_, v| {
                let keep = v.last_seen() > cutoff;
                precious += u64::from(!keep && v.precious());
                keep
            });
        }
        if map.len() > before - before / 8 {
            // Many entries share the cut-off second: drop some of those too, deterministically.
            let mut excess = before / 4;
            let mut sample: Vec<Secs> = map.values().take(1024).map(Aged::last_seen).collect();
            sample.sort_unstable();
            let cutoff = sample[sample.len() / 4];
            map.retain(|_, v| {
                if excess > 0 && v.last_seen() <= cutoff {
                    excess -= 1;
                    precious += u64::from(v.precious());
                    false
                } else {
                    true
                }
            });
        }
        self.evictions += (before - map.len()) as u64;
        self.precious_dropped += precious;
        // Removals leave tombstones that would make the next insert double the shard;
        // shrinking rebuilds it at the size of what is left, so it never outgrows its cap.
        map.shrink_to_fit();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Default, Debug)]
    struct E(Secs);
    impl Aged for E {
        fn last_seen(&self) -> Secs {
            self.0
        }
    }

    #[test]
    fn the_cap_holds_and_old_entries_go_first() {
        let mut t: Table<u64, E> = Table::new(1000);
        for i in 0..100_000u64 {
            t.entry(i).0 = i as Secs;
            assert!(t.len() <= 1000);
        }
        // The most recent entries survive.
        assert!(t.get(&99_999).is_some());
        assert!(t.get(&10).is_none());
        assert!(t.evictions() >= 99_000);
        t.expire(99_990);
        assert_eq!(t.len(), 10);
    }

    #[derive(Default, Debug)]
    struct P(Secs, bool);
    impl Aged for P {
        fn last_seen(&self) -> Secs {
            self.0
        }
        fn precious(&self) -> bool {
            self.1
        }
    }

    #[test]
    fn precious_entries_outlive_a_flood() {
        let mut t: Table<u64, P> = Table::new(1000);
        for i in 0..100u64 {
            *t.entry(i) = P(i as Secs, true);
        }
        for i in 100..1_000_000u64 {
            *t.entry(i) = P(i as Secs, false);
        }
        assert!(t.len() <= 1000);
        assert!(
            (0..100u64).all(|i| t.get(&i).is_some()),
            "precious entries evicted"
        );
    }

    #[test]
    fn a_sharded_table_keeps_its_cap_count_and_recent_entries() {
        let cap = 100_000;
        let mut t: Table<u64, P> = Table::new(cap);
        assert_eq!(t.shard_count(), 16);
        for i in 0..100u64 {
            *t.entry(i) = P(i as Secs, true);
        }
        for i in 100..1_000_000u64 {
            *t.entry(i) = P(i as Secs, false);
            if i % 997 == 0 {
                assert!(t.len() <= cap, "{} entries at {i}", t.len());
            }
        }
        assert!(t.len() > cap / 2, "evictions took too much: {}", t.len());
        assert!(t.evictions() >= 1_000_000 - cap as u64);
        assert!((0..100u64).all(|i| t.get(&i).is_some()), "precious evicted");
        assert!((999_000..1_000_000u64).all(|i| t.get(&i).is_some()));
        // Every shard got its share: no shard is empty, none past its cap.
        assert!(
            (0..t.shard_count())
                .all(|i| !t.map.shard(i).is_empty() && t.map.shard(i).len() <= t.shard_cap)
        );
        // Expiry judges by age alone: the old precious entries go too.
        t.expire(999_990);
        assert_eq!(t.len(), 10);
        // The same keys land in the same shards in every run (fixed seeds): deterministic.
        let mut u: Table<u64, P> = Table::new(cap);
        for i in 0..1_000_000u64 {
            *u.entry(i) = P(i as Secs, i < 100);
        }
        u.expire(999_990);
        let mut a: Vec<u64> = t.iter().map(|(k, _)| *k).collect();
        let b: Vec<u64> = u.iter().map(|(k, _)| *k).collect();
        assert_eq!(a, b);
        a.sort_unstable();
        assert_eq!(a, (999_990..1_000_000u64).collect::<Vec<_>>());
    }

    #[test]
    fn equal_ages_still_evict() {
        let mut t: Table<u64, E> = Table::new(100);
        for i in 0..10_000u64 {
            t.entry(i).0 = 7;
        }
        assert!(t.len() <= 100);
    }

    /// Incremental expiry behaves as the eager one did: after `expire`, expired entries are
    /// gone for look-ups, iteration and inserts whatever the sweep has reached, and each
    /// sweep visits one shard.
    #[test]
    fn lazy_expiry_matches_an_eager_model() {
        use std::collections::BTreeMap;
        let mut t: Table<u64, P> = Table::new(200_000);
        assert!(t.shard_count() > 8);
        let mut model: BTreeMap<u64, P> = BTreeMap::new();
        let mut x = 0x2545_f491u64;
        let mut rand = move |n: u64| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x % n
        };
        let mut now: Secs = 1;
        let mut max_visit = 0;
        for step in 0..200_000u32 {
            now += (rand(3) == 0) as Secs;
            let k = rand(60_000);
            match rand(10) {
                0..=5 => {
                    let precious = rand(4) == 0;
                    let v = t.entry(k);
                    v.0 = now;
                    v.1 |= precious;
                    let m = model.entry(k).or_default();
                    m.0 = now;
                    m.1 |= precious;
                }
                6..=8 => {
                    assert_eq!(
                        t.get(&k).map(|v| (v.0, v.1)),
                        model.get(&k).map(|v| (v.0, v.1))
                    );
                }
                _ if step % 5_000 == 9 => {
                    let cutoff = now.saturating_sub(20_000);
                    t.expire_lazily(cutoff);
                    model.retain(|_, v| v.0 >= cutoff);
                }
                _ => {}
            }
            t.sweep_one();
            max_visit = max_visit.max(t.take_visited());
            if step % 20_000 == 0 {
                let mut live: Vec<(u64, Secs)> = t.iter().map(|(k, v)| (*k, v.0)).collect();
                live.sort_unstable();
                let want: Vec<(u64, Secs)> = model.iter().map(|(k, v)| (*k, v.0)).collect();
                assert_eq!(live, want, "step {step}");
            }
        }
        // Swept: what is held is what is live; no sweep visited more than one shard.
        while t.sweep_one() {}
        assert_eq!(t.len(), model.len());
        assert!(
            max_visit > 0 && max_visit <= t.shard_cap as u64,
            "{max_visit}"
        );
    }
}
