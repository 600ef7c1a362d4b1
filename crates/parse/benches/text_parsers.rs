//! Throughput of the text parsers, one criterion benchmark per parser, on synthetic lines in
//! the exact shapes of real logs (fail2ban / loghub samples), with varied users and addresses.
//! Figures: docs/bench/parse.md. Run: `cargo bench -p portcullis-parse --bench text_parsers`.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use portcullis_parse::detect::Format;
use portcullis_parse::{LineParser, ParseCtx};
use std::hint::black_box;
use std::io::Write;

mod textgen;
use textgen::*;

fn bench_format(c: &mut Criterion, name: &str, format: Format, lines: &[String]) {
    let mut g = c.benchmark_group("parse_line");
    g.throughput(Throughput::Elements(lines.len() as u64));
    g.bench_function(name, |b| {
        let ctx = ParseCtx {
            year: 2024,
            ..Default::default()
        };
        let mut out = Vec::with_capacity(16);
        b.iter(|| {
            let mut p: Box<dyn LineParser> = format.line_parser().unwrap();
            let mut n = 0usize;
            for l in lines {
                p.parse_line(black_box(l), &ctx, &mut out);
                n += out.len();
                out.clear();
            }
            black_box(n)
        })
    });
    g.finish();
}

fn parsers(c: &mut Criterion) {
    let n = 20_000;
    bench_format(c, "dovecot", Format::Syslog, &dovecot_lines(n));
    bench_format(
        c,
        "dovecot_auth_verbose",
        Format::Syslog,
        &dovecot_verbose_lines(n),
    );
    bench_format(c, "openssh", Format::Syslog, &openssh_lines(n));
    bench_format(c, "postfix", Format::Syslog, &postfix_lines(n));
    bench_format(c, "journald", Format::Journald, &journald_lines(n));
}

/// The whole input layer on a file: read, detect, parse, merge (what `analyze` consumes).
fn input_layer(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let lines = dovecot_lines(200_000);
    let path = dir.path().join("mail.log");
    let mut f = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    for l in &lines {
        writeln!(f, "{l}").unwrap();
    }
    drop(f);
    let p = path.to_string_lossy().to_string();
    let mut g = c.benchmark_group("input");
    g.throughput(Throughput::Elements(lines.len() as u64));
    g.sample_size(10);
    g.bench_function("dovecot_file", |b| {
        b.iter(|| {
            let opts = portcullis_parse::input::InputOptions {
                year: Some(2024),
                ..Default::default()
            };
            let s = portcullis_parse::input::open(&[p.as_str()], &opts).unwrap();
            black_box(s.count())
        })
    });
    g.finish();
}

criterion_group!(benches, parsers, input_layer);
criterion_main!(benches);
