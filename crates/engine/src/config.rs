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
    /// Networks never flagged or blocked by detection (admin blocks still apply).
    pub trusted_networks: Vec<Prefix>,
    /// Failures from one address (or its /24, /64) within `brute_force_window_secs` that make
    /// it a brute-force source.
    pub brute_force_failures: u32,
    pub brute_force_window_secs: u32,
    /// Distinct wrong passwords from unfamiliar sources within `account_guess_window_secs` that
    /// put an account at risk (unfamiliar sources are then tarpitted on it).
    pub account_guess_failures: u32,
    pub account_guess_window_secs: u32,
    /// Distinct wrong passwords from unfamiliar sources within the window after which
    /// unfamiliar sources are denied on the account (familiar ones never are).
    pub account_lock_failures: u32,
    /// Tarpit delay, seconds.
    pub tarpit_secs: u32,
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
            brute_force_failures: 20,
            brute_force_window_secs: 600,
            account_guess_failures: 10,
            account_guess_window_secs: 3600,
            account_lock_failures: 30,
            tarpit_secs: 5,
        }
    }
}

/// The `[engine]` section with every key, its default, and a comment.
pub fn defaults_toml() -> &'static str {
    DEFAULTS_TOML
}

const DEFAULTS_TOML: &str = r#"[engine]
# Networks never flagged or blocked by detection (RFC 1918, loopback, IPv6 ULA). Admin blocks
# still apply. Add your VPN and office ranges here.
trusted_networks = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "127.0.0.0/8", "::1/128", "fc00::/7"]
# Source brute force: this many failures from one address within the window flag it.
brute_force_failures = 20
brute_force_window_secs = 600
# Account guessing: distinct wrong passwords (the same wrong password again counts once) from
# unfamiliar sources within the window that put the account at risk; unfamiliar sources are
# then tarpitted on it. Familiar sources (that logged in to the account before) never are.
account_guess_failures = 10
account_guess_window_secs = 3600
# ... and after this many, unfamiliar sources are denied on the account.
account_lock_failures = 30
# Delay, in seconds, of a tarpit verdict.
tarpit_secs = 5
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
