//! Windows event parsing on real third-party data.
//!
//! Sources (see shared/data/README.md):
//! - `windows-evtx-to-mitre/`: mdecrevoisier/EVTX-to-MITRE-Attack, T1110 samples (CC0): the
//!   same events as `.evtx` and as the evtx crate's JSON lines.
//! - `otrf-purplesharp/`: OTRF/Security-Datasets SDWIN-201022042947 (MIT), NXLog flat JSON.
//! - `crowdsec-hub-tests/windows-bf/`, `windows-logs/`: crowdsecurity/hub tests (MIT), rendered
//!   event XML.

use portcullis_core::{AuthEvent, Outcome, Protocol, Timestamp};
use portcullis_parse::windows;
use portcullis_parse::{LineResult, ParseCtx};
use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::path::PathBuf;

fn data(rel: &str) -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/data/real/"
    ))
    .join(rel)
}

struct Parsed {
    events: Vec<AuthEvent>,
    skipped: BTreeMap<&'static str, u64>,
    lines: u64,
}

fn parse_lines(rel: &str) -> Parsed {
    let text = std::fs::read_to_string(data(rel)).expect("test data present");
    let mut ctx = ParseCtx::default();
    let mut events = Vec::new();
    let mut skipped = BTreeMap::new();
    let mut lines = 0;
    for (i, line) in text.lines().enumerate() {
        lines += 1;
        ctx.line = i as u64 + 1;
        let before = events.len();
        match windows::parse_line(line, &ctx, &mut events) {
            LineResult::Events(n) => assert_eq!(events.len() - before, n, "{rel}:{}", i + 1),
            LineResult::Skip(r) => *skipped.entry(r).or_insert(0) += 1,
        }
    }
    Parsed {
        events,
        skipped,
        lines,
    }
}

fn outcome_counts(evs: &[AuthEvent]) -> BTreeMap<Outcome, usize> {
    let mut m = BTreeMap::new();
    for e in evs {
        *m.entry(e.outcome).or_insert(0) += 1;
    }
    m
}

/// The event without where it was read (line numbers differ between the JSON and evtx forms).
fn comparable(e: &AuthEvent) -> AuthEvent {
    let mut e = e.clone();
    e.origin = Default::default();
    e
}

/// Expected outcomes per EVTX-to-MITRE sample, derived by inspection: each `.jsonl` was tallied
/// by (EventID, Status, SubStatus) and, for noise, by TargetUserName/TargetUserSid/LogonType
/// with a separate Python one-liner (`json.loads` per line, `collections.Counter`), then the
/// mapping tables of docs/formats-structured.md applied by hand:
/// - AccountRestore: 16 × 4625 0xC000006D/0xC000006A → 16 bad_password.
/// - 18456: 6 × "SQL authentication failed … Windows authentication only" → other_failure.
/// - 33205 Windows-auth-only: 6 × LGIF, same reason → other_failure.
/// - 33205 SA wrong password: 27 × "Password did not match" → bad_password.
/// - 33205 disabled SA: 2 × "error occurred while evaluating the password" → disabled.
/// - 33205 non-existing: 72 records; 66 "Could not find a login" → unknown_account, 3 × sa
///   "Password did not match" → bad_password, 3 with an empty principal → skipped.
/// - ID4 OpenSSH non-existing: 5 "Failed password for invalid user" → unknown_account; the
///   `Invalid user` and `Disconnecting` lines are not attempts.
/// - ID4 OpenSSH valid: 5 "Failed password for admmig" → bad_password.
/// - 4625 OpenSSH non-existing: 5 × 4625 SubStatus 0xC0000064 + 5 × 4776 0xC0000064 →
///   10 unknown_account; 4624 of the sshd virtual account (logon type 5) skipped.
/// - 4625 OpenSSH valid: 5 × 4625 SubStatus 0xC000006A → bad_password; 4624 admmig type 3 →
///   success; 4624 sshd_4332 (virtual account, type 5) skipped; 4648 of admmig by sshd (as
///   SYSTEM) → attempted; 4648 of sshd_4332 (virtual account) skipped.
/// - 4625 account restriction: 2 × 0xC000006E/0x0 → other_failure (TargetUserName `-`).
/// - Kerberos non-existing: 4768 0x0 ×3, 0x12 ×1, 0x6 ×46; 4771 0x18 ×2.
/// - Kerbrute: 4768 0x0 ×5, 0x12 ×15; 4771 0x18 ×22 of which one is `SRVFS02$` (skipped).
/// - 4771 valid user: 54 × 0x18 → bad_password.
const MITRE: &[(&str, &[(Outcome, usize)])] = &[
    (
        "ID-4776-4625-AccountRestore-local-bruteforce",
        &[(Outcome::BadPassword, 16)],
    ),
    (
        "ID18456-SQL-Server-failed-login-because-only-Windows-auth",
        &[(Outcome::OtherFailure, 6)],
    ),
    (
        "ID33205-SQL-Server-failed-login-because-only-Windows-auth",
        &[(Outcome::OtherFailure, 6)],
    ),
    (
        "ID33205-SQL-Server-failed-login-with-SA-wrong-password",
        &[(Outcome::BadPassword, 27)],
    ),
    (
        "ID33205-SQL-Server-failed-login-with-disabled-SA-account",
        &[(Outcome::Disabled, 2)],
    ),
    (
        "ID33205-SQL-Server-failed-login-with-non-existing-accounts",
        &[(Outcome::UnknownAccount, 66), (Outcome::BadPassword, 3)],
    ),
    (
        "ID4-OpenSSH-brutforce-with-non-existing-users-sshd-logs",
        &[(Outcome::UnknownAccount, 5)],
    ),
    (
        "ID4-OpenSSH-brutforce-with-valid-users",
        &[(Outcome::BadPassword, 5)],
    ),
    (
        "ID4625-OpenSSH-brutforce-with-non-existing-users",
        &[(Outcome::UnknownAccount, 10)],
    ),
    (
        "ID4625-OpenSSH-brutforce-with-valid-users",
        &[
            (Outcome::BadPassword, 5),
            (Outcome::Success, 1),
            (Outcome::Attempted, 1),
        ],
    ),
    (
        "ID4625-failed-login-with-denied-access-due-to-account-restriction",
        &[(Outcome::OtherFailure, 2)],
    ),
    (
        "ID4768-4771-Kerberos-brutforce-with-non-existing-users",
        &[
            (Outcome::Success, 3),
            (Outcome::Disabled, 1),
            (Outcome::UnknownAccount, 46),
            (Outcome::BadPassword, 2),
        ],
    ),
    (
        "ID4768-4771-Kerberos-user-enumeration-Kerbrute",
        &[
            (Outcome::Success, 5),
            (Outcome::Disabled, 15),
            (Outcome::BadPassword, 21),
        ],
    ),
    (
        "ID4771-Kerberos-brutforce-with-valid-user",
        &[(Outcome::BadPassword, 54)],
    ),
];

#[test]
fn evtx_to_mitre_json_lines_give_the_expected_outcomes() {
    for (stem, expected) in MITRE {
        let p = parse_lines(&format!("windows-evtx-to-mitre/{stem}.jsonl"));
        let want: BTreeMap<Outcome, usize> = expected.iter().copied().collect();
        assert_eq!(outcome_counts(&p.events), want, "{stem}: {:?}", p.skipped);
        assert!(
            !p.skipped.contains_key("bad_json") && !p.skipped.contains_key("unrecognised"),
            "{stem}: {:?}",
            p.skipped
        );
        let skipped: u64 = p.skipped.values().sum();
        assert!(p.events.len() as u64 + skipped <= p.lines);
    }
}

#[test]
fn evtx_files_give_the_same_events_as_their_json() {
    for (stem, _) in MITRE {
        let json = parse_lines(&format!("windows-evtx-to-mitre/{stem}.jsonl"));
        let mut from_evtx = Vec::new();
        let stats = windows::read_evtx(
            &data(&format!("windows-evtx-to-mitre/{stem}.evtx")),
            &ParseCtx::default(),
            &mut |e| from_evtx.push(e),
        )
        .expect("evtx readable");
        let head = std::fs::read(data(&format!("windows-evtx-to-mitre/{stem}.evtx"))).unwrap();
        assert!(windows::is_evtx(&head[..8]));
        assert!(!windows::is_evtx(b"{\"Event\""));
        assert_eq!(stats.records, json.lines, "{stem}: record count");
        assert_eq!(stats.events as usize, from_evtx.len());
        assert!(!stats.skipped.contains_key(windows::BAD_RECORD), "{stem}");
        assert!(!stats.skipped.contains_key(windows::BAD_CHUNK), "{stem}");
        // The pull-based reader gives the same events.
        let mut it = windows::EvtxEvents::open(
            &data(&format!("windows-evtx-to-mitre/{stem}.evtx")),
            &ParseCtx::default(),
        )
        .unwrap();
        let pulled: Vec<AuthEvent> = it.by_ref().collect();
        assert_eq!(pulled, from_evtx, "{stem}");
        assert_eq!(it.stats(), &stats);
        assert!(it.failure().is_none());
        let a: Vec<AuthEvent> = json.events.iter().map(comparable).collect();
        let b: Vec<AuthEvent> = from_evtx.iter().map(comparable).collect();
        assert_eq!(a, b, "{stem}: events differ between .jsonl and .evtx");
        // The evtx reader records the file and record id as the origin.
        assert!(
            from_evtx
                .iter()
                .all(|e| e.origin.file.is_some() && e.origin.line > 0)
        );
    }
}

#[test]
fn evtx_to_mitre_accounts_sources_protocols() {
    let ip = |s: &str| Some(s.parse::<IpAddr>().unwrap());

    // Kerberos: ::ffff:10.23.123.11 folded to IPv4; realm dropped by normalisation.
    let k = parse_lines("windows-evtx-to-mitre/ID4771-Kerberos-brutforce-with-valid-user.jsonl");
    assert!(k.events.iter().all(|e| e.protocol == Protocol::Kerberos
        && e.account.name == "admin-hacker"
        && e.source == ip("10.23.123.11")
        && e.server.as_deref() == Some("rootdc1.offsec.lan")));

    let k = parse_lines(
        "windows-evtx-to-mitre/ID4768-4771-Kerberos-brutforce-with-non-existing-users.jsonl",
    );
    let first = &k.events[0];
    assert_eq!(first.account.raw, "OFFSEC.LAN\\test1");
    assert_eq!(first.account.name, "test1");
    assert_eq!(first.outcome, Outcome::UnknownAccount);
    assert_eq!(
        first.ts,
        Timestamp::parse_rfc3339("2021-12-02T14:48:15.983650Z").unwrap()
    );

    // NTLM 4776 + 4625 for the same sshd attempts: two protocols, no address on either
    // (4776 has none; 4625 is a logon type 8 with IpAddress "-").
    let n =
        parse_lines("windows-evtx-to-mitre/ID4625-OpenSSH-brutforce-with-non-existing-users.jsonl");
    let protos: BTreeMap<Protocol, usize> = n.events.iter().fold(BTreeMap::new(), |mut m, e| {
        *m.entry(e.protocol).or_insert(0) += 1;
        m
    });
    assert_eq!(
        protos,
        BTreeMap::from([(Protocol::Windows, 5), (Protocol::Ntlm, 5)])
    );
    assert!(n.events.iter().all(|e| e.account.name == "nouser"
        && e.source.is_none()
        && e.client.as_deref() == Some("FS01")));
    // The 4624 of sshd's virtual account, and sshd's 4648 for it.
    assert_eq!(n.skipped.get("system_account"), Some(&2), "{:?}", n.skipped);

    // The real 4648 records: sshd.exe, running as SYSTEM (subject FS01$, S-1-5-18), logging
    // admmig on at the machine itself. An attempt of admmig with no outcome, the machine as
    // its workstation, no subject (the machine itself), and no source (IpAddress is `-`).
    let v = parse_lines("windows-evtx-to-mitre/ID4625-OpenSSH-brutforce-with-valid-users.jsonl");
    let x: Vec<&AuthEvent> = v
        .events
        .iter()
        .filter(|e| e.outcome == Outcome::Attempted)
        .collect();
    assert_eq!(x.len(), 1);
    assert_eq!(x[0].account.name, "admmig");
    assert_eq!(x[0].source, None);
    assert_eq!(x[0].client.as_deref(), Some("fs01"));
    let d = x[0].explicit.as_deref().unwrap();
    assert_eq!(d.subject, None);
    assert_eq!(d.target_server.as_deref(), Some("localhost"));
    assert_eq!(
        d.process.as_deref(),
        Some("C:\\Program Files\\OpenSSH-Win64\\sshd.exe")
    );
    assert!(
        v.events
            .iter()
            .all(|e| e.explicit.is_none() == (e.outcome != Outcome::Attempted))
    );

    // Windows OpenSSH event 4 carries the client address in the sshd line.
    let s = parse_lines("windows-evtx-to-mitre/ID4-OpenSSH-brutforce-with-valid-users.jsonl");
    assert!(s.events.iter().all(|e| e.protocol == Protocol::Ssh
        && e.account.name == "admmig"
        && e.source == ip("10.23.23.9")));

    // SQL Server: account and [CLIENT: …] address.
    let q = parse_lines(
        "windows-evtx-to-mitre/ID33205-SQL-Server-failed-login-with-SA-wrong-password.jsonl",
    );
    assert!(q.events.iter().all(|e| e.account.name == "sa"
        && e.source == ip("10.23.23.9")
        && e.protocol == Protocol::Other));
    let q = parse_lines(
        "windows-evtx-to-mitre/ID33205-SQL-Server-failed-login-with-non-existing-accounts.jsonl",
    );
    assert_eq!(q.skipped.get("missing_field"), Some(&3));

    // Interactive local brute force: loopback source, the local machine as domain.
    let l = parse_lines("windows-evtx-to-mitre/ID-4776-4625-AccountRestore-local-bruteforce.jsonl");
    assert!(l.events.iter().all(|e| e.source == ip("127.0.0.1")));
    let mut accounts = BTreeMap::new();
    for e in &l.events {
        *accounts.entry(e.account.raw.as_str()).or_insert(0) += 1;
    }
    assert_eq!(
        accounts,
        BTreeMap::from([("WIN\\Admin", 8), ("WIN\\Administrator", 8)])
    );

    // RDP refused for an account restriction before a user name was known: an attempt from
    // 10.23.23.9 with no account.
    let r = parse_lines(
        "windows-evtx-to-mitre/ID4625-failed-login-with-denied-access-due-to-account-restriction.jsonl",
    );
    assert!(
        r.events
            .iter()
            .all(|e| e.account.is_empty() && e.source == ip("10.23.23.9"))
    );
}

/// SDWIN-201022042947: PurpleSharp sprays 7 domain users from WORKSTATION5 at 08:29:55Z
/// (4625 on the workstation, 4776 on the DC MORDORDC), among benign network logons.
#[test]
fn purplesharp_spray_nxlog() {
    let p = parse_lines("otrf-purplesharp/purplesharp_ad_playbook_I_security_auth_only.jsonl");
    assert_eq!(p.lines, 154);
    let spray_users: BTreeSet<&str> = [
        "lrodriguez",
        "mscott",
        "nxlogsvc",
        "pbeesly",
        "pgustavo",
        "sbeavers",
        "sysmonsvc",
    ]
    .into();
    let t0 = Timestamp::parse_rfc3339("2020-10-22T08:29:55Z").unwrap();
    let t1 = t0.plus_secs(1);

    let win: Vec<&AuthEvent> = p
        .events
        .iter()
        .filter(|e| e.protocol == Protocol::Windows && e.outcome.is_failure())
        .collect();
    assert_eq!(win.len(), 7);
    for e in &win {
        assert_eq!(e.outcome, Outcome::BadPassword);
        assert!(e.ts >= t0 && e.ts < t1, "{}", e.ts);
        assert_eq!(e.client.as_deref(), Some("WORKSTATION5"));
        assert_eq!(e.server.as_deref(), Some("WORKSTATION5.theshire.local"));
        // Interactive (logon type 2) with IpAddress "-": a local attempt.
        assert_eq!(e.source, Some("127.0.0.1".parse().unwrap()));
    }
    let names: BTreeSet<&str> = win.iter().map(|e| e.account.name.as_str()).collect();
    assert_eq!(names, spray_users);

    let dc: Vec<&AuthEvent> = p
        .events
        .iter()
        .filter(|e| e.protocol == Protocol::Ntlm)
        .collect();
    assert_eq!(dc.len(), 7);
    for e in &dc {
        assert_eq!(e.outcome, Outcome::BadPassword);
        assert!(e.ts >= t0 && e.ts < t1, "{}", e.ts);
        assert_eq!(e.server.as_deref(), Some("MORDORDC.theshire.local"));
        assert_eq!(e.client.as_deref(), Some("WORKSTATION5"));
        assert_eq!(e.source, None);
    }
    let names: BTreeSet<&str> = dc.iter().map(|e| e.account.name.as_str()).collect();
    assert_eq!(names, spray_users);

    // The 49 successful logons (4624, all type 3): 19 of pgustavo; 3 ANONYMOUS LOGON and 27 of
    // computer accounts (WEC$, WORKSTATION6$, WORKSTATION7$, 24 × MORDORDC$) are skipped.
    let ok: Vec<&AuthEvent> = p.events.iter().filter(|e| e.outcome.is_success()).collect();
    assert_eq!(ok.len(), 19);
    assert!(ok.iter().all(|e| e.account.name == "pgustavo"));
    assert_eq!(p.events.len(), 33);
    assert_eq!(p.skipped.get("machine_account"), Some(&27));
    assert_eq!(p.skipped.get("system_account"), Some(&3));
    // 4634 logoff ×31, 4672 ×43, 4769 service tickets ×17.
    assert_eq!(p.skipped.get("not_auth"), Some(&91));
}

/// CrowdSec's windows-bf test: 4625s as rendered XML; scenario.assert expects source
/// 192.168.9.212, user asdfasdf, sub-status 0xc0000064 and these timestamps.
#[test]
fn crowdsec_windows_bf_xml() {
    let p = parse_lines("crowdsec-hub-tests/windows-bf/windows-bf.log");
    // The log has six events; CrowdSec's alert (bucket capacity 5) lists the first five, the
    // sixth time is read from the log itself.
    let times = [
        "2022-04-29T12:36:01.9027913Z",
        "2022-04-29T12:36:02.2268806Z",
        "2022-04-29T12:36:03.2268806Z",
        "2022-04-29T12:36:04.2268806Z",
        "2022-04-29T12:36:06.2268806Z",
        "2022-04-29T12:36:07.2268806Z",
    ];
    assert_eq!(p.events.len(), 6, "{:?}", p.skipped);
    for (e, t) in p.events.iter().zip(times) {
        assert_eq!(e.ts, Timestamp::parse_rfc3339(t).unwrap());
        assert_eq!(e.account.name, "asdfasdf");
        assert_eq!(e.account.raw, "MYDOMAIN\\asdfasdf");
        assert_eq!(e.outcome, Outcome::UnknownAccount);
        assert_eq!(e.source, Some("192.168.9.212".parse().unwrap()));
        assert_eq!(e.client.as_deref(), Some("DESKTOP-7QD9TN3"));
        assert_eq!(e.server.as_deref(), Some("exchange-1.mydomain.test"));
    }
}

/// CrowdSec's windows-logs test: one Event Viewer copy ("- <Event …>- <System>") of a 4625.
#[test]
fn crowdsec_windows_logs_event_viewer_copy() {
    let p = parse_lines("crowdsec-hub-tests/windows-logs/windows-logs.log");
    assert_eq!(p.events.len(), 1, "{:?}", p.skipped);
    let e = &p.events[0];
    assert_eq!(
        e.ts,
        Timestamp::parse_rfc3339("2022-04-28T16:09:28.9443547Z").unwrap()
    );
    assert_eq!(e.account.name, "testuser@mydomain.test");
    assert_eq!(e.outcome, Outcome::UnknownAccount);
    assert_eq!(e.source, Some("192.168.9.212".parse().unwrap()));
    assert_eq!(e.server.as_deref(), Some("exchange-1.mydomain.test"));
}

/// The single-pass fast path and the general `serde_json::Value` path agree on every real
/// JSON line, and the fast path decides the plain NXLog and evtx-JSON lines itself.
#[test]
fn fast_and_general_paths_agree_on_real_lines() {
    let mut files: Vec<String> = MITRE
        .iter()
        .map(|(stem, _)| format!("windows-evtx-to-mitre/{stem}.jsonl"))
        .collect();
    files.push("otrf-purplesharp/purplesharp_ad_playbook_I_security_auth_only.jsonl".into());
    let ctx = ParseCtx::default();
    let mut decided = BTreeMap::new();
    for rel in &files {
        let text = std::fs::read_to_string(data(rel)).unwrap();
        for line in text.lines() {
            let (mut a, mut b, mut c) = (Vec::new(), Vec::new(), Vec::new());
            let ra = windows::parse_line(line, &ctx, &mut a);
            let rb = windows::parse_line_general(line, &ctx, &mut b);
            assert_eq!(ra, rb, "{rel}: {line}");
            assert_eq!(a, b, "{rel}: {line}");
            if let Some(rc) = windows::parse_line_fast(line, &ctx, &mut c) {
                assert_eq!(rc, rb);
                assert_eq!(c, b);
                *decided.entry(rel.as_str()).or_insert(0) += 1;
            } else {
                assert!(c.is_empty());
            }
        }
    }
    // All 154 NXLog lines and all Kerberos lines go the fast way; SQL Server's do not.
    assert_eq!(
        decided.get("otrf-purplesharp/purplesharp_ad_playbook_I_security_auth_only.jsonl"),
        Some(&154)
    );
    assert_eq!(
        decided.get("windows-evtx-to-mitre/ID4771-Kerberos-brutforce-with-valid-user.jsonl"),
        Some(&54)
    );
    assert_eq!(
        decided.get(
            "windows-evtx-to-mitre/ID33205-SQL-Server-failed-login-with-SA-wrong-password.jsonl"
        ),
        None
    );
}

#[test]
fn sniffer_recognises_every_real_form() {
    for rel in [
        "windows-evtx-to-mitre/ID4771-Kerberos-brutforce-with-valid-user.jsonl",
        "windows-evtx-to-mitre/ID18456-SQL-Server-failed-login-because-only-Windows-auth.jsonl",
        "otrf-purplesharp/purplesharp_ad_playbook_I_security_auth_only.jsonl",
        "crowdsec-hub-tests/windows-bf/windows-bf.log",
        "crowdsec-hub-tests/windows-logs/windows-logs.log",
    ] {
        let text = std::fs::read_to_string(data(rel)).unwrap();
        assert!(windows::looks_like(text.lines().next().unwrap()), "{rel}");
    }
}
