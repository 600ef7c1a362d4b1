//! `portcullis.toml`: one file, one section per concern, each owned by the crate it configures.
//!
//! `[accounts]` (account-name normalisation, `portcullis_core`), `[engine]` (detectors,
//! `portcullis_engine`), `[server]` (listeners, store, credentials, `portcullis_server`),
//! `[passwords]` (breach filter and password policy, `portcullis_passwords`). Unknown
//! keys are errors, so a typo never silently means "default". Where the file comes from:
//! `--config PATH` if given (it must exist), else `/etc/portcullis/portcullis.toml` if it exists,
//! else the built-in defaults. `portcullis config --defaults` prints every key, commented.

use anyhow::{Context, Result};
use portcullis_core::NormalizeOptions;
use portcullis_engine::EngineConfig;
use serde::Deserialize;
use std::path::{Path, PathBuf};

/// The system-wide location, used when no `--config` is given and the file exists.
pub const SYSTEM_PATH: &str = "/etc/portcullis/portcullis.toml";

/// The whole configuration.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub accounts: NormalizeOptions,
    pub engine: EngineConfig,
    /// Kept as a table here; `portcullis serve` deserialises it into its own type, so
    /// commands that do not serve never fail on server settings.
    pub server: toml::Table,
    pub passwords: portcullis_passwords::PasswordsConfig,
    /// A cluster of `serve` nodes over NATS JetStream (docs/operations.md); absent: one node.
    pub cluster: portcullis_server::cluster::ClusterConfig,
}

/// The `[accounts]` section with every key commented.
const ACCOUNTS_DEFAULTS: &str = r#"[accounts]
# How "user@domain" names are keyed: "keep_domain" (mailboxes in different domains are
# different accounts) or "strip_domain" (one directory, several mail domains).
style = "keep_domain"
# Drop a Windows "DOMAIN\" prefix ("CORP\alice" -> "alice"); Windows logs carry the domain apart.
strip_windows_domain = true
# Append "@domain" to bare names so logs that omit the domain meet logs that carry it
# ("alice" -> "alice@example.org"). Empty: off.
default_domain = ""
"#;

/// The `[passwords]` section with every key commented.
const PASSWORDS_DEFAULTS: &str = r#"[passwords]
# Breach filter built by `portcullis passwords build` from Have I Been Pwned's lists (offline).
# Unset: no breach check.
# filter = "/var/lib/portcullis/pwned-passwords.pcf"
# The organisation's own words (name, brands, city, domain labels): refused in new passwords,
# tried first by `passwords audit`.
org_words = []

[passwords.policy]
# Minimum length (NIST SP 800-63B: 8 with a second factor, 15 when the password is the only one).
min_length = 8
# Longest password accepted (NIST: permit at least 64).
max_length = 128
# Also require this zxcvbn score, 0-4; 0 = off (NIST imposes no strength score).
min_strength_score = 0
# Context words shorter than this are ignored (so "ab" in a name does not refuse "abacus").
min_context_word_len = 3
"#;

/// The `[cluster]` section, commented out: without it `serve` is a single node.
const CLUSTER_DEFAULTS: &str = r#"# A cluster of serve nodes over one NATS JetStream stream (docs/operations.md). Absent or
# nats_url = "": a single node.
# [cluster]
# nats_url = "nats://10.0.0.1:4222,nats://10.0.0.2:4222,nats://10.0.0.3:4222"
# node = "mx1"                   # unique per node: letters, digits, '-', '_'
# stream = "PORTCULLIS_INPUTS"
# subject_prefix = "portcullis.inputs"
# replicas = 1                   # 3 with a three-server NATS cluster
# duplicate_window_secs = 600
# snapshot_every = 100000
# max_buffered = 1000000
"#;

/// Every section with its defaults, commented: what `portcullis config --defaults` prints.
pub fn defaults_toml() -> String {
    format!(
        "# portcullis.toml: every setting with its default.\n\
         # Copy to /etc/portcullis/portcullis.toml and change what you need; unknown keys are errors.\n\n\
         {ACCOUNTS_DEFAULTS}\n{}\n{}\n{PASSWORDS_DEFAULTS}\n{CLUSTER_DEFAULTS}",
        portcullis_engine::config::defaults_toml(),
        portcullis_server::config::defaults_toml(),
    )
}

/// Parses a configuration text; `origin` names it in errors.
pub fn parse(text: &str, origin: &str) -> Result<Config> {
    toml::from_str(text).with_context(|| format!("invalid configuration in {origin}"))
}

/// Loads the configuration as described in the module docs. Returns it and where it came from.
pub fn load(explicit: Option<&Path>) -> Result<(Config, Option<PathBuf>)> {
    let path = match explicit {
        Some(p) => Some(p.to_path_buf()),
        None => Some(PathBuf::from(SYSTEM_PATH)).filter(|p| p.exists()),
    };
    match path {
        None => Ok((Config::default(), None)),
        Some(p) => {
            let text = std::fs::read_to_string(&p)
                .with_context(|| format!("cannot read configuration file {}", p.display()))?;
            let cfg = parse(&text, &p.display().to_string())?;
            Ok((cfg, Some(p)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn printed_defaults_parse_to_the_defaults() {
        let cfg = parse(&defaults_toml(), "defaults").unwrap();
        assert_eq!(cfg.accounts, NormalizeOptions::default());
        assert_eq!(cfg.engine, EngineConfig::default());
        let server: portcullis_server::ServerConfig =
            toml::Value::Table(cfg.server).try_into().unwrap();
        assert_eq!(server, portcullis_server::ServerConfig::default());
        assert_eq!(
            cfg.passwords,
            portcullis_passwords::PasswordsConfig::default()
        );
    }

    /// The commented `[cluster]` example, uncommented, is a valid cluster whose other keys are
    /// the defaults.
    #[test]
    fn the_commented_cluster_section_parses() {
        let text: String = CLUSTER_DEFAULTS
            .lines()
            .skip_while(|l| *l != "# [cluster]")
            .map(|l| format!("{}\n", l.trim_start_matches("# ")))
            .collect();
        let c = parse(&text, "cluster").unwrap().cluster;
        assert!(c.enabled() && c.validate().is_ok(), "{c:?}");
        let d = portcullis_server::cluster::ClusterConfig::default();
        assert_eq!(
            (
                &c.stream,
                &c.subject_prefix,
                c.replicas,
                c.duplicate_window_secs
            ),
            (
                &d.stream,
                &d.subject_prefix,
                d.replicas,
                d.duplicate_window_secs
            )
        );
        assert_eq!(
            (c.snapshot_every, c.max_buffered),
            (d.snapshot_every, d.max_buffered)
        );
        assert!(!parse("", "empty").unwrap().cluster.enabled());
    }

    #[test]
    fn every_default_key_is_commented() {
        // A key line must follow a comment line (or another key of the same comment block).
        let text = defaults_toml();
        let mut prev_comment_or_key = false;
        for line in text.lines() {
            let t = line.trim();
            if t.starts_with('#') {
                prev_comment_or_key = true;
            } else if t.is_empty() || t.starts_with('[') {
                prev_comment_or_key = false;
            } else {
                assert!(prev_comment_or_key, "key without a comment: {t}");
            }
        }
    }

    #[test]
    fn typos_are_errors_that_name_the_key() {
        let err = parse("[accounts]\nstyel = \"strip_domain\"\n", "test.toml").unwrap_err();
        let msg = format!("{err:#}");
        assert!(msg.contains("test.toml"), "{msg}");
        assert!(msg.contains("styel"), "{msg}");
    }

    #[test]
    fn a_missing_explicit_file_is_an_error_naming_it() {
        let err = load(Some(Path::new("/nonexistent/portcullis.toml"))).unwrap_err();
        assert!(format!("{err:#}").contains("/nonexistent/portcullis.toml"));
    }
}
