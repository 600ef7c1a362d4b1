//! `portcullis parse`: the login attempts found in logs, as JSON lines in the generic schema
//! (`portcullis.event/v1`, docs/event-schema.md). Shows an admin how portcullis reads their
//! logs; the output can be fed back in (`--log-format generic`).

use crate::cmd::analyze::InputArgs;
use anyhow::{Context, Result};
use portcullis_core::event::EventRecord;
use std::io::{BufWriter, Write};
use std::process::ExitCode;

#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:
  portcullis parse /var/log/mail.log | head
  portcullis parse --verbose Security.evtx > events.jsonl
  portcullis parse events.jsonl | portcullis analyze -     the output reads back in")]
pub struct Args {
    #[command(flatten)]
    pub input: InputArgs,
}

pub fn run(args: Args) -> Result<ExitCode> {
    let a = &args.input;
    let (cfg, _) = crate::config::load(a.config.as_deref())?;
    let opts = crate::input::options(a.log_format.as_deref(), a.year, &cfg.accounts, a.verbose)?;
    let mut input = crate::input::open(&a.inputs, &opts, !a.no_progress)?;
    let mut out = BufWriter::with_capacity(1 << 16, std::io::stdout().lock());
    let mut line = Vec::with_capacity(256);
    for ev in input.events.by_ref() {
        line.clear();
        serde_json::to_writer(&mut line, &EventRecord::from_event(&ev))?;
        line.push(b'\n');
        if let Err(e) = out.write_all(&line) {
            if e.kind() == std::io::ErrorKind::BrokenPipe {
                return Ok(ExitCode::SUCCESS);
            }
            return Err(e).context("cannot write to standard output");
        }
    }
    match out.flush() {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            return Err(e).context("cannot write to standard output");
        }
        _ => {}
    }
    let summary = input.finish(a.verbose);
    eprintln!(
        "portcullis: {} lines, {} login attempts, {} skipped{}",
        summary.lines,
        summary.events,
        summary.skipped,
        crate::summary::accounting_note(&summary)
    );
    Ok(ExitCode::SUCCESS)
}
