//! `portcullis report`: turns an `analyze --format json` result into a self-contained HTML
//! incident report plus indicator exports (CSV and a STIX 2.1 bundle) for a national CERT.

use anyhow::{Context, bail};
use portcullis_core::report::{Report, SCHEMA_V1};
use portcullis_report::{actions, geo, incident, sample, stix};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:
  portcullis analyze --format json /var/log/mail.log* > report.json
  portcullis report --input report.json --out incident/ --title 'Example Ltd: June spray'
  portcullis report --input report.json --actions audit.json --org 'Example Ltd' --out incident/
  portcullis report --input report.json --geoip GeoLite2-Country.mmdb --geoip GeoLite2-ASN.mmdb --out incident/
  portcullis report --demo --out /tmp/demo     a realistic synthetic incident")]
pub struct Args {
    /// The report: output of `portcullis analyze --format json` (`-` for standard input).
    #[arg(long, short, required_unless_present = "demo")]
    pub input: Option<PathBuf>,
    /// Directory to write incident-report.html, indicators.csv and indicators.stix.json into.
    #[arg(long, short)]
    pub out: PathBuf,
    /// Audit log of actions taken (JSON list or JSON lines of admin actions), shown in the report.
    #[arg(long)]
    pub actions: Option<PathBuf>,
    /// Heading of the HTML report (e.g. the organisation and incident name).
    #[arg(long)]
    pub title: Option<String>,
    /// Organisation named as the producer of the STIX bundle (default: portcullis as a system).
    #[arg(long)]
    pub org: Option<String>,
    /// MaxMind-format database(s) for AS and country of sources (GeoLite2/GeoIP2 Country, City
    /// or ASN); repeat to combine, e.g. one for countries and one for ASNs.
    #[arg(long, value_name = "MMDB")]
    pub geoip: Vec<PathBuf>,
    /// Rows shown per table in the HTML (the exports always hold everything).
    #[arg(long, default_value_t = 200)]
    pub max_rows: usize,
    /// Use a built-in synthetic incident (Parliament-2017-like) instead of --input.
    #[arg(long, conflicts_with = "input")]
    pub demo: bool,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let geoip = if args.geoip.is_empty() {
        None
    } else {
        Some(geo::MaxMind::open(&args.geoip).map_err(anyhow::Error::msg)?)
    };
    let (report, mut opts) = if args.demo {
        let opts = incident::Options {
            actions: sample::parliament_like_actions(),
            ..incident::Options::default()
        };
        (sample::parliament_like(), opts)
    } else {
        let path = args.input.as_ref().context("--input is required")?;
        let text = if path.as_os_str() == "-" {
            std::io::read_to_string(std::io::stdin()).context("reading standard input")?
        } else {
            std::fs::read_to_string(path)
                .with_context(|| format!("reading the report {}", path.display()))?
        };
        let value: serde_json::Value = serde_json::from_str(&text).with_context(|| {
            format!(
                "{} is not JSON; expected the output of `portcullis analyze --format json`",
                path.display()
            )
        })?;
        let schema = value.get("schema").and_then(|s| s.as_str()).unwrap_or("");
        if schema != SCHEMA_V1 {
            bail!(
                "{} has schema {schema:?}; this version reads {SCHEMA_V1:?} (the output of `portcullis analyze --format json`)",
                path.display()
            );
        }
        let report: Report = serde_json::from_value(value)
            .with_context(|| format!("{} is not a valid report v1", path.display()))?;
        (report, incident::Options::default())
    };
    opts.title = args.title;
    opts.max_rows = args.max_rows.max(1);
    if let Some(path) = &args.actions {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading the audit log {}", path.display()))?;
        let log = actions::parse_audit_log(&text)
            .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        let rejected: u64 = log.rejected.values().sum();
        if rejected > 0 {
            eprintln!(
                "portcullis: warning: {rejected} audit-log entries could not be read: {:?}",
                log.rejected
            );
        }
        opts.actions = log.actions;
        opts.actions_rejected = log.rejected;
    }
    opts.geo = geoip.as_ref().map(|g| g as &dyn geo::GeoLookup);
    let producer = stix::Producer {
        organisation: args.org,
    };
    let written = portcullis_report::write_incident_bundle(&args.out, &report, &opts, &producer)
        .with_context(|| format!("writing into {}", args.out.display()))?;
    println!("wrote {}", written.html.display());
    println!(
        "wrote {} ({} indicators)",
        written.csv.display(),
        written.indicators
    );
    println!("wrote {}", written.stix.display());
    Ok(ExitCode::SUCCESS)
}
