//! The self-contained HTML incident report: one file, inline CSS and SVG, no script, readable
//! on screen and on paper. It answers, in this order, what happened, when it began and was
//! detected, how it unfolded, what was targeted, what fell, what is at risk, what was done, and
//! how to read it all.
//!
//! Every string that came from logs is escaped ([`crate::escape::html`]). Long lists (a spray
//! touches thousands of accounts from thousands of addresses) are capped at
//! [`Options::max_rows`] rows with a note pointing to the full CSV/STIX exports.

use crate::actions::ActionTaken;
use crate::escape::html;
use crate::fmt;
use crate::geo::GeoLookup;
use crate::indicators::Indicator;
use crate::svg::{self, GanttRow, Series, colour};
use portcullis_core::Timestamp;
use portcullis_core::report::{Campaign, CampaignKind, Report};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

pub use portcullis_core::report::TimeBucket;

/// What the report is rendered with besides the [`Report`].
pub struct Options<'a> {
    /// Heading, e.g. the organisation or incident name. Default "Login attack incident report".
    pub title: Option<String>,
    /// Admin actions from an audit log.
    pub actions: Vec<ActionTaken>,
    /// Audit-log entries that could not be read, by reason.
    pub actions_rejected: BTreeMap<&'static str, u64>,
    /// Where `actions` came from (a file, a server's audit log); `None` when no audit log was
    /// given, so an empty list says "unknown" rather than "nothing was done".
    pub audit_source: Option<String>,
    /// ASN and country lookup, when a database is configured.
    pub geo: Option<&'a dyn GeoLookup>,
    /// When the report was written (shown in the footer; not used for anything else).
    pub generated_at: Option<Timestamp>,
    /// Rows shown per table / list.
    pub max_rows: usize,
}

impl Default for Options<'_> {
    fn default() -> Self {
        Options {
            title: None,
            actions: Vec::new(),
            actions_rejected: BTreeMap::new(),
            audit_source: None,
            geo: None,
            generated_at: None,
            max_rows: 200,
        }
    }
}

pub fn kind_words(k: CampaignKind) -> &'static str {
    match k {
        CampaignKind::BruteForce => "brute force",
        CampaignKind::AccountGuessing => "account guessing",
        CampaignKind::PasswordSpray => "password spray",
        CampaignKind::UserEnumeration => "user enumeration",
        CampaignKind::CredentialStuffing => "credential stuffing",
    }
}

fn kind_colour(k: CampaignKind) -> &'static str {
    colour::KINDS[k as usize % colour::KINDS.len()]
}

/// The campaign the summary leads with: the largest spray, else the largest by attempts.
pub fn primary_campaign(report: &Report) -> Option<&Campaign> {
    report.campaigns.iter().max_by_key(|c| {
        (
            c.kind == CampaignKind::PasswordSpray,
            c.attempts,
            std::cmp::Reverse(c.first_seen),
        )
    })
}

fn sources_words(c: &Campaign) -> String {
    let hosts = c.sources.iter().filter(|p| p.is_host()).count() as u64;
    let nets = c.sources.len() as u64 - hosts;
    match (hosts, nets) {
        (0, 0) => "unrecorded sources".to_string(),
        (h, 0) => fmt::counted(h, "address"),
        (0, n) => fmt::counted(n, "network"),
        (h, n) => format!(
            "{} and {}",
            fmt::counted(h, "address"),
            fmt::counted(n, "network")
        ),
    }
}

fn distinct_compromised(report: &Report) -> usize {
    report
        .compromised_accounts
        .iter()
        .map(|c| c.account.as_str())
        .collect::<BTreeSet<_>>()
        .len()
}

/// The executive summary in plain words (text, not yet escaped).
pub fn summary_sentences(report: &Report) -> Vec<String> {
    let mut out = Vec::new();
    let fell = distinct_compromised(report) as u64;
    let window = match (report.input.first_event, report.input.last_event) {
        (Some(a), Some(b)) => format!(" between {} and {}", fmt::time_words(a), fmt::time_words(b)),
        _ => String::new(),
    };
    match primary_campaign(report) {
        None => out.push(format!(
            "No attack campaign was found in the {} read{window}.",
            fmt::counted(report.input.events, "login attempt")
        )),
        Some(c) => {
            let mut s = format!(
                "A {} against {} from {} began on {}",
                kind_words(c.kind),
                fmt::counted(c.accounts_targeted, "account"),
                sources_words(c),
                fmt::time_words(c.first_seen)
            );
            let lag = c.detected_at.secs_since(c.first_seen);
            if lag > 0 {
                let _ = write!(
                    s,
                    " and was detected on {}, {} after the first attempt",
                    fmt::time_words(c.detected_at),
                    fmt::duration(lag)
                );
            } else {
                s.push_str(" and was detected at its first attempt");
            }
            let _ = write!(
                s,
                ". It made {} until {}.",
                fmt::counted(c.attempts, "attempt"),
                fmt::time_words(c.last_seen)
            );
            out.push(s);
            let others: Vec<&Campaign> = report
                .campaigns
                .iter()
                .filter(|o| !std::ptr::eq(*o, c))
                .collect();
            if !others.is_empty() {
                let mut by_kind: BTreeMap<CampaignKind, u64> = BTreeMap::new();
                for o in &others {
                    *by_kind.entry(o.kind).or_default() += 1;
                }
                let kinds: Vec<String> = by_kind
                    .iter()
                    .map(|(k, n)| format!("{} {}", fmt::count(*n), kind_words(*k)))
                    .collect();
                out.push(format!(
                    "{} other campaign{} {} also seen: {}.",
                    fmt::count(others.len() as u64),
                    if others.len() == 1 { "" } else { "s" },
                    if others.len() == 1 { "was" } else { "were" },
                    kinds.join(", ")
                ));
            }
        }
    }
    out.push(match fell {
        0 => "No account is known to have fallen: no successful login was attributed to an attack.".to_string(),
        1 => "1 account fell: it logged in successfully from an attacking source (see Compromised accounts).".to_string(),
        n => format!(
            "{} accounts fell: each logged in successfully from an attacking source (see Compromised accounts).",
            fmt::count(n)
        ),
    });
    if !report.accounts_at_risk.is_empty() {
        let n = report.accounts_at_risk.len();
        out.push(format!(
            "{} more {} under attack but not known to have fallen.",
            fmt::count(n as u64),
            if n == 1 { "account is" } else { "accounts are" }
        ));
    }
    out
}

const CSS: &str = include_str!("incident.css");

/// Renders the report.
pub fn render(report: &Report, indicators: &[Indicator], opts: &Options<'_>) -> String {
    let mut h = String::with_capacity(64 * 1024);
    let title = opts
        .title
        .clone()
        .unwrap_or_else(|| "Login attack incident report".to_string());
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\">\
<title>{}</title><style>{CSS}</style></head><body>",
        html(&title)
    );
    header(&mut h, report, &title);
    h.push_str("<main>");
    section_summary(&mut h, report, indicators);
    section_timeline(&mut h, report, opts);
    section_attempts(&mut h, report);
    section_campaigns(&mut h, report);
    section_sources(&mut h, indicators, opts);
    section_accounts(&mut h, report, opts);
    section_compromised(&mut h, report, opts);
    section_at_risk(&mut h, report, opts);
    section_actions(&mut h, opts);
    section_input(&mut h, report);
    appendix(&mut h);
    h.push_str("</main>");
    footer(&mut h, report, opts);
    h.push_str("</body></html>\n");
    h
}

fn header(h: &mut String, report: &Report, title: &str) {
    let period = match (report.input.first_event, report.input.last_event) {
        (Some(a), Some(b)) => format!("Logs from {} to {}", fmt::time(a), fmt::time(b)),
        _ => "No timestamped events".to_string(),
    };
    let status = if distinct_compromised(report) > 0 {
        ("status-red", "Accounts compromised")
    } else if !report.campaigns.is_empty() {
        ("status-amber", "Attack detected")
    } else {
        ("status-green", "No attack found")
    };
    let _ = write!(
        h,
        r#"<header><div class="wrap"><div class="eyebrow">portcullis · incident report</div><h1>{}</h1><div class="meta"><span class="status {}">{}</span><span>{}</span></div></div></header>"#,
        html(title),
        status.0,
        status.1,
        html(&period)
    );
}

fn section_open(h: &mut String, id: &str, n: usize, title: &str) {
    let _ = write!(
        h,
        r#"<section id="{id}"><h2><span class="num">{n}</span>{}</h2>"#,
        html(title)
    );
}

fn figure(h: &mut String, value: &str, label: &str, class: &str) {
    let _ = write!(
        h,
        r#"<div class="fig {class}"><div class="v">{}</div><div class="l">{}</div></div>"#,
        html(value),
        html(label)
    );
}

fn section_summary(h: &mut String, report: &Report, indicators: &[Indicator]) {
    section_open(h, "summary", 1, "What happened");
    h.push_str(r#"<div class="lead">"#);
    for s in summary_sentences(report) {
        let _ = write!(h, "<p>{}</p>", html(&s));
    }
    h.push_str("</div><div class=\"figs\">");
    let primary = primary_campaign(report);
    figure(
        h,
        &fmt::count(report.input.events),
        "login attempts read",
        "",
    );
    figure(
        h,
        &fmt::count(report.campaigns.len() as u64),
        "attack campaigns",
        "",
    );
    figure(
        h,
        &fmt::count(primary.map(|c| c.accounts_targeted).unwrap_or(0)),
        "accounts targeted (main campaign)",
        "",
    );
    let distinct_sources: BTreeSet<_> = indicators.iter().map(|i| i.source).collect();
    figure(
        h,
        &fmt::count(distinct_sources.len() as u64),
        "attacking addresses / networks",
        "",
    );
    figure(
        h,
        &primary
            .map(|c| fmt::duration(c.detected_at.secs_since(c.first_seen)))
            .unwrap_or_else(|| "–".into()),
        "from first attempt to detection",
        "",
    );
    let fell = distinct_compromised(report) as u64;
    figure(
        h,
        &fmt::count(fell),
        "accounts compromised",
        if fell > 0 { "bad" } else { "good" },
    );
    figure(
        h,
        &fmt::count(report.accounts_at_risk.len() as u64),
        "accounts at risk",
        if report.accounts_at_risk.is_empty() {
            ""
        } else {
            "warn"
        },
    );
    h.push_str("</div></section>");
}

fn time_bounds(report: &Report, opts: &Options<'_>) -> Option<(Timestamp, Timestamp)> {
    let mut ts: Vec<Timestamp> = Vec::new();
    for c in &report.campaigns {
        ts.extend([c.first_seen, c.detected_at, c.last_seen]);
    }
    ts.extend(report.compromised_accounts.iter().map(|c| c.at));
    ts.extend(opts.actions.iter().filter_map(|a| a.at));
    Some((*ts.iter().min()?, *ts.iter().max()?))
}

/// One line of the chronology.
struct Moment {
    at: Timestamp,
    class: &'static str,
    what: String,
}

/// The window the attack's main phase fills, when the whole span is much longer (weeks of
/// sparse probing before an overnight spray): from a little before the main campaign's
/// detection to a little after its last attempt.
fn zoom_window(
    report: &Report,
    start: Timestamp,
    end: Timestamp,
) -> Option<(Timestamp, Timestamp)> {
    let c = primary_campaign(report)?;
    let main = c.last_seen.secs_since(c.detected_at).max(3600);
    let (zs, ze) = (
        c.detected_at.plus_secs(-(main / 4).max(6 * 3600)),
        c.last_seen.plus_secs((main / 10).max(1800)),
    );
    // Whole hours read better on the axis and in the heading.
    let zs = Timestamp::from_unix_secs(zs.unix_secs().div_euclid(3600) * 3600);
    let ze = Timestamp::from_unix_secs((ze.unix_secs() + 3599).div_euclid(3600) * 3600);
    (end.secs_since(start) > 4 * ze.secs_since(zs)).then_some((zs.max(start), ze.min(end)))
}

fn overlaps(a: Timestamp, b: Timestamp, start: Timestamp, end: Timestamp) -> bool {
    a <= end && b >= start
}

/// Campaign rows (plus compromises outside them and actions) that show in `[start, end]`.
fn gantt_rows(
    report: &Report,
    opts: &Options<'_>,
    start: Timestamp,
    end: Timestamp,
) -> (Vec<GanttRow>, usize) {
    const MAX_ROWS: usize = 14;
    let mut campaigns: Vec<&Campaign> = report
        .campaigns
        .iter()
        .filter(|c| overlaps(c.first_seen, c.last_seen, start, end))
        .collect();
    campaigns.sort_by_key(|c| (c.first_seen, c.id.clone()));
    let hidden = campaigns.len().saturating_sub(MAX_ROWS);
    campaigns.truncate(MAX_ROWS);
    let mark = |a: &portcullis_core::report::CompromisedAccount| {
        (
            a.at,
            format!("{} compromised at {}", a.account, fmt::time(a.at)),
        )
    };
    let mut rows: Vec<GanttRow> = campaigns
        .iter()
        .map(|c| GanttRow {
            label: format!("{} · {}", c.id, kind_words(c.kind)),
            colour: kind_colour(c.kind),
            first_seen: c.first_seen.max(start),
            detected_at: Some(c.detected_at),
            last_seen: c.last_seen.min(end),
            marks: report
                .compromised_accounts
                .iter()
                .filter(|a| a.campaign.as_deref() == Some(c.id.as_str()))
                .map(mark)
                .collect(),
            mark_colour: colour::COMPROMISED,
        })
        .collect();
    let loose: Vec<_> = report
        .compromised_accounts
        .iter()
        .filter(|a| a.at >= start && a.at <= end)
        .filter(|a| {
            a.campaign
                .as_ref()
                .is_none_or(|id| !campaigns.iter().any(|c| &c.id == id))
        })
        .map(mark)
        .collect();
    if !loose.is_empty() {
        rows.push(GanttRow {
            label: "other compromises".into(),
            colour: colour::GRID,
            first_seen: start,
            detected_at: None,
            last_seen: start,
            marks: loose,
            mark_colour: colour::COMPROMISED,
        });
    }
    let acted: Vec<_> = opts
        .actions
        .iter()
        .filter_map(|a| {
            a.at.map(|t| (t, format!("{} {} at {}", a.action, a.target, fmt::time(t))))
        })
        .filter(|(t, _)| *t >= start && *t <= end)
        .collect();
    if !acted.is_empty() {
        rows.push(GanttRow {
            label: "actions taken".into(),
            colour: colour::GRID,
            first_seen: start,
            detected_at: None,
            last_seen: start,
            marks: acted,
            mark_colour: colour::ACTION,
        });
    }
    (rows, hidden)
}

fn section_timeline(h: &mut String, report: &Report, opts: &Options<'_>) {
    section_open(h, "timeline", 2, "Timeline");
    let Some((start, end)) = time_bounds(report, opts) else {
        h.push_str("<p class=\"muted\">Nothing to place on a timeline.</p></section>");
        return;
    };
    let pad = ((end.secs_since(start)) / 40).max(60);
    let (start, end) = (start.plus_secs(-pad), end.plus_secs(pad));
    let (rows, hidden) = gantt_rows(report, opts, start, end);
    h.push_str(&svg::gantt(&rows, start, end));
    if let Some((zs, ze)) = zoom_window(report, start, end) {
        let _ = write!(
            h,
            r#"<h3>Close-up: {} to {}</h3>"#,
            html(&fmt::time(zs)),
            html(&fmt::time(ze))
        );
        let (zrows, _) = gantt_rows(report, opts, zs, ze);
        h.push_str(&svg::gantt(&zrows, zs, ze));
    }
    h.push_str(r#"<div class="legend"><span><i class="sw pale"></i>before detection</span><span><i class="sw solid"></i>after detection</span><span><i class="dia"></i>detected</span><span><i class="dot red"></i>account compromised</span><span><i class="dot green"></i>action taken</span></div>"#);
    if hidden > 0 {
        let _ = write!(
            h,
            "<p class=\"muted\">{} more campaigns are not drawn; all are listed under Campaigns.</p>",
            fmt::count(hidden as u64)
        );
    }
    // The chronology, from the first probe.
    let mut moments: Vec<Moment> = Vec::new();
    let mut campaigns: Vec<&Campaign> = report.campaigns.iter().collect();
    campaigns.sort_by_key(|c| (c.first_seen, c.id.clone()));
    for c in &campaigns {
        moments.push(Moment {
            at: c.first_seen,
            class: "probe",
            what: format!(
                "First attempt of {} ({}) — the earliest probe linked to it.",
                c.id,
                kind_words(c.kind)
            ),
        });
        moments.push(Moment {
            at: c.detected_at,
            class: "detect",
            what: format!(
                "{} detected: {}",
                c.id,
                if c.summary.is_empty() {
                    kind_words(c.kind)
                } else {
                    &c.summary
                }
            ),
        });
        moments.push(Moment {
            at: c.last_seen,
            class: "end",
            what: format!("Last attempt of {} seen.", c.id),
        });
    }
    // Compromises: each one when there are few; otherwise the first, and a summary at the last.
    let mut by_campaign: BTreeMap<Option<&str>, Vec<&portcullis_core::report::CompromisedAccount>> =
        BTreeMap::new();
    for a in &report.compromised_accounts {
        by_campaign
            .entry(a.campaign.as_deref())
            .or_default()
            .push(a);
    }
    let fell = |a: &portcullis_core::report::CompromisedAccount, lead: &str| Moment {
        at: a.at,
        class: "fell",
        what: format!(
            "{lead}{} compromised{}{}.",
            a.account,
            a.source.map(|s| format!(" from {s}")).unwrap_or_default(),
            a.campaign
                .as_ref()
                .map(|c| format!(" ({c})"))
                .unwrap_or_default()
        ),
    };
    for (campaign, mut list) in by_campaign {
        list.sort_by_key(|a| a.at);
        if list.len() <= 5 {
            moments.extend(list.iter().map(|a| fell(a, "Account ")));
        } else if let (Some(first), Some(last)) = (list.first(), list.last()) {
            moments.push(fell(first, "First account to fall: "));
            moments.push(Moment {
                at: last.at,
                class: "fell",
                what: format!(
                    "{} accounts had fallen{} since {} (last: {}); see Compromised accounts.",
                    fmt::count(list.len() as u64),
                    campaign.map(|c| format!(" in {c}")).unwrap_or_default(),
                    fmt::time(first.at),
                    last.account
                ),
            });
        }
    }
    for a in &opts.actions {
        if let Some(at) = a.at {
            moments.push(Moment {
                at,
                class: "act",
                what: format!(
                    "Action: {}{}{}.",
                    a.action.replace('_', " "),
                    if a.target.is_empty() {
                        String::new()
                    } else {
                        format!(" {}", a.target)
                    },
                    a.actor
                        .as_ref()
                        .map(|w| format!(" by {w}"))
                        .unwrap_or_default()
                ),
            });
        }
    }
    moments.sort_by_key(|m| m.at);
    let total = moments.len();
    h.push_str(r#"<ol class="chron">"#);
    for m in moments.iter().take(opts.max_rows) {
        let _ = write!(
            h,
            r#"<li class="{}"><time>{}</time><span>{}</span></li>"#,
            m.class,
            html(&fmt::time(m.at)),
            html(&m.what)
        );
    }
    h.push_str("</ol>");
    more_note(h, total, opts.max_rows, "events");
    h.push_str("</section>");
}

fn more_note(h: &mut String, total: usize, shown: usize, what: &str) {
    if total > shown {
        let _ = write!(
            h,
            r#"<p class="muted">Showing {} of {} {what}; the full list is in the exports.</p>"#,
            fmt::count(shown as u64),
            fmt::count(total as u64)
        );
    }
}

/// The stated width, or the interval to the next bucket when a producer left it out.
fn bucket_width(b: &TimeBucket, next: Option<&TimeBucket>, fallback: i64) -> i64 {
    Some(b.width_secs)
        .filter(|w| *w > 0)
        .or_else(|| next.map(|n| n.start.secs_since(b.start)))
        .filter(|w| *w > 0)
        .unwrap_or(fallback)
}

/// Attempts per bin estimated from campaign totals (each campaign's attempts spread evenly over
/// its life), for reports without a time series.
fn estimated_series(report: &Report) -> (Vec<Series>, i64) {
    let Some(start) = report.campaigns.iter().map(|c| c.first_seen).min() else {
        return (Vec::new(), 3600);
    };
    let end = report
        .campaigns
        .iter()
        .map(|c| c.last_seen)
        .max()
        .unwrap_or(start);
    let span = end.secs_since(start).max(60);
    let width = [
        60,
        300,
        900,
        1800,
        3600,
        3 * 3600,
        6 * 3600,
        12 * 3600,
        86_400,
        7 * 86_400,
    ]
    .into_iter()
    .find(|w| span / w <= 120)
    .unwrap_or(span / 120 + 1);
    let origin = start.unix_secs().div_euclid(width) * width;
    let n = ((end.unix_secs() - origin) / width + 1) as usize;
    let mut bins = vec![0.0f64; n];
    for c in &report.campaigns {
        let (a, b) = (
            c.first_seen.unix_secs(),
            c.last_seen.unix_secs().max(c.first_seen.unix_secs()),
        );
        let life = (b - a) as f64;
        for (i, bin) in bins.iter_mut().enumerate() {
            let (lo, hi) = (origin + i as i64 * width, origin + (i as i64 + 1) * width);
            if life == 0.0 {
                if a >= lo && a < hi {
                    *bin += c.attempts as f64;
                }
            } else {
                let overlap = (hi.min(b) - lo.max(a)).max(0) as f64;
                *bin += c.attempts as f64 * overlap / life;
            }
        }
    }
    let series = bins
        .into_iter()
        .enumerate()
        .map(|(i, v)| Series {
            start: Timestamp::from_unix_secs(origin + i as i64 * width),
            width_secs: width,
            values: [0.0, v, 0.0],
        })
        .collect();
    (series, width)
}

fn per(width: i64) -> String {
    match width {
        60 => "minute".into(),
        3600 => "hour".into(),
        86_400 => "day".into(),
        w => fmt::duration(w),
    }
}

/// Most columns drawn; longer series are merged into wider columns.
const MAX_BARS: usize = 720;

/// Merges consecutive columns so that at most `max` remain.
fn rebin(bars: Vec<Series>, max: usize) -> Vec<Series> {
    if bars.len() <= max {
        return bars;
    }
    let k = bars.len().div_ceil(max);
    bars.chunks(k)
        .map(|chunk| {
            let mut v = [0.0; 3];
            for b in chunk {
                for (acc, x) in v.iter_mut().zip(b.values) {
                    *acc += x;
                }
            }
            let (first, last) = (chunk[0], chunk[chunk.len() - 1]);
            Series {
                start: first.start,
                width_secs: last
                    .start
                    .plus_secs(last.width_secs)
                    .secs_since(first.start),
                values: v,
            }
        })
        .collect()
}

fn section_attempts(h: &mut String, report: &Report) {
    section_open(h, "attempts", 3, "Attempts over time");
    let markers: Vec<(Timestamp, String)> = primary_campaign(report)
        .map(|c| vec![(c.detected_at, format!("{} detected", c.id))])
        .unwrap_or_default();
    if !report.timeline.is_empty() {
        let mut buckets = report.timeline.clone();
        buckets.sort_by_key(|b| b.start);
        let mut bars = Vec::with_capacity(buckets.len());
        let mut widths = Vec::new();
        for (i, b) in buckets.iter().enumerate() {
            let w = bucket_width(
                b,
                buckets.get(i + 1),
                widths.last().copied().unwrap_or(3600),
            );
            widths.push(w);
            let unfamiliar = b.unfamiliar_failures.min(b.failures);
            bars.push(Series {
                start: b.start,
                width_secs: w,
                values: [
                    unfamiliar as f64,
                    (b.failures - unfamiliar) as f64,
                    b.attempts.saturating_sub(b.failures) as f64,
                ],
            });
        }
        let bars = rebin(bars, MAX_BARS);
        let names = [
            "failures from unfamiliar sources",
            "failures from familiar sources",
            "successes",
        ];
        let colours = [colour::UNFAMILIAR, colour::FAILURES, colour::ATTEMPTS];
        let w = bars.first().map(|b| b.width_secs).unwrap_or(3600);
        h.push_str(&svg::stacked_columns(
            &bars,
            names,
            colours,
            &format!("attempts per {}", per(w)),
            &markers,
        ));
        let (start, end) = (
            bars.first().map(|b| b.start).unwrap_or_default(),
            bars.last()
                .map(|b| b.start.plus_secs(b.width_secs))
                .unwrap_or_default(),
        );
        if let Some((zs, ze)) = zoom_window(report, start, end) {
            let zoom: Vec<Series> = bars
                .iter()
                .filter(|b| b.start >= zs && b.start < ze)
                .copied()
                .collect();
            if zoom.len() > 3 {
                let _ = write!(
                    h,
                    r#"<h3>Close-up: {} to {}</h3>"#,
                    html(&fmt::time(zs)),
                    html(&fmt::time(ze))
                );
                h.push_str(&svg::stacked_columns(
                    &zoom,
                    names,
                    colours,
                    &format!("attempts per {}", per(w)),
                    &markers,
                ));
            }
        }
        h.push_str(r#"<div class="legend"><span><i class="sw" style="background:#c0392b"></i>failures from unfamiliar sources</span><span><i class="sw" style="background:#486581"></i>failures from familiar sources</span><span><i class="sw" style="background:#9fb3c8"></i>successes</span></div>"#);
    } else {
        let (bars, w) = estimated_series(report);
        h.push_str(&svg::stacked_columns(
            &bars,
            ["", "attempts attributed to campaigns", ""],
            [colour::UNFAMILIAR, colour::FAILURES, colour::ATTEMPTS],
            &format!("attempts per {} (estimated)", per(w)),
            &markers,
        ));
        h.push_str(r#"<p class="note">Estimated: this report carries each campaign's total attempts and its first and last attempt, not per-hour counts, so each campaign's attempts are drawn spread evenly over its life. Bursts inside a campaign do not show here.</p>"#);
    }
    h.push_str("</section>");
}

fn section_campaigns(h: &mut String, report: &Report) {
    section_open(h, "campaigns", 4, "Campaigns");
    if report.campaigns.is_empty() {
        h.push_str("<p class=\"muted\">No campaign was found.</p></section>");
        return;
    }
    h.push_str(r#"<table><thead><tr><th>Id</th><th>Kind</th><th>First attempt (UTC)</th><th>Detected (UTC)</th><th>Last attempt (UTC)</th><th class="n">Attempts</th><th class="n">Accounts</th><th class="n">Sources</th></tr></thead><tbody>"#);
    let mut cs: Vec<&Campaign> = report.campaigns.iter().collect();
    cs.sort_by_key(|c| (c.first_seen, c.id.clone()));
    for c in &cs {
        let _ = write!(
            h,
            r#"<tr><td class="mono">{}</td><td><span class="pill" style="border-color:{col};color:{col}">{}</span></td><td class="t">{}</td><td class="t">{}<div class="sub">after {}</div></td><td class="t">{}</td><td class="n">{}</td><td class="n">{}</td><td class="n">{}</td></tr>"#,
            html(&c.id),
            kind_words(c.kind),
            html(&fmt::cell_time(c.first_seen)),
            html(&fmt::cell_time(c.detected_at)),
            html(&fmt::duration(c.detected_at.secs_since(c.first_seen))),
            html(&fmt::cell_time(c.last_seen)),
            fmt::count(c.attempts),
            fmt::count(c.accounts_targeted),
            fmt::count(c.sources.len() as u64),
            col = kind_colour(c.kind),
        );
        if !c.summary.is_empty() {
            let _ = write!(
                h,
                r#"<tr class="detail"><td></td><td colspan="7">{}</td></tr>"#,
                html(&c.summary)
            );
        }
    }
    h.push_str("</tbody></table></section>");
}

/// The network an address is counted in: its /24 (IPv4) or /48 (IPv6); networks stay as named.
fn network_of(p: &portcullis_core::Prefix) -> portcullis_core::Prefix {
    let len = if p.addr().is_ipv4() { 24 } else { 48 };
    if p.len() <= len {
        *p
    } else {
        portcullis_core::Prefix::new(p.addr(), len)
    }
}

struct NetworkRow {
    network: portcullis_core::Prefix,
    named: u64,
    campaigns: BTreeSet<String>,
    first: Timestamp,
    last: Timestamp,
}

/// Networks listed by name; smaller ones are summarised (a spray from residential proxies has
/// hundreds of networks holding one source each).
const MAX_NETWORK_ROWS: usize = 25;

fn section_sources(h: &mut String, indicators: &[Indicator], opts: &Options<'_>) {
    section_open(h, "sources", 5, "Sources");
    if indicators.is_empty() {
        h.push_str("<p class=\"muted\">No attacking source was named.</p></section>");
        return;
    }
    let distinct: BTreeSet<_> = indicators.iter().map(|i| i.source).collect();
    let hosts = distinct.iter().filter(|p| p.is_host()).count() as u64;
    let mut nets: BTreeMap<portcullis_core::Prefix, NetworkRow> = BTreeMap::new();
    for i in indicators {
        let n = network_of(&i.source);
        let row = nets.entry(n).or_insert_with(|| NetworkRow {
            network: n,
            named: 0,
            campaigns: BTreeSet::new(),
            first: i.first_seen,
            last: i.last_seen,
        });
        row.first = row.first.min(i.first_seen);
        row.last = row.last.max(i.last_seen);
        if let Some(c) = &i.campaign {
            row.campaigns.insert(c.clone());
        }
    }
    for s in &distinct {
        if let Some(row) = nets.get_mut(&network_of(s)) {
            row.named += 1;
        }
    }
    let mut rows: Vec<NetworkRow> = nets.into_values().collect();
    rows.sort_by(|a, b| {
        b.named
            .cmp(&a.named)
            .then(a.first.cmp(&b.first))
            .then(a.network.cmp(&b.network))
    });
    let _ = write!(
        h,
        "<p>{} named ({} and {}), in {} (IPv4 /24, IPv6 /48). Every source, with first and last sighting and the reasons, is in <code>indicators.csv</code> and <code>indicators.stix.json</code>.</p>",
        fmt::counted(distinct.len() as u64, "source"),
        fmt::counted(hosts, "single address"),
        fmt::counted(distinct.len() as u64 - hosts, "network"),
        fmt::counted(rows.len() as u64, "network")
    );
    let geo = opts.geo;
    h.push_str("<table><thead><tr><th>Network</th><th class=\"n\">Sources named</th>");
    if geo.is_some() {
        h.push_str("<th>AS</th><th>Country</th>");
    }
    h.push_str(
        "<th>Campaigns</th><th>First seen (UTC)</th><th>Last seen (UTC)</th></tr></thead><tbody>",
    );
    let shown = rows.len().min(opts.max_rows).min(MAX_NETWORK_ROWS);
    for r in rows.iter().take(shown) {
        let _ = write!(
            h,
            r#"<tr><td class="mono">{}</td><td class="n">{}</td>"#,
            html(&r.network.to_string()),
            fmt::count(r.named)
        );
        if let Some(g) = geo {
            let info = g.lookup(r.network.addr()).unwrap_or_default();
            let asn = match (info.asn, &info.as_org) {
                (Some(n), Some(o)) => format!("AS{n} {o}"),
                (Some(n), None) => format!("AS{n}"),
                (None, Some(o)) => o.clone(),
                (None, None) => "–".into(),
            };
            let _ = write!(
                h,
                "<td>{}</td><td>{}</td>",
                html(&asn),
                html(info.country.as_deref().unwrap_or("–"))
            );
        }
        let campaigns: Vec<&str> = r.campaigns.iter().map(String::as_str).collect();
        let _ = write!(
            h,
            r#"<td class="mono">{}</td><td class="t">{}</td><td class="t">{}</td></tr>"#,
            html(&if campaigns.is_empty() {
                "–".to_string()
            } else {
                campaigns.join(", ")
            }),
            html(&fmt::cell_time(r.first)),
            html(&fmt::cell_time(r.last))
        );
    }
    h.push_str("</tbody></table>");
    if rows.len() > shown {
        let rest = &rows[shown..];
        let most = rest.iter().map(|r| r.named).max().unwrap_or(0);
        let _ = write!(
            h,
            r#"<p class="muted">{} more, each with {} named; every one is in the exports.</p>"#,
            fmt::counted(rest.len() as u64, "network"),
            if most <= 1 {
                "a single source".to_string()
            } else {
                format!("at most {most} sources")
            }
        );
    }
    let _ = write!(
        h,
        "<h3>Addresses and networks named</h3><ul class=\"cols\">"
    );
    for s in distinct.iter().take(opts.max_rows) {
        let _ = write!(h, "<li>{}</li>", html(&s.to_string()));
    }
    h.push_str("</ul>");
    more_note(h, distinct.len(), opts.max_rows, "sources");
    h.push_str("</section>");
}

fn section_accounts(h: &mut String, report: &Report, opts: &Options<'_>) {
    section_open(h, "targeted", 6, "Accounts targeted");
    if report.campaigns.is_empty() {
        h.push_str("<p class=\"muted\">No campaign, so no targeted accounts.</p></section>");
        return;
    }
    let mut budget = opts.max_rows * 2;
    for c in &report.campaigns {
        let _ = write!(
            h,
            r#"<h3><span class="mono">{}</span> · {} · {}</h3>"#,
            html(&c.id),
            kind_words(c.kind),
            fmt::counted(c.accounts_targeted, "account")
        );
        if c.accounts.is_empty() {
            h.push_str(
                "<p class=\"muted\">The report does not list this campaign's accounts by name.</p>",
            );
            continue;
        }
        let show = c.accounts.len().min(budget);
        budget -= show;
        h.push_str(r#"<ul class="cols">"#);
        for a in c.accounts.iter().take(show) {
            let _ = write!(h, "<li>{}</li>", html(a));
        }
        h.push_str("</ul>");
        let named = c.accounts.len() as u64;
        if (show as u64) < c.accounts_targeted {
            let _ = write!(
                h,
                r#"<p class="muted">Showing {} of {} accounts{}.</p>"#,
                fmt::count(show as u64),
                fmt::count(c.accounts_targeted),
                if named < c.accounts_targeted {
                    " (the report names only some)"
                } else {
                    ""
                }
            );
        }
    }
    h.push_str("</section>");
}

fn section_compromised(h: &mut String, report: &Report, opts: &Options<'_>) {
    section_open(h, "compromised", 7, "Compromised accounts");
    if report.compromised_accounts.is_empty() {
        h.push_str("<p>No successful login was attributed to an attack.</p></section>");
        return;
    }
    h.push_str(r#"<p class="alert">These accounts logged in successfully during an attack from an attacking source: treat their passwords as known to the attacker. Reset them, end their sessions, check mail forwarding rules and app passwords, and review what was accessed after the time shown.</p>"#);
    h.push_str("<table><thead><tr><th>Account</th><th>When (UTC)</th><th>From</th><th>Campaign</th><th>Evidence</th></tr></thead><tbody>");
    let mut rows: Vec<_> = report.compromised_accounts.iter().collect();
    rows.sort_by_key(|c| c.at);
    for c in rows.iter().take(opts.max_rows) {
        let _ = write!(
            h,
            r#"<tr><td class="acct">{}</td><td class="t">{}</td><td class="mono">{}</td><td class="mono">{}</td><td class="why">{}</td></tr>"#,
            html(&c.account),
            html(&fmt::cell_time(c.at)),
            html(
                &c.source
                    .map(|s| s.to_string())
                    .unwrap_or_else(|| "–".into())
            ),
            html(c.campaign.as_deref().unwrap_or("–")),
            html(&c.evidence)
        );
    }
    h.push_str("</tbody></table>");
    more_note(h, rows.len(), opts.max_rows, "compromised accounts");
    h.push_str("</section>");
}

fn section_at_risk(h: &mut String, report: &Report, opts: &Options<'_>) {
    section_open(h, "at-risk", 8, "Accounts at risk");
    if report.accounts_at_risk.is_empty() {
        h.push_str("<p class=\"muted\">No account is marked at risk.</p></section>");
        return;
    }
    h.push_str("<p>Under attack but not known to have fallen. Consider protecting them (internal-only access) until the attack ends, and asking their owners to choose a new, strong password.</p>");
    h.push_str("<table><thead><tr><th>Account</th><th>Since (UTC)</th><th>Campaign</th><th>Why</th></tr></thead><tbody>");
    let mut rows: Vec<_> = report.accounts_at_risk.iter().collect();
    rows.sort_by_key(|a| a.since);
    for a in rows.iter().take(opts.max_rows) {
        let _ = write!(
            h,
            r#"<tr><td class="acct">{}</td><td class="t">{}</td><td class="mono">{}</td><td class="why">{}</td></tr>"#,
            html(&a.account),
            html(&fmt::cell_time(a.since)),
            html(a.campaign.as_deref().unwrap_or("–")),
            html(&a.reason)
        );
    }
    h.push_str("</tbody></table>");
    more_note(h, rows.len(), opts.max_rows, "accounts at risk");
    h.push_str("</section>");
}

fn section_actions(h: &mut String, opts: &Options<'_>) {
    section_open(h, "actions", 9, "Actions taken");
    let rejected: u64 = opts.actions_rejected.values().sum();
    if opts.actions.is_empty() {
        match &opts.audit_source {
            Some(src) => {
                let _ = write!(
                    h,
                    "<p class=\"muted\">The audit log (<code>{}</code>) records no action.</p>",
                    html(src)
                );
            }
            None => h.push_str("<p class=\"muted\">No audit log was given (<code>portcullis report --actions AUDIT.json</code>), so this report cannot say what was done.</p>"),
        }
    } else {
        h.push_str("<table><thead><tr><th>When (UTC)</th><th>Action</th><th>Target</th><th>By</th><th>Until (UTC)</th><th>Note</th></tr></thead><tbody>");
        for a in opts.actions.iter().take(opts.max_rows) {
            let _ = write!(
                h,
                r#"<tr><td class="t">{}</td><td><b>{}</b></td><td class="mono">{}</td><td>{}</td><td>{}</td><td class="why">{}</td></tr>"#,
                html(
                    &a.at
                        .map(fmt::cell_time)
                        .unwrap_or_else(|| "time not recorded".into())
                ),
                html(&a.action.replace('_', " ")),
                html(if a.target.is_empty() {
                    "everyone"
                } else {
                    &a.target
                }),
                html(a.actor.as_deref().unwrap_or("–")),
                html(&a.until.map(fmt::cell_time).unwrap_or_else(|| "–".into())),
                html(a.note.as_deref().unwrap_or(""))
            );
        }
        h.push_str("</tbody></table>");
        more_note(h, opts.actions.len(), opts.max_rows, "actions");
    }
    if rejected > 0 {
        let reasons: Vec<String> = opts
            .actions_rejected
            .iter()
            .map(|(r, n)| format!("{r}: {n}"))
            .collect();
        let _ = write!(
            h,
            r#"<p class="muted">{} in the audit log could not be read ({}).</p>"#,
            fmt::counted(rejected, "entry"),
            html(&reasons.join(", "))
        );
    }
    h.push_str("</section>");
}

fn section_input(h: &mut String, report: &Report) {
    section_open(h, "input", 10, "What was read");
    let i = &report.input;
    let _ = write!(
        h,
        "<p>{} read, {} recognised as login attempts, {} skipped.</p>",
        fmt::counted(i.lines, "line"),
        fmt::count(i.events),
        fmt::count(i.skipped)
    );
    let palette = [
        "#2f855a", "#486581", "#c0392b", "#b7791f", "#718096", "#9f7aea", "#a0aec0",
    ];
    let parts: Vec<(String, u64, &str)> = i
        .events_by_outcome
        .iter()
        .enumerate()
        .map(|(k, (o, n))| (o.as_str().replace('_', " "), *n, palette[k % palette.len()]))
        .collect();
    h.push_str("<h3>Outcomes of the attempts</h3>");
    h.push_str(&svg::share_bar(&parts, "Outcomes of login attempts"));
    if !report.verdicts.is_empty() {
        let vpal = |v: &str| match v {
            "allow" => "#2f855a",
            "tarpit" => "#d69e2e",
            "deny" => "#c0392b",
            "internal_only" => "#2b6cb0",
            _ => "#718096",
        };
        let vparts: Vec<(String, u64, &str)> = report
            .verdicts
            .iter()
            .map(|(v, n)| (v.replace('_', " "), *n, vpal(v)))
            .collect();
        h.push_str("<h3>What portcullis would have answered</h3>");
        h.push_str(&svg::share_bar(&vparts, "Verdicts"));
    }
    if !i.files.is_empty() || !i.skipped_by_reason.is_empty() {
        h.push_str("<table class=\"kv\"><tbody>");
        for f in i.files.iter().take(50) {
            let _ = write!(
                h,
                "<tr><th>File</th><td class=\"mono\">{}</td></tr>",
                html(f)
            );
        }
        if i.files.len() > 50 {
            let _ = write!(
                h,
                "<tr><th>File</th><td>… and {} more</td></tr>",
                i.files.len() - 50
            );
        }
        for (r, n) in &i.skipped_by_reason {
            let _ = write!(
                h,
                "<tr><th>Skipped</th><td>{}: {}</td></tr>",
                html(r),
                fmt::count(*n)
            );
        }
        h.push_str("</tbody></table>");
    }
    h.push_str("</section>");
}

fn appendix(h: &mut String) {
    h.push_str(r#"<section id="appendix" class="appendix"><h2><span class="num">A</span>How to read this report</h2><dl>
<dt>Campaign</dt><dd>A set of login attempts portcullis attributes to one attack. Kinds: <b>password spray</b> (a few guesses against many accounts, often from many addresses), <b>brute force</b> (many failures from one address or network), <b>account guessing</b> (many guesses against one account), <b>user enumeration</b> (unknown account names tried), <b>credential stuffing</b> (a different, probably leaked, password per account).</dd>
<dt>First attempt</dt><dd>The earliest attempt linked to the campaign. It reaches back to early, sparse probes that were only recognised as part of the attack later, so it can be well before detection.</dd>
<dt>Detected</dt><dd>The moment portcullis, reading the events in order, first had enough evidence to name the campaign. The time from first attempt to detection is how long the attack went unnoticed.</dd>
<dt>Source, address, network</dt><dd>Where attempts came from. Attackers rotate addresses inside networks they rent, so sources are given as single addresses or as networks (IPv4 /24, IPv6 /64 or /48). Many spray sources are residential proxies: the address belongs to an innocent household whose device is abused, so blocks should be temporary.</dd>
<dt>Familiar / unfamiliar source</dt><dd>A source is familiar to an account when the account has logged in successfully from it before. Failures from unfamiliar sources are what an attack looks like; failures from familiar ones are usually users mistyping.</dd>
<dt>Compromised account</dt><dd>A successful login inside a campaign, from an attacking source. The password must be treated as known to the attacker.</dd>
<dt>Account at risk</dt><dd>An account the attack targeted which has not (yet) logged in from an attacking source.</dd>
<dt>Times</dt><dd>All times are UTC, from the logs' own timestamps.</dd>
<dt>Indicators</dt><dd><code>indicators.csv</code> lists each attacking source (<code>type,value,first_seen,last_seen,campaign,reason</code>; type is <code>ipv4-addr</code>, <code>ipv4-net</code>, <code>ipv6-addr</code> or <code>ipv6-net</code>). <code>indicators.stix.json</code> is the same as a STIX 2.1 bundle (identity, campaigns, indicators with STIX patterns, and indicator-to-campaign relationships) for a national CERT or a threat-intelligence platform. Indicators are valid for 30 days after the last sighting.</dd>
</dl></section>"#);
}

fn footer(h: &mut String, report: &Report, opts: &Options<'_>) {
    let _ = write!(
        h,
        r#"<footer><div class="wrap">Written by {} from a <code>{}</code> report{}. Account names and other text from logs are shown exactly as logged; they may be chosen by the attacker.</div></footer>"#,
        html(if report.generator.is_empty() {
            "portcullis"
        } else {
            &report.generator
        }),
        html(&report.schema),
        opts.generated_at
            .map(|t| format!(" on {}", html(&fmt::time(t))))
            .unwrap_or_default()
    );
}
