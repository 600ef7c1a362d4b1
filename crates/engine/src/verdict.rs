//! The verdict: what a live server answers for an attempt, from what was known before it —
//! admin overlay, trust and familiarity, flagged sources, live sprays, account guessing — and,
//! with `step_up` on, where a second factor is asked for instead of a delay.

use crate::api::{Action, ProtectionMode, Reason, Standing, Verdict};
use crate::campaign::{CampaignRef, CampaignState};
use crate::config::TrustedFlagged;
use crate::engine::Engine;
use crate::keys::{AccountKey, NetLevel, SourceKey};
use crate::state::{AccountState, fp32};

use portcullis_core::Protocol;
use portcullis_core::report::CampaignKind;

pub(crate) fn verdict(action: Action, code: &'static str, detail: String) -> Verdict {
    Verdict {
        action,
        reasons: vec![Reason { code, detail }],
        standing: Standing::default(),
    }
}

impl Engine {
    pub(crate) fn is_trusted(&self, bits: SourceKey) -> bool {
        self.trusted.iter().any(|&(m, n)| bits.bits() & m == n)
    }

    pub(crate) fn familiar(&self, acct: Option<&AccountState>, bits: SourceKey) -> bool {
        acct.is_some_and(|a| {
            a.familiar_host(fp32(bits.mix())) || a.familiar_net(fp32(bits.nets().0.mix()))
        })
    }

    /// The flag that covers a host: the host itself, its /24 or /64, or its /48.
    pub(crate) fn flag_of(&self, bits: SourceKey) -> Option<u32> {
        if bits.is_workstation() {
            return self.flagged.host(bits);
        }
        self.flagged
            .host(bits)
            .or_else(|| bits.net(NetLevel::Subnet).and_then(|k| self.flagged.net(k)))
            .or_else(|| bits.net(NetLevel::Site).and_then(|k| self.flagged.net(k)))
    }

    /// The standing of source `src` with the account `acct`, now (before anything it does).
    pub(crate) fn standing_of(
        &self,
        acct: Option<&AccountState>,
        src: Option<SourceKey>,
    ) -> Standing {
        Standing {
            trusted: src.is_some_and(|b| self.is_trusted(b)),
            familiar: src.is_some_and(|b| self.familiar(acct, b)),
        }
    }

    /// The verdict for an attempt from `src` on account `akey`, with the source's standing.
    pub(crate) fn decide(
        &self,
        src: Option<SourceKey>,
        akey: AccountKey,
        protocol: Protocol,
    ) -> Verdict {
        let acct = self.accounts.get(&akey);
        let standing = self.standing_of(acct, src);
        let mut v = self.judge(src, akey, acct, standing, protocol);
        v.standing = standing;
        v
    }

    fn judge(
        &self,
        src: Option<SourceKey>,
        akey: AccountKey,
        acct: Option<&AccountState>,
        standing: Standing,
        protocol: Protocol,
    ) -> Verdict {
        let now = self.now;
        // 1. Admin blocks.
        if let Some(bits) = src
            && let Some(b) = self.admin.block_of(bits.bits(), now)
        {
            return verdict(
                Action::Deny,
                "admin_block",
                format!("{} is blocked by an admin: {}", b.prefix, b.reason),
            );
        }
        let Standing { trusted, familiar } = standing;
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
        // 3. Familiar sources are allowed; so are trusted networks, unless detection flagged
        //    this very host (`trusted_flagged` says what it gets then).
        if familiar {
            return Verdict::allow();
        }
        if trusted {
            return self.judge_trusted(src);
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
        if let Some(v) = self.judge_flagged(bits, self.flag_of(bits)) {
            return v;
        }
        // 6. Accounts a live spray targets: unfamiliar sources wait.
        if let Some(a) = acct {
            if let Some(s) = self.spray
                && a.campaign == Some(CampaignRef::new(s))
            {
                return self.protect(
                    self.cfg.spray_tarpit_secs,
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
                return self.protect(
                    self.cfg.tarpit_secs,
                    "account_guessing",
                    format!("{g} wrong passwords from unfamiliar sources"),
                );
            }
        }
        Verdict::allow()
    }

    /// The answer on an account under attack (a live spray targets it, or guessing put it at
    /// risk) for a source that is neither trusted nor familiar and that nothing accuses (not
    /// blocked, not flagged): a tarpit of `seconds` — or, with `step_up`, a second factor.
    ///
    /// The rule of the step-up: its source may well be the account's user (on a new phone
    /// network, travelling), and a tarpit only slows an attacker who has the password while a
    /// second factor stops them. Everything that judges the *source* (an admin block, a flag,
    /// an early spray member's tarpit, `trusted_flagged`) and the account's lock (denial past
    /// `account_lock_failures`) is unchanged: a step-up never replaces a denial, and a trusted
    /// or familiar source is allowed before this is reached. It is decided before the password
    /// is checked, like every verdict, so it reveals nothing about the password.
    fn protect(&self, seconds: u32, code: &'static str, detail: String) -> Verdict {
        let action = if self.cfg.step_up {
            Action::StepUp
        } else {
            Action::Tarpit { seconds }
        };
        verdict(action, code, detail)
    }

    /// The verdict for a source under flag `flag` (its host's or a network's), if the flag
    /// still holds: not expired, and the address not since proven a shared gateway.
    fn judge_flagged(&self, bits: SourceKey, flag: Option<u32>) -> Option<Verdict> {
        let idx = flag?;
        let at = self.flagged.get(idx).at;
        let gateway = self
            .hosts
            .get(&bits)
            .is_some_and(|h| h.is_gateway(&self.cfg));
        if !gateway && self.now_s.saturating_sub(at) < self.cfg.flag_ttl_secs {
            let flag = self.flagged.get(idx);
            // A campaign dropped by `max_campaigns` was closed: its flags deny.
            let c = self.campaigns.get(flag.campaign as usize);
            let f = &flag.source;
            let what = if self.flagged.get(idx).workstation {
                self.label(bits)
            } else {
                f.source.to_string()
            };
            let early = c.is_some_and(|c| {
                c.kind == CampaignKind::PasswordSpray
                    && c.live
                    && self.now.secs_since(c.detected_at) < i64::from(self.cfg.spray_uncertain_secs)
            });
            let name = c.map_or_else(
                || f.campaign.clone().unwrap_or_default(),
                CampaignState::name,
            );
            let action = if early {
                Action::Tarpit {
                    seconds: self.cfg.tarpit_secs,
                }
            } else {
                Action::Deny
            };
            return Some(verdict(
                action,
                flag.kind.as_str(),
                format!("{} is flagged in campaign {}: {}", what, name, f.reason),
            ));
        }
        None
    }

    /// A source inside the trusted networks, not familiar with the account: allowed, unless
    /// detection flagged this host itself (never a network: trusted networks are only ever
    /// flagged host by host); then `trusted_flagged` decides.
    fn judge_trusted(&self, src: Option<SourceKey>) -> Verdict {
        let Some(bits) = src else {
            return Verdict::allow();
        };
        let Some(mut v) = self.judge_flagged(bits, self.flagged.host(bits)) else {
            return Verdict::allow();
        };
        match self.cfg.trusted_flagged {
            TrustedFlagged::DenyUnfamiliar => {}
            TrustedFlagged::TarpitUnfamiliar => {
                v.action = Action::Tarpit {
                    seconds: self.cfg.tarpit_secs,
                }
            }
            TrustedFlagged::ReportOnly => return Verdict::allow(),
        }
        v
    }
}
