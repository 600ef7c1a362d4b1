//! The distributed spray: opening (or continuing) the campaign when the population signal
//! (`population.rs`) or a sprayed password fires, and its membership — the sources, networks
//! and accounts that take part, linked back over the long horizon.
//!
//! Opening a spray is the one step that still walks whole tables: [`Engine::open_spray`] visits
//! every account (to tag the targets of the window that raised it), every address and every
//! network (to enrol those that took part), so that step costs O(`max_accounts` +
//! `max_sources` + `max_networks`) — bounded by the table caps, not by the traffic. It happens
//! once per opening, not per event: while a spray is live, a signal only extends it, and a
//! spray can open again only after `spray_idle_secs` of quiet. The walk is counted in
//! `EngineStats::max_entries_visited_in_one_step`; its time with full tables is not
//! benchmarked yet.

use crate::campaign::CampaignRef;
use crate::engine::Engine;
use crate::keys::{AccountKey, NetLevel, SourceKey, ts};
use crate::population::{LONG, Signal};
use crate::state::{NAMED, SourceState};
use portcullis_core::report::CampaignKind;

/// Why the population signal raised a spray.
pub(crate) fn spray_why(sig: &Signal) -> String {
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

impl Engine {
    /// The population signal fired: open (or continue) the distributed spray and enrol the
    /// sources and accounts that took part so far.
    pub(crate) fn open_spray(&mut self, why: String) {
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
        c.population = true;
        c.live = true;
        c.last_signal = self.now_s;
        c.last_seen = self.now;
        // These walks visit every table once per opening (not per event): counted in the
        // step's visits.
        self.walked += (self.accounts.len() + self.hosts.len() + self.nets.len()) as u64;
        // Accounts that failed in the window that raised it are its targets.
        let first_minute = self.population.minute().saturating_sub(LONG - 1);
        let tag = Some(CampaignRef::new(i));
        let mut n = 0u64;
        for (_, a) in self.accounts.iter_mut() {
            if a.population_minute >= first_minute && a.campaign != tag {
                a.campaign = tag;
                n += 1;
            }
        }
        self.campaigns[i].accounts_targeted += n;
        // Successes from never-used networks within the look-back: held for coming back, as
        // if the spray had been live.
        let adopted = self
            .single_use
            .adopt_recent_cold(self.now_s, self.cfg.spray_lookback_secs);
        self.walked += adopted as u64;
        // Sources and networks that took part within the look-back.
        let since = self.now_s.saturating_sub(self.cfg.spray_lookback_secs);
        let mut hosts: Vec<(SourceKey, SourceState)> = self
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
        let mut nets: Vec<(SourceKey, SourceState)> = self
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
    fn spray_member_net(&self, key: SourceKey, n: &SourceState) -> bool {
        if key.is_workstation() {
            return false;
        }
        let min = if key.prefix_len() == 48 {
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
    pub(crate) fn grow_spray(
        &mut self,
        i: usize,
        bits: SourceKey,
        host: &SourceState,
        subnet: SourceKey,
        sub: &SourceState,
        site: Option<SourceKey>,
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
    fn link_earlier(&mut self, i: usize, bits: SourceKey, host: &SourceState, subnet: SourceKey) {
        let found = self
            .flagged
            .host(bits)
            .map(|f| (f, bits, false))
            .or_else(|| self.flagged.net(subnet).map(|f| (f, subnet, true)));
        let Some((f, key, is_net)) = found else {
            return;
        };
        let earlier = self.flagged.get(f).campaign as usize;
        // (A campaign dropped by `max_campaigns` links nothing: it is gone.)
        let Some(back) = self.campaigns.get(earlier).map(|c| c.first_seen) else {
            return;
        };
        if earlier == i || back >= self.campaigns[i].detected_at {
            return;
        }
        let prefix = if is_net {
            key.net_prefix()
        } else {
            key.host_prefix()
        };
        if self.campaigns[i].linked.iter().any(|(p, _)| *p == prefix)
            || self.campaigns[i].linked.len() >= crate::campaign::MAX_LINKED
        {
            return;
        }
        let horizon = self.now_s.saturating_sub(self.cfg.horizon_secs);
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

    pub(crate) fn enrol(
        &mut self,
        i: usize,
        is_net: bool,
        key: SourceKey,
        s: &SourceState,
        why: &str,
    ) {
        let horizon = self.now_s.saturating_sub(self.cfg.horizon_secs);
        if s.first_fail >= horizon {
            self.campaigns[i].link_first_seen(ts(s.first_fail));
        }
        // The long horizon: earlier probes from the address's /24 or /48 with no success.
        if !is_net && !key.is_workstation() {
            let wider = if key.is_v4() {
                key.net(NetLevel::Subnet)
            } else {
                key.net(NetLevel::Site)
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
            key.net_prefix()
        } else {
            key.host_prefix()
        };
        let reason = why.replace("{}", &s.accounts_failed.estimate().to_string());
        self.flag(is_net, key, prefix, i, reason);
        self.resolve_provisional(i, is_net, key);
    }

    pub(crate) fn target(&mut self, i: usize, akey: AccountKey, name: &str) {
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

    pub(crate) fn name_target(&mut self, i: usize, akey: AccountKey, name: &str) {
        let cap = self.cfg.report_max_accounts;
        let c = &mut self.campaigns[i];
        if c.accounts.len() < cap
            && let Some(a) = self.accounts.get_mut(&akey)
            && a.campaign == Some(CampaignRef::new(i))
            && !a.has(NAMED)
        {
            a.flags |= NAMED;
            c.accounts.push(name.to_string());
        }
    }
}
