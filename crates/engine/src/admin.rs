//! The admin overlay: blocks, account protections and shields up, as [`AdminAction`]s applied
//! through [`Engine::apply`]; the verdict (`verdict.rs`) consults them first.

use crate::api::{AdminAction, ProtectionMode};
use crate::engine::Engine;
use crate::keys::{FixedMap, account_key, ip_bits};
use crate::state::{AT_RISK, COMPROMISED};
use portcullis_core::{Prefix, Protocol, Timestamp};

/// A prefix as (mask, network) over IPv4-mapped 128-bit addresses.
pub(crate) fn prefix_match(p: &Prefix) -> (u128, u128) {
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
pub(crate) struct Block {
    pub(crate) mask: u128,
    pub(crate) net: u128,
    pub(crate) prefix: Prefix,
    pub(crate) until: Option<Timestamp>,
    pub(crate) reason: String,
}

#[derive(Debug, Default)]
pub(crate) struct Admin {
    pub(crate) blocks: Vec<Block>,
    pub(crate) protections: FixedMap<u64, (ProtectionMode, Option<Timestamp>)>,
    pub(crate) shields: Option<(Vec<Protocol>, Option<Timestamp>)>,
}

impl Engine {
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
}
