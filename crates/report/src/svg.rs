//! Inline SVG charts, drawn in Rust so the incident report needs no script and prints as it
//! shows: a time axis with readable ticks, a campaign timeline (Gantt) with detection and
//! compromise markers, an attempts-over-time chart, and a stacked share bar.
//!
//! Every label that may come from logs is escaped with [`crate::escape::html`].

use crate::escape::html;
use crate::fmt;
use portcullis_core::Timestamp;
use std::fmt::Write;

/// Palette shared with the CSS.
pub mod colour {
    pub const INK: &str = "#1f2933";
    pub const MUTED: &str = "#6b7785";
    pub const GRID: &str = "#e4e7eb";
    pub const ATTEMPTS: &str = "#9fb3c8";
    pub const FAILURES: &str = "#486581";
    pub const UNFAMILIAR: &str = "#c0392b";
    pub const DETECTED: &str = "#d97706";
    pub const COMPROMISED: &str = "#b91c1c";
    pub const ACTION: &str = "#047857";
    /// One colour per campaign kind, in `CampaignKind` order.
    pub const KINDS: [&str; 5] = ["#7c3aed", "#2563eb", "#c2410c", "#0891b2", "#be185d"];
}

/// A linear time scale from `start` to `end` (seconds) onto pixels `x0..x1`.
#[derive(Clone, Copy, Debug)]
pub struct TimeAxis {
    pub start: i64,
    pub end: i64,
    pub x0: f64,
    pub x1: f64,
}

const STEPS: [i64; 16] = [
    60,
    300,
    900,
    1800,
    3600,
    3 * 3600,
    6 * 3600,
    12 * 3600,
    86_400,
    2 * 86_400,
    7 * 86_400,
    14 * 86_400,
    28 * 86_400,
    56 * 86_400,
    112 * 86_400,
    364 * 86_400,
];

impl TimeAxis {
    /// A scale covering `start..=end`, widened to at least a minute.
    pub fn new(start: Timestamp, end: Timestamp, x0: f64, x1: f64) -> Self {
        let (s, e) = (
            start.unix_secs(),
            end.unix_secs().max(start.unix_secs() + 60),
        );
        TimeAxis {
            start: s,
            end: e,
            x0,
            x1,
        }
    }
    pub fn x(&self, t: Timestamp) -> f64 {
        self.x_secs(t.unix_secs())
    }
    fn x_secs(&self, t: i64) -> f64 {
        let span = (self.end - self.start) as f64;
        self.x0 + (self.x1 - self.x0) * ((t - self.start) as f64 / span).clamp(0.0, 1.0)
    }
    /// Tick times (multiples of a round step, at most about `max` of them) and their labels.
    pub fn ticks(&self, max: i64) -> Vec<(i64, String)> {
        let span = self.end - self.start;
        let step = STEPS
            .iter()
            .copied()
            .find(|s| span / s <= max)
            .unwrap_or(span / max.max(1));
        let first =
            self.start.div_euclid(step) * step + if self.start % step == 0 { 0 } else { step };
        let mut out = Vec::new();
        let mut t = first;
        let mut last_day = None;
        while t <= self.end && out.len() < 64 {
            let dt = Timestamp::from_unix_secs(t).to_chrono();
            let day = t.div_euclid(86_400);
            let label = if step >= 86_400 {
                dt.format("%-d %b").to_string()
            } else if last_day != Some(day) {
                dt.format("%-d %b %H:%M").to_string()
            } else {
                dt.format("%H:%M").to_string()
            };
            last_day = Some(day);
            out.push((t, label));
            t += step;
        }
        out
    }
}

/// A round step for a value axis: 1, 2 or 5 × 10^k giving about `n` ticks up to `max`.
pub fn nice_step(max: f64, n: f64) -> f64 {
    if max <= 0.0 || !max.is_finite() {
        return 1.0;
    }
    let raw = max / n;
    let mag = 10f64.powf(raw.log10().floor());
    let f = raw / mag;
    let nice = if f <= 1.0 {
        1.0
    } else if f <= 2.0 {
        2.0
    } else if f <= 5.0 {
        5.0
    } else {
        10.0
    };
    (nice * mag).max(1.0)
}

fn short_count(v: f64) -> String {
    if v >= 1_000_000.0 {
        format!("{}M", trim_float(v / 1_000_000.0))
    } else if v >= 10_000.0 {
        format!("{}k", trim_float(v / 1000.0))
    } else {
        fmt::count(v.round() as u64)
    }
}

fn trim_float(v: f64) -> String {
    let s = format!("{v:.1}");
    s.trim_end_matches(".0").to_string()
}

fn open(out: &mut String, w: f64, h: f64, title: &str, desc: &str) {
    let _ = write!(
        out,
        r#"<svg class="chart" viewBox="0 0 {w} {h}" width="100%" role="img" xmlns="http://www.w3.org/2000/svg" font-family="inherit" font-size="12"><title>{}</title><desc>{}</desc>"#,
        html(title),
        html(desc)
    );
}

fn time_grid(out: &mut String, axis: &TimeAxis, top: f64, bottom: f64) {
    for (t, label) in axis.ticks(8) {
        let x = axis.x_secs(t);
        let _ = write!(
            out,
            r#"<line x1="{x:.1}" y1="{top}" x2="{x:.1}" y2="{bottom}" stroke="{}" /><text x="{x:.1}" y="{:.1}" text-anchor="middle" fill="{}">{}</text>"#,
            colour::GRID,
            bottom + 16.0,
            colour::MUTED,
            html(&label)
        );
    }
}

/// One row of the campaign timeline.
#[derive(Clone, Debug)]
pub struct GanttRow {
    pub label: String,
    pub colour: &'static str,
    pub first_seen: Timestamp,
    pub detected_at: Option<Timestamp>,
    pub last_seen: Timestamp,
    /// Points marked on the row (compromises, actions), with a tooltip.
    pub marks: Vec<(Timestamp, String)>,
    pub mark_colour: &'static str,
}

/// The campaign timeline: one bar per row from first seen to last seen, paler before detection,
/// a diamond at detection and dots for marks.
pub fn gantt(rows: &[GanttRow], start: Timestamp, end: Timestamp) -> String {
    let (w, left, right, top, row_h) = (920.0, 190.0, 20.0, 12.0, 30.0);
    let h = top + rows.len() as f64 * row_h + 30.0;
    let axis = TimeAxis::new(start, end, left, w - right);
    let mut out = String::new();
    open(
        &mut out,
        w,
        h,
        "Campaign timeline",
        "Each bar runs from a campaign's first attempt to its last; the pale part is before detection, the diamond marks detection, dots mark compromised accounts and actions.",
    );
    let bottom = top + rows.len() as f64 * row_h;
    time_grid(&mut out, &axis, top, bottom);
    for (i, r) in rows.iter().enumerate() {
        let y = top + i as f64 * row_h;
        let cy = y + row_h / 2.0;
        let _ = write!(
            out,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="end" fill="{}">{}</text>"#,
            left - 10.0,
            cy + 4.0,
            colour::INK,
            html(&r.label)
        );
        let (xa, xb) = (
            axis.x(r.first_seen),
            axis.x(r.last_seen).max(axis.x(r.first_seen) + 3.0),
        );
        let xd = r.detected_at.map(|d| axis.x(d).clamp(xa, xb)).unwrap_or(xa);
        let _ = write!(
            out,
            r#"<rect x="{xa:.1}" y="{:.1}" width="{:.1}" height="14" rx="3" fill="{}" fill-opacity="0.28"><title>{}</title></rect>"#,
            cy - 7.0,
            (xb - xa).max(3.0),
            r.colour,
            html(&format!(
                "{}: {} – {}",
                r.label,
                fmt::time(r.first_seen),
                fmt::time(r.last_seen)
            ))
        );
        if r.detected_at.is_some() && xb > xd {
            let _ = write!(
                out,
                r#"<rect x="{xd:.1}" y="{:.1}" width="{:.1}" height="14" rx="3" fill="{}" />"#,
                cy - 7.0,
                (xb - xd).max(2.0),
                r.colour
            );
        }
        let inside = |t: Timestamp| (axis.start..=axis.end).contains(&t.unix_secs());
        if let Some(d) = r.detected_at.filter(|d| inside(*d)) {
            let _ = write!(
                out,
                r#"<path d="M{xd:.1} {:.1} l6 8 l-6 8 l-6 -8 z" fill="{}" stroke="white" stroke-width="1"><title>{}</title></path>"#,
                cy - 8.0,
                colour::DETECTED,
                html(&format!("detected {}", fmt::time(d)))
            );
        }
        for (t, tip) in r.marks.iter().filter(|m| inside(m.0)) {
            let _ = write!(
                out,
                r#"<circle cx="{:.1}" cy="{cy:.1}" r="4.5" fill="{}" stroke="white" stroke-width="1.2"><title>{}</title></circle>"#,
                axis.x(*t),
                r.mark_colour,
                html(tip)
            );
        }
    }
    let _ = write!(
        out,
        r#"<line x1="{left}" y1="{bottom}" x2="{}" y2="{bottom}" stroke="{}" /></svg>"#,
        w - right,
        colour::MUTED
    );
    out
}

/// One bar of the attempts chart: counts in `[start, start + width)`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Series {
    pub start: Timestamp,
    pub width_secs: i64,
    /// Stacked from the bottom: e.g. failures from unfamiliar sources, other failures, successes.
    pub values: [f64; 3],
}

/// A stacked column chart over time; `names` and `colours` describe the three layers.
pub fn stacked_columns(
    bars: &[Series],
    names: [&str; 3],
    colours: [&str; 3],
    y_label: &str,
    markers: &[(Timestamp, String)],
) -> String {
    let (w, h, left, right, top, bottom) = (920.0, 260.0, 60.0, 20.0, 14.0, 226.0);
    let mut out = String::new();
    open(
        &mut out,
        w,
        h,
        "Attempts over time",
        &format!("{y_label}; layers: {}", names.join(", ")),
    );
    if bars.is_empty() {
        let _ = write!(
            out,
            r#"<text x="{}" y="{}" text-anchor="middle" fill="{}">No attempts to show.</text></svg>"#,
            w / 2.0,
            h / 2.0,
            colour::MUTED
        );
        return out;
    }
    let start = bars.iter().map(|b| b.start).min().unwrap_or_default();
    let end = bars
        .iter()
        .map(|b| b.start.plus_secs(b.width_secs))
        .max()
        .unwrap_or_default();
    let axis = TimeAxis::new(start, end, left, w - right);
    let max = bars
        .iter()
        .map(|b| b.values.iter().sum::<f64>())
        .fold(0.0, f64::max);
    let step = nice_step(max, 4.0);
    let top_value = (max / step).ceil().max(1.0) * step;
    let y = |v: f64| bottom - (bottom - top) * (v / top_value);
    let mut v = 0.0;
    while v <= top_value + 1e-9 {
        let _ = write!(
            out,
            r#"<line x1="{left}" y1="{:.1}" x2="{}" y2="{:.1}" stroke="{}" /><text x="{}" y="{:.1}" text-anchor="end" fill="{}">{}</text>"#,
            y(v),
            w - right,
            y(v),
            colour::GRID,
            left - 6.0,
            y(v) + 4.0,
            colour::MUTED,
            short_count(v)
        );
        v += step;
    }
    time_grid(&mut out, &axis, top, bottom);
    for b in bars {
        let xa = axis.x(b.start);
        let xb = axis.x(b.start.plus_secs(b.width_secs));
        let bw = (xb - xa - 0.6).max(0.8);
        let mut base = 0.0;
        for (k, val) in b.values.iter().enumerate() {
            if *val <= 0.0 {
                continue;
            }
            let _ = write!(
                out,
                r#"<rect x="{xa:.2}" y="{:.2}" width="{bw:.2}" height="{:.2}" fill="{}"><title>{}</title></rect>"#,
                y(base + val),
                (y(base) - y(base + val)).max(0.5),
                colours[k],
                html(&format!(
                    "{}: {} {}",
                    fmt::time(b.start),
                    short_count(*val),
                    names[k]
                ))
            );
            base += val;
        }
    }
    for (t, label) in markers {
        let x = axis.x(*t);
        let _ = write!(
            out,
            r#"<line x1="{x:.1}" y1="{top}" x2="{x:.1}" y2="{bottom}" stroke="{}" stroke-width="1.5" stroke-dasharray="4 3" /><text x="{:.1}" y="{:.1}" fill="{}" font-weight="600">{}</text>"#,
            colour::DETECTED,
            x + 4.0,
            top + 10.0,
            colour::DETECTED,
            html(label)
        );
    }
    let _ = write!(
        out,
        r#"<line x1="{left}" y1="{bottom}" x2="{}" y2="{bottom}" stroke="{}" /><text transform="translate(14 {:.1}) rotate(-90)" text-anchor="middle" fill="{}">{}</text></svg>"#,
        w - right,
        colour::MUTED,
        (top + bottom) / 2.0,
        colour::MUTED,
        html(y_label)
    );
    out
}

/// A single horizontal bar split into shares, with a legend under it.
pub fn share_bar(parts: &[(String, u64, &str)], title: &str) -> String {
    let total: u64 = parts.iter().map(|p| p.1).sum();
    let (w, h) = (920.0, 62.0);
    let mut out = String::new();
    open(&mut out, w, h, title, "Shares of the total, left to right.");
    if total == 0 {
        let _ = write!(
            out,
            r#"<text x="0" y="20" fill="{}">Nothing recorded.</text></svg>"#,
            colour::MUTED
        );
        return out;
    }
    let mut x = 0.0;
    for (name, n, c) in parts {
        let pw = w * (*n as f64) / total as f64;
        if pw <= 0.0 {
            continue;
        }
        let _ = write!(
            out,
            r#"<rect x="{x:.2}" y="0" width="{pw:.2}" height="22" fill="{c}"><title>{}</title></rect>"#,
            html(&format!("{name}: {}", fmt::count(*n)))
        );
        x += pw;
    }
    let mut lx = 0.0;
    for (name, n, c) in parts.iter().filter(|p| p.1 > 0) {
        let pct = 100.0 * *n as f64 / total as f64;
        let label = format!("{name} {} ({pct:.1} %)", fmt::count(*n));
        let _ = write!(
            out,
            r#"<rect x="{lx:.1}" y="36" width="11" height="11" rx="2" fill="{c}" /><text x="{:.1}" y="46" fill="{}">{}</text>"#,
            lx + 16.0,
            colour::INK,
            html(&label)
        );
        lx += 30.0 + 6.6 * label.chars().count() as f64;
    }
    out.push_str("</svg>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_round_and_bounded() {
        let s = Timestamp::parse_rfc3339("2017-06-23T00:07:00Z").unwrap();
        let axis = TimeAxis::new(s, s.plus_secs(10 * 3600), 0.0, 100.0);
        let ticks = axis.ticks(8);
        assert!(!ticks.is_empty() && ticks.len() <= 9, "{ticks:?}");
        assert!(ticks.iter().all(|(t, _)| t % 3600 == 0));
        assert_eq!(ticks[0].1, "23 Jun 03:00");
        assert_eq!(ticks[1].1, "06:00");
        let long = TimeAxis::new(s, s.plus_secs(60 * 86_400), 0.0, 100.0);
        assert!(long.ticks(8).iter().all(|(t, _)| t % 86_400 == 0));
    }

    #[test]
    fn nice_steps() {
        assert_eq!(nice_step(100.0, 4.0), 50.0);
        assert_eq!(nice_step(7.0, 4.0), 2.0);
        assert_eq!(nice_step(0.0, 4.0), 1.0);
        assert_eq!(nice_step(12_345.0, 4.0), 5000.0);
    }

    #[test]
    fn labels_in_charts_are_escaped() {
        let t = Timestamp::from_unix_secs(1_500_000_000);
        let svg = gantt(
            &[GanttRow {
                label: "<script>x</script>".into(),
                colour: colour::KINDS[0],
                first_seen: t,
                detected_at: Some(t.plus_secs(60)),
                last_seen: t.plus_secs(3600),
                marks: vec![(t.plus_secs(100), "<img src=x onerror=alert(1)>".into())],
                mark_colour: colour::COMPROMISED,
            }],
            t,
            t.plus_secs(3600),
        );
        assert!(!svg.contains("<script>") && !svg.contains("<img"));
        assert!(svg.contains("&lt;script&gt;"));
    }
}
