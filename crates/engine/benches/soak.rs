//! A month in event time under a synthetic flood, with a counting allocator: the engine's heap
//! at the end of every day, and what it tracks, so that a list that grows without bound shows.
//!
//! Every day: 2,000 staff log in from their homes (known accounts); 300,000 failures, each
//! from a new IPv6 address (a new /64; one /48 a day) against 20,000 account names never seen
//! before or after (the account table churns); at 02:00 a distributed spray of 1,000 attempts
//! on the staff, one a second, each from a new IPv4 address in its own /24 (a campaign,
//! single-use attributions); at 04:00 a brute force from a new address on 30 staff accounts,
//! then a success (a campaign and a compromise); at 05:00 ten new addresses guessing one staff
//! account (an account at risk). Run:
//! `cargo bench -p portcullis-engine --bench soak` (`-- DAYS` for another length).

use portcullis_core::{Account, AuthEvent, Outcome, Protocol, Timestamp};
use portcullis_engine::{Engine, EngineConfig};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

#[path = "counting/mod.rs"]
mod counting;

const STAFF: u32 = 2_000;
const FLOOD: u32 = 300_000;
const DAY: i64 = 86_400;

fn main() {
    let days: i64 = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(30);
    let staff: Vec<Account> = (0..STAFF)
        .map(|i| Account::from_raw(&format!("staff{i}@example.org")))
        .collect();
    let home = |i: u32| IpAddr::V4(Ipv4Addr::from(0x5000_0000u32 + i * 256 + 10));
    let base = counting::heap().0;
    let mut engine = Engine::new(EngineConfig::default());
    let t0: i64 = 1_497_830_400;
    let mut n_events = 0u64;
    let mut next_v4 = 0u32;
    let mut fresh_v4 = || {
        // Addresses in 100.x–220.x, each in its own /24.
        next_v4 += 1;
        IpAddr::V4(Ipv4Addr::from(0x6400_0000u32 + next_v4 * 256 + 7))
    };
    let mut feed = |engine: &mut Engine, secs: i64, account: &Account, ip: IpAddr, ok: bool| {
        let ev = AuthEvent::new(
            Timestamp::from_unix_micros((t0 + secs) * 1_000_000),
            Protocol::Imap,
            account.clone(),
            Some(ip),
            if ok {
                Outcome::Success
            } else {
                Outcome::BadPassword
            },
        );
        engine.observe(&ev);
        n_events += 1;
    };
    println!(
        "| day | heap MB (end of day) | peak MB so far | sources | networks | accounts | flagged | campaigns held | dropped campaigns | dropped compromised | dropped at risk |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|");
    for day in 0..days {
        let d = day * DAY;
        let mut events: Vec<(i64, u8, u32)> = Vec::new();
        // (second of the day, kind, n): kinds 0 staff login, 1 flood, 2 spray, 3 brute, 4 guess.
        for i in 0..STAFF {
            events.push((7 * 3600 + i64::from(i) * 10, 0, i));
        }
        for i in 0..FLOOD {
            events.push((i64::from(i) * DAY / i64::from(FLOOD), 1, i));
        }
        for i in 0..1_000u32 {
            events.push((2 * 3600 + i64::from(i), 2, i));
        }
        for i in 0..31u32 {
            events.push((4 * 3600 + i64::from(i) * 5, 3, i));
        }
        for i in 0..10u32 {
            events.push((5 * 3600 + i64::from(i) * 60, 4, i));
        }
        events.sort_by_key(|e| (e.0, e.1, e.2));
        let brute_from = fresh_v4();
        for (s, kind, i) in events {
            match kind {
                0 => feed(&mut engine, d + s, &staff[i as usize], home(i), true),
                1 => {
                    let bits: u128 = (0x2001_0db8u128 << 96)
                        | (u128::from(day as u16) << 80)
                        | (u128::from(i) << 64)
                        | 1;
                    let name = Account::from_raw(&format!("d{day}-u{}@example.org", i % 20_000));
                    feed(
                        &mut engine,
                        d + s,
                        &name,
                        IpAddr::V6(Ipv6Addr::from(bits)),
                        false,
                    );
                }
                2 => {
                    let ip = fresh_v4();
                    feed(&mut engine, d + s, &staff[(i * 2) as usize], ip, false);
                }
                3 => {
                    let target = (day as u32 * 31 + i) % STAFF;
                    feed(
                        &mut engine,
                        d + s,
                        &staff[target as usize],
                        brute_from,
                        i == 30,
                    );
                }
                _ => {
                    let ip = fresh_v4();
                    let target = (day as u32 * 7 + 1) % STAFF;
                    feed(&mut engine, d + s, &staff[target as usize], ip, false);
                }
            }
        }
        drop(engine.take_findings());
        let (now, peak) = counting::heap();
        let s = engine.stats();
        println!(
            "| {} | {:.1} | {:.1} | {} | {} | {} | {} | {} | {} | {} | {} |",
            day + 1,
            (now - base) as f64 / 1e6,
            (peak - base) as f64 / 1e6,
            s.sources,
            s.networks,
            s.accounts,
            s.flagged,
            s.campaigns,
            s.dropped_campaigns,
            s.dropped_compromised,
            s.dropped_at_risk
        );
    }
    let r = engine.report(Default::default());
    println!(
        "{n_events} events over {days} days; report: {} campaigns, {} compromised, {} at risk, {} flagged sources",
        r.campaigns.len(),
        r.compromised_accounts.len(),
        r.accounts_at_risk.len(),
        r.flagged_sources.len()
    );
}
