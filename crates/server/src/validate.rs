//! The one validation of every admin decision, whoever asks: the admin API (and the CLI, which
//! speaks it), the dashboard and the wforce blacklist commands all reach the engine through
//! [`EngineHandle::admin`](crate::hub::EngineHandle::admin), which checks the action here before
//! it is written to the store or applied.
//!
//! Refused, each with a message that says why and how to do it deliberately:
//! - a block of `/0`, or of a prefix shorter than `admin_min_block_prefix_v4` (default /16) or
//!   `admin_min_block_prefix_v6` (default /32): one typo must not deny everyone;
//! - a block that overlaps a trusted network or loopback: trust decides what is never blocked;
//! - an expiry in the past, or further away than `admin_max_expiry_days` (default 3650): a
//!   permanent decision is made by giving no expiry at all;
//! - an empty account name.

use portcullis_core::{Prefix, Timestamp};
use portcullis_engine::AdminAction;

/// Why an admin action was refused: a message for the operator (HTTP 400).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Refused(pub String);

/// The rules every admin action must pass.
#[derive(Clone, Debug)]
pub struct AdminRules {
    /// Networks that are never blocked: the engine's trusted networks plus loopback.
    never_blocked: Vec<Prefix>,
    min_prefix_v4: u8,
    min_prefix_v6: u8,
    max_expiry_secs: i64,
}

impl AdminRules {
    /// Rules for a server whose engine trusts `trusted`.
    pub fn new(trusted: &[Prefix], min_prefix_v4: u8, min_prefix_v6: u8, max_days: u32) -> Self {
        let mut never_blocked = trusted.to_vec();
        never_blocked.extend([
            "127.0.0.0/8".parse::<Prefix>().expect("a valid prefix"),
            "::1/128".parse::<Prefix>().expect("a valid prefix"),
        ]);
        AdminRules {
            never_blocked,
            min_prefix_v4,
            min_prefix_v6,
            max_expiry_secs: i64::from(max_days) * 86_400,
        }
    }

    /// The expiry `secs` seconds after `at` (None: permanent), refused when not positive or
    /// beyond the maximum (before any arithmetic, so no value can overflow).
    pub fn expiry(&self, at: Timestamp, secs: Option<i64>) -> Result<Option<Timestamp>, Refused> {
        match secs {
            None => Ok(None),
            Some(s) if s <= 0 => Err(Refused(format!(
                "the expiry must be positive (got {s} s); give none for a permanent decision"
            ))),
            Some(s) if s > self.max_expiry_secs => Err(self.too_far()),
            Some(s) => Ok(Some(at.plus_secs(s))),
        }
    }

    fn too_far(&self) -> Refused {
        Refused(format!(
            "the expiry is more than {} days away; give none for a permanent decision \
             (or raise [server] admin_max_expiry_days)",
            self.max_expiry_secs / 86_400
        ))
    }

    fn check_until(&self, at: Timestamp, until: Option<Timestamp>) -> Result<(), Refused> {
        match until {
            Some(u) if u <= at => Err(Refused(
                "the expiry is in the past; give none for a permanent decision".into(),
            )),
            Some(u) if u.secs_since(at) > self.max_expiry_secs => Err(self.too_far()),
            _ => Ok(()),
        }
    }

    /// Checks one action (see the module doc for the rules).
    pub fn check(&self, action: &AdminAction) -> Result<(), Refused> {
        match action {
            AdminAction::Block {
                prefix, at, until, ..
            } => {
                self.check_block(prefix)?;
                self.check_until(*at, *until)
            }
            AdminAction::Protect {
                account, at, until, ..
            } => {
                non_empty(account)?;
                self.check_until(*at, *until)
            }
            AdminAction::ShieldsUp { at, until, .. } => self.check_until(*at, *until),
            AdminAction::Unprotect { account } | AdminAction::ResetAccount { account } => {
                non_empty(account)
            }
            AdminAction::Unblock { .. } | AdminAction::ShieldsDown => Ok(()),
        }
    }

    fn check_block(&self, prefix: &Prefix) -> Result<(), Refused> {
        let (min, key, family) = if prefix.addr().is_ipv4() {
            (self.min_prefix_v4, "admin_min_block_prefix_v4", "IPv4")
        } else {
            (self.min_prefix_v6, "admin_min_block_prefix_v6", "IPv6")
        };
        if prefix.is_empty() {
            return Err(Refused(format!(
                "refusing to block {prefix}: that is every {family} address"
            )));
        }
        if let Some(tr) = self
            .never_blocked
            .iter()
            .find(|tr| tr.contains(prefix.addr()) || prefix.contains(tr.addr()))
        {
            let what = if tr.addr().is_loopback() {
                format!("loopback ({tr}), which is never blocked")
            } else {
                format!(
                    "the trusted network {tr}, which is never blocked (remove it from [engine] \
                     trusted_networks to block it)"
                )
            };
            return Err(Refused(format!(
                "refusing to block {prefix}: it overlaps {what}"
            )));
        }
        if prefix.len() < min {
            return Err(Refused(format!(
                "refusing to block {prefix}: {family} blocks must be /{min} or narrower \
                 (set [server] {key} to allow wider ones deliberately)"
            )));
        }
        Ok(())
    }
}

fn non_empty(account: &str) -> Result<(), Refused> {
    if account.trim().is_empty() {
        Err(Refused("empty account name".into()))
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules() -> AdminRules {
        AdminRules::new(&["10.0.0.0/8".parse().unwrap()], 16, 32, 3650)
    }

    fn t0() -> Timestamp {
        Timestamp::from_unix_secs(1_700_000_000)
    }

    fn block(p: &str, until: Option<Timestamp>) -> AdminAction {
        AdminAction::Block {
            prefix: p.parse().unwrap(),
            at: t0(),
            until,
            reason: "test".into(),
        }
    }

    #[test]
    fn blocks_of_everyone_wide_networks_and_trusted_ones_are_refused() {
        let r = rules();
        for p in ["0.0.0.0/0", "::/0", "203.0.0.0/8", "2001:db8::/16"] {
            assert!(r.check(&block(p, None)).is_err(), "{p}");
        }
        for p in ["10.1.2.3/32", "10.0.0.0/8", "8.0.0.0/6"] {
            let e = r.check(&block(p, None)).unwrap_err();
            assert!(e.0.contains("trusted network 10.0.0.0/8"), "{p}: {e}");
        }
        for p in ["127.0.0.1/32", "::1/128"] {
            let e = r.check(&block(p, None)).unwrap_err();
            assert!(e.0.contains("loopback"), "{p}: {e}");
        }
        assert!(r.check(&block("203.0.113.0/24", None)).is_ok());
        assert!(r.check(&block("198.51.0.0/16", None)).is_ok());
        assert!(r.check(&block("2001:db8::/32", None)).is_ok());
        let wide = AdminRules::new(&[], 8, 32, 3650);
        assert!(wide.check(&block("203.0.0.0/8", None)).is_ok());
    }

    #[test]
    fn expiries_must_be_positive_and_not_absurd() {
        let r = rules();
        assert_eq!(r.expiry(t0(), None), Ok(None));
        assert_eq!(r.expiry(t0(), Some(60)), Ok(Some(t0().plus_secs(60))));
        assert!(r.expiry(t0(), Some(0)).is_err());
        assert!(r.expiry(t0(), Some(-5)).is_err());
        assert!(r.expiry(t0(), Some(i64::MAX)).is_err());
        assert!(r.expiry(t0(), Some(3651 * 86_400)).is_err());
        assert!(r.check(&block("203.0.113.9/32", Some(t0()))).is_err());
        assert!(
            r.check(&block(
                "203.0.113.9/32",
                Some(t0().plus_secs(4000 * 86_400))
            ))
            .is_err()
        );
        assert!(
            r.check(&block("203.0.113.9/32", Some(t0().plus_secs(3600))))
                .is_ok()
        );
    }

    #[test]
    fn account_actions_need_an_account() {
        let r = rules();
        assert!(
            r.check(&AdminAction::ResetAccount {
                account: " ".into()
            })
            .is_err()
        );
        assert!(
            r.check(&AdminAction::Unprotect {
                account: "bob@example.org".into()
            })
            .is_ok()
        );
    }
}
