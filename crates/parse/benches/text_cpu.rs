//! Lines per CPU-second of each text parser, measured with the thread's own CPU time
//! (`/proc/thread-self/schedstat`), so that the figure means "one core" even on a loaded
//! machine where criterion's wall-clock numbers are inflated by waiting for a CPU.
//! Run: `cargo bench -p portcullis-parse --bench text_cpu`. Figures: docs/bench/parse.md.

mod textgen;

use portcullis_parse::detect::Format;
use portcullis_parse::{LineParser, ParseCtx};
use std::hint::black_box;
use std::time::Instant;
use textgen::*;

fn cpu_ns() -> u64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

fn measure(name: &str, format: Format, lines: &[String]) {
    let ctx = ParseCtx {
        year: 2024,
        ..Default::default()
    };
    let mut out = Vec::with_capacity(16);
    let (mut n, mut events) = (0u64, 0u64);
    let (c0, w0) = (cpu_ns(), Instant::now());
    while cpu_ns() - c0 < 2_000_000_000 {
        let mut p: Box<dyn LineParser> = format.line_parser().unwrap();
        for l in lines {
            p.parse_line(black_box(l), &ctx, &mut out);
            events += out.len() as u64;
            out.clear();
        }
        n += lines.len() as u64;
    }
    let cpu = (cpu_ns() - c0) as f64 / 1e9;
    let wall = w0.elapsed().as_secs_f64();
    println!(
        "{name:<24} {:>10.0} lines/CPU-s  {:>10.0} lines/wall-s  ({:.2} events/line)",
        n as f64 / cpu,
        n as f64 / wall,
        events as f64 / n as f64
    );
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let n = 20_000;
    measure("dovecot", Format::Syslog, &dovecot_lines(n));
    measure(
        "dovecot_auth_verbose",
        Format::Syslog,
        &dovecot_verbose_lines(n),
    );
    let skipped: Vec<String> = dovecot_lines(n)
        .into_iter()
        .enumerate()
        .filter_map(|(i, l)| (i % 4 >= 2).then_some(l))
        .collect();
    measure("dovecot_non_attempts", Format::Syslog, &skipped);
    let failed: Vec<String> = dovecot_lines(n).into_iter().step_by(4).collect();
    measure("dovecot_auth_failed", Format::Syslog, &failed);
    measure("openssh", Format::Syslog, &openssh_lines(n));
    measure("postfix", Format::Syslog, &postfix_lines(n));
    measure("journald", Format::Journald, &journald_lines(n));
}
