//! Scoring a report (`portcullis.report/v1`) against simulation labels: how fast the attack
//! was named, how much of it was flagged, what benign life paid for it, and whether the right
//! accounts were called compromised. Checked against the issue-3 targets.
//!
//! "Flagged" means the report's `flagged_sources` together with the `sources` of every
//! campaign: a prefix covers every labelled address inside it, attack or benign.

use crate::labels::Labels;
use portcullis_core::report::{CampaignKind, Report};
use portcullis_core::{Prefix, Timestamp};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::fmt::Write as _;
use std::net::IpAddr;

/// The issue-3 targets.
pub mod targets {
    /// At least this share of the main phase's addresses covered by flagged sources.
    pub const MIN_ATTACK_COVERAGE: f64 = 0.90;
    /// At most this share of benign addresses flagged.
    pub const MAX_BENIGN_FLAGGED: f64 = 0.005;
    /// Compromised accounts: recall and precision.
    pub const MIN_COMPROMISED_RECALL: f64 = 1.0;
    pub const MIN_COMPROMISED_PRECISION: f64 = 0.90;
}

/// Detection of the attack as a campaign.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Detection {
    /// The earliest-raised campaign of an expected kind overlapping the attack, if any.
    pub campaign: Option<String>,
    pub kind: Option<CampaignKind>,
    pub attack_start: Timestamp,
    pub detected_at: Option<Timestamp>,
    /// `detected_at − attack_start` in seconds (negative: raised during the probing).
    pub delay_secs: Option<i64>,
    pub target_secs: i64,
    /// The campaign's `first_seen` reaches back (within an hour) to the first probe that
    /// shares a source or prefix with the main phase (`attack.first_linked_probe`); `None`
    /// when no probe does.
    pub links_probing: Option<bool>,
}

/// Flagged sources against labelled addresses.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SourceScore {
    /// Distinct flagged prefixes/addresses (flagged_sources ∪ campaign sources).
    pub flagged: usize,
    /// Flagged prefixes that cover no labelled address at all.
    pub flagged_unlabelled: usize,
    /// Flagged prefixes that cover benign addresses only.
    pub flagged_benign_only: usize,
    pub attack_addresses: usize,
    pub attack_covered: usize,
    /// Addresses of the main phase (spray, stuffing, brute force) and how many are covered.
    pub main_addresses: usize,
    pub main_covered: usize,
    pub main_coverage: f64,
    pub benign_addresses: usize,
    pub benign_flagged: usize,
    pub benign_flagged_rate: f64,
    pub gateways: usize,
    /// Every gateway address covered by a flagged source.
    pub gateways_flagged: Vec<IpAddr>,
    /// covered attack addresses / (covered attack + covered benign addresses).
    pub precision: f64,
    /// covered attack addresses / all attack addresses.
    pub recall: f64,
}

/// Compromised accounts named against the truth.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct AccountScore {
    pub truth: usize,
    pub reported: usize,
    pub correct: usize,
    pub recall: f64,
    pub precision: f64,
    pub missed: Vec<String>,
    pub wrong: Vec<String>,
}

/// One target, met or not.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Check {
    pub name: String,
    pub target: String,
    pub value: String,
    pub pass: bool,
}

/// The whole evaluation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Evaluation {
    pub schema: String,
    pub scenario: String,
    pub seed: u64,
    pub has_attack: bool,
    pub detection: Option<Detection>,
    /// Campaigns by kind.
    pub campaigns: BTreeMap<String, usize>,
    /// Campaigns with nothing to do with the attack (`id kind`): none of their sources covers
    /// an attack address and their time does not overlap the attack's. In benign months, every
    /// campaign.
    pub unrelated_campaigns: Vec<String>,
    pub sources: SourceScore,
    pub compromised: AccountScore,
    pub checks: Vec<Check>,
    /// All checks passed.
    pub pass: bool,
}

pub const EVAL_SCHEMA_V1: &str = "portcullis.sim-eval/v1";

/// Flagged prefixes grouped by length, for "is this address covered?" in a few lookups.
struct Cover {
    by_len: BTreeMap<(bool, u8), HashSet<Prefix>>,
}

impl Cover {
    fn new(prefixes: &BTreeSet<Prefix>) -> Self {
        let mut by_len: BTreeMap<(bool, u8), HashSet<Prefix>> = BTreeMap::new();
        for p in prefixes {
            by_len
                .entry((p.addr().is_ipv4(), p.len()))
                .or_default()
                .insert(*p);
        }
        Cover { by_len }
    }
    fn covering(&self, ip: IpAddr) -> impl Iterator<Item = Prefix> + '_ {
        let v4 = portcullis_core::normalize_ip(ip).is_ipv4();
        self.by_len
            .iter()
            .filter(move |((fam, _), _)| *fam == v4)
            .filter_map(move |((_, len), set)| set.get(&Prefix::new(ip, *len)).copied())
    }
    fn covers(&self, ip: IpAddr) -> bool {
        self.covering(ip).next().is_some()
    }
}

fn ratio(n: usize, d: usize) -> f64 {
    if d == 0 { 1.0 } else { n as f64 / d as f64 }
}

fn pct(x: f64) -> String {
    format!("{:.2} %", x * 100.0)
}

/// Scores `report` against `labels`.
pub fn evaluate(labels: &Labels, report: &Report) -> Evaluation {
    let mut campaigns: BTreeMap<String, usize> = BTreeMap::new();
    for c in &report.campaigns {
        *campaigns.entry(c.kind.as_str().to_string()).or_default() += 1;
    }
    let flagged: BTreeSet<Prefix> = report
        .flagged_sources
        .iter()
        .map(|f| f.source)
        .chain(
            report
                .campaigns
                .iter()
                .flat_map(|c| c.sources.iter().copied()),
        )
        .collect();
    let cover = Cover::new(&flagged);

    // Sources.
    let mut s = SourceScore {
        flagged: flagged.len(),
        ..Default::default()
    };
    let mut prefix_hits: BTreeMap<Prefix, (usize, usize)> = BTreeMap::new();
    let mut benign_covered = 0usize;
    for b in &labels.benign.sources {
        s.benign_addresses += 1;
        let mut hit = false;
        for p in cover.covering(b.address) {
            prefix_hits.entry(p).or_default().1 += 1;
            hit = true;
        }
        if hit {
            benign_covered += 1;
        }
    }
    let gateways = labels.gateway_set();
    s.gateways = gateways.len();
    s.gateways_flagged = gateways
        .iter()
        .copied()
        .filter(|g| cover.covers(*g))
        .collect();
    s.benign_flagged = benign_covered;
    s.benign_flagged_rate = if s.benign_addresses == 0 {
        0.0
    } else {
        benign_covered as f64 / s.benign_addresses as f64
    };
    if let Some(a) = &labels.attack {
        for src in &a.sources {
            s.attack_addresses += 1;
            let main = src.roles.contains(&a.main_role);
            if main {
                s.main_addresses += 1;
            }
            let mut hit = false;
            for p in cover.covering(src.address) {
                prefix_hits.entry(p).or_default().0 += 1;
                hit = true;
            }
            if hit {
                s.attack_covered += 1;
                if main {
                    s.main_covered += 1;
                }
            }
        }
    }
    s.flagged_unlabelled = flagged.len() - prefix_hits.len();
    s.flagged_benign_only = prefix_hits
        .values()
        .filter(|(a, b)| *a == 0 && *b > 0)
        .count();
    s.main_coverage = ratio(s.main_covered, s.main_addresses);
    s.recall = ratio(s.attack_covered, s.attack_addresses);
    s.precision = ratio(s.attack_covered, s.attack_covered + benign_covered);

    // Compromised accounts.
    let truth: BTreeSet<String> = labels
        .attack
        .as_ref()
        .map(|a| {
            a.compromised
                .iter()
                .map(|c| c.account.to_lowercase())
                .collect()
        })
        .unwrap_or_default();
    let reported: BTreeSet<String> = report
        .compromised_accounts
        .iter()
        .map(|c| c.account.trim().to_lowercase())
        .collect();
    let correct = truth.intersection(&reported).count();
    let acc = AccountScore {
        truth: truth.len(),
        reported: reported.len(),
        correct,
        recall: ratio(correct, truth.len()),
        precision: ratio(correct, reported.len()),
        missed: truth.difference(&reported).cloned().collect(),
        wrong: reported.difference(&truth).cloned().collect(),
    };

    // Detection.
    let detection = labels.attack.as_ref().and_then(|a| {
        let start = a.main_start?;
        let end = a.last_attempt.unwrap_or(start);
        let best = report
            .campaigns
            .iter()
            .filter(|c| a.expected_kinds.contains(&c.kind))
            .filter(|c| c.last_seen >= start && c.first_seen <= end)
            .min_by_key(|c| (c.detected_at, c.id.clone()));
        Some(Detection {
            campaign: best.map(|c| c.id.clone()),
            kind: best.map(|c| c.kind),
            attack_start: start,
            detected_at: best.map(|c| c.detected_at),
            delay_secs: best.map(|c| c.detected_at.secs_since(start)),
            target_secs: a.detect_within_secs,
            links_probing: match (best, a.first_linked_probe) {
                (Some(c), Some(p)) => Some(c.first_seen <= p.plus_secs(3600)),
                _ => None,
            },
        })
    });

    // Campaigns unrelated to the attack.
    let attack_cover: Vec<IpAddr> = labels
        .attack
        .as_ref()
        .map(|a| a.sources.iter().map(|x| x.address).collect())
        .unwrap_or_default();
    let window = labels
        .attack
        .as_ref()
        .and_then(|a| Some((a.first_attempt?, a.last_attempt?)));
    let unrelated_campaigns = report
        .campaigns
        .iter()
        .filter(|c| {
            let one = Cover::new(&c.sources.iter().copied().collect());
            let shares = attack_cover.iter().any(|ip| one.covers(*ip));
            let overlaps = window.is_some_and(|(lo, hi)| c.last_seen >= lo && c.first_seen <= hi);
            !shares && !overlaps
        })
        .map(|c| format!("{} {}", c.id, c.kind.as_str()))
        .collect();

    // Checks.
    let mut checks = Vec::new();
    let mut check = |name: &str, target: String, value: String, pass: bool| {
        checks.push(Check {
            name: name.to_string(),
            target,
            value,
            pass,
        })
    };
    if let Some(d) = &detection {
        let kinds: Vec<&str> = labels
            .attack
            .as_ref()
            .map(|a| a.expected_kinds.iter().map(|k| k.as_str()).collect())
            .unwrap_or_default();
        check(
            "detection_delay",
            format!(
                "{} raised ≤ {} s after the first attempt",
                kinds.join("|"),
                d.target_secs
            ),
            match d.delay_secs {
                Some(x) => format!("{x} s"),
                None => "not raised".into(),
            },
            d.delay_secs.is_some_and(|x| x <= d.target_secs),
        );
        if let Some(linked) = d.links_probing {
            check(
                "probing_linked",
                "first_seen ≤ 1 h after the first probe sharing a source or prefix with the attack"
                    .into(),
                if linked {
                    "linked".into()
                } else {
                    "not linked".into()
                },
                linked,
            );
        }
        check(
            "attack_coverage",
            format!(
                "≥ {} of the main phase's addresses flagged",
                pct(targets::MIN_ATTACK_COVERAGE)
            ),
            format!(
                "{} ({}/{})",
                pct(s.main_coverage),
                s.main_covered,
                s.main_addresses
            ),
            s.main_coverage >= targets::MIN_ATTACK_COVERAGE,
        );
        if acc.truth > 0 || acc.reported > 0 {
            check(
                "compromised_recall",
                format!("≥ {}", pct(targets::MIN_COMPROMISED_RECALL)),
                format!("{} ({}/{})", pct(acc.recall), acc.correct, acc.truth),
                acc.recall >= targets::MIN_COMPROMISED_RECALL,
            );
            check(
                "compromised_precision",
                format!("≥ {}", pct(targets::MIN_COMPROMISED_PRECISION)),
                format!("{} ({}/{})", pct(acc.precision), acc.correct, acc.reported),
                acc.precision >= targets::MIN_COMPROMISED_PRECISION,
            );
        }
    } else {
        let sprays = campaigns.get("password_spray").copied().unwrap_or(0);
        check(
            "no_spray_in_benign",
            "no password_spray campaign".into(),
            format!("{sprays} password_spray campaigns"),
            sprays == 0,
        );
        check(
            "no_compromise_in_benign",
            "no account called compromised".into(),
            format!("{}", acc.reported),
            acc.reported == 0,
        );
    }
    check(
        "benign_flagged",
        format!("≤ {} of benign addresses", pct(targets::MAX_BENIGN_FLAGGED)),
        format!(
            "{} ({}/{})",
            pct(s.benign_flagged_rate),
            s.benign_flagged,
            s.benign_addresses
        ),
        s.benign_flagged_rate <= targets::MAX_BENIGN_FLAGGED,
    );
    check(
        "gateways_flagged",
        "0".into(),
        format!("{} of {}", s.gateways_flagged.len(), s.gateways),
        s.gateways_flagged.is_empty(),
    );
    let pass = checks.iter().all(|c| c.pass);
    Evaluation {
        schema: EVAL_SCHEMA_V1.to_string(),
        scenario: labels.scenario.clone(),
        seed: labels.seed,
        has_attack: labels.attack.is_some(),
        detection,
        campaigns,
        unrelated_campaigns,
        sources: s,
        compromised: acc,
        checks,
        pass,
    }
}

/// The evaluation as a table for people.
pub fn render(e: &Evaluation) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "scenario {} (seed {})", e.scenario, e.seed);
    let kinds: Vec<String> = e
        .campaigns
        .iter()
        .map(|(k, n)| format!("{k} {n}"))
        .collect();
    let _ = writeln!(
        o,
        "campaigns: {}",
        if kinds.is_empty() {
            "none".into()
        } else {
            kinds.join(", ")
        }
    );
    if !e.unrelated_campaigns.is_empty() {
        let _ = writeln!(
            o,
            "campaigns unrelated to the attack: {}",
            e.unrelated_campaigns.join(", ")
        );
    }
    if let Some(d) = &e.detection {
        match (&d.campaign, d.delay_secs) {
            (Some(c), Some(x)) => {
                let _ = writeln!(
                    o,
                    "detection: campaign {c} ({}) raised at {}, {x} s after the attack began at {}{}",
                    d.kind.map(|k| k.as_str()).unwrap_or("?"),
                    d.detected_at.map(|t| t.to_string()).unwrap_or_default(),
                    d.attack_start,
                    match d.links_probing {
                        Some(true) => "; reaches back to the probing",
                        Some(false) => "; probing not linked",
                        None => "",
                    }
                );
            }
            _ => {
                let _ = writeln!(
                    o,
                    "detection: the attack (from {}) was not raised as a campaign of the expected kind",
                    d.attack_start
                );
            }
        }
    }
    let s = &e.sources;
    let _ = writeln!(
        o,
        "sources: {} flagged ({} cover only benign addresses, {} cover no labelled address)",
        s.flagged, s.flagged_benign_only, s.flagged_unlabelled
    );
    if e.has_attack {
        let _ = writeln!(
            o,
            "  attack addresses covered {}/{} ({}), main phase {}/{} ({}); precision {}",
            s.attack_covered,
            s.attack_addresses,
            pct(s.recall),
            s.main_covered,
            s.main_addresses,
            pct(s.main_coverage),
            pct(s.precision)
        );
    }
    let _ = writeln!(
        o,
        "  benign addresses flagged {}/{} ({}); gateways flagged {}/{}",
        s.benign_flagged,
        s.benign_addresses,
        pct(s.benign_flagged_rate),
        s.gateways_flagged.len(),
        s.gateways
    );
    let c = &e.compromised;
    let _ = writeln!(
        o,
        "compromised: {} true, {} reported, {} correct (recall {}, precision {})",
        c.truth,
        c.reported,
        c.correct,
        pct(c.recall),
        pct(c.precision)
    );
    for m in c.missed.iter().take(5) {
        let _ = writeln!(o, "  missed: {m}");
    }
    for w in c.wrong.iter().take(5) {
        let _ = writeln!(o, "  wrongly named: {w}");
    }
    let _ = writeln!(o);
    let w = e.checks.iter().map(|c| c.name.len()).max().unwrap_or(10);
    let _ = writeln!(o, "{:<w$}  {:<4}  {:<28}  target", "check", "", "value");
    for ch in &e.checks {
        let _ = writeln!(
            o,
            "{:<w$}  {:<4}  {:<28}  {}",
            ch.name,
            if ch.pass { "ok" } else { "MISS" },
            ch.value,
            ch.target
        );
    }
    let _ = writeln!(
        o,
        "{}",
        if e.pass {
            "all targets met"
        } else {
            "targets missed"
        }
    );
    o
}
