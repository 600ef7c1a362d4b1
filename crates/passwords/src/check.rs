//! One password → breached?, strength (zxcvbn with context words) and a NIST SP 800-63B verdict.
//!
//! [`PasswordChecker`] is what password-change flows call (the CLI's `passwords check` and
//! `serve`'s `POST /v1/password/check`). It is `Send + Sync` and holds the memory-mapped breach
//! filter, the organisation's context words and the [`Policy`]. A [`CheckResult`] never contains
//! the password, its hash or its length: only verdicts.
//!
//! NIST SP 800-63B (rev. 4, §3.1.1.2) asks verifiers to require a minimum length (8, or 15 when
//! the password is the only factor), to permit at least 64 characters, to impose no composition
//! rules, and to reject passwords found in a blocklist of breached values, dictionary words,
//! repetitive or sequential characters and context-specific words (the service's name, the user
//! name and their derivatives). Each of those rules is one [`ReasonCode`] here.

use crate::common::{BASE_WORDS, MONTHS, SEASONS, is_common_password, unleet};
use crate::filter::{BreachFilter, FilterError, date_string};
use crate::hash::HashKind;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// What a password must satisfy. `[passwords]` in the configuration.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Policy {
    /// Minimum length in characters (NIST: 8 with MFA, 15 when the password is the only factor).
    pub min_length: usize,
    /// Longest accepted password in characters (NIST: permit at least 64).
    pub max_length: usize,
    /// Additionally require this zxcvbn score (0–4); 0 = off (NIST imposes no strength score).
    pub min_strength_score: u8,
    /// Context words shorter than this are ignored (avoids matching `org`, `ab`).
    pub min_context_word_len: usize,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            min_length: 8,
            max_length: 128,
            min_strength_score: 0,
            min_context_word_len: 3,
        }
    }
}

impl Policy {
    /// The policy for accounts where the password is the only factor (e.g. admin consoles
    /// without MFA): minimum 15 characters.
    pub fn single_factor() -> Self {
        Policy {
            min_length: 15,
            ..Policy::default()
        }
    }
}

/// The `[passwords]` section of `portcullis.toml`: what `passwords check` and `serve`'s
/// `POST /v1/password/check` use.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PasswordsConfig {
    /// The breach filter built by `portcullis passwords build` (none: breach check off).
    pub filter: Option<std::path::PathBuf>,
    /// The organisation's words: its name, brands, city, products, domain labels.
    pub org_words: Vec<String>,
    pub policy: Policy,
}

impl PasswordsConfig {
    /// Opens a checker as configured.
    pub fn open_checker(&self) -> Result<PasswordChecker, FilterError> {
        Ok(
            PasswordChecker::open(self.filter.as_deref(), self.org_words.clone())?
                .with_policy(self.policy.clone()),
        )
    }
}

/// Why a password is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReasonCode {
    TooShort,
    TooLong,
    /// Found in the breach filter (Pwned Passwords).
    Breached,
    /// A common password or a decorated variant of one (`P@ssw0rd1!`, `Summer2025`).
    Common,
    /// The user's name, the organisation's words, or a decorated variant of them.
    ContextWord,
    /// Repetitive characters (`aaaaaaaa`, `abcabcabc`).
    Repetitive,
    /// Sequential characters or a keyboard walk (`12345678`, `qwertyuiop`).
    Sequential,
    /// Below the configured zxcvbn score (not a NIST rule; off by default).
    WeakStrength,
}

/// One reason for refusal.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Reason {
    pub code: ReasonCode,
    /// Is this a NIST SP 800-63B requirement (or a local policy)?
    pub nist: bool,
    /// Human explanation, safe to show the user (never quotes the password).
    pub message: String,
}

/// Breach-filter result.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct BreachResult {
    /// The filter says "in the list". With probability `false_positive_rate` this is a false
    /// alarm for a password that is not in it; a `false` is always right.
    pub found: bool,
    pub false_positive_rate: f64,
    pub hash_kind: HashKind,
    /// Date of the Pwned Passwords list the filter was built from (`YYYY-MM-DD`), if known.
    pub source_date: Option<String>,
    pub entries: u64,
}

/// zxcvbn's estimate.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Strength {
    /// 0 (too guessable) … 4 (very unguessable).
    pub score: u8,
    pub guesses_log10: f64,
    pub warning: Option<String>,
    pub suggestions: Vec<String>,
}

/// The NIST verdict alone.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct NistVerdict {
    pub compliant: bool,
    /// The NIST rules that failed (subset of [`CheckResult::reasons`]).
    pub failed: Vec<ReasonCode>,
}

/// Result of checking one password. Contains no part of the password.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CheckResult {
    /// Accept this password (NIST rules and local policy all pass).
    pub acceptable: bool,
    pub nist: NistVerdict,
    pub reasons: Vec<Reason>,
    /// `None` when no breach filter is configured.
    pub breached: Option<BreachResult>,
    pub strength: Strength,
}

/// Checks passwords. Cheap to share across threads (`Arc<PasswordChecker>`).
#[derive(Debug)]
pub struct PasswordChecker {
    filter: Option<BreachFilter>,
    /// The organisation's words as configured.
    org_inputs: Vec<String>,
    /// Their context words under the current policy.
    org_words: Vec<String>,
    policy: Policy,
}

/// zxcvbn's matching is super-linear; longer inputs are scored on their first 100 characters
/// (anything that long scores 4 anyway unless it is repetitive, which we test separately).
const ZXCVBN_MAX_CHARS: usize = 100;

/// Labels too generic to count as context words (from e-mail addresses and domains).
const CONTEXT_STOP_WORDS: &[&str] = &[
    "com", "org", "net", "edu", "gov", "mil", "int", "info", "biz", "co", "uk", "de", "fr", "mail",
    "www", "the", "and",
];

/// Splits user inputs (`Alice.Smith@example.org`, `Alice Smith`) into lower-case context words.
pub fn context_words(inputs: &[&str], min_len: usize) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for input in inputs {
        let lower = input.to_lowercase();
        let whole: String = lower.chars().filter(|c| c.is_alphanumeric()).collect();
        let parts = lower
            .split(|c: char| !c.is_alphanumeric())
            .map(str::to_string)
            .chain(std::iter::once(whole));
        for p in parts {
            if p.chars().count() >= min_len
                && !CONTEXT_STOP_WORDS.contains(&p.as_str())
                && !p.chars().all(|c| c.is_ascii_digit())
                && !out.contains(&p)
            {
                out.push(p);
            }
        }
    }
    out
}

/// Strips leading and trailing digits and punctuation (the usual decorations).
fn strip_decorations(p: &str) -> &str {
    p.trim_matches(|c: char| c.is_ascii_digit() || c.is_ascii_punctuation() || c.is_whitespace())
}

/// Is the password a common password or a decorated variant of one?
fn is_common_variant(password: &str) -> bool {
    if is_common_password(password) {
        return true;
    }
    let core = strip_decorations(password);
    if core.chars().count() < 4 {
        return false;
    }
    let candidates = [core.to_lowercase(), unleet(core)];
    candidates.iter().any(|c| {
        is_common_password(c)
            || SEASONS.contains(&c.as_str())
            || MONTHS.contains(&c.as_str())
            || BASE_WORDS.contains(&c.as_str())
    })
}

/// Is the password made of context words plus fewer than 4 other letters (`AliceSmith2025`,
/// `C0nt0so!`)? Words are removed longest first; at least one must occur.
fn context_word_hit(password: &str, words: &[String]) -> bool {
    let mut sorted: Vec<&String> = words.iter().collect();
    sorted.sort_by_key(|w| std::cmp::Reverse(w.chars().count()));
    let forms = [password.to_lowercase(), unleet(strip_decorations(password))];
    forms.iter().any(|f| {
        let mut rest = f.clone();
        let mut found = false;
        for w in &sorted {
            if rest.contains(w.as_str()) {
                rest = rest.replace(w.as_str(), " ");
                found = true;
            }
        }
        found && rest.chars().filter(|c| c.is_alphabetic()).count() < 4
    })
}

/// Few distinct characters, or one short unit repeated (`abcabcabc`).
fn is_repetitive(password: &str) -> bool {
    let chars: Vec<char> = password.chars().collect();
    let n = chars.len();
    if n < 2 {
        return false;
    }
    let mut distinct = chars.clone();
    distinct.sort_unstable();
    distinct.dedup();
    if distinct.len() <= 2 {
        return true;
    }
    (1..=n / 2)
        .any(|unit| n.is_multiple_of(unit) && chars.chunks(unit).all(|c| c == &chars[..unit]))
}

const KEYBOARD_RUNS: &[&str] = &[
    "qwertyuiop",
    "asdfghjkl",
    "zxcvbnm",
    "1234567890",
    "qwertzuiop",
    "azertyuiop",
    "1qaz2wsx3edc4rfv5tgb6yhn7ujm8ik9ol0p",
    "zaq1xsw2cde3vfr4bgt5nhy6mju7",
];

/// One run with a constant step of ±1 (`abcdefgh`, `87654321`) or a keyboard walk.
fn is_sequential(password: &str) -> bool {
    let lower = password.to_lowercase();
    let chars: Vec<u32> = lower.chars().map(u32::from).collect();
    if chars.len() < 3 {
        return false;
    }
    let step_run = |d: i64| {
        chars
            .windows(2)
            .all(|w| i64::from(w[1]) - i64::from(w[0]) == d)
    };
    if step_run(1) || step_run(-1) {
        return true;
    }
    KEYBOARD_RUNS.iter().any(|run| {
        let rev: String = run.chars().rev().collect();
        // Keyboard walks repeat (`qwertyqwerty`): compare against the run doubled.
        let doubled = format!("{run}{run}");
        let rev_doubled = format!("{rev}{rev}");
        doubled.contains(&lower) || rev_doubled.contains(&lower)
    })
}

impl PasswordChecker {
    /// Opens the breach filter (if any) and remembers the organisation's words.
    pub fn open(filter_path: Option<&Path>, org_words: Vec<String>) -> Result<Self, FilterError> {
        let filter = filter_path.map(BreachFilter::open).transpose()?;
        Ok(Self::new(filter, org_words))
    }

    /// From an already-open filter.
    pub fn new(filter: Option<BreachFilter>, org_words: Vec<String>) -> Self {
        let policy = Policy::default();
        let org_refs: Vec<&str> = org_words.iter().map(String::as_str).collect();
        let words = context_words(&org_refs, policy.min_context_word_len);
        PasswordChecker {
            filter,
            org_inputs: org_words,
            org_words: words,
            policy,
        }
    }

    /// Replaces the policy.
    pub fn with_policy(mut self, policy: Policy) -> Self {
        let org_refs: Vec<&str> = self.org_inputs.iter().map(String::as_str).collect();
        self.org_words = context_words(&org_refs, policy.min_context_word_len);
        self.policy = policy;
        self
    }

    /// The policy in force.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// The breach filter, if one is configured.
    pub fn filter(&self) -> Option<&BreachFilter> {
        self.filter.as_ref()
    }

    /// Checks `password` for the user described by `user_inputs` (user name, display name,
    /// e-mail address: anything whose parts must not be the password).
    pub fn check(&self, password: &str, user_inputs: &[&str]) -> CheckResult {
        let p = &self.policy;
        let mut reasons = Vec::new();
        let mut reason = |code, nist, message: String| {
            reasons.push(Reason {
                code,
                nist,
                message,
            })
        };
        let len = password.chars().count();
        if len < p.min_length {
            reason(
                ReasonCode::TooShort,
                true,
                format!("use at least {} characters", p.min_length),
            );
        }
        if len > p.max_length {
            reason(
                ReasonCode::TooLong,
                false,
                format!("use at most {} characters", p.max_length),
            );
        }
        let breached = self.filter.as_ref().map(|f| {
            let info = f.info();
            BreachResult {
                found: f.contains_password(password),
                false_positive_rate: info.false_positive_rate,
                hash_kind: info.hash_kind,
                source_date: date_string(info.source_date_unix),
                entries: info.entries,
            }
        });
        if breached.as_ref().is_some_and(|b| b.found) {
            reason(
                ReasonCode::Breached,
                true,
                "this password appears in a list of passwords exposed in data breaches".into(),
            );
        }
        if is_common_variant(password) {
            reason(
                ReasonCode::Common,
                true,
                "this is a commonly used password or a small variation of one".into(),
            );
        }
        let mut words = context_words(user_inputs, p.min_context_word_len);
        for w in &self.org_words {
            if !words.contains(w) {
                words.push(w.clone());
            }
        }
        if !password.is_empty() && context_word_hit(password, &words) {
            reason(
                ReasonCode::ContextWord,
                true,
                "do not build the password from your name, user name or the organisation's name"
                    .into(),
            );
        }
        if is_repetitive(password) {
            reason(
                ReasonCode::Repetitive,
                true,
                "avoid repeated characters or patterns".into(),
            );
        }
        if is_sequential(password) {
            reason(
                ReasonCode::Sequential,
                true,
                "avoid sequences and keyboard walks".into(),
            );
        }
        let strength = self.strength(password, &words);
        if strength.score < p.min_strength_score {
            reason(
                ReasonCode::WeakStrength,
                false,
                format!(
                    "too easy to guess (strength {} of 4, {} required)",
                    strength.score, p.min_strength_score
                ),
            );
        }
        let failed: Vec<ReasonCode> = reasons.iter().filter(|r| r.nist).map(|r| r.code).collect();
        CheckResult {
            acceptable: reasons.is_empty(),
            nist: NistVerdict {
                compliant: failed.is_empty(),
                failed,
            },
            reasons,
            breached,
            strength,
        }
    }

    fn strength(&self, password: &str, words: &[String]) -> Strength {
        if password.is_empty() {
            return Strength {
                score: 0,
                guesses_log10: 0.0,
                warning: Some("a password is required".into()),
                suggestions: Vec::new(),
            };
        }
        let scored: String = password.chars().take(ZXCVBN_MAX_CHARS).collect();
        let refs: Vec<&str> = words.iter().map(String::as_str).collect();
        let e = zxcvbn::zxcvbn(&scored, &refs);
        let (warning, suggestions) = match e.feedback() {
            Some(f) => (
                f.warning().map(|w| w.to_string()),
                f.suggestions().iter().map(|s| s.to_string()).collect(),
            ),
            None => (None, Vec::new()),
        };
        Strength {
            score: u8::from(e.score()),
            guesses_log10: (e.guesses_log10() * 100.0).round() / 100.0,
            warning,
            suggestions,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn checker() -> PasswordChecker {
        PasswordChecker::new(None, vec!["Contoso Ltd".into()])
    }

    fn codes(r: &CheckResult) -> Vec<ReasonCode> {
        r.reasons.iter().map(|r| r.code).collect()
    }

    #[test]
    fn short_common_sequential_repetitive() {
        let c = checker();
        assert!(codes(&c.check("abc", &[])).contains(&ReasonCode::TooShort));
        assert!(codes(&c.check("", &[])).contains(&ReasonCode::TooShort));
        assert!(codes(&c.check("password", &[])).contains(&ReasonCode::Common));
        assert!(codes(&c.check("P@ssw0rd123!", &[])).contains(&ReasonCode::Common));
        assert!(codes(&c.check("Summer2025!", &[])).contains(&ReasonCode::Common));
        assert!(codes(&c.check("12345678", &[])).contains(&ReasonCode::Sequential));
        assert!(codes(&c.check("zyxwvuts", &[])).contains(&ReasonCode::Sequential));
        assert!(codes(&c.check("qwertyuiop", &[])).contains(&ReasonCode::Sequential));
        assert!(codes(&c.check("aaaaaaaaaa", &[])).contains(&ReasonCode::Repetitive));
        assert!(codes(&c.check("abcabcabcabc", &[])).contains(&ReasonCode::Repetitive));
    }

    #[test]
    fn context_words_from_user_and_org() {
        let c = checker();
        let user = ["alice.smith@example.org"];
        let r = c.check("AliceSmith2025", &user);
        assert!(codes(&r).contains(&ReasonCode::ContextWord), "{r:?}");
        let r = c.check("C0nt0so!2026", &[]);
        assert!(codes(&r).contains(&ReasonCode::ContextWord), "{r:?}");
        // The name inside a long passphrase is fine.
        let r = c.check("alice rides purple tandem bicycles", &user);
        assert!(!codes(&r).contains(&ReasonCode::ContextWord), "{r:?}");
        assert_eq!(
            context_words(&["Alice.Smith@example.org"], 3),
            vec!["alice", "smith", "example", "alicesmithexampleorg"]
        );
    }

    #[test]
    fn strong_passphrase_is_acceptable() {
        let c = checker();
        let r = c.check("correct-horse-battery-staple-fjord", &["bob"]);
        assert!(r.acceptable, "{r:?}");
        assert!(r.nist.compliant);
        assert_eq!(r.strength.score, 4);
        assert!(r.breached.is_none());
    }

    #[test]
    fn single_factor_needs_fifteen() {
        let c = checker().with_policy(Policy::single_factor());
        let r = c.check("Xk9#mQ2vL7pR", &[]);
        assert_eq!(codes(&r), vec![ReasonCode::TooShort]);
        assert!(!r.nist.compliant);
    }

    #[test]
    fn strength_threshold_is_local_policy() {
        let c = checker().with_policy(Policy {
            min_strength_score: 3,
            ..Policy::default()
        });
        // zxcvbn 3.1 scores this 2 of 4.
        let r = c.check("Kangaroo7Tea", &[]);
        assert!(r.nist.compliant, "{r:?}");
        assert!(!r.acceptable);
        assert_eq!(codes(&r), vec![ReasonCode::WeakStrength]);
    }

    #[test]
    fn policy_sets_the_context_word_length() {
        // "ltd" (3 letters) is a context word by default, not with a minimum of 4.
        let c = PasswordChecker::new(None, vec!["Contoso Ltd".into()]);
        assert!(codes(&c.check("Ltd!2026xy", &[])).contains(&ReasonCode::ContextWord));
        let c = c.with_policy(Policy {
            min_context_word_len: 4,
            ..Policy::default()
        });
        assert!(!codes(&c.check("Ltd!2026xy", &[])).contains(&ReasonCode::ContextWord));
    }

    #[test]
    fn result_never_contains_the_password() {
        let c = checker();
        for pw in [
            "hunter2hunter2",
            "Contoso2026!",
            "correct-horse-battery-staple",
        ] {
            let json = serde_json::to_string(&c.check(pw, &["alice"])).unwrap();
            assert!(!json.contains(pw), "{json}");
        }
    }

    #[test]
    fn checker_is_send_and_sync() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<PasswordChecker>();
    }
}
