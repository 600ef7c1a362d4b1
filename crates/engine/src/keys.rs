//! Compact keys for the hot path: account names hashed to `u64`, addresses as `u128` (IPv4 as
//! IPv4-mapped IPv6), network keys with the prefix length in the low byte, and `u32` seconds.
//!
//! Hashing uses foldhash with a fixed seed so that the engine is deterministic across runs and
//! machines (and fast: one account-name hash and a few `u128` hashes per event).

use foldhash::fast::FixedState;
use portcullis_core::{Prefix, Timestamp};
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

/// The key of an account name (normalised form).
pub fn account_key(name: &str) -> u64 {
    use std::hash::BuildHasher;
    // A second, independent seed: the account key also feeds the sketches, whose bits must
    // not correlate with the table's bucket choice.
    FixedState::with_seed(0x1319_8a2e_0370_7344).hash_one(name)
}

/// Event time as stored in compact state (clamped to the `u32` range).
pub fn secs(ts: Timestamp) -> Secs {
    ts.unix_secs().clamp(0, i64::from(u32::MAX)) as Secs
}

pub fn ts(s: Secs) -> Timestamp {
    Timestamp::from_unix_secs(i64::from(s))
}

/// An address as 128 bits; IPv4 as `::ffff:a.b.c.d`.
pub fn ip_bits(ip: IpAddr) -> u128 {
    match ip {
        IpAddr::V4(v4) => u128::from(v4.to_ipv6_mapped()),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => u128::from(v4.to_ipv6_mapped()),
            None => u128::from(v6),
        },
    }
}

pub fn is_v4(bits: u128) -> bool {
    bits >> 32 == 0xffff
}

pub fn bits_ip(bits: u128) -> IpAddr {
    let v6 = Ipv6Addr::from(bits);
    match v6.to_ipv4_mapped() {
        Some(v4) if is_v4(bits) => IpAddr::V4(v4),
        _ => IpAddr::V6(v6),
    }
}

/// Which network level a network key denotes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum NetLevel {
    /// IPv4 /24 or IPv6 /64: one customer line / one LAN.
    Subnet,
    /// IPv6 /48: one site. (IPv4 has no second level.)
    Site,
}

/// The key of the network of `bits` at `level`: masked address with the family prefix length
/// in the low byte (always zero after masking). `None` for `Site` on IPv4.
pub fn net_key(bits: u128, level: NetLevel) -> Option<u128> {
    let (len, mapped_len) = match (is_v4(bits), level) {
        (true, NetLevel::Subnet) => (24u8, 120u32),
        (true, NetLevel::Site) => return None,
        (false, NetLevel::Subnet) => (64, 64),
        (false, NetLevel::Site) => (48, 48),
    };
    let mask = u128::MAX << (128 - mapped_len);
    Some((bits & mask) | u128::from(len))
}

/// A host key or network key as a report [`Prefix`].
pub fn host_prefix(bits: u128) -> Prefix {
    Prefix::host(bits_ip(bits))
}

pub fn net_prefix(key: u128) -> Prefix {
    let len = (key & 0xff) as u8;
    Prefix::new(bits_ip(key & !0xff), len)
}

/// A 64-bit mix of a `u128` (for sketches and familiar-source slots).
pub fn mix128(x: u128) -> u64 {
    mix64((x as u64) ^ ((x >> 64) as u64).rotate_left(29))
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

    #[test]
    fn net_keys_round_trip_to_prefixes() {
        let v4 = ip_bits("198.51.100.77".parse().unwrap());
        assert!(is_v4(v4));
        let k = net_key(v4, NetLevel::Subnet).unwrap();
        assert_eq!(net_prefix(k).to_string(), "198.51.100.0/24");
        assert_eq!(net_key(v4, NetLevel::Site), None);
        assert_eq!(host_prefix(v4).to_string(), "198.51.100.77");
        let v6 = ip_bits("2001:db8:1:2:3:4:5:6".parse().unwrap());
        assert!(!is_v4(v6));
        assert_eq!(
            net_prefix(net_key(v6, NetLevel::Subnet).unwrap()).to_string(),
            "2001:db8:1:2::/64"
        );
        assert_eq!(
            net_prefix(net_key(v6, NetLevel::Site).unwrap()).to_string(),
            "2001:db8:1::/48"
        );
        // A host and its /24 never share a key space (separate tables), but two nets do not
        // collide across levels either.
        assert_ne!(
            net_key(v6, NetLevel::Subnet),
            net_key(v6 & !(u128::MAX >> 64), NetLevel::Site)
        );
    }

    #[test]
    fn account_keys_are_stable() {
        assert_eq!(account_key("alice"), account_key("alice"));
        assert_ne!(account_key("alice"), account_key("bob"));
    }
}
