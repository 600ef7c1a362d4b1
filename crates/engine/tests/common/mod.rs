//! Small deterministic event generators for the engine's scenario tests (no dependency on the
//! `sim` crate): a seeded xorshift generator and helpers that build `AuthEvent`s.
#![allow(dead_code)]

use portcullis_core::{Account, AuthEvent, Outcome, Protocol, Timestamp};
use std::net::IpAddr;

/// 2017-06-19T00:00:00Z, a Monday.
pub const T0: i64 = 1_497_830_400;

/// A tiny seeded PRNG (xorshift64*), so scenarios are reproducible without a rand dependency.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }
    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        ((self.next_u64() >> 11) as f64 / ((1u64 << 53) as f64)) < p
    }
}

pub fn ev(
    secs: i64,
    account: &str,
    source: &str,
    outcome: Outcome,
    fingerprint: Option<u64>,
) -> AuthEvent {
    let ip: IpAddr = source.parse().expect("test address");
    let mut e = AuthEvent::new(
        Timestamp::from_unix_secs(T0 + secs),
        Protocol::Imap,
        Account::from_raw(account),
        Some(ip),
        outcome,
    );
    e.password_fingerprint = fingerprint;
    e
}
