//! `Engine::is_familiar`: the read-only familiarity query the report's timeline uses.

mod common;

use common::*;
use portcullis_core::{Account, Outcome};
use portcullis_engine::{Engine, EngineConfig};
use std::net::IpAddr;

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

#[test]
fn familiar_after_a_success_from_the_host_or_its_network_only() {
    let mut engine = Engine::new(EngineConfig::default());
    let alice = Account::from_raw("alice@example.org");
    let bob = Account::from_raw("bob@example.org");
    assert!(
        !engine.is_familiar(&alice, ip("198.51.100.7")),
        "never seen"
    );

    engine.observe(&ev(
        0,
        "alice@example.org",
        "198.51.100.7",
        Outcome::Success,
        None,
    ));
    engine.observe(&ev(
        10,
        "alice@example.org",
        "2001:db8:1:2::5",
        Outcome::Success,
        None,
    ));
    // A failure makes nothing familiar.
    engine.observe(&ev(
        20,
        "alice@example.org",
        "203.0.113.9",
        Outcome::BadPassword,
        Some(1),
    ));

    assert!(engine.is_familiar(&alice, ip("198.51.100.7")), "the host");
    assert!(engine.is_familiar(&alice, ip("198.51.100.200")), "its /24");
    assert!(
        engine.is_familiar(&alice, ip("::ffff:198.51.100.7")),
        "IPv4-mapped form"
    );
    assert!(
        !engine.is_familiar(&alice, ip("198.51.101.7")),
        "another /24"
    );
    assert!(
        engine.is_familiar(&alice, ip("2001:db8:1:2::ffff")),
        "its /64"
    );
    assert!(
        !engine.is_familiar(&alice, ip("2001:db8:1:3::5")),
        "another /64"
    );
    assert!(
        !engine.is_familiar(&alice, ip("203.0.113.9")),
        "a failing source"
    );
    assert!(!engine.is_familiar(&bob, ip("198.51.100.7")), "per account");
}
