//! The campaign tracker, the engine side of `campaign.rs`: opening campaigns (or joining a
//! recent one), flagging sources in them, and their `campaign_updated` findings.

use crate::api::Finding;
use crate::campaign::{CampaignState, FINDING_MAX_SOURCES, kind_index};
use crate::engine::Engine;
use crate::keys::SourceKey;
use portcullis_core::Prefix;
use portcullis_core::report::CampaignKind;

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
        let id = self.id_base + self.campaigns.opened() as u32 + 1;
        let i = self
            .campaigns
            .push(CampaignState::new(id, kind, self.now, why));
        let rep = self.campaigns[i].to_report(Vec::new());
        self.push(Finding::CampaignOpened(rep));
        // Beyond `max_campaigns`, the campaign seen least recently goes (never a live one, the
        // current or last spray, a kind's current campaign, or this one).
        let (spray, last_spray, by_kind) = (self.spray, self.last_spray, self.by_kind);
        self.campaigns.trim(self.cfg.max_campaigns.max(1), |j| {
            j == i || spray == Some(j) || last_spray == Some(j) || by_kind.contains(&Some(j))
        });
        i
    }

    pub(crate) fn flag(
        &mut self,
        is_net: bool,
        key: SourceKey,
        prefix: Prefix,
        i: usize,
        reason: String,
    ) {
        let name = self.campaigns[i].name();
        let kind = self.campaigns[i].kind;
        if let Some(idx) = self
            .flagged
            .add(is_net, key, prefix, i as u32, kind, name, self.now, reason)
        {
            self.campaigns[i].sources += 1;
            self.campaigns[i].dirty = true;
            if !is_net && key.is_workstation() {
                // A workstation has no address to report or block by: the campaign names it
                // and the accounts that failed from it.
                self.flagged.list[idx].workstation = true;
                let label = self.label(key);
                let cap = self.cfg.report_max_accounts;
                let failed = self.clients.failed_accounts(key);
                let c = &mut self.campaigns[i];
                if c.clients.len() < crate::campaign::MAX_LINKED {
                    c.clients.push(label);
                }
                for a in failed {
                    if c.accounts.len() < cap && !c.accounts.iter().any(|x| **x == *a) {
                        c.accounts.push(a.into());
                    }
                }
            } else {
                let f = self.flagged.list[idx].source.clone();
                let recent = &mut self.campaigns[i].recent_sources;
                if recent.len() == FINDING_MAX_SOURCES {
                    recent.pop_front();
                }
                recent.push_back(f.source);
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
        let sources: Vec<Prefix> = c.recent_sources.iter().copied().collect();
        let rep = c.to_report_with(sources, FINDING_MAX_SOURCES);
        self.push(Finding::CampaignUpdated(rep));
    }
}
