//! What is known about a source network beyond its address: autonomous system and country.
//!
//! The report shows ASN and country when a MaxMind-format database is configured; the lookup is
//! a trait so the report does not care where the answer comes from (and tests can supply one).

use std::net::IpAddr;

/// Facts about an address.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SourceInfo {
    pub asn: Option<u32>,
    pub as_org: Option<String>,
    /// ISO 3166-1 alpha-2 code.
    pub country: Option<String>,
}

/// Something that can say which network and country an address belongs to.
pub trait GeoLookup {
    fn lookup(&self, ip: IpAddr) -> Option<SourceInfo>;
}
