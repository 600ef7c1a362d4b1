//! `portcullis analyze`: logs in, a report out — in words on a terminal, or JSON (schema v1).
//!
//! Pipeline: [`crate::input`] (files, globs, rotated sets, gz/zst, stdin; format detection;
//! time-ordered merge) → [`crate::replay`] (the engine, as a live server would run it) → a
//! [`portcullis_core::report::Report`], rendered by [`crate::summary`] or as JSON.

use crate::{config, replay::Replay, summary};
use anyhow::{Context, Result};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutputFormat {
    /// A summary for people.
    Text,
    /// Report schema v1 (docs/report-schema.md).
    Json,
}

/// Arguments shared by the commands that read logs (`analyze`, `parse`).
#[derive(clap::Args, Debug)]
pub struct InputArgs {
    /// Log files, directories, globs, or `-` for stdin. `.gz` and `.zst` are read transparently;
    /// rotated sets (`mail.log`, `mail.log.1`, `mail.log.2.gz`) are read oldest first, and
    /// separate files are merged in time order.
    #[arg(required = true, value_name = "INPUT")]
    pub inputs: Vec<String>,
    /// Force a log format instead of detecting it per file: syslog (any of Dovecot, Postfix,
    /// sshd), dovecot, postfix, openssh, journald, windows, evtx, entra, entra-document, generic.
    #[arg(long, value_name = "FORMAT")]
    pub log_format: Option<String>,
    /// Year of the first line for BSD-syslog timestamps that carry none (default: guessed from
    /// each file's modification time; December → January turns are followed).
    #[arg(long)]
    pub year: Option<i32>,
    /// Configuration file (default: /etc/portcullis/portcullis.toml if it exists).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Print per-file formats and sample lines for each reason lines were skipped (stderr).
    #[arg(short, long)]
    pub verbose: bool,
    /// No progress bar (it is only ever drawn on a terminal).
    #[arg(long)]
    pub no_progress: bool,
}

#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:
  portcullis analyze /var/log/mail.log*                    rotated set, read oldest first
  portcullis analyze --format json -o report.json /var/log/mail.log /var/log/auth.log
  zcat old/*.gz | portcullis analyze -                      stdin
  portcullis analyze --log-format dovecot --year 2017 mail.log   force a format and a year
  portcullis analyze --verbose mail.log                    also show samples of skipped lines")]
pub struct Args {
    #[command(flatten)]
    pub input: InputArgs,
    /// Output: a human summary, or the JSON report.
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub format: OutputFormat,
    /// Write the report to FILE instead of standard output.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

pub fn run(args: Args) -> Result<ExitCode> {
    let a = &args.input;
    let (cfg, _) = config::load(a.config.as_deref())?;
    let opts = crate::input::options(a.log_format.as_deref(), a.year, &cfg.accounts, a.verbose)?;
    let mut input = crate::input::open(&a.inputs, &opts, !a.no_progress)?;
    let mut replay = Replay::new(cfg.engine.clone());
    for ev in input.events.by_ref() {
        replay.step(&ev);
    }
    let report = replay.finish(input.finish(a.verbose));
    let text = match args.format {
        OutputFormat::Json => {
            let mut s = serde_json::to_string_pretty(&report)?;
            s.push('\n');
            s
        }
        OutputFormat::Text => summary::render(&report),
    };
    write_out(args.output.as_deref(), text.as_bytes())?;
    Ok(ExitCode::SUCCESS)
}

/// Writes to the file, or to standard output (a closed pipe is not an error).
pub fn write_out(path: Option<&Path>, bytes: &[u8]) -> Result<()> {
    match path {
        Some(p) => {
            std::fs::write(p, bytes).with_context(|| format!("cannot write {}", p.display()))
        }
        None => {
            let mut out = std::io::stdout().lock();
            match out.write_all(bytes).and_then(|_| out.flush()) {
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
                r => r.context("cannot write to standard output"),
            }
        }
    }
}
