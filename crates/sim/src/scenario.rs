//! Scenarios (their names are a contract: scripts and CI call them) and the simulation's
//! settings with each scenario's defaults.

use portcullis_core::Timestamp;
use portcullis_core::report::CampaignKind;
use std::fmt;
use std::str::FromStr;

/// One simulated month (or week) of an organisation's logins, with or without an attack.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Scenario {
    /// The June 2017 UK Parliament attack: weeks of sparse probing from a few addresses, then
    /// an overnight spray of the top passwords (every account about once an hour) from 1,000+
    /// residential proxies; ~1 % weak passwords fall; the attacker returns to read the mail.
    Parliament2017,
    /// An overnight spray in which every attempt comes from a new address.
    RotateEveryAttempt,
    /// An overnight spray from random addresses inside a few IPv6 /48s.
    Ipv6Rotation,
    /// A leaked list: a distinct password per account, many accounts that do not exist here.
    CredentialStuffing,
    /// Classic brute force: a few sources, thousands of tries on a few accounts.
    BruteForce,
    /// An overnight spray in which every attempt comes from a new IPv4 address in a network
    /// (a /16) no other attempt used: no shared prefixes to aggregate.
    SingleUse,
    /// Credential stuffing with a new, unrelated IPv4 address for every attempt; ~4 % of the
    /// pairs are still valid.
    StuffingSingleUse,
    /// A few compromised hosts inside the organisation's private (RFC 1918) networks, not the
    /// office NAT gateways, spraying every account overnight.
    Insider,
    /// Benign life only: no attack.
    Benign,
}

impl Scenario {
    pub const ALL: [Scenario; 9] = [
        Scenario::Parliament2017,
        Scenario::RotateEveryAttempt,
        Scenario::Ipv6Rotation,
        Scenario::CredentialStuffing,
        Scenario::BruteForce,
        Scenario::SingleUse,
        Scenario::StuffingSingleUse,
        Scenario::Insider,
        Scenario::Benign,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Scenario::Parliament2017 => "parliament-2017",
            Scenario::RotateEveryAttempt => "rotate-every-attempt",
            Scenario::Ipv6Rotation => "ipv6-rotation",
            Scenario::CredentialStuffing => "credential-stuffing",
            Scenario::BruteForce => "brute-force",
            Scenario::SingleUse => "single-use",
            Scenario::StuffingSingleUse => "stuffing-single-use",
            Scenario::Insider => "insider",
            Scenario::Benign => "benign",
        }
    }

    /// Default number of accounts.
    pub fn default_accounts(self) -> usize {
        match self {
            Scenario::Parliament2017 => 9_000,
            Scenario::BruteForce => 1_000,
            _ => 5_000,
        }
    }

    /// Default length in days.
    pub fn default_days(self) -> u32 {
        match self {
            Scenario::Parliament2017 | Scenario::Benign => 28,
            _ => 7,
        }
    }

    /// The campaign kinds a detector may rightly name this attack (none for `benign`).
    pub fn expected_kinds(self) -> Vec<CampaignKind> {
        match self {
            Scenario::Parliament2017
            | Scenario::RotateEveryAttempt
            | Scenario::Ipv6Rotation
            | Scenario::SingleUse
            | Scenario::Insider => vec![CampaignKind::PasswordSpray],
            Scenario::CredentialStuffing | Scenario::StuffingSingleUse => {
                vec![
                    CampaignKind::CredentialStuffing,
                    CampaignKind::PasswordSpray,
                ]
            }
            Scenario::BruteForce => vec![CampaignKind::BruteForce, CampaignKind::AccountGuessing],
            Scenario::Benign => vec![],
        }
    }

    /// The detection-delay target for this attack, in seconds (issues 3 and 15): 30 minutes
    /// when every attempt comes from a new address or the list is a stuffing one, else 15.
    pub fn detect_within_secs(self) -> i64 {
        match self {
            Scenario::RotateEveryAttempt
            | Scenario::SingleUse
            | Scenario::CredentialStuffing
            | Scenario::StuffingSingleUse => 30 * 60,
            _ => 15 * 60,
        }
    }
}

impl fmt::Display for Scenario {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Scenario {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Scenario::ALL
            .into_iter()
            .find(|sc| sc.name() == s.trim())
            .ok_or_else(|| {
                let names: Vec<&str> = Scenario::ALL.iter().map(|s| s.name()).collect();
                format!("unknown scenario {s:?}; known: {}", names.join(", "))
            })
    }
}

/// Output log format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// Dovecot 2.3 via rsyslog with RFC 3339 timestamps (`mail.log`).
    Dovecot,
    /// portcullis's generic JSON lines, `portcullis.event/v1` (`events.jsonl`).
    Jsonl,
    /// OpenSSH `sshd` password logins via rsyslog (`auth.log`); accounts without the domain.
    OpenSsh,
    /// Windows Security 4624/4625 as NXLog `im_msvistalog` JSON lines (`security.jsonl`);
    /// accounts without the domain (sAMAccountName).
    Windows,
}

impl Format {
    pub fn name(self) -> &'static str {
        match self {
            Format::Dovecot => "dovecot",
            Format::Jsonl => "jsonl",
            Format::OpenSsh => "openssh",
            Format::Windows => "windows",
        }
    }
    /// The file the log is written to inside the output directory.
    pub fn file_name(self) -> &'static str {
        match self {
            Format::Dovecot => "mail.log",
            Format::Jsonl => "events.jsonl",
            Format::OpenSsh => "auth.log",
            Format::Windows => "security.jsonl",
        }
    }
}

impl Format {
    /// Formats whose logs name accounts without the mail domain.
    pub fn local_names(self) -> bool {
        matches!(self, Format::OpenSsh | Format::Windows)
    }
}

impl FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "dovecot" => Ok(Format::Dovecot),
            "jsonl" | "json" => Ok(Format::Jsonl),
            "openssh" | "sshd" => Ok(Format::OpenSsh),
            "windows" => Ok(Format::Windows),
            _ => Err(format!(
                "unknown format {s:?}; known: dovecot, jsonl, openssh, windows"
            )),
        }
    }
}

/// Which Dovecot auth-process lines accompany the login lines.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuthLines {
    /// `auth: passwd-file(user,ip,<session>): Password mismatch (SHA1 of given password: 1a2b3c)`
    /// before each failure (Dovecot's `auth_verbose=yes`, `auth_verbose_passwords=sha1:6`).
    Sha1,
    /// The same without the password hash (`auth_verbose=yes` only).
    Plain,
    /// Login-process lines only (Dovecot's defaults): the simulator's default, so that every
    /// target is met without password fingerprints.
    None,
}

impl FromStr for AuthLines {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "sha1" => Ok(AuthLines::Sha1),
            "plain" => Ok(AuthLines::Plain),
            "none" => Ok(AuthLines::None),
            _ => Err(format!(
                "unknown auth-lines {s:?}; known: sha1, plain, none"
            )),
        }
    }
}

impl AuthLines {
    pub fn name(self) -> &'static str {
        match self {
            AuthLines::Sha1 => "sha1",
            AuthLines::Plain => "plain",
            AuthLines::None => "none",
        }
    }
}

/// Which Dovecot release's wording the `dovecot` format writes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum DovecotVersion {
    /// 2.3: `Login:`, `Disconnected (auth failed, …)`, `auth: passwd-file(user,ip,<session>): …`,
    /// `TLS`.
    #[default]
    V23,
    /// 2.4 (Debian 13): `Logged in:`, `Login aborted: Connection closed (auth failed, …)
    /// (auth_failed)`, `auth(user,ip,sasl:plain)<session>: passwd-file: …`, `secured`.
    V24,
}

impl DovecotVersion {
    pub fn name(self) -> &'static str {
        match self {
            DovecotVersion::V23 => "2.3",
            DovecotVersion::V24 => "2.4",
        }
    }
}

impl FromStr for DovecotVersion {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "2.3" => Ok(DovecotVersion::V23),
            "2.4" => Ok(DovecotVersion::V24),
            _ => Err(format!("unknown Dovecot version {s:?}; known: 2.3, 2.4")),
        }
    }
}

/// Everything a simulation run needs. Same config, same bytes.
#[derive(Clone, Debug)]
pub struct SimConfig {
    pub scenario: Scenario,
    pub accounts: usize,
    pub seed: u64,
    pub days: u32,
    /// First instant simulated (UTC). The organisation's clock is UTC.
    pub start: Timestamp,
    pub format: Format,
    pub auth_lines: AuthLines,
    /// The Dovecot release whose log lines `Format::Dovecot` writes.
    pub dovecot: DovecotVersion,
    pub domain: String,
    /// The syslog host name of the mail server.
    pub host: String,
}

/// Fewest and most accounts a simulation accepts.
pub const MIN_ACCOUNTS: usize = 100;
pub const MAX_ACCOUNTS: usize = 100_000;
pub const MAX_DAYS: u32 = 92;

impl SimConfig {
    /// The scenario's defaults: its account count and length, seed 1, starting Monday
    /// 2017-05-29 00:00 UTC (so a 28-day Parliament run sprays the night of Friday 23 June).
    pub fn new(scenario: Scenario) -> Self {
        SimConfig {
            scenario,
            accounts: scenario.default_accounts(),
            seed: 1,
            days: scenario.default_days(),
            start: Timestamp::parse_rfc3339("2017-05-29T00:00:00Z").unwrap_or_default(),
            format: Format::Dovecot,
            auth_lines: AuthLines::None,
            dovecot: DovecotVersion::V23,
            domain: "example.org".into(),
            host: "mail1".into(),
        }
    }

    /// Checks the ranges; the message says what is accepted.
    pub fn validate(&self) -> Result<(), String> {
        if !(MIN_ACCOUNTS..=MAX_ACCOUNTS).contains(&self.accounts) {
            return Err(format!(
                "--accounts must be between {MIN_ACCOUNTS} and {MAX_ACCOUNTS} (got {})",
                self.accounts
            ));
        }
        if self.days == 0 || self.days > MAX_DAYS {
            return Err(format!(
                "--days must be between 1 and {MAX_DAYS} (got {})",
                self.days
            ));
        }
        let ok = |s: &str| {
            !s.is_empty()
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-')
        };
        if !ok(&self.domain) || !ok(&self.host) {
            return Err(
                "--domain and --host must be plain host names (letters, digits, '.', '-')".into(),
            );
        }
        Ok(())
    }

    /// The command line that reproduces this run.
    pub fn command_line(&self) -> String {
        format!(
            "portcullis simulate --scenario {} --accounts {} --seed {} --days {} --start {} --format {} --auth-lines {} --dovecot {} --domain {} --host {}",
            self.scenario,
            self.accounts,
            self.seed,
            self.days,
            self.start,
            self.format.name(),
            self.auth_lines.name(),
            self.dovecot.name(),
            self.domain,
            self.host
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_unknown_names_are_explained() {
        for s in Scenario::ALL {
            assert_eq!(s.name().parse::<Scenario>().unwrap(), s);
        }
        let e = "parliament".parse::<Scenario>().unwrap_err();
        assert!(e.contains("parliament-2017"), "{e}");
    }

    #[test]
    fn every_format_parses_by_its_name() {
        for f in [
            Format::Dovecot,
            Format::Jsonl,
            Format::OpenSsh,
            Format::Windows,
        ] {
            assert_eq!(f.name().parse::<Format>().unwrap(), f);
        }
        assert!("csv".parse::<Format>().unwrap_err().contains("windows"));
        for v in [DovecotVersion::V23, DovecotVersion::V24] {
            assert_eq!(v.name().parse::<DovecotVersion>().unwrap(), v);
        }
        assert!("2.5".parse::<DovecotVersion>().unwrap_err().contains("2.4"));
    }

    #[test]
    fn validation_bounds() {
        let mut c = SimConfig::new(Scenario::Benign);
        assert!(c.validate().is_ok());
        c.accounts = 99;
        assert!(c.validate().is_err());
        c.accounts = 100_000;
        assert!(c.validate().is_ok());
        c.days = 0;
        assert!(c.validate().is_err());
        c.days = 3;
        c.domain = "evil\nline".into();
        assert!(c.validate().is_err());
    }
}
