//! The campaign tracker: named attacks, the sources flagged as taking part, compromised and
//! at-risk accounts, and their rendering as report v1 types.

use crate::keys::{FixedMap, Secs, fixed_map};
use portcullis_core::report::{Campaign, CampaignKind, FlaggedSource};
use portcullis_core::{Prefix, Timestamp};

/// A campaign as the engine tracks it.
#[derive(Clone, Debug)]
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
}

/// Earlier-campaign sources a campaign links (named in its sources and summary).
pub const MAX_LINKED: usize = 64;

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
            live: false,
            last_signal: 0,
            why,
            dirty: false,
            last_update: crate::keys::secs(now),
            linked: Vec::new(),
            clients: Vec::new(),
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

    /// The report form; `sources` are the flagged sources of this campaign.
    pub fn to_report(&self, mut sources: Vec<Prefix>) -> Campaign {
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
        let what = match self.kind {
            CampaignKind::PasswordSpray => "password spray",
            CampaignKind::BruteForce => "brute force",
            CampaignKind::AccountGuessing => "account guessing",
            CampaignKind::UserEnumeration => "user enumeration",
            CampaignKind::CredentialStuffing => "credential stuffing",
        };
        Campaign {
            id: self.name(),
            kind: self.kind,
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
            accounts: self.accounts.clone(),
        }
    }
}

/// Flagged sources: hosts and networks, each once, with the campaign they belong to.
#[derive(Debug)]
pub struct Flagged {
    pub list: Vec<FlaggedSource>,
    /// Campaign index (0-based) of each entry, and when it was flagged.
    pub campaign: Vec<u32>,
    pub at: Vec<Secs>,
    /// The entry is a workstation (a client key with no address): not reported as a source.
    pub client: Vec<bool>,
    hosts: FixedMap<u128, u32>,
    nets: FixedMap<u128, u32>,
    cap: usize,
    /// Flags not recorded because the cap was reached.
    pub dropped: u64,
}

impl Flagged {
    pub fn new(cap: usize) -> Self {
        Flagged {
            list: Vec::new(),
            campaign: Vec::new(),
            at: Vec::new(),
            client: Vec::new(),
            hosts: fixed_map(),
            nets: fixed_map(),
            cap,
            dropped: 0,
        }
    }
    pub fn host(&self, bits: u128) -> Option<u32> {
        self.hosts.get(&bits).copied()
    }
    pub fn net(&self, key: u128) -> Option<u32> {
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
        key: u128,
        source: Prefix,
        campaign: u32,
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
        self.list.push(FlaggedSource {
            source,
            first_flagged: now,
            reason,
            campaign: Some(campaign_name),
        });
        self.campaign.push(campaign);
        self.at.push(crate::keys::secs(now));
        self.client.push(false);
        Some(idx)
    }
    pub fn heap_bytes(&self) -> usize {
        self.list.capacity() * (std::mem::size_of::<FlaggedSource>() + 48)
            + (self.hosts.capacity() + self.nets.capacity()) * 21
    }
}

// The engine side of campaigns: opening them, flagging sources, and their findings.

use crate::api::Finding;
use crate::engine::Engine;
use crate::workstations::is_client_key;

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

impl Engine {
    /// The campaign of `kind` that single-source detections join (recent), or a new one.
    pub(crate) fn campaign_for(&mut self, kind: CampaignKind, why: &str) -> usize {
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

    pub(crate) fn new_campaign(&mut self, kind: CampaignKind, why: String) -> usize {
        let id = self.id_base + self.campaigns.len() as u32 + 1;
        self.campaigns
            .push(CampaignState::new(id, kind, self.now, why));
        let c = self.campaigns.last().expect("just pushed");
        let rep = c.to_report(Vec::new());
        self.push(Finding::CampaignOpened(rep));
        self.campaigns.len() - 1
    }

    pub(crate) fn flag(
        &mut self,
        is_net: bool,
        key: u128,
        prefix: Prefix,
        i: usize,
        reason: String,
    ) {
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

    pub(crate) fn emit_update(&mut self, i: usize) {
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
}
