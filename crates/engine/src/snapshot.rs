//! The engine's whole state as a serde value: [`Engine`] is `Serialize + Deserialize`, so a
//! caller can write it in any serde format (the server uses postcard, in
//! `portcullis-store`'s `snapshot` module) and read it back. Nothing here touches a file: the
//! engine stays free of I/O.
//!
//! What is kept: every table, sketch, baseline, campaign, flag, held success, the admin overlay,
//! the configuration the state was built with, and event time. What is not: the findings not
//! yet taken ([`Engine::take_findings`]; the server takes them after every step, so a snapshot
//! taken between steps loses none).
//!
//! Two details keep a restored engine the same engine. The hash maps are rebuilt with the
//! engine's fixed-seed hasher ([`fixed`], not the hasher's `Default`) and their capacity, so a
//! restored table has the same buckets and almost always the same iteration order (keys whose
//! probes collided may swap places, which can change only which entries a full shard's
//! eviction samples). Fixed-size arrays longer than serde's 32 use [`array`].
//!
//! [`SNAPSHOT_VERSION`] names the layout. Any change to a field of the engine's state (added,
//! removed, retyped) changes the layout: bump it, so that the server discards a snapshot it
//! cannot read and replays its journal instead (`crates/engine/tests/snapshot.rs` fails with
//! that advice when the layout of a reference engine changes).

use crate::Engine;

/// The layout version of a serialised [`Engine`]. Bump it whenever a field of the state
/// changes.
pub const SNAPSHOT_VERSION: u32 = 8;

impl Engine {
    /// The configuration-independent part of a restore check: true when `self` (just
    /// deserialised) was built with the same configuration as `config`. A snapshot built under
    /// another configuration (other caps, thresholds or trusted networks) is not this engine's
    /// state: the caller discards it and replays its journal from the start under the new
    /// configuration.
    pub fn built_with(&self, config: &crate::EngineConfig) -> bool {
        &self.cfg == config
    }
}

/// Serde for the engine's fixed-seed hash maps: (capacity, entries in iteration order), read
/// back into a map with the engine's own hasher and the same capacity.
pub(crate) mod fixed {
    use crate::keys::{FixedMap, hasher};
    use serde::de::{Deserialize, Deserializer, SeqAccess, Visitor};
    use serde::ser::{Serialize, SerializeTuple, Serializer};
    use std::hash::Hash;
    use std::marker::PhantomData;

    struct Entries<'a, K, V>(&'a FixedMap<K, V>);

    impl<K: Serialize + Ord, V: Serialize> Serialize for Entries<'_, K, V> {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            if s.is_human_readable() {
                // The canonical form: entries by key, whatever the map's history.
                let mut v: Vec<(&K, &V)> = self.0.iter().collect();
                v.sort_unstable_by(|a, b| a.0.cmp(b.0));
                s.collect_seq(v)
            } else {
                s.collect_seq(self.0.iter())
            }
        }
    }

    /// In a human-readable format (JSON) the form is canonical: no capacity, entries sorted by
    /// key, so two engines with the same state serialise alike even when their maps' histories
    /// (and so their iteration orders) differ; the server hashes it as the cluster's state
    /// digest. Snapshots (postcard) keep the capacity and the iteration order.
    pub fn serialize<K, V, S>(map: &FixedMap<K, V>, s: S) -> Result<S::Ok, S::Error>
    where
        K: Serialize + Ord,
        V: Serialize,
        S: Serializer,
    {
        let cap = if s.is_human_readable() {
            0
        } else {
            map.capacity() as u64
        };
        let mut t = s.serialize_tuple(2)?;
        t.serialize_element(&cap)?;
        t.serialize_element(&Entries(map))?;
        t.end()
    }

    struct MapVisitor<K, V>(PhantomData<(K, V)>);

    impl<'de, K, V> Visitor<'de> for MapVisitor<K, V>
    where
        K: Deserialize<'de> + Hash + Eq,
        V: Deserialize<'de>,
    {
        type Value = FixedMap<K, V>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a capacity and a sequence of entries")
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            use serde::de::Error;
            let cap: u64 = seq
                .next_element()?
                .ok_or_else(|| A::Error::invalid_length(0, &self))?;
            let entries: Vec<(K, V)> = seq
                .next_element()?
                .ok_or_else(|| A::Error::invalid_length(1, &self))?;
            // A corrupt capacity must not allocate without bound: never more than twice the
            // entries plus a shard's worth.
            let cap = (cap as usize).min(entries.len() * 2 + crate::sharded::SHARD_SLOTS);
            let mut map = FixedMap::with_capacity_and_hasher(cap, hasher());
            map.extend(entries);
            Ok(map)
        }
    }

    pub fn deserialize<'de, K, V, D>(d: D) -> Result<FixedMap<K, V>, D::Error>
    where
        K: Deserialize<'de> + Hash + Eq,
        V: Deserialize<'de>,
        D: Deserializer<'de>,
    {
        d.deserialize_tuple(2, MapVisitor(PhantomData))
    }
}

/// Serde for fixed-size arrays of any length (serde's own impls stop at 32).
pub(crate) mod array {
    use serde::de::{Deserialize, Deserializer, Error};
    use serde::ser::{Serialize, Serializer};

    pub fn serialize<T: Serialize, S: Serializer, const N: usize>(
        a: &[T; N],
        s: S,
    ) -> Result<S::Ok, S::Error> {
        s.collect_seq(a.iter())
    }

    pub fn deserialize<'de, T, D, const N: usize>(d: D) -> Result<[T; N], D::Error>
    where
        T: Deserialize<'de>,
        D: Deserializer<'de>,
    {
        let v: Vec<T> = Vec::deserialize(d)?;
        let n = v.len();
        v.try_into()
            .map_err(|_| D::Error::invalid_length(n, &"an array of the engine's fixed length"))
    }
}
