//! Common passwords and the organisation-specific guesses an attacker tries first.
//!
//! [`common_passwords`] is a small built-in list (a few hundred of the most common passwords,
//! most common first). [`Candidates`] ranks guesses the way a sprayer does: the very top of the
//! common list, then seasons and months with years (`Summer2025!`), the organisation's own words
//! with years and `1!`-style suffixes, `Password1!`-patterns, then the rest. The rank of a guess
//! is what "spray exposure" measures: an account whose password has rank < K falls to a spray of
//! the top K.

use std::collections::HashSet;
use std::sync::OnceLock;

const COMMON_TXT: &str = include_str!("../data/common-passwords.txt");

/// The built-in common passwords, most common first, de-duplicated.
pub fn common_passwords() -> &'static [&'static str] {
    static LIST: OnceLock<Vec<&'static str>> = OnceLock::new();
    LIST.get_or_init(|| {
        let mut seen = HashSet::new();
        COMMON_TXT
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .filter(|l| seen.insert(*l))
            .collect()
    })
}

/// Lower-cased set of the built-in list, for membership tests.
pub fn is_common_password(p: &str) -> bool {
    static SET: OnceLock<HashSet<String>> = OnceLock::new();
    SET.get_or_init(|| {
        common_passwords()
            .iter()
            .map(|p| p.to_lowercase())
            .collect()
    })
    .contains(&p.to_lowercase())
}

/// Seasons, in English (the sprayer's favourite base words).
pub const SEASONS: &[&str] = &["summer", "winter", "spring", "autumn", "fall"];
/// Months, in English.
pub const MONTHS: &[&str] = &[
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
];
/// Base words that get the `Password1!` treatment.
pub const BASE_WORDS: &[&str] = &["password", "welcome", "changeme", "letmein", "passw0rd"];

/// Suffixes sprayers append to a capitalised base word, most common first.
const SUFFIXES: &[&str] = &[
    "1", "!", "1!", "123", "01", "12", "123!", "2", "@1", "#1", "1234", "",
];

fn capitalise(w: &str) -> String {
    let mut c = w.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

/// Ranked guess list: common passwords plus organisation-specific mutations.
#[derive(Clone, Debug)]
pub struct Candidates {
    list: Vec<String>,
}

impl Candidates {
    /// Builds the ranked list for an organisation. `org_words`: the organisation's name, brands,
    /// city, domain label…; `years`: the years to combine (typically the last three and the
    /// current one, newest first).
    pub fn new(org_words: &[String], years: &[i32]) -> Self {
        let mut out: Vec<String> = Vec::new();
        let mut seen: HashSet<String> = HashSet::new();
        let mut push = |s: String, out: &mut Vec<String>| {
            if seen.insert(s.clone()) {
                out.push(s);
            }
        };
        let common = common_passwords();
        let yrs: Vec<String> = years.iter().map(|y| y.to_string()).collect();
        let short_yrs: Vec<String> = years.iter().map(|y| format!("{:02}", y % 100)).collect();
        let orgs: Vec<String> = org_words
            .iter()
            .map(|w| w.trim().to_lowercase())
            .filter(|w| w.len() >= 2)
            .collect();

        // Tier 1: the 10 most common passwords.
        for p in common.iter().take(10) {
            push((*p).to_string(), &mut out);
        }
        // Tier 2: Season+Year for this year and last (the classic spray), then the
        // organisation's name with the year, then the Password1!-family.
        for y in yrs.iter().take(2) {
            for s in SEASONS {
                let c = capitalise(s);
                push(format!("{c}{y}"), &mut out);
                push(format!("{c}{y}!"), &mut out);
            }
        }
        for o in &orgs {
            let c = capitalise(o);
            if let Some(y) = yrs.first() {
                push(format!("{c}{y}"), &mut out);
                push(format!("{c}{y}!"), &mut out);
            }
            for s in ["1", "123", "1!"] {
                push(format!("{c}{s}"), &mut out);
            }
        }
        for p in [
            "Password1",
            "Password1!",
            "Welcome1",
            "Welcome1!",
            "Password123",
            "P@ssw0rd",
        ] {
            push(p.to_string(), &mut out);
        }
        // Tier 3: the next common passwords, other years and season forms.
        for p in common.iter().take(30).skip(10) {
            push((*p).to_string(), &mut out);
        }
        for (y, sy) in yrs.iter().zip(&short_yrs) {
            for s in SEASONS {
                let c = capitalise(s);
                for v in [
                    format!("{c}{y}"),
                    format!("{c}{y}!"),
                    format!("{s}{y}"),
                    format!("{c}{sy}"),
                    format!("{c}@{y}"),
                ] {
                    push(v, &mut out);
                }
            }
        }
        // Tier 3b: organisation words with every year and suffix.
        for o in &orgs {
            let c = capitalise(o);
            for y in &yrs {
                for v in [
                    format!("{c}{y}"),
                    format!("{c}{y}!"),
                    format!("{o}{y}"),
                    format!("{c}@{y}"),
                ] {
                    push(v, &mut out);
                }
            }
            for s in SUFFIXES {
                push(format!("{c}{s}"), &mut out);
                push(format!("{o}{s}"), &mut out);
            }
        }
        // Tier 4: Password1!-patterns and Welcome+year.
        for b in BASE_WORDS {
            let c = capitalise(b);
            for s in SUFFIXES {
                push(format!("{c}{s}"), &mut out);
            }
            for y in &yrs {
                push(format!("{c}{y}"), &mut out);
                push(format!("{c}{y}!"), &mut out);
                push(format!("{c}@{y}"), &mut out);
            }
        }
        // Tier 5: the rest of the common list.
        for p in common.iter().skip(30) {
            push((*p).to_string(), &mut out);
        }
        // Tier 6: months with years, other suffix forms.
        for y in &yrs {
            for m in MONTHS {
                let c = capitalise(m);
                push(format!("{c}{y}"), &mut out);
                push(format!("{c}{y}!"), &mut out);
            }
        }
        for s in SEASONS {
            let c = capitalise(s);
            for suf in SUFFIXES {
                push(format!("{c}{suf}"), &mut out);
            }
        }
        for o in &orgs {
            let c = capitalise(o);
            let upper = o.to_uppercase();
            for y in &short_yrs {
                push(format!("{c}{y}"), &mut out);
                push(format!("{c}{y}!"), &mut out);
            }
            for s in SUFFIXES {
                push(format!("{upper}{s}"), &mut out);
            }
            push(leet(&c), &mut out);
            push(format!("{}1!", leet(&c)), &mut out);
        }
        Candidates { list: out }
    }

    /// The guesses, best first.
    pub fn as_slice(&self) -> &[String] {
        &self.list
    }

    /// Number of guesses.
    pub fn len(&self) -> usize {
        self.list.len()
    }

    /// Is the list empty? (Never, in practice.)
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }
}

/// Common leetspeak substitutions (a→@, o→0, e→3, i→1, s→$).
pub fn leet(w: &str) -> String {
    w.chars()
        .map(|c| match c {
            'a' => '@',
            'o' => '0',
            'e' => '3',
            'i' => '1',
            's' => '$',
            other => other,
        })
        .collect()
}

/// Undoes common leetspeak, lower-cased, for "is this a dressed-up dictionary word" tests.
pub fn unleet(w: &str) -> String {
    w.chars()
        .flat_map(char::to_lowercase)
        .map(|c| match c {
            '@' | '4' => 'a',
            '0' => 'o',
            '3' => 'e',
            '1' | '!' | '|' => 'i',
            '$' | '5' => 's',
            '7' => 't',
            other => other,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_in_list_is_ordered_and_sized() {
        let l = common_passwords();
        assert_eq!(l[0], "123456");
        assert_eq!(l[1], "password");
        assert!(l.len() >= 250, "only {} common passwords", l.len());
        let uniq: HashSet<_> = l.iter().collect();
        assert_eq!(uniq.len(), l.len());
        assert!(is_common_password("PASSWORD"));
        assert!(!is_common_password("correct horse battery staple"));
    }

    #[test]
    fn candidates_rank_sprays_early() {
        let c = Candidates::new(&["Contoso".into()], &[2026, 2025]);
        let l = c.as_slice();
        let rank = |p: &str| l.iter().position(|x| x == p);
        assert_eq!(rank("123456"), Some(0));
        assert!(rank("Summer2026").unwrap() < 20);
        assert!(rank("Winter2025!").unwrap() < 30);
        assert!(rank("Winter2025!").unwrap() < rank("Contoso2026").unwrap());
        assert!(rank("Contoso2026").unwrap() < 40);
        assert!(rank("Password1!").unwrap() < 50);
        assert!(rank("Contoso2026!").is_some());
        assert!(rank("Password1!").is_some());
        assert!(rank("Welcome2025").is_some());
        assert!(rank("C0nt0$01!").is_some());
        let uniq: HashSet<_> = l.iter().collect();
        assert_eq!(uniq.len(), l.len(), "candidates are de-duplicated");
    }

    #[test]
    fn leet_round_trip() {
        assert_eq!(leet("password"), "p@$$w0rd");
        assert_eq!(unleet("P@$$w0rd"), "password");
    }
}
