//! The engine: the event step (learn, detect, decide), admin state, and the report.
//!
//! One [`Engine::observe`] call: advance event time (learning the population baseline for each
//! completed minute), decide the verdict a live server would have given *before* the attempt
//! (as [`Engine::check`] does), then learn from the outcome — familiarity on success, failure
//! counts on the source, its networks and the account — and run the detectors whose inputs
//! changed. The detectors themselves are small functions over the per-key state in
//! [`crate::state`], the population signal in [`crate::population`], the passwords tried on
//! many accounts in [`crate::passwords`], and the campaign tracker in [`crate::campaign`].

use crate::api::{Action, AdminAction, Attempt, Finding, ProtectionMode, Reason, Verdict};
use crate::campaign::{CampaignState, Flagged};
use crate::config::EngineConfig;
use crate::keys::{
    FixedMap, NetLevel, Secs, account_key, host_prefix, ip_bits, is_v4, mix128, net_key,
    net_prefix, secs, ts,
};
use crate::passwords::SprayedPasswords;
use crate::population::{LONG, Population, Signal};
use crate::provisional::{Held, Provisional};
use crate::state::{AT_RISK, AccountState, COMPROMISED, KNOWN, NAMED, SourceState, UNKNOWN, fp32};
use crate::store::Table;
use crate::typos::Typos;
use portcullis_core::report::{
    AccountAtRisk, CampaignKind, CompromisedAccount, InputSummary, Report,
};
use portcullis_core::{AuthEvent, Outcome, Prefix, Protocol, Timestamp};
use std::collections::BTreeMap;

/// A prefix as (mask, network) over IPv4-mapped 128-bit addresses.
fn prefix_match(p: &Prefix) -> (u128, u128) {
    let bits = ip_bits(p.addr());
    let len = u32::from(p.len()) + if p.addr().is_ipv4() { 96 } else { 0 };
    let mask = if len == 0 {
        0
    } else {
        u128::MAX << (128 - len.min(128))
    };
    (mask, bits & mask)
}

#[derive(Debug, Clone)]
struct Block {
    mask: u128,
    net: u128,
    prefix: Prefix,
    until: Option<Timestamp>,
    reason: String,
}

#[derive(Debug, Default)]
struct Admin {
    blocks: Vec<Block>,
    protections: FixedMap<u64, (ProtectionMode, Option<Timestamp>)>,
    shields: Option<(Vec<Protocol>, Option<Timestamp>)>,
}

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
}

/// How an outcome counts.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Class {
    Success,
    Guess { unknown: bool },
    Neutral,
}

fn classify(o: Outcome) -> Class {
    match o {
        Outcome::Success => Class::Success,
        Outcome::UnknownAccount => Class::Guess { unknown: true },
        Outcome::BadPassword | Outcome::Locked | Outcome::Disabled | Outcome::OtherFailure => {
            Class::Guess { unknown: false }
        }
        // The password was right but has expired: not a guess, not a login.
        Outcome::Expired => Class::Neutral,
    }
}

fn kind_index(k: CampaignKind) -> usize {
    match k {
        CampaignKind::BruteForce => 0,
        CampaignKind::AccountGuessing => 1,
        CampaignKind::PasswordSpray => 2,
        CampaignKind::UserEnumeration => 3,
        CampaignKind::CredentialStuffing => 4,
    }
}

/// Sources known only by their client's name (a Windows workstation, when the event has no
/// usable address) are keyed inside 100::/64, the IPv6 discard-only prefix (RFC 6666), which
/// no real client uses; the low 64 bits hash the upper-cased name.
const CLIENT_KEY_HIGH: u64 = 0x0100_0000_0000_0000;

/// Workstation names remembered (for reports), and failing accounts remembered per name.
const MAX_CLIENTS: usize = 16_384;
const CLIENT_ACCOUNTS: usize = 16;

fn is_client_key(bits: u128) -> bool {
    (bits >> 64) as u64 == CLIENT_KEY_HIGH
}

/// The workstation a Windows event names, if any (`-` and empty are none).
fn workstation(ev: &AuthEvent) -> Option<&str> {
    if !matches!(
        ev.protocol,
        Protocol::Windows | Protocol::Ntlm | Protocol::Kerberos
    ) {
        return None;
    }
    let name = ev.client.as_deref()?.trim().trim_start_matches('\\');
    (!name.is_empty() && name != "-").then_some(name)
}

fn client_key(name: &str) -> u128 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in name.bytes() {
        h = (h ^ u64::from(b.to_ascii_uppercase())).wrapping_mul(0x0100_0000_01b3);
    }
    (u128::from(CLIENT_KEY_HIGH) << 64) | u128::from(crate::keys::mix64(h))
}

/// The key of an event's source: its address when usable; with no address, or loopback (a
/// logon at the machine itself), the Windows workstation it names; else the address as given.
fn source_key(ev: &AuthEvent) -> Option<u128> {
    match ev.source {
        Some(ip) if !ip.is_loopback() && !ip.is_unspecified() => Some(ip_bits(ip)),
        ip => workstation(ev).map(client_key).or(ip.map(ip_bits)),
    }
}

/// The networks a source key belongs to: its /24 or /64, and its /48 (IPv6). A workstation
/// is its own network.
fn nets_of(bits: u128) -> (u128, Option<u128>) {
    if is_client_key(bits) {
        (bits, None)
    } else {
        (
            net_key(bits, NetLevel::Subnet).expect("every family has a subnet"),
            net_key(bits, NetLevel::Site),
        )
    }
}

/// A workstation seen failing: its name, and the first accounts that failed from it in its
/// current failure epoch (to name them when it is flagged).
#[derive(Debug)]
struct ClientInfo {
    name: Box<str>,
    failed: Vec<Box<str>>,
}

/// A failure followed within this many seconds by a success from the same network was a typo.
const TYPO_SECS: u32 = 900;

/// Sources (and accounts) named in one `campaign_opened` / `campaign_updated` finding.
pub const FINDING_MAX_SOURCES: usize = 100;

/// The engine.
#[derive(Debug)]
pub struct Engine {
    cfg: EngineConfig,
    trusted: Vec<(u128, u128)>,
    now: Timestamp,
    now_s: Secs,
    hosts: Table<u128, SourceState>,
    nets: Table<u128, SourceState>,
    accounts: Table<u64, AccountState>,
    known_accounts: u64,
    population: Population,
    /// Passwords (unsalted fingerprints) tried on many accounts.
    passwords: SprayedPasswords,
    /// The last unknown account name each address failed with (users' own typos).
    typos: Typos,
    campaigns: Vec<CampaignState>,
    /// The live distributed spray (campaign index), and the latest one (for merging).
    spray: Option<usize>,
    last_spray: Option<usize>,
    /// Per kind, the campaign that single-source detections join while it is recent.
    by_kind: [Option<usize>; 5],
    flagged: Flagged,
    compromised: Vec<CompromisedAccount>,
    provisional: Held,
    /// Successes new to their account (address and network) outside a live spray, for
    /// `spray_idle_secs`: resolved when their address is flagged.
    recent_new: Held,
    at_risk: Vec<AccountAtRisk>,
    admin: Admin,
    findings: Vec<Finding>,
    verdicts: [u64; 4],
    next_maintenance: Secs,
    next_expiry: Secs,
    max_findings: usize,
    dropped_findings: u64,
    /// Workstations named by sourceless Windows events (client keys), at most [`MAX_CLIENTS`].
    clients: FixedMap<u128, ClientInfo>,
    /// The first campaign id is `c{id_base + 1}` (see [`Engine::resume_campaign_ids`]).
    id_base: u32,
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
            campaigns: Vec::new(),
            spray: None,
            last_spray: None,
            by_kind: [None; 5],
            flagged: Flagged::new(config.max_flagged),
            compromised: Vec::new(),
            provisional: Held::default(),
            recent_new: Held::default(),
            at_risk: Vec::new(),
            admin: Admin::default(),
            findings: Vec::new(),
            verdicts: [0; 4],
            next_maintenance: 0,
            next_expiry: 0,
            max_findings: 1_000_000,
            dropped_findings: 0,
            clients: crate::keys::fixed_map(),
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
        let current = u64::from(self.id_base) + self.campaigns.len() as u64 + 1;
        if next > current {
            let next = next.min(u64::from(u32::MAX));
            self.id_base = (next - 1 - self.campaigns.len() as u64) as u32;
        }
    }

    /// The id the next campaign opened will get (`c{n}`).
    pub fn next_campaign_id(&self) -> u64 {
        u64::from(self.id_base) + self.campaigns.len() as u64 + 1
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
        let akey = account_key(&account.name);
        self.familiar(self.accounts.get(&akey), ip_bits(ip))
    }

    pub fn stats(&self) -> EngineStats {
        EngineStats {
            sources: self.hosts.len(),
            networks: self.nets.len(),
            accounts: self.accounts.len(),
            flagged: self.flagged.len(),
            campaigns: self.campaigns.len(),
            evictions: self.hosts.evictions() + self.nets.evictions() + self.accounts.evictions(),
            heap_bytes: self.hosts.heap_bytes()
                + self.nets.heap_bytes()
                + self.accounts.heap_bytes()
                + self.flagged.heap_bytes()
                + self.passwords.heap_bytes()
                + self.typos.heap_bytes()
                + self.admin.protections.capacity() * 40,
            source_slot_bytes: std::mem::size_of::<(u128, SourceState)>() + 1,
            account_slot_bytes: std::mem::size_of::<(u64, AccountState)>() + 1,
        }
    }

    // ----------------------------------------------------------------------------------------
    // Entry points
    // ----------------------------------------------------------------------------------------

    /// A finished attempt: learn from it, and answer what a live server should have done
    /// (decided on what was known before this attempt, as [`Engine::check`] would).
    pub fn observe(&mut self, ev: &AuthEvent) -> Verdict {
        self.tick(ev.ts);
        let akey = account_key(&ev.account.name);
        let src = source_key(ev);
        let verdict = self.decide(src, akey, ev.protocol);
        self.verdicts[match verdict.action {
            Action::Allow => 0,
            Action::Tarpit { .. } => 1,
            Action::Deny => 2,
            Action::InternalOnly => 3,
        }] += 1;
        self.learn(ev, akey, src);
        verdict
    }

    /// An attempt before authentication. Not counted: the report that follows is.
    pub fn check(&mut self, attempt: &Attempt<'_>) -> Verdict {
        self.tick(attempt.ts);
        let akey = account_key(&attempt.account.name);
        self.decide(attempt.source.map(ip_bits), akey, attempt.protocol)
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
                let (mask, net) = prefix_match(&prefix);
                self.admin.blocks.retain(|b| b.prefix != prefix);
                self.admin.blocks.push(Block {
                    mask,
                    net,
                    prefix,
                    until,
                    reason,
                });
            }
            AdminAction::Unblock { prefix } => self.admin.blocks.retain(|b| b.prefix != prefix),
            AdminAction::Protect {
                account,
                mode,
                at,
                until,
            } => {
                self.tick(at);
                let key = account_key(&portcullis_core::Account::from_raw(&account).name);
                self.admin.protections.insert(key, (mode, until));
            }
            AdminAction::Unprotect { account } => {
                let key = account_key(&portcullis_core::Account::from_raw(&account).name);
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
                let key = account_key(&portcullis_core::Account::from_raw(&account).name);
                if let Some(a) = self.accounts.get_mut(&key) {
                    a.guesses.reset();
                    a.recent_passwords = [0; 4];
                    a.flags &= !(AT_RISK | COMPROMISED);
                }
            }
        }
    }

    /// Findings since the last call, oldest first.
    pub fn take_findings(&mut self) -> Vec<Finding> {
        std::mem::take(&mut self.findings)
    }

    /// The engine's view as report v1, around the given input summary.
    pub fn report(&self, input: InputSummary) -> Report {
        let mut r = Report::new(input);
        for (name, n) in ["allow", "tarpit", "deny", "internal_only"]
            .iter()
            .zip(self.verdicts)
        {
            if n > 0 {
                r.verdicts.insert((*name).to_string(), n);
            }
        }
        let mut by_campaign: BTreeMap<u32, Vec<Prefix>> = BTreeMap::new();
        for ((f, c), client) in self
            .flagged
            .list
            .iter()
            .zip(&self.flagged.campaign)
            .zip(&self.flagged.client)
        {
            if !client {
                by_campaign.entry(*c).or_default().push(f.source);
            }
        }
        r.campaigns = self
            .campaigns
            .iter()
            .enumerate()
            .map(|(i, c)| c.to_report(by_campaign.remove(&(i as u32)).unwrap_or_default()))
            .collect();
        r.flagged_sources = self
            .flagged
            .list
            .iter()
            .zip(&self.flagged.client)
            .filter(|(_, client)| !**client)
            .map(|(f, _)| f.clone())
            .collect();
        r.compromised_accounts = self.compromised.clone();
        r.accounts_at_risk = self.at_risk.clone();
        r
    }

    // ----------------------------------------------------------------------------------------
    // Time
    // ----------------------------------------------------------------------------------------

    fn tick(&mut self, t: Timestamp) {
        if t <= self.now {
            return; // tolerate small disorder: state stays at the latest time seen
        }
        self.now = t;
        self.now_s = secs(t);
        let live = self.spray.is_some();
        self.population
            .advance(self.now_s / 60, live, self.known_accounts, &self.cfg);
        if self.now_s >= self.next_maintenance {
            self.maintain();
        }
    }

    /// Every event-time minute: end quiet sprays, emit throttled campaign updates; every hour:
    /// expire idle state and recount known accounts.
    fn maintain(&mut self) {
        let now = self.now_s;
        self.next_maintenance = (now - now % 60).saturating_add(60);
        if let Some(i) = self.spray
            && now.saturating_sub(self.campaigns[i].last_signal) > self.cfg.spray_idle_secs
        {
            self.campaigns[i].live = false;
            self.campaigns[i].dirty = true;
            self.spray = None;
        }
        self.settle_rounds();
        for i in 0..self.campaigns.len() {
            let c = &self.campaigns[i];
            if c.dirty && now.saturating_sub(c.last_update) >= self.cfg.campaign_update_secs {
                self.emit_update(i);
            }
        }
        if now >= self.next_expiry {
            self.next_expiry = now.saturating_add(3600);
            let c = &self.cfg;
            self.hosts.expire(now.saturating_sub(c.source_ttl_secs));
            self.nets.expire(now.saturating_sub(c.network_ttl_secs));
            self.accounts.expire(now.saturating_sub(c.account_ttl_secs));
            self.known_accounts = self.accounts.iter().filter(|(_, a)| a.has(KNOWN)).count() as u64;
        }
    }

    // ----------------------------------------------------------------------------------------
    // Verdicts
    // ----------------------------------------------------------------------------------------

    fn is_trusted(&self, bits: u128) -> bool {
        self.trusted.iter().any(|&(m, n)| bits & m == n)
    }

    fn familiar(&self, acct: Option<&AccountState>, bits: u128) -> bool {
        acct.is_some_and(|a| {
            a.familiar_host(fp32(mix128(bits))) || a.familiar_net(fp32(mix128(nets_of(bits).0)))
        })
    }

    /// The flag that covers a host: the host itself, its /24 or /64, or its /48.
    fn flag_of(&self, bits: u128) -> Option<u32> {
        if is_client_key(bits) {
            return self.flagged.host(bits);
        }
        self.flagged
            .host(bits)
            .or_else(|| net_key(bits, NetLevel::Subnet).and_then(|k| self.flagged.net(k)))
            .or_else(|| net_key(bits, NetLevel::Site).and_then(|k| self.flagged.net(k)))
    }

    fn decide(&self, src: Option<u128>, akey: u64, protocol: Protocol) -> Verdict {
        let now = self.now;
        // 1. Admin blocks.
        if let Some(bits) = src
            && let Some(b) = self
                .admin
                .blocks
                .iter()
                .find(|b| bits & b.mask == b.net && b.until.is_none_or(|u| now < u))
        {
            return verdict(
                Action::Deny,
                "admin_block",
                format!("{} is blocked by an admin: {}", b.prefix, b.reason),
            );
        }
        let acct = self.accounts.get(&akey);
        let trusted = src.is_some_and(|b| self.is_trusted(b));
        let familiar = src.is_some_and(|b| self.familiar(acct, b));
        // 2. Admin protections of the account.
        if let Some((mode, until)) = self.admin.protections.get(&akey)
            && until.is_none_or(|u| now < u)
        {
            match mode {
                ProtectionMode::Disabled => {
                    return verdict(
                        Action::Deny,
                        "account_disabled",
                        "disabled by an admin".into(),
                    );
                }
                ProtectionMode::MustReset => {
                    return verdict(
                        Action::Deny,
                        "must_reset",
                        "password must be reset first".into(),
                    );
                }
                ProtectionMode::InternalOnly if !trusted && !familiar => {
                    return verdict(
                        Action::InternalOnly,
                        "account_internal_only",
                        "account accepts logins only from trusted networks and familiar sources"
                            .into(),
                    );
                }
                ProtectionMode::InternalOnly => {}
            }
        }
        // 3. Trusted networks and familiar sources are allowed.
        if trusted || familiar {
            return Verdict::allow();
        }
        // 4. Shields up.
        if let Some((protocols, until)) = &self.admin.shields
            && until.is_none_or(|u| now < u)
            && (protocols.is_empty() || protocols.contains(&protocol))
        {
            return verdict(
                Action::InternalOnly,
                "shields_up",
                "shields up: only trusted networks and familiar sources".into(),
            );
        }
        let Some(bits) = src else {
            return Verdict::allow();
        };
        // 5. Flagged sources (unless the address has since proven to be a shared gateway).
        if let Some(idx) = self.flag_of(bits) {
            let at = self.flagged.at[idx as usize];
            let gateway = self
                .hosts
                .get(&bits)
                .is_some_and(|h| h.is_gateway(&self.cfg));
            if !gateway && self.now_s.saturating_sub(at) < self.cfg.flag_ttl_secs {
                let c = &self.campaigns[self.flagged.campaign[idx as usize] as usize];
                let f = &self.flagged.list[idx as usize];
                let what = if self.flagged.client[idx as usize] {
                    self.label(bits)
                } else {
                    f.source.to_string()
                };
                let early = c.kind == CampaignKind::PasswordSpray
                    && c.live
                    && now.secs_since(c.detected_at) < i64::from(self.cfg.spray_uncertain_secs);
                let action = if early {
                    Action::Tarpit {
                        seconds: self.cfg.tarpit_secs,
                    }
                } else {
                    Action::Deny
                };
                return verdict(
                    action,
                    c.kind.as_str(),
                    format!("{} is flagged in campaign {}: {}", what, c.name(), f.reason),
                );
            }
        }
        // 6. Accounts a live spray targets: unfamiliar sources wait.
        if let Some(a) = acct {
            if let Some(s) = self.spray
                && a.campaign == s as u32 + 1
            {
                return verdict(
                    Action::Tarpit {
                        seconds: self.cfg.spray_tarpit_secs,
                    },
                    "spray_target",
                    format!(
                        "account targeted by live spray {}; source unfamiliar",
                        self.campaigns[s].name()
                    ),
                );
            }
            // 7. Account guessing (smart lockout: unfamiliar sources only).
            let g = a
                .guesses
                .value(self.now_s, self.cfg.account_guess_window_secs);
            if g >= self.cfg.account_lock_failures {
                return verdict(
                    Action::Deny,
                    "account_guessing",
                    format!("{g} wrong passwords from unfamiliar sources; locked for them"),
                );
            }
            if g >= self.cfg.account_guess_failures {
                return verdict(
                    Action::Tarpit {
                        seconds: self.cfg.tarpit_secs,
                    },
                    "account_guessing",
                    format!("{g} wrong passwords from unfamiliar sources"),
                );
            }
        }
        Verdict::allow()
    }

    // ----------------------------------------------------------------------------------------
    // Learning and detection
    // ----------------------------------------------------------------------------------------

    fn learn(&mut self, ev: &AuthEvent, akey: u64, src: Option<u128>) {
        let class = classify(ev.outcome);
        if class == Class::Neutral {
            return;
        }
        let now = self.now_s;
        let has_account = !ev.account.name.is_empty();
        if has_account {
            let a = self.accounts.entry(akey);
            a.last_seen = a.last_seen.max(now);
            match ev.outcome {
                Outcome::UnknownAccount => a.flags |= UNKNOWN,
                Outcome::Success | Outcome::BadPassword | Outcome::Locked if !a.has(KNOWN) => {
                    a.flags |= KNOWN;
                    self.known_accounts += 1;
                }
                _ => {}
            }
        }
        let Some(bits) = src else {
            return;
        };
        let trusted = self.is_trusted(bits);
        let host_fp = fp32(mix128(bits));
        let (subnet, site) = nets_of(bits);
        if is_client_key(bits) {
            self.remember_client(bits, ev, false);
        }
        let net_fp = fp32(mix128(subnet));
        match class {
            Class::Success => {
                self.learn_success(ev, akey, bits, trusted, host_fp, subnet, site, net_fp)
            }
            Class::Guess { unknown } => {
                if trusted {
                    return; // never counted, never flagged
                }
                let acct = self.accounts.get(&akey);
                if has_account
                    && acct.is_some_and(|a| a.familiar_host(host_fp) || a.familiar_net(net_fp))
                {
                    return; // a familiar source's typo: judged apart, never counted
                }
                if is_client_key(bits) {
                    self.remember_client(bits, ev, true);
                }
                self.learn_failure(ev, akey, has_account, unknown, bits, subnet, site, net_fp);
            }
            Class::Neutral => {}
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn learn_success(
        &mut self,
        ev: &AuthEvent,
        akey: u64,
        bits: u128,
        trusted: bool,
        host_fp: u32,
        subnet: u128,
        site: Option<u128>,
        net_fp: u32,
    ) {
        let now = self.now_s;
        if ev.account.name.is_empty() {
            return;
        }
        let mut provisional = false;
        if !trusted {
            let acct = self.accounts.get(&akey).copied().unwrap_or_default();
            if !acct.familiar_host(host_fp) {
                if let Some((campaign, evidence)) = self.compromise_evidence(
                    &acct,
                    akey,
                    &ev.account.name,
                    bits,
                    subnet,
                    site,
                    net_fp,
                ) {
                    self.record_compromise(&ev.account.name, ev.ts, akey, bits, campaign, evidence);
                    return; // an attacker's success makes nothing familiar
                }
                // A success during a live spray, from an address and network the account has
                // never used, with no evidence yet (the spray may not have tried the account
                // before: this may be its first, lucky guess): held as
                // provisional. If the address or its network is later enrolled in the spray,
                // it becomes a compromise (and the familiarity it gave is withdrawn).
                // Outside a live spray such a success is learned as usual, and remembered for
                // `spray_idle_secs`: if its address is flagged within that time (it goes on to
                // fail on other accounts), it was a lucky guess too — often in the minutes
                // before a spray is raised.
                if !acct.familiar_net(net_fp)
                    && !self
                        .hosts
                        .get(&bits)
                        .is_some_and(|h| h.is_gateway(&self.cfg))
                {
                    let p = Provisional {
                        at: ev.ts,
                        bits,
                        akey,
                        account: ev.account.name.clone(),
                        host_fp,
                        net_fp,
                    };
                    if self.spray.is_some() {
                        provisional = true;
                        self.provisional.hold(p, self.cfg.spray_idle_secs);
                    } else {
                        self.recent_new.hold(p, self.cfg.spray_idle_secs);
                    }
                }
            }
        }
        let a = self.accounts.entry(akey);
        a.remember_success(now, host_fp, net_fp);
        // A failure just before, from this same network, was the user's own typo: it is not
        // part of any spray signal.
        if a.last_fail_net == net_fp && now.saturating_sub(a.last_fail) <= TYPO_SECS {
            self.population.uncount(&mut a.population_minute);
        }
        if trusted {
            return;
        }
        if provisional {
            // Not yet evidence that users log in here (it would exempt the address from
            // spray membership); just touch it.
            let h = self.hosts.entry(bits);
            h.last_seen = h.last_seen.max(now);
            return;
        }
        self.hosts.entry(bits).succeed(now, akey);
        self.nets.entry(subnet).succeed(now, akey);
        if let Some(s) = site {
            self.nets.entry(s).succeed(now, akey);
        }
    }

    /// Address `key` was just flagged in campaign `i`: its successes in the last
    /// `spray_idle_secs` that were new to their account (address and network), outside a live
    /// spray, were lucky guesses from it.
    fn resolve_recent(&mut self, i: usize, key: u128) {
        let floor = self.now.plus_secs(-i64::from(self.cfg.spray_idle_secs));
        let found = self.recent_new.take(key, false, |p| p.at >= floor);
        for p in found {
            self.withdraw_familiarity(&p);
            let evidence = format!(
                "success from {} (new to the account) {} s before the address was flagged in {}",
                self.label(p.bits),
                self.now.secs_since(p.at),
                self.campaigns[i].name()
            );
            self.record_compromise(&p.account, p.at, p.akey, p.bits, Some(i as u32), evidence);
        }
    }

    fn withdraw_familiarity(&mut self, p: &Provisional) {
        if let Some(a) = self.accounts.get_mut(&p.akey) {
            for slot in a.familiar_hosts.iter_mut() {
                if *slot == p.host_fp {
                    *slot = 0;
                }
            }
            for slot in a.familiar_nets.iter_mut() {
                if *slot == p.net_fp {
                    *slot = 0;
                }
            }
        }
    }

    /// A source was just enrolled in campaign `i`: provisional successes from it become
    /// compromises.
    fn resolve_provisional(&mut self, i: usize, is_net: bool, key: u128) {
        let found = self.provisional.take(key, is_net, |_| true);
        for p in found {
            self.withdraw_familiarity(&p);
            let evidence = format!(
                "success from {} (new to the account) during {}; the {} was enrolled in it afterwards",
                self.label(p.bits),
                self.campaigns[i].name(),
                if is_net { "network" } else { "address" }
            );
            self.record_compromise(&p.account, p.at, p.akey, p.bits, Some(i as u32), evidence);
        }
    }

    /// The round of a sprayed password is over — quiet for a quarter of its span and at least
    /// 15 minutes: a spray tries one password on every account, then the next. A success held
    /// during the round (from an address and network new to the account), for an account the
    /// round skipped, is the attacker's: the password tried on everyone else was this
    /// account's, so the attempt that would have failed succeeded. A user who logs in from a
    /// new network during the round has the sprayed password fail on the account too (before
    /// or after). The account must have been targeted by a spray before, unless the round
    /// reached at least half the accounts known to exist (a spray on everyone: the account's
    /// turn may have been its first).
    fn settle_rounds(&mut self) {
        if self.passwords.open_len() == 0 {
            return;
        }
        let now = self.now_s;
        let done = self.passwords.take_done(|e| {
            now.saturating_sub(e.last) >= (e.last.saturating_sub(e.first) / 4).max(900)
        });
        for (fp, e) in done {
            let wide = u64::from(e.failures) * 2 >= self.known_accounts;
            let (first, last) = (ts(e.first), ts(e.last));
            let accounts = &self.accounts;
            let skipped = |p: &Provisional| {
                p.at >= first
                    && p.at <= last
                    && accounts.get(&p.akey).is_some_and(|a| {
                        !a.has(COMPROMISED) && !a.tried_password(fp) && (wide || a.campaign != 0)
                    })
            };
            let mut found = self.provisional.take_matching(skipped);
            found.extend(self.recent_new.take_matching(skipped));
            if found.is_empty() {
                continue;
            }
            found.sort_by_key(|p| p.at);
            let campaign = self.spray.or(self.last_spray).map(|i| i as u32);
            let name = campaign.map_or_else(String::new, |c| {
                format!(" of {}", self.campaigns[c as usize].name())
            });
            for p in found {
                self.withdraw_familiarity(&p);
                let evidence = format!(
                    "success from {} (new to the account) during the round{name} of a password that failed on {} other accounts between {} and {}, and was never tried on this one: it was this account's",
                    self.label(p.bits),
                    e.failures,
                    first,
                    last
                );
                self.record_compromise(&p.account, p.at, p.akey, p.bits, campaign, evidence);
            }
        }
    }

    /// Why a success from an unfamiliar address looks like an attacker's, if it does.
    #[allow(clippy::too_many_arguments)]
    fn compromise_evidence(
        &self,
        acct: &AccountState,
        akey: u64,
        name: &str,
        bits: u128,
        subnet: u128,
        site: Option<u128>,
        net_fp: u32,
    ) -> Option<(Option<u32>, String)> {
        let cfg = &self.cfg;
        let host = self.hosts.get(&bits);
        let gateway = host.is_some_and(|h| h.is_gateway(cfg));
        if let Some(idx) = self.flagged.host(bits) {
            return Some((
                Some(self.flagged.campaign[idx as usize]),
                format!("success from {} flagged in the campaign", self.label(bits)),
            ));
        }
        let net_familiar = acct.familiar_net(net_fp);
        if !net_familiar && !gateway {
            for k in std::iter::once(subnet).chain(site) {
                if let Some(idx) = self.flagged.net(k) {
                    return Some((
                        Some(self.flagged.campaign[idx as usize]),
                        format!(
                            "success from {} inside {} flagged in the campaign",
                            self.label(bits),
                            net_prefix(k)
                        ),
                    ));
                }
            }
        }
        if net_familiar || gateway {
            return None;
        }
        // The account was targeted by a spray (live, or ended recently), and this source took
        // part: it failed for other accounts, or its network has failing hosts and no success.
        if acct.campaign > 0 {
            let c = &self.campaigns[(acct.campaign - 1) as usize];
            let recent =
                c.live || self.now.secs_since(c.last_seen) < i64::from(cfg.spray_idle_secs);
            if recent {
                // "Another account" that is a near miss of this one's name, just before, was
                // the user mistyping their own name (crate::typos), not an attacker's try.
                if let Some(h) = host
                    && h.accounts_failed.estimate_without(akey) >= 1
                    && h.accounts_ok.is_empty()
                    && !(h.accounts_failed.estimate_without(akey) == 1
                        && self.typos.near_miss_of(bits, name, self.now_s))
                {
                    return Some((
                        Some(acct.campaign - 1),
                        format!(
                            "success from {} after it failed for {} other accounts, during {}",
                            self.label(bits),
                            h.accounts_failed.estimate_without(akey),
                            c.name()
                        ),
                    ));
                }
                if let Some(n) = self.nets.get(&subnet)
                    && n.accounts_ok.is_empty()
                    && n.spread.estimate() >= 2
                    && n.accounts_failed.estimate_without(akey) >= 1
                {
                    return Some((
                        Some(acct.campaign - 1),
                        format!(
                            "success from {} whose network {} failed from {} addresses, during {}",
                            self.label(bits),
                            net_prefix(subnet),
                            n.spread.estimate(),
                            c.name()
                        ),
                    ));
                }
            }
        }
        // The account was being guessed, and this source took part in the guessing. Without
        // password fingerprints "guessed" only means "failed often": a device left with an old
        // password retrying from the user's home every few minutes looks the same, and the
        // user's next login from home is then no compromise. So the source must have guessed
        // provably: distinct wrong passwords (fingerprints) on this account, or failures on
        // other accounts too.
        let distinct_passwords = acct.recent_passwords.iter().filter(|&&p| p != 0).count() >= 2;
        if acct.has(AT_RISK)
            && host.is_some_and(|h| {
                h.accounts_failed.contains(akey)
                    && h.accounts_ok.is_empty()
                    && (distinct_passwords || h.accounts_failed.estimate_without(akey) >= 1)
            })
        {
            return Some((
                self.by_kind[kind_index(CampaignKind::AccountGuessing)].map(|i| i as u32),
                format!(
                    "success from {} after guessing the account's password",
                    self.label(bits)
                ),
            ));
        }
        None
    }

    fn record_compromise(
        &mut self,
        account: &str,
        at: Timestamp,
        akey: u64,
        bits: u128,
        campaign: Option<u32>,
        evidence: String,
    ) {
        let a = self.accounts.entry(akey);
        if a.has(COMPROMISED) {
            return;
        }
        a.flags |= COMPROMISED;
        if let Some(c) = campaign {
            let name = self.campaigns[c as usize].name();
            let reason = format!("success for {account} while taking part in {name}");
            self.flag(false, bits, host_prefix(bits), c as usize, reason);
            // Flagged here rather than enrolled: its earlier provisional successes (lucky
            // guesses before anything was known about it) are compromises too.
            self.resolve_provisional(c as usize, false, bits);
        }
        let ca = CompromisedAccount {
            account: account.to_string(),
            at,
            source: (!is_client_key(bits)).then(|| host_prefix(bits)),
            campaign: campaign.map(|c| self.campaigns[c as usize].name()),
            evidence,
        };
        self.push(Finding::AccountCompromised(ca.clone()));
        self.compromised.push(ca);
    }

    #[allow(clippy::too_many_arguments)]
    fn learn_failure(
        &mut self,
        ev: &AuthEvent,
        akey: u64,
        has_account: bool,
        unknown: bool,
        bits: u128,
        subnet: u128,
        site: Option<u128>,
        net_fp: u32,
    ) {
        let now = self.now_s;
        let pw = ev.password_fingerprint.map(crate::keys::mix64);
        if unknown && has_account {
            self.typos.unknown_failure(bits, &ev.account.name, now);
        }
        let cfg = &self.cfg;
        // Source, /24 or /64, /48.
        let h = self.hosts.entry(bits);
        h.fail(now, akey, unknown, pw, cfg);
        let host = *h;
        // Failures from a source a single-source detector already flagged are that
        // detector's; they do not feed the population signal.
        let prior_flag = self.flag_of(bits);
        let counted = !host.is_gateway(cfg)
            && prior_flag.is_none_or(|i| {
                self.campaigns[self.flagged.campaign[i as usize] as usize].kind
                    == CampaignKind::PasswordSpray
                    && self.campaigns[self.flagged.campaign[i as usize] as usize].live
            });
        let n = self.nets.entry(subnet);
        n.fail(now, akey, unknown, Some(mix128(bits)), cfg);
        if counted {
            self.population.count_network(&mut n.population_minute);
        }
        let sub = *n;
        let site_state = site.map(|s| {
            let n = self.nets.entry(s);
            n.fail(now, akey, unknown, Some(mix128(subnet)), cfg);
            *n
        });
        let gateway = host.is_gateway(cfg);

        // Account: smart-lockout counting and the population signal.
        let mut targeted_new = false;
        if has_account {
            let live = self.spray;
            let a = self.accounts.entry(akey);
            let new_password = a.new_wrong_password(ev.password_fingerprint);
            if a.guesses.value(now, cfg.account_guess_window_secs) == 0 {
                // A new guessing episode (the last one, if any, has aged out of the window).
                a.guess_since = now;
                a.flags &= !AT_RISK;
            }
            if new_password {
                a.guesses.add(now, cfg.account_guess_window_secs, 1);
            }
            // For the population: a repeat of the same wrong password, or (without
            // fingerprints) a repeat from the same network within the hour, is not a new guess.
            let repeat_place = a.last_fail_net == net_fp && now.saturating_sub(a.last_fail) < 3600;
            let new_guess = if ev.password_fingerprint.is_some() {
                new_password
            } else {
                !repeat_place
            };
            a.last_fail_net = net_fp;
            a.last_fail = now;
            // An account that exists but has never been seen logging in has no familiar
            // sources yet, so "unfamiliar" means nothing for it: at the start of a log (or of
            // a deployment) its failure is as likely its own device with an old or expired
            // password as a guess. It feeds the population signal once its familiar sources
            // are known; accounts that do not exist always do.
            let judged = unknown || a.familiar_hosts.iter().any(|&h| h != 0);
            if counted && judged {
                self.population
                    .count_failure(&mut a.population_minute, unknown, new_guess);
            }
            if let Some(s) = live
                && !gateway
                && a.campaign != s as u32 + 1
            {
                a.campaign = s as u32 + 1;
                targeted_new = true;
            }
            let guesses = a.guesses.value(now, cfg.account_guess_window_secs);
            if guesses >= cfg.account_guess_failures && !a.has(AT_RISK) {
                a.flags |= AT_RISK;
                let since = ts(a.guess_since);
                self.account_at_risk(ev, guesses, since);
            }
        }

        // Distributed spray: the population signal.
        let sig = self.population.signal(self.known_accounts, &self.cfg);
        if sig.firing && counted {
            match self.spray {
                Some(i) => self.campaigns[i].last_signal = now,
                None => self.open_spray(spray_why(&sig)),
            }
        }
        // One password tried on many accounts (unsalted fingerprints only): the spray's own
        // signature, whatever the addresses.
        let mut sprayed_password = None;
        if has_account
            && ev.fingerprint_unsalted
            && let Some(fp) = ev.password_fingerprint
        {
            let o = self.passwords.fail(
                fp,
                akey,
                now,
                self.cfg.spray_password_accounts,
                self.cfg.spray_password_window_secs,
            );
            if o.sprayed {
                sprayed_password = Some(o.accounts);
                match self.spray {
                    Some(i) => self.campaigns[i].last_signal = now,
                    None => self.open_spray(format!(
                        "raised when one password failed on {} distinct accounts from unfamiliar sources, with no pause of {} s",
                        o.accounts, self.cfg.spray_password_window_secs
                    )),
                }
            }
        }
        if let Some(i) = self.spray {
            let c = &mut self.campaigns[i];
            c.attempts += 1;
            c.last_seen = self.now;
            c.dirty = true;
            if targeted_new && has_account {
                self.target(i, akey, &ev.account.name);
            } else if has_account {
                self.name_target(i, akey, &ev.account.name);
            }
            if !gateway {
                self.grow_spray(i, bits, &host, subnet, &sub, site, site_state.as_ref());
                // An address failing with a sprayed password is the spray's, even on its
                // only attempt (rotation that never reuses an address).
                if let Some(n) = sprayed_password
                    && host.accounts_ok.is_empty()
                    && self.flagged.host(bits).is_none()
                {
                    let why = format!("failed with a password tried on {n} distinct accounts");
                    self.enrol(i, false, bits, &host, &why);
                }
            }
        }

        // Single-source detectors (gateways are exempt: their failures are their users').
        if !gateway {
            self.single_source(bits, &host, false);
            if sub.accounts_ok.is_empty() && sub.spread.estimate() >= self.cfg.spray_net_min_hosts {
                self.single_source(subnet, &sub, true);
            }
        }

        // A source flagged earlier by a single-source detector keeps failing: its campaign
        // goes on. While a distributed spray is live, a spray-like source's failures are the
        // spray's (counted above; the earlier campaign is linked to it, not extended).
        if let Some(f) = prior_flag {
            let i = self.flagged.campaign[f as usize] as usize;
            let spray_live = self.spray.is_some();
            if self.spray != Some(i)
                && !(spray_live && self.campaigns[i].kind == CampaignKind::PasswordSpray)
            {
                let cap = self.cfg.report_max_accounts;
                let client = self.flagged.client[f as usize];
                let c = &mut self.campaigns[i];
                c.attempts += 1;
                c.last_seen = self.now;
                c.dirty = true;
                // A workstation's campaign names the accounts tried from it.
                let name = ev.account.name.as_str();
                if client
                    && has_account
                    && c.accounts.len() < cap
                    && !c.accounts.iter().any(|a| a == name)
                {
                    c.accounts.push(name.to_string());
                    c.accounts_targeted += 1;
                }
            }
        }
    }

    fn account_at_risk(&mut self, ev: &AuthEvent, guesses: u32, since: Timestamp) {
        let idx = self.campaign_for(
            CampaignKind::AccountGuessing,
            "an account guessed from unfamiliar sources",
        );
        let c = &mut self.campaigns[idx];
        c.accounts_targeted += 1;
        if c.accounts.len() < self.cfg.report_max_accounts {
            c.accounts.push(ev.account.name.clone());
        }
        c.link_first_seen(since);
        c.last_seen = self.now;
        c.attempts += u64::from(guesses);
        c.dirty = true;
        let r = AccountAtRisk {
            account: ev.account.name.clone(),
            since: ev.ts,
            reason: format!(
                "{guesses} distinct wrong passwords from unfamiliar sources within {} s",
                self.cfg.account_guess_window_secs
            ),
            campaign: Some(c.name()),
        };
        self.push(Finding::AccountAtRisk(r.clone()));
        self.at_risk.push(r);
    }

    /// One address (or one /24, /64 whose addresses rotate) failing too often or on too many
    /// accounts: brute force, single-source spray, enumeration or stuffing.
    fn single_source(&mut self, key: u128, s: &SourceState, is_net: bool) {
        let cfg = &self.cfg;
        let now = self.now_s;
        let already = if is_net {
            self.flagged.net(key).is_some()
        } else {
            self.flagged.host(key).is_some()
        };
        if already {
            return;
        }
        let accounts = s.accounts_failed.estimate();
        let recent = s.recent_failures(now, cfg);
        let min_accounts = if !is_net && is_client_key(key) {
            cfg.client_spray_accounts
        } else {
            cfg.source_spray_accounts
        };
        let (kind, reason) = if accounts >= min_accounts {
            let unknown_share = f64::from(s.unknown) / f64::from(s.failures.max(1));
            let kind = if unknown_share >= cfg.enumeration_unknown_share {
                CampaignKind::UserEnumeration
            } else if !is_net
                && f64::from(s.spread.estimate())
                    >= cfg.stuffing_password_share * f64::from(accounts)
                && unknown_share >= 0.3
            {
                CampaignKind::CredentialStuffing
            } else {
                CampaignKind::PasswordSpray
            };
            (
                kind,
                format!(
                    "failed on {accounts} distinct accounts ({:.0} % unknown) since {}",
                    unknown_share * 100.0,
                    ts(s.epoch)
                ),
            )
        } else if recent >= cfg.brute_force_failures {
            (
                CampaignKind::BruteForce,
                format!("{recent} failures within {} s", cfg.brute_force_window_secs),
            )
        } else {
            return;
        };
        let prefix = if is_net {
            net_prefix(key)
        } else {
            host_prefix(key)
        };
        let idx = match (kind, self.spray) {
            (CampaignKind::PasswordSpray, Some(i)) => i,
            _ => self.campaign_for(kind, "single-source detections"),
        };
        let reason = if is_net {
            format!("{reason}, from {} addresses", s.spread.estimate())
        } else {
            reason
        };
        let c = &mut self.campaigns[idx];
        c.link_first_seen(ts(s.first_fail));
        c.attempts += u64::from(s.failures);
        c.accounts_targeted += u64::from(accounts);
        c.last_seen = self.now;
        c.dirty = true;
        self.flag(is_net, key, prefix, idx, reason);
    }

    /// The campaign of `kind` that single-source detections join (recent), or a new one.
    fn campaign_for(&mut self, kind: CampaignKind, why: &str) -> usize {
        let k = kind_index(kind);
        if let Some(i) = self.by_kind[k]
            && self.now.secs_since(self.campaigns[i].last_seen)
                <= i64::from(self.cfg.spray_idle_secs)
        {
            return i;
        }
        let i = self.new_campaign(kind, why.to_string());
        self.by_kind[k] = Some(i);
        i
    }

    fn new_campaign(&mut self, kind: CampaignKind, why: String) -> usize {
        let id = self.id_base + self.campaigns.len() as u32 + 1;
        self.campaigns
            .push(CampaignState::new(id, kind, self.now, why));
        let c = self.campaigns.last().expect("just pushed");
        let rep = c.to_report(Vec::new());
        self.push(Finding::CampaignOpened(rep));
        self.campaigns.len() - 1
    }

    /// The population signal fired: open (or continue) the distributed spray and enrol the
    /// sources and accounts that took part so far.
    fn open_spray(&mut self, why: String) {
        let reuse = self.last_spray.filter(|&i| {
            self.now.secs_since(self.campaigns[i].last_seen) <= i64::from(self.cfg.spray_merge_secs)
        });
        let i = match reuse {
            Some(i) => {
                self.campaigns[i].why = format!("{}; raised again: {why}", self.campaigns[i].why);
                self.campaigns[i].dirty = true;
                i
            }
            None => self.new_campaign(CampaignKind::PasswordSpray, why),
        };
        self.spray = Some(i);
        self.last_spray = Some(i);
        let c = &mut self.campaigns[i];
        c.live = true;
        c.last_signal = self.now_s;
        c.last_seen = self.now;
        // Accounts that failed in the window that raised it are its targets.
        let first_minute = self.population.minute().saturating_sub(LONG - 1);
        let tag = i as u32 + 1;
        let mut n = 0u64;
        for (_, a) in self.accounts.iter_mut() {
            if a.population_minute >= first_minute && a.campaign != tag {
                a.campaign = tag;
                n += 1;
            }
        }
        self.campaigns[i].accounts_targeted += n;
        // Sources and networks that took part within the look-back.
        let since = self.now_s.saturating_sub(self.cfg.spray_lookback_secs);
        let mut hosts: Vec<(u128, SourceState)> = self
            .hosts
            .iter()
            .filter(|(_, h)| h.last_fail >= since && self.spray_member(h))
            .map(|(k, h)| (*k, *h))
            .collect();
        hosts.sort_unstable_by_key(|(k, _)| *k);
        for (k, h) in hosts {
            self.enrol(
                i,
                false,
                k,
                &h,
                "failed on {} distinct accounts, never succeeded",
            );
        }
        let mut nets: Vec<(u128, SourceState)> = self
            .nets
            .iter()
            .filter(|(k, n)| n.last_fail >= since && self.spray_member_net(**k, n))
            .map(|(k, n)| (*k, *n))
            .collect();
        nets.sort_unstable_by_key(|(k, _)| *k);
        for (k, n) in nets {
            self.enrol(
                i,
                true,
                k,
                &n,
                "failing addresses on {} distinct accounts, no success",
            );
        }
        self.emit_update(i);
    }

    fn spray_member(&self, h: &SourceState) -> bool {
        h.accounts_ok.is_empty()
            && h.accounts_failed.estimate() >= self.cfg.spray_member_min_accounts
    }

    /// A /24 or /64 (`spray_member_net_hosts` failing addresses), or a /48
    /// (`spray_net_min_hosts` failing /64s), failing on as many accounts, where nobody ever
    /// logged in: a network that holds a familiar source of any account has successes.
    fn spray_member_net(&self, key: u128, n: &SourceState) -> bool {
        if is_client_key(key) {
            return false;
        }
        let min = if key & 0xff == 48 {
            self.cfg.spray_net_min_hosts
        } else {
            self.cfg.spray_member_net_hosts
        };
        n.accounts_ok.is_empty()
            && n.spread.estimate() >= min
            && n.accounts_failed.estimate() >= min
    }

    /// Grows a live spray's membership from the source of this failure.
    #[allow(clippy::too_many_arguments)]
    fn grow_spray(
        &mut self,
        i: usize,
        bits: u128,
        host: &SourceState,
        subnet: u128,
        sub: &SourceState,
        site: Option<u128>,
        site_state: Option<&SourceState>,
    ) {
        self.link_earlier(i, bits, host, subnet);
        if self.flagged.host(bits).is_none() && self.spray_member(host) {
            self.enrol(
                i,
                false,
                bits,
                host,
                "failed on {} distinct accounts, never succeeded",
            );
        }
        if self.flagged.net(subnet).is_none() && self.spray_member_net(subnet, sub) {
            self.enrol(
                i,
                true,
                subnet,
                sub,
                "failing addresses on {} distinct accounts, no success",
            );
        }
        if let (Some(k), Some(s)) = (site, site_state)
            && self.flagged.net(k).is_none()
            && self.spray_member_net(k, s)
        {
            self.enrol(
                i,
                true,
                k,
                s,
                "failing /64s on {} distinct accounts, no success",
            );
        }
    }

    /// The long horizon, by shared sources: a source (or its /24 or /64) already flagged in an
    /// earlier campaign — weeks of probing — now takes part in live spray `i`. The spray
    /// names it among its sources and its first sighting reaches back to that campaign's
    /// start (and the source's own first failure, if still held).
    fn link_earlier(&mut self, i: usize, bits: u128, host: &SourceState, subnet: u128) {
        let found = self
            .flagged
            .host(bits)
            .map(|f| (f, bits, false))
            .or_else(|| self.flagged.net(subnet).map(|f| (f, subnet, true)));
        let Some((f, key, is_net)) = found else {
            return;
        };
        let earlier = self.flagged.campaign[f as usize] as usize;
        if earlier == i || self.campaigns[earlier].first_seen >= self.campaigns[i].detected_at {
            return;
        }
        let prefix = if is_net {
            net_prefix(key)
        } else {
            host_prefix(key)
        };
        if self.campaigns[i].linked.iter().any(|(p, _)| *p == prefix)
            || self.campaigns[i].linked.len() >= crate::campaign::MAX_LINKED
        {
            return;
        }
        let horizon = self.now_s.saturating_sub(self.cfg.horizon_secs);
        let back = self.campaigns[earlier].first_seen;
        if crate::keys::secs(back) < horizon {
            return;
        }
        self.campaigns[i].link_first_seen(back);
        if !is_net && host.first_fail >= horizon {
            self.campaigns[i].link_first_seen(ts(host.first_fail));
        }
        let name = self.campaigns[earlier].name();
        self.campaigns[i].linked.push((prefix, name));
        self.campaigns[i].dirty = true;
    }

    fn enrol(&mut self, i: usize, is_net: bool, key: u128, s: &SourceState, why: &str) {
        let horizon = self.now_s.saturating_sub(self.cfg.horizon_secs);
        if s.first_fail >= horizon {
            self.campaigns[i].link_first_seen(ts(s.first_fail));
        }
        // The long horizon: earlier probes from the address's /24 or /48 with no success.
        if !is_net && !is_client_key(key) {
            let wider = if is_v4(key) {
                net_key(key, NetLevel::Subnet)
            } else {
                net_key(key, NetLevel::Site)
            };
            if let Some(w) = wider
                && let Some(n) = self.nets.get(&w)
                && n.accounts_ok.is_empty()
                && n.first_fail >= horizon
            {
                let t = ts(n.first_fail);
                self.campaigns[i].link_first_seen(t);
            }
        }
        let prefix = if is_net {
            net_prefix(key)
        } else {
            host_prefix(key)
        };
        let reason = why.replace("{}", &s.accounts_failed.estimate().to_string());
        self.flag(is_net, key, prefix, i, reason);
        self.resolve_provisional(i, is_net, key);
    }

    fn target(&mut self, i: usize, akey: u64, name: &str) {
        let cap = self.cfg.report_max_accounts;
        let c = &mut self.campaigns[i];
        c.accounts_targeted += 1;
        if c.accounts.len() < cap
            && let Some(a) = self.accounts.get_mut(&akey)
            && !a.has(NAMED)
        {
            a.flags |= NAMED;
            c.accounts.push(name.to_string());
        }
    }

    fn name_target(&mut self, i: usize, akey: u64, name: &str) {
        let cap = self.cfg.report_max_accounts;
        let c = &mut self.campaigns[i];
        if c.accounts.len() < cap
            && let Some(a) = self.accounts.get_mut(&akey)
            && a.campaign == i as u32 + 1
            && !a.has(NAMED)
        {
            a.flags |= NAMED;
            c.accounts.push(name.to_string());
        }
    }

    fn flag(&mut self, is_net: bool, key: u128, prefix: Prefix, i: usize, reason: String) {
        let name = self.campaigns[i].name();
        if let Some(idx) = self
            .flagged
            .add(is_net, key, prefix, i as u32, name, self.now, reason)
        {
            self.campaigns[i].sources += 1;
            self.campaigns[i].dirty = true;
            if !is_net && is_client_key(key) {
                // A workstation has no address to report or block by: the campaign names it
                // and the accounts that failed from it.
                self.flagged.client[idx] = true;
                let label = self.label(key);
                let cap = self.cfg.report_max_accounts;
                let failed = self.clients.get(&key).map(|c| c.failed.clone());
                let c = &mut self.campaigns[i];
                if c.clients.len() < crate::campaign::MAX_LINKED {
                    c.clients.push(label);
                }
                for a in failed.unwrap_or_default() {
                    if c.accounts.len() < cap && !c.accounts.iter().any(|x| **x == *a) {
                        c.accounts.push(a.into());
                    }
                }
            } else {
                let f = self.flagged.list[idx].clone();
                self.push(Finding::SourceFlagged(f));
            }
            if !is_net {
                self.resolve_recent(i, key);
            }
        }
    }

    /// Remembers a workstation's name (and, for a failure, the account) for reports.
    fn remember_client(&mut self, key: u128, ev: &AuthEvent, failed: bool) {
        let Some(name) = workstation(ev) else {
            return;
        };
        if !self.clients.contains_key(&key) {
            if self.clients.len() >= MAX_CLIENTS {
                return;
            }
            let info = ClientInfo {
                name: name.into(),
                failed: Vec::new(),
            };
            self.clients.insert(key, info);
        }
        if !failed || ev.account.name.is_empty() {
            return;
        }
        if let Some(c) = self.clients.get_mut(&key) {
            // The failure is counted after this; like the source's sketches, the list starts
            // again when the last failure is older than `source_memory_secs`.
            let fresh = self.hosts.get(&key).is_some_and(|h| {
                h.last_fail != 0
                    && self.now_s.saturating_sub(h.last_fail) > self.cfg.source_memory_secs
            });
            if fresh {
                c.failed.clear();
            }
            if c.failed.len() < CLIENT_ACCOUNTS && !c.failed.iter().any(|a| **a == *ev.account.name)
            {
                c.failed.push(ev.account.name.as_str().into());
            }
        }
    }

    /// How a source key reads in reasons and evidence: the address, or the workstation name.
    fn label(&self, bits: u128) -> String {
        if is_client_key(bits) {
            match self.clients.get(&bits) {
                Some(c) => format!("workstation {}", c.name),
                None => "a workstation".to_string(),
            }
        } else {
            host_prefix(bits).to_string()
        }
    }

    fn emit_update(&mut self, i: usize) {
        let c = &mut self.campaigns[i];
        c.dirty = false;
        c.last_update = self.now_s;
        // A finding carries the newest sources only (each was its own `source_flagged`
        // finding); the report lists them all.
        let mut sources: Vec<Prefix> = self
            .flagged
            .list
            .iter()
            .zip(&self.flagged.campaign)
            .zip(&self.flagged.client)
            .rev()
            .filter(|((_, k), client)| **k == i as u32 && !**client)
            .take(FINDING_MAX_SOURCES)
            .map(|((f, _), _)| f.source)
            .collect();
        sources.reverse();
        let mut rep = c.to_report(sources);
        rep.accounts.truncate(FINDING_MAX_SOURCES);
        rep.accounts.shrink_to_fit();
        self.push(Finding::CampaignUpdated(rep));
    }

    fn push(&mut self, f: Finding) {
        if self.findings.len() < self.max_findings {
            self.findings.push(f);
        } else {
            self.dropped_findings += 1;
        }
    }
}

/// Why the population signal raised a spray.
fn spray_why(sig: &Signal) -> String {
    format!(
        "raised when {} accounts failed from unfamiliar sources in {} networks in 15 min (threshold {:.0}), {} in 5 min (threshold {:.0}), {:.0} % unknown accounts",
        sig.accounts_15m,
        sig.networks_15m,
        sig.threshold_15m,
        sig.accounts_5m,
        sig.threshold_5m,
        sig.unknown_share * 100.0
    )
}

fn verdict(action: Action, code: &'static str, detail: String) -> Verdict {
    Verdict {
        action,
        reasons: vec![Reason { code, detail }],
    }
}
