//! The engine: its state and its public entry points.
//!
//! One [`Engine::observe`] call: advance event time (`step.rs`), decide the verdict a live
//! server would have given *before* the attempt (`verdict.rs`, as [`Engine::check`] does), then
//! learn from the outcome (`step.rs`) and run the detectors whose inputs changed — one module
//! each: `brute_force.rs`, `single_source.rs` (single-source spray, enumeration, stuffing),
//! `guessing.rs`, `spray.rs` (membership; the population signal is `population.rs`),
//! `sprayed_passwords.rs`, `typos.rs`, `workstations.rs`, `explicit_spray.rs` (outgoing sprays
//! seen as explicit-credential use on the attacking workstation). The admin overlay is `admin.rs`,
//! compromise resolution `compromise.rs`, the campaign tracker `campaign.rs` (state) and
//! `tracker.rs` (opening campaigns, flagging sources), the report projection `report.rs`.
//! Modules that need the engine's state add their own `impl Engine` block; this file imports
//! none of them (no import circle).

use crate::admin::{Admin, prefix_match};
use crate::api::{Action, AdminAction, Attempt, Finding, Standing, Verdict};
use crate::campaign::{Campaigns, Flagged};
use crate::config::EngineConfig;
use crate::explicit_spray::ExplicitUses;
use crate::keys::{AccountKey, Secs, SourceKey, secs};
use crate::population::Population;
use crate::provisional::Held;
use crate::single_use::SingleUse;
use crate::sprayed_passwords::SprayedPasswords;
use crate::state::{AT_RISK, AccountState, COMPROMISED, KNOWN, SourceState, fp32};
use crate::table::Table;
use crate::typos::Typos;
use crate::workstations::Workstations;
use crate::workstations::source_key;
use portcullis_core::report::{AccountAtRisk, CompromisedAccount};
use portcullis_core::{AuthEvent, Outcome, Prefix, Timestamp};
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;

/// Sizes of the engine's state, for monitoring and the memory benchmark.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EngineStats {
    pub sources: usize,
    pub networks: usize,
    pub accounts: usize,
    pub flagged: usize,
    pub campaigns: usize,
    pub evictions: u64,
    /// Approximate heap bytes held by the state tables.
    pub heap_bytes: usize,
    /// Bytes of one table slot (key + state + control byte) for a source or network, and
    /// for an account.
    pub source_slot_bytes: usize,
    pub account_slot_bytes: usize,
    /// The most table entries any single step (one `observe`, `check` or `apply`) visited in
    /// sweeps, evictions and walks: the work one request can be made to pay for. Deterministic
    /// (it counts entries, not time); see ARCHITECTURE.md, "no request pays for the whole
    /// table".
    pub max_entries_visited_in_one_step: u64,
    /// Campaigns, compromised accounts and accounts at risk dropped by their caps
    /// (`max_campaigns`, `max_compromised`, `max_at_risk`; each was a finding when it arose).
    pub dropped_campaigns: u64,
    pub dropped_compromised: u64,
    pub dropped_at_risk: u64,
}

/// The engine. Its whole state is `Serialize + Deserialize` (a snapshot: `snapshot.rs`).
#[derive(Debug, Serialize, Deserialize)]
pub struct Engine {
    pub(crate) cfg: EngineConfig,
    pub(crate) trusted: Vec<(u128, u128)>,
    pub(crate) now: Timestamp,
    pub(crate) now_s: Secs,
    pub(crate) hosts: Table<SourceKey, SourceState>,
    pub(crate) nets: Table<SourceKey, SourceState>,
    pub(crate) accounts: Table<AccountKey, AccountState>,
    pub(crate) known_accounts: u64,
    pub(crate) population: Population,
    /// Passwords (unsalted fingerprints) tried on many accounts.
    pub(crate) passwords: SprayedPasswords,
    /// The last unknown account name each address failed with (users' own typos).
    pub(crate) typos: Typos,
    pub(crate) campaigns: Campaigns,
    /// The live distributed spray (campaign index), and the latest one (for merging).
    pub(crate) spray: Option<usize>,
    pub(crate) last_spray: Option<usize>,
    /// Per kind, the campaign that single-source detections join while it is recent.
    pub(crate) by_kind: [Option<usize>; 5],
    pub(crate) flagged: Flagged,
    /// Compromised and at-risk accounts, oldest first, at most `max_compromised` and
    /// `max_at_risk` (the oldest go first), with how many went.
    pub(crate) compromised: VecDeque<CompromisedAccount>,
    pub(crate) provisional: Held,
    /// Successes new to their account (address and network) outside a live spray, for
    /// `spray_idle_secs`: resolved when their address is flagged.
    pub(crate) recent_new: Held,
    /// Single-use addresses waiting to be attributed, and held successes waiting for the
    /// spray's next round (`single_use.rs`).
    pub(crate) single_use: SingleUse,
    pub(crate) at_risk: VecDeque<AccountAtRisk>,
    pub(crate) dropped_compromised: u64,
    pub(crate) dropped_at_risk: u64,
    pub(crate) admin: Admin,
    /// Not part of a snapshot: taken after every step by the server.
    #[serde(skip)]
    pub(crate) findings: Vec<Finding>,
    pub(crate) verdicts: [u64; Action::NAMES.len()],
    pub(crate) next_maintenance: Secs,
    pub(crate) next_expiry: Secs,
    /// Entries visited by walks in the current step (tables count their own sweeps and
    /// evictions), and the most any step visited.
    pub(crate) walked: u64,
    pub(crate) max_step_visits: u64,
    pub(crate) max_findings: usize,
    pub(crate) dropped_findings: u64,
    /// Workstations named by sourceless Windows events (client keys), at most [`MAX_CLIENTS`].
    pub(crate) clients: Workstations,
    /// Explicit-credential uses per (subject, workstation): outgoing sprays.
    pub(crate) explicit: ExplicitUses,
    /// The first campaign id is `c{id_base + 1}` (see [`Engine::resume_campaign_ids`]).
    pub(crate) id_base: u32,
}

impl Default for Engine {
    fn default() -> Self {
        Engine::new(EngineConfig::default())
    }
}

impl Engine {
    pub fn new(config: EngineConfig) -> Self {
        let trusted = config.trusted_networks.iter().map(prefix_match).collect();
        Engine {
            trusted,
            now: Timestamp::default(),
            now_s: 0,
            hosts: Table::new(config.max_sources),
            nets: Table::new(config.max_networks),
            accounts: Table::new(config.max_accounts),
            known_accounts: 0,
            population: Population::default(),
            passwords: SprayedPasswords::default(),
            typos: Typos::new(config.max_sources / 16),
            campaigns: Campaigns::default(),
            spray: None,
            last_spray: None,
            by_kind: [None; 5],
            flagged: Flagged::new(config.max_flagged),
            compromised: VecDeque::new(),
            provisional: Held::default(),
            recent_new: Held::default(),
            single_use: SingleUse::default(),
            at_risk: VecDeque::new(),
            dropped_compromised: 0,
            dropped_at_risk: 0,
            admin: Admin::default(),
            findings: Vec::new(),
            verdicts: [0; Action::NAMES.len()],
            next_maintenance: 0,
            next_expiry: 0,
            walked: 0,
            max_step_visits: 0,
            max_findings: 1_000_000,
            dropped_findings: 0,
            clients: Workstations::default(),
            explicit: ExplicitUses::default(),
            id_base: 0,
            cfg: config,
        }
    }

    pub fn config(&self) -> &EngineConfig {
        &self.cfg
    }

    /// Continues campaign ids after a restart: the next campaign opened is `c{next}` (then
    /// `c{next + 1}`, …), so ids stay unique across restarts of `serve` when the caller passes
    /// one more than the highest id its store holds. Ids already given out keep their
    /// numbers; `next` below the next id the engine would give anyway is ignored (ids never
    /// go back). Campaigns are not restored: a spray that was live before the restart opens
    /// a new campaign when it is raised again.
    pub fn resume_campaign_ids(&mut self, next: u64) {
        let current = u64::from(self.id_base) + self.campaigns.opened() as u64 + 1;
        if next > current {
            let next = next.min(u64::from(u32::MAX));
            self.id_base = (next - 1 - self.campaigns.opened() as u64) as u32;
        }
    }

    /// The id the next campaign opened will get (`c{n}`).
    pub fn next_campaign_id(&self) -> u64 {
        u64::from(self.id_base) + self.campaigns.opened() as u64 + 1
    }

    /// The latest event time seen.
    pub fn now(&self) -> Timestamp {
        self.now
    }

    /// Read-only: does `account`'s familiar memory hold `ip`, or its /24 (IPv4) or /64 (IPv6)?
    /// Familiar means an earlier genuine success from there (attacker successes and
    /// compromises never make a source familiar). An account the engine does not hold (never
    /// seen, or evicted) has no familiar sources. Fingerprints are 32-bit, so a false "yes"
    /// has odds of about 8 in 2^32 per call.
    pub fn is_familiar(&self, account: &portcullis_core::Account, ip: std::net::IpAddr) -> bool {
        let akey = AccountKey::of(&account.name);
        self.familiar(self.accounts.get(&akey), SourceKey::of_ip(ip))
    }

    /// Read-only: the standing of `ip` with `account` now — trusted network, familiar source —
    /// as the next verdict for an attempt from there would carry it (for callers that judge a
    /// source without an attempt, such as a replay's timeline).
    pub fn standing(&self, account: &portcullis_core::Account, ip: std::net::IpAddr) -> Standing {
        let akey = AccountKey::of(&account.name);
        self.standing_of(self.accounts.get(&akey), Some(SourceKey::of_ip(ip)))
    }

    /// Restores a familiar source remembered from before a restart: `prefix` (its address;
    /// for a network prefix, its first address, which makes the network familiar too) logged
    /// in to `account` at `last_success`. The account's familiar sources, its `KNOWN` flag and
    /// the source's success evidence (gateways, spray membership) are as a success event would
    /// leave them, so later verdicts are the same; but nothing else happens: event time does
    /// not move, no verdict is counted, no detector runs (no compromise check, no held
    /// success, no population or baseline change), no finding arises. A trusted source's
    /// success evidence is its host's only (never its network's), as a success from it leaves.
    pub fn restore_familiar(
        &mut self,
        account: &portcullis_core::Account,
        prefix: Prefix,
        last_success: Timestamp,
    ) {
        if account.name.is_empty() {
            return;
        }
        let akey = AccountKey::of(&account.name);
        let bits = SourceKey::of_ip(prefix.addr());
        let t = secs(last_success);
        let subnet = bits.nets().0;
        let a = self.accounts.entry(akey);
        a.last_seen = a.last_seen.max(t);
        if !a.has(KNOWN) {
            a.flags |= KNOWN;
            self.known_accounts += 1;
        }
        a.remember_success(t, fp32(bits.mix()), fp32(subnet.mix()));
        let trusted = self.is_trusted(bits);
        if !(trusted && bits.ip().is_loopback()) {
            self.source_succeeded(bits, akey, t, trusted);
        }
        self.end_step();
    }

    pub fn stats(&self) -> EngineStats {
        EngineStats {
            sources: self.hosts.len(),
            networks: self.nets.len(),
            accounts: self.accounts.len(),
            flagged: self.flagged.len(),
            campaigns: self.campaigns.held(),
            evictions: self.hosts.evictions() + self.nets.evictions() + self.accounts.evictions(),
            heap_bytes: self.hosts.heap_bytes()
                + self.nets.heap_bytes()
                + self.accounts.heap_bytes()
                + self.flagged.heap_bytes()
                + self.passwords.heap_bytes()
                + self.typos.heap_bytes()
                + self.explicit.heap_bytes()
                + self.admin.protections.capacity() * 40,
            source_slot_bytes: std::mem::size_of::<(SourceKey, SourceState)>() + 1,
            account_slot_bytes: std::mem::size_of::<(AccountKey, AccountState)>() + 1,
            max_entries_visited_in_one_step: self.max_step_visits,
            dropped_campaigns: self.campaigns.dropped(),
            dropped_compromised: self.dropped_compromised,
            dropped_at_risk: self.dropped_at_risk,
        }
    }

    /// A finished attempt: learn from it, and answer what a live server should have done
    /// (decided on what was known before this attempt, as [`Engine::check`] would).
    pub fn observe(&mut self, ev: &AuthEvent) -> Verdict {
        self.tick(ev.ts);
        let akey = AccountKey::of(&ev.account.name);
        let src = source_key(ev);
        let verdict = self.decide(src, akey, ev.protocol);
        self.verdicts[verdict.action.index()] += 1;
        // The refusal a step-up caused (Dovecot's report of its policy refusal) says nothing
        // about the password: counted as a guess, it would make the user's new address part
        // of the attack on her own account, and flag it when she then passes the second factor.
        if !(verdict.action == Action::StepUp && ev.outcome == Outcome::OtherFailure) {
            self.learn(ev, akey, src);
        }
        self.end_step();
        verdict
    }

    /// An attempt before authentication. Not counted: the report that follows is.
    pub fn check(&mut self, attempt: &Attempt<'_>) -> Verdict {
        self.tick(attempt.ts);
        let akey = AccountKey::of(&attempt.account.name);
        let verdict = self.decide(attempt.source.map(SourceKey::of_ip), akey, attempt.protocol);
        self.end_step();
        verdict
    }

    /// The verdict [`Engine::observe`] would give this event at the engine's current event
    /// time, without learning from it and without moving event time (so without the upkeep a
    /// newer event's time would run first): the engine is left exactly as it was. A cluster node answers
    /// its clients with it from its replica, whose state only the cluster's ordered input
    /// stream may change (so every replica applies the same inputs in the same order).
    pub fn peek_event(&self, ev: &AuthEvent) -> Verdict {
        self.decide(
            source_key(ev),
            AccountKey::of(&ev.account.name),
            ev.protocol,
        )
    }

    /// The verdict [`Engine::check`] would give, without moving event time (see
    /// [`Engine::peek_event`]).
    pub fn peek_check(&self, attempt: &Attempt<'_>) -> Verdict {
        self.decide(
            attempt.source.map(SourceKey::of_ip),
            AccountKey::of(&attempt.account.name),
            attempt.protocol,
        )
    }

    /// An admin decision. Expiry (`until`) is judged by event time.
    pub fn apply(&mut self, action: AdminAction) {
        match action {
            AdminAction::Block {
                prefix,
                at,
                until,
                reason,
            } => {
                self.tick(at);
                self.admin.block(prefix, until, reason);
            }
            AdminAction::Unblock { prefix } => self.admin.unblock(prefix),
            AdminAction::Protect {
                account,
                mode,
                at,
                until,
            } => {
                self.tick(at);
                let key = AccountKey::of(&portcullis_core::Account::from_raw(&account).name);
                self.admin.protections.insert(key, (mode, until));
            }
            AdminAction::Unprotect { account } => {
                let key = AccountKey::of(&portcullis_core::Account::from_raw(&account).name);
                self.admin.protections.remove(&key);
            }
            AdminAction::ShieldsUp {
                protocols,
                at,
                until,
            } => {
                self.tick(at);
                self.admin.shields = Some((protocols, until));
            }
            AdminAction::ShieldsDown => self.admin.shields = None,
            AdminAction::ResetAccount { account } => {
                let key = AccountKey::of(&portcullis_core::Account::from_raw(&account).name);
                if let Some(a) = self.accounts.get_mut(&key) {
                    a.guesses.reset();
                    a.recent_passwords = [0; 4];
                    a.flags &= !(AT_RISK | COMPROMISED);
                }
            }
        }
        self.end_step();
    }

    /// How a source key reads in reasons and evidence: the address, or the workstation name.
    pub(crate) fn label(&self, key: SourceKey) -> String {
        self.clients.label(key)
    }

    /// Findings since the last call, oldest first.
    pub fn take_findings(&mut self) -> Vec<Finding> {
        std::mem::take(&mut self.findings)
    }

    pub(crate) fn push(&mut self, f: Finding) {
        if self.findings.len() < self.max_findings {
            self.findings.push(f);
        } else {
            self.dropped_findings += 1;
        }
    }
}
