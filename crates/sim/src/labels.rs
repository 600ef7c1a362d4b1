//! Ground truth of a simulation (`labels.json`, schema `portcullis.sim-labels/v1`, documented in
//! docs/simulation.md): the attack's windows, every attack and benign source address, which
//! benign sources are shared gateways, and the accounts that fell. `eval` scores reports
//! against it.

use portcullis_core::Timestamp;
use portcullis_core::report::CampaignKind;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

pub const LABELS_SCHEMA_V1: &str = "portcullis.sim-labels/v1";

/// The whole ground truth.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Labels {
    /// Always [`LABELS_SCHEMA_V1`].
    pub schema: String,
    pub scenario: String,
    pub seed: u64,
    /// Accounts that exist.
    pub accounts: usize,
    pub days: u32,
    pub domain: String,
    pub format: String,
    /// The simulated window, `[start, end)`.
    pub start: Timestamp,
    pub end: Timestamp,
    /// Files written, relative to the output directory.
    pub files: Vec<String>,
    /// The command that reproduces the run.
    pub command: String,
    /// `None` for benign-only scenarios.
    pub attack: Option<AttackLabels>,
    pub benign: BenignLabels,
    pub counts: Counts,
}

/// One attack.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AttackLabels {
    /// Campaign kinds a detector may rightly name it (the first is the usual one).
    pub expected_kinds: Vec<CampaignKind>,
    /// The issue-3 target for naming it, in seconds after `main_start`.
    pub detect_within_secs: i64,
    /// True when every attempt of the main phase came from an address never used before.
    pub every_attempt_new_address: bool,
    /// The role of the main phase's sources (`spray`, `stuffing`, `brute_force`).
    pub main_role: String,
    /// First attempt of the sparse probing phase, if any.
    pub first_probe: Option<Timestamp>,
    /// First probing attempt from an address that also took part in the main phase, or that
    /// shares an IPv4 /24 or IPv6 /48 with one: how far back a detector can link the probing
    /// by shared sources or prefixes. Probes from addresses that never reappear cannot be
    /// linked by anything in the log.
    #[serde(default)]
    pub first_linked_probe: Option<Timestamp>,
    /// First attempt of the main phase (the spray, the stuffing run, the first brute force).
    pub main_start: Option<Timestamp>,
    /// Last attempt of the main phase.
    pub main_end: Option<Timestamp>,
    /// First and last attack events of any role (probe, main, attacker's return).
    pub first_attempt: Option<Timestamp>,
    pub last_attempt: Option<Timestamp>,
    /// Every address the attacker used, with its roles and attempt counts.
    pub sources: Vec<AttackSource>,
    /// Networks the attacker rotated inside (IPv6 /48s), as CIDR strings.
    pub networks: Vec<String>,
    /// Accounts that fell: the first success from an attack address.
    pub compromised: Vec<Compromise>,
    /// Every later success from an attack address (the attacker reading the mail).
    pub attacker_logins: Vec<Compromise>,
    /// Accounts whose password was one the attacker tried.
    pub weak_accounts: Vec<String>,
    /// Existing accounts the attacker tried at least once.
    pub targeted_accounts: Vec<String>,
    /// Distinct non-existent account names tried.
    pub targeted_unknown_accounts: u64,
    /// Distinct passwords the attacker tried.
    pub passwords_tried: u64,
}

/// An attack address.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AttackSource {
    pub address: IpAddr,
    /// `probe`, `spray`, `stuffing`, `brute_force`, `reader` (attacker returning to read mail).
    pub roles: Vec<String>,
    pub attempts: u64,
    pub successes: u64,
}

/// A success from an attack address.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Compromise {
    pub account: String,
    pub at: Timestamp,
    pub source: IpAddr,
}

/// Benign life.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BenignLabels {
    /// Every address a legitimate user came from.
    pub sources: Vec<BenignSource>,
    /// The subset of `sources` that are shared gateways (office NAT, carrier CGNAT).
    pub gateways: Vec<IpAddr>,
    /// The password-expiry wave, if the window has one.
    pub expiry_wave: Option<ExpiryWave>,
    pub password_changes: u64,
    pub forgotten_passwords: u64,
    pub typos: u64,
    /// Failures of phones still using the previous password.
    pub stale_device_failures: u64,
    pub travellers: u64,
    /// Devices left with an old password that fail every 5–15 minutes for days.
    #[serde(default)]
    pub forgotten_devices: u64,
    #[serde(default)]
    pub forgotten_device_failures: u64,
}

/// A benign address.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BenignSource {
    pub address: IpAddr,
    /// `home`, `travel`, `office_nat`, `cgnat` (carrier NAT, shared) or `mobile` (a phone's own
    /// address in a carrier's IPv6 /48s).
    pub kind: String,
    pub attempts: u64,
    pub failures: u64,
}

/// Passwords that expired together on a Monday.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ExpiryWave {
    pub at: Timestamp,
    pub accounts: u64,
}

/// Totals.
#[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize)]
pub struct Counts {
    pub lines: u64,
    pub attempts: u64,
    pub benign_attempts: u64,
    pub benign_failures: u64,
    pub attack_attempts: u64,
    pub attack_successes: u64,
    pub by_outcome: BTreeMap<String, u64>,
}

impl Labels {
    /// Every gateway address as a set.
    pub fn gateway_set(&self) -> BTreeSet<IpAddr> {
        self.benign.gateways.iter().copied().collect()
    }
}
