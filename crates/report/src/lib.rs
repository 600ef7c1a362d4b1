//! Sinks for people: the self-contained HTML incident report ([`incident`]), indicator exports
//! as CSV ([`indicators`]) and STIX 2.1 ([`stix`]), and the dashboard's embedded web assets
//! ([`dashboard`]).
//!
//! Everything here reads the report schema v1 ([`portcullis_core::report::Report`]) and writes
//! text; only [`write_incident_bundle`] touches the file system.

pub mod actions;
pub mod dashboard;
pub mod dashboard_api;
pub mod escape;
pub mod fmt;
pub mod geo;
pub mod incident;
pub mod indicators;
pub mod sample;
pub mod stix;
pub mod svg;

use portcullis_core::report::Report;
use std::path::{Path, PathBuf};

/// File names written by [`write_incident_bundle`].
pub const HTML_FILE: &str = "incident-report.html";
pub const CSV_FILE: &str = "indicators.csv";
pub const STIX_FILE: &str = "indicators.stix.json";

/// What [`write_incident_bundle`] wrote.
#[derive(Debug, Clone)]
pub struct Written {
    pub html: PathBuf,
    pub csv: PathBuf,
    pub stix: PathBuf,
    pub indicators: usize,
}

/// Renders the report and writes `incident-report.html`, `indicators.csv` and
/// `indicators.stix.json` into `dir` (created if missing).
pub fn write_incident_bundle(
    dir: &Path,
    report: &Report,
    opts: &incident::Options<'_>,
    producer: &stix::Producer,
) -> std::io::Result<Written> {
    std::fs::create_dir_all(dir)?;
    let inds = indicators::collect(report);
    let html = incident::render(report, &inds, opts);
    let csv = indicators::to_csv(&inds);
    let bundle = stix::bundle(report, &inds, producer);
    let written = Written {
        html: dir.join(HTML_FILE),
        csv: dir.join(CSV_FILE),
        stix: dir.join(STIX_FILE),
        indicators: inds.len(),
    };
    std::fs::write(&written.html, html)?;
    std::fs::write(&written.csv, csv)?;
    let mut json = serde_json::to_string_pretty(&bundle).map_err(std::io::Error::other)?;
    json.push('\n');
    std::fs::write(&written.stix, json)?;
    Ok(written)
}
