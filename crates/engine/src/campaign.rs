//! The campaign tracker: named attacks, the sources flagged as taking part, compromised and
//! at-risk accounts, and their rendering as report v1 types. Campaigns are held up to
//! `max_campaigns` ([`Campaigns`]): beyond it the campaign seen least recently that has ended
//! goes, while its flags stay (capped by `max_flagged`).

use crate::keys::{FixedMap, Secs, SourceKey, fixed_map};
use portcullis_core::report::{Campaign, CampaignKind, FlaggedSource};
use portcullis_core::{Prefix, Timestamp};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, VecDeque};
use std::num::NonZeroU32;
use std::ops::{Index, IndexMut};

/// A campaign as the engine tracks it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CampaignState {
    /// 1-based; the report id is `c{id}`.
    pub id: u32,
    pub kind: CampaignKind,
    pub first_seen: Timestamp,
    pub detected_at: Timestamp,
    pub last_seen: Timestamp,
    pub attempts: u64,
    pub accounts_targeted: u64,
    pub accounts: Vec<String>,
    pub sources: u64,
    /// Single-use addresses attributed to it (listed among its sources, never blocked).
    pub attributed: u64,
    /// Opened by the population signal (the distributed detector): its reported kind is
    /// decided from its traffic ([`CampaignState::reported_kind`]).
    pub population: bool,
    /// New guesses while live (failures from sources not already flagged by a single-source
    /// detector and not gateways, one per account and network per hour, or per wrong
    /// password), and how many of them named accounts that do not exist or were never seen
    /// logging in.
    pub guesses: u64,
    pub unseen_guesses: u64,
    /// A distributed spray is live (tarpits its targets).
    pub live: bool,
    /// Event time of the last population signal above threshold.
    pub last_signal: Secs,
    pub why: String,
    /// Something changed since the last `campaign_updated` finding, and when that was.
    pub dirty: bool,
    pub last_update: Secs,
    /// Sources flagged in an earlier campaign (probing) that later took part in this one, with
    /// that campaign's name: at most [`MAX_LINKED`].
    pub linked: Vec<(Prefix, String)>,
    /// Workstations flagged in it (sources known only by name: no address to list).
    pub clients: Vec<String>,
    /// Its newest flagged sources (addresses and networks), oldest first, at most
    /// [`FINDING_MAX_SOURCES`]: what a `campaign_updated` finding names, without a walk of
    /// every flag.
    pub recent_sources: VecDeque<Prefix>,
}

/// A reference to a campaign by its index in the engine's list, stored in 4 bytes (with
/// `Option`, none costs nothing: the index is kept plus one in a `NonZeroU32`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct CampaignRef(NonZeroU32);

impl CampaignRef {
    pub fn new(index: usize) -> Self {
        CampaignRef(NonZeroU32::new(index as u32 + 1).expect("campaign index below u32::MAX"))
    }
    pub fn index(self) -> usize {
        self.0.get() as usize - 1
    }
}

/// The campaigns the engine holds, by index (0-based, in the order opened; an index is never
/// given twice), at most a cap of them beyond those in use ([`Campaigns::trim`]). A dropped
/// campaign's flags stay (they are capped by `max_flagged`): its sources are still denied
/// while their flags last, as a closed campaign's are, and nothing else refers to it.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Campaigns {
    held: BTreeMap<usize, CampaignState>,
    opened: usize,
    dropped: u64,
}

impl Campaigns {
    /// Campaigns opened so far, dropped ones included (the next index).
    pub fn opened(&self) -> usize {
        self.opened
    }
    /// Campaigns held.
    pub fn held(&self) -> usize {
        self.held.len()
    }
    /// Campaigns dropped so far by [`Campaigns::trim`].
    pub fn dropped(&self) -> u64 {
        self.dropped
    }
    /// Campaign `i`, unless it was dropped.
    pub fn get(&self, i: usize) -> Option<&CampaignState> {
        self.held.get(&i)
    }
    /// Adds a campaign; returns its index.
    pub fn push(&mut self, c: CampaignState) -> usize {
        let i = self.opened;
        self.held.insert(i, c);
        self.opened += 1;
        i
    }
    /// The campaigns held, by index.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = (usize, &CampaignState)> {
        self.held.iter().map(|(i, c)| (*i, c))
    }
    /// Drops campaigns while more than `cap` are held: each time the one seen least recently
    /// (the lowest index among equals) that is not live and not `in_use`. O(held) per campaign
    /// dropped; it runs when a campaign opens.
    pub fn trim(&mut self, cap: usize, in_use: impl Fn(usize) -> bool) {
        while self.held.len() > cap {
            let oldest = self
                .held
                .iter()
                .filter(|(i, c)| !c.live && !in_use(**i))
                .min_by_key(|(i, c)| (c.last_seen, **i))
                .map(|(i, _)| *i);
            let Some(i) = oldest else {
                return;
            };
            self.held.remove(&i);
            self.dropped += 1;
        }
    }
}

/// Campaign `i`, which the caller knows is held (the current spray, the last one, a kind's
/// current campaign, one just opened): dropping skips those.
impl Index<usize> for Campaigns {
    type Output = CampaignState;
    fn index(&self, i: usize) -> &CampaignState {
        self.held.get(&i).expect("a campaign in use is held")
    }
}

impl IndexMut<usize> for Campaigns {
    fn index_mut(&mut self, i: usize) -> &mut CampaignState {
        self.held.get_mut(&i).expect("a campaign in use is held")
    }
}

/// Earlier-campaign sources a campaign links (named in its sources and summary).
pub const MAX_LINKED: usize = 64;

/// Guesses a population campaign counts before its kind is decided from its traffic.
pub const KIND_MIN_GUESSES: u64 = 40;
/// Share of a population campaign's guesses on unseen accounts (that do not exist or were
/// never seen logging in) from which it is `user_enumeration` (the single-source detector's
/// `enumeration_unknown_share` default).
pub const ENUMERATION_UNSEEN_SHARE: f64 = 0.8;
/// Share of unseen accounts from which a campaign that tries each account about once is
/// `credential_stuffing` (the single-source detector asks the same share of unknown accounts
/// of one address).
pub const STUFFING_UNSEEN_SHARE: f64 = 0.3;
/// Guesses per targeted account below which each account was tried about once.
pub const STUFFING_GUESSES_PER_ACCOUNT: f64 = 1.5;

impl CampaignState {
    pub fn new(id: u32, kind: CampaignKind, now: Timestamp, why: String) -> Self {
        CampaignState {
            id,
            kind,
            first_seen: now,
            detected_at: now,
            last_seen: now,
            attempts: 0,
            accounts_targeted: 0,
            accounts: Vec::new(),
            sources: 0,
            attributed: 0,
            population: false,
            guesses: 0,
            unseen_guesses: 0,
            live: false,
            last_signal: 0,
            why,
            dirty: false,
            last_update: crate::keys::secs(now),
            linked: Vec::new(),
            clients: Vec::new(),
            recent_sources: VecDeque::new(),
        }
    }

    pub fn name(&self) -> String {
        format!("c{}", self.id)
    }

    /// Reaches `first_seen` back to an earlier linked attempt.
    pub fn link_first_seen(&mut self, t: Timestamp) {
        if t < self.first_seen && t.unix_secs() > 0 {
            self.first_seen = t;
        }
    }

    /// What happened, as the report names it. A single-source campaign is what its detector
    /// decided. A campaign of the population signal is decided from its traffic so far, with
    /// no password fingerprint (default logging has none), once it has counted
    /// [`KIND_MIN_GUESSES`] guesses:
    /// * `user_enumeration` when at least [`ENUMERATION_UNSEEN_SHARE`] of them named accounts
    ///   that do not exist or were never seen logging in (*unseen*: Dovecot's default log
    ///   does not say whether a failing account exists; an account nobody logs in to is as
    ///   good as none for this);
    /// * `credential_stuffing` when each account it targeted was tried about once (fewer than
    ///   [`STUFFING_GUESSES_PER_ACCOUNT`] guesses per account) and at least
    ///   [`STUFFING_UNSEEN_SHARE`] of the guesses named unseen accounts: a list of leaked
    ///   pairs from other services, each tried once, many of them not accounts here;
    /// * `password_spray` otherwise: rounds of a few passwords over the organisation's own
    ///   accounts, each account tried again every round.
    ///
    /// The first round of a spray from a bought list with many unknown names reads as stuffing
    /// until its second round; every `campaign_updated` finding carries the current kind.
    pub fn reported_kind(&self) -> CampaignKind {
        if !self.population || self.guesses < KIND_MIN_GUESSES {
            return self.kind;
        }
        let guesses = self.guesses as f64;
        let unseen = self.unseen_guesses as f64 / guesses;
        if unseen >= ENUMERATION_UNSEEN_SHARE {
            CampaignKind::UserEnumeration
        } else if unseen >= STUFFING_UNSEEN_SHARE
            && guesses < STUFFING_GUESSES_PER_ACCOUNT * self.accounts_targeted.max(1) as f64
        {
            CampaignKind::CredentialStuffing
        } else {
            self.kind
        }
    }

    /// The report form; `sources` are the flagged sources of this campaign.
    pub fn to_report(&self, sources: Vec<Prefix>) -> Campaign {
        self.to_report_with(sources, usize::MAX)
    }

    /// The report form naming at most `max_accounts` of its accounts (the first named;
    /// `accounts_targeted` is the full count).
    pub fn to_report_with(&self, mut sources: Vec<Prefix>, max_accounts: usize) -> Campaign {
        let mut linked = String::new();
        if !self.linked.is_empty() {
            let mut from: Vec<&str> = self.linked.iter().map(|(_, c)| c.as_str()).collect();
            from.sort_unstable();
            from.dedup();
            linked = format!(
                "; {} sources flagged earlier in {} took part: probing linked, first seen {}",
                self.linked.len(),
                from.join(", "),
                self.first_seen
            );
            for (p, _) in &self.linked {
                if !sources.contains(p) {
                    sources.push(*p);
                }
            }
        }
        if self.attributed > 0 {
            linked = format!(
                "{linked}; {} single-use addresses attributed (one attempt each, in networks nobody logged in from: failures with nothing after them, and the successes of the accounts named compromised by what followed): listed, not blocked",
                self.attributed
            );
        }
        if !self.clients.is_empty() {
            linked = format!(
                "{linked}; from {} (no usable address): {}",
                if self.clients.len() == 1 {
                    "one workstation"
                } else {
                    "workstations"
                },
                self.clients.join(", ")
            );
        }
        let kind = self.reported_kind();
        let what = match kind {
            CampaignKind::PasswordSpray => "password spray",
            CampaignKind::BruteForce => "brute force",
            CampaignKind::AccountGuessing => "account guessing",
            CampaignKind::UserEnumeration => "user enumeration",
            CampaignKind::CredentialStuffing => "credential stuffing",
        };
        Campaign {
            id: self.name(),
            kind,
            first_seen: self.first_seen,
            detected_at: self.detected_at,
            last_seen: self.last_seen,
            sources,
            accounts_targeted: self.accounts_targeted,
            attempts: self.attempts,
            summary: format!(
                "{what}: {} accounts targeted, {} sources flagged, {} attempts; {}{linked}",
                self.accounts_targeted, self.sources, self.attempts, self.why
            ),
            accounts: self.accounts[..self.accounts.len().min(max_accounts)].to_vec(),
        }
    }
}

/// One flagged source (an address, a network, or a workstation) and its campaign.
#[derive(Debug, Serialize, Deserialize)]
pub struct Flag {
    /// The report form (source, first flagged, reason, campaign name).
    pub source: FlaggedSource,
    /// Campaign index (0-based) it belongs to, and that campaign's kind (for the verdict,
    /// should the campaign be dropped before the flag).
    pub campaign: u32,
    pub kind: CampaignKind,
    /// When it was flagged.
    pub at: Secs,
    /// A workstation (a client key with no address): not reported as a source.
    pub workstation: bool,
}

/// Flagged sources: hosts and networks, each once, with the campaign they belong to; indexed
/// by key.
#[derive(Debug, Serialize, Deserialize)]
pub struct Flagged {
    pub list: Vec<Flag>,
    #[serde(with = "crate::snapshot::fixed")]
    hosts: FixedMap<SourceKey, u32>,
    #[serde(with = "crate::snapshot::fixed")]
    nets: FixedMap<SourceKey, u32>,
    cap: usize,
    /// Flags not recorded because the cap was reached.
    pub dropped: u64,
}

impl Flagged {
    pub fn new(cap: usize) -> Self {
        Flagged {
            list: Vec::new(),
            hosts: fixed_map(),
            nets: fixed_map(),
            cap,
            dropped: 0,
        }
    }
    pub fn host(&self, bits: SourceKey) -> Option<u32> {
        self.hosts.get(&bits).copied()
    }
    pub fn net(&self, key: SourceKey) -> Option<u32> {
        self.nets.get(&key).copied()
    }
    pub fn len(&self) -> usize {
        self.list.len()
    }
    /// Records a flag; returns its index, or `None` when already flagged or full.
    #[allow(clippy::too_many_arguments)]
    pub fn add(
        &mut self,
        is_net: bool,
        key: SourceKey,
        source: Prefix,
        campaign: u32,
        kind: CampaignKind,
        campaign_name: String,
        now: Timestamp,
        reason: String,
    ) -> Option<usize> {
        let map = if is_net {
            &mut self.nets
        } else {
            &mut self.hosts
        };
        if map.contains_key(&key) {
            return None;
        }
        if self.list.len() >= self.cap {
            self.dropped += 1;
            return None;
        }
        let idx = self.list.len();
        map.insert(key, idx as u32);
        self.list.push(Flag {
            source: FlaggedSource {
                source,
                first_flagged: now,
                reason,
                campaign: Some(campaign_name),
            },
            campaign,
            kind,
            at: crate::keys::secs(now),
            workstation: false,
        });
        Some(idx)
    }
    /// The flag at `idx` (an index from [`Flagged::host`] or [`Flagged::net`]).
    pub fn get(&self, idx: u32) -> &Flag {
        &self.list[idx as usize]
    }
    pub fn heap_bytes(&self) -> usize {
        self.list.capacity() * (std::mem::size_of::<Flag>() + 48)
            + (self.hosts.capacity() + self.nets.capacity()) * 21
    }
}

pub(crate) fn kind_index(k: CampaignKind) -> usize {
    match k {
        CampaignKind::BruteForce => 0,
        CampaignKind::AccountGuessing => 1,
        CampaignKind::PasswordSpray => 2,
        CampaignKind::UserEnumeration => 3,
        CampaignKind::CredentialStuffing => 4,
    }
}

/// Sources (and accounts) named in one `campaign_opened` / `campaign_updated` finding.
pub const FINDING_MAX_SOURCES: usize = 100;

#[cfg(test)]
mod tests {
    use super::*;

    fn population(guesses: u64, unseen: u64, accounts: u64) -> CampaignState {
        let mut c = CampaignState::new(
            1,
            CampaignKind::PasswordSpray,
            Timestamp::from_unix_micros(0),
            String::new(),
        );
        c.population = true;
        c.guesses = guesses;
        c.unseen_guesses = unseen;
        c.accounts_targeted = accounts;
        c
    }

    #[test]
    fn a_population_campaign_is_named_from_its_traffic() {
        // Rounds over the organisation's own accounts: each tried again and again.
        assert_eq!(
            population(4_000, 100, 1_000).reported_kind(),
            CampaignKind::PasswordSpray
        );
        // One round so far, few unknown names: still a spray.
        assert_eq!(
            population(1_000, 30, 1_000).reported_kind(),
            CampaignKind::PasswordSpray
        );
        // A leaked list: each pair once, half the names not accounts here.
        assert_eq!(
            population(1_000, 500, 1_000).reported_kind(),
            CampaignKind::CredentialStuffing
        );
        // The same share of unknown names, tried round after round: a spray from a bought list.
        assert_eq!(
            population(3_000, 1_500, 1_000).reported_kind(),
            CampaignKind::PasswordSpray
        );
        // Mostly invented names.
        assert_eq!(
            population(1_000, 900, 1_000).reported_kind(),
            CampaignKind::UserEnumeration
        );
        // Too little traffic to say: the detector's kind.
        assert_eq!(
            population(30, 30, 30).reported_kind(),
            CampaignKind::PasswordSpray
        );
        // Single-source campaigns keep their detector's kind.
        let mut c = population(1_000, 900, 1_000);
        c.population = false;
        assert_eq!(c.reported_kind(), CampaignKind::PasswordSpray);
        assert_eq!(c.to_report(Vec::new()).kind, CampaignKind::PasswordSpray);
        assert_eq!(
            population(1_000, 500, 1_000).to_report(Vec::new()).kind,
            CampaignKind::CredentialStuffing
        );
    }
}
