//! Snapshots: an engine serialised mid-stream and read back continues exactly as the engine
//! that never stopped (same verdicts, findings and report), so `serve` can restart from a
//! snapshot plus the journal after it; a snapshot names the configuration it was built under;
//! a damaged snapshot is an error, never a panic; and the layout is guarded, so that a change
//! to the state's fields is a deliberate `SNAPSHOT_VERSION` bump.

mod common;

use common::*;
use portcullis_core::report::InputSummary;
use portcullis_core::{Account, Outcome, Protocol, Timestamp};
use portcullis_engine::{AdminAction, Attempt, Engine, EngineConfig, SNAPSHOT_VERSION};

/// An organisation's normal traffic with a spray from rotating proxies in the middle.
fn spray_day() -> Stream {
    let mut rng = Rng::new(11);
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
    stream
}

fn snapshot(e: &Engine) -> Vec<u8> {
    postcard::to_allocvec(e).expect("an engine serialises")
}

fn restore(bytes: &[u8]) -> Engine {
    postcard::from_bytes(bytes).expect("a snapshot reads back")
}

/// Feeds `stream[range]` to `e`, with an admin block and a before-auth check on the way (they
/// are inputs too), and returns what it answered and found.
fn feed(e: &mut Engine, stream: &Stream, range: std::ops::Range<usize>) -> (String, String) {
    let mut answers = Vec::new();
    let mut findings = Vec::new();
    for (i, (ev, _)) in stream[range].iter().enumerate() {
        if i % 97 == 0 {
            let v = e.check(&Attempt {
                ts: ev.ts,
                protocol: Protocol::Imap,
                account: &ev.account,
                source: ev.source,
                password_fingerprint: None,
            });
            answers.push(v);
        }
        if i % 1009 == 0 {
            e.apply(AdminAction::Block {
                prefix: format!("198.51.100.{}/32", i % 200).parse().unwrap(),
                at: ev.ts,
                until: Some(ev.ts.plus_secs(3600)),
                reason: "test".into(),
            });
        }
        answers.push(e.observe(ev));
        findings.extend(e.take_findings());
    }
    (
        serde_json::to_string(&answers).unwrap(),
        serde_json::to_string(&findings).unwrap(),
    )
}

#[test]
fn a_restored_engine_continues_as_if_it_had_never_stopped() {
    let stream = spray_day();
    let n = stream.len();
    let spray_start = stream
        .iter()
        .position(|(_, l)| *l == Label::Attack)
        .unwrap();
    let mut whole = Engine::new(EngineConfig::default());
    let _ = feed(&mut whole, &stream, 0..n);
    let report_all = serde_json::to_string(&whole.report(InputSummary::default())).unwrap();
    assert!(
        report_all.contains("password_spray"),
        "the spray is raised, so the restored engine has a campaign to continue"
    );
    // Cut before, during and after the spray.
    for cut in [n / 4, spray_start + 400, n - n / 10] {
        let mut before = Engine::new(EngineConfig::default());
        let _ = feed(&mut before, &stream, 0..cut);
        let bytes = snapshot(&before);
        let mut restored = restore(&bytes);
        assert!(restored.built_with(&EngineConfig::default()));
        // The original goes on too: both must answer the rest the same.
        let (a1, f1) = feed(&mut before, &stream, cut..n);
        let (a2, f2) = feed(&mut restored, &stream, cut..n);
        assert_eq!(a1, a2, "verdicts after a snapshot cut at {cut}");
        assert_eq!(f1, f2, "findings after a snapshot cut at {cut}");
        let r1 = serde_json::to_string(&before.report(InputSummary::default())).unwrap();
        let r2 = serde_json::to_string(&restored.report(InputSummary::default())).unwrap();
        assert_eq!(r1, r2, "report after a snapshot cut at {cut}");
        assert_eq!(
            r2, report_all,
            "the same report as one engine fed everything"
        );
        assert_eq!(before.next_campaign_id(), restored.next_campaign_id());
    }
}

#[test]
fn a_snapshot_remembers_admin_state_familiar_sources_and_campaign_ids() {
    let mut e = Engine::new(EngineConfig::default());
    let t = Timestamp::from_unix_secs(1_700_000_000);
    let alice = Account::from_raw("alice@example.org");
    let home: std::net::IpAddr = "192.0.2.10".parse().unwrap();
    e.observe(&portcullis_core::AuthEvent::new(
        t,
        Protocol::Imap,
        alice.clone(),
        Some(home),
        Outcome::Success,
    ));
    e.apply(AdminAction::Block {
        prefix: "203.0.113.0/24".parse().unwrap(),
        at: t,
        until: None,
        reason: "spray".into(),
    });
    e.resume_campaign_ids(42);
    let r = restore(&snapshot(&e));
    assert!(r.is_familiar(&alice, home));
    assert!(!r.is_familiar(&alice, "198.51.100.99".parse().unwrap()));
    assert_eq!(r.next_campaign_id(), 42);
    assert_eq!(r.now(), t);
    let mut r = r;
    let v = r.check(&Attempt {
        ts: t.plus_secs(5),
        protocol: Protocol::Imap,
        account: &alice,
        source: Some("203.0.113.7".parse().unwrap()),
        password_fingerprint: None,
    });
    assert_eq!(
        v.action,
        portcullis_engine::Action::Deny,
        "the block survives"
    );
}

#[test]
fn a_snapshot_names_its_configuration() {
    let e = Engine::new(EngineConfig::default());
    let r = restore(&snapshot(&e));
    let other = EngineConfig {
        max_sources: EngineConfig::default().max_sources / 2,
        ..EngineConfig::default()
    };
    assert!(r.built_with(&EngineConfig::default()));
    assert!(!r.built_with(&other));
}

#[test]
fn a_damaged_snapshot_is_an_error_not_a_panic() {
    let stream = spray_day();
    let mut e = Engine::new(EngineConfig::default());
    let _ = feed(&mut e, &stream, 0..2000);
    let bytes = snapshot(&e);
    for cut in [0, 1, 10, bytes.len() / 3, bytes.len() / 2, bytes.len() - 1] {
        assert!(
            postcard::from_bytes::<Engine>(&bytes[..cut]).is_err(),
            "a snapshot cut at {cut} of {} bytes",
            bytes.len()
        );
    }
}

/// The layout guard. The snapshot of a default engine that saw one failure and one success
/// (so that an account, a source and a network are in its tables) has this size and hash;
/// when a field of the state (or of `EngineConfig`, or of the per-key states) is added,
/// removed or retyped, they change. Then bump `SNAPSHOT_VERSION` in
/// `crates/engine/src/snapshot.rs` and update both numbers here: the server discards a
/// snapshot of another version and replays its journal instead, whereas an unbumped layout
/// change would be read as garbage or refused without saying why.
#[test]
fn the_snapshot_layout_is_guarded_by_its_version() {
    let mut e = Engine::new(EngineConfig::default());
    let alice = Account::from_raw("alice@example.org");
    let home: std::net::IpAddr = "192.0.2.10".parse().unwrap();
    for (dt, outcome) in [(0, Outcome::BadPassword), (5, Outcome::Success)] {
        e.observe(&portcullis_core::AuthEvent::new(
            Timestamp::from_unix_secs(1_700_000_000 + dt),
            Protocol::Imap,
            alice.clone(),
            Some(home),
            outcome,
        ));
    }
    let bytes = snapshot(&e);
    let hash = bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    let layout = (SNAPSHOT_VERSION, bytes.len(), hash);
    assert_eq!(
        layout,
        (8, 5559, 5900298753963190850),
        "the engine's state layout changed: bump SNAPSHOT_VERSION and update this test"
    );
}

/// The canonical (human-readable) form is the same for an engine and its restored copy fed the
/// same inputs after the cut, although their maps' iteration orders differ: it is what the
/// cluster's state digest hashes.
#[test]
fn the_canonical_form_does_not_depend_on_the_maps_history() {
    let stream = spray_day();
    let n = stream.len();
    let mut a = Engine::new(EngineConfig::default());
    let _ = feed(&mut a, &stream, 0..n / 2);
    let mut b = restore(&snapshot(&a));
    let _ = feed(&mut a, &stream, n / 2..n);
    let _ = feed(&mut b, &stream, n / 2..n);
    assert_eq!(
        serde_json::to_string(&a).unwrap(),
        serde_json::to_string(&b).unwrap()
    );
    // Not the same state: another canonical form.
    let c = restore(&snapshot(&a));
    let mut d = restore(&snapshot(&a));
    let _ = feed(&mut d, &stream, 0..1);
    assert_ne!(
        serde_json::to_string(&c).unwrap(),
        serde_json::to_string(&d).unwrap()
    );
}
