//! Windows events without a usable address (an interactive logon's 4625 from loopback, a
//! domain controller's 4776 with no address at all) are keyed on the client workstation they
//! name, so a spray run on one machine is a campaign like any other.

mod common;

use common::*;
use portcullis_core::report::{CampaignKind, InputSummary};
use portcullis_core::{Account, AuthEvent, Outcome, Protocol, Timestamp};
use portcullis_engine::{Action, Engine, EngineConfig};

fn win(
    secs: i64,
    protocol: Protocol,
    account: &str,
    source: Option<&str>,
    client: Option<&str>,
    outcome: Outcome,
) -> AuthEvent {
    let mut e = AuthEvent::new(
        Timestamp::from_unix_secs(T0 + secs),
        protocol,
        Account::from_raw(account),
        source.map(|s| s.parse().unwrap()),
        outcome,
    );
    e.client = client.map(str::to_string);
    e
}

const SPRAYED: [&str; 7] = [
    "lrodriguez",
    "pgustavo",
    "sysmonsvc",
    "sbeavers",
    "mscott",
    "pbeesly",
    "nxlogsvc",
];

#[test]
fn a_spray_from_one_workstation_without_addresses_is_a_campaign() {
    for (protocol, source) in [
        (Protocol::Windows, Some("127.0.0.1")),
        (Protocol::Ntlm, None),
        (Protocol::Windows, Some("::1")),
    ] {
        let mut engine = Engine::new(EngineConfig::default());
        // Benign life at other machines, sourceless too.
        for (i, user) in ["alice", "bob", "carol"].iter().enumerate() {
            let ws = format!("WORKSTATION{i}");
            engine.observe(&win(0, protocol, user, source, Some(&ws), Outcome::Success));
            engine.observe(&win(
                60,
                protocol,
                user,
                source,
                Some(&ws),
                Outcome::BadPassword,
            ));
        }
        let mut verdicts = Vec::new();
        for (i, user) in SPRAYED.iter().enumerate() {
            let e = win(
                100 + i as i64,
                protocol,
                user,
                source,
                Some("WORKSTATION5"),
                Outcome::BadPassword,
            );
            verdicts.push(engine.observe(&e).action);
        }
        let report = engine.report(InputSummary::default());
        let spray = report
            .campaigns
            .iter()
            .find(|c| c.kind == CampaignKind::PasswordSpray)
            .unwrap_or_else(|| panic!("{protocol:?} {source:?}: {:#?}", report.campaigns));
        let mut named = spray.accounts.clone();
        named.sort();
        let mut want: Vec<String> = SPRAYED.iter().map(|s| s.to_string()).collect();
        want.sort();
        assert_eq!(named, want, "{spray:#?}");
        assert!(spray.summary.contains("WORKSTATION5"), "{}", spray.summary);
        // A workstation is not an address: nothing is listed or exported as one.
        assert!(
            report.flagged_sources.is_empty(),
            "{:#?}",
            report.flagged_sources
        );
        assert!(spray.sources.is_empty());
        assert_eq!(report.campaigns.len(), 1, "{:#?}", report.campaigns);
        // Flagged at the fifth account; the workstation is held off from then on, the
        // others are not.
        assert_eq!(verdicts[..5], [Action::Allow; 5]);
        assert!(
            verdicts[5..].iter().all(|a| *a != Action::Allow),
            "{verdicts:?}"
        );
        let other = win(
            200,
            protocol,
            "alice",
            source,
            Some("WORKSTATION0"),
            Outcome::Success,
        );
        assert_eq!(engine.observe(&other).action, Action::Allow);
        // Names are case-insensitive (4776 may spell the workstation differently).
        let again = win(
            201,
            protocol,
            "dwight",
            source,
            Some("workstation5"),
            Outcome::BadPassword,
        );
        assert_ne!(engine.observe(&again).action, Action::Allow);
    }
}

#[test]
fn a_shared_machine_where_users_log_in_is_not_flagged_and_user_agents_are_not_keys() {
    let mut engine = Engine::new(EngineConfig::default());
    // A kiosk: six users log in, five of them mistype first.
    for (i, user) in ["u1", "u2", "u3", "u4", "u5", "u6"].iter().enumerate() {
        let t = i as i64 * 600;
        if i < 5 {
            engine.observe(&win(
                t,
                Protocol::Windows,
                user,
                None,
                Some("KIOSK"),
                Outcome::BadPassword,
            ));
        }
        engine.observe(&win(
            t + 20,
            Protocol::Windows,
            user,
            None,
            Some("KIOSK"),
            Outcome::Success,
        ));
    }
    // Entra sign-ins without an address name the application, not a machine.
    for (i, user) in SPRAYED.iter().enumerate() {
        let e = win(
            5000 + i as i64,
            Protocol::Entra,
            user,
            None,
            Some("Mozilla/5.0"),
            Outcome::BadPassword,
        );
        assert_eq!(engine.observe(&e).action, Action::Allow);
    }
    let report = engine.report(InputSummary::default());
    assert!(report.campaigns.is_empty(), "{:#?}", report.campaigns);
}
