//! Source addresses and prefixes.
//!
//! Attackers rotate addresses inside networks they rent, so detection reasons about prefixes as
//! well as single addresses: IPv4 /24, IPv6 /64 (one customer) and /48 (one site). A [`Prefix`]
//! is an address with its length; a single address is a /32 or /128. IPv4-mapped IPv6 addresses
//! (`::ffff:192.0.2.1`) are folded to IPv4 everywhere via [`normalize_ip`].

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

/// Folds IPv4-mapped IPv6 addresses to IPv4; leaves every other address as it is.
pub fn normalize_ip(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(v6),
        },
        v4 => v4,
    }
}

/// Parses an address as logs write it: plain, in brackets (`[2001:db8::1]`), with an IPv6 zone
/// (`fe80::1%eth0`), and IPv4-mapped; returns it normalised.
pub fn parse_ip(s: &str) -> Option<IpAddr> {
    if let Some(v4) = dotted_quad(s.as_bytes()) {
        return Some(IpAddr::V4(v4));
    }
    let s = s.trim().trim_start_matches('[').trim_end_matches(']');
    let s = match s.find('%') {
        Some(i) => &s[..i],
        None => s,
    };
    IpAddr::from_str(s).ok().map(normalize_ip)
}

/// Fast path for the commonest case, a plain dotted quad in canonical form (1–3 digits per
/// octet, no leading zeros, each ≤ 255). Anything else is None and goes to the standard parser,
/// which accepts exactly the same canonical strings.
#[inline]
fn dotted_quad(b: &[u8]) -> Option<Ipv4Addr> {
    if b.len() < 7 || b.len() > 15 {
        return None;
    }
    let mut octets = [0u8; 4];
    let mut i = 0;
    for (k, octet) in octets.iter_mut().enumerate() {
        if k > 0 {
            if b.get(i) != Some(&b'.') {
                return None;
            }
            i += 1;
        }
        let start = i;
        let mut v: u32 = 0;
        while i < b.len() && b[i].is_ascii_digit() && i - start < 3 {
            v = v * 10 + u32::from(b[i] - b'0');
            i += 1;
        }
        let digits = i - start;
        if digits == 0 || v > 255 || (digits > 1 && b[start] == b'0') {
            return None;
        }
        *octet = v as u8;
    }
    (i == b.len()).then_some(Ipv4Addr::from(octets))
}

/// An address network: the address with all bits past `len` cleared, and the length.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Prefix {
    addr: IpAddr,
    len: u8,
}

impl Prefix {
    /// The network of `len` bits containing `ip` (len is clamped to the family's width).
    pub fn new(ip: IpAddr, len: u8) -> Self {
        let ip = normalize_ip(ip);
        match ip {
            IpAddr::V4(v4) => {
                let len = len.min(32);
                let bits = u32::from(v4);
                let mask = if len == 0 { 0 } else { u32::MAX << (32 - len) };
                Prefix {
                    addr: IpAddr::V4(Ipv4Addr::from(bits & mask)),
                    len,
                }
            }
            IpAddr::V6(v6) => {
                let len = len.min(128);
                let bits = u128::from(v6);
                let mask = if len == 0 {
                    0
                } else {
                    u128::MAX << (128 - len)
                };
                Prefix {
                    addr: IpAddr::V6(Ipv6Addr::from(bits & mask)),
                    len,
                }
            }
        }
    }
    /// The single address as a prefix (/32 or /128).
    pub fn host(ip: IpAddr) -> Self {
        let ip = normalize_ip(ip);
        let len = if ip.is_ipv4() { 32 } else { 128 };
        Prefix { addr: ip, len }
    }
    pub fn addr(&self) -> IpAddr {
        self.addr
    }
    pub fn len(&self) -> u8 {
        self.len
    }
    /// True for a /0 prefix (the whole family).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
    pub fn is_host(&self) -> bool {
        self.len == if self.addr.is_ipv4() { 32 } else { 128 }
    }
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = normalize_ip(ip);
        ip.is_ipv4() == self.addr.is_ipv4() && Prefix::new(ip, self.len).addr == self.addr
    }
    /// The usual aggregation prefix for rotation: /24 for IPv4, /64 for IPv6.
    pub fn subnet_of(ip: IpAddr) -> Self {
        let ip = normalize_ip(ip);
        Prefix::new(ip, if ip.is_ipv4() { 24 } else { 64 })
    }
}

impl fmt::Display for Prefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_host() {
            write!(f, "{}", self.addr)
        } else {
            write!(f, "{}/{}", self.addr, self.len)
        }
    }
}

/// Error for a string that is neither an address nor `address/length`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrefixParseError(pub String);

impl fmt::Display for PrefixParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "not an IP address or CIDR prefix: {:?} (expected e.g. 203.0.113.9, 198.51.100.0/24 or 2001:db8::/48)",
            self.0
        )
    }
}
impl std::error::Error for PrefixParseError {}

impl FromStr for Prefix {
    type Err = PrefixParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || PrefixParseError(s.to_string());
        match s.split_once('/') {
            None => parse_ip(s).map(Prefix::host).ok_or_else(err),
            Some((a, l)) => {
                let ip = parse_ip(a).ok_or_else(err)?;
                let len: u8 = l.trim().parse().map_err(|_| err())?;
                let max = if ip.is_ipv4() { 32 } else { 128 };
                if len > max {
                    return Err(err());
                }
                Ok(Prefix::new(ip, len))
            }
        }
    }
}

impl Serialize for Prefix {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Prefix {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_dotted_quad_fast_path_agrees_with_the_standard_parser() {
        let parts = [
            "0", "00", "01", "1", "9", "10", "99", "100", "199", "255", "256", "999", "1000", "",
            "a", " 1", "+1",
        ];
        let mut fast = 0;
        for a in parts {
            for b in parts {
                for c in parts {
                    for d in parts {
                        let s = format!("{a}.{b}.{c}.{d}");
                        let std = s.parse::<Ipv4Addr>().ok();
                        let got = dotted_quad(s.as_bytes());
                        // The fast path never accepts what the standard parser refuses, never
                        // reads a different address, and takes every canonical quad.
                        assert_eq!(got, std, "{s}");
                        fast += usize::from(got.is_some());
                        let trimmed = s.trim().parse::<Ipv4Addr>().ok();
                        assert_eq!(parse_ip(&s), trimmed.map(IpAddr::V4), "{s}");
                    }
                }
            }
        }
        // 8 canonical octets above: "0", "1", "9", "10", "99", "100", "199", "255".
        assert_eq!(fast, 8usize.pow(4));
        for s in [
            "1.2.3",
            "1.2.3.4.",
            "1.2.3.4.5",
            "1..2.3",
            "1.2.3.4 ",
            "::ffff:1.2.3.4",
        ] {
            assert_eq!(dotted_quad(s.as_bytes()), None, "{s}");
        }
        assert_eq!(
            parse_ip(" [192.0.2.1] "),
            Some("192.0.2.1".parse().unwrap())
        );
        assert_eq!(
            parse_ip("::ffff:192.0.2.1"),
            Some("192.0.2.1".parse().unwrap())
        );
    }

    #[test]
    fn mapped_ipv4_is_folded() {
        assert_eq!(
            parse_ip("::ffff:192.0.2.1"),
            Some("192.0.2.1".parse().unwrap())
        );
        assert_eq!(
            parse_ip("[2001:db8::1]"),
            Some("2001:db8::1".parse().unwrap())
        );
        assert_eq!(parse_ip("fe80::1%eth0"), Some("fe80::1".parse().unwrap()));
        assert_eq!(parse_ip("not-an-ip"), None);
    }

    #[test]
    fn prefixes_mask_and_print() {
        let p: Prefix = "198.51.100.77/24".parse().unwrap();
        assert_eq!(p.to_string(), "198.51.100.0/24");
        assert!(p.contains("198.51.100.1".parse().unwrap()));
        assert!(!p.contains("198.51.101.1".parse().unwrap()));
        assert!(!p.contains("::1".parse().unwrap()));
        let h: Prefix = "2001:db8::5".parse().unwrap();
        assert!(h.is_host());
        assert_eq!(h.to_string(), "2001:db8::5");
        let s = Prefix::subnet_of("2001:db8:1:2:3:4:5:6".parse().unwrap());
        assert_eq!(s.to_string(), "2001:db8:1:2::/64");
        assert!("10.0.0.0/33".parse::<Prefix>().is_err());
    }
}
