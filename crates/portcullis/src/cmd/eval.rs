//! `portcullis eval`: scores a `portcullis analyze --format json` report against simulation
//! labels (detection delay, flagged-source precision/recall, benign and gateway false
//! positives, compromised accounts) and, with `--check`, fails when the issue-3 targets are
//! missed. A thin wrapper over `portcullis_sim::eval`.

use anyhow::Context;
use portcullis_core::report::Report;
use portcullis_sim::Labels;
use portcullis_sim::eval::{evaluate, render};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args, Debug)]
#[command(after_help = "\
Example:
  portcullis simulate --scenario parliament-2017 --out sim/
  portcullis analyze --format json sim/mail.log > report.json
  portcullis eval --labels sim/labels.json --check report.json

Exit codes: 0 scored (and, with --check, every target met); 1 a target missed (--check);
2 unreadable input.")]
pub struct Args {
    /// Ground truth written by `portcullis simulate` (DIR/labels.json).
    #[arg(long)]
    labels: PathBuf,
    /// Output: table (for people) or json (`portcullis.sim-eval/v1`).
    #[arg(long, default_value = "table", value_parser = ["table", "json"])]
    format: String,
    /// Exit with status 1 when a target is missed.
    #[arg(long)]
    check: bool,
    /// The report (`portcullis analyze --format json` output); `-` for stdin.
    report: PathBuf,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let labels_text = std::fs::read_to_string(&args.labels)
        .with_context(|| format!("reading labels {}", args.labels.display()))?;
    let labels: Labels = serde_json::from_str(&labels_text)
        .with_context(|| format!("{} is not simulation labels", args.labels.display()))?;
    let report_text = if args.report.as_os_str() == "-" {
        std::io::read_to_string(std::io::stdin()).context("reading the report from stdin")?
    } else {
        std::fs::read_to_string(&args.report)
            .with_context(|| format!("reading report {}", args.report.display()))?
    };
    let report: Report = serde_json::from_str(&report_text).with_context(|| {
        format!(
            "{} is not a portcullis report (portcullis analyze --format json)",
            args.report.display()
        )
    })?;
    let e = evaluate(&labels, &report);
    if args.format == "json" {
        println!("{}", serde_json::to_string_pretty(&e)?);
    } else {
        print!("{}", render(&e));
    }
    Ok(if args.check && !e.pass {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
