//! The decisions enforcement points pull: admin blocks and the sources the engine flagged, as
//! CrowdSec-style decisions (`ban`, scope `Ip` or `Range`), and the addresses the engine asked
//! for a second factor (`captcha`, scope `Ip`, with `step_up` on), with what each bouncer has
//! been sent so far, so that `GET /v1/decisions/stream` answers each one its own delta.
//!
//! Fed by the hub: admin blocks and unblocks as they are committed (and the blocks in force at
//! start-up), `SourceFlagged` findings as they arise. A flagged source is banned at the edge
//! for `decisions_flag_ban_secs` (default 4 h, never beyond the engine's flag lifetime): a
//! firewall ban cuts every service, not only logins, so it is shorter than the engine's own
//! memory of the flag. A host flagged inside the trusted networks is never banned here (its
//! own users would be cut off with it): the policy server answers for it. Bounded: at most [`MAX_DECISIONS`] in force (the oldest flags are
//! dropped first; admin blocks are never dropped) and [`MAX_BOUNCERS`] bouncers' states.

use parking_lot::Mutex;
use portcullis_core::report::{Campaign, CampaignKind, FlaggedSource};
use portcullis_core::{Prefix, Timestamp};
use serde_json::{Value, json};
use std::collections::{BTreeSet, HashMap};
use std::net::IpAddr;

/// Decisions in force at most.
pub const MAX_DECISIONS: usize = 500_000;
pub use crate::bouncers::MAX_BOUNCERS;
/// Campaign kinds remembered, to name a flag's scenario.
const MAX_CAMPAIGNS: usize = 10_000;
/// IPv4 ranges this narrow or narrower are sent address by address to a bouncer that asks
/// for it (at most 1,024 decisions for one range).
pub const EXPAND_MIN_V4_LEN: u8 = 22;
/// The expiry given to a permanent admin block (a bouncer needs a duration).
const PERMANENT_SECS: i64 = 365 * 86_400;

/// Why a decision exists: an admin's block, the engine's flag, or its step-up.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Cause {
    Admin,
    Flag,
    StepUp,
}

/// One decision in force.
#[derive(Clone, Debug, PartialEq)]
pub struct Decision {
    pub id: u64,
    pub prefix: Prefix,
    pub until: Timestamp,
    pub scenario: String,
    /// A `captcha` (a step-up), not a `ban`: a bouncer that can show a challenge shows it; a
    /// firewall must not drop the address for it.
    pub captcha: bool,
}

impl Decision {
    /// CrowdSec's remediation type: `ban` or `captcha`.
    pub fn kind(&self) -> &'static str {
        if self.captcha { "captcha" } else { "ban" }
    }

    /// `Ip` for a host, `Range` for a network.
    pub fn scope(&self) -> &'static str {
        if self.prefix.is_host() { "Ip" } else { "Range" }
    }

    fn value(&self) -> String {
        if self.prefix.is_host() {
            self.prefix.addr().to_string()
        } else {
            self.prefix.to_string()
        }
    }

    /// The decision as CrowdSec's Local API writes it, with the time left at `now`.
    pub fn to_json(&self, now: Timestamp) -> Value {
        json!({
            "id": self.id,
            "origin": "portcullis",
            "type": self.kind(),
            "scope": self.scope(),
            "value": self.value(),
            "duration": go_duration(self.until.secs_since(now).max(1)),
            "scenario": self.scenario,
            "simulated": false,
        })
    }
}

/// Seconds in Go's duration syntax (`3h59m58s`), as bouncers parse it.
pub fn go_duration(secs: i64) -> String {
    let (h, m, s) = (secs / 3600, secs % 3600 / 60, secs % 60);
    match (h, m) {
        (0, 0) => format!("{s}s"),
        (0, _) => format!("{m}m{s}s"),
        _ => format!("{h}h{m}m{s}s"),
    }
}

/// A decision on an IPv4 range of /[`EXPAND_MIN_V4_LEN`] or narrower as one decision per
/// address (ids derived from the range's, so they stay the same from pull to pull); any other
/// decision as it is.
fn expand(d: Decision) -> Vec<Decision> {
    let IpAddr::V4(base) = d.prefix.addr() else {
        return vec![d];
    };
    if d.prefix.is_host() || d.prefix.len() < EXPAND_MIN_V4_LEN {
        return vec![d];
    }
    let n = 1u32 << (32 - d.prefix.len());
    let start = u32::from(base);
    (0..n)
        .map(|k| Decision {
            id: (d.id << 12) | u64::from(k),
            prefix: Prefix::host(IpAddr::V4((start + k).into())),
            until: d.until,
            scenario: d.scenario.clone(),
            captcha: d.captcha,
        })
        .collect()
}

/// Which decisions a pull wants (the Local API's query filters).
#[derive(Clone, Debug, Default)]
pub struct Filter {
    /// Lower-cased scopes (`ip`, `range`); empty: all.
    pub scopes: Vec<String>,
    /// Origins; empty: all.
    pub origins: Vec<String>,
    pub scenarios_containing: Vec<String>,
    pub scenarios_not_containing: Vec<String>,
    /// Only `ban` decisions (the nftables sink: a firewall cannot show a captcha).
    pub bans_only: bool,
}

impl Filter {
    fn keeps(&self, d: &Decision) -> bool {
        !(self.bans_only && d.captcha)
            && (self.scopes.is_empty()
                || self
                    .scopes
                    .iter()
                    .any(|s| s.eq_ignore_ascii_case(d.scope())))
            && (self.origins.is_empty() || self.origins.iter().any(|o| o == "portcullis"))
            && (self.scenarios_containing.is_empty()
                || self
                    .scenarios_containing
                    .iter()
                    .any(|w| d.scenario.contains(w.as_str())))
            && !self
                .scenarios_not_containing
                .iter()
                .any(|w| d.scenario.contains(w.as_str()))
    }
}

#[derive(Default)]
struct Inner {
    next_id: u64,
    active: HashMap<(Cause, Prefix), Decision>,
    /// Flags in the order they were made, for dropping the oldest when full.
    flag_order: BTreeSet<(Timestamp, Prefix)>,
    /// Per bouncer: the decisions it was last sent, by id.
    sent: HashMap<String, HashMap<u64, Decision>>,
    kinds: HashMap<String, CampaignKind>,
}

/// The decisions in force and each bouncer's view of them (see the module doc).
pub struct DecisionBook {
    inner: Mutex<Inner>,
    flag_ban_secs: i64,
    /// How long a step-up's address is a `captcha` decision; 0: never.
    step_up_secs: i64,
    /// The engine's trusted networks: a host flagged inside them is not banned at the edge (a
    /// firewall ban would cut its own users too; the policy server answers for it, per the
    /// engine's `trusted_flagged`).
    trusted: Vec<Prefix>,
}

impl DecisionBook {
    /// A book banning flagged sources for `flag_ban_secs`, except those inside `trusted`.
    pub fn new(flag_ban_secs: i64, trusted: Vec<Prefix>) -> Self {
        DecisionBook {
            inner: Mutex::new(Inner {
                next_id: 1,
                ..Default::default()
            }),
            flag_ban_secs: flag_ban_secs.max(1),
            step_up_secs: 0,
            trusted,
        }
    }

    /// The same book, making each step-up's address a `captcha` decision for `secs` (0: none).
    pub fn with_step_up_secs(mut self, secs: i64) -> Self {
        self.step_up_secs = secs.max(0);
        self
    }

    /// An admin block (again: its expiry and reason replace the old one's, under a new id).
    pub fn block(&self, prefix: Prefix, at: Timestamp, until: Option<Timestamp>, reason: &str) {
        let mut i = self.inner.lock();
        let id = i.next_id;
        i.next_id += 1;
        let scenario = format!("portcullis/admin_block: {reason}");
        let until = until.unwrap_or(at.plus_secs(PERMANENT_SECS));
        i.active.insert(
            (Cause::Admin, prefix),
            Decision {
                id,
                prefix,
                until,
                scenario,
                captcha: false,
            },
        );
    }

    /// An admin unblock.
    pub fn unblock(&self, prefix: Prefix) {
        self.inner.lock().active.remove(&(Cause::Admin, prefix));
    }

    /// Remembers a campaign's kind, to name the scenario of its flags.
    pub fn campaign(&self, c: &Campaign) {
        let mut i = self.inner.lock();
        if i.kinds.len() >= MAX_CAMPAIGNS && !i.kinds.contains_key(&c.id) {
            i.kinds.clear();
        }
        i.kinds.insert(c.id.clone(), c.kind);
    }

    /// A source the engine flagged at `at` (not banned at the edge if it is inside the trusted
    /// networks).
    pub fn flag(&self, f: &FlaggedSource, at: Timestamp) {
        if self.trusted.iter().any(|t| t.contains(f.source.addr())) {
            return;
        }
        let mut i = self.inner.lock();
        if i.active.contains_key(&(Cause::Flag, f.source)) {
            return;
        }
        if i.active.len() >= MAX_DECISIONS
            && let Some((_, oldest)) = i.flag_order.pop_first()
        {
            i.active.remove(&(Cause::Flag, oldest));
        }
        let scenario = match &f.campaign {
            Some(c) => match i.kinds.get(c) {
                Some(k) => format!("portcullis/{}:{c}", k.as_str()),
                None => format!("portcullis/flagged:{c}"),
            },
            None => "portcullis/flagged".to_string(),
        };
        let id = i.next_id;
        i.next_id += 1;
        i.flag_order.insert((at, f.source));
        i.active.insert(
            (Cause::Flag, f.source),
            Decision {
                id,
                prefix: f.source,
                until: at.plus_secs(self.flag_ban_secs),
                scenario,
                captcha: false,
            },
        );
    }

    /// The engine answered `step_up` (for reason `code`) to an attempt from `ip` at `at`: a
    /// `captcha` decision on the address for `step_up_secs`, unless one is in force already
    /// (it is not extended: a bouncer would see a new decision at every attempt), the address
    /// is inside the trusted networks, or [`MAX_DECISIONS`] are in force (bans come first).
    pub fn step_up(&self, ip: IpAddr, at: Timestamp, code: &str) {
        if self.step_up_secs == 0 || self.trusted.iter().any(|t| t.contains(ip)) {
            return;
        }
        let prefix = Prefix::host(ip);
        let mut i = self.inner.lock();
        if i.active.len() >= MAX_DECISIONS {
            return;
        }
        if let Some(d) = i.active.get(&(Cause::StepUp, prefix))
            && d.until > at
        {
            return;
        }
        let id = i.next_id;
        i.next_id += 1;
        i.active.insert(
            (Cause::StepUp, prefix),
            Decision {
                id,
                prefix,
                until: at.plus_secs(self.step_up_secs),
                scenario: format!("portcullis/step_up:{code}"),
                captcha: true,
            },
        );
    }

    /// Drops what expired by `now`.
    fn expire(&self, i: &mut Inner, now: Timestamp) {
        let gone: Vec<(Cause, Prefix)> = i
            .active
            .iter()
            .filter(|(_, d)| d.until <= now)
            .map(|(k, _)| *k)
            .collect();
        for k in gone {
            if let Some(d) = i.active.remove(&k)
                && k.0 == Cause::Flag
            {
                i.flag_order
                    .remove(&(d.until.plus_secs(-self.flag_ban_secs), d.prefix));
            }
        }
    }

    /// Decisions in force at `now` that `filter` keeps, ordered by id.
    fn current(&self, i: &mut Inner, now: Timestamp, filter: &Filter) -> Vec<Decision> {
        self.expire(i, now);
        let mut out: Vec<Decision> = i
            .active
            .values()
            .filter(|d| filter.keeps(d))
            .cloned()
            .collect();
        out.sort_by_key(|d| d.id);
        out
    }

    /// The stream answer for `bouncer`: everything in force when `startup` (or on its first
    /// pull), else what is new and what was deleted or expired since its last pull. With
    /// `expand_ranges`, IPv4 ranges of /[`EXPAND_MIN_V4_LEN`] or narrower go out as one `Ip`
    /// decision per address, for bouncers that cannot enforce a range (Debian 12's
    /// crowdsec-firewall-bouncer in nftables mode puts only a range's first address in its
    /// set). None when [`MAX_BOUNCERS`] others already have a state.
    pub fn stream(
        &self,
        bouncer: &str,
        startup: bool,
        expand_ranges: bool,
        now: Timestamp,
        filter: &Filter,
    ) -> Option<(Vec<Value>, Vec<Value>)> {
        let (new, deleted) = self.delta(bouncer, startup, expand_ranges, now, filter)?;
        let json = |v: Vec<Decision>| v.iter().map(|d| d.to_json(now)).collect();
        Some((json(new), json(deleted)))
    }

    /// [`DecisionBook::stream`] as decisions: (new, deleted).
    pub fn delta(
        &self,
        bouncer: &str,
        startup: bool,
        expand_ranges: bool,
        now: Timestamp,
        filter: &Filter,
    ) -> Option<(Vec<Decision>, Vec<Decision>)> {
        let mut i = self.inner.lock();
        let mut current = self.current(&mut i, now, filter);
        if expand_ranges {
            current = current.into_iter().flat_map(expand).collect();
        }
        if !i.sent.contains_key(bouncer) && i.sent.len() >= MAX_BOUNCERS {
            return None;
        }
        let sent = i.sent.entry(bouncer.to_string()).or_default();
        let (new, deleted) = if startup {
            (current.clone(), Vec::new())
        } else {
            let ids: std::collections::HashSet<u64> = current.iter().map(|d| d.id).collect();
            let new = current
                .iter()
                .filter(|d| !sent.contains_key(&d.id))
                .cloned()
                .collect();
            let deleted = sent
                .values()
                .filter(|d| !ids.contains(&d.id))
                .cloned()
                .collect();
            (new, deleted)
        };
        *sent = current.into_iter().map(|d| (d.id, d)).collect();
        Some((new, deleted))
    }

    /// Forgets a bouncer's stream state (its key was deleted).
    pub fn forget(&self, bouncer: &str) {
        self.inner.lock().sent.remove(bouncer);
    }

    /// Decisions in force that concern `ip` (a host decision for it, or a range holding it).
    pub fn for_ip(&self, ip: IpAddr, now: Timestamp, filter: &Filter) -> Vec<Value> {
        let mut i = self.inner.lock();
        self.current(&mut i, now, filter)
            .iter()
            .filter(|d| d.prefix.contains(ip))
            .map(|d| d.to_json(now))
            .collect()
    }

    /// Decisions in force on `range` itself or inside it (`contains`: also those holding it).
    pub fn for_range(
        &self,
        range: Prefix,
        contains: bool,
        now: Timestamp,
        filter: &Filter,
    ) -> Vec<Value> {
        let mut i = self.inner.lock();
        self.current(&mut i, now, filter)
            .iter()
            .filter(|d| {
                range.contains(d.prefix.addr()) && d.prefix.len() >= range.len()
                    || contains && d.prefix.contains(range.addr()) && d.prefix.len() <= range.len()
            })
            .map(|d| d.to_json(now))
            .collect()
    }

    /// How many decisions are in force (expired ones may still be counted until the next pull).
    pub fn len(&self) -> usize {
        self.inner.lock().active.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: i64) -> Timestamp {
        Timestamp::from_unix_secs(1_700_000_000 + s)
    }
    fn p(s: &str) -> Prefix {
        s.parse().unwrap()
    }
    fn flagged(src: &str, campaign: &str) -> FlaggedSource {
        FlaggedSource {
            source: p(src),
            first_flagged: t(0),
            reason: "test".into(),
            campaign: Some(campaign.into()),
        }
    }
    fn values(v: &[Value]) -> Vec<String> {
        v.iter()
            .map(|d| d["value"].as_str().unwrap().to_string())
            .collect()
    }

    #[test]
    fn narrow_ipv4_ranges_go_out_address_by_address_when_asked() {
        let b = DecisionBook::new(3600, Vec::new());
        let all = Filter::default();
        b.flag(&flagged("203.0.113.0/24", "c1"), t(0));
        b.flag(&flagged("2001:db8::/64", "c1"), t(0));
        b.block(p("10.0.0.0/16"), t(0), None, "wide");
        let (new, _) = b.stream("fw", true, true, t(1), &all).unwrap();
        let v = values(&new);
        assert_eq!(v.len(), 256 + 1 + 1, "{v:?}");
        assert!(v.contains(&"203.0.113.0".to_string()) && v.contains(&"203.0.113.255".to_string()));
        assert!(
            v.contains(&"2001:db8::/64".to_string()),
            "IPv6 ranges stay ranges"
        );
        assert!(
            v.contains(&"10.0.0.0/16".to_string()),
            "wide ranges stay ranges"
        );
        // The same ids on the next pull: nothing new, nothing deleted.
        let (new, del) = b.stream("fw", false, true, t(2), &all).unwrap();
        assert!(new.is_empty() && del.is_empty());
        // Unexpanded for a bouncer that does not ask.
        let (new, _) = b.stream("nginx", true, false, t(2), &all).unwrap();
        assert_eq!(new.len(), 3);
    }

    #[test]
    fn durations_are_in_go_syntax() {
        assert_eq!(go_duration(14_399), "3h59m59s");
        assert_eq!(go_duration(61), "1m1s");
        assert_eq!(go_duration(5), "5s");
        assert_eq!(go_duration(90_000), "25h0m0s");
    }

    #[test]
    fn each_bouncer_gets_its_own_delta() {
        let b = DecisionBook::new(3600, Vec::new());
        let all = Filter::default();
        b.block(p("198.51.100.7"), t(0), None, "sprayer");
        let (new, del) = b.stream("fw", true, false, t(1), &all).unwrap();
        assert_eq!(values(&new), ["198.51.100.7"]);
        assert!(del.is_empty());
        assert_eq!(new[0]["scope"], "Ip");
        assert_eq!(new[0]["scenario"], "portcullis/admin_block: sprayer");
        // Nothing changed: nothing new.
        let (new, del) = b.stream("fw", false, false, t(2), &all).unwrap();
        assert!(new.is_empty() && del.is_empty());
        // A flag and an unblock: the one bouncer sees both, the other starts from scratch.
        b.flag(&flagged("203.0.113.0/24", "c3"), t(3));
        b.unblock(p("198.51.100.7"));
        let (new, del) = b.stream("fw", false, false, t(4), &all).unwrap();
        assert_eq!(values(&new), ["203.0.113.0/24"]);
        assert_eq!(new[0]["scope"], "Range");
        assert_eq!(values(&del), ["198.51.100.7"]);
        let (new, _) = b.stream("nginx", false, false, t(4), &all).unwrap();
        assert_eq!(values(&new), ["203.0.113.0/24"]);
        // Expiry is a deletion too.
        let (new, del) = b.stream("fw", false, false, t(3 + 3600), &all).unwrap();
        assert!(new.is_empty());
        assert_eq!(values(&del), ["203.0.113.0/24"]);
    }

    /// An insider host the engine flagged is not banned at the edge: its own users would be
    /// cut off with it (the policy server answers for it instead).
    #[test]
    fn flags_inside_the_trusted_networks_are_not_banned_at_the_edge() {
        let b = DecisionBook::new(14_400, vec![p("10.0.0.0/8")]);
        b.flag(&flagged("10.20.30.40", "c1"), t(0));
        b.flag(&flagged("203.0.113.9", "c1"), t(0));
        let all = Filter::default();
        assert!(
            b.for_ip("10.20.30.40".parse().unwrap(), t(1), &all)
                .is_empty()
        );
        let (new, _) = b.stream("fw", false, false, t(1), &all).unwrap();
        assert_eq!(values(&new), ["203.0.113.9"]);
    }

    #[test]
    fn flags_name_their_campaign_and_filters_apply() {
        let b = DecisionBook::new(14_400, Vec::new());
        b.campaign(&Campaign {
            id: "c3".into(),
            kind: CampaignKind::PasswordSpray,
            first_seen: t(0),
            detected_at: t(0),
            last_seen: t(0),
            sources: Vec::new(),
            accounts_targeted: 0,
            attempts: 0,
            summary: String::new(),
            accounts: Vec::new(),
        });
        b.flag(&flagged("203.0.113.9", "c3"), t(0));
        b.block(p("198.51.100.0/24"), t(0), Some(t(600)), "hoster");
        let all = Filter::default();
        let d = b.for_ip("203.0.113.9".parse().unwrap(), t(1), &all);
        assert_eq!(d[0]["scenario"], "portcullis/password_spray:c3");
        assert_eq!(d[0]["duration"], "3h59m59s");
        assert_eq!(
            values(&b.for_ip("198.51.100.77".parse().unwrap(), t(1), &all)),
            ["198.51.100.0/24"]
        );
        assert!(
            b.for_ip("192.0.2.1".parse().unwrap(), t(1), &all)
                .is_empty()
        );
        assert_eq!(
            values(&b.for_range(p("198.51.100.0/24"), false, t(1), &all)),
            ["198.51.100.0/24"]
        );
        assert_eq!(
            values(&b.for_range(p("198.51.100.0/25"), true, t(1), &all)),
            ["198.51.100.0/24"]
        );
        assert!(
            b.for_range(p("198.51.100.0/25"), false, t(1), &all)
                .is_empty()
        );
        let ranges = Filter {
            scopes: vec!["range".into()],
            ..Default::default()
        };
        let (new, _) = b.stream("fw", true, false, t(1), &ranges).unwrap();
        assert_eq!(values(&new), ["198.51.100.0/24"]);
        let not_admin = Filter {
            scenarios_not_containing: vec!["admin_block".into()],
            ..Default::default()
        };
        let (new, _) = b.stream("fw2", true, false, t(1), &not_admin).unwrap();
        assert_eq!(values(&new), ["203.0.113.9"]);
    }

    /// A step-up is a `captcha` on its address for `step_up_secs`, once while it lasts, never
    /// inside the trusted networks, never with `step_up_secs` 0, and never in the bans the
    /// nftables sink takes.
    #[test]
    fn a_step_up_is_a_captcha_that_a_firewall_never_gets() {
        let ip: IpAddr = "198.51.100.44".parse().unwrap();
        let b = DecisionBook::new(14_400, vec![p("10.0.0.0/8")]).with_step_up_secs(3600);
        b.step_up(ip, t(0), "spray_target");
        b.step_up(ip, t(5), "spray_target");
        b.step_up("10.1.2.3".parse().unwrap(), t(5), "spray_target");
        let all = Filter::default();
        let (new, _) = b.stream("edge", true, false, t(10), &all).unwrap();
        assert_eq!(values(&new), ["198.51.100.44"]);
        assert_eq!(new[0]["type"], "captcha");
        assert_eq!(new[0]["scope"], "Ip");
        assert_eq!(new[0]["scenario"], "portcullis/step_up:spray_target");
        assert_eq!(new[0]["duration"], "59m50s");
        let bans = Filter {
            bans_only: true,
            ..Default::default()
        };
        let (new, _) = b.stream("nft", true, false, t(10), &bans).unwrap();
        assert!(new.is_empty(), "{new:?}");
        // A flag on the same address is a ban beside it, which the firewall gets.
        b.flag(&flagged("198.51.100.44", "c1"), t(20));
        let (new, _) = b.stream("nft", false, false, t(21), &bans).unwrap();
        assert_eq!(values(&new), ["198.51.100.44"]);
        assert_eq!(new[0]["type"], "ban");
        // Expired, the captcha is deleted; a later step-up is a new decision.
        let (_, deleted) = b.stream("edge", false, false, t(3601), &all).unwrap();
        assert_eq!(values(&deleted), ["198.51.100.44"]);
        assert_eq!(deleted[0]["type"], "captcha");
        b.step_up(ip, t(3700), "account_guessing");
        assert_eq!(b.for_ip(ip, t(3701), &all).len(), 2);
        // Off (0 s): nothing.
        let off = DecisionBook::new(14_400, Vec::new());
        off.step_up(ip, t(0), "spray_target");
        assert!(off.is_empty());
    }
}
