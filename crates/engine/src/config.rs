//! Engine settings (`[engine]` in `portcullis.toml`): every threshold the detectors use, with
//! its default and the reason for it, and [`defaults_toml`], the commented `[engine]` section
//! that `portcullis config --defaults` prints. A test checks that the text parses back to
//! [`EngineConfig::default`], so the two never drift.

use portcullis_core::Prefix;
use serde::{Deserialize, Serialize};

/// Engine settings. See `docs/detection.md` for the reasoning behind each default.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EngineConfig {
    /// Networks whose sources are never blocked by an admin nor denied as a network. Detection
    /// still sees them: a host inside that attacks is flagged as that host (never widened to a
    /// prefix), and `trusted_flagged` says what its attempts get.
    pub trusted_networks: Vec<Prefix>,
    /// What a flagged host inside the trusted networks gets on accounts it is not familiar
    /// with (on its own users' accounts it is always allowed).
    pub trusted_flagged: TrustedFlagged,

    /// Hard caps on tracked entries (memory bound; least recently seen evicted first).
    pub max_sources: usize,
    pub max_networks: usize,
    pub max_accounts: usize,
    pub max_flagged: usize,
    /// Compromised and at-risk accounts kept (and reported); beyond this, the oldest go.
    pub max_compromised: usize,
    pub max_at_risk: usize,
    /// Campaigns kept (and reported); beyond this, the one seen least recently that has
    /// ended goes (its flagged sources stay flagged).
    pub max_campaigns: usize,
    /// Idle time after which per-source / per-network / per-account state is dropped.
    pub source_ttl_secs: u32,
    pub network_ttl_secs: u32,
    pub account_ttl_secs: u32,

    /// Source brute force: failures from one address within the window.
    pub brute_force_failures: u32,
    pub brute_force_window_secs: u32,

    /// Account guessing: distinct wrong passwords from unfamiliar sources within the window
    /// that put an account at risk (tarpit unfamiliar sources) / lock it for them (deny).
    pub account_guess_failures: u32,
    pub account_lock_failures: u32,
    pub account_guess_window_secs: u32,

    /// Single-source spray: distinct accounts one address failed on (within
    /// `source_memory_secs`) that flag it; the unknown-account share that makes it user
    /// enumeration, and the distinct-password share that makes it credential stuffing.
    pub source_spray_accounts: u32,
    pub source_memory_secs: u32,
    pub enumeration_unknown_share: f64,
    pub stuffing_password_share: f64,
    /// The same for a source known only by its client (workstation) name: events without a
    /// usable address (Windows 4625 of an interactive logon, 4776 on a domain controller).
    pub client_spray_accounts: u32,
    /// Outgoing spray (Windows 4648): one subject account on one workstation presenting the
    /// credentials of this many distinct other accounts, with no more than the window
    /// between the first and the last, flags the workstation; subjects named in the exempt
    /// list (password vaults, backup servers) are not counted.
    pub explicit_spray_targets: u32,
    pub explicit_spray_window_secs: u32,
    pub explicit_spray_exempt_subjects: Vec<String>,

    /// Gateways: a source with successes for this many distinct accounts, and at least this
    /// share of successful to failing accounts, is a shared gateway (NAT, CGNAT) and is never
    /// flagged by counting detectors.
    pub gateway_min_accounts: u32,
    pub gateway_success_share: f64,

    /// Distributed spray (population level): distinct accounts failing from unfamiliar
    /// sources in 15 and 5 minutes. Threshold = max(floor, factor × baseline + deviations ×
    /// baseline deviation), baseline per hour of week; before any baseline, floor_share ×
    /// known accounts stands in for the learned part.
    pub spray_floor_accounts_15m: u32,
    pub spray_floor_accounts_5m: u32,
    pub spray_floor_share: f64,
    pub spray_baseline_factor: f64,
    pub spray_baseline_deviations: f64,
    pub spray_baseline_alpha: f64,
    /// Unknown-account share of unfamiliar failures that, with half the account threshold,
    /// also raises a spray.
    pub spray_unknown_share: f64,
    /// Distinct failing /24s or /64s in 15 minutes below which nothing is a distributed spray.
    pub spray_min_networks: u32,
    /// Membership: an unfamiliar host failing on this many distinct accounts (no successes);
    /// a /48 with `spray_net_min_hosts` failing /64s (also the failing hosts a /24 or /64
    /// needs before single-source detectors judge it).
    pub spray_member_min_accounts: u32,
    pub spray_net_min_hosts: u32,
    /// Membership of a /24 or /64 in a live spray: failing hosts (and accounts) needed.
    pub spray_member_net_hosts: u32,
    /// How far back membership is searched when a spray opens.
    pub spray_lookback_secs: u32,
    /// A never-seen address whose only attempt failed, in a network nobody logged in from,
    /// with no success from it within this many seconds, is attributed to the live spray
    /// (reported as its source, not blocked): rotation that spends an address per attempt.
    pub spray_single_use_grace_secs: u32,
    /// A success during a spray from a network nobody logged in from is remembered this long:
    /// a second such success for the account within it is the attacker coming back.
    pub spray_comeback_secs: u32,
    /// A password (unsalted fingerprint) that failed on this many distinct accounts from
    /// unfamiliar sources, with no gap of `spray_password_window_secs` between its failures,
    /// is being sprayed.
    pub spray_password_accounts: u32,
    pub spray_password_window_secs: u32,
    /// A spray without signal for this long is over; a new one within `spray_merge_secs`
    /// of its end reopens it.
    pub spray_idle_secs: u32,
    pub spray_merge_secs: u32,
    /// After a spray opens, its members are tarpitted rather than denied for this long.
    pub spray_uncertain_secs: u32,
    /// How long a flagged source stays denied (it stays in the report).
    pub flag_ttl_secs: u32,
    /// The long horizon: how far back failing probes are linked to a campaign.
    pub horizon_secs: u32,

    /// Tarpit delay, seconds (account guessing, early spray members).
    pub tarpit_secs: u32,
    /// Tarpit delay for unfamiliar sources on accounts a live spray targets.
    pub spray_tarpit_secs: u32,
    /// Step-up: where an unfamiliar source that nothing accuses would be tarpitted on an
    /// account under attack (a live spray's target, an account at risk), answer `step_up` (a
    /// second factor) instead. Off by default: every caller must be able to ask for one.
    pub step_up: bool,
    /// Minimum event time between two `campaign_updated` findings for one campaign.
    pub campaign_update_secs: u32,
    /// Accounts named per campaign in the report (the count is always exact).
    pub report_max_accounts: usize,
}

/// What a live server does with a host inside the trusted networks once detection flagged it
/// (`trusted_flagged`). Its users' familiar accounts are always allowed from it, and office
/// gateways (recognised by their successes) are never flagged.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TrustedFlagged {
    /// Treated on every account it is not familiar with as a flagged outside source is:
    /// delayed while a just-raised spray is uncertain, refused after.
    #[default]
    DenyUnfamiliar,
    /// Delayed by `tarpit_secs` on every account it is not familiar with.
    TarpitUnfamiliar,
    /// Allowed: flagged, reported and alerted on, never slowed.
    ReportOnly,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            trusted_networks: [
                "10.0.0.0/8",
                "172.16.0.0/12",
                "192.168.0.0/16",
                "127.0.0.0/8",
                "::1/128",
                "fc00::/7",
            ]
            .iter()
            .map(|s| s.parse().expect("valid built-in prefix"))
            .collect(),
            trusted_flagged: TrustedFlagged::DenyUnfamiliar,
            max_sources: 450_000,
            max_networks: 225_000,
            max_accounts: 450_000,
            max_flagged: 250_000,
            max_compromised: 10_000,
            max_at_risk: 10_000,
            max_campaigns: 1000,
            source_ttl_secs: 14 * 86_400,
            network_ttl_secs: 60 * 86_400,
            account_ttl_secs: 90 * 86_400,
            brute_force_failures: 20,
            brute_force_window_secs: 600,
            account_guess_failures: 10,
            account_lock_failures: 30,
            account_guess_window_secs: 3600,
            source_spray_accounts: 10,
            source_memory_secs: 86_400,
            enumeration_unknown_share: 0.8,
            stuffing_password_share: 0.8,
            client_spray_accounts: 5,
            explicit_spray_targets: 6,
            explicit_spray_window_secs: 3600,
            explicit_spray_exempt_subjects: Vec::new(),
            gateway_min_accounts: 3,
            gateway_success_share: 0.2,
            spray_floor_accounts_15m: 40,
            spray_floor_accounts_5m: 20,
            spray_floor_share: 0.01,
            spray_baseline_factor: 3.0,
            spray_baseline_deviations: 4.0,
            spray_baseline_alpha: 0.05,
            spray_unknown_share: 0.5,
            spray_min_networks: 5,
            spray_member_min_accounts: 2,
            spray_net_min_hosts: 3,
            spray_member_net_hosts: 2,
            spray_lookback_secs: 3600,
            spray_single_use_grace_secs: 900,
            spray_comeback_secs: 12 * 3600,
            spray_password_accounts: 10,
            spray_password_window_secs: 3600,
            spray_idle_secs: 3 * 3600,
            spray_merge_secs: 7 * 86_400,
            spray_uncertain_secs: 600,
            flag_ttl_secs: 7 * 86_400,
            horizon_secs: 42 * 86_400,
            tarpit_secs: 5,
            spray_tarpit_secs: 10,
            step_up: false,
            campaign_update_secs: 600,
            report_max_accounts: 1000,
        }
    }
}

/// The `[engine]` section with every key, its default, and a comment.
pub fn defaults_toml() -> &'static str {
    DEFAULTS_TOML
}

const DEFAULTS_TOML: &str = r#"[engine]
# Your networks (RFC 1918, loopback, IPv6 ULA by default; add VPN and office ranges): never
# blocked by an admin, never flagged as a network. Detection still sees them: a host inside
# that sprays or guesses is flagged as that one host (loopback excepted: it names no host),
# and trusted_flagged decides what it gets on accounts it is not familiar with:
# "deny_unfamiliar", "tarpit_unfamiliar" or "report_only". Its own users' accounts are always
# allowed from it; office gateways (many users' successes) are never flagged.
trusted_networks = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "127.0.0.0/8", "::1/128", "fc00::/7"]
trusted_flagged = "deny_unfamiliar"

# Memory bound: hard caps on tracked entries; when a table is full, the older half of its
# ordinary entries is evicted (accounts known to exist and addresses where users logged in go
# last). Hash tables round up to a power of two, so caps just under 7/8 of one use memory
# best. Bytes per entry are in docs/detection.md (81 per source or network, 97 per account):
# the defaults bound the tables to about 110 MB, plus about 200 bytes per flagged source
# (see docs/bench/engine.md for measurements).
max_sources = 450000
max_networks = 225000
max_accounts = 450000
# Flagged addresses and prefixes kept (and reported); beyond this, new flags are dropped.
max_flagged = 250000
# Compromised accounts and accounts at risk kept (and reported) in memory; beyond this, the
# oldest entries are dropped (`serve` has every one in its store as a finding already).
max_compromised = 10000
max_at_risk = 10000
# Campaigns kept (and reported) in memory; beyond this, the campaign seen least recently that
# has ended is dropped (its flagged sources stay flagged while their flags last).
max_campaigns = 1000

# Idle time, in seconds, after which state is forgotten: sources 14 days, networks 60 days
# (they carry the long-horizon "first seen failing"), accounts 90 days (they carry the
# familiar sources that smart lockout relies on).
source_ttl_secs = 1209600
network_ttl_secs = 5184000
account_ttl_secs = 7776000

# Source brute force: this many failures from one address within the window flag it.
brute_force_failures = 20
brute_force_window_secs = 600

# Account guessing (smart lockout): distinct wrong passwords from unfamiliar sources within
# the window. The same wrong password again counts once; familiar sources (that logged in to
# the account before, from the address or its /24 or /64) are never counted nor blocked.
# At `account_guess_failures` the account is at risk and unfamiliar sources are tarpitted on
# it; at `account_lock_failures` they are denied on it.
account_guess_failures = 10
account_lock_failures = 30
account_guess_window_secs = 3600

# Single-source spray: one address failing on this many distinct accounts within
# `source_memory_secs` is flagged. It is user enumeration when at least
# `enumeration_unknown_share` of its failures name unknown accounts, and credential stuffing
# when its distinct passwords are at least `stuffing_password_share` of its accounts.
source_spray_accounts = 10
source_memory_secs = 86400
enumeration_unknown_share = 0.8
stuffing_password_share = 0.8
# Windows events without a usable address (none, or loopback) are keyed on the client
# workstation's name. One machine is not a NAT: its failures come from the few people who sit
# at it, so 5 distinct accounts failing at one workstation within `source_memory_secs` flag it
# (a shared machine where several users log in successfully is a gateway and exempt).
client_spray_accounts = 5
# Outgoing spray, seen on the attacking workstation (Windows 4648, "a logon was attempted using
# explicit credentials"): one account on one machine presenting the credentials of
# `explicit_spray_targets` distinct other accounts within `explicit_spray_window_secs` flags
# the machine in a password_spray campaign. Everyday use is one or two targets, repeated
# (runas to your own admin account, a scheduled task's account, saved RDP or drive
# credentials); DeepBlueCLI calls more than 6 target accounts a spray. The hour catches a
# spray throttled to one account every ten minutes. Accounts that legitimately use many
# accounts' credentials (a password vault verifying them, a backup server with one account
# per host) go in `explicit_spray_exempt_subjects`, as DOMAIN\user or user.
explicit_spray_targets = 6
explicit_spray_window_secs = 3600
explicit_spray_exempt_subjects = []

# Shared gateways (office NAT, mobile CGNAT): a source with successes for at least
# `gateway_min_accounts` distinct accounts, and successful accounts at least
# `gateway_success_share` of its failing accounts, is never flagged by counting detectors.
gateway_min_accounts = 3
gateway_success_share = 0.2

# Distributed spray, at population level: distinct accounts failing from unfamiliar sources
# in the last 15 and 5 minutes. The 15-minute threshold is the larger of the floor and
# factor x baseline + deviations x mean absolute deviation, where the baseline is learned per
# hour of the week (exponential average with weight `spray_baseline_alpha` per minute; the
# all-hours baseline stands in for an hour not yet seen). Before any baseline exists (the
# first two hours), `spray_floor_share` of the accounts known to exist stands in for it. The
# 5-minute threshold is the 15-minute one scaled by floor_5m / floor_15m.
spray_floor_accounts_15m = 40
spray_floor_accounts_5m = 20
spray_floor_share = 0.01
spray_baseline_factor = 3.0
spray_baseline_deviations = 4.0
spray_baseline_alpha = 0.05
# A spray is also raised at half the threshold when at least this share of the unfamiliar
# failures in 15 minutes name unknown accounts.
spray_unknown_share = 0.5
# ...and only when the failing accounts fail from at least this many distinct /24s or /64s in
# 15 minutes (one address running a dictionary is for the single-source detectors). Sources
# already flagged by a single-source detector are not counted.
spray_min_networks = 5
# Membership of a live spray: an unfamiliar address that failed on this many distinct accounts
# and never succeeded; a /48 with `spray_net_min_hosts` failing /64s and no success (also the
# failing addresses a /24 or /64 needs before single-source detectors judge it as one source).
spray_member_min_accounts = 2
spray_net_min_hosts = 3
# While a distributed spray is live, a /24 or /64 where this many addresses failed on as many
# accounts, and nobody ever logged in (so no familiar source of any user is inside), is a
# member too: rotation that reuses a provider's /24. Two, because one benign household failing
# is one address; two unrelated failing addresses in a /24 no user ever logged in from, during
# a spray, are the spray's.
spray_member_net_hosts = 2
# When a spray opens, sources that failed this far back are examined for membership.
spray_lookback_secs = 3600
# Rotation that spends a new address on every attempt: an address whose first and only attempt
# failed during a spray, in a network nobody ever logged in from, and that did not succeed
# within this many seconds (a traveller's typo is followed by their login), is attributed to
# the spray: listed among its sources, never blocked (one failure is not enough to refuse an
# address that a real user might be behind).
spray_single_use_grace_secs = 900
# A success during a spray from a network nobody ever logged in from, followed within this many
# seconds by another success for the same account from a second such network (not in the same
# /24, /64 or /48): the attacker came back to read the mail; both are named.
spray_comeback_secs = 43200
# One password tried on many accounts (only with unsalted fingerprints, such as the
# `SHA1 of given password` Dovecot logs): a password that failed on this many distinct accounts
# from unfamiliar sources, without a pause of `spray_password_window_secs` between its
# failures, is being sprayed. It raises a `password_spray`, every address failing with it is a
# member, and an account that the password's round skipped while its user logged in from a
# new network is compromised (docs/detection.md). Users' own wrong passwords differ from one
# account to the next; ten accounts failing with the same one within the hour is a spray.
spray_password_accounts = 10
spray_password_window_secs = 3600
# A spray quiet this long is over; a spray raised within `spray_merge_secs` of the end of the
# last one continues it (same campaign id).
spray_idle_secs = 10800
spray_merge_secs = 604800
# For this long after a spray opens its members are tarpitted rather than denied.
spray_uncertain_secs = 600
# A flagged source is denied for this long after it was flagged (residential proxy addresses
# go back to real people); it stays in the report.
flag_ttl_secs = 604800
# The long horizon: probes this far back from a campaign's sources or their prefixes are
# linked to it, so its `first_seen` reaches back to the first probe (42 days).
horizon_secs = 3628800

# Tarpit delay in seconds (account guessing; early spray members).
tarpit_secs = 5
# Tarpit delay for unfamiliar sources on accounts a live spray targets.
spray_tarpit_secs = 10
# Step-up: on an account a live spray targets or that guessing put at risk, a source that is
# neither trusted nor familiar, and not flagged, gets `step_up` (a second factor) instead of
# the tarpit above. Dovecot and nginx refuse it with `step_up_message`; the native API and
# wforce clients see it as such; bouncers get a `captcha` decision (docs/integrations.md).
# Never for trusted or familiar sources, never instead of a denial. Off: verdicts as without it.
step_up = false
# Least event time, in seconds, between two `campaign_updated` findings for one campaign.
campaign_update_secs = 600
# Accounts named per campaign in the report (`accounts_targeted` is always the full count).
report_max_accounts = 1000
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize)]
    struct File {
        engine: EngineConfig,
    }

    #[test]
    fn commented_defaults_parse_to_the_defaults() {
        let f: File = toml::from_str(defaults_toml()).expect("defaults_toml parses");
        assert_eq!(f.engine, EngineConfig::default());
    }

    #[test]
    fn every_key_is_present_and_commented() {
        // Every field of the config appears as a key in the text...
        let table = toml::Table::try_from(EngineConfig::default()).unwrap();
        for key in table.keys() {
            assert!(
                defaults_toml()
                    .lines()
                    .any(|l| l.starts_with(&format!("{key} ="))),
                "key {key} missing from defaults_toml()"
            );
        }
        // ...and every block of keys opens with a comment.
        let mut block_start = true;
        for line in defaults_toml().lines().skip(1) {
            if line.trim().is_empty() {
                block_start = true;
                continue;
            }
            if block_start {
                assert!(line.starts_with('#'), "key without a comment: {line}");
            }
            block_start = false;
        }
    }

    #[test]
    fn unknown_keys_are_rejected() {
        assert!(toml::from_str::<EngineConfig>("no_such_key = 1").is_err());
    }
}
