//! Mistyped user names: a user's own near miss is not "another account".
//!
//! A user who types `john.garci`, is told the account does not exist, and then logs in as
//! `john.garcia` from an address new to the account has, to the detectors, an address that
//! "failed for another account and then succeeded" — during a spray, evidence 3 of a compromise
//! (docs/detection.md), which would flag the user's own home. This keeps, per address, the last
//! *unknown* account name it failed with and when, so that a near miss of the succeeding
//! account's own name (an optimal-string-alignment distance of at most [`MAX_DISTANCE`], within
//! [`WINDOW_SECS`]) is recognised as the user's typo. Only names of accounts that do not exist
//! are kept (no password, ever). Bounded: at most [`MAX_ADDRESSES`] entries of a name of at most
//! [`MAX_NAME`] bytes; when full, entries older than the window go, then all of them.

use crate::keys::{FixedMap, Secs, SourceKey, fixed_map};
use serde::{Deserialize, Serialize};

/// Addresses remembered at once, at most (a hash table of 32,768 slots); the engine takes a
/// sixteenth of `max_sources` up to this.
pub const MAX_ADDRESSES: usize = 28_000;
/// How long after the unknown-account failure the success may come.
pub const WINDOW_SECS: Secs = 600;
/// Largest edit distance between the mistyped and the real name (a dropped, doubled, swapped
/// or wrong letter, or two of them).
pub const MAX_DISTANCE: usize = 2;
/// Longer names are not remembered (no real user name is this long; it bounds the memory).
pub const MAX_NAME: usize = 128;

/// The last unknown account name failed with, per address.
#[derive(Debug, Serialize, Deserialize)]
pub struct Typos {
    #[serde(with = "crate::snapshot::fixed")]
    map: FixedMap<SourceKey, (Secs, Box<str>)>,
    cap: usize,
}

impl Default for Typos {
    fn default() -> Self {
        Typos::new(MAX_ADDRESSES)
    }
}

impl Typos {
    /// Remembers at most `cap` addresses (at least 256, at most [`MAX_ADDRESSES`]).
    pub fn new(cap: usize) -> Self {
        Typos {
            map: fixed_map(),
            cap: cap.clamp(256, MAX_ADDRESSES),
        }
    }

    /// Address `bits` failed at `now` with the unknown account `name` (normalised).
    pub fn unknown_failure(&mut self, bits: SourceKey, name: &str, now: Secs) {
        if name.is_empty() || name.len() > MAX_NAME {
            return;
        }
        if !self.map.contains_key(&bits) && self.map.len() >= self.cap {
            self.map
                .retain(|_, (t, _)| now.saturating_sub(*t) <= WINDOW_SECS);
            if self.map.len() >= self.cap / 2 {
                // A flood of invented names from new addresses (enumeration): start afresh.
                self.map.clear();
            }
        }
        self.map.insert(bits, (now, name.into()));
    }

    /// Did address `bits` fail, shortly before `now`, with a near miss of `name`?
    pub fn near_miss_of(&self, bits: SourceKey, name: &str, now: Secs) -> bool {
        self.map.get(&bits).is_some_and(|(t, typed)| {
            now.saturating_sub(*t) <= WINDOW_SECS
                && typed.as_ref() != name
                && strsim::osa_distance(typed, name) <= MAX_DISTANCE
        })
    }

    pub fn heap_bytes(&self) -> usize {
        self.map.capacity() * (std::mem::size_of::<(SourceKey, (Secs, Box<str>))>() + 1)
            + self.map.values().map(|(_, n)| n.len()).sum::<usize>()
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.map.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn k(i: u128) -> SourceKey {
        SourceKey::from_bits(i)
    }

    #[test]
    fn a_near_miss_shortly_before_is_a_typo_and_nothing_else_is() {
        let mut t = Typos::default();
        t.unknown_failure(k(1), "john.garci@example.org", 100);
        assert!(t.near_miss_of(k(1), "john.garcia@example.org", 130));
        // Swapped letters count once.
        t.unknown_failure(k(2), "jonh.garcia@example.org", 100);
        assert!(t.near_miss_of(k(2), "john.garcia@example.org", 130));
        // Another address, another name, too late, or the same name: not a typo.
        assert!(!t.near_miss_of(k(3), "john.garcia@example.org", 130));
        assert!(!t.near_miss_of(k(1), "mary.smith@example.org", 130));
        assert!(!t.near_miss_of(k(1), "john.garcia@example.org", 100 + WINDOW_SECS + 1));
        t.unknown_failure(k(4), "john.garcia@example.org", 100);
        assert!(!t.near_miss_of(k(4), "john.garcia@example.org", 130));
        // Three edits is another name.
        t.unknown_failure(k(5), "jon.garc@example.org", 100);
        assert!(!t.near_miss_of(k(5), "john.garcia@example.org", 130));
    }

    #[test]
    fn a_flood_of_invented_names_stays_bounded() {
        let mut t = Typos::default();
        for i in 0..(3 * MAX_ADDRESSES as u128) {
            t.unknown_failure(k(i), &format!("user{i}@example.org"), 5);
            assert!(t.len() <= MAX_ADDRESSES);
        }
        t.unknown_failure(k(7), &"x".repeat(MAX_NAME + 1), 5);
        assert!(!t.near_miss_of(k(7), &"x".repeat(MAX_NAME), 6));
    }
}
