//! Dovecot's auth_policy protocol (2.3 and 2.4; wforce clients speak the same): `allow` before
//! authentication, `report` after it. `allow` answers `{"status": int, "msg": str, "r_attrs":
//! {}}` (< 0 reject, 0 allow, > 0 delay seconds); `report` answers `{"status": "ok"}`.

use super::{PolicyState, count_effective};
use crate::http::{json_bytes, parse_json};
use crate::hub::{Effective, now, resolve};
use axum::body::Bytes;
use axum::response::Response;
use portcullis_core::event::fingerprint_from_hex;
use portcullis_core::{Account, AuthEvent, Outcome, Protocol, addr::parse_ip};
use portcullis_engine::Attempt;
use serde::Deserialize;
use serde::de::IgnoredAny;
use std::borrow::Cow;

/// A boolean as clients send it: JSON bool, or "true"/"1"/"yes" strings, or numbers.
#[derive(Deserialize)]
#[serde(untagged)]
enum Loose<'a> {
    Bool(bool),
    Num(i64),
    #[serde(borrow)]
    Str(Cow<'a, str>),
    Other(IgnoredAny),
}

impl Loose<'_> {
    fn truthy(&self) -> bool {
        match self {
            Loose::Bool(b) => *b,
            Loose::Num(n) => *n != 0,
            Loose::Str(s) => matches!(
                s.trim().to_ascii_lowercase().as_str(),
                "true" | "1" | "yes" | "y"
            ),
            Loose::Other(_) => false,
        }
    }
}

/// The Dovecot / wforce login tuple (unknown attributes are ignored: Dovecot's
/// `auth_policy_request_attributes` may add any).
#[derive(Deserialize)]
struct LoginTuple<'a> {
    #[serde(borrow, default)]
    login: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    remote: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pwhash: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    protocol: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    device_id: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    session_id: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    success: Option<Loose<'a>>,
    #[serde(borrow, default)]
    policy_reject: Option<Loose<'a>>,
    #[serde(borrow, default)]
    fail_type: Option<Cow<'a, str>>,
}

/// Maps Dovecot 2.4's `fail_type` to an outcome.
pub fn outcome_from_fail_type(ft: &str) -> Outcome {
    match ft.trim().to_ascii_lowercase().as_str() {
        "credentials" | "password" | "password_mismatch" => Outcome::BadPassword,
        "account" | "user_unknown" | "unknown" | "unknown_user" => Outcome::UnknownAccount,
        "expired" | "password_expired" => Outcome::Expired,
        "disabled" => Outcome::Disabled,
        "locked" => Outcome::Locked,
        _ => Outcome::OtherFailure,
    }
}

/// The outcome of a Dovecot/wforce report: success; a policy rejection (we do not know
/// whether the password was right: `other_failure`); else `fail_type` when Dovecot 2.4 sends
/// it, else a wrong password (what Dovecot 2.3's `success: false` almost always means).
fn report_outcome(t: &LoginTuple<'_>) -> Outcome {
    if t.success.as_ref().is_some_and(Loose::truthy) {
        return Outcome::Success;
    }
    if t.policy_reject.as_ref().is_some_and(Loose::truthy) {
        return Outcome::OtherFailure;
    }
    match t.fail_type.as_deref() {
        Some(ft) if !ft.is_empty() => outcome_from_fail_type(ft),
        _ => Outcome::BadPassword,
    }
}

fn nonempty<'s>(s: &'s Option<Cow<'_, str>>) -> Option<&'s str> {
    s.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

/// Dovecot/wforce `allow`.
pub(super) fn allow(st: &PolicyState, bytes: &[u8]) -> Response {
    let t: LoginTuple = match parse_json(st, bytes) {
        Ok(t) => t,
        Err(r) => return r,
    };
    let account = Account::new(nonempty(&t.login).unwrap_or(""), &st.normalize);
    let source = nonempty(&t.remote).and_then(parse_ip);
    let attempt = Attempt {
        ts: now(),
        protocol: nonempty(&t.protocol)
            .map(Protocol::from_service)
            .unwrap_or(Protocol::Other),
        account: &account,
        source,
        password_fingerprint: nonempty(&t.pwhash).and_then(fingerprint_from_hex),
    };
    let verdict = st.handle.check(&attempt);
    let eff = resolve(verdict.action, source, st.handle.trusted());
    count_effective(&st.handle, eff);
    // Field order matters: old Dovecot parsers stop at the first unknown key.
    let body = match eff {
        // The common answer is a constant: no formatting, no allocation.
        Effective::Allow => Bytes::from_static(ALLOW_BODY.as_bytes()),
        Effective::Tarpit(s) => {
            Bytes::from(format!("{{\"status\":{s},\"msg\":\"\",\"r_attrs\":{{}}}}"))
        }
        Effective::Deny => Bytes::from(format!(
            "{{\"status\":-1,\"msg\":{},\"r_attrs\":{{}}}}",
            serde_json::Value::from(st.cfg.reject_message.as_str())
        )),
    };
    json_bytes(body)
}

/// Dovecot's answer to an allowed attempt (field order matters: old Dovecot parsers stop at
/// the first unknown key).
const ALLOW_BODY: &str = r#"{"status":0,"msg":"","r_attrs":{}}"#;
/// The answer to a report.
const REPORT_OK_BODY: &str = r#"{"status":"ok"}"#;

/// Dovecot/wforce `report`.
pub(super) fn report(st: &PolicyState, bytes: &[u8]) -> Response {
    let t: LoginTuple = match parse_json(st, bytes) {
        Ok(t) => t,
        Err(r) => return r,
    };
    let mut ev = AuthEvent::new(
        now(),
        nonempty(&t.protocol)
            .map(Protocol::from_service)
            .unwrap_or(Protocol::Other),
        Account::new(nonempty(&t.login).unwrap_or(""), &st.normalize),
        nonempty(&t.remote).and_then(parse_ip),
        report_outcome(&t),
    );
    ev.password_fingerprint = nonempty(&t.pwhash).and_then(fingerprint_from_hex);
    ev.client = nonempty(&t.device_id).map(str::to_string);
    ev.session = nonempty(&t.session_id).map(str::to_string);
    st.handle.observe(&ev);
    st.handle.metrics().observed();
    json_bytes(Bytes::from_static(REPORT_OK_BODY.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fail_types_map_to_outcomes() {
        assert_eq!(outcome_from_fail_type("credentials"), Outcome::BadPassword);
        assert_eq!(outcome_from_fail_type("account"), Outcome::UnknownAccount);
        assert_eq!(outcome_from_fail_type("expired"), Outcome::Expired);
        assert_eq!(outcome_from_fail_type("disabled"), Outcome::Disabled);
        assert_eq!(outcome_from_fail_type("internal"), Outcome::OtherFailure);
    }

    #[test]
    fn report_outcomes_from_dovecot_bodies() {
        let o = |s: &str| report_outcome(&serde_json::from_str::<LoginTuple>(s).unwrap());
        assert_eq!(o(r#"{"login":"a","success":true}"#), Outcome::Success);
        assert_eq!(o(r#"{"login":"a","success":"true"}"#), Outcome::Success);
        assert_eq!(o(r#"{"login":"a","success":false}"#), Outcome::BadPassword);
        assert_eq!(
            o(r#"{"login":"a","success":false,"policy_reject":true}"#),
            Outcome::OtherFailure
        );
        assert_eq!(
            o(r#"{"login":"a","success":false,"fail_type":"account"}"#),
            Outcome::UnknownAccount
        );
        // Extra attributes of any shape are ignored.
        assert_eq!(
            o(r#"{"login":"a","success":true,"attrs":{"x":[1,2]},"tls":true}"#),
            Outcome::Success
        );
    }
}
