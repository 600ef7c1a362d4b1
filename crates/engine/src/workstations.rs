//! Workstation clients and source keying: an event's source key (its address, or for Windows
//! events without a usable address the workstation it names), the networks of a source key,
//! and the workstation names remembered for reports.

use crate::keys::FixedMap;
use crate::keys::SourceKey;
use portcullis_core::{AuthEvent, Protocol};
use serde::{Deserialize, Serialize};

/// Workstation names remembered (for reports), and failing accounts remembered per name.
const MAX_CLIENTS: usize = 16_384;

const CLIENT_ACCOUNTS: usize = 16;

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

/// The key of an event's source: its address when usable; with no address, or loopback (a
/// logon at the machine itself), the Windows workstation it names; else the address as given.
pub(crate) fn source_key(ev: &AuthEvent) -> Option<SourceKey> {
    match ev.source {
        Some(ip) if !ip.is_loopback() && !ip.is_unspecified() => Some(SourceKey::of_ip(ip)),
        ip => workstation(ev)
            .map(SourceKey::of_workstation)
            .or(ip.map(SourceKey::of_ip)),
    }
}

/// A workstation seen failing: its name, and the first accounts that failed from it in its
/// current failure epoch (to name them when it is flagged).
#[derive(Debug, Serialize, Deserialize)]
struct ClientInfo {
    name: Box<str>,
    failed: Vec<Box<str>>,
}

/// The workstations named by sourceless Windows events, at most [`MAX_CLIENTS`].
#[derive(Debug, Default, Serialize, Deserialize)]
pub(crate) struct Workstations {
    #[serde(with = "crate::snapshot::fixed")]
    names: FixedMap<SourceKey, ClientInfo>,
}

impl Workstations {
    /// Remembers the workstation `ev` names under `key`; for a failure (`failed` = `Some`),
    /// also the account, after forgetting the accounts of an earlier failure epoch when
    /// `failed` is `Some(true)` (the source's last failure is older than
    /// `source_memory_secs`, as its sketches start again).
    pub(crate) fn remember(&mut self, key: SourceKey, ev: &AuthEvent, failed: Option<bool>) {
        let Some(name) = workstation(ev) else {
            return;
        };
        if !self.names.contains_key(&key) {
            if self.names.len() >= MAX_CLIENTS {
                return;
            }
            let info = ClientInfo {
                name: name.into(),
                failed: Vec::new(),
            };
            self.names.insert(key, info);
        }
        let Some(fresh) = failed else {
            return;
        };
        if ev.account.name.is_empty() {
            return;
        }
        if let Some(c) = self.names.get_mut(&key) {
            if fresh {
                c.failed.clear();
            }
            if c.failed.len() < CLIENT_ACCOUNTS && !c.failed.iter().any(|a| **a == *ev.account.name)
            {
                c.failed.push(ev.account.name.as_str().into());
            }
        }
    }

    /// The accounts that failed from workstation `key` in its current failure epoch.
    pub(crate) fn failed_accounts(&self, key: SourceKey) -> Vec<Box<str>> {
        self.names
            .get(&key)
            .map(|c| c.failed.clone())
            .unwrap_or_default()
    }

    /// How a source key reads in reasons and evidence: the address, or the workstation name.
    pub(crate) fn label(&self, key: SourceKey) -> String {
        if key.is_workstation() {
            match self.names.get(&key) {
                Some(c) => format!("workstation {}", c.name),
                None => "a workstation".to_string(),
            }
        } else {
            key.host_prefix().to_string()
        }
    }
}
