//! The engine's first invariant, checked: it reads no clock and does no I/O (nothing in its
//! sources or its dependencies can), and the same calls give the same verdicts and findings
//! (two engines fed the same organisation under a spray agree on every answer and on the
//! report, to the byte).

mod common;

use common::*;
use portcullis_core::Outcome;
use portcullis_core::report::InputSummary;
use portcullis_engine::{Engine, EngineConfig};
use std::path::Path;

/// What a pure engine's sources never name.
const IMPURE: [&str; 12] = [
    "SystemTime",
    "Instant::now",
    "std::fs",
    "File::",
    "std::net::TcpStream",
    "UdpSocket",
    "std::env",
    "std::process",
    "std::io::stdin",
    "thread_rng",
    "tokio",
    "std::thread::sleep",
];

fn sources(dir: &Path, out: &mut Vec<(String, String)>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            sources(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push((
                p.display().to_string(),
                std::fs::read_to_string(&p).unwrap(),
            ));
        }
    }
}

#[test]
fn the_engine_names_no_clock_and_no_io() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    sources(&root.join("src"), &mut files);
    assert!(files.len() > 10, "the engine's sources were found");
    for (path, text) in &files {
        for (n, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or("");
            for word in IMPURE {
                assert!(
                    !code.contains(word),
                    "{path}:{}: `{word}` in the pure engine: {line}",
                    n + 1
                );
            }
        }
    }
    // Nor can a dependency do it for the engine: only the vocabulary, serde and pure helpers.
    let manifest = std::fs::read_to_string(root.join("Cargo.toml")).unwrap();
    let deps = manifest
        .split("[dependencies]")
        .nth(1)
        .unwrap()
        .split("\n[")
        .next()
        .unwrap();
    for line in deps.lines().filter(|l| l.contains('=')) {
        let name = line.split(['=', '.']).next().unwrap().trim();
        assert!(
            ["portcullis-core", "serde", "foldhash", "strsim", "smallvec"].contains(&name),
            "new engine dependency {name:?}: is it pure? add it here if so"
        );
    }
}

#[test]
fn the_same_events_give_the_same_verdicts_findings_and_report() {
    let mut rng = Rng::new(7);
    let org = Org::new(400, &mut rng);
    let mut stream = org.traffic(0, 30, &mut rng);
    let proxies = proxy_addresses(150, &mut rng);
    for i in 0..1200usize {
        let account = account_name(i % 400);
        let src = &proxies[i % proxies.len()];
        stream.push((
            ev(
                20 * 3600 + i as i64 * 7,
                &account,
                src,
                Outcome::BadPassword,
                None,
            ),
            Label::Attack,
        ));
    }
    sort(&mut stream);
    let run = || {
        let mut e = Engine::new(EngineConfig::default());
        let mut answers = Vec::with_capacity(stream.len());
        let mut findings = Vec::new();
        for (ev, _) in &stream {
            answers.push(e.observe(ev));
            findings.extend(e.take_findings());
        }
        let report = serde_json::to_string(&e.report(InputSummary::default())).unwrap();
        (answers, serde_json::to_string(&findings).unwrap(), report)
    };
    let (a1, f1, r1) = run();
    let (a2, f2, r2) = run();
    assert!(
        r1.contains("password_spray"),
        "the spray is raised, so there is something to agree on"
    );
    assert_eq!(a1, a2);
    assert_eq!(f1, f2);
    assert_eq!(r1, r2);
}

/// A cluster node answers with `peek_event` / `peek_check` from its replica, whose state only
/// the cluster's ordered stream may change: at the engine's event time they give the verdict
/// `observe` / `check` would, and leave the engine exactly as it was (its snapshot bytes
/// unchanged).
#[test]
fn peeking_gives_the_verdict_and_changes_nothing() {
    let mut rng = Rng::new(11);
    let org = Org::new(200, &mut rng);
    let mut stream = org.traffic(0, 6, &mut rng);
    let proxies = proxy_addresses(60, &mut rng);
    for i in 0..600usize {
        stream.push((
            ev(
                3 * 3600 + i as i64 * 5,
                &account_name(i % 200),
                &proxies[i % proxies.len()],
                Outcome::BadPassword,
                None,
            ),
            Label::Attack,
        ));
    }
    sort(&mut stream);
    let mut e = Engine::new(EngineConfig::default());
    let mut refused = 0;
    for (ev, _) in &stream {
        let attempt = portcullis_engine::Attempt {
            ts: ev.ts,
            protocol: ev.protocol,
            account: &ev.account,
            source: ev.source,
            password_fingerprint: ev.password_fingerprint,
        };
        // Peeking judges at the engine's event time: bring it to the event's (as the stream's
        // inputs before it would), then peek, then observe at that same time.
        let checked = e.check(&attempt);
        let before = postcard::to_allocvec(&e).unwrap();
        let peeked = e.peek_event(ev);
        let peeked_check = e.peek_check(&attempt);
        assert_eq!(peeked_check.action, checked.action);
        assert_eq!(
            postcard::to_allocvec(&e).unwrap(),
            before,
            "peeking changed the engine"
        );
        let observed = e.observe(ev);
        assert_eq!(peeked.action, observed.action);
        assert_eq!(peeked.reasons, observed.reasons);
        assert_eq!(peeked_check.action, observed.action);
        refused += usize::from(observed.action != portcullis_engine::Action::Allow);
    }
    assert!(
        refused > 0,
        "some attempts were refused, so there is something to compare"
    );
}
