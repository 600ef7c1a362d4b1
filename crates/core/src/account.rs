//! Account names: as logged, and normalised so that one person is one key.
//!
//! Logs spell the same account many ways (`Alice@Example.org`, `CORP\alice`, `alice`). The
//! engine keys its state on [`Account::name`], the normalised form; [`Account::raw`] keeps the
//! spelling the log used, for reports. Normalisation is configurable because organisations
//! differ: see [`NormalizeOptions`].

use serde::{Deserialize, Serialize};
use std::fmt;

/// How `user@domain` names are treated.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum AccountStyle {
    /// Keep `user@domain` whole (default): mailboxes in different domains are different accounts.
    #[default]
    KeepDomain,
    /// Drop `@domain`: one directory, several mail domains that alias the same people.
    StripDomain,
}

/// Normalisation settings (`[accounts]` in `portcullis.toml`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NormalizeOptions {
    /// What to do with `user@domain`.
    pub style: AccountStyle,
    /// Drop a Windows `DOMAIN\` prefix (`CORP\alice` → `alice`). Default: true, since Windows
    /// logs carry the domain in a field of its own.
    pub strip_windows_domain: bool,
    /// Append `@domain` to bare names (`alice` → `alice@example.org`), so that logs which omit
    /// the domain meet logs which carry it. Applied after the two rules above; empty = off.
    pub default_domain: String,
}

impl Default for NormalizeOptions {
    fn default() -> Self {
        NormalizeOptions {
            style: AccountStyle::KeepDomain,
            strip_windows_domain: true,
            default_domain: String::new(),
        }
    }
}

/// An account as a log named it. `name` is the normalised key; `raw` the spelling as logged.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Account {
    pub name: String,
    pub raw: String,
}

impl Account {
    /// Normalises `raw` with the given options: trims, lower-cases, applies the domain rules,
    /// and replaces control characters (log-injection defence) with `?`.
    pub fn new(raw: &str, opts: &NormalizeOptions) -> Self {
        let trimmed = raw.trim();
        // Hot path (every event): printable ASCII needs one copy and an in-place lower-casing.
        let raw_clean: String = if trimmed.bytes().all(|b| (0x20..0x7f).contains(&b)) {
            trimmed.to_string()
        } else {
            trimmed
                .chars()
                .map(|c| if c.is_control() { '?' } else { c })
                .collect()
        };
        let mut name = if raw_clean.is_ascii() {
            raw_clean.to_ascii_lowercase()
        } else {
            raw_clean.to_lowercase()
        };
        if opts.strip_windows_domain
            && let Some(i) = name.rfind('\\')
        {
            name.drain(..=i);
        }
        if opts.style == AccountStyle::StripDomain
            && let Some(i) = name.find('@')
        {
            name.truncate(i);
        }
        if !opts.default_domain.is_empty() && !name.is_empty() && !name.contains('@') {
            name.push('@');
            name.push_str(&opts.default_domain.to_lowercase());
        }
        Account {
            name,
            raw: raw_clean,
        }
    }

    /// Normalises with the default options.
    pub fn from_raw(raw: &str) -> Self {
        Self::new(raw, &NormalizeOptions::default())
    }

    /// True when the log named no account (e.g. `user=<>`).
    pub fn is_empty(&self) -> bool {
        self.name.is_empty()
    }
}

impl fmt::Display for Account {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lower_cases_and_strips_windows_domain_by_default() {
        let a = Account::from_raw(" CORP\\Alice ");
        assert_eq!(a.name, "alice");
        assert_eq!(a.raw, "CORP\\Alice");
        assert_eq!(Account::from_raw("Bob@Example.ORG").name, "bob@example.org");
    }

    #[test]
    fn strip_domain_and_default_domain() {
        let strip = NormalizeOptions {
            style: AccountStyle::StripDomain,
            ..Default::default()
        };
        assert_eq!(Account::new("Bob@Example.org", &strip).name, "bob");
        let dflt = NormalizeOptions {
            default_domain: "Example.org".into(),
            ..Default::default()
        };
        assert_eq!(Account::new("CORP\\bob", &dflt).name, "bob@example.org");
        assert_eq!(Account::new("bob@other.org", &dflt).name, "bob@other.org");
        assert_eq!(Account::new("", &dflt).name, "");
    }

    #[test]
    fn non_ascii_names_lower_case_too() {
        assert_eq!(
            Account::from_raw("ÉLODIE@Example.org").name,
            "élodie@example.org"
        );
        assert_eq!(Account::from_raw("CORP\\Ünal").name, "ünal");
    }

    #[test]
    fn control_characters_cannot_forge_log_lines() {
        let a = Account::from_raw("eve\nFailed password for root from 1.2.3.4");
        assert!(!a.name.contains('\n'));
        assert!(!a.raw.contains('\n'));
    }
}
