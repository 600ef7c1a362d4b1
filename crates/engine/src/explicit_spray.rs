//! Outgoing spray from one workstation: one account on one machine presenting the credentials
//! of many *other* accounts within minutes (Windows 4648, "a logon was attempted using explicit
//! credentials", which the attacking machine writes before each attempt; the attempts
//! themselves land on domain controllers and servers, often in logs nobody collects).
//!
//! Keyed on (subject account, workstation): when one pair presents the credentials of
//! `explicit_spray_targets` distinct accounts with no more than `explicit_spray_window_secs`
//! between the first and the last, the workstation is flagged in a `password_spray` campaign,
//! as the single-source detectors flag a workstation (`workstations.rs`: sourceless Windows
//! events are keyed on the machine's name); later targets of the pair join the campaign.
//! Such events carry [`Outcome::Attempted`](portcullis_core::Outcome::Attempted) and are
//! nothing else to the engine: never a failure of the target's password, never a login.
//!
//! Benign use of explicit credentials is one subject with one or two targets, often repeated
//! (`runas` to the user's own admin account, a scheduled task or service as its account, a
//! mapped drive or RDP connection with saved credentials): repeats of a target count once, a
//! subject presenting its own credentials counts nothing, and a process running as the
//! machine itself (SYSTEM: how sshd, winlogon for RDP and IIS log users on, one 4648 per
//! incoming logon, whose outcomes are the same machine's 4624/4625) is not counted.
//! Subjects that legitimately use many accounts' credentials (a password vault verifying
//! them, a backup server with one account per host) are named in
//! `explicit_spray_exempt_subjects`.
//!
//! Bounded: at most [`MAX_PAIRS`] pairs, each holding at most `explicit_spray_targets` (and at
//! most [`MAX_TARGETS`]) recent targets; when full, pairs idle for longer than the window go,
//! and a new pair that still finds no room is not tracked (counted in `dropped`).

use crate::campaign::CampaignRef;
use crate::engine::Engine;
use crate::keys::{AccountKey, FixedMap, Secs, SourceKey, fixed_map, ts};
use portcullis_core::event::ExplicitCredentials;
use portcullis_core::report::CampaignKind;
use portcullis_core::{Account, AuthEvent};
use serde::{Deserialize, Serialize};

/// (subject, workstation) pairs tracked at once, at most.
pub const MAX_PAIRS: usize = 16_384;
/// Distinct targets held per pair, at most, whatever `explicit_spray_targets` says.
pub const MAX_TARGETS: usize = 256;
/// Target names are held to this many bytes (no real account name is longer).
pub const MAX_NAME: usize = 128;

/// One subject on one workstation: its recent distinct targets and when each was last used.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Uses {
    last: Secs,
    /// The start of the current run of uses (reset when every target has aged out).
    since: Secs,
    attempts: u32,
    /// Recent distinct targets: key, last use, name (at most [`MAX_NAME`] bytes).
    targets: Vec<(AccountKey, Secs, Box<str>)>,
    /// The campaign this pair was raised in, once it was.
    raised: Option<CampaignRef>,
}

/// Explicit-credential uses per (subject, workstation).
#[derive(Debug, Serialize, Deserialize)]
pub struct ExplicitUses {
    #[serde(with = "crate::snapshot::fixed")]
    pairs: FixedMap<(AccountKey, SourceKey), Uses>,
    cap: usize,
    dropped: u64,
}

impl Default for ExplicitUses {
    fn default() -> Self {
        ExplicitUses::new(MAX_PAIRS)
    }
}

/// What one use changed.
enum Use {
    /// Not counted (a repeat, or too little yet).
    Quiet,
    /// The pair reached the threshold now: its recent distinct targets' names, its attempts
    /// and the start of the run.
    Raise {
        targets: Vec<String>,
        attempts: u32,
        since: Secs,
    },
    /// A pair raised earlier used a target (`new`: one not among its recent ones).
    Raised { campaign: CampaignRef, new: bool },
}

impl ExplicitUses {
    /// Tracks at most `cap` pairs (at least 16, at most [`MAX_PAIRS`]).
    pub fn new(cap: usize) -> Self {
        ExplicitUses {
            pairs: fixed_map(),
            cap: cap.clamp(16, MAX_PAIRS),
            dropped: 0,
        }
    }

    /// `subject` on `workstation` presented `target`'s credentials (named `name`) at `now`.
    #[allow(clippy::too_many_arguments)]
    fn record(
        &mut self,
        subject: AccountKey,
        workstation: SourceKey,
        target: AccountKey,
        name: &str,
        now: Secs,
        threshold: u32,
        window: Secs,
    ) -> Use {
        let key = (subject, workstation);
        if !self.pairs.contains_key(&key) && self.pairs.len() >= self.cap {
            self.pairs
                .retain(|_, u| now.saturating_sub(u.last) <= window);
            if self.pairs.len() >= self.cap {
                self.dropped += 1;
                return Use::Quiet;
            }
        }
        let u = self.pairs.entry(key).or_default();
        u.targets
            .retain(|(_, t, _)| now.saturating_sub(*t) <= window);
        if u.targets.is_empty() {
            // A new run: the last one (raised or not) is over.
            u.since = now;
            u.attempts = 0;
            u.raised = None;
        }
        u.last = u.last.max(now);
        u.attempts = u.attempts.saturating_add(1);
        let new = match u.targets.iter_mut().find(|(k, _, _)| *k == target) {
            Some((_, t, _)) => {
                *t = (*t).max(now);
                false
            }
            None => {
                let room = (threshold.max(1) as usize).min(MAX_TARGETS);
                if u.targets.len() >= room {
                    // Full: the target used least recently makes way.
                    if let Some(oldest) = (0..u.targets.len()).min_by_key(|&i| u.targets[i].1) {
                        u.targets.swap_remove(oldest);
                    }
                }
                let mut end = name.len().min(MAX_NAME);
                while !name.is_char_boundary(end) {
                    end -= 1;
                }
                u.targets.push((target, now, name[..end].into()));
                true
            }
        };
        if let Some(campaign) = u.raised {
            return Use::Raised { campaign, new };
        }
        if new && u.targets.len() >= threshold.max(1) as usize {
            let mut targets = u.targets.clone();
            targets.sort_by_key(|(_, t, _)| *t);
            return Use::Raise {
                targets: targets.into_iter().map(|(_, _, n)| n.into()).collect(),
                attempts: u.attempts,
                since: u.since,
            };
        }
        Use::Quiet
    }

    fn mark_raised(&mut self, subject: AccountKey, workstation: SourceKey, c: CampaignRef) {
        if let Some(u) = self.pairs.get_mut(&(subject, workstation)) {
            u.raised = Some(c);
        }
    }

    /// Pairs held.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.pairs.len()
    }

    /// New pairs not tracked because the table was full of active ones.
    #[cfg(test)]
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    pub fn heap_bytes(&self) -> usize {
        self.pairs.capacity() * (std::mem::size_of::<((AccountKey, SourceKey), Uses)>() + 1)
            + self
                .pairs
                .values()
                .map(|u| {
                    u.targets.capacity() * std::mem::size_of::<(AccountKey, Secs, Box<str>)>()
                        + u.targets.iter().map(|(_, _, n)| n.len()).sum::<usize>()
                })
                .sum::<usize>()
    }
}

impl Engine {
    /// An [`Outcome::Attempted`](portcullis_core::Outcome::Attempted) event with its
    /// explicit-credential details: counted per (subject, workstation), raised at the
    /// threshold.
    pub(crate) fn explicit_use(&mut self, ev: &AuthEvent, x: &ExplicitCredentials) {
        let Some(subject) = x.subject.as_ref().filter(|s| !s.name.is_empty()) else {
            return; // the machine itself: a local service logging users on
        };
        let target = &ev.account.name;
        if target.is_empty() || *target == subject.name || self.exempt(subject) {
            return;
        }
        let Some(name) = crate::workstations::workstation(ev) else {
            return;
        };
        let ws = SourceKey::of_workstation(name);
        self.clients.remember(ws, ev, None);
        let skey = AccountKey::of(&subject.name);
        let (threshold, window) = (
            self.cfg.explicit_spray_targets,
            self.cfg.explicit_spray_window_secs,
        );
        let now = self.now_s;
        match self.explicit.record(
            skey,
            ws,
            AccountKey::of(target),
            target,
            now,
            threshold,
            window,
        ) {
            Use::Quiet => {}
            Use::Raised { campaign, new } => {
                let i = campaign.index();
                let cap = self.cfg.report_max_accounts;
                if self.campaigns.get(i).is_some() {
                    // (A campaign dropped by `max_campaigns` is not extended.)
                    let c = &mut self.campaigns[i];
                    c.attempts += 1;
                    c.last_seen = self.now;
                    c.dirty = true;
                    if new && !c.accounts.iter().any(|a| a == target) {
                        c.accounts_targeted += 1;
                        if c.accounts.len() < cap {
                            c.accounts.push(target.clone());
                        }
                    }
                }
            }
            Use::Raise {
                targets,
                attempts,
                since,
            } => {
                let reason = format!(
                    "{} on workstation {name} used explicit credentials (Windows 4648) for {} distinct accounts since {}",
                    subject.raw,
                    targets.len(),
                    ts(since)
                );
                let idx = match self.spray {
                    Some(i) => i,
                    None => self.campaign_for(CampaignKind::PasswordSpray, &reason),
                };
                let cap = self.cfg.report_max_accounts;
                let c = &mut self.campaigns[idx];
                c.link_first_seen(ts(since));
                c.attempts += u64::from(attempts);
                c.last_seen = self.now;
                c.dirty = true;
                for a in targets {
                    if !c.accounts.contains(&a) {
                        c.accounts_targeted += 1;
                        if c.accounts.len() < cap {
                            c.accounts.push(a);
                        }
                    }
                }
                if self.flagged.host(ws).is_none() {
                    self.flag(false, ws, ws.host_prefix(), idx, reason);
                }
                // The campaign names the workstation (`flag`); and who used it.
                let label = self.label(ws);
                let by = format!("{label} (explicit credentials of {})", subject.raw);
                let c = &mut self.campaigns[idx];
                if let Some(l) = c.clients.iter_mut().find(|l| **l == label) {
                    *l = by;
                } else if c.clients.len() < crate::campaign::MAX_LINKED && !c.clients.contains(&by)
                {
                    c.clients.push(by);
                }
                self.explicit.mark_raised(skey, ws, CampaignRef::new(idx));
            }
        }
    }

    fn exempt(&self, subject: &Account) -> bool {
        self.cfg
            .explicit_spray_exempt_subjects
            .iter()
            .any(|s| Account::from_raw(s).name == subject.name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::Action;
    use crate::config::EngineConfig;
    use portcullis_core::report::{CampaignKind, InputSummary, Report};
    use portcullis_core::{Outcome, Protocol, Timestamp};

    const T0: i64 = 1_700_000_000;

    /// A 4648 as the parser makes it: `subject` (none: the machine itself) on `ws` presenting
    /// `target`'s credentials to `server`.
    fn use_(secs: i64, subject: Option<&str>, ws: &str, target: &str) -> AuthEvent {
        let mut e = AuthEvent::new(
            Timestamp::from_unix_secs(T0 + secs),
            Protocol::Windows,
            Account::from_raw(target),
            None,
            Outcome::Attempted,
        );
        e.client = Some(ws.to_string());
        e.server = Some(format!("{ws}.corp.example"));
        e.explicit = Some(Box::new(ExplicitCredentials {
            subject: subject.map(Account::from_raw),
            target_server: Some("DC01.corp.example".into()),
            process: Some("C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe".into()),
        }));
        e
    }

    fn report(engine: &Engine) -> Report {
        engine.report(InputSummary::default())
    }

    fn quiet(engine: &Engine) {
        let r = report(engine);
        assert!(r.campaigns.is_empty(), "{:#?}", r.campaigns);
        assert!(r.flagged_sources.is_empty(), "{:#?}", r.flagged_sources);
        assert!(r.accounts_at_risk.is_empty(), "{:#?}", r.accounts_at_risk);
        assert!(
            r.compromised_accounts.is_empty(),
            "{:#?}",
            r.compromised_accounts
        );
    }

    const TARGETS: [&str; 8] = [
        "CORP\\alice",
        "CORP\\bob",
        "CORP\\carol",
        "CORP\\dave",
        "CORP\\erin",
        "CORP\\frank",
        "CORP\\grace",
        "CORP\\heidi",
    ];

    #[test]
    fn one_subject_on_one_workstation_using_many_accounts_is_a_spray_from_that_workstation() {
        let mut engine = Engine::new(EngineConfig::default());
        // Everyday explicit-credential use elsewhere at the same time.
        engine.observe(&use_(0, Some("CORP\\ivan"), "WS07", "CORP\\ivan-adm"));
        for (i, t) in TARGETS.iter().enumerate().take(5) {
            // Two tries each, seconds apart (a tool that retries, or two passwords).
            engine.observe(&use_(10 + 2 * i as i64, Some("CORP\\mallory"), "WS01", t));
            engine.observe(&use_(11 + 2 * i as i64, Some("CORP\\mallory"), "WS01", t));
        }
        // Five distinct targets: not yet.
        quiet(&engine);
        engine.observe(&use_(30, Some("CORP\\mallory"), "WS01", TARGETS[5]));
        let r = report(&engine);
        assert_eq!(r.campaigns.len(), 1, "{:#?}", r.campaigns);
        let c = &r.campaigns[0];
        assert_eq!(c.kind, CampaignKind::PasswordSpray);
        assert!(c.summary.contains("workstation WS01"), "{}", c.summary);
        assert!(c.summary.contains("CORP\\mallory"), "{}", c.summary);
        assert!(!c.summary.contains("WS07"), "{}", c.summary);
        let mut named = c.accounts.clone();
        named.sort();
        assert_eq!(named, ["alice", "bob", "carol", "dave", "erin", "frank"]);
        assert_eq!(c.accounts_targeted, 6);
        assert_eq!(c.attempts, 11);
        assert_eq!(c.first_seen, Timestamp::from_unix_secs(T0 + 10));
        // A workstation has no address: it is the campaign's source by name, never listed or
        // exported as an address.
        assert!(c.sources.is_empty() && r.flagged_sources.is_empty());
        // Nothing counts a 4648 as a failure or a login of the targets.
        assert!(r.accounts_at_risk.is_empty() && r.compromised_accounts.is_empty());
        // Later targets join the campaign.
        engine.observe(&use_(40, Some("CORP\\mallory"), "WS01", TARGETS[6]));
        let r = report(&engine);
        assert_eq!(r.campaigns.len(), 1);
        assert!(r.campaigns[0].accounts.iter().any(|a| a == "grace"));
        assert_eq!(r.campaigns[0].accounts_targeted, 7);
        // The workstation is flagged: its own failing logons on unfamiliar accounts are
        // held off, another workstation's are not.
        let mut fail = AuthEvent::new(
            Timestamp::from_unix_secs(T0 + 50),
            Protocol::Ntlm,
            Account::from_raw("heidi"),
            None,
            Outcome::BadPassword,
        );
        fail.client = Some("ws01".into());
        assert_ne!(engine.observe(&fail).action, Action::Allow);
        fail.client = Some("WS07".into());
        assert_eq!(engine.observe(&fail).action, Action::Allow);
    }

    #[test]
    fn everyday_explicit_credentials_raise_nothing() {
        let mut engine = Engine::new(EngineConfig::default());
        for m in 0..(24 * 60) {
            let t = 60 * m;
            // A scheduled task running every minute as its service account.
            engine.observe(&use_(t, Some("CORP\\svc_sched"), "SRV01", "CORP\\svc_task"));
            // runas to the admin's own admin account, now and then.
            if m % 30 == 0 {
                engine.observe(&use_(t + 5, Some("CORP\\alice"), "WS02", "CORP\\alice-adm"));
            }
            // RDP and a mapped drive with saved credentials: two targets.
            if m % 45 == 0 {
                engine.observe(&use_(t + 7, Some("CORP\\bob"), "WS03", "CORP\\bob-adm"));
                engine.observe(&use_(t + 8, Some("CORP\\bob"), "WS03", "FS01\\backup"));
                // Its own credentials, saved: not another account.
                engine.observe(&use_(t + 9, Some("CORP\\bob"), "WS03", "CORP\\bob"));
            }
            // A jump host where ten admins each use their own admin account: many targets
            // on one machine, but one or two per subject.
            let admin = m % 10;
            engine.observe(&use_(
                t + 11,
                Some(&format!("CORP\\admin{admin}")),
                "JUMP01",
                &format!("CORP\\admin{admin}-t0"),
            ));
            // An RDP host or OpenSSH server: the machine itself (winlogon, sshd as SYSTEM)
            // logs every incoming user on.
            engine.observe(&use_(t + 13, None, "RDS01", &format!("CORP\\user{m}")));
        }
        // Helpdesk testing reset passwords at its own pace: five in an hour, more the next.
        for i in 0..5 {
            engine.observe(&use_(
                86_400 + 600 * i,
                Some("CORP\\helpdesk1"),
                "WS09",
                TARGETS[i as usize],
            ));
        }
        for i in 5..8 {
            engine.observe(&use_(
                86_400 + 3600 * i,
                Some("CORP\\helpdesk1"),
                "WS09",
                TARGETS[i as usize],
            ));
        }
        quiet(&engine);
    }

    #[test]
    fn exempt_subjects_and_repeats_are_not_counted() {
        let cfg = EngineConfig {
            explicit_spray_exempt_subjects: vec!["CORP\\svc_vault".into()],
            ..EngineConfig::default()
        };
        let mut engine = Engine::new(cfg);
        for (i, t) in TARGETS.iter().enumerate() {
            engine.observe(&use_(i as i64, Some("corp\\SVC_VAULT"), "VAULT01", t));
        }
        // One target, a thousand times: not a spray, and not a failure of its password.
        for i in 0..1000 {
            engine.observe(&use_(100 + i, Some("CORP\\mallory"), "WS01", "CORP\\alice"));
        }
        quiet(&engine);
        // The same vault subject is not exempt by default.
        let mut engine = Engine::new(EngineConfig::default());
        for (i, t) in TARGETS.iter().enumerate() {
            engine.observe(&use_(i as i64, Some("CORP\\svc_vault"), "VAULT01", t));
        }
        assert_eq!(report(&engine).campaigns.len(), 1);
    }

    #[test]
    fn the_threshold_and_window_are_settings() {
        let cfg = EngineConfig {
            explicit_spray_targets: 3,
            explicit_spray_window_secs: 60,
            ..EngineConfig::default()
        };
        // Three targets 40 s apart: the first has aged out by the third.
        let mut engine = Engine::new(cfg.clone());
        for (i, t) in TARGETS.iter().enumerate().take(3) {
            engine.observe(&use_(40 * i as i64, Some("CORP\\mallory"), "WS01", t));
        }
        quiet(&engine);
        // Three within the minute: raised.
        let mut engine = Engine::new(cfg);
        for (i, t) in TARGETS.iter().enumerate().take(3) {
            engine.observe(&use_(20 * i as i64, Some("CORP\\mallory"), "WS01", t));
        }
        assert_eq!(report(&engine).campaigns.len(), 1);
    }

    #[test]
    fn memory_is_bounded() {
        let mut u = ExplicitUses::new(1000);
        // Many pairs at once, all active: the table stays at its cap and counts the rest.
        for i in 0..5000u64 {
            let r = u.record(
                AccountKey::of(&format!("s{i}")),
                SourceKey::of_workstation("WS01"),
                AccountKey::of("t"),
                "t",
                10,
                6,
                3600,
            );
            assert!(matches!(r, Use::Quiet));
            assert!(u.len() <= 1000);
        }
        assert_eq!(u.dropped(), 4000);
        // Later, the idle ones make way.
        u.record(
            AccountKey::of("late"),
            SourceKey::of_workstation("WS01"),
            AccountKey::of("t"),
            "t",
            10_000,
            6,
            3600,
        );
        assert_eq!(u.len(), 1);
        // One pair with endless targets holds no more than the threshold, each name capped.
        let long = "x".repeat(10 * MAX_NAME);
        for i in 0..10_000u32 {
            let name = format!("{i}{long}");
            u.record(
                AccountKey::of("s"),
                SourceKey::of_workstation("WS02"),
                AccountKey::of(&name),
                &name,
                20_000 + i,
                6,
                3600,
            );
        }
        let p = &u.pairs[&(AccountKey::of("s"), SourceKey::of_workstation("WS02"))];
        assert_eq!(p.targets.len(), 6);
        assert!(p.targets.iter().all(|(_, _, n)| n.len() <= MAX_NAME));
        // Whatever the setting says, at most MAX_TARGETS.
        for i in 0..1000u32 {
            let name = format!("t{i}");
            u.record(
                AccountKey::of("s2"),
                SourceKey::of_workstation("WS02"),
                AccountKey::of(&name),
                &name,
                40_000,
                100_000,
                3600,
            );
        }
        let p = &u.pairs[&(AccountKey::of("s2"), SourceKey::of_workstation("WS02"))];
        assert_eq!(p.targets.len(), MAX_TARGETS);
    }

    #[test]
    fn the_same_events_give_the_same_report() {
        let run = || {
            let mut engine = Engine::new(EngineConfig::default());
            for (i, t) in TARGETS.iter().enumerate() {
                engine.observe(&use_(i as i64, Some("CORP\\mallory"), "WS01", t));
                engine.observe(&use_(i as i64, Some("CORP\\eve"), "WS05", t));
            }
            serde_json::to_string(&report(&engine)).unwrap()
        };
        assert_eq!(run(), run());
    }
}
