//! The indicators as a STIX 2.1 bundle, for a national CERT or a threat-intelligence platform.
//!
//! Emitted objects: one `identity` (who produced it), one `campaign` per report campaign, one
//! `indicator` per source with a STIX pattern (`[ipv4-addr:value = '198.51.100.7']`, or
//! `ISSUBSET '198.51.100.0/24'` for a network), and an `indicates` `relationship` from each
//! indicator to its campaign. All ids are UUIDv5 of the object's content under a portcullis
//! namespace, and all timestamps come from the report, so re-running on the same report gives a
//! byte-identical bundle and re-sharing updates rather than duplicates objects downstream.
//!
//! Indicators are valid from their first sighting until [`VALIDITY_DAYS`] after the last one:
//! password-spray sources are mostly rented or hijacked residential addresses that change hands,
//! so an indicator that never expires would eventually block innocent users.

use crate::indicators::{Indicator, IndicatorType};
use portcullis_core::Timestamp;
use portcullis_core::report::{Campaign, CampaignKind, Report};
use serde_json::{Value, json};
use uuid::Uuid;

/// How long after its last sighting an indicator stays valid.
pub const VALIDITY_DAYS: i64 = 30;

/// Namespace for portcullis STIX ids: UUIDv5(URL, project URL + "/stix").
fn namespace() -> Uuid {
    Uuid::new_v5(
        &Uuid::NAMESPACE_URL,
        b"https://github.com/portcullis-auth/portcullis/stix",
    )
}

/// `type--uuidv5(namespace, type|content)`.
pub fn stix_id(object_type: &str, content: &str) -> String {
    let name = format!("{object_type}|{content}");
    format!(
        "{object_type}--{}",
        Uuid::new_v5(&namespace(), name.as_bytes())
    )
}

/// STIX timestamp: RFC 3339, UTC `Z`, always with milliseconds.
pub fn stix_time(ts: Timestamp) -> String {
    ts.to_chrono()
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// A STIX pattern matching the indicator's address or network.
pub fn pattern(ind: &Indicator) -> String {
    let value = ind
        .source
        .to_string()
        .replace('\\', "\\\\")
        .replace('\'', "\\'");
    match ind.kind {
        IndicatorType::Ipv4Addr => format!("[ipv4-addr:value = '{value}']"),
        IndicatorType::Ipv6Addr => format!("[ipv6-addr:value = '{value}']"),
        IndicatorType::Ipv4Net => format!("[ipv4-addr:value ISSUBSET '{value}']"),
        IndicatorType::Ipv6Net => format!("[ipv6-addr:value ISSUBSET '{value}']"),
    }
}

fn kind_words(k: CampaignKind) -> &'static str {
    match k {
        CampaignKind::BruteForce => "brute force",
        CampaignKind::AccountGuessing => "account guessing",
        CampaignKind::PasswordSpray => "password spray",
        CampaignKind::UserEnumeration => "user enumeration",
        CampaignKind::CredentialStuffing => "credential stuffing",
    }
}

/// The latest time anywhere in the report: the bundle's `created`/`modified`, so that output is
/// a function of the report alone.
fn reference_time(report: &Report) -> Timestamp {
    let mut t = report.input.last_event.unwrap_or_default();
    for c in &report.campaigns {
        t = t.max(c.last_seen);
    }
    for c in &report.compromised_accounts {
        t = t.max(c.at);
    }
    for f in &report.flagged_sources {
        t = t.max(f.first_flagged);
    }
    t
}

/// Who produced the bundle.
#[derive(Clone, Debug)]
pub struct Producer {
    /// The organisation's name, or `None` for "portcullis" as an automated system.
    pub organisation: Option<String>,
}

fn campaign_content_key(c: &Campaign) -> String {
    format!("{}|{}|{}", c.id, c.kind.as_str(), c.first_seen.to_rfc3339())
}

/// The bundle as JSON.
pub fn bundle(report: &Report, indicators: &[Indicator], producer: &Producer) -> Value {
    let now = stix_time(reference_time(report));
    let (name, class) = match &producer.organisation {
        Some(o) => (o.clone(), "organization"),
        None => ("portcullis".to_string(), "system"),
    };
    let identity_id = stix_id("identity", &format!("{class}|{name}"));
    let mut objects = vec![json!({
        "type": "identity",
        "spec_version": "2.1",
        "id": identity_id,
        "created": now,
        "modified": now,
        "name": name,
        "identity_class": class,
        "description": "Producer of this bundle (portcullis login-attack detection).",
    })];
    let mut campaign_ids = std::collections::BTreeMap::new();
    for c in &report.campaigns {
        let id = stix_id("campaign", &campaign_content_key(c));
        campaign_ids.insert(c.id.clone(), id.clone());
        let mut obj = json!({
            "type": "campaign",
            "spec_version": "2.1",
            "id": id,
            "created_by_ref": identity_id,
            "created": now,
            "modified": now,
            "name": format!("{} {} ({}, first seen {})",
                "portcullis", c.id, kind_words(c.kind), stix_time(c.first_seen)),
            "description": format!(
                "{} Attempts: {}; accounts targeted: {}; sources: {}; detected at {}.",
                c.summary, c.attempts, c.accounts_targeted, c.sources.len(), stix_time(c.detected_at)
            ),
            "first_seen": stix_time(c.first_seen),
            "objective": "Obtain valid credentials by guessing passwords against login services.",
        });
        // last_seen must not be before first_seen.
        if c.last_seen >= c.first_seen {
            obj["last_seen"] = json!(stix_time(c.last_seen));
        }
        objects.push(obj);
    }
    let mut relationships = Vec::new();
    for ind in indicators {
        let pat = pattern(ind);
        let id = stix_id(
            "indicator",
            &format!("{}|{}", pat, ind.campaign.as_deref().unwrap_or("")),
        );
        let valid_until = ind
            .last_seen
            .max(ind.first_seen)
            .plus_secs(VALIDITY_DAYS * 86_400);
        objects.push(json!({
            "type": "indicator",
            "spec_version": "2.1",
            "id": id,
            "created_by_ref": identity_id,
            "created": now,
            "modified": now,
            "name": format!("Login-attack source {}", ind.source),
            "description": ind.reason,
            "indicator_types": ["malicious-activity"],
            "pattern": pat,
            "pattern_type": "stix",
            "pattern_version": "2.1",
            "valid_from": stix_time(ind.first_seen),
            "valid_until": stix_time(valid_until),
        }));
        if let Some(cid) = ind.campaign.as_ref().and_then(|c| campaign_ids.get(c)) {
            relationships.push(json!({
                "type": "relationship",
                "spec_version": "2.1",
                "id": stix_id("relationship", &format!("indicates|{id}|{cid}")),
                "created_by_ref": identity_id,
                "created": now,
                "modified": now,
                "relationship_type": "indicates",
                "source_ref": id,
                "target_ref": cid,
            }));
        }
    }
    objects.extend(relationships);
    let all_ids: Vec<&str> = objects.iter().filter_map(|o| o["id"].as_str()).collect();
    json!({
        "type": "bundle",
        "id": stix_id("bundle", &all_ids.join(",")),
        "objects": objects,
    })
}
