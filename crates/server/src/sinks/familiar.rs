//! Which successful logins the store must learn as familiar sources: each (account, address)
//! pair is written when it is new, or when it was last written over an hour ago, so a user who
//! logs in every minute costs one write an hour, not sixty.
//!
//! The map is keyed by a 64-bit keyed fingerprint of the pair and allocated at its cap up
//! front (4 MB): it never grows inside a request, and clearing it when full frees nothing.

use parking_lot::Mutex;
use portcullis_core::{AuthEvent, Outcome, Timestamp};
use std::collections::HashMap;
use std::hash::BuildHasher;
use std::net::IpAddr;

/// Pairs remembered as "recently written" at most (cleared when full).
const DEDUP_CAP: usize = 200_000;
/// Write a pair again only after this long.
const REWRITE_SECS: i64 = 3600;

/// The written-pairs record (see the module doc).
pub struct FamiliarWrites {
    /// Keyed by a fingerprint of (account, address) from `hasher`: 16 bytes an entry.
    written: Mutex<HashMap<u64, Timestamp>>,
    /// The random key of the pair fingerprints (SipHash-1-3, so no one outside can make two
    /// pairs collide; by chance, two of 200,000 do with probability about 1e-9).
    hasher: std::collections::hash_map::RandomState,
}

impl Default for FamiliarWrites {
    fn default() -> Self {
        Self::new()
    }
}

impl FamiliarWrites {
    pub fn new() -> Self {
        FamiliarWrites {
            written: Mutex::new(HashMap::with_capacity(DEDUP_CAP)),
            hasher: Default::default(),
        }
    }

    /// Notes an observed attempt from `ip`: returns whether the store must write the pair now
    /// (a success, new or stale). Whether the source *is* familiar is the engine's answer
    /// (`Verdict::standing`), not this record's.
    pub fn note(&self, ev: &AuthEvent, ip: IpAddr) -> bool {
        let learn = ev.outcome == Outcome::Success && !ev.account.is_empty();
        let key = self.hasher.hash_one((ev.account.name.as_str(), ip));
        let mut seen = self.written.lock();
        let prev = seen.get(&key).copied();
        let write = learn && prev.is_none_or(|p| ev.ts.secs_since(p) >= REWRITE_SECS);
        if write {
            if seen.len() >= DEDUP_CAP {
                seen.clear();
            }
            seen.insert(key, ev.ts);
        }
        write
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use portcullis_core::{Account, NormalizeOptions, Protocol};

    fn ev(secs: i64, outcome: Outcome) -> AuthEvent {
        AuthEvent::new(
            Timestamp::from_unix_secs(secs),
            Protocol::Imap,
            Account::new("alice@example.org", &NormalizeOptions::default()),
            Some("198.51.100.7".parse().unwrap()),
            outcome,
        )
    }

    #[test]
    fn a_pair_is_written_once_an_hour_and_only_for_successes() {
        let f = FamiliarWrites::new();
        let ip = "198.51.100.7".parse().unwrap();
        assert!(!f.note(&ev(0, Outcome::BadPassword), ip));
        assert!(f.note(&ev(10, Outcome::Success), ip));
        assert!(!f.note(&ev(20, Outcome::Success), ip));
        assert!(f.note(&ev(3610, Outcome::Success), ip));
    }
}
