//! Throughput of the structured parsers on real lines (lines or records per second).
//!
//! Data: shared/data/real (EVTX-to-MITRE CC0, OTRF Security-Datasets MIT, CrowdSec hub MIT,
//! Panther analysis Apache-2.0). Run: `cargo bench -p portcullis-parse --bench structured`.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use portcullis_core::event::EventRecord;
use portcullis_parse::{ParseCtx, entra, generic, windows};
use std::hint::black_box;
use std::path::PathBuf;

fn data(rel: &str) -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/data/real/"
    ))
    .join(rel)
}

fn lines(rel: &str) -> Vec<String> {
    std::fs::read_to_string(data(rel))
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

type LineFn =
    fn(&str, &ParseCtx, &mut Vec<portcullis_core::AuthEvent>) -> portcullis_parse::LineResult;

fn bench_lines(c: &mut Criterion, name: &str, input: &[String], f: LineFn) {
    let ctx = ParseCtx::default();
    let mut g = c.benchmark_group("structured");
    g.throughput(Throughput::Elements(input.len() as u64));
    g.bench_function(name, |b| {
        let mut out = Vec::with_capacity(input.len());
        b.iter(|| {
            out.clear();
            for l in input {
                black_box(f(l, &ctx, &mut out));
            }
            black_box(out.len())
        })
    });
    g.finish();
}

fn structured(c: &mut Criterion) {
    bench_lines(
        c,
        "windows_nxlog_lines",
        &lines("otrf-purplesharp/purplesharp_ad_playbook_I_security_auth_only.jsonl"),
        windows::parse_line,
    );
    bench_lines(
        c,
        "windows_nxlog_lines_general_path",
        &lines("otrf-purplesharp/purplesharp_ad_playbook_I_security_auth_only.jsonl"),
        windows::parse_line_general,
    );
    bench_lines(
        c,
        "windows_evtx_json_lines",
        &lines(
            "windows-evtx-to-mitre/ID4768-4771-Kerberos-brutforce-with-non-existing-users.jsonl",
        ),
        windows::parse_line,
    );
    bench_lines(
        c,
        "windows_xml_lines",
        &lines("crowdsec-hub-tests/windows-bf/windows-bf.log"),
        windows::parse_line,
    );

    let panther: Vec<serde_json::Value> =
        lines("panther-analysis-tests/labelled_test_events.jsonl")
            .iter()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["log"].clone())
            .collect();
    let entra_lines: Vec<String> = panther
        .iter()
        .filter(|v| entra::looks_like(&v.to_string()))
        .map(|v| v.to_string())
        .collect();
    bench_lines(c, "entra_lines", &entra_lines, entra::parse_line);

    // Generic lines: the Windows events of the NXLog sample as portcullis prints them.
    let mut evs = Vec::new();
    for l in lines("otrf-purplesharp/purplesharp_ad_playbook_I_security_auth_only.jsonl") {
        windows::parse_line(&l, &ParseCtx::default(), &mut evs);
    }
    let generic_lines: Vec<String> = evs
        .iter()
        .map(|e| serde_json::to_string(&EventRecord::from_event(e)).unwrap())
        .collect();
    bench_lines(c, "generic_lines", &generic_lines, generic::parse_line);

    let evtx = data(
        "windows-evtx-to-mitre/ID33205-SQL-Server-failed-login-with-non-existing-accounts.evtx",
    );
    let mut g = c.benchmark_group("structured");
    g.throughput(Throughput::Elements(72));
    g.bench_function("windows_read_evtx_records", |b| {
        b.iter(|| {
            let mut n = 0u64;
            windows::read_evtx(&evtx, &ParseCtx::default(), &mut |_| n += 1).unwrap();
            black_box(n)
        })
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20).measurement_time(std::time::Duration::from_secs(3));
    targets = structured
}
criterion_main!(benches);
