//! `portcullis analyze` and `portcullis parse` as a user runs them: the real binary on real
//! third-party logs from `../shared/data/real` (see its README for sources and licences).

use std::path::{Path, PathBuf};
use std::process::Command;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_portcullis"))
}

fn real(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/data/real")
        .join(rel)
}

fn analyze_json(args: &[&str]) -> serde_json::Value {
    let out = bin()
        .arg("analyze")
        .arg("--format")
        .arg("json")
        .arg("--no-progress")
        .args(args)
        .output()
        .expect("run portcullis");
    assert!(
        out.status.success(),
        "analyze failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("analyze --format json prints JSON")
}

/// Counts from loghub's OpenSSH_2k.log (logpai/loghub; cite the Loghub paper), derived here
/// independently of the parser, connection by connection (an sshd pid is one connection):
/// every `Failed <method> for ...` line is one attempt (N of them for `message repeated N
/// times: [ ... ]`), an unknown account when it says `for invalid user`; `Failed none` is the
/// client asking which methods exist, no attempt; every `Accepted` line is a success. A
/// connection announced by `Invalid user X` that never gets to a real `Failed` line still tried
/// an unknown account once.
fn independent_openssh_counts(text: &str) -> (u64, u64, u64) {
    use std::collections::HashSet;
    let (mut bad, mut unknown, mut success) = (0, 0, 0);
    let mut invalid_user_pids = HashSet::new();
    let mut pids_with_unknown_failures = HashSet::new();
    for line in text.lines() {
        let pid = line
            .split_once("sshd[")
            .and_then(|(_, r)| r.split_once(']'))
            .map(|(p, _)| p.to_string());
        let (n, body) = match line.find("message repeated ") {
            Some(i) => {
                let rest = &line[i + "message repeated ".len()..];
                let n: u64 = rest.split(' ').next().unwrap().parse().unwrap();
                (n, &rest[rest.find('[').unwrap()..])
            }
            None => (1, line),
        };
        if body.contains(": Invalid user ") {
            invalid_user_pids.insert(pid.clone());
        }
        if body.contains("Accepted ") {
            success += n;
        } else if body.contains("Failed ") && !body.contains("Failed none ") {
            if body.contains(" for invalid user ") {
                unknown += n;
                pids_with_unknown_failures.insert(pid);
            } else {
                bad += n;
            }
        }
    }
    unknown += invalid_user_pids
        .difference(&pids_with_unknown_failures)
        .count() as u64;
    (bad, unknown, success)
}

#[test]
fn openssh_counts_per_outcome_equal_an_independent_count() {
    let path = real("loghub/OpenSSH/OpenSSH_2k.log");
    let text = std::fs::read_to_string(&path).unwrap();
    let (bad, unknown, success) = independent_openssh_counts(&text);
    // The independent count itself, pinned so a change to the data is noticed.
    assert_eq!((bad, unknown, success), (393, 138, 1));
    let r = analyze_json(&[path.to_str().unwrap()]);
    let by = &r["input"]["events_by_outcome"];
    assert_eq!(by["bad_password"], bad, "{by}");
    assert_eq!(by["unknown_account"], unknown, "{by}");
    assert_eq!(by["success"], success, "{by}");
    assert_eq!(r["input"]["lines"], 2000);
    assert_eq!(r["input"]["events"], bad + unknown + success);
}

#[test]
fn reports_validate_against_the_published_json_schema() {
    let schema_path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/report-v1.schema.json");
    let schema: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(schema_path).unwrap()).unwrap();
    let validator = jsonschema::validator_for(&schema).expect("the schema is valid");
    for input in [
        "loghub/OpenSSH/OpenSSH_2k.log",
        "fail2ban-testlogs/dovecot.log",
        "otrf-purplesharp/purplesharp_ad_playbook_I_security_auth_only.jsonl",
    ] {
        let r = analyze_json(&[real(input).to_str().unwrap()]);
        let errors: Vec<String> = validator.iter_errors(&r).map(|e| e.to_string()).collect();
        assert!(errors.is_empty(), "{input}: {errors:#?}");
    }
}

#[test]
fn brute_force_in_the_openssh_log_is_named_with_its_sources() {
    // 187.141.143.180 tries ~40 invalid users in four minutes (lines 700-950 of the file).
    let r = analyze_json(&[real("loghub/OpenSSH/OpenSSH_2k.log").to_str().unwrap()]);
    let flagged: Vec<&str> = r["flagged_sources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["source"].as_str().unwrap())
        .collect();
    assert!(flagged.contains(&"187.141.143.180"), "{flagged:?}");
    assert!(flagged.contains(&"103.99.0.122"), "{flagged:?}");
    // The one successful login (Accepted password for fztu from 119.137.62.142) is not flagged.
    assert!(!flagged.contains(&"119.137.62.142"), "{flagged:?}");
}

#[test]
fn purplesharp_spray_is_read_and_its_trusted_source_never_flagged() {
    // OTRF Security-Datasets SDWIN-201022042947 (MIT): a 7-user password spray run on
    // WORKSTATION5 at 2020-10-22T08:29:55Z (4625 on the workstation from 127.0.0.1, 4776 on the
    // DC with no address), among benign logons. Each sprayed account fails twice (once per
    // event form); loopback is a trusted network, which is never flagged or blocked.
    let r = analyze_json(&[real(
        "otrf-purplesharp/purplesharp_ad_playbook_I_security_auth_only.jsonl",
    )
    .to_str()
    .unwrap()]);
    let by = &r["input"]["events_by_outcome"];
    assert_eq!(by["bad_password"], 14, "{by}");
    assert_eq!(by["success"], 19, "{by}");
    assert_eq!(r["flagged_sources"].as_array().unwrap().len(), 0);
    // The spray is keyed on WORKSTATION5 (see the next test): once flagged at its fifth
    // account, the workstation's remaining 2 + 7 failures are denied; everything else allowed.
    assert_eq!(r["verdicts"]["allow"], 24);
    assert_eq!(r["verdicts"]["deny"], 9);
}

#[test]
fn parse_output_reads_back_in_as_the_same_events() {
    let path = real("loghub/OpenSSH/OpenSSH_2k.log");
    let out = bin()
        .args(["parse", "--no-progress"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(out.status.success());
    let dir = tempfile::tempdir().unwrap();
    let jsonl = dir.path().join("events.jsonl");
    std::fs::write(&jsonl, &out.stdout).unwrap();
    let a = analyze_json(&[path.to_str().unwrap()]);
    let b = analyze_json(&["--log-format", "generic", jsonl.to_str().unwrap()]);
    assert_eq!(
        a["input"]["events_by_outcome"],
        b["input"]["events_by_outcome"]
    );
    assert_eq!(
        a["campaigns"].as_array().unwrap().len(),
        b["campaigns"].as_array().unwrap().len()
    );
    assert_eq!(a["flagged_sources"], b["flagged_sources"]);
}

#[test]
fn unreadable_inputs_are_errors_that_name_them() {
    let out = bin()
        .args(["analyze", "/nonexistent/mail.log"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("/nonexistent/mail.log"), "{err}");
}

#[test]
fn a_truncated_gzip_keeps_what_it_read_and_says_where_it_stopped() {
    use std::io::Write;
    let text = std::fs::read(real("loghub/OpenSSH/OpenSSH_2k.log")).unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&text).unwrap();
    let full = gz.finish().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let cut = dir.path().join("auth.log.2.gz");
    std::fs::write(&cut, &full[..full.len() * 2 / 3]).unwrap();
    let out = bin()
        .args(["analyze", "--format", "json", "--no-progress"])
        .arg(&cut)
        .output()
        .unwrap();
    assert!(out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("auth.log.2.gz"), "{err}");
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let lines = r["input"]["lines"].as_u64().unwrap();
    assert!(lines > 500 && lines < 2000, "read {lines} lines");
}

#[test]
fn purplesharp_spray_without_addresses_is_named_by_its_workstation() {
    // The same spray: 4625 from 127.0.0.1 (an interactive logon at the machine) and 4776 on
    // the DC with no address. No address is usable, so the engine keys the attempts on the
    // client workstation both events name, and the spray is a campaign with its 7 accounts.
    let r = analyze_json(&[real(
        "otrf-purplesharp/purplesharp_ad_playbook_I_security_auth_only.jsonl",
    )
    .to_str()
    .unwrap()]);
    let campaigns = r["campaigns"].as_array().unwrap();
    assert_eq!(campaigns.len(), 1, "{campaigns:#?}");
    let c = &campaigns[0];
    assert_eq!(c["kind"], "password_spray", "{c:#}");
    let mut accounts: Vec<&str> = c["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    accounts.sort_unstable();
    assert_eq!(
        accounts,
        [
            "lrodriguez",
            "mscott",
            "nxlogsvc",
            "pbeesly",
            "pgustavo",
            "sbeavers",
            "sysmonsvc"
        ]
    );
    assert_eq!(c["accounts_targeted"], 7);
    assert_eq!(c["attempts"], 14);
    assert_eq!(c["detected_at"], "2020-10-22T08:29:55.217Z");
    assert!(
        c["summary"].as_str().unwrap().contains("WORKSTATION5"),
        "{c:#}"
    );
    // No account is called compromised: pgustavo's successes come from elsewhere.
    assert_eq!(r["compromised_accounts"].as_array().unwrap().len(), 0);
}

#[test]
fn internal_kerberos_brute_force_and_spray_are_seen_from_their_trusted_host() {
    // windows-evtx-to-mitre (public samples of real domain controllers): the attacking host
    // 10.23.123.11 is inside 10/8, a default trusted network. Trust decides what is blocked,
    // not what is seen: it is flagged as that host, and its campaigns are raised.
    let brute = analyze_json(&[real(
        "windows-evtx-to-mitre/ID4771-Kerberos-brutforce-with-valid-user.evtx",
    )
    .to_str()
    .unwrap()]);
    assert_eq!(brute["input"]["events_by_outcome"]["bad_password"], 54);
    let flagged: Vec<&str> = brute["flagged_sources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["source"].as_str().unwrap())
        .collect();
    assert_eq!(flagged, ["10.23.123.11"]);
    assert!(
        brute["campaigns"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["kind"] == "brute_force" && c["sources"][0] == "10.23.123.11"),
        "{}",
        brute["campaigns"]
    );
    // Kerbrute against the domain: a TGT issued after a right password (4768, status 0x0,
    // pre-authenticated) from the spraying host during its spray is a compromise.
    let spray = analyze_json(&[real(
        "windows-evtx-to-mitre/ID4768-4771-Kerberos-user-enumeration-Kerbrute.evtx",
    )
    .to_str()
    .unwrap()]);
    let mut fallen: Vec<&str> = spray["compromised_accounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["account"].as_str().unwrap())
        .collect();
    fallen.sort_unstable();
    assert!(
        fallen.contains(&"admmig") && fallen.contains(&"admin-test"),
        "{fallen:?}"
    );
    for c in spray["compromised_accounts"].as_array().unwrap() {
        assert_eq!(c["source"], "10.23.123.11", "{c}");
    }
}

/// One 4648 record in the evtx crate's JSON layout, its fields as in the real 4648 records of
/// windows-evtx-to-mitre/ID4625-OpenSSH-brutforce-with-valid-users.jsonl (no public sample
/// holds an outgoing spray): `subject` (with its SID) on `computer` presenting `target`'s
/// credentials to `server` from `process`.
fn record_4648(
    time: &str,
    computer: &str,
    subject: (&str, &str),
    target: &str,
    server: &str,
    process: &str,
) -> String {
    serde_json::json!({"Event": {
        "#attributes": {"xmlns": "http://schemas.microsoft.com/win/2004/08/events/event"},
        "System": {
            "Provider": {"#attributes": {"Name": "Microsoft-Windows-Security-Auditing",
                "Guid": "54849625-5478-4994-A5BA-3E3B0328C30D"}},
            "EventID": 4648, "Version": 0, "Level": 0, "Task": 12544, "Opcode": 0,
            "Keywords": "0x8020000000000000",
            "TimeCreated": {"#attributes": {"SystemTime": time}},
            "EventRecordID": 1865223, "Channel": "Security", "Computer": computer,
            "Security": null},
        "EventData": {
            "SubjectUserSid": subject.1, "SubjectUserName": subject.0,
            "SubjectDomainName": "OFFSEC", "SubjectLogonId": "0x3e7",
            "LogonGuid": "00000000-0000-0000-0000-000000000000",
            "TargetUserName": target, "TargetDomainName": "OFFSEC",
            "TargetLogonGuid": "00000000-0000-0000-0000-000000000000",
            "TargetServerName": server, "TargetInfo": server,
            "ProcessId": "0x10ec", "ProcessName": process,
            "IpAddress": "-", "IpPort": "-"}}})
    .to_string()
}

#[test]
fn an_outgoing_spray_seen_as_explicit_credentials_is_a_spray_from_its_workstation() {
    let ps = "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe";
    let user = |name| (name, "S-1-5-21-2323213074-4052461197-1785501644-1104");
    let mut lines = Vec::new();
    for m in 0..30 {
        let t = |s: u32| format!("2021-05-21T20:{m:02}:{s:02}.153647Z");
        // Everyday use: a scheduled task as its service account, runas to an admin's own
        // admin account, and sshd (as SYSTEM) logging users on at a server.
        lines.push(record_4648(
            &t(1),
            "srv01.offsec.lan",
            user("svc_sched"),
            "svc_task",
            "localhost",
            "C:\\Windows\\System32\\svchost.exe",
        ));
        if m % 10 == 0 {
            lines.push(record_4648(
                &t(2),
                "ws02.offsec.lan",
                user("alice"),
                "alice-adm",
                "localhost",
                "C:\\Windows\\System32\\runas.exe",
            ));
        }
        lines.push(record_4648(
            &t(3),
            "fs01.offsec.lan",
            ("FS01$", "S-1-5-18"),
            &format!("user{m}"),
            "localhost",
            "C:\\Program Files\\OpenSSH-Win64\\sshd.exe",
        ));
    }
    // The spray: mallory's PowerShell on ws01 binding to the DC as 12 accounts in 24 seconds.
    let sprayed = [
        "lrodriguez",
        "pgustavo",
        "sbeavers",
        "mscott",
        "pbeesly",
        "dschrute",
        "jhalpert",
        "amartin",
        "kmalone",
        "omartinez",
        "abernard",
        "kkapoor",
    ];
    for (i, a) in sprayed.iter().enumerate() {
        let t = format!("2021-05-21T20:15:{:02}.000000Z", 2 * i);
        lines.push(record_4648(
            &t,
            "ws01.offsec.lan",
            user("mallory"),
            a,
            "dc01.offsec.lan",
            ps,
        ));
    }
    lines.sort_by_key(|l| l[l.find("SystemTime").unwrap()..][13..40].to_string());
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("security-4648.jsonl");
    std::fs::write(&log, lines.join("\n") + "\n").unwrap();

    let r = analyze_json(&[log.to_str().unwrap()]);
    // Every record is an attempt with no outcome, none a failure or a login.
    assert_eq!(r["input"]["events"], lines.len(), "{}", r["input"]);
    assert_eq!(
        r["input"]["events_by_outcome"],
        serde_json::json!({"attempted": lines.len()}),
        "{}",
        r["input"]
    );
    let campaigns = r["campaigns"].as_array().unwrap();
    assert_eq!(campaigns.len(), 1, "{campaigns:#?}");
    let c = &campaigns[0];
    assert_eq!(c["kind"], "password_spray");
    // Its source is the workstation (by name: it has no address), and who used it.
    let summary = c["summary"].as_str().unwrap();
    assert!(
        summary.contains("workstation ws01 (explicit credentials of OFFSEC\\mallory)"),
        "{summary}"
    );
    assert!(!summary.contains("srv01") && !summary.contains("fs01") && !summary.contains("ws02"));
    let mut named: Vec<&str> = c["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    named.sort_unstable();
    let mut want = sprayed.to_vec();
    want.sort_unstable();
    assert_eq!(named, want);
    assert_eq!(c["accounts_targeted"], 12);
    assert_eq!(c["attempts"], 12);
    // Raised at the sixth account, 10 s after the first.
    assert_eq!(c["first_seen"], "2021-05-21T20:15:00Z");
    assert_eq!(c["detected_at"], "2021-05-21T20:15:10Z");
    // Nothing is counted against the targets' passwords, and no address is flagged.
    assert_eq!(r["accounts_at_risk"].as_array().map_or(0, Vec::len), 0);
    assert_eq!(r["compromised_accounts"].as_array().map_or(0, Vec::len), 0);
    assert_eq!(r["flagged_sources"].as_array().map_or(0, Vec::len), 0);

    // `parse` then `analyze` of its output gives the same campaign (the generic schema keeps
    // the explicit-credential details).
    let out = bin()
        .args(["parse", "--no-progress"])
        .arg(&log)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let events = dir.path().join("events.jsonl");
    std::fs::write(&events, &out.stdout).unwrap();
    let again = analyze_json(&[events.to_str().unwrap()]);
    assert_eq!(again["campaigns"], r["campaigns"]);
}
