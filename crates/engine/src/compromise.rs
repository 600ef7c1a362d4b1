//! Compromise resolution: successes that were an attacker's — from a flagged source, after
//! taking part in a spray or in guessing the account, held successes whose source is flagged
//! later, and successes a sprayed password's round skipped.

use crate::api::Finding;
use crate::campaign::kind_index;
use crate::engine::Engine;
use crate::keys::{AccountKey, SourceKey, ts};
use crate::provisional::Provisional;
use crate::state::{AT_RISK, AccountState, COMPROMISED};
use portcullis_core::Timestamp;
use portcullis_core::report::{CampaignKind, CompromisedAccount};

impl Engine {
    /// Address `key` was just flagged in campaign `i`: its successes in the last
    /// `spray_idle_secs` that were new to their account (address and network), outside a live
    /// spray, were lucky guesses from it.
    pub(crate) fn resolve_recent(&mut self, i: usize, key: SourceKey) {
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

    pub(crate) fn withdraw_familiarity(&mut self, p: &Provisional) {
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
    pub(crate) fn resolve_provisional(&mut self, i: usize, is_net: bool, key: SourceKey) {
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
    pub(crate) fn settle_rounds(&mut self) {
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
                        !a.has(COMPROMISED)
                            && !a.tried_password(fp)
                            && (wide || a.campaign.is_some())
                    })
            };
            let scanned = self.provisional.slots() + self.recent_new.slots();
            let mut found = self.provisional.take_matching(skipped);
            found.extend(self.recent_new.take_matching(skipped));
            self.walked += scanned as u64;
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

    /// The campaign of flag `idx`, unless `max_campaigns` dropped it (a compromise through
    /// it is then recorded without a campaign).
    fn held_campaign(&self, idx: u32) -> Option<u32> {
        let c = self.flagged.get(idx).campaign;
        self.campaigns.get(c as usize).map(|_| c)
    }

    /// Why a success from an unfamiliar address looks like an attacker's, if it does.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn compromise_evidence(
        &self,
        acct: &AccountState,
        akey: AccountKey,
        name: &str,
        bits: SourceKey,
        subnet: SourceKey,
        site: Option<SourceKey>,
        net_fp: u32,
    ) -> Option<(Option<u32>, String)> {
        let cfg = &self.cfg;
        let host = self.hosts.get(&bits);
        let gateway = host.is_some_and(|h| h.is_gateway(cfg));
        if let Some(idx) = self.flagged.host(bits) {
            return Some((
                self.held_campaign(idx),
                format!("success from {} flagged in the campaign", self.label(bits)),
            ));
        }
        let net_familiar = acct.familiar_net(net_fp);
        if !net_familiar && !gateway {
            for k in std::iter::once(subnet).chain(site) {
                if let Some(idx) = self.flagged.net(k) {
                    return Some((
                        self.held_campaign(idx),
                        format!(
                            "success from {} inside {} flagged in the campaign",
                            self.label(bits),
                            k.net_prefix()
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
        // (A campaign dropped by `max_campaigns` had ended long before.)
        if let Some(targeted) = acct.campaign
            && let Some(c) = self.campaigns.get(targeted.index())
        {
            let recent =
                c.live || self.now.secs_since(c.last_seen) < i64::from(cfg.spray_idle_secs);
            if recent {
                // "Another account" that is a near miss of this one's name, just before, was
                // the user mistyping their own name (crate::typos), not an attacker's try.
                if let Some(h) = host
                    && h.accounts_failed.estimate_without(akey.bits()) >= 1
                    && h.accounts_ok.is_empty()
                    && !(h.accounts_failed.estimate_without(akey.bits()) == 1
                        && self.typos.near_miss_of(bits, name, self.now_s))
                {
                    return Some((
                        Some(targeted.index() as u32),
                        format!(
                            "success from {} after it failed for {} other accounts, during {}",
                            self.label(bits),
                            h.accounts_failed.estimate_without(akey.bits()),
                            c.name()
                        ),
                    ));
                }
                if let Some(n) = self.nets.get(&subnet)
                    && n.accounts_ok.is_empty()
                    && n.spread.estimate() >= 2
                    && n.accounts_failed.estimate_without(akey.bits()) >= 1
                {
                    return Some((
                        Some(targeted.index() as u32),
                        format!(
                            "success from {} whose network {} failed from {} addresses, during {}",
                            self.label(bits),
                            subnet.net_prefix(),
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
                h.accounts_failed.contains(akey.bits())
                    && h.accounts_ok.is_empty()
                    && (distinct_passwords || h.accounts_failed.estimate_without(akey.bits()) >= 1)
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

    /// Names the account compromised from `bits`, and flags that source in the campaign.
    pub(crate) fn record_compromise(
        &mut self,
        account: &str,
        at: Timestamp,
        akey: AccountKey,
        bits: SourceKey,
        campaign: Option<u32>,
        evidence: String,
    ) {
        self.name_compromise(account, at, akey, bits, campaign, evidence, true);
    }

    /// Names the account compromised from `bits`; `flag_source`: flag that source in the
    /// campaign too (not for an address that spent itself on this one success: it will not
    /// come back to be refused, and when the evidence is what happened *after* the success,
    /// flagging it would only add a traveller's hotel to the list when the evidence is wrong).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn name_compromise(
        &mut self,
        account: &str,
        at: Timestamp,
        akey: AccountKey,
        bits: SourceKey,
        campaign: Option<u32>,
        evidence: String,
        flag_source: bool,
    ) {
        let a = self.accounts.entry(akey);
        if a.has(COMPROMISED) {
            return;
        }
        a.flags |= COMPROMISED;
        if let Some(c) = campaign.filter(|_| flag_source) {
            let name = self.campaigns[c as usize].name();
            let reason = format!("success for {account} while taking part in {name}");
            self.flag(false, bits, bits.host_prefix(), c as usize, reason);
            // Flagged here rather than enrolled: its earlier provisional successes (lucky
            // guesses before anything was known about it) are compromises too.
            self.resolve_provisional(c as usize, false, bits);
        }
        let ca = CompromisedAccount {
            account: account.to_string(),
            at,
            source: (!bits.is_workstation()).then(|| bits.host_prefix()),
            campaign: campaign.map(|c| self.campaigns[c as usize].name()),
            evidence,
        };
        self.push(Finding::AccountCompromised(ca.clone()));
        if self.compromised.len() >= self.cfg.max_compromised.max(1) {
            self.compromised.pop_front();
            self.dropped_compromised += 1;
        }
        self.compromised.push_back(ca);
    }
}
