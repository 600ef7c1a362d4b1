//! Memory stays bounded: a flood of distinct IPv6 addresses and distinct account names never
//! grows the state tables past their caps (the 10-million-address measurement with a counting
//! allocator is `benches/memory.rs`).

mod common;

use portcullis_core::{Account, AuthEvent, Outcome, Protocol, Timestamp};
use portcullis_engine::{Engine, EngineConfig};
use std::net::{IpAddr, Ipv6Addr};

#[test]
fn a_flood_of_distinct_addresses_and_names_stays_within_the_caps() {
    let cfg = EngineConfig {
        max_sources: 2000,
        max_networks: 1000,
        max_accounts: 1500,
        max_flagged: 500,
        ..EngineConfig::default()
    };
    let mut engine = Engine::new(cfg.clone());
    let mut max_heap = 0usize;
    for i in 0..200_000u64 {
        let bits: u128 = (0x2001_0db8u128 << 96) | (u128::from(i as u16) << 80) | u128::from(i);
        let mut ev = AuthEvent::new(
            Timestamp::from_unix_secs(common::T0 + (i / 50) as i64),
            Protocol::Imap,
            Account::from_raw(&format!("nobody{i}")),
            Some(IpAddr::V6(Ipv6Addr::from(bits))),
            if i % 3 == 0 {
                Outcome::BadPassword
            } else {
                Outcome::UnknownAccount
            },
        );
        ev.password_fingerprint = Some(i);
        engine.observe(&ev);
        if i % 1000 == 0 {
            engine.take_findings();
        }
        let s = engine.stats();
        assert!(s.sources <= cfg.max_sources, "{s:?}");
        assert!(s.networks <= cfg.max_networks, "{s:?}");
        assert!(s.accounts <= cfg.max_accounts, "{s:?}");
        assert!(s.flagged <= cfg.max_flagged, "{s:?}");
        max_heap = max_heap.max(s.heap_bytes);
    }
    let s = engine.stats();
    assert!(s.evictions > 100_000, "{s:?}");
    // A hash table holding `cap` entries has next_power_of_two(cap × 8 / 7) slots.
    let slots = |cap: usize| (cap * 8 / 7).next_power_of_two();
    let bound = (slots(cfg.max_sources) + slots(cfg.max_networks)) * s.source_slot_bytes
        + slots(cfg.max_accounts) * s.account_slot_bytes
        + cfg.max_flagged * 400
        // The mistyped-names table (a sixteenth of max_sources, at least 256 addresses): slots
        // of at most 64 bytes, names of at most 16 bytes here.
        + slots((cfg.max_sources / 16).max(256)) * 64
        + (cfg.max_sources / 16).max(256) * 16;
    eprintln!("heap estimate peak {max_heap} B, bound {bound} B");
    assert!(
        max_heap <= bound,
        "heap estimate {max_heap} > bound {bound}"
    );
}
