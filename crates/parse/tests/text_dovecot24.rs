//! A real Dovecot 2.4.1 log (Debian 13's `dovecot-imapd`), written by its own `log_path` during
//! `tests/e2e/dovecot24.sh` and kept as `data/dovecot-2.4.1-e2e.log`: the test's recording
//! phase (a wrong password, an unknown user, a good login, a client that leaves without trying)
//! then its scenario against `portcullis serve` (a spray of 160 wrong passwords refused by the
//! policy after the first few, an admin block, good logins from familiar and new addresses).
//!
//! Read through the whole input layer, as `analyze` reads it: the counts must equal what the
//! run did, and counts derived here independently with plain `str` matching, line by line.

use portcullis_core::{Outcome, Protocol};
use portcullis_parse::input::{InputOptions, open};

const LOG: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/data/dovecot-2.4.1-e2e.log"
);

#[test]
fn a_real_dovecot_24_log_counts_every_login_once() {
    let text = std::fs::read_to_string(LOG).unwrap();
    // Independent counts: a 2.4 success is `Logged in:`; every failed attempt writes exactly
    // one login-process line `(auth failed, 1 attempts …)`, and an auth line too when the
    // passdb was asked (`Password mismatch`, `unknown user`), or a policy line when
    // portcullis refused it first.
    let count = |needle: &str| text.lines().filter(|l| l.contains(needle)).count() as u64;
    let logged_in = count(" imap-login: Info: Logged in: ");
    let failed =
        count(" imap-login: Info: Login aborted: Connection closed (auth failed, 1 attempts ");
    let unknown = count(": Info: passwd-file: unknown user ");
    let mismatch = count(": Info: passwd-file: Password mismatch ");
    let refused = count(": Info: policy: Authentication failure due to policy server refusal");
    assert_eq!(count(": Login: "), 0, "2.4 never writes 2.3's `Login:`");
    // What the run did: 6 good logins; 2 + 160 + 1 + 2 refused ones (1 an unknown account).
    assert_eq!((logged_in, failed, unknown), (6, 165, 1));
    assert_eq!(mismatch + unknown + refused, failed);

    let mut s = open(
        &[LOG],
        &InputOptions {
            year: Some(2026),
            ..Default::default()
        },
    )
    .unwrap();
    let events: Vec<_> = s.by_ref().collect();
    let st = s.stats();
    assert_eq!(st.lines, 491);
    let n = |o: Outcome| st.events_by_outcome.get(&o).copied().unwrap_or(0);
    assert_eq!(n(Outcome::Success), logged_in);
    assert_eq!(n(Outcome::UnknownAccount), unknown);
    assert_eq!(n(Outcome::BadPassword), failed - unknown);
    assert_eq!(st.events, logged_in + failed);
    assert_eq!(events.len() as u64, st.events);
    // Nothing unread: `master:`/`imap(…)` lines are other programs, the policy lines are not
    // attempts of their own (the login line counts them), and the connections that never
    // tried (the test's readiness probes, the client that left) are no attempts.
    let reasons: Vec<(&str, u64)> = st.skipped_by_reason.iter().map(|(k, v)| (*k, *v)).collect();
    assert_eq!(
        reasons,
        [
            ("not_an_attempt", 3),
            ("not_auth", 2 * refused),
            ("other_program", 10)
        ]
    );

    // Fields of the first lines, exactly.
    let first_fail = &events[0];
    assert_eq!(first_fail.outcome, Outcome::BadPassword);
    assert_eq!(first_fail.account.name, "alice");
    assert_eq!(first_fail.source, Some("203.0.113.5".parse().unwrap()));
    assert_eq!(first_fail.session.as_deref(), Some("MfsIMd9h3uV/AAAB"));
    assert_eq!(first_fail.ts.to_rfc3339(), "2026-12-05T08:58:08Z");
    // `auth_verbose_passwords = sha1:6`: the SHA-1 of the password alone, 6 digits.
    assert_eq!(first_fail.password_fingerprint, Some(0x3440cd));
    assert!(first_fail.fingerprint_unsalted);
    let unknown_ev = &events[1];
    assert_eq!(
        (unknown_ev.outcome, unknown_ev.account.name.as_str()),
        (Outcome::UnknownAccount, "nosuchuser")
    );
    assert_eq!(unknown_ev.password_fingerprint, Some(0x3440cd));
    let ok = &events[2];
    assert_eq!(ok.outcome, Outcome::Success);
    assert_eq!(ok.protocol, Protocol::Imap);
    assert_eq!(ok.account.name, "alice");
    assert_eq!(ok.source, Some("192.0.2.10".parse().unwrap()));
    assert_eq!(ok.session.as_deref(), Some("lWkSMd9h+OV/AAAB"));

    // Every failure is one attempt of one session: no session counted twice (auth line and
    // login line of one attempt are one event), and no event from the test's own 127.0.0.1.
    let mut sessions: Vec<&str> = events
        .iter()
        .filter(|e| e.outcome.is_failure())
        .map(|e| e.session.as_deref().unwrap())
        .collect();
    sessions.sort_unstable();
    let before = sessions.len();
    sessions.dedup();
    assert_eq!(sessions.len(), before);
    assert!(
        events
            .iter()
            .all(|e| e.source.is_some_and(|ip| !ip.is_loopback()))
    );
    // The spray: 4 addresses × 40 accounts, every attempt a failure.
    let spray = events
        .iter()
        .filter(|e| {
            e.source
                .is_some_and(|ip| ip.to_string().starts_with("203.0.113.1"))
        })
        .count();
    assert_eq!(spray, 161, "160 wrong passwords and the right one, refused");
}
