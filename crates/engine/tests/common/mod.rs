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

/// Who made an event, for scoring.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Label {
    Benign,
    Attack,
}

/// A labelled event stream.
pub type Stream = Vec<(AuthEvent, Label)>;

pub fn sort(stream: &mut Stream) {
    stream.sort_by_key(|(e, _)| e.ts);
}

/// A password fingerprint as Dovecot would send it: 12 bits of a hash of (account, password)
/// (the harder case: the same password gives different fingerprints on different accounts).
pub fn pwfp(account: &str, password: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in account.bytes().chain([0]).chain(password.bytes()) {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    (h >> 20) & 0xfff
}

pub fn account_name(i: usize) -> String {
    format!("user{i}@example.org")
}

/// A benign organisation: office users behind two NAT gateways on weekdays, phones polling
/// IMAP hourly through two mobile carriers' CGNAT pools (shared by many users), home
/// addresses in the evening, typos, travellers on new addresses, forgotten passwords, and
/// stale-password phones failing every poll for hours after a password change.
pub struct Org {
    pub users: usize,
    pub homes: Vec<String>,
    pub office: bool,
    pub phone: Vec<Option<usize>>,
    pub evening_home: Vec<bool>,
    pub carriers: Vec<Vec<String>>,
    pub office_nat: Vec<String>,
    /// Share of interactive office logins preceded by a typo (home logins: 1.5 times that).
    pub typo_rate: f64,
}

impl Org {
    pub fn new(users: usize, rng: &mut Rng) -> Org {
        let homes = (0..users).map(|_| public_address(rng)).collect();
        let carriers = vec![
            (0..24)
                .map(|i| format!("37.10.{}.{}", 1 + i % 2, 10 + i))
                .collect::<Vec<_>>(),
            (0..12).map(|i| format!("46.20.7.{}", 100 + i)).collect(),
        ];
        let phone = (0..users)
            .map(|_| {
                if rng.chance(0.7) {
                    Some(rng.below(2) as usize)
                } else {
                    None
                }
            })
            .collect();
        let evening_home = (0..users).map(|_| rng.chance(0.4)).collect();
        Org {
            users,
            homes,
            office: true,
            phone,
            evening_home,
            carriers,
            office_nat: vec!["198.51.100.10".into(), "198.51.100.11".into()],
            typo_rate: 0.02,
        }
    }

    /// Benign traffic for `hours` hours from `start` (seconds after T0).
    pub fn traffic(&self, start: i64, hours: i64, rng: &mut Rng) -> Stream {
        let mut out = Stream::new();
        let mut push = |secs: i64, user: usize, src: &str, outcome: Outcome, pw: &str| {
            let name = account_name(user);
            let fp = pwfp(&name, pw);
            out.push((ev(secs, &name, src, outcome, Some(fp)), Label::Benign));
        };
        for h in 0..hours {
            let hour_start = start + h * 3600;
            let hour_of_day = (hour_start / 3600) % 24;
            let weekday = ((hour_start / 86_400) % 7) < 5;
            for u in 0..self.users {
                let pw = "correct horse";
                // Phones poll hourly through a CGNAT pool.
                if let Some(c) = self.phone[u] {
                    let pool = &self.carriers[c];
                    let src = pool[rng.below(pool.len() as u64) as usize].clone();
                    push(
                        hour_start + rng.below(3600) as i64,
                        u,
                        &src,
                        Outcome::Success,
                        pw,
                    );
                }
                // Office hours behind the NAT gateways.
                if self.office && weekday && (8..18).contains(&hour_of_day) && u % 5 < 2 {
                    let src = self.office_nat[u % 2].clone();
                    let t = hour_start + rng.below(3600) as i64;
                    if rng.chance(self.typo_rate) {
                        push(t, u, &src, Outcome::BadPassword, "typo");
                    }
                    push(t + 5, u, &src, Outcome::Success, pw);
                }
                // Evenings at home.
                if self.evening_home[u] && (18..23).contains(&hour_of_day) && rng.chance(0.5) {
                    let t = hour_start + rng.below(3600) as i64;
                    if rng.chance(self.typo_rate * 1.5) {
                        push(t, u, &self.homes[u].clone(), Outcome::BadPassword, "tpyo");
                    }
                    push(t + 7, u, &self.homes[u].clone(), Outcome::Success, pw);
                }
                // Travel: a brand-new address, sometimes with a typo first.
                if rng.chance(0.0005) {
                    let src = format!(
                        "{}.{}.{}.{}",
                        public_octet(rng),
                        rng.below(256),
                        rng.below(256),
                        1 + rng.below(254)
                    );
                    let t = hour_start + rng.below(3600) as i64;
                    if rng.chance(0.2) {
                        push(t, u, &src, Outcome::BadPassword, "hotel typo");
                    }
                    push(t + 9, u, &src, Outcome::Success, pw);
                }
                // Forgotten password: several wrong ones from home, then a reset.
                if rng.chance(0.0002) {
                    let t = hour_start + rng.below(3000) as i64;
                    for k in 0..5 {
                        push(
                            t + k * 30,
                            u,
                            &self.homes[u].clone(),
                            Outcome::BadPassword,
                            &format!("guess{k}"),
                        );
                    }
                }
            }
            // A misconfigured client naming an account that does not exist.
            if rng.chance(0.05) {
                let u = self.users + rng.below(20) as usize;
                push(
                    hour_start + 1800,
                    u,
                    "93.184.216.34",
                    Outcome::UnknownAccount,
                    "x",
                );
            }
        }
        out
    }

    /// Stale-password phones: after a password change at `start`, each listed user's phone
    /// fails every poll (hourly, same old password, through its CGNAT pool) for `hours`.
    pub fn stale_phones(&self, users: &[usize], start: i64, hours: i64, rng: &mut Rng) -> Stream {
        let mut out = Stream::new();
        for &u in users {
            let c = self.phone[u].unwrap_or(0);
            let pool = &self.carriers[c];
            for h in 0..hours {
                let src = &pool[rng.below(pool.len() as u64) as usize];
                let name = account_name(u);
                out.push((
                    ev(
                        start + h * 3600 + (u as i64 % 3600),
                        &name,
                        src,
                        Outcome::BadPassword,
                        Some(pwfp(&name, "old password")),
                    ),
                    Label::Benign,
                ));
            }
        }
        out
    }
}

/// Random public IPv4 addresses, one per /24 mostly (residential proxies).
pub fn proxy_addresses(n: usize, rng: &mut Rng) -> Vec<String> {
    (0..n).map(|_| public_address(rng)).collect()
}

/// A public IPv4 address anywhere (first octet from [`public_octet`]).
pub fn public_address(rng: &mut Rng) -> String {
    format!(
        "{}.{}.{}.{}",
        public_octet(rng),
        rng.below(256),
        rng.below(256),
        1 + rng.below(254)
    )
}

/// A first octet of public unicast IPv4 space (never 0, 10, 127, 169, 172, 192, >= 224).
pub fn public_octet(rng: &mut Rng) -> u64 {
    loop {
        let o = 1 + rng.below(223);
        if ![10, 127, 169, 172, 192, 100].contains(&o) {
            return o;
        }
    }
}
