//! The step-up verdict (`[engine] step_up`): on an account under attack — a live spray's
//! target, or an account that guessing put at risk — a source that is neither trusted nor
//! familiar and that nothing accuses is asked for a second factor instead of being tarpitted.
//! Off (the default), verdicts are exactly those without it; on, they differ only there; a
//! familiar source is never asked; a step-up never replaces a denial, and the refusals it
//! causes never lock its user out.

mod common;

use common::*;
use portcullis_core::{Account, Outcome, Protocol, Timestamp};
use portcullis_engine::{Action, Attempt, Engine, EngineConfig, Verdict};

/// One call on the engine: a finished attempt, or a question before authentication.
enum Call {
    Observe(portcullis_core::AuthEvent),
    Check {
        secs: i64,
        account: String,
        source: String,
    },
}

fn ask(engine: &mut Engine, secs: i64, account: &str, source: &str) -> Verdict {
    let acct = Account::from_raw(account);
    engine.check(&Attempt {
        ts: Timestamp::from_unix_secs(T0 + secs),
        protocol: Protocol::Imap,
        account: &acct,
        source: Some(source.parse().unwrap()),
        password_fingerprint: Some(pwfp(account, "her own password")),
    })
}

fn run(engine: &mut Engine, calls: &[Call]) -> Vec<Verdict> {
    calls
        .iter()
        .map(|c| match c {
            Call::Observe(e) => engine.observe(e),
            Call::Check {
                secs,
                account,
                source,
            } => ask(engine, *secs, account, source),
        })
        .collect()
}

fn engine(step_up: bool) -> Engine {
    Engine::new(EngineConfig {
        step_up,
        ..Default::default()
    })
}

/// A home address per user (familiar after her first login).
fn home(u: usize) -> String {
    format!("81.{}.{}.10", 2 + u / 200, u % 200)
}

/// 100 users log in from home; a distributed spray fails once on each of 60 of them from 60
/// networks in ten minutes, and again a quarter of an hour later; hours after it is over, bob
/// (user99) has 35 wrong passwords from 35 addresses in half an hour. Questions are asked along the way: by users from home (familiar), by users from new
/// networks (on sprayed accounts, on untouched ones, on bob's), and by the spray's own
/// addresses after it is raised.
fn calls() -> Vec<Call> {
    let mut c = Vec::new();
    for u in 0..100 {
        c.push(Call::Observe(ev(
            u as i64 * 5,
            &account_name(u),
            &home(u),
            Outcome::Success,
            Some(pwfp(&account_name(u), "her own password")),
        )));
    }
    let check = |secs: i64, u: usize, source: &str| Call::Check {
        secs,
        account: account_name(u),
        source: source.to_string(),
    };
    for k in 0..60usize {
        let secs = 1000 + k as i64 * 10;
        c.push(Call::Observe(ev(
            secs,
            &account_name(k),
            &format!("45.{}.{}.9", 10 + k, 3 + k % 7),
            Outcome::BadPassword,
            Some(pwfp(&account_name(k), "Summer2017")),
        )));
        // Every fifth step, questions: a sprayed account from home and from a hotel, an
        // account the spray has not reached from a hotel, and an earlier spray address.
        if k % 5 == 4 {
            c.push(check(secs + 1, k, &home(k)));
            c.push(check(secs + 2, k, &format!("198.51.{}.77", k)));
            c.push(check(secs + 3, 80 + k % 10, &format!("198.51.{}.78", k)));
            c.push(check(
                secs + 4,
                k,
                &format!("45.{}.{}.9", 10 + k - 3, 3 + (k - 3) % 7),
            ));
        }
    }
    // A second round a little later: the same password on the same accounts from new
    // addresses (some of them in networks the first round used).
    for k in 0..60usize {
        let secs = 2000 + k as i64 * 10;
        c.push(Call::Observe(ev(
            secs,
            &account_name(k),
            &format!("45.{}.{}.19", 80 + k, 3 + k % 7),
            Outcome::BadPassword,
            Some(pwfp(&account_name(k), "Summer2017")),
        )));
    }
    let bob = 99;
    for g in 0..35usize {
        let secs = 20_000 + g as i64 * 50;
        c.push(Call::Observe(ev(
            secs,
            &account_name(bob),
            &format!("77.{}.{}.5", 20 + g, 100 + g),
            Outcome::BadPassword,
            Some(g as u64 + 1000),
        )));
        c.push(check(secs + 1, bob, &format!("198.18.{g}.30")));
        c.push(check(secs + 2, bob, &home(bob)));
    }
    c
}

/// Off, no verdict is a step-up; on, the verdicts are the same call for call, except that the
/// tarpits of a sprayed or at-risk account for a source nothing accuses are step-ups (same
/// reason) — and the scenario does reach both kinds, so the comparison means something.
#[test]
fn on_changes_only_the_tarpits_that_protect_an_account_and_off_changes_nothing() {
    let calls = calls();
    let off = run(&mut engine(false), &calls);
    let on = run(&mut engine(true), &calls);
    assert_eq!(off.len(), on.len());
    assert!(off.iter().all(|v| v.action != Action::StepUp));
    let (mut sprayed, mut at_risk, mut denied) = (0, 0, 0);
    for (i, (a, b)) in off.iter().zip(&on).enumerate() {
        let code = a.reasons.first().map(|r| r.code);
        match (a.action, code) {
            (Action::Tarpit { .. }, Some(c @ ("spray_target" | "account_guessing"))) => {
                assert_eq!(b.action, Action::StepUp, "call {i}: {a:?} / {b:?}");
                assert_eq!(a.reasons, b.reasons, "call {i}");
                assert_eq!(a.standing, b.standing, "call {i}");
                if c == "spray_target" {
                    sprayed += 1
                } else {
                    at_risk += 1
                }
            }
            _ => {
                assert_eq!(a, b, "call {i}: only protecting tarpits may change");
                denied += usize::from(a.action == Action::Deny);
            }
        }
    }
    assert!(
        sprayed >= 10,
        "the scenario reached {sprayed} sprayed-account tarpits"
    );
    assert!(
        at_risk >= 10,
        "the scenario reached {at_risk} at-risk tarpits"
    );
    assert!(
        denied > 0,
        "the scenario never reached a denial (bob's lock, flags)"
    );
}

/// On: a familiar source (here the user's home address) is allowed on her sprayed account and
/// on bob's at-risk, then locked, account — never asked for a second factor.
#[test]
fn never_for_a_familiar_source() {
    let calls = calls();
    let on = run(&mut engine(true), &calls);
    let mut asked = 0;
    for (call, v) in calls.iter().zip(&on) {
        if let Call::Check {
            account, source, ..
        } = call
            && source.starts_with("81.")
        {
            assert!(v.standing.familiar, "{account} from {source}");
            assert_eq!(v.action, Action::Allow, "{account} from {source}: {v:?}");
            asked += 1;
        }
    }
    assert!(asked >= 40, "{asked} questions from home");
    assert!(on.iter().any(|v| v.action == Action::StepUp));
}

/// A step-up never replaces a denial (bob's account, past `account_lock_failures`, denies
/// unfamiliar sources in both settings), and the refusals a step-up causes do not lock its
/// user out: alice, on her at-risk account from a hotel, is refused by Dovecot for the second
/// factor (reported as a policy refusal with her own password's fingerprint) every minute for
/// 45 minutes, while her account is at risk — every answer is still a step-up, never a denial, and her address is not
/// flagged; once she passes the second factor from the hotel (a success), the hotel is
/// familiar and she is allowed.
#[test]
fn never_instead_of_a_denial_and_never_a_lockout() {
    let mut e = engine(true);
    let alice = "alice@example.org";
    let hotel = "198.51.100.44";
    e.observe(&ev(0, alice, "81.9.9.9", Outcome::Success, Some(1)));
    // Guessed at from 12 addresses: at risk (10), not locked (30).
    for g in 0..12i64 {
        let src = format!("77.1.{g}.5");
        e.observe(&ev(
            100 + g * 30,
            alice,
            &src,
            Outcome::BadPassword,
            Some(g as u64 + 50),
        ));
    }
    let first = ask(&mut e, 600, alice, hotel);
    assert_eq!(first.action, Action::StepUp, "{first:?}");
    assert_eq!(first.reasons[0].code, "account_guessing");
    for m in 0..45i64 {
        let secs = 660 + m * 60;
        let v = ask(&mut e, secs, alice, hotel);
        assert_eq!(v.action, Action::StepUp, "minute {m}: {v:?}");
        let mut refused = ev(secs, alice, hotel, Outcome::OtherFailure, None);
        refused.password_fingerprint = Some(pwfp(alice, "her own password"));
        let v = e.observe(&refused);
        assert_eq!(v.action, Action::StepUp, "minute {m} (report): {v:?}");
    }
    let report = e.report(Default::default());
    assert!(
        !report
            .flagged_sources
            .iter()
            .any(|f| f.source.contains(hotel.parse().unwrap())),
        "the hotel was flagged: {:?}",
        report.flagged_sources
    );
    // The second factor passed (the web portal reports the success).
    e.observe(&ev(
        8000,
        alice,
        hotel,
        Outcome::Success,
        Some(pwfp(alice, "x")),
    ));
    let v = ask(&mut e, 8010, alice, hotel);
    assert_eq!(v.action, Action::Allow, "{v:?}");
    assert!(v.standing.familiar);

    // Bob, locked for unfamiliar sources: denied with or without step-up.
    for step_up in [false, true] {
        let mut e = engine(step_up);
        e.observe(&ev(0, "bob", "81.9.9.8", Outcome::Success, Some(1)));
        for g in 0..35i64 {
            let src = format!("77.2.{g}.5");
            e.observe(&ev(
                100 + g * 20,
                "bob",
                &src,
                Outcome::BadPassword,
                Some(g as u64 + 50),
            ));
        }
        let v = ask(&mut e, 900, "bob", "198.51.100.45");
        assert_eq!(v.action, Action::Deny, "step_up {step_up}: {v:?}");
        assert_eq!(v.reasons[0].code, "account_guessing");
        assert_eq!(ask(&mut e, 901, "bob", "81.9.9.8").action, Action::Allow);
    }
}

/// Trusted networks are never asked either: a host inside them (not flagged) on a sprayed or
/// at-risk account is allowed as without step-up.
#[test]
fn never_for_a_trusted_network() {
    let mut e = engine(true);
    e.observe(&ev(0, "carol", "81.9.9.7", Outcome::Success, Some(1)));
    for g in 0..12i64 {
        let src = format!("77.3.{g}.5");
        e.observe(&ev(
            100 + g * 30,
            "carol",
            &src,
            Outcome::BadPassword,
            Some(g as u64 + 50),
        ));
    }
    assert_eq!(
        ask(&mut e, 600, "carol", "198.51.100.46").action,
        Action::StepUp
    );
    let v = ask(&mut e, 601, "carol", "10.1.2.3");
    assert_eq!(v.action, Action::Allow, "{v:?}");
    assert!(v.standing.trusted);
}
