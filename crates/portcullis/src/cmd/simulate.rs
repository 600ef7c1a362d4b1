//! `portcullis simulate`: realistic login traffic with an attack scenario, in real log
//! formats, plus ground-truth labels (see docs/simulation.md). A thin wrapper over
//! `portcullis_sim::simulate`.

use anyhow::Context;
use portcullis_core::Timestamp;
use portcullis_sim::{AuthLines, DovecotVersion, Format, Scenario, SimConfig};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args, Debug)]
#[command(after_help = "\
Scenarios (default accounts, days): parliament-2017 (9,000, 28); rotate-every-attempt,
ipv6-rotation and credential-stuffing (5,000, 7 each); brute-force (1,000, 7); benign (5,000,
28, no attack). See docs/simulation.md.

Writes DIR/mail.log (or events.jsonl, auth.log, security.jsonl), DIR/labels.json and
DIR/README. Then:
  portcullis analyze --format json DIR/mail.log > report.json
  portcullis eval --labels DIR/labels.json report.json")]
pub struct Args {
    /// Scenario name.
    #[arg(long, default_value = "parliament-2017")]
    scenario: String,
    /// Number of accounts (100 to 100,000); default depends on the scenario.
    #[arg(long)]
    accounts: Option<usize>,
    /// Random seed: the same seed gives byte-identical output.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Days simulated; default depends on the scenario.
    #[arg(long)]
    days: Option<u32>,
    /// First simulated instant, RFC 3339 or a date (UTC); default 2017-05-29 (a Monday).
    #[arg(long)]
    start: Option<String>,
    /// Log format: dovecot (mail.log), jsonl (events.jsonl, portcullis.event/v1), openssh
    /// (auth.log, sshd password logins) or windows (security.jsonl, 4624/4625 as NXLog JSON);
    /// openssh and windows name accounts without the domain.
    #[arg(long, default_value = "dovecot")]
    format: String,
    /// Dovecot auth-process lines with failures: none (login lines only, Dovecot's default
    /// logging), plain (`auth_verbose=yes`) or sha1 (with `SHA1 of given password`).
    #[arg(long, default_value = "none")]
    auth_lines: String,
    /// Dovecot release whose log wording the dovecot format writes: 2.3 (`Login:`,
    /// `Disconnected (auth failed …)`) or 2.4 (`Logged in:`, `Login aborted: …`,
    /// `auth(user,ip,sasl:plain)<session>: …`).
    #[arg(long, default_value = "2.3")]
    dovecot: String,
    /// Mail domain of the accounts.
    #[arg(long, default_value = "example.org")]
    domain: String,
    /// Syslog host name of the mail server.
    #[arg(long, default_value = "mail1")]
    host: String,
    /// Output directory (created if missing).
    #[arg(long)]
    out: PathBuf,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let scenario: Scenario = args.scenario.parse().map_err(anyhow::Error::msg)?;
    let mut cfg = SimConfig::new(scenario);
    if let Some(n) = args.accounts {
        cfg.accounts = n;
    }
    if let Some(d) = args.days {
        cfg.days = d;
    }
    cfg.seed = args.seed;
    if let Some(s) = &args.start {
        let full = if s.len() == 10 {
            format!("{s}T00:00:00Z")
        } else {
            s.clone()
        };
        cfg.start = Timestamp::parse_rfc3339(&full)
            .with_context(|| format!("--start {s:?} is not a date or RFC 3339 time"))?;
    }
    cfg.format = args.format.parse::<Format>().map_err(anyhow::Error::msg)?;
    cfg.auth_lines = args
        .auth_lines
        .parse::<AuthLines>()
        .map_err(anyhow::Error::msg)?;
    cfg.dovecot = args
        .dovecot
        .parse::<DovecotVersion>()
        .map_err(anyhow::Error::msg)?;
    cfg.domain = args.domain;
    cfg.host = args.host;
    let (labels, _stats) = portcullis_sim::simulate(&cfg, &args.out)?;
    let c = &labels.counts;
    eprintln!(
        "{}: {} accounts, {} days, {} lines ({} attempts: {} benign, {} attack, {} attack successes) in {}",
        labels.scenario,
        labels.accounts,
        labels.days,
        c.lines,
        c.attempts,
        c.benign_attempts,
        c.attack_attempts,
        c.attack_successes,
        args.out.display()
    );
    if let Some(a) = &labels.attack {
        eprintln!(
            "attack: {} addresses, main phase {} .. {}, {} accounts compromised",
            a.sources.len(),
            a.main_start
                .map(|t| t.to_string())
                .unwrap_or_else(|| "-".into()),
            a.main_end
                .map(|t| t.to_string())
                .unwrap_or_else(|| "-".into()),
            a.compromised.len()
        );
    }
    Ok(ExitCode::SUCCESS)
}
