//! A bounded state table: a hash map with a hard cap on entries and explicit eviction.
//!
//! Entries report when they were last touched ([`Aged::last_seen`]). When an insert finds the
//! table full, it evicts the older half of the ordinary entries (cut-off: the median
//! `last_seen` of a deterministic sample of 1,024), and only if that frees too little, the
//! least recently seen quarter of all entries, precious ones included; then it
//! rebuilds the table at its new size, so each insert pays O(1) amortised and the table never
//! outgrows the slots its cap needs.
//! [`Table::expire`] drops entries idle longer than a time-to-live, judged by event time.

use crate::keys::{FixedMap, Secs, fixed_map};
use std::hash::Hash;

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
    map: FixedMap<K, V>,
    cap: usize,
    evictions: u64,
}

impl<K: Hash + Eq + Copy, V: Aged + Default> Table<K, V> {
    pub fn new(cap: usize) -> Self {
        Table {
            map: fixed_map(),
            cap: cap.max(16),
            evictions: 0,
        }
    }
    pub fn len(&self) -> usize {
        self.map.len()
    }
    /// Entries evicted so far because the table was full.
    pub fn evictions(&self) -> u64 {
        self.evictions
    }
    pub fn get(&self, k: &K) -> Option<&V> {
        self.map.get(k)
    }
    pub fn get_mut(&mut self, k: &K) -> Option<&mut V> {
        self.map.get_mut(k)
    }
    /// The entry for `k`, created with `V::default()` if absent (evicting first if full).
    pub fn entry(&mut self, k: K) -> &mut V {
        if self.map.len() >= self.cap && !self.map.contains_key(&k) {
            self.evict();
        }
        self.map.entry(k).or_default()
    }
    /// Drops entries not seen since `cutoff`.
    pub fn expire(&mut self, cutoff: Secs) {
        self.map.retain(|_, v| v.last_seen() >= cutoff);
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

    fn evict(&mut self) {
        let before = self.map.len();
        // First the ordinary entries: the older half of them (by a deterministic sample).
        let mut sample: Vec<Secs> = self
            .map
            .values()
            .filter(|v| !v.precious())
            .take(1024)
            .map(Aged::last_seen)
            .collect();
        if sample.len() >= 64 {
            sample.sort_unstable();
            let cutoff = sample[sample.len() / 2];
            self.map
                .retain(|_, v| v.precious() || v.last_seen() > cutoff);
        }
        if self.map.len() > before - before / 8 {
            // Not enough: the least recently seen quarter of everything.
            let mut sample: Vec<Secs> = self.map.values().take(1024).map(Aged::last_seen).collect();
            sample.sort_unstable();
            let cutoff = sample[sample.len() / 4];
            self.map.retain(|_, v| v.last_seen() > cutoff);
        }
        if self.map.len() > before - before / 8 {
            // Many entries share the cut-off second: drop some of those too, deterministically.
            let mut excess = before / 4;
            let mut sample: Vec<Secs> = self.map.values().take(1024).map(Aged::last_seen).collect();
            sample.sort_unstable();
            let cutoff = sample[sample.len() / 4];
            self.map.retain(|_, v| {
                if excess > 0 && v.last_seen() <= cutoff {
                    excess -= 1;
                    false
                } else {
                    true
                }
            });
        }
        self.evictions += (before - self.map.len()) as u64;
        // Removals leave tombstones that would make the next insert double the table;
        // shrinking rebuilds it at the size of what is left, so it never outgrows the cap.
        self.map.shrink_to_fit();
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
    fn equal_ages_still_evict() {
        let mut t: Table<u64, E> = Table::new(100);
        for i in 0..10_000u64 {
            t.entry(i).0 = 7;
        }
        assert!(t.len() <= 100);
    }
}
