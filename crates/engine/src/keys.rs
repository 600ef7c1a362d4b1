//! Compact keys for the hot path: [`AccountKey`] (account names hashed to `u64`),
//! [`SourceKey`] (addresses as `u128`, IPv4 as IPv4-mapped IPv6; network keys with the prefix
//! length in the low byte; workstations known only by name), and `u32` seconds.
//!
//! Hashing uses foldhash with a fixed seed so that the engine is deterministic across runs and
//! machines (and fast: one account-name hash and a few `u128` hashes per event).

use foldhash::fast::FixedState;
use portcullis_core::{Prefix, Timestamp};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr};

/// Seconds since the Unix epoch, as stored in compact state (valid until 2106).
pub type Secs = u32;

/// Fixed-seed hasher state: deterministic, fast, and good on `u128` keys with zero low bits.
pub const fn hasher() -> FixedState {
    FixedState::with_seed(0x243f_6a88_85a3_08d3)
}

/// A `HashMap` with the engine's fixed-seed hasher.
pub type FixedMap<K, V> = HashMap<K, V, FixedState>;

pub fn fixed_map<K, V>() -> FixedMap<K, V> {
    HashMap::with_hasher(hasher())
}

/// The key of an account: its normalised name hashed to 64 bits (fixed seed).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
pub struct AccountKey(u64);

impl AccountKey {
    /// The key of a normalised account name.
    pub fn of(name: &str) -> Self {
        use std::hash::BuildHasher;
        // A second, independent seed: the account key also feeds the sketches, whose bits
        // must not correlate with the table's bucket choice.
        AccountKey(FixedState::with_seed(0x1319_8a2e_0370_7344).hash_one(name))
    }
    /// The 64 bits (for sketches and fingerprint mixing).
    #[inline]
    pub fn bits(self) -> u64 {
        self.0
    }
}

/// Event time as stored in compact state (clamped to the `u32` range).
pub fn secs(ts: Timestamp) -> Secs {
    ts.unix_secs().clamp(0, i64::from(u32::MAX)) as Secs
}

pub fn ts(s: Secs) -> Timestamp {
    Timestamp::from_unix_secs(i64::from(s))
}

/// Which network level a network key denotes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum NetLevel {
    /// IPv4 /24 or IPv6 /64: one customer line / one LAN.
    Subnet,
    /// IPv6 /48: one site. (IPv4 has no second level.)
    Site,
}

/// Sources known only by their client's name (a Windows workstation, when the event has no
/// usable address) are keyed inside 100::/64, the IPv6 discard-only prefix (RFC 6666), which
/// no real client uses; the low 64 bits hash the upper-cased name.
const WORKSTATION_HIGH: u64 = 0x0100_0000_0000_0000;

/// The key of a source in the source tables: an address as 128 bits (IPv4 as
/// `::ffff:a.b.c.d`), a network (the masked address with the family prefix length in the low
/// byte, always zero after masking), or a workstation known only by name (inside 100::/64).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
pub struct SourceKey(u128);

impl SourceKey {
    /// The key of an address.
    pub fn of_ip(ip: IpAddr) -> Self {
        SourceKey(match ip {
            IpAddr::V4(v4) => u128::from(v4.to_ipv6_mapped()),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => u128::from(v4.to_ipv6_mapped()),
                None => u128::from(v6),
            },
        })
    }

    /// The key of a workstation known by its name (case-insensitive).
    pub fn of_workstation(name: &str) -> Self {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in name.bytes() {
            h = (h ^ u64::from(b.to_ascii_uppercase())).wrapping_mul(0x0100_0000_01b3);
        }
        SourceKey((u128::from(WORKSTATION_HIGH) << 64) | u128::from(mix64(h)))
    }

    /// A key from its 128 bits (tests).
    #[cfg(test)]
    pub fn from_bits(bits: u128) -> Self {
        SourceKey(bits)
    }

    /// The 128 bits.
    #[inline]
    pub fn bits(self) -> u128 {
        self.0
    }

    pub fn is_v4(self) -> bool {
        self.0 >> 32 == 0xffff
    }

    /// A workstation known only by name (no address).
    pub fn is_workstation(self) -> bool {
        (self.0 >> 64) as u64 == WORKSTATION_HIGH
    }

    /// The address of a host key.
    pub fn ip(self) -> IpAddr {
        let v6 = Ipv6Addr::from(self.0);
        match v6.to_ipv4_mapped() {
            Some(v4) if self.is_v4() => IpAddr::V4(v4),
            _ => IpAddr::V6(v6),
        }
    }

    /// The key of the network of this address at `level`. `None` for `Site` on IPv4.
    pub fn net(self, level: NetLevel) -> Option<SourceKey> {
        let (len, mapped_len) = match (self.is_v4(), level) {
            (true, NetLevel::Subnet) => (24u8, 120u32),
            (true, NetLevel::Site) => return None,
            (false, NetLevel::Subnet) => (64, 64),
            (false, NetLevel::Site) => (48, 48),
        };
        let mask = u128::MAX << (128 - mapped_len);
        Some(SourceKey((self.0 & mask) | u128::from(len)))
    }

    /// The networks a source belongs to: its /24 or /64, and its /48 (IPv6). A workstation is
    /// its own network.
    pub fn nets(self) -> (SourceKey, Option<SourceKey>) {
        if self.is_workstation() {
            (self, None)
        } else {
            (
                self.net(NetLevel::Subnet)
                    .expect("every family has a subnet"),
                self.net(NetLevel::Site),
            )
        }
    }

    /// The prefix length of a network key (its low byte: 24, 64 or 48).
    pub fn prefix_len(self) -> u8 {
        (self.0 & 0xff) as u8
    }

    /// A host key as a report [`Prefix`].
    pub fn host_prefix(self) -> Prefix {
        Prefix::host(self.ip())
    }

    /// A network key as a report [`Prefix`].
    pub fn net_prefix(self) -> Prefix {
        Prefix::new(SourceKey(self.0 & !0xff).ip(), self.prefix_len())
    }

    /// A 64-bit mix of the key (for sketches and familiar-source slots).
    #[inline]
    pub fn mix(self) -> u64 {
        mix64((self.0 as u64) ^ ((self.0 >> 64) as u64).rotate_left(29))
    }
}

/// SplitMix64 finaliser.
pub fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(ip: &str) -> SourceKey {
        SourceKey::of_ip(ip.parse().unwrap())
    }

    #[test]
    fn net_keys_round_trip_to_prefixes() {
        let v4 = key("198.51.100.77");
        assert!(v4.is_v4());
        let k = v4.net(NetLevel::Subnet).unwrap();
        assert_eq!(k.net_prefix().to_string(), "198.51.100.0/24");
        assert_eq!(v4.net(NetLevel::Site), None);
        assert_eq!(v4.host_prefix().to_string(), "198.51.100.77");
        let v6 = key("2001:db8:1:2:3:4:5:6");
        assert!(!v6.is_v4());
        assert_eq!(
            v6.net(NetLevel::Subnet).unwrap().net_prefix().to_string(),
            "2001:db8:1:2::/64"
        );
        assert_eq!(
            v6.net(NetLevel::Site).unwrap().net_prefix().to_string(),
            "2001:db8:1::/48"
        );
        // A host and its /24 never share a key space (separate tables), but two nets do not
        // collide across levels either.
        assert_ne!(
            v6.net(NetLevel::Subnet),
            SourceKey(v6.bits() & !(u128::MAX >> 64)).net(NetLevel::Site)
        );
    }

    #[test]
    fn account_keys_are_stable() {
        assert_eq!(AccountKey::of("alice"), AccountKey::of("alice"));
        assert_ne!(AccountKey::of("alice"), AccountKey::of("bob"));
    }

    #[test]
    fn workstations_are_keyed_apart_from_addresses() {
        let w = SourceKey::of_workstation("ws-0042");
        assert!(w.is_workstation() && !w.is_v4());
        assert_eq!(w, SourceKey::of_workstation("WS-0042"));
        assert_eq!(w.nets(), (w, None));
        assert!(!key("2001:db8::1").is_workstation() && !key("192.0.2.1").is_workstation());
    }
}
