//! The admin overlay: blocks, account protections and shields up, as [`AdminAction`](crate::AdminAction)s applied
//! through [`Engine::apply`](crate::Engine::apply); the verdict (`verdict.rs`) consults them first.

use crate::api::ProtectionMode;
use crate::keys::{AccountKey, FixedMap, SourceKey};
use portcullis_core::{Prefix, Protocol, Timestamp};
use serde::{Deserialize, Serialize};

/// A prefix as (mask, network) over IPv4-mapped 128-bit addresses.
pub(crate) fn prefix_match(p: &Prefix) -> (u128, u128) {
    let bits = SourceKey::of_ip(p.addr()).bits();
    let len = u32::from(p.len()) + if p.addr().is_ipv4() { 96 } else { 0 };
    let mask = if len == 0 {
        0
    } else {
        u128::MAX << (128 - len.min(128))
    };
    (mask, bits & mask)
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Block {
    pub(crate) mask: u128,
    pub(crate) net: u128,
    pub(crate) prefix: Prefix,
    pub(crate) until: Option<Timestamp>,
    pub(crate) reason: String,
}

#[derive(Debug, Default, Serialize, Deserialize)]
pub(crate) struct Admin {
    pub(crate) blocks: Vec<Block>,
    #[serde(with = "crate::snapshot::fixed")]
    pub(crate) protections: FixedMap<AccountKey, (ProtectionMode, Option<Timestamp>)>,
    pub(crate) shields: Option<(Vec<Protocol>, Option<Timestamp>)>,
}

impl Admin {
    /// Blocks `prefix` (replacing an earlier block of the same prefix).
    pub(crate) fn block(&mut self, prefix: Prefix, until: Option<Timestamp>, reason: String) {
        let (mask, net) = prefix_match(&prefix);
        self.blocks.retain(|b| b.prefix != prefix);
        self.blocks.push(Block {
            mask,
            net,
            prefix,
            until,
            reason,
        });
    }

    pub(crate) fn unblock(&mut self, prefix: Prefix) {
        self.blocks.retain(|b| b.prefix != prefix);
    }

    /// The block in force at `now` that covers the source with these bits, if any.
    pub(crate) fn block_of(&self, bits: u128, now: Timestamp) -> Option<&Block> {
        self.blocks
            .iter()
            .find(|b| bits & b.mask == b.net && b.until.is_none_or(|u| now < u))
    }
}
