//! The CLI's side of reading logs: `portcullis_parse::input` plus a progress bar on a terminal,
//! warnings on standard error, and `--verbose` samples.

use anyhow::{Result, anyhow};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use portcullis_core::NormalizeOptions;
use portcullis_core::report::InputSummary;
use portcullis_parse::detect::Format;
use portcullis_parse::input::{self as parse_input, EventStream, InputOptions};
use std::sync::Arc;

/// Samples printed per skip reason under `--verbose`.
const SAMPLES: usize = 3;

/// Options from the command line: a forced format (by name), a year, the account normalisation.
pub fn options(
    format: Option<&str>,
    year: Option<i32>,
    normalize: &NormalizeOptions,
    verbose: bool,
) -> Result<InputOptions> {
    let format = match format {
        None => None,
        Some(name) => Some(Format::from_name(name).ok_or_else(|| {
            let known: Vec<&str> = Format::ALL.iter().map(|f| f.name()).collect();
            anyhow!("unknown log format {name:?}; known: {}", known.join(", "))
        })?),
    };
    Ok(InputOptions {
        format,
        year,
        normalize: normalize.clone(),
        samples_per_reason: if verbose { SAMPLES } else { 0 },
        progress: None,
    })
}

/// An open input with its progress bar (hidden when standard error is not a terminal).
pub struct Input {
    pub events: EventStream,
    bar: ProgressBar,
}

/// Opens the inputs; every path that cannot be opened is an error that names it.
pub fn open(paths: &[String], opts: &InputOptions, progress: bool) -> Result<Input> {
    let bar = if progress {
        ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr())
    } else {
        ProgressBar::hidden()
    };
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} {bytes}/{total_bytes} {bar:30} {binary_bytes_per_sec} eta {eta}",
        )
        .expect("static template"),
    );
    let mut opts = opts.clone();
    let b = bar.clone();
    opts.progress = Some(Arc::new(move |done, total| {
        if total > 0 {
            b.set_length(total);
        }
        b.set_position(done);
    }));
    let events = parse_input::open(paths, &opts)?;
    Ok(Input { events, bar })
}

impl Input {
    /// After the stream is exhausted: the report's input summary. Prints warnings (truncated
    /// archives, read errors) and, when asked, sample skipped lines to standard error.
    pub fn finish(self, verbose: bool) -> InputSummary {
        self.bar.finish_and_clear();
        let stats = self.events.stats();
        for w in &stats.warnings {
            eprintln!("portcullis: warning: {w}");
        }
        if verbose {
            for f in &stats.files {
                let fmt = f.format.map(|f| f.name()).unwrap_or("unrecognised");
                eprintln!(
                    "portcullis: {}: {fmt} ({}), {} lines, {} events",
                    f.path, f.detail, f.lines, f.events
                );
            }
            for (reason, samples) in &stats.samples {
                let n = stats.skipped_by_reason.get(reason).copied().unwrap_or(0);
                eprintln!("portcullis: skipped {n} line(s) as {reason}, e.g.:");
                for s in samples {
                    eprintln!("    {s}");
                }
            }
        }
        stats.summary()
    }
}
