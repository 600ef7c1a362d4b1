//! Tests of issue 15's attackers that spend addresses differently (`single-use`,
//! `stuffing-single-use`, `insider`, the attacker's return after an account falls) and of the
//! benign look-alikes that run at the same hours, read back from the written log and labels.

use portcullis_core::event::EventRecord;
use portcullis_core::{Prefix, Timestamp};
use portcullis_sim::labels::Labels;
use portcullis_sim::{Format, Scenario, SimConfig, simulate};
use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

const MIN: i64 = 60;
const HOUR: i64 = 60 * MIN;

struct Run {
    labels: Labels,
    /// (time, account, source, success) of every attempt, in log order.
    events: Vec<(Timestamp, String, IpAddr, bool)>,
}

fn run(s: Scenario, accounts: usize, days: u32, seed: u64) -> Run {
    let mut c = SimConfig::new(s);
    c.accounts = accounts;
    c.days = days;
    c.seed = seed;
    c.format = Format::Jsonl;
    let dir = tempfile::tempdir().unwrap();
    let (labels, _) = simulate(&c, dir.path()).unwrap();
    let text = std::fs::read_to_string(dir.path().join("events.jsonl")).unwrap();
    let events = text
        .lines()
        .map(|l| {
            let rec: EventRecord = serde_json::from_str(l).unwrap();
            let source: IpAddr = rec.source.as_deref().unwrap().parse().unwrap();
            (rec.ts, rec.account, source, rec.outcome.is_success())
        })
        .collect();
    Run { labels, events }
}

/// Attack addresses with `role`.
fn with_role(l: &Labels, role: &str) -> BTreeSet<IpAddr> {
    l.attack
        .as_ref()
        .unwrap()
        .sources
        .iter()
        .filter(|s| s.roles.iter().any(|r| r == role))
        .map(|s| s.address)
        .collect()
}

fn attack_attempts(l: &Labels, role: &str) -> BTreeMap<IpAddr, u64> {
    l.attack
        .as_ref()
        .unwrap()
        .sources
        .iter()
        .filter(|s| s.roles.iter().any(|r| r == role))
        .map(|s| (s.address, s.attempts))
        .collect()
}

#[test]
fn single_use_addresses_are_used_once_and_share_no_prefix() {
    let r = run(Scenario::SingleUse, 400, 3, 1);
    let a = r.labels.attack.as_ref().unwrap();
    assert!(a.every_attempt_new_address);
    let spray = attack_attempts(&r.labels, "spray");
    assert!(spray.len() > 2_000, "{} spray addresses", spray.len());
    assert!(spray.values().all(|&n| n == 1), "every address used once");
    // Every attack address (spray and the attacker's return) in a /16 of its own.
    let all: Vec<IpAddr> = a.sources.iter().map(|s| s.address).collect();
    let nets16: BTreeSet<Prefix> = all.iter().map(|ip| Prefix::new(*ip, 16)).collect();
    assert_eq!(nets16.len(), all.len(), "two attack addresses share a /16");
    // Many unrelated first octets, not a few pools.
    let octets: BTreeSet<u8> = all
        .iter()
        .filter_map(|ip| match ip {
            IpAddr::V4(v) => Some(v.octets()[0]),
            IpAddr::V6(_) => None,
        })
        .collect();
    assert!(octets.len() > 150, "{} first octets", octets.len());
    // No benign address inside an attack /24.
    let nets24: BTreeSet<Prefix> = all.iter().map(|ip| Prefix::new(*ip, 24)).collect();
    for b in &r.labels.benign.sources {
        assert!(
            !nets24.contains(&Prefix::new(b.address, 24)),
            "{}",
            b.address
        );
    }
}

#[test]
fn stuffing_single_use_tries_each_pair_once_from_a_new_address() {
    let r = run(Scenario::StuffingSingleUse, 1_000, 3, 2);
    let a = r.labels.attack.as_ref().unwrap();
    assert!(a.every_attempt_new_address);
    let stuffing = attack_attempts(&r.labels, "stuffing");
    assert!(
        stuffing.values().all(|&n| n == 1),
        "every address used once"
    );
    let nets16: BTreeSet<Prefix> = stuffing.keys().map(|ip| Prefix::new(*ip, 16)).collect();
    assert_eq!(nets16.len(), stuffing.len());
    let mut per_account: BTreeMap<&str, u32> = BTreeMap::new();
    for (_, acct, ip, _) in &r.events {
        if stuffing.contains_key(ip) {
            *per_account.entry(acct.as_str()).or_default() += 1;
        }
    }
    let pairs = per_account.len();
    assert!(
        per_account.values().all(|&n| n == 1),
        "an account tried twice"
    );
    assert_eq!(pairs, stuffing.len());
    // Many unknown accounts among them; ~4 % of the pairs valid.
    let unknown = a.targeted_unknown_accounts as usize;
    assert!(unknown * 3 > pairs, "{unknown} unknown of {pairs}");
    let valid = a.compromised.len();
    let share = valid as f64 / pairs as f64;
    assert!((0.03..=0.05).contains(&share), "{valid} valid of {pairs}");
}

#[test]
fn insider_hosts_are_private_and_not_gateways() {
    let r = run(Scenario::Insider, 500, 3, 3);
    let spray = attack_attempts(&r.labels, "spray");
    assert!((2..=4).contains(&spray.len()), "{} hosts", spray.len());
    let gateways = r.labels.gateway_set();
    let benign: BTreeSet<IpAddr> = r.labels.benign.sources.iter().map(|s| s.address).collect();
    for ip in spray.keys() {
        let IpAddr::V4(v) = ip else {
            panic!("{ip} is not IPv4")
        };
        assert!(v.is_private(), "{ip}");
        assert!(!gateways.contains(ip) && !benign.contains(ip), "{ip}");
    }
    // No gateway (nor any benign address) inside the insiders' private networks.
    for g in &gateways {
        assert!(!matches!(g, IpAddr::V4(v) if v.is_private()), "{g}");
    }
    // Every account sprayed every hour: ~6 × (accounts + unknown names) failures.
    let tries: u64 = spray.values().sum();
    assert!(tries >= 6 * 500 - 50, "{tries} attempts");
    assert!(!r.labels.attack.as_ref().unwrap().compromised.is_empty());
}

#[test]
fn the_attacker_drops_fallen_accounts_and_returns_from_new_addresses() {
    for (s, accounts) in [
        (Scenario::Parliament2017, 600),
        (Scenario::SingleUse, 600),
        (Scenario::Insider, 600),
        (Scenario::StuffingSingleUse, 600),
        (Scenario::Ipv6Rotation, 600),
    ] {
        let r = run(s, accounts, 4, 1);
        let a = r.labels.attack.as_ref().unwrap();
        assert!(!a.compromised.is_empty(), "{s}: nothing fell");
        assert!(!a.attacker_logins.is_empty(), "{s}: no return");
        let fell: BTreeMap<&str, Timestamp> = a
            .compromised
            .iter()
            .map(|c| (c.account.as_str(), c.at))
            .collect();
        let main: BTreeSet<IpAddr> = a
            .sources
            .iter()
            .filter(|x| x.roles.iter().any(|r| r != "reader"))
            .map(|x| x.address)
            .collect();
        let readers = with_role(&r.labels, "reader");
        assert_eq!(
            readers.len(),
            a.attacker_logins.len(),
            "{s}: a reader reused"
        );
        for login in &a.attacker_logins {
            let at = fell[login.account.as_str()];
            let after = login.at.secs_since(at);
            assert!(
                (5 * MIN..=6 * HOUR).contains(&after),
                "{s}: {} read {after} s after the fall",
                login.account
            );
            assert!(
                !main.contains(&login.source),
                "{s}: read from a spray address"
            );
        }
        // No main-phase attempt on an account after it fell.
        for (t, acct, ip, _) in &r.events {
            if main.contains(ip)
                && let Some(f) = fell.get(acct.as_str())
            {
                assert!(t <= f, "{s}: {acct} tried again after it fell");
            }
        }
    }
}

#[test]
fn benign_look_alikes_log_in_once_at_the_attacks_hours() {
    for s in Scenario::ALL {
        if s == Scenario::Benign {
            continue;
        }
        let r = run(s, 400, 3, 1);
        let a = r.labels.attack.as_ref().unwrap();
        let (lo, hi) = (a.main_start.unwrap(), a.main_end.unwrap());
        let travel: BTreeSet<IpAddr> = r
            .labels
            .benign
            .sources
            .iter()
            .filter(|b| b.kind == "travel" && b.attempts <= 2)
            .map(|b| b.address)
            .collect();
        let during = r
            .events
            .iter()
            .filter(|(t, _, ip, _)| *t >= lo && *t <= hi && travel.contains(ip))
            .map(|(_, _, ip, _)| *ip)
            .collect::<BTreeSet<_>>()
            .len();
        assert!(
            during >= 5,
            "{s}: {during} one-off travellers during the attack"
        );
    }
}
