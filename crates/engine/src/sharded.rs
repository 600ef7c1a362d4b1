//! A hash map split into shards by an independent hash of the key, so that growing it never
//! rehashes more than one shard at a time.
//!
//! A `HashMap` doubles when it fills, rehashing and moving every entry in one go; in `serve`
//! that happens inside one request while every other connection waits (the engine's source
//! table doubling was measured at 33 ms during a run, the held-success index at 21 ms,
//! page faults for the new table included, on the 2-core test machine).
//! With 64 shards each resize moves 1/64 of the entries, and the resizes of different shards
//! fall at different inserts. Shard choice ([`ShardKey`]) is a fixed function of the key and the
//! maps use fixed seeds, so iteration order — shard by shard — is the same in every run: the
//! engine stays deterministic.

use crate::keys::{AccountKey, FixedMap, SourceKey, fixed_map};
use std::hash::Hash;

/// Keys that pick their shard cheaply: a multiply-shift of the key's bits (the maps hash with
/// their own seeded foldhash, so the shard index and a slot's place in its shard are
/// unrelated). A few instructions instead of a second full hash: the engine looks keys up
/// several times per event.
pub trait ShardKey: Hash + Eq {
    fn shard_bits(&self) -> u64;
}

/// An odd constant with well-spread bits (2^64 / φ).
const MIX: u64 = 0x9e37_79b9_7f4a_7c15;

impl ShardKey for u64 {
    #[inline]
    fn shard_bits(&self) -> u64 {
        self.wrapping_mul(MIX)
    }
}

impl ShardKey for u128 {
    /// Addresses (IPv4-mapped in the low bits, IPv6 /64s in the high ones) and network keys
    /// (zero low bits, the prefix length in the low byte): both halves fold in.
    #[inline]
    fn shard_bits(&self) -> u64 {
        let (hi, lo) = ((*self >> 64) as u64, *self as u64);
        (lo ^ hi.rotate_left(29).wrapping_mul(MIX)).wrapping_mul(MIX)
    }
}

impl ShardKey for SourceKey {
    #[inline]
    fn shard_bits(&self) -> u64 {
        self.bits().shard_bits()
    }
}

impl ShardKey for AccountKey {
    #[inline]
    fn shard_bits(&self) -> u64 {
        self.bits().shard_bits()
    }
}

/// A shard is meant to hold about this many entries at most: maps expected to hold fewer are
/// one shard.
pub const SHARD_SLOTS: usize = 8192;

/// Shards for a map expected to hold up to `entries`: about one per [`SHARD_SLOTS`] entries, a
/// power of two, at most 64.
pub fn shards_for(entries: usize) -> usize {
    (entries / SHARD_SLOTS).next_power_of_two().clamp(1, 64)
}

/// The sharded map (see the module doc).
#[derive(Debug)]
pub struct ShardedMap<K, V> {
    shards: Box<[FixedMap<K, V>]>,
    /// log2 of the shard count (a power of two): the index is the top `bits` of the mix.
    bits: u32,
}

impl<K, V> Default for ShardedMap<K, V> {
    fn default() -> Self {
        Self::new(1)
    }
}

impl<K, V> ShardedMap<K, V> {
    /// A map of `n` shards (rounded up to a power of two).
    pub fn new(n: usize) -> Self {
        let n = n.max(1).next_power_of_two();
        ShardedMap {
            shards: (0..n).map(|_| fixed_map()).collect(),
            bits: n.trailing_zeros(),
        }
    }
    pub fn shard_count(&self) -> usize {
        self.shards.len()
    }
    #[inline]
    pub fn shard(&self, i: usize) -> &FixedMap<K, V> {
        &self.shards[i]
    }
    #[inline]
    pub fn shard_mut(&mut self, i: usize) -> &mut FixedMap<K, V> {
        &mut self.shards[i]
    }
    pub fn shards(&self) -> impl Iterator<Item = &FixedMap<K, V>> {
        self.shards.iter()
    }
    pub fn shards_mut(&mut self) -> impl Iterator<Item = &mut FixedMap<K, V>> {
        self.shards.iter_mut()
    }
    /// Entries in all shards (sums the shards: not for the hot path).
    pub fn len(&self) -> usize {
        self.shards.iter().map(|m| m.len()).sum()
    }
    #[cfg(test)]
    pub fn is_empty(&self) -> bool {
        self.shards.iter().all(|m| m.is_empty())
    }
    /// Slots allocated in all shards.
    pub fn capacity(&self) -> usize {
        self.shards.iter().map(|m| m.capacity()).sum()
    }
    #[cfg(test)]
    pub fn iter(&self) -> impl Iterator<Item = (&K, &V)> {
        self.shards.iter().flat_map(|m| m.iter())
    }
    #[cfg(test)]
    pub fn values(&self) -> impl Iterator<Item = &V> {
        self.shards.iter().flat_map(|m| m.values())
    }
}

/// A snapshot holds the shards in order, each as its entries (`crate::snapshot::fixed`); the
/// shard count is the sequence's length, so a key is found in the same shard again.
impl<K: serde::Serialize + Ord, V: serde::Serialize> serde::Serialize for ShardedMap<K, V> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        struct Shard<'a, K, V>(&'a FixedMap<K, V>);
        impl<K: serde::Serialize + Ord, V: serde::Serialize> serde::Serialize for Shard<'_, K, V> {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                crate::snapshot::fixed::serialize(self.0, s)
            }
        }
        s.collect_seq(self.shards.iter().map(Shard))
    }
}

impl<'de, K, V> serde::Deserialize<'de> for ShardedMap<K, V>
where
    K: serde::Deserialize<'de> + ShardKey,
    V: serde::Deserialize<'de>,
{
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        struct Shard<K, V>(FixedMap<K, V>);
        impl<'de, K, V> serde::Deserialize<'de> for Shard<K, V>
        where
            K: serde::Deserialize<'de> + Hash + Eq,
            V: serde::Deserialize<'de>,
        {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                crate::snapshot::fixed::deserialize(d).map(Shard)
            }
        }
        let shards: Vec<Shard<K, V>> = Vec::deserialize(d)?;
        let n = shards.len();
        if n == 0 || !n.is_power_of_two() || n > 64 {
            return Err(D::Error::invalid_length(
                n,
                &"1 to 64 shards, a power of two",
            ));
        }
        Ok(ShardedMap {
            shards: shards.into_iter().map(|s| s.0).collect(),
            bits: n.trailing_zeros(),
        })
    }
}

impl<K: ShardKey, V> ShardedMap<K, V> {
    /// The shard `k` belongs in.
    #[inline]
    pub fn shard_of(&self, k: &K) -> usize {
        if self.bits == 0 {
            0
        } else {
            (k.shard_bits() >> (64 - self.bits)) as usize
        }
    }
    #[inline]
    pub fn get(&self, k: &K) -> Option<&V> {
        self.shards[self.shard_of(k)].get(k)
    }
    #[inline]
    pub fn get_mut(&mut self, k: &K) -> Option<&mut V> {
        let i = self.shard_of(k);
        self.shards[i].get_mut(k)
    }
    #[inline]
    pub fn entry(&mut self, k: K) -> std::collections::hash_map::Entry<'_, K, V> {
        let i = self.shard_of(&k);
        self.shards[i].entry(k)
    }
    pub fn remove(&mut self, k: &K) -> Option<V> {
        let i = self.shard_of(k);
        self.shards[i].remove(k)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_spread_over_the_shards_and_are_found_again() {
        let mut m: ShardedMap<u128, u64> = ShardedMap::new(64);
        for i in 0..64_000u64 {
            *m.entry(u128::from(i) << 64).or_default() += i;
        }
        assert_eq!(m.len(), 64_000);
        // Keys with zero low bits (network keys look like that) still spread evenly.
        for i in 0..64 {
            let n = m.shard(i).len();
            assert!((700..1300).contains(&n), "shard {i} holds {n}");
        }
        assert!((0..64_000u64).all(|i| m.get(&(u128::from(i) << 64)) == Some(&i)));
        assert_eq!(m.remove(&(5u128 << 64)), Some(5));
        assert_eq!(m.get(&(5u128 << 64)), None);
        assert_eq!(m.len(), 63_999);
        assert_eq!(m.iter().count(), 63_999);
    }

    #[test]
    fn account_and_network_keys_spread_too() {
        let mut m: ShardedMap<u64, ()> = ShardedMap::new(16);
        for i in 0..16_000u64 {
            m.entry(crate::keys::AccountKey::of(&format!("user{i}@example.org")).bits())
                .or_default();
        }
        assert!((0..16).all(|i| (700..1300).contains(&m.shard(i).len())));
        // Network keys: /24s of consecutive IPv4 addresses, the prefix length in the low byte.
        let mut n: ShardedMap<u128, ()> = ShardedMap::new(32);
        for i in 0..32_000u128 {
            n.entry((0xffff_0000_0000u128 | (i << 8)) << 8 | 24)
                .or_default();
        }
        assert!((0..32).all(|i| (700..1300).contains(&n.shard(i).len())));
    }

    #[test]
    fn shard_counts() {
        assert_eq!(shards_for(100), 1);
        assert_eq!(shards_for(100_000), 16);
        assert_eq!(shards_for(450_000), 64);
        assert_eq!(shards_for(10_000_000), 64);
        assert_eq!(ShardedMap::<u8, u8>::new(3).shard_count(), 4);
    }
}
