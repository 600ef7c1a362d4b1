//! Small byte-scanning helpers shared by the text parsers (no regex on the hot path).

use std::net::IpAddr;

/// `find_lit!(hay, "needle")`: first position of a literal needle, with the searcher built
/// once per call site (a `memmem::Finder` in a `LazyLock`), not per call.
macro_rules! find_lit {
    ($hay:expr, $needle:literal) => {{
        static F: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
            std::sync::LazyLock::new(|| memchr::memmem::Finder::new($needle));
        F.find(($hay).as_bytes())
    }};
}

/// `rfind_lit!(hay, "needle")`: last position of a literal needle (prebuilt searcher).
macro_rules! rfind_lit {
    ($hay:expr, $needle:literal) => {{
        static F: std::sync::LazyLock<memchr::memmem::FinderRev<'static>> =
            std::sync::LazyLock::new(|| memchr::memmem::FinderRev::new($needle));
        F.rfind(($hay).as_bytes())
    }};
}
pub(crate) use {find_lit, rfind_lit};

/// ASCII case-insensitive `contains`; `needle` must be lower-case.
pub fn contains_ci(hay: &str, needle: &str) -> bool {
    let (h, n) = (hay.as_bytes(), needle.as_bytes());
    if n.is_empty() {
        return true;
    }
    if h.len() < n.len() {
        return false;
    }
    let first = n[0];
    let alt = first.to_ascii_uppercase();
    let mut i = 0;
    while i + n.len() <= h.len() {
        match memchr::memchr2(first, alt, &h[i..=h.len() - n.len()]) {
            None => return false,
            Some(j) => {
                let s = i + j;
                if h[s..s + n.len()].eq_ignore_ascii_case(n) {
                    return true;
                }
                i = s + 1;
            }
        }
    }
    false
}

/// ASCII case-insensitive `starts_with`; `prefix` must be lower-case.
#[inline]
pub fn starts_with_ci(s: &str, prefix: &str) -> bool {
    s.len() >= prefix.len() && s.as_bytes()[..prefix.len()].eq_ignore_ascii_case(prefix.as_bytes())
}

/// Slice `s[a..b]` if both are char boundaries and in range, else "".
#[inline]
pub fn sub(s: &str, a: usize, b: usize) -> &str {
    s.get(a..b).unwrap_or("")
}

/// Slice `s[a..]` or "".
#[inline]
pub fn tail(s: &str, a: usize) -> &str {
    s.get(a..).unwrap_or("")
}

/// Parses an IP address as logs write it (brackets, zone, IPv4-mapped folded), quickly
/// rejecting strings that cannot be one.
pub fn ip(s: &str) -> Option<IpAddr> {
    let b = s.as_bytes();
    if b.is_empty() || b.len() > 64 {
        return None;
    }
    if !b
        .iter()
        .all(|c| c.is_ascii_hexdigit() || matches!(c, b'.' | b':' | b'[' | b']' | b'%'))
        && !s.contains('%')
    {
        return None;
    }
    portcullis_core::addr::parse_ip(s)
}

/// Parses leading ASCII digits as u64 (saturating at 20 digits); None if there are none.
pub fn leading_u64(s: &str) -> Option<(u64, &str)> {
    let b = s.as_bytes();
    let mut n: u64 = 0;
    let mut i = 0;
    while i < b.len() && b[i].is_ascii_digit() {
        n = n.saturating_mul(10).saturating_add((b[i] - b'0') as u64);
        i += 1;
    }
    if i == 0 { None } else { Some((n, &s[i..])) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn case_insensitive_search() {
        assert!(contains_ci(
            "Authentication failure (Password mismatch?)",
            "password mismatch"
        ));
        assert!(!contains_ci("Password mis", "password mismatch"));
        assert!(contains_ci("xPASSWORD MISMATCH", "password mismatch"));
        assert!(starts_with_ci("SASL Login", "sasl login"));
    }

    #[test]
    fn ips_and_numbers() {
        assert_eq!(ip("::ffff:1.2.3.4"), Some("1.2.3.4".parse().unwrap()));
        assert_eq!(ip("example.com"), None);
        assert_eq!(ip("192.030.0.6"), None);
        assert_eq!(leading_u64("12 attempts"), Some((12, " attempts")));
        assert_eq!(leading_u64("x"), None);
    }
}
