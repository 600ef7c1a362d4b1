//! What is known about a source network beyond its address: autonomous system and country.
//!
//! The report and the dashboard show ASN and country when a MaxMind-format database is
//! configured (GeoLite2/GeoIP2 Country, City or ASN, or any MMDB with the same field names,
//! such as the free ip-location-db ones). Several databases can be combined — typically one for
//! countries and one for ASNs; the first answer for each field wins. The lookup is a trait so
//! the report does not care where answers come from.

use serde::Deserialize;
use std::net::IpAddr;
use std::path::Path;

/// Facts about an address.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SourceInfo {
    pub asn: Option<u32>,
    pub as_org: Option<String>,
    /// ISO 3166-1 alpha-2 code.
    pub country: Option<String>,
}

impl SourceInfo {
    fn is_empty(&self) -> bool {
        self.asn.is_none() && self.as_org.is_none() && self.country.is_none()
    }
}

/// Something that can say which network and country an address belongs to.
pub trait GeoLookup {
    fn lookup(&self, ip: IpAddr) -> Option<SourceInfo>;
}

/// The fields read from a record; everything optional, unknown fields ignored.
#[derive(Deserialize, Default)]
struct Record {
    #[serde(default)]
    country: Option<CountryField>,
    #[serde(default)]
    registered_country: Option<CountryField>,
    #[serde(default)]
    autonomous_system_number: Option<u32>,
    #[serde(default)]
    autonomous_system_organization: Option<String>,
    /// ip-location-db style flat records.
    #[serde(default)]
    country_code: Option<String>,
}

#[derive(Deserialize, Default)]
struct CountryField {
    #[serde(default)]
    iso_code: Option<String>,
}

/// One or more MaxMind-format databases, loaded into memory.
pub struct MaxMind {
    readers: Vec<maxminddb::Reader<Vec<u8>>>,
}

impl MaxMind {
    /// Opens the databases; fails with the path and the reason for the first unreadable one.
    pub fn open<P: AsRef<Path>>(paths: &[P]) -> Result<Self, String> {
        let mut readers = Vec::new();
        for p in paths {
            let p = p.as_ref();
            let r = maxminddb::Reader::open_readfile(p)
                .map_err(|e| format!("{}: not a readable MaxMind DB: {e}", p.display()))?;
            readers.push(r);
        }
        Ok(MaxMind { readers })
    }

    /// From database bytes already in memory.
    pub fn from_bytes(dbs: Vec<Vec<u8>>) -> Result<Self, String> {
        let readers = dbs
            .into_iter()
            .map(|b| {
                maxminddb::Reader::from_source(b).map_err(|e| format!("not a MaxMind DB: {e}"))
            })
            .collect::<Result<_, _>>()?;
        Ok(MaxMind { readers })
    }

    /// The database types, as their metadata says (`GeoLite2-ASN`, …).
    pub fn database_types(&self) -> Vec<String> {
        self.readers
            .iter()
            .map(|r| r.metadata.database_type.clone())
            .collect()
    }
}

impl GeoLookup for MaxMind {
    /// Merged answer of all databases; `None` when none knows the address. Addresses a database
    /// cannot hold (IPv6 in an IPv4-only database) and corrupt records are simply not answered.
    fn lookup(&self, ip: IpAddr) -> Option<SourceInfo> {
        let mut info = SourceInfo::default();
        for r in &self.readers {
            let Ok(res) = r.lookup(ip) else { continue };
            let Ok(Some(rec)) = res.decode::<Record>() else {
                continue;
            };
            let country = rec
                .country
                .and_then(|c| c.iso_code)
                .or_else(|| rec.registered_country.and_then(|c| c.iso_code))
                .or(rec.country_code);
            info.country = info.country.or(country);
            info.asn = info.asn.or(rec.autonomous_system_number);
            info.as_org = info.as_org.or(rec.autonomous_system_organization);
        }
        (!info.is_empty()).then_some(info)
    }
}
