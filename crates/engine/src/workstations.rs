//! Workstation clients and source keying: an event's source key (its address, or for Windows
//! events without a usable address the workstation it names), the networks of a source key,
//! and the workstation names remembered for reports.

use crate::engine::Engine;
use crate::keys::{NetLevel, host_prefix, ip_bits, net_key};
use portcullis_core::{AuthEvent, Protocol};

/// Sources known only by their client's name (a Windows workstation, when the event has no
/// usable address) are keyed inside 100::/64, the IPv6 discard-only prefix (RFC 6666), which
/// no real client uses; the low 64 bits hash the upper-cased name.
const CLIENT_KEY_HIGH: u64 = 0x0100_0000_0000_0000;

/// Workstation names remembered (for reports), and failing accounts remembered per name.
pub(crate) const MAX_CLIENTS: usize = 16_384;

const CLIENT_ACCOUNTS: usize = 16;

pub(crate) fn is_client_key(bits: u128) -> bool {
    (bits >> 64) as u64 == CLIENT_KEY_HIGH
}

/// The workstation a Windows event names, if any (`-` and empty are none).
pub(crate) fn workstation(ev: &AuthEvent) -> Option<&str> {
    if !matches!(
        ev.protocol,
        Protocol::Windows | Protocol::Ntlm | Protocol::Kerberos
    ) {
        return None;
    }
    let name = ev.client.as_deref()?.trim().trim_start_matches('\\');
    (!name.is_empty() && name != "-").then_some(name)
}

fn client_key(name: &str) -> u128 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in name.bytes() {
        h = (h ^ u64::from(b.to_ascii_uppercase())).wrapping_mul(0x0100_0000_01b3);
    }
    (u128::from(CLIENT_KEY_HIGH) << 64) | u128::from(crate::keys::mix64(h))
}

/// The key of an event's source: its address when usable; with no address, or loopback (a
/// logon at the machine itself), the Windows workstation it names; else the address as given.
pub(crate) fn source_key(ev: &AuthEvent) -> Option<u128> {
    match ev.source {
        Some(ip) if !ip.is_loopback() && !ip.is_unspecified() => Some(ip_bits(ip)),
        ip => workstation(ev).map(client_key).or(ip.map(ip_bits)),
    }
}

/// The networks a source key belongs to: its /24 or /64, and its /48 (IPv6). A workstation
/// is its own network.
pub(crate) fn nets_of(bits: u128) -> (u128, Option<u128>) {
    if is_client_key(bits) {
        (bits, None)
    } else {
        (
            net_key(bits, NetLevel::Subnet).expect("every family has a subnet"),
            net_key(bits, NetLevel::Site),
        )
    }
}

/// A workstation seen failing: its name, and the first accounts that failed from it in its
/// current failure epoch (to name them when it is flagged).
#[derive(Debug)]
pub(crate) struct ClientInfo {
    pub(crate) name: Box<str>,
    pub(crate) failed: Vec<Box<str>>,
}

impl Engine {
    /// Remembers a workstation's name (and, for a failure, the account) for reports.
    pub(crate) fn remember_client(&mut self, key: u128, ev: &AuthEvent, failed: bool) {
        let Some(name) = workstation(ev) else {
            return;
        };
        if !self.clients.contains_key(&key) {
            if self.clients.len() >= MAX_CLIENTS {
                return;
            }
            let info = ClientInfo {
                name: name.into(),
                failed: Vec::new(),
            };
            self.clients.insert(key, info);
        }
        if !failed || ev.account.name.is_empty() {
            return;
        }
        if let Some(c) = self.clients.get_mut(&key) {
            // The failure is counted after this; like the source's sketches, the list starts
            // again when the last failure is older than `source_memory_secs`.
            let fresh = self.hosts.get(&key).is_some_and(|h| {
                h.last_fail != 0
                    && self.now_s.saturating_sub(h.last_fail) > self.cfg.source_memory_secs
            });
            if fresh {
                c.failed.clear();
            }
            if c.failed.len() < CLIENT_ACCOUNTS && !c.failed.iter().any(|a| **a == *ev.account.name)
            {
                c.failed.push(ev.account.name.as_str().into());
            }
        }
    }

    /// How a source key reads in reasons and evidence: the address, or the workstation name.
    pub(crate) fn label(&self, bits: u128) -> String {
        if is_client_key(bits) {
            match self.clients.get(&bits) {
                Some(c) => format!("workstation {}", c.name),
                None => "a workstation".to_string(),
            }
        } else {
            host_prefix(bits).to_string()
        }
    }
}
