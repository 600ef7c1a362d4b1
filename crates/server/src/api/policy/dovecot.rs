//! Dovecot's auth_policy protocol (2.3 and 2.4; wforce clients speak the same): `allow` before
//! authentication, `report` after it. `allow` answers `{"status": int, "msg": str, "r_attrs":
//! {}}` (< 0 reject, 0 allow, > 0 delay seconds; a step-up is a rejection whose message points
//! to the second factor, marked `"r_attrs": {"step_up": "true"}`); `report` answers
//! `{"status": "ok"}`.
//!
//! Strict where it matters: a `password` attribute is refused (400, as by the native API:
//! only fingerprints cross the wire), and a `report` whose `success` is missing or not
//! boolean-like (`true`/`false`, `1`/`0`, `"yes"`/`"no"`) is refused (400) rather than
//! counted as a wrong password.

use super::{PolicyState, count_effective};
use crate::http::{Gate, json_bytes, parse_json};
use crate::hub::{Effective, now, resolve};
use crate::labels::Rejection;
use axum::body::Bytes;
use axum::http::StatusCode;
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
    /// The boolean, when the value is one by any of the usual spellings.
    fn as_bool(&self) -> Option<bool> {
        match self {
            Loose::Bool(b) => Some(*b),
            Loose::Num(0) => Some(false),
            Loose::Num(1) => Some(true),
            Loose::Str(s) => match s.trim().to_ascii_lowercase().as_str() {
                "true" | "1" | "yes" | "y" => Some(true),
                "false" | "0" | "no" | "n" => Some(false),
                _ => None,
            },
            _ => None,
        }
    }

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
    /// Refused when present: portcullis never takes a plaintext password here.
    #[serde(default)]
    password: Option<IgnoredAny>,
}

const PASSWORD_REFUSED: &str = "a `password` attribute is refused: portcullis never accepts \
    plaintext passwords; send `pwhash` (Dovecot's auth_policy_hash_*) instead";
const SUCCESS_REQUIRED: &str = "report needs a boolean `success` (true/false, 1/0, \"yes\"/\"no\")";

/// The login tuple of a request, or the refusal: bad JSON, or a `password` attribute.
fn tuple<'a>(st: &PolicyState, bytes: &'a [u8]) -> Result<LoginTuple<'a>, Response> {
    let t: LoginTuple = parse_json(st, bytes)?;
    if t.password.is_some() {
        return Err(st.refuse(
            StatusCode::BAD_REQUEST,
            Rejection::PasswordField,
            PASSWORD_REFUSED,
        ));
    }
    Ok(t)
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
/// None when `success` is missing or not boolean-like.
fn report_outcome(t: &LoginTuple<'_>) -> Option<Outcome> {
    if t.success.as_ref()?.as_bool()? {
        return Some(Outcome::Success);
    }
    if t.policy_reject.as_ref().is_some_and(Loose::truthy) {
        return Some(Outcome::OtherFailure);
    }
    Some(match t.fail_type.as_deref() {
        Some(ft) if !ft.is_empty() => outcome_from_fail_type(ft),
        _ => Outcome::BadPassword,
    })
}

fn nonempty<'s>(s: &'s Option<Cow<'_, str>>) -> Option<&'s str> {
    s.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

/// Dovecot/wforce `allow`.
pub(super) fn allow(st: &PolicyState, bytes: &[u8]) -> Response {
    let t = match tuple(st, bytes) {
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
    let eff = resolve(verdict.action);
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
        // A refusal for Dovecot (-1 by default: Dovecot 2.2 and 2.3.0–2.3.4 refuse only on
        // exactly -1 and let any other negative status through), whose message the client
        // sees; `step_up_status = -2` is wforce#280's "second factor required"; the
        // `step_up` return attribute says it to wforce clients either way.
        Effective::StepUp => Bytes::from(format!(
            "{{\"status\":{},\"msg\":{},\"r_attrs\":{{\"step_up\":\"true\"}}}}",
            st.cfg.step_up_status,
            serde_json::Value::from(st.cfg.step_up_message.as_str())
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
    let t = match tuple(st, bytes) {
        Ok(t) => t,
        Err(r) => return r,
    };
    let Some(outcome) = report_outcome(&t) else {
        return st.refuse(
            StatusCode::BAD_REQUEST,
            Rejection::BadRequest,
            SUCCESS_REQUIRED,
        );
    };
    let mut ev = AuthEvent::new(
        now(),
        nonempty(&t.protocol)
            .map(Protocol::from_service)
            .unwrap_or(Protocol::Other),
        Account::new(nonempty(&t.login).unwrap_or(""), &st.normalize),
        nonempty(&t.remote).and_then(parse_ip),
        outcome,
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
        let r = |s: &str| report_outcome(&serde_json::from_str::<LoginTuple>(s).unwrap());
        let o = |s: &str| r(s).unwrap();
        assert_eq!(o(r#"{"login":"a","success":true}"#), Outcome::Success);
        assert_eq!(o(r#"{"login":"a","success":"no"}"#), Outcome::BadPassword);
        assert_eq!(o(r#"{"login":"a","success":1}"#), Outcome::Success);
        // Missing or not boolean-like: no outcome (the report is refused).
        assert_eq!(r(r#"{"login":"a"}"#), None);
        assert_eq!(r(r#"{"login":"a","success":"maybe"}"#), None);
        assert_eq!(r(r#"{"login":"a","success":2}"#), None);
        assert_eq!(r(r#"{"login":"a","success":null}"#), None);
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
