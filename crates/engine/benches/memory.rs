//! Memory bound: feeds 10 million failures, each from a distinct IPv6 address (and a distinct
//! /64; 65,536 /48s), with a counting global allocator, and prints peak and final heap bytes
//! and the tracked-entry counts. Run: `cargo bench -p portcullis-engine --bench memory`
//! (`-- N` for another count).

use portcullis_core::{Account, AuthEvent, Outcome, Protocol, Timestamp};
use portcullis_engine::{Engine, EngineConfig};
use std::net::{IpAddr, Ipv6Addr};

#[path = "counting/mod.rs"]
mod counting;

fn cpu_ns() -> u64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

fn main() {
    let n: u64 = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(10_000_000);
    let accounts: Vec<Account> = (0..10_000)
        .map(|i| Account::from_raw(&format!("user{i}@example.org")))
        .collect();
    let base = counting::heap().0;
    let mut engine = Engine::new(EngineConfig::default());
    let t0 = 1_497_830_400i64 * 1_000_000;
    let started = std::time::Instant::now();
    let cpu0 = cpu_ns();
    let mut ev = AuthEvent::new(
        Timestamp::from_unix_micros(t0),
        Protocol::Imap,
        accounts[0].clone(),
        None,
        Outcome::BadPassword,
    );
    for i in 0..n {
        // 2001:db8:XXXX:YYYY::i — a new address and a new /64 every time, 65,536 /48s.
        let bits: u128 = (0x2001_0db8u128 << 96)
            | (u128::from(i as u16) << 80)
            | (u128::from((i >> 16) as u16) << 64)
            | u128::from(i);
        ev.ts = Timestamp::from_unix_micros(t0 + (i as i64) * 10_000); // 100 events/s
        ev.account.clone_from(&accounts[(i % 10_000) as usize]);
        ev.source = Some(IpAddr::V6(Ipv6Addr::from(bits)));
        ev.password_fingerprint = Some(i & 0xfff);
        engine.observe(&ev);
        if i > 0 && i % 2_000_000 == 0 {
            let s = engine.stats();
            eprintln!(
                "{i:>10} events: heap {:>6.1} MB (peak {:>6.1} MB), sources {}, networks {}, accounts {}, flagged {}",
                (counting::heap().0 - base) as f64 / 1e6,
                (counting::heap().1 - base) as f64 / 1e6,
                s.sources,
                s.networks,
                s.accounts,
                s.flagged
            );
        }
    }
    let elapsed = started.elapsed();
    let cpu = (cpu_ns() - cpu0) as f64 / 1e9;
    let taken = engine.take_findings();
    let findings = taken.len();
    let mut kinds = std::collections::BTreeMap::new();
    for f in &taken {
        let k = serde_json::to_value(f).unwrap()["finding"]
            .as_str()
            .unwrap()
            .to_string();
        *kinds.entry(k).or_insert(0u64) += 1;
    }
    println!("findings by kind: {kinds:?}");
    drop(taken);
    for c in engine.report(Default::default()).campaigns {
        println!(
            "{} {:?}: {} sources; {}",
            c.id,
            c.kind,
            c.sources.len(),
            c.summary
        );
    }
    let s = engine.stats();
    println!(
        "{n} events from {n} distinct IPv6 addresses in {:.1} s wall, {cpu:.1} s CPU ({:.2} M events/s per CPU second)",
        elapsed.as_secs_f64(),
        n as f64 / cpu / 1e6
    );
    println!(
        "final heap {:.1} MB, peak {:.1} MB; estimate by entries {:.1} MB",
        (counting::heap().0 - base) as f64 / 1e6,
        (counting::heap().1 - base) as f64 / 1e6,
        s.heap_bytes as f64 / 1e6
    );
    println!(
        "slot bytes: source/network {}, account {}",
        s.source_slot_bytes, s.account_slot_bytes
    );
    println!(
        "tracked: sources {} (cap {}), networks {} (cap {}), accounts {} (cap {}), flagged {}, evictions {}, findings {findings}",
        s.sources,
        engine.config().max_sources,
        s.networks,
        engine.config().max_networks,
        s.accounts,
        engine.config().max_accounts,
        s.flagged,
        s.evictions
    );
}
