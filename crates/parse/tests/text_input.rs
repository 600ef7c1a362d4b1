//! The input layer on files made here: rotated sets with .gz/.zst read oldest first with the
//! year turning over, time-ordered merge of independent files, truncated gzip, unreadable and
//! missing paths, globs, capped long lines, skip samples and progress.

use portcullis_core::Outcome;
use portcullis_parse::detect::Format;
use portcullis_parse::input::{InputOptions, open};
use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

fn gz(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

fn login(mon_day_time: &str, ip: &str, user: &str) -> String {
    format!(
        "{mon_day_time} mx dovecot: imap-login: Disconnected (auth failed, 1 attempts in 2 secs): user=<{user}>, method=PLAIN, rip={ip}, lip=10.0.0.1, TLS\n"
    )
}

fn write(dir: &Path, name: &str, data: &[u8]) -> String {
    let p = dir.join(name);
    std::fs::write(&p, data).unwrap();
    p.to_string_lossy().to_string()
}

#[test]
fn rotated_set_is_read_oldest_first_across_new_year() {
    let d = tempfile::tempdir().unwrap();
    let oldest =
        login("Dec 30 10:00:00", "192.0.2.1", "a") + &login("Dec 31 23:59:59", "192.0.2.2", "b");
    let middle = login("Jan  1 00:00:01", "192.0.2.3", "c");
    let newest = login("Jan  2 08:00:00", "192.0.2.4", "d");
    write(d.path(), "mail.log.2.gz", &gz(oldest.as_bytes()));
    write(
        d.path(),
        "mail.log.1.zst",
        &zstd::encode_all(middle.as_bytes(), 3).unwrap(),
    );
    write(d.path(), "mail.log", newest.as_bytes());
    let mut s = open(
        &[d.path().to_str().unwrap()],
        &InputOptions {
            year: Some(2023),
            ..Default::default()
        },
    )
    .unwrap();
    let ev: Vec<_> = s.by_ref().collect();
    let times: Vec<String> = ev.iter().map(|e| e.ts.to_rfc3339()).collect();
    assert_eq!(
        times,
        [
            "2023-12-30T10:00:00Z",
            "2023-12-31T23:59:59Z",
            "2024-01-01T00:00:01Z",
            "2024-01-02T08:00:00Z"
        ]
    );
    let st = s.stats();
    assert_eq!(st.files.len(), 3);
    assert!(st.files[0].path.ends_with("mail.log.2.gz"));
    assert!(st.files[2].path.ends_with("mail.log"));
    assert_eq!(st.files[0].format, Some(Format::Syslog));
    assert_eq!(st.lines, 4);
    assert_eq!(st.events_by_outcome[&Outcome::BadPassword], 4);
    assert_eq!(ev[0].origin.line, 1);
    assert!(
        ev[0]
            .origin
            .file
            .as_deref()
            .unwrap()
            .ends_with("mail.log.2.gz")
    );
}

#[test]
fn independent_files_are_merged_in_time_order() {
    let d = tempfile::tempdir().unwrap();
    let a =
        login("Jun  1 10:00:00", "192.0.2.1", "a") + &login("Jun  1 10:00:02", "192.0.2.1", "a");
    let b = "Jun  1 10:00:01 h sshd[1]: Failed password for root from 198.51.100.1 port 22 ssh2\n\
             Jun  1 10:00:03 h sshd[1]: Accepted password for root from 198.51.100.1 port 22 ssh2\n";
    let pa = write(d.path(), "dovecot.log", a.as_bytes());
    let pb = write(d.path(), "auth.log", b.as_bytes());
    let s = open(
        &[pa, pb],
        &InputOptions {
            year: Some(2020),
            ..Default::default()
        },
    )
    .unwrap();
    let ev: Vec<_> = s.collect();
    let secs: Vec<i64> = ev.iter().map(|e| e.ts.unix_secs() % 60).collect();
    assert_eq!(secs, [0, 1, 2, 3]);
    assert_eq!(ev[3].outcome, Outcome::Success);
}

#[test]
fn truncated_gzip_keeps_what_was_read_and_says_where_it_stopped() {
    let d = tempfile::tempdir().unwrap();
    let mut text = String::new();
    for i in 0..5000 {
        text += &login(
            &format!("Jun  1 10:{:02}:{:02}", (i / 60) % 60, i % 60),
            "192.0.2.1",
            &format!("u{i}"),
        );
    }
    let full = gz(text.as_bytes());
    let p = write(d.path(), "cut.log.gz", &full[..full.len() / 2]);
    let mut s = open(
        &[p.as_str()],
        &InputOptions {
            year: Some(2020),
            ..Default::default()
        },
    )
    .unwrap();
    let n = s.by_ref().count();
    let st = s.stats();
    assert!(n > 100 && n < 5000, "{n}");
    assert_eq!(st.warnings.len(), 1, "{:?}", st.warnings);
    let w = &st.warnings[0];
    assert!(
        w.contains("cut.log.gz") && w.contains(&format!("after line {}", st.lines)),
        "{w}"
    );
    assert!(st.files[0].problem.is_some());
}

#[test]
fn missing_unreadable_and_unmatched_inputs_are_errors_naming_them() {
    let d = tempfile::tempdir().unwrap();
    let missing = d.path().join("nope.log");
    let e = open(&[missing.to_str().unwrap()], &InputOptions::default())
        .err()
        .unwrap();
    assert!(e.to_string().contains("nope.log"), "{e}");
    let pattern = format!("{}/*.nothing", d.path().display());
    let e = open(&[pattern.as_str()], &InputOptions::default())
        .err()
        .unwrap();
    assert!(e.to_string().contains("no file matches"), "{e}");
    let empty: [&str; 0] = [];
    assert!(open(&empty, &InputOptions::default()).is_err());
}

#[test]
fn globs_forced_format_samples_long_lines_and_progress() {
    let d = tempfile::tempdir().unwrap();
    let mut text = String::from(
        "Jun  1 10:00:00 h sshd[1]: Failed password for root from 198.51.100.1 port 22 ssh2\n",
    );
    text += "Jun  1 10:00:01 h dovecot: imap-login: Login: user=<a>, rip=192.0.2.1, lip=10.0.0.1\n";
    text += "Jun  1 10:00:02 h cron[5]: (root) CMD (true)\n";
    text += &"x".repeat(3 << 20);
    text += "\nnot a syslog line password=hunter2\n";
    write(d.path(), "a.log", text.as_bytes());
    let seen = Arc::new(AtomicU64::new(0));
    let seen2 = seen.clone();
    let opts = InputOptions {
        format: Some(Format::OpenSsh),
        year: Some(2020),
        samples_per_reason: 5,
        progress: Some(Arc::new(move |read, total| {
            assert!(read <= total);
            seen2.store(read, Ordering::Relaxed);
        })),
        ..Default::default()
    };
    let pattern = format!("{}/*.log", d.path().display());
    let mut s = open(&[pattern.as_str()], &opts).unwrap();
    let ev: Vec<_> = s.by_ref().collect();
    assert_eq!(ev.len(), 1, "only sshd lines with a forced openssh format");
    let st = s.stats();
    assert_eq!(st.lines, 5);
    assert_eq!(st.skipped_by_reason["other_program"], 2);
    assert_eq!(st.skipped_by_reason["bad_header"], 2);
    let samples = &st.samples["bad_header"];
    assert!(samples.iter().all(|l| l.len() < 400), "samples are cut");
    assert!(
        samples
            .iter()
            .any(|l| l.contains("password=<redacted>") && !l.contains("hunter2"))
    );
    assert_eq!(st.files[0].detail, "forced");
    assert_eq!(
        seen.load(Ordering::Relaxed),
        std::fs::metadata(d.path().join("a.log")).unwrap().len()
    );
    let summary = st.summary();
    assert_eq!(summary.events, 1);
    assert_eq!(summary.skipped, 4);
}

#[test]
fn structured_line_formats_are_detected_and_read() {
    let d = tempfile::tempdir().unwrap();
    let generic = "{\"ts\":\"2024-06-01T10:00:00Z\",\"account\":\"alice\",\"outcome\":\"bad_password\",\"source\":\"192.0.2.9\"}\n\
                   {\"ts\":\"2024-06-01T10:00:05Z\",\"account\":\"alice\",\"outcome\":\"success\",\"source\":\"192.0.2.9\"}\n";
    let p = write(d.path(), "events.jsonl", generic.as_bytes());
    let journal = "{\"__REALTIME_TIMESTAMP\":\"1717236002000000\",\"SYSLOG_IDENTIFIER\":\"sshd\",\"_HOSTNAME\":\"h\",\"MESSAGE\":\"Invalid user bob from 198.51.100.2 port 22\"}\n";
    let q = write(d.path(), "journal.json", journal.as_bytes());
    let mut s = open(&[p, q], &InputOptions::default()).unwrap();
    let ev: Vec<_> = s.by_ref().collect();
    assert_eq!(ev.len(), 3);
    assert_eq!(
        ev[1].account.name, "bob",
        "journald event merged between the two generic ones"
    );
    let formats: Vec<_> = s.stats().files.iter().map(|f| f.format).collect();
    assert!(formats.contains(&Some(Format::Generic)) && formats.contains(&Some(Format::Journald)));
}

#[test]
fn lf_crlf_and_cr_only_line_endings_all_read() {
    let d = tempfile::tempdir().unwrap();
    let lines: Vec<String> = (0..1000)
        .map(|i| {
            login(
                &format!("Jun  1 10:{:02}:{:02}", i / 60 % 60, i % 60),
                &format!("192.0.2.{}", i % 250 + 1),
                &format!("user{i}"),
            )
            .trim_end()
            .to_string()
        })
        .collect();
    for (name, eol) in [("lf.log", "\n"), ("crlf.log", "\r\n"), ("cr.log", "\r")] {
        let body = lines.join(eol) + eol;
        for (file, data) in [
            (name.to_string(), body.as_bytes().to_vec()),
            (format!("{name}.gz"), gz(body.as_bytes())),
        ] {
            let p = write(d.path(), &file, &data);
            let mut s = open(
                &[p],
                &InputOptions {
                    year: Some(2024),
                    ..Default::default()
                },
            )
            .unwrap();
            let n = s.by_ref().count();
            assert_eq!(n, 1000, "{file}: events");
            assert_eq!(s.stats().lines, 1000, "{file}: lines");
        }
    }
}
