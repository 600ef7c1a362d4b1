//! Event intake and maintenance: advancing event time (the population baseline, minute and
//! hourly upkeep — the hourly expiry only moves the tables' cut-offs; every step then sweeps
//! at most one shard of each table), and learning from each outcome — familiarity on success,
//! failure counts on the source, its networks and the account — then handing the failure to
//! the detectors.

use crate::campaign::CampaignRef;
use crate::engine::Engine;
use crate::keys::{AccountKey, Secs, SourceKey, secs, ts};
use crate::provisional::Provisional;
use crate::spray::spray_why;
use crate::state::{AT_RISK, KNOWN, SourceState, UNKNOWN, fp32};

use portcullis_core::report::CampaignKind;
use portcullis_core::{AuthEvent, Outcome, Timestamp};

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
        // Credentials presented, result unknown (Windows 4648): `explicit_spray.rs` only.
        Outcome::Attempted => Class::Neutral,
    }
}

/// A failure followed within this many seconds by a success from the same network was a typo.
const TYPO_SECS: u32 = 900;

impl Engine {
    pub(crate) fn tick(&mut self, t: Timestamp) {
        // Small disorder is tolerated: state stays at the latest time seen.
        if t > self.now {
            self.now = t;
            self.now_s = secs(t);
            let live = self.spray.is_some();
            self.population
                .advance(self.now_s / 60, live, self.known_accounts, &self.cfg);
            if self.now_s >= self.next_maintenance {
                self.maintain();
            }
        }
        // A bounded slice of the upkeep, in every step: one shard of each table swept of
        // expired entries, if any are waiting (at most one shard's entries each), and the
        // count of known accounts follows what the sweep dropped.
        self.hosts.sweep_one();
        self.nets.sweep_one();
        self.accounts.sweep_one();
        self.settle_known_accounts();
        self.attribute_single_use();
    }

    /// Every event-time minute: end quiet sprays, emit throttled campaign updates; every hour:
    /// expire idle state (O(shards): the tables reclaim the slots one shard per step).
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
        self.settle_left_rounds();
        self.settle_comebacks();
        let due: Vec<usize> = self
            .campaigns
            .iter()
            .filter(|(_, c)| {
                c.dirty && now.saturating_sub(c.last_update) >= self.cfg.campaign_update_secs
            })
            .map(|(i, _)| i)
            .collect();
        for i in due {
            self.emit_update(i);
        }
        if now >= self.next_expiry {
            self.next_expiry = now.saturating_add(3600);
            let c = &self.cfg;
            self.hosts
                .expire_lazily(now.saturating_sub(c.source_ttl_secs));
            self.nets
                .expire_lazily(now.saturating_sub(c.network_ttl_secs));
            self.accounts
                .expire_lazily(now.saturating_sub(c.account_ttl_secs));
        }
    }

    /// The count of accounts known to exist, less the known accounts the account table
    /// dropped since (swept after expiry, evicted, or found expired and started afresh). It
    /// used to be recounted by a walk of the whole table every hour; now it is kept as the
    /// table goes. After the hourly expiry it lags by the shards not swept yet: a table of
    /// one shard (below 16,384 entries of cap) is swept in the step that crosses the hour, as
    /// the recount was done; a full one (64 shards) within 64 steps.
    fn settle_known_accounts(&mut self) {
        let dropped = self.accounts.take_precious_dropped();
        self.known_accounts = self.known_accounts.saturating_sub(dropped);
    }

    /// The end of every step (`observe`, `check`, `apply`, `restore_familiar`): the known
    /// accounts settled, and the entries the step visited recorded.
    pub(crate) fn end_step(&mut self) {
        self.settle_known_accounts();
        let visited = self.hosts.take_visited()
            + self.nets.take_visited()
            + self.accounts.take_visited()
            + std::mem::take(&mut self.walked);
        self.max_step_visits = self.max_step_visits.max(visited);
    }

    pub(crate) fn learn(&mut self, ev: &AuthEvent, akey: AccountKey, src: Option<SourceKey>) {
        let class = classify(ev.outcome);
        if class == Class::Neutral {
            if let Some(x) = ev.explicit.as_deref()
                && ev.outcome == Outcome::Attempted
            {
                self.explicit_use(ev, x);
            }
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
        let host_fp = fp32(bits.mix());
        let (subnet, site) = bits.nets();
        if bits.is_workstation() {
            self.clients.remember(bits, ev, None);
        }
        let net_fp = fp32(subnet.mix());
        match class {
            Class::Success => {
                self.learn_success(ev, akey, bits, trusted, host_fp, subnet, site, net_fp)
            }
            Class::Guess { unknown } => {
                // Loopback names no host (a local logon, a proxy on the machine itself): its
                // failures are counted by workstation where the log names one, never by address.
                if trusted && bits.ip().is_loopback() {
                    return;
                }
                let acct = self.accounts.get(&akey);
                if has_account
                    && acct.is_some_and(|a| a.familiar_host(host_fp) || a.familiar_net(net_fp))
                {
                    return; // a familiar source's typo: judged apart, never counted
                }
                if bits.is_workstation() {
                    // The failure is counted after this; like the source's sketches, the
                    // workstation's list of accounts starts again when its last failure is
                    // older than `source_memory_secs`.
                    let fresh = self.hosts.get(&bits).is_some_and(|h| {
                        h.last_fail != 0
                            && now.saturating_sub(h.last_fail) > self.cfg.source_memory_secs
                    });
                    self.clients.remember(bits, ev, Some(fresh));
                }
                self.learn_failure(
                    ev,
                    akey,
                    has_account,
                    unknown,
                    bits,
                    trusted,
                    subnet,
                    site,
                    net_fp,
                );
            }
            Class::Neutral => {}
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn learn_success(
        &mut self,
        ev: &AuthEvent,
        akey: AccountKey,
        bits: SourceKey,
        trusted: bool,
        host_fp: u32,
        subnet: SourceKey,
        site: Option<SourceKey>,
        net_fp: u32,
    ) {
        let now = self.now_s;
        if ev.account.name.is_empty() {
            return;
        }
        let mut provisional = false;
        // Trusted sources too: an insider's lucky guess is a compromise like any other.
        // Loopback names no host, and is judged as before (learned, never held).
        if !(trusted && bits.ip().is_loopback()) {
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
                // `cold`: nobody ever logged in from this address's network (its /24, or its
                // /64 and /48), and this is not a login right after a wrong password from the
                // same network (a person mistyping: the attacker's single-use address makes
                // one attempt; on parliament-2017 a quarter of the users accused of a
                // comeback had typed their password twice at the hotel).
                let unused = |k: Option<SourceKey>| {
                    k.is_none_or(|k| self.nets.get(&k).is_none_or(|n| n.accounts_ok.is_empty()))
                };
                let cold = !trusted
                    && !acct.failed_here(net_fp, now, TYPO_SECS)
                    && !acct.familiar_net(net_fp)
                    && self
                        .hosts
                        .get(&bits)
                        .is_none_or(|h| h.accounts_ok.is_empty())
                    && unused(Some(subnet))
                    && unused(site);
                if cold && self.came_back(akey, bits, &ev.account.name) {
                    return; // the attacker's second address: nothing is learned from it
                }
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
                        self.single_use.held(&p, cold);
                        self.provisional.hold(p, self.cfg.spray_idle_secs);
                    } else {
                        if cold {
                            self.single_use
                                .cold_outside_spray(&p, self.cfg.spray_lookback_secs);
                        }
                        self.recent_new.hold(p, self.cfg.spray_idle_secs);
                    }
                }
            }
        }
        let a = self.accounts.entry(akey);
        a.remember_success(now, host_fp, net_fp);
        // A failure just before, from this same network, was the user's own typo: it is not
        // part of any spray signal.
        if a.failed_here(net_fp, now, TYPO_SECS) {
            self.population.uncount(&mut a.population_minute);
            a.take_back();
        }
        if trusted && bits.ip().is_loopback() {
            return;
        }
        if provisional {
            // Not yet evidence that users log in here (it would exempt the address from
            // spray membership); just touch it.
            let h = self.hosts.entry(bits);
            h.last_seen = h.last_seen.max(now);
            return;
        }
        self.source_succeeded(bits, akey, now, trusted);
    }

    /// A source's evidence of a genuine success at `t` (what makes gateways and exempts
    /// addresses from spray membership): its host's, and outside the trusted networks its /24
    /// or /64 and /48 too — a trusted host is judged as itself, never as part of a network.
    pub(crate) fn source_succeeded(
        &mut self,
        bits: SourceKey,
        akey: AccountKey,
        t: Secs,
        trusted: bool,
    ) {
        self.hosts.entry(bits).succeed(t, akey);
        if trusted {
            return;
        }
        let (subnet, site) = bits.nets();
        self.nets.entry(subnet).succeed(t, akey);
        if let Some(s) = site {
            self.nets.entry(s).succeed(t, akey);
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn learn_failure(
        &mut self,
        ev: &AuthEvent,
        akey: AccountKey,
        has_account: bool,
        unknown: bool,
        bits: SourceKey,
        trusted: bool,
        subnet: SourceKey,
        site: Option<SourceKey>,
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
                self.campaigns
                    .get(self.flagged.get(i).campaign as usize)
                    .is_some_and(|c| c.kind == CampaignKind::PasswordSpray && c.live)
            });
        // A host inside the trusted networks is counted as itself only: its /24, /64 and /48
        // hold other users (and gateways) and are never flagged for it.
        let (sub, site, site_state) = if trusted {
            (SourceState::default(), None, None)
        } else {
            let n = self.nets.entry(subnet);
            n.fail(now, akey, unknown, Some(bits.mix()), cfg);
            if counted {
                self.population.count_network(&mut n.population_minute);
            }
            let sub = *n;
            let site_state = site.map(|s| {
                let n = self.nets.entry(s);
                n.fail(now, akey, unknown, Some(subnet.mix()), cfg);
                *n
            });
            (sub, site, site_state)
        };
        let gateway = host.is_gateway(cfg);
        // A never-seen address whose first attempt failed, in a network nobody logged in
        // from: perhaps a spray's single-use address (settled after the grace period).
        if !trusted
            && !gateway
            && !bits.is_workstation()
            && host.failures == 1
            && host.accounts_ok.is_empty()
            && sub.accounts_ok.is_empty()
            && site_state.is_none_or(|s| s.accounts_ok.is_empty())
        {
            self.single_use.first_failure(now, bits);
        }

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
            let prev_fail = a.last_fail;
            a.failed(now, net_fp);
            // An account that exists but has never been seen logging in has no familiar
            // sources yet, so "unfamiliar" means nothing for it: at the start of a log (or of
            // a deployment) its failure is as likely its own device with an old or expired
            // password as a guess. It feeds the population signal once its familiar sources
            // are known; accounts that do not exist always do.
            let judged = unknown || a.familiar_hosts.iter().any(|&h| h != 0);
            if counted && judged {
                self.population
                    .count_failure(&mut a.population_minute, unknown, new_guess);
                if let Some(s) = live
                    && new_guess
                {
                    let since = crate::keys::secs(self.campaigns[s].detected_at)
                        .saturating_sub(cfg.spray_lookback_secs);
                    self.single_use.spray_failure(now, prev_fail, since);
                }
            }
            // What the spray's guesses name, for its kind: accounts that do not exist or
            // were never seen logging in (with Dovecot's default logging a failure does not
            // say whether the account exists) against accounts people use.
            if let Some(s) = live
                && counted
                && new_guess
            {
                let c = &mut self.campaigns[s];
                c.guesses += 1;
                c.unseen_guesses += u64::from(!judged || unknown);
            }
            if let Some(s) = live
                && !gateway
                && a.campaign != Some(CampaignRef::new(s))
            {
                a.campaign = Some(CampaignRef::new(s));
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
                akey.bits(),
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
            let i = self.flagged.get(f).campaign as usize;
            let spray_live = self.spray.is_some();
            // (A campaign dropped by `max_campaigns` is not extended.)
            if self.spray != Some(i)
                && self
                    .campaigns
                    .get(i)
                    .is_some_and(|c| !(spray_live && c.kind == CampaignKind::PasswordSpray))
            {
                let cap = self.cfg.report_max_accounts;
                let client = self.flagged.get(f).workstation;
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
}
