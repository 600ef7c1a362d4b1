//! `portcullis report`: turns an `analyze --format json` result, or the live view of a running
//! `portcullis serve` (`--server`, through its admin API), into a self-contained HTML incident
//! report plus indicator exports (CSV and a STIX 2.1 bundle) for a national CERT.

use anyhow::{Context, bail};
use portcullis_core::report::{Campaign, Report, SCHEMA_V1};
use portcullis_report::{actions, geo, incident, sample, stix};
use portcullis_server::client::AdminClient;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:
  portcullis analyze --format json /var/log/mail.log* > report.json
  portcullis report --input report.json --out incident/ --title 'Example Ltd: June spray'
  portcullis report --input report.json --actions audit.json --org 'Example Ltd' --out incident/
  portcullis report --input report.json --geoip GeoLite2-Country.mmdb --geoip GeoLite2-ASN.mmdb --out incident/
  portcullis report --server http://127.0.0.1:8301 --out incident/     from the live service
  portcullis report --demo --out /tmp/demo     a realistic synthetic incident")]
pub struct Args {
    /// The report: output of `portcullis analyze --format json` (`-` for standard input).
    #[arg(long, short, required_unless_present_any = ["demo", "server"])]
    pub input: Option<PathBuf>,
    /// Read the live view of a running `portcullis serve` from its admin API instead
    /// (e.g. http://127.0.0.1:8301): campaigns, findings, attempts since its start, and its
    /// audit log as the actions taken (unless --actions is given).
    #[arg(long, value_name = "URL", conflicts_with_all = ["input", "demo"])]
    pub server: Option<String>,
    /// Admin token for --server (default: $PORTCULLIS_ADMIN_TOKEN, then the one `serve`
    /// generated in <data-dir>/credentials.toml).
    #[arg(long, requires = "server")]
    pub token: Option<String>,
    /// The server's data directory, where `serve` keeps credentials.toml (for --server).
    #[arg(
        long,
        value_name = "DIR",
        requires = "server",
        default_value = "/var/lib/portcullis"
    )]
    pub data_dir: PathBuf,
    /// PEM certificate(s) to trust for an https --server instead of the public roots (a
    /// private CA or the server's self-signed certificate; default: $PORTCULLIS_CA_CERT).
    #[arg(long, value_name = "FILE", requires = "server")]
    pub ca_cert: Option<PathBuf>,
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
    } else if let Some(url) = &args.server {
        let token = admin_token(args.token.clone(), &args.data_dir)?;
        let ca = args
            .ca_cert
            .clone()
            .or_else(|| std::env::var_os("PORTCULLIS_CA_CERT").map(PathBuf::from));
        let live = from_server(url, &token, ca.as_deref())?;
        let opts = incident::Options {
            actions: live.actions.actions,
            actions_rejected: live.actions.rejected,
            audit_source: Some(format!("{}/v1/audit", url.trim_end_matches('/'))),
            // A live view is a snapshot: say when it was taken.
            generated_at: Some(portcullis_server::now()),
            ..incident::Options::default()
        };
        (live.report, opts)
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
        opts.audit_source = Some(path.display().to_string());
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

/// The admin token for `--server`: `--token`, else `PORTCULLIS_ADMIN_TOKEN`, else the token
/// `serve` generated on its first run in `<data_dir>/credentials.toml`.
fn admin_token(given: Option<String>, data_dir: &Path) -> anyhow::Result<String> {
    if let Some(t) = given
        .or_else(|| std::env::var("PORTCULLIS_ADMIN_TOKEN").ok())
        .filter(|t| !t.trim().is_empty())
    {
        return Ok(t);
    }
    let mut cfg = portcullis_server::ServerConfig {
        data_dir: data_dir.to_path_buf(),
        admin_token: String::new(),
        ..portcullis_server::ServerConfig::default()
    };
    crate::credentials::fill_admin_token(&mut cfg);
    if cfg.admin_token.is_empty() {
        bail!(
            "no admin token: give --token, set PORTCULLIS_ADMIN_TOKEN, or --data-dir where \
             `portcullis serve` keeps credentials.toml (cannot read {})",
            data_dir.join(crate::credentials::FILE).display()
        );
    }
    Ok(cfg.admin_token)
}

/// What the live service says: its report and its audit log.
struct Live {
    report: Report,
    actions: actions::AuditLog,
}

/// Reads the live view from a running server's admin API: `GET /v1/report` (the engine's
/// report with the attempts observed since start-up), the stored campaigns the engine no
/// longer holds (`GET /v1/campaigns`, e.g. from before a restart), and the audit log.
fn from_server(url: &str, token: &str, ca: Option<&Path>) -> anyhow::Result<Live> {
    let client = match ca {
        Some(ca) => AdminClient::with_ca_file(url, token, ca)
            .map_err(|e| anyhow::anyhow!("--ca-cert {e}"))?,
        None => AdminClient::new(url, token),
    };
    let value = client
        .get("/v1/report")
        .with_context(|| format!("reading the live report from {url}"))?;
    let schema = value.get("schema").and_then(|s| s.as_str()).unwrap_or("");
    if schema != SCHEMA_V1 {
        bail!("{url} answered a report with schema {schema:?}; this version reads {SCHEMA_V1:?}");
    }
    let mut report: Report = serde_json::from_value(value)
        .with_context(|| format!("{url} answered an invalid report v1"))?;
    let stored: Vec<Campaign> = serde_json::from_value(
        client
            .get("/v1/campaigns?limit=10000")
            .with_context(|| format!("reading the stored campaigns from {url}"))?,
    )
    .with_context(|| format!("{url} answered an invalid campaign list"))?;
    for c in stored {
        if !report.campaigns.iter().any(|x| x.id == c.id) {
            report.campaigns.push(c);
        }
    }
    let audit = client
        .get("/v1/audit?limit=10000")
        .with_context(|| format!("reading the audit log from {url}"))?;
    let actions = actions::parse_audit_log(&audit.to_string()).map_err(anyhow::Error::msg)?;
    Ok(Live { report, actions })
}
