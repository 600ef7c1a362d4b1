//! ASN and country from MaxMind-format databases. No real GeoLite2 file can ship with the tests,
//! so a tiny MMDB (format v2, IPv4, 24-bit records) is written here following the MaxMind DB
//! specification, and read back through the `maxminddb` crate exactly as a real one would be.

use portcullis_core::Timestamp;
use portcullis_core::report::{Campaign, CampaignKind, InputSummary, Report};
use portcullis_report::geo::{GeoLookup, MaxMind, SourceInfo};
use portcullis_report::{incident, indicators};

/// Field types of the MaxMind DB data section.
const UTF8: u8 = 2;
const UINT16: u8 = 5;
const UINT32: u8 = 6;
const MAP: u8 = 7;
const UINT64: u8 = 9;
const ARRAY: u8 = 11;

fn control(out: &mut Vec<u8>, ty: u8, size: usize) {
    assert!(size < 29 + 256, "only sizes below 285 are needed here");
    let (low, extra) = if size < 29 {
        (size as u8, None)
    } else {
        (29, Some((size - 29) as u8))
    };
    if ty <= 7 {
        out.push((ty << 5) | low);
    } else {
        out.push(low); // type 0 = extended; the next byte is type - 7
        out.push(ty - 7);
    }
    out.extend(extra); // sizes 29..=284: 29 in the control byte, the rest in one more byte
}
fn string(out: &mut Vec<u8>, s: &str) {
    control(out, UTF8, s.len());
    out.extend_from_slice(s.as_bytes());
}
fn uint(out: &mut Vec<u8>, ty: u8, v: u64) {
    let bytes = v.to_be_bytes();
    let first = bytes.iter().position(|b| *b != 0).unwrap_or(bytes.len());
    control(out, ty, bytes.len() - first);
    out.extend_from_slice(&bytes[first..]);
}

#[derive(Clone, Copy)]
enum Rec {
    Empty,
    Node(usize),
    Data(usize),
}

/// An IPv4 database mapping each prefix to its encoded record.
fn mmdb(entries: &[(&str, Vec<u8>)], database_type: &str) -> Vec<u8> {
    let mut nodes: Vec<[Rec; 2]> = vec![[Rec::Empty, Rec::Empty]];
    let mut data = Vec::new();
    for (prefix, record) in entries {
        let (addr, len) = prefix.split_once('/').unwrap();
        let bits = u32::from(addr.parse::<std::net::Ipv4Addr>().unwrap());
        let len: usize = len.parse().unwrap();
        let offset = data.len();
        data.extend_from_slice(record);
        let mut node = 0;
        for i in 0..len {
            let bit = ((bits >> (31 - i)) & 1) as usize;
            if i == len - 1 {
                nodes[node][bit] = Rec::Data(offset);
            } else {
                node = match nodes[node][bit] {
                    Rec::Node(n) => n,
                    _ => {
                        nodes.push([Rec::Empty, Rec::Empty]);
                        let n = nodes.len() - 1;
                        nodes[node][bit] = Rec::Node(n);
                        n
                    }
                };
            }
        }
    }
    let count = nodes.len();
    let mut out = Vec::new();
    for n in &nodes {
        for r in n {
            let v = match *r {
                Rec::Empty => count,
                Rec::Node(i) => i,
                Rec::Data(off) => count + 16 + off,
            } as u32;
            out.extend_from_slice(&v.to_be_bytes()[1..]);
        }
    }
    out.extend_from_slice(&[0u8; 16]);
    out.extend_from_slice(&data);
    out.extend_from_slice(b"\xAB\xCD\xEFMaxMind.com");
    control(&mut out, MAP, 9);
    string(&mut out, "node_count");
    uint(&mut out, UINT32, count as u64);
    string(&mut out, "record_size");
    uint(&mut out, UINT16, 24);
    string(&mut out, "ip_version");
    uint(&mut out, UINT16, 4);
    string(&mut out, "database_type");
    string(&mut out, database_type);
    string(&mut out, "languages");
    control(&mut out, ARRAY, 1);
    string(&mut out, "en");
    string(&mut out, "binary_format_major_version");
    uint(&mut out, UINT16, 2);
    string(&mut out, "binary_format_minor_version");
    uint(&mut out, UINT16, 0);
    string(&mut out, "build_epoch");
    uint(&mut out, UINT64, 1_498_000_000);
    string(&mut out, "description");
    control(&mut out, MAP, 1);
    string(&mut out, "en");
    string(&mut out, "portcullis test db");
    out
}

fn country_record(iso: &str) -> Vec<u8> {
    let mut r = Vec::new();
    control(&mut r, MAP, 1);
    string(&mut r, "country");
    control(&mut r, MAP, 1);
    string(&mut r, "iso_code");
    string(&mut r, iso);
    r
}

fn asn_record(asn: u32, org: &str) -> Vec<u8> {
    let mut r = Vec::new();
    control(&mut r, MAP, 2);
    string(&mut r, "autonomous_system_number");
    uint(&mut r, UINT32, asn as u64);
    string(&mut r, "autonomous_system_organization");
    string(&mut r, org);
    r
}

fn databases() -> MaxMind {
    let country = mmdb(
        &[
            ("198.51.100.0/24", country_record("GB")),
            ("203.0.113.0/24", country_record("NL")),
        ],
        "Test-Country",
    );
    let asn = mmdb(
        &[(
            "198.51.100.0/24",
            asn_record(64500, "Documentation Broadband"),
        )],
        "Test-ASN",
    );
    MaxMind::from_bytes(vec![country, asn]).unwrap()
}

#[test]
fn country_and_asn_databases_are_combined() {
    let db = databases();
    assert_eq!(db.database_types(), ["Test-Country", "Test-ASN"]);
    assert_eq!(
        db.lookup("198.51.100.7".parse().unwrap()),
        Some(SourceInfo {
            asn: Some(64500),
            as_org: Some("Documentation Broadband".into()),
            country: Some("GB".into())
        })
    );
    let nl = db.lookup("203.0.113.200".parse().unwrap()).unwrap();
    assert_eq!((nl.country.as_deref(), nl.asn), (Some("NL"), None));
    assert_eq!(db.lookup("192.0.2.1".parse().unwrap()), None);
    // An IPv6 address in an IPv4-only database: no answer, no panic.
    assert_eq!(db.lookup("2001:db8::1".parse().unwrap()), None);
}

#[test]
fn garbage_is_refused_with_a_reason() {
    let err = MaxMind::from_bytes(vec![b"not a database".to_vec()])
        .err()
        .unwrap();
    assert!(err.contains("not a MaxMind DB"), "{err}");
    let err = MaxMind::open(&["/nonexistent/GeoLite2-ASN.mmdb"])
        .err()
        .unwrap();
    assert!(err.contains("/nonexistent/GeoLite2-ASN.mmdb"), "{err}");
}

#[test]
fn report_sources_show_as_and_country() {
    let t = Timestamp::parse_rfc3339("2017-06-23T22:00:00Z").unwrap();
    let mut r = Report::new(InputSummary::default());
    r.campaigns.push(Campaign {
        id: "c1".into(),
        kind: CampaignKind::PasswordSpray,
        first_seen: t,
        detected_at: t.plus_secs(600),
        last_seen: t.plus_secs(3600),
        sources: vec![
            "198.51.100.7".parse().unwrap(),
            "192.0.2.9".parse().unwrap(),
        ],
        accounts_targeted: 10,
        attempts: 20,
        summary: String::new(),
        accounts: vec![],
    });
    let db = databases();
    let opts = incident::Options {
        geo: Some(&db),
        ..Default::default()
    };
    let html = incident::render(&r, &indicators::collect(&r), &opts);
    assert!(html.contains("<th>AS</th><th>Country</th>"));
    assert!(html.contains("<td>AS64500 Documentation Broadband</td><td>GB</td>"));
    // Without a database the columns are not there at all.
    let plain = incident::render(&r, &indicators::collect(&r), &incident::Options::default());
    assert!(!plain.contains("<th>AS</th>"));
}
