//! Indicators of attack for sharing: the sources a report names, one row per (source, campaign).
//!
//! Sources come from campaigns (`Campaign::sources`), flagged sources and the sources of
//! compromising logins. A source seen in several places within one campaign is merged (earliest
//! first seen, latest last seen, reasons joined). Written as CSV (`type,value,first_seen,
//! last_seen,campaign,reason`) here and as STIX 2.1 in [`crate::stix`].

use crate::escape;
use portcullis_core::Prefix;
use portcullis_core::Timestamp;
use portcullis_core::report::Report;
use std::collections::BTreeMap;

/// What kind of value an indicator is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum IndicatorType {
    Ipv4Addr,
    Ipv4Net,
    Ipv6Addr,
    Ipv6Net,
}

impl IndicatorType {
    pub fn of(p: &Prefix) -> Self {
        match (p.addr().is_ipv4(), p.is_host()) {
            (true, true) => IndicatorType::Ipv4Addr,
            (true, false) => IndicatorType::Ipv4Net,
            (false, true) => IndicatorType::Ipv6Addr,
            (false, false) => IndicatorType::Ipv6Net,
        }
    }
    /// The CSV `type` column.
    pub fn as_str(self) -> &'static str {
        match self {
            IndicatorType::Ipv4Addr => "ipv4-addr",
            IndicatorType::Ipv4Net => "ipv4-net",
            IndicatorType::Ipv6Addr => "ipv6-addr",
            IndicatorType::Ipv6Net => "ipv6-net",
        }
    }
}

/// One source of attack.
#[derive(Clone, Debug, PartialEq)]
pub struct Indicator {
    pub kind: IndicatorType,
    pub source: Prefix,
    pub first_seen: Timestamp,
    pub last_seen: Timestamp,
    /// The report's campaign id (`c1`), when the source belongs to one.
    pub campaign: Option<String>,
    /// Why it is an indicator, in words; several reasons joined with `; `.
    pub reason: String,
}

/// Reasons kept per indicator (the rest are summarised) so a busy source stays one readable row.
const MAX_REASONS: usize = 4;

/// All indicators in a report, sorted by campaign, first seen, then value.
pub fn collect(report: &Report) -> Vec<Indicator> {
    let mut by_key: BTreeMap<(Option<String>, Prefix), (Indicator, Vec<String>)> = BTreeMap::new();
    let mut add = |source: Prefix,
                   first: Timestamp,
                   last: Timestamp,
                   campaign: Option<&str>,
                   reason: String| {
        let key = (campaign.map(str::to_string), source);
        let (ind, reasons) = by_key.entry(key).or_insert_with(|| {
            (
                Indicator {
                    kind: IndicatorType::of(&source),
                    source,
                    first_seen: first,
                    last_seen: last,
                    campaign: campaign.map(str::to_string),
                    reason: String::new(),
                },
                Vec::new(),
            )
        });
        ind.first_seen = ind.first_seen.min(first);
        ind.last_seen = ind.last_seen.max(last);
        if !reasons.contains(&reason) {
            reasons.push(reason);
        }
    };
    for c in &report.campaigns {
        let reason = format!("source in {} campaign {}", c.kind.as_str(), c.id);
        for s in &c.sources {
            add(*s, c.first_seen, c.last_seen, Some(&c.id), reason.clone());
        }
    }
    let campaign_last = |id: &Option<String>| {
        id.as_ref()
            .and_then(|id| report.campaigns.iter().find(|c| &c.id == id))
            .map(|c| c.last_seen)
    };
    for f in &report.flagged_sources {
        let last = campaign_last(&f.campaign)
            .unwrap_or(f.first_flagged)
            .max(f.first_flagged);
        add(
            f.source,
            f.first_flagged,
            last,
            f.campaign.as_deref(),
            format!("flagged: {}", f.reason),
        );
    }
    for c in &report.compromised_accounts {
        if let Some(s) = c.source {
            add(
                s,
                c.at,
                c.at,
                c.campaign.as_deref(),
                "source of a successful login to a compromised account".to_string(),
            );
        }
    }
    let mut out: Vec<Indicator> = by_key
        .into_values()
        .map(|(mut ind, reasons)| {
            let extra = reasons.len().saturating_sub(MAX_REASONS);
            ind.reason = reasons
                .into_iter()
                .take(MAX_REASONS)
                .collect::<Vec<_>>()
                .join("; ");
            if extra > 0 {
                ind.reason.push_str(&format!("; and {extra} more"));
            }
            ind
        })
        .collect();
    out.sort_by(|a, b| {
        (a.campaign.is_none(), &a.campaign, a.first_seen, a.source).cmp(&(
            b.campaign.is_none(),
            &b.campaign,
            b.first_seen,
            b.source,
        ))
    });
    out
}

/// The CSV export: header `type,value,first_seen,last_seen,campaign,reason`, RFC 4180 quoting,
/// free-text cells defused against spreadsheet formula injection.
pub fn to_csv(indicators: &[Indicator]) -> String {
    let mut w = csv::Writer::from_writer(Vec::new());
    // Writing to a Vec cannot fail for I/O reasons; csv only fails on I/O.
    let _ = w.write_record([
        "type",
        "value",
        "first_seen",
        "last_seen",
        "campaign",
        "reason",
    ]);
    for i in indicators {
        let _ = w.write_record([
            i.kind.as_str(),
            &i.source.to_string(),
            &i.first_seen.to_rfc3339(),
            &i.last_seen.to_rfc3339(),
            &escape::csv_text(i.campaign.as_deref().unwrap_or("")),
            &escape::csv_text(&i.reason),
        ]);
    }
    let bytes = w.into_inner().unwrap_or_default();
    String::from_utf8(bytes).unwrap_or_default()
}
