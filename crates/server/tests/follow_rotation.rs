//! Log follower on real files: rename and copytruncate rotation, partial lines, oversize
//! lines, restart from the saved position, and the threaded follower feeding a real engine.
//! Every test drives `Follower::poll` directly (no sleeps, no timing), except the last, which
//! waits for the follower thread with a generous deadline.

use portcullis_core::{AuthEvent, NormalizeOptions};
use portcullis_engine::{Engine, EngineConfig};
use portcullis_parse::detect::Format;
use portcullis_server::follow::{Follower, StartAt, spawn, state_file};
use portcullis_server::{ServerConfig, start_engine};
use std::collections::BTreeMap;
use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

/// An sshd failure line for account `u<i>` (one event each; distinct accounts so that a line
/// read twice or lost shows in the count).
fn line(i: usize) -> String {
    format!(
        "Nov 20 10:{:02}:{:02} mx sshd[{}]: Failed password for invalid user u{i} from 203.0.113.{} port {} ssh2\n",
        (i / 60) % 60,
        i % 60,
        1000 + i,
        i % 250 + 1,
        40000 + i
    )
}

fn lines(r: std::ops::Range<usize>) -> String {
    r.map(line).collect()
}

fn append(path: &Path, s: &str) {
    let mut f = OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap();
    f.write_all(s.as_bytes()).unwrap();
}

struct Seen(BTreeMap<String, usize>);

impl Seen {
    fn new() -> Self {
        Seen(BTreeMap::new())
    }
    fn poll(&mut self, f: &mut Follower, times: usize) {
        for _ in 0..times {
            f.poll(&mut |ev: &AuthEvent| {
                *self.0.entry(ev.account.name.clone()).or_default() += 1;
            });
        }
    }
    /// Each of `u<r>` exactly once, nothing else.
    fn assert_exactly(&self, r: std::ops::Range<usize>) {
        let want: BTreeMap<String, usize> = r.map(|i| (format!("u{i}"), 1)).collect();
        let dup: Vec<_> = self.0.iter().filter(|(_, n)| **n > 1).collect();
        assert!(dup.is_empty(), "read twice: {dup:?}");
        let missing: Vec<_> = want.keys().filter(|k| !self.0.contains_key(*k)).collect();
        assert!(missing.is_empty(), "lost: {missing:?}");
        assert_eq!(self.0, want);
    }
}

fn follower(path: &Path, start: StartAt, state: Option<&Path>) -> Follower {
    Follower::new(
        path,
        Format::OpenSsh,
        NormalizeOptions::default(),
        start,
        state.map(|s| state_file(s, path)),
    )
    .unwrap()
}

#[test]
fn rename_rotation_loses_nothing_and_reads_nothing_twice() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("auth.log");
    append(&log, &lines(0..10));
    let mut f = follower(&log, StartAt::Beginning, None);
    let mut seen = Seen::new();
    seen.poll(&mut f, 1);
    seen.assert_exactly(0..10);

    // More lines, the last one half-written when logrotate renames the file.
    let l15 = line(15);
    let (head, tail) = l15.split_at(20);
    append(&log, &(lines(10..15) + head));
    fs::rename(&log, dir.path().join("auth.log.1")).unwrap();
    // The writer has not reopened yet: the rest goes to the renamed file...
    append(
        &dir.path().join("auth.log.1"),
        &(tail.to_string() + &lines(16..20)),
    );
    seen.poll(&mut f, 1);
    // ...then it reopens the path and writes the new file.
    append(&log, &lines(20..30));
    seen.poll(&mut f, 3);
    seen.assert_exactly(0..30);
    assert_eq!(
        f.stats()
            .rotations
            .load(std::sync::atomic::Ordering::Relaxed),
        1
    );

    // A second rotation, this time while the follower was not looking at all.
    append(&log, &lines(30..35));
    fs::rename(&log, dir.path().join("auth.log.1")).unwrap();
    append(&log, &lines(35..40));
    seen.poll(&mut f, 3);
    seen.assert_exactly(0..40);
}

#[test]
fn renamed_file_with_an_empty_successor_is_followed_for_the_grace_polls() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("auth.log");
    append(&log, &lines(0..5));
    let mut f = follower(&log, StartAt::Beginning, None);
    let mut seen = Seen::new();
    seen.poll(&mut f, 1);
    fs::rename(&log, dir.path().join("auth.log.1")).unwrap();
    append(&log, ""); // logrotate's `create`: a new empty file
    seen.poll(&mut f, 2);
    // A late writer still appends to the old file.
    append(&dir.path().join("auth.log.1"), &lines(5..8));
    seen.poll(&mut f, 10);
    append(&log, &lines(8..12));
    seen.poll(&mut f, 2);
    seen.assert_exactly(0..12);
}

#[test]
fn copytruncate_restarts_from_the_start() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("mail.log");
    append(&log, &lines(0..20));
    let mut f = follower(&log, StartAt::Beginning, None);
    let mut seen = Seen::new();
    seen.poll(&mut f, 1);
    // logrotate copytruncate: copy, truncate in place, the writer goes on (O_APPEND) at 0.
    fs::copy(&log, dir.path().join("mail.log.1")).unwrap();
    OpenOptions::new()
        .write(true)
        .open(&log)
        .unwrap()
        .set_len(0)
        .unwrap();
    append(&log, &lines(20..23));
    seen.poll(&mut f, 2);
    seen.assert_exactly(0..23);

    // Truncated and written past the old offset before the follower looked: recognised by
    // the changed first bytes, not by the size.
    fs::copy(&log, dir.path().join("mail.log.1")).unwrap();
    OpenOptions::new()
        .write(true)
        .open(&log)
        .unwrap()
        .set_len(0)
        .unwrap();
    append(&log, &lines(100..140));
    seen.poll(&mut f, 2);
    let mut want: Vec<usize> = (0..23).collect();
    want.extend(100..140);
    let expect: BTreeMap<String, usize> = want.iter().map(|i| (format!("u{i}"), 1)).collect();
    assert_eq!(seen.0, expect);
    assert_eq!(
        f.stats()
            .truncations
            .load(std::sync::atomic::Ordering::Relaxed),
        2
    );
}

#[test]
fn partial_lines_wait_for_their_newline() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("auth.log");
    let l = line(7);
    append(&log, &l[..30]);
    let mut f = follower(&log, StartAt::Beginning, None);
    let mut seen = Seen::new();
    seen.poll(&mut f, 2);
    assert!(seen.0.is_empty(), "half a line was parsed: {:?}", seen.0);
    append(&log, &l[30..]);
    seen.poll(&mut f, 1);
    seen.assert_exactly(7..8);
}

#[test]
fn oversize_lines_are_skipped_and_counted() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("auth.log");
    let mut f = follower(&log, StartAt::Beginning, None);
    let mut seen = Seen::new();
    seen.poll(&mut f, 1); // no file yet: waits for it
    append(&log, &line(0));
    append(&log, &"x".repeat(200 * 1024));
    seen.poll(&mut f, 1);
    append(&log, &("y".repeat(1000) + "\n" + &line(1)));
    seen.poll(&mut f, 1);
    seen.assert_exactly(0..2);
    assert_eq!(
        f.stats()
            .oversize
            .load(std::sync::atomic::Ordering::Relaxed),
        1
    );
}

#[test]
fn restart_resumes_at_the_saved_position() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let log = dir.path().join("auth.log");
    append(&log, &lines(0..10));
    // First run without a saved position starts at the end: old lines are history.
    let mut f = follower(&log, StartAt::End, Some(&state));
    let mut seen = Seen::new();
    seen.poll(&mut f, 1);
    assert!(seen.0.is_empty());
    append(&log, &lines(10..15));
    seen.poll(&mut f, 1);
    seen.assert_exactly(10..15);
    drop(f);

    // Stopped; lines arrive; started again: exactly the lines written meanwhile.
    append(&log, &lines(15..20));
    let mut f = follower(&log, StartAt::End, Some(&state));
    seen.poll(&mut f, 1);
    seen.assert_exactly(10..20);
    drop(f);

    // Rotated while stopped: the new file is read from its start.
    fs::rename(&log, dir.path().join("auth.log.1")).unwrap();
    append(&log, &lines(20..25));
    let mut f = follower(&log, StartAt::End, Some(&state));
    seen.poll(&mut f, 1);
    seen.assert_exactly(10..25);
    drop(f);

    // Truncated and rewritten while stopped (same inode, other content): from the start.
    OpenOptions::new()
        .write(true)
        .open(&log)
        .unwrap()
        .set_len(0)
        .unwrap();
    append(&log, &lines(50..60));
    let mut f = follower(&log, StartAt::End, Some(&state));
    seen.poll(&mut f, 1);
    let mut want: Vec<usize> = (10..25).collect();
    want.extend(50..60);
    let expect: BTreeMap<String, usize> = want.iter().map(|i| (format!("u{i}"), 1)).collect();
    assert_eq!(seen.0, expect);
}

/// Real Dovecot lines (crowdsec hub test `dovecot-logs`, from
/// github.com/crowdsecurity/hub), written in three pieces across a rename and a copytruncate,
/// give exactly the events one pass over the file gives.
#[test]
fn real_dovecot_log_across_both_rotations_matches_one_pass() {
    let real = fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/data/real/crowdsec-hub-tests/dovecot-logs/dovecot-logs.log"
    ))
    .unwrap();
    let all: Vec<&str> = real.lines().collect();
    let key = |ev: &AuthEvent| {
        format!(
            "{} {} {:?} {:?} {:?}",
            ev.ts, ev.account.name, ev.source, ev.outcome, ev.protocol
        )
    };
    // One pass, the reference.
    let dir = tempfile::tempdir().unwrap();
    let whole = dir.path().join("whole.log");
    append(&whole, &(all.join("\n") + "\n"));
    let mut reference = Vec::new();
    let mut f = Follower::new(
        &whole,
        Format::Dovecot,
        NormalizeOptions::default(),
        StartAt::Beginning,
        None,
    )
    .unwrap();
    f.poll(&mut |ev: &AuthEvent| reference.push(key(ev)));
    assert!(reference.len() >= 5, "too few events: {reference:?}");

    let log = dir.path().join("mail.log");
    let third = all.len() / 3;
    let part = |r: std::ops::Range<usize>| all[r].join("\n") + "\n";
    append(&log, &part(0..third));
    let mut f = Follower::new(
        &log,
        Format::Dovecot,
        NormalizeOptions::default(),
        StartAt::Beginning,
        None,
    )
    .unwrap();
    let mut got = Vec::new();
    let mut sink = |ev: &AuthEvent| got.push(key(ev));
    f.poll(&mut sink);
    fs::rename(&log, dir.path().join("mail.log.1")).unwrap();
    append(&log, &part(third..2 * third));
    f.poll(&mut sink);
    f.poll(&mut sink);
    fs::copy(&log, dir.path().join("mail.log.2")).unwrap();
    OpenOptions::new()
        .write(true)
        .open(&log)
        .unwrap()
        .set_len(0)
        .unwrap();
    append(&log, &part(2 * third..all.len()));
    f.poll(&mut sink);
    f.poll(&mut sink);
    reference.sort();
    got.sort();
    assert_eq!(got, reference);
}

/// The threaded follower feeds a real engine: every line becomes an observed attempt.
#[test]
fn spawned_follower_feeds_the_engine() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = ServerConfig {
        data_dir: dir.path().to_path_buf(),
        allow_unauthenticated: true,
        admin_listen: String::new(),
        ..ServerConfig::default()
    };
    let handle = start_engine(&cfg, Engine::new(EngineConfig::default())).unwrap();
    let log = dir.path().join("auth.log");
    append(&log, &lines(0..10));
    let f = follower(&log, StartAt::Beginning, Some(&dir.path().join("follow")));
    let h = handle.clone();
    let task = spawn(
        f,
        move |ev| {
            h.observe(ev);
        },
        Duration::from_millis(20),
    )
    .unwrap();
    append(&log, &lines(10..25));
    let observed = || handle.report().verdicts.values().sum::<u64>();
    let deadline = Instant::now() + Duration::from_secs(30);
    while observed() < 25 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    let stats = task.stats().clone();
    task.stop();
    assert_eq!(observed(), 25);
    assert_eq!(stats.events.load(std::sync::atomic::Ordering::Relaxed), 25);
}
