//! Store tests on real temporary files: every kind of record written, closed, reopened, read.

use super::*;
use portcullis_core::report::{Campaign, CampaignKind, CompromisedAccount};

fn t(s: i64) -> Timestamp {
    Timestamp::from_unix_secs(1_700_000_000 + s)
}

fn entry(action: AdminAction, reason: &str) -> AuditEntry {
    AuditEntry {
        seq: 0,
        at: t(0),
        actor: "alice-admin".into(),
        via: "test".into(),
        action,
        reason: reason.into(),
    }
}

fn campaign(id: &str, attempts: u64) -> Campaign {
    Campaign {
        id: id.into(),
        kind: CampaignKind::PasswordSpray,
        first_seen: t(0),
        detected_at: t(10),
        last_seen: t(20 + attempts as i64),
        sources: vec!["198.51.100.0/24".parse().unwrap()],
        accounts_targeted: 40,
        attempts,
        summary: "spray".into(),
        accounts: vec![],
    }
}

#[test]
fn admin_state_survives_reopen_and_expiry_is_honoured() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sub/state.db");
    {
        let s = Store::open(&path, StoreOptions::default()).unwrap();
        let seq1 = s
            .record_admin(entry(
                AdminAction::Block {
                    prefix: "203.0.113.0/24".parse().unwrap(),
                    at: t(0),
                    until: None,
                    reason: "spray".into(),
                },
                "spray from this net",
            ))
            .unwrap();
        let seq2 = s
            .record_admin(entry(
                AdminAction::Block {
                    prefix: "198.51.100.7".parse().unwrap(),
                    at: t(0),
                    until: Some(t(100)),
                    reason: "short".into(),
                },
                "short block",
            ))
            .unwrap();
        assert!(seq2 > seq1 && seq1 > 0);
        s.record_admin(entry(
            AdminAction::Protect {
                account: "bob@example.org".into(),
                mode: ProtectionMode::InternalOnly,
                at: t(0),
                until: Some(t(1000)),
            },
            "targeted",
        ))
        .unwrap();
        s.record_admin(entry(
            AdminAction::ShieldsUp {
                protocols: vec![Protocol::Imap, Protocol::Pop3],
                at: t(0),
                until: None,
            },
            "overnight spray",
        ))
        .unwrap();
        s.close().unwrap();
    }
    let s = Store::open(&path, StoreOptions::default()).unwrap();
    // Before the short block expires: both blocks.
    assert_eq!(s.blocks(t(50)).unwrap().len(), 2);
    // After: only the permanent one.
    let b = s.blocks(t(200)).unwrap();
    assert_eq!(b.len(), 1);
    assert_eq!(b[0].prefix.to_string(), "203.0.113.0/24");
    assert_eq!(b[0].reason, "spray from this net");
    assert_eq!(b[0].actor, "alice-admin");
    let actions = s.replay_actions(t(200)).unwrap();
    assert_eq!(actions.len(), 3, "{actions:?}");
    assert!(
        matches!(actions[1], AdminAction::Protect { ref account, mode: ProtectionMode::InternalOnly, .. } if account == "bob@example.org")
    );
    assert!(
        matches!(actions[2], AdminAction::ShieldsUp { ref protocols, .. } if protocols == &vec![Protocol::Imap, Protocol::Pop3])
    );
    assert!(s.protections(t(2000)).unwrap().is_empty());
    let audit = s.audit(10).unwrap();
    assert_eq!(audit.len(), 4);
    assert_eq!(audit[0].reason, "overnight spray", "newest first");
    assert_eq!(
        audit[3].action,
        entry(
            AdminAction::Block {
                prefix: "203.0.113.0/24".parse().unwrap(),
                at: t(0),
                until: None,
                reason: "spray".into(),
            },
            "",
        )
        .action
    );
}

#[test]
fn unblock_unprotect_shields_down_remove_state_but_stay_audited() {
    let dir = tempfile::tempdir().unwrap();
    let s = Store::open(dir.path().join("s.db"), StoreOptions::default()).unwrap();
    let p: Prefix = "2001:db8::/48".parse().unwrap();
    s.record_admin(entry(
        AdminAction::Block {
            prefix: p,
            at: t(0),
            until: None,
            reason: "x".into(),
        },
        "x",
    ))
    .unwrap();
    s.record_admin(entry(AdminAction::Unblock { prefix: p }, "mistake"))
        .unwrap();
    s.record_admin(entry(
        AdminAction::Protect {
            account: "carol".into(),
            mode: ProtectionMode::Disabled,
            at: t(0),
            until: None,
        },
        "y",
    ))
    .unwrap();
    s.record_admin(entry(
        AdminAction::Unprotect {
            account: "carol".into(),
        },
        "ok now",
    ))
    .unwrap();
    s.record_admin(entry(
        AdminAction::ShieldsUp {
            protocols: vec![],
            at: t(0),
            until: None,
        },
        "z",
    ))
    .unwrap();
    s.record_admin(entry(AdminAction::ShieldsDown, "over"))
        .unwrap();
    assert!(s.replay_actions(t(1)).unwrap().is_empty());
    assert_eq!(s.audit(100).unwrap().len(), 6);
}

#[test]
fn findings_and_campaigns_are_durable_after_flush() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f.db");
    {
        let s = Store::open(&path, StoreOptions::default()).unwrap();
        assert!(s.record_finding(t(1), &Finding::CampaignOpened(campaign("c1", 5))));
        assert!(s.record_finding(t(2), &Finding::CampaignUpdated(campaign("c1", 50))));
        assert!(s.record_finding(
            t(3),
            &Finding::AccountCompromised(CompromisedAccount {
                account: "dave".into(),
                at: t(3),
                source: Some("203.0.113.9".parse().unwrap()),
                campaign: Some("c1".into()),
                evidence: "success inside spray".into(),
            })
        ));
        s.flush().unwrap();
        // Drop without close: the flush alone made them durable.
    }
    let s = Store::open(&path, StoreOptions::default()).unwrap();
    let f = s.findings(0, 100).unwrap();
    assert_eq!(f.len(), 3);
    assert!(matches!(f[2].finding, Finding::AccountCompromised(ref c) if c.account == "dave"));
    assert_eq!(s.findings(f[1].seq, 100).unwrap().len(), 1);
    let cs = s.campaigns(10).unwrap();
    assert_eq!(cs.len(), 1, "one campaign, updated in place");
    assert_eq!(cs[0].attempts, 50);
    assert_eq!(s.campaign("c1").unwrap().unwrap().attempts, 50);
    assert!(s.campaign("c9").unwrap().is_none());
}

#[test]
fn familiar_sources_keep_the_latest_success_and_prune() {
    let dir = tempfile::tempdir().unwrap();
    let s = Store::open(dir.path().join("fam.db"), StoreOptions::default()).unwrap();
    let p: Prefix = "192.0.2.0/24".parse().unwrap();
    let q: Prefix = "2001:db8:1:2::/64".parse().unwrap();
    s.record_familiar("erin", p, t(100));
    s.record_familiar("erin", p, t(50)); // older report arriving late: keeps 100
    s.record_familiar("erin", q, t(10));
    s.record_familiar("frank", p, t(5));
    s.flush().unwrap();
    let all = s.familiar_sources(t(0)).unwrap();
    assert_eq!(all.len(), 3);
    assert_eq!(all.last().unwrap().last_success, t(100));
    assert_eq!(s.familiar_sources(t(20)).unwrap().len(), 1);
    assert_eq!(s.prune(t(20), t(0)).unwrap(), 2);
    assert_eq!(s.familiar_sources(t(0)).unwrap().len(), 1);
}

#[test]
fn only_familiar_batches_skip_the_fsync_and_waiters_cut_the_batch_short() {
    let dir = tempfile::tempdir().unwrap();
    // An hour-long batch interval and familiar hold-back: flush and record_admin must wake
    // the sleeping writer (the test would hang otherwise).
    let s = Store::open(
        dir.path().join("sync.db"),
        StoreOptions {
            batch_interval: Duration::from_secs(3600),
            familiar_interval: Duration::from_secs(3600),
            ..StoreOptions::default()
        },
    )
    .unwrap();
    let p: Prefix = "192.0.2.0/24".parse().unwrap();
    let relaxed = |s: &Store| s.stats().relaxed_commits.load(Ordering::Relaxed);
    let commits = |s: &Store| s.stats().commits.load(Ordering::Relaxed);
    s.record_familiar("erin", p, t(1));
    s.flush().unwrap();
    assert_eq!((commits(&s), relaxed(&s)), (1, 1), "familiar only: NORMAL");
    // A familiar source queued before an admin action is held back (not due, and nobody
    // waits for it): the admin action's FULL transaction holds the action alone.
    s.record_familiar("frank", p, t(2));
    s.record_admin(entry(
        AdminAction::Block {
            prefix: "203.0.113.0/24".parse().unwrap(),
            at: t(2),
            until: None,
            reason: "x".into(),
        },
        "x",
    ))
    .unwrap();
    assert_eq!(
        (commits(&s), relaxed(&s)),
        (2, 1),
        "with an admin action: FULL"
    );
    assert_eq!(
        s.familiar_sources(t(0)).unwrap().len(),
        1,
        "frank held back"
    );
    // A flush takes everything queued, the held-back familiar sources with the finding, in
    // one FULL transaction.
    s.record_familiar("gina", p, t(3));
    s.record_finding(t(3), &Finding::CampaignOpened(campaign("c1", 5)));
    s.flush().unwrap();
    assert_eq!((commits(&s), relaxed(&s)), (3, 1), "with a finding: FULL");
    assert_eq!(s.familiar_sources(t(0)).unwrap().len(), 3);
}

#[test]
fn familiar_sources_are_committed_together_when_due_or_when_many() {
    let dir = tempfile::tempdir().unwrap();
    let s = Store::open(
        dir.path().join("fam.db"),
        StoreOptions {
            batch_interval: Duration::from_millis(1),
            familiar_interval: Duration::from_millis(300),
            familiar_max: 1000,
            ..StoreOptions::default()
        },
    )
    .unwrap();
    let p: Prefix = "192.0.2.0/24".parse().unwrap();
    let commits = |s: &Store| s.stats().commits.load(Ordering::Relaxed);
    let stored = |s: &Store| s.familiar_sources(t(0)).unwrap().len();
    // Due after the interval, with no flush: one relaxed transaction for all of them.
    for i in 0..10 {
        s.record_familiar(&format!("z{i}"), p, t(1));
    }
    std::thread::sleep(Duration::from_millis(50));
    assert_eq!((commits(&s), stored(&s)), (0, 0), "held back");
    let t0 = std::time::Instant::now();
    while stored(&s) < 10 {
        assert!(t0.elapsed() < Duration::from_secs(30), "never committed");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(commits(&s), 1);
    assert_eq!(s.stats().relaxed_commits.load(Ordering::Relaxed), 1);
    // As many as `familiar_max`: committed at once, even with an hour-long interval.
    let s = Store::open(
        dir.path().join("many.db"),
        StoreOptions {
            batch_interval: Duration::from_millis(1),
            familiar_interval: Duration::from_secs(3600),
            familiar_max: 1000,
            ..StoreOptions::default()
        },
    )
    .unwrap();
    for i in 0..999 {
        s.record_familiar(&format!("m{i:04}"), p, t(2));
    }
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(stored(&s), 0, "999 of 1000: held back");
    s.record_familiar("m0999", p, t(2));
    let t0 = std::time::Instant::now();
    while stored(&s) < 1000 {
        assert!(t0.elapsed() < Duration::from_secs(30), "never committed");
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(commits(&s), 1);
}

#[test]
fn a_full_queue_drops_and_counts_instead_of_blocking() {
    let dir = tempfile::tempdir().unwrap();
    let s = Store::open(
        dir.path().join("q.db"),
        StoreOptions {
            batch_interval: Duration::from_millis(200),
            batch_max: 4,
            queue_capacity: 16,
            ..StoreOptions::default()
        },
    )
    .unwrap();
    let p: Prefix = "192.0.2.0/24".parse().unwrap();
    let mut accepted = 0u64;
    for i in 0..10_000 {
        if s.record_familiar(&format!("u{i}"), p, t(i)) {
            accepted += 1;
        }
    }
    s.flush().unwrap();
    let dropped = s.stats().dropped.load(Ordering::Relaxed);
    assert_eq!(accepted + dropped, 10_000);
    assert!(dropped > 0, "a 16-slot queue cannot take 10k items at once");
    let stored = s
        .counts()
        .unwrap()
        .into_iter()
        .find(|c| c.0 == "familiar")
        .unwrap()
        .1;
    assert_eq!(stored as u64, accepted);
}

#[test]
fn writes_after_close_fail_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let s = Store::open(dir.path().join("c.db"), StoreOptions::default()).unwrap();
    s.close().unwrap();
    assert!(matches!(
        s.record_admin(entry(AdminAction::ShieldsDown, "late")),
        Err(StoreError::WriterGone)
    ));
    assert!(!s.record_familiar("x", "192.0.2.1".parse().unwrap(), t(0)));
}

#[test]
fn an_unopenable_path_is_an_explained_error() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("plain-file");
    std::fs::write(&file, b"x").unwrap();
    // A directory under a regular file cannot be created.
    let err = match Store::open(file.join("state.db"), StoreOptions::default()) {
        Err(e) => e,
        Ok(_) => panic!("opened a store under a regular file"),
    };
    assert!(err.to_string().contains("plain-file"), "{err}");
}

#[test]
fn caps_keep_the_newest_rows() {
    let dir = tempfile::tempdir().unwrap();
    let s = Store::open(dir.path().join("cap.db"), StoreOptions::default()).unwrap();
    let p: Prefix = "192.0.2.1".parse().unwrap();
    for i in 0..50 {
        s.record_familiar(&format!("u{i}"), p, t(i));
        s.record_finding(t(i), &Finding::CampaignUpdated(campaign("c1", i as u64)));
    }
    s.flush().unwrap();
    assert_eq!(s.cap(10, 20).unwrap(), 40 + 30);
    let fam = s.familiar_sources(t(0)).unwrap();
    assert_eq!(fam.len(), 10);
    assert_eq!(fam[0].account, "u40", "the oldest kept is the 10th newest");
    let f = s.findings(0, 100).unwrap();
    assert_eq!(f.len(), 20);
    assert!(matches!(f[0].finding, Finding::CampaignUpdated(ref c) if c.attempts == 30));
    // Under the caps nothing goes.
    assert_eq!(s.cap(10, 20).unwrap(), 0);
}

#[test]
fn a_store_that_cannot_be_written_is_named_with_the_cause() {
    let d = tempfile::tempdir().unwrap();
    // A directory where the file should be: SQLite cannot open it, and says so vaguely.
    let path = d.path().join("portcullis.db");
    std::fs::create_dir(&path).unwrap();
    let e = match Store::open(&path, StoreOptions::default()) {
        Ok(_) => panic!("a directory opened as a store"),
        Err(e) => e.to_string(),
    };
    assert!(e.contains(&path.display().to_string()), "{e}");
    assert!(e.contains("cannot write there"), "{e}");
}
