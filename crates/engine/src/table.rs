//! A bounded state table: a hash map with a hard cap on entries and explicit eviction, split
//! into shards ([`ShardedMap`]) so that no single insert rehashes or scans the whole table.
//!
//! Entries report when they were last touched ([`Aged::last_seen`]). A table with a cap of
//! [`SHARD_SLOTS`](crate::sharded::SHARD_SLOTS) or more is split into up to 64 shards, each
//! with its share of the cap. When an insert finds its shard full, it evicts the older half of
//! that shard's ordinary entries (cut-off: the median `last_seen` of a deterministic sample of
//! 1,024), and only if that frees too little, the least recently seen quarter of all its
//! entries, precious ones included; then it rebuilds the shard at its new size, so each insert
//! pays O(1) amortised and the table never outgrows the slots its cap needs. [`Table::expire`]
//! drops entries idle longer than a time-to-live, judged by event time.
//!
//! Eviction per shard is 1/64 of a whole-table eviction, as a shard's resize is 1/64 of a
//! whole-table resize (why: `crate::sharded`). Small tables (the tests', a small deployment's)
//! are one shard and behave exactly as an unsharded table.

use crate::keys::Secs;
use crate::sharded::{ShardKey, ShardedMap, shards_for};

/// State that knows when it was last touched, in event seconds.
pub trait Aged {
    fn last_seen(&self) -> Secs;
    /// Entries worth more than their age (an account known to exist, with its familiar
    /// sources; an address where users log in): evicted only after the others.
    fn precious(&self) -> bool {
        false
    }
}

/// A hash map with a hard cap on entries.
#[derive(Debug)]
pub struct Table<K, V> {
    map: ShardedMap<K, V>,
    /// Entries per shard at most.
    shard_cap: usize,
    evictions: u64,
}

impl<K: ShardKey + Copy, V: Aged + Default> Table<K, V> {
    pub fn new(cap: usize) -> Self {
        let cap = cap.max(16);
        let n = shards_for(cap);
        Table {
            map: ShardedMap::new(n),
            shard_cap: cap.div_ceil(n).max(16),
            evictions: 0,
        }
    }
    /// How many shards the table has (1 below
    /// [`SHARD_SLOTS`](crate::sharded::SHARD_SLOTS) entries of cap).
    #[cfg(test)]
    pub fn shard_count(&self) -> usize {
        self.map.shard_count()
    }
    /// Entries in all shards (sums them: for statistics, not the hot path).
    pub fn len(&self) -> usize {
        self.map.len()
    }
    /// Entries evicted so far because the table (one of its shards) was full.
    pub fn evictions(&self) -> u64 {
        self.evictions
    }
    #[inline]
    pub fn get(&self, k: &K) -> Option<&V> {
        self.map.get(k)
    }
    #[inline]
    pub fn get_mut(&mut self, k: &K) -> Option<&mut V> {
        self.map.get_mut(k)
    }
    /// The entry for `k`, created with `V::default()` if absent (evicting first if its shard is
    /// full).
    #[inline]
    pub fn entry(&mut self, k: K) -> &mut V {
        let i = self.map.shard_of(&k);
        if self.map.shard(i).len() >= self.shard_cap && !self.map.shard(i).contains_key(&k) {
            self.evict(i);
        }
        self.map.shard_mut(i).entry(k).or_default()
    }
    /// Drops entries not seen since `cutoff`.
    pub fn expire(&mut self, cutoff: Secs) {
        for m in self.map.shards_mut() {
            m.retain(|_, v| v.last_seen() >= cutoff);
        }
    }
    pub fn iter(&self) -> impl Iterator<Item = (&K, &V)> {
        self.map.iter()
    }
    pub fn iter_mut(&mut self) -> impl Iterator<Item = (&K, &mut V)> {
        self.map.iter_mut()
    }
    /// Approximate heap bytes held (buckets × (key + value + 1 control byte)).
    pub fn heap_bytes(&self) -> usize {
        self.map.capacity() * (std::mem::size_of::<(K, V)>() + 1)
    }

    fn evict(&mut self, shard: usize) {
        let map = self.map.shard_mut(shard);
        let before = map.len();
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
            map.retain(|_, v| v.last_seen() > cutoff);
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
                    false
                } else {
                    true
                }
            });
        }
        self.evictions += (before - map.len()) as u64;
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
}
