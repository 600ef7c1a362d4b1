//! Nothing silently disappears, through the real binary, on every file of `../shared/data/real`:
//! - `portcullis analyze` accounts for every line: `lines + extra_events = events + absorbed +
//!   skipped`, whatever the file is (logs, Windows event logs, and the test suites' YAML and
//!   assertion files, which are read as unknown formats and skipped);
//! - `portcullis parse` on each `.evtx` file gives exactly the events of its JSON twin (the
//!   same records exported by another tool), and its summary line counts them.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_portcullis"))
}

fn real() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/real")
}

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            files(&p, out);
        } else {
            out.push(p);
        }
    }
}

#[test]
fn every_line_of_every_real_file_is_accounted_for() {
    let mut all = Vec::new();
    files(&real(), &mut all);
    all.sort();
    assert!(
        all.len() >= 100,
        "the real data set is there: {}",
        all.len()
    );
    let mut with_events = 0;
    for f in &all {
        let out = bin()
            .args(["analyze", "--format", "json"])
            .arg(f)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}: {}",
            f.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        let r: Value = serde_json::from_slice(&out.stdout).unwrap();
        let n = |k: &str| r["input"][k].as_u64().unwrap_or_else(|| panic!("{k}: {r}"));
        assert_eq!(
            n("lines") + n("extra_events"),
            n("events") + n("absorbed") + n("skipped"),
            "{}: {}",
            f.display(),
            r["input"]
        );
        let by_reason: u64 = r["input"]["skipped_by_reason"]
            .as_object()
            .unwrap()
            .values()
            .map(|v| v.as_u64().unwrap())
            .sum();
        assert_eq!(by_reason, n("skipped"), "{}", f.display());
        with_events += usize::from(n("events") > 0);
    }
    // 47 files gave login attempts on 2026-12-05 (the others: the suites' YAML and assertion
    // files, SQL Server events, and services portcullis does not read, such as Courier or
    // Domino); a parser that stopped reading a format would bring the count down.
    assert!(with_events >= 47, "{with_events} files gave events");
}

/// The events of `parse`, without the field that names the file and line they came from, and
/// the summary line `parse` writes to stderr.
fn parsed(path: &Path) -> (Vec<Value>, String) {
    let out = bin().arg("parse").arg(path).output().unwrap();
    assert!(out.status.success(), "{}", path.display());
    let events = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| {
            let mut v: Value = serde_json::from_str(l).unwrap();
            v.as_object_mut().unwrap().remove("origin");
            v
        })
        .collect();
    (events, String::from_utf8(out.stderr).unwrap())
}

#[test]
fn evtx_files_give_the_events_of_their_json_twins() {
    let dir = real().join("windows-evtx-to-mitre");
    let mut evtx: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "evtx"))
        .collect();
    evtx.sort();
    assert!(evtx.len() >= 10, "{}", evtx.len());
    let mut total = 0;
    for p in &evtx {
        let twin = p.with_extension("jsonl");
        let (from_evtx, summary) = parsed(p);
        let (from_json, _) = parsed(&twin);
        assert_eq!(from_evtx, from_json, "{}", p.display());
        assert!(
            summary.contains(&format!("{} login attempts", from_evtx.len())),
            "{}: {summary}",
            p.display()
        );
        total += from_evtx.len();
    }
    assert!(total > 0, "the samples hold login attempts");
}
