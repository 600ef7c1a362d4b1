//! The native JSON API v1 (docs/openapi.yaml): `POST /v1/check`, `/v1/report`, their batch
//! forms, and `POST /v1/password/check`. A `password` field is refused everywhere but the
//! password check: only fingerprints cross the wire.

use super::{PolicyState, count_effective};
use crate::http::{AdmittedBody, Gate, json_response, parse_json};
use crate::hub::{Effective, EngineHandle, now, resolve};
use crate::labels::{Endpoint, Rejection};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use portcullis_core::event::fingerprint_from_hex;
use portcullis_core::{Account, AuthEvent, Outcome, Protocol, addr::parse_ip};
use portcullis_engine::{Attempt, Verdict};
use serde::Deserialize;
use serde::de::IgnoredAny;
use serde_json::json;

/// A native check request.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NativeAttempt {
    account: String,
    #[serde(default)]
    source: Option<String>,
    #[serde(default)]
    protocol: Option<String>,
    /// Hex fingerprint of the password tried (never the password).
    #[serde(default)]
    password_fingerprint: Option<String>,
    /// Present only to refuse it with a clear message.
    #[serde(default)]
    password: Option<IgnoredAny>,
}

/// A native report request.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NativeEvent {
    account: String,
    outcome: Outcome,
    #[serde(default)]
    source: Option<String>,
    #[serde(default)]
    protocol: Option<String>,
    #[serde(default)]
    password_fingerprint: Option<String>,
    #[serde(default)]
    client: Option<String>,
    #[serde(default)]
    session: Option<String>,
    #[serde(default)]
    server: Option<String>,
    #[serde(default)]
    password: Option<IgnoredAny>,
}

const PASSWORD_REFUSED: &str = "a `password` field is refused: portcullis never accepts \
    plaintext passwords; send `password_fingerprint` (hex) instead";

/// A native item error (message, metrics reason).
type ItemError = (String, Rejection);

fn native_source(s: &Option<String>) -> Result<Option<std::net::IpAddr>, ItemError> {
    match s.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(s) => parse_ip(s).map(Some).ok_or_else(|| {
            (
                format!("source {s:?} is not an IP address"),
                Rejection::BadRequest,
            )
        }),
    }
}

fn native_fp(s: &Option<String>) -> Result<Option<u64>, ItemError> {
    match s.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(h) => fingerprint_from_hex(h).map(Some).ok_or_else(|| {
            (
                "password_fingerprint is not hex".into(),
                Rejection::BadRequest,
            )
        }),
    }
}

fn native_protocol(s: &Option<String>) -> Protocol {
    s.as_deref()
        .map(Protocol::from_service)
        .unwrap_or(Protocol::Other)
}

fn native_verdict(h: &EngineHandle, v: &Verdict) -> serde_json::Value {
    let eff = resolve(v.action);
    count_effective(h, eff);
    let (action, delay) = match eff {
        Effective::Allow => ("allow", 0),
        Effective::Tarpit(s) => ("tarpit", s),
        Effective::Deny => ("deny", 0),
        // Distinct: the client asks for the second factor (or, if it has none, refuses).
        Effective::StepUp => ("step_up", 0),
    };
    json!({
        "action": action,
        "delay_secs": delay,
        "engine_action": v.action.as_str(),
        "reasons": v.reasons,
        "standing": v.standing,
    })
}

fn native_check_one(st: &PolicyState, a: NativeAttempt) -> Result<serde_json::Value, ItemError> {
    if a.password.is_some() {
        return Err((PASSWORD_REFUSED.into(), Rejection::PasswordField));
    }
    let source = native_source(&a.source)?;
    let account = Account::new(&a.account, &st.normalize);
    let attempt = Attempt {
        ts: now(),
        protocol: native_protocol(&a.protocol),
        account: &account,
        source,
        password_fingerprint: native_fp(&a.password_fingerprint)?,
    };
    let v = st.handle.check(&attempt);
    Ok(native_verdict(&st.handle, &v))
}

fn native_report_one(st: &PolicyState, e: NativeEvent) -> Result<serde_json::Value, ItemError> {
    if e.password.is_some() {
        return Err((PASSWORD_REFUSED.into(), Rejection::PasswordField));
    }
    let source = native_source(&e.source)?;
    let mut ev = AuthEvent::new(
        now(),
        native_protocol(&e.protocol),
        Account::new(&e.account, &st.normalize),
        source,
        e.outcome,
    );
    ev.password_fingerprint = native_fp(&e.password_fingerprint)?;
    ev.client = e.client;
    ev.session = e.session;
    ev.server = e.server;
    let v = st.handle.observe(&ev);
    st.handle.metrics().observed();
    Ok(native_verdict(&st.handle, &v))
}

fn item_response(st: &PolicyState, r: Result<serde_json::Value, ItemError>) -> Response {
    match r {
        Ok(v) => json_response(StatusCode::OK, &v),
        Err((msg, why)) => st.refuse(StatusCode::BAD_REQUEST, why, &msg),
    }
}

/// A password field anywhere in a request is refused before typed parsing, so the error is
/// the clear one even when other fields are also wrong.
fn mentions_password_field(v: &serde_json::Value) -> bool {
    match v {
        serde_json::Value::Object(m) => {
            m.contains_key("password") || m.values().any(mentions_password_field)
        }
        serde_json::Value::Array(a) => a.iter().any(mentions_password_field),
        _ => false,
    }
}

pub(super) async fn v1_check(
    State(st): State<PolicyState>,
    AdmittedBody(bytes): AdmittedBody,
) -> Response {
    st.handle.metrics().request(Endpoint::V1Check);
    let a: NativeAttempt = match parse_json(&st, &bytes) {
        Ok(a) => a,
        Err(r) => return r,
    };
    item_response(&st, native_check_one(&st, a))
}

/// `POST /v1/password/check`: a candidate password for a password-change flow (Keycloak,
/// self-service portals), judged against the breach filter, zxcvbn and NIST SP 800-63B. The one
/// endpoint that takes a password: it is neither stored nor logged, and the answer never
/// contains it. Same authentication and limits as the rest of the policy API.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PasswordCheck {
    password: String,
    /// Words the password must not be built on: the user's name parts, login, e-mail.
    #[serde(default)]
    user_inputs: Vec<String>,
}

pub(super) async fn v1_password_check(
    State(st): State<PolicyState>,
    AdmittedBody(bytes): AdmittedBody,
) -> Response {
    st.handle.metrics().request(Endpoint::V1PasswordCheck);
    let Some(checker) = st.passwords.clone() else {
        return json_response(
            StatusCode::NOT_FOUND,
            &json!({"error": "password checking is not configured ([passwords] in portcullis.toml)"}),
        );
    };
    let req: PasswordCheck = match parse_json(&st, &bytes) {
        Ok(r) => r,
        Err(r) => return r,
    };
    // zxcvbn is CPU-bound (milliseconds for long inputs): keep it off the async workers.
    let result = tokio::task::spawn_blocking(move || {
        let inputs: Vec<&str> = req.user_inputs.iter().map(String::as_str).collect();
        checker.check(&req.password, &inputs)
    })
    .await;
    match result {
        Ok(r) => match serde_json::to_value(&r) {
            Ok(v) => json_response(StatusCode::OK, &v),
            Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
        },
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

pub(super) async fn v1_report(
    State(st): State<PolicyState>,
    AdmittedBody(bytes): AdmittedBody,
) -> Response {
    st.handle.metrics().request(Endpoint::V1Report);
    let e: NativeEvent = match parse_json(&st, &bytes) {
        Ok(a) => a,
        Err(r) => return r,
    };
    item_response(&st, native_report_one(&st, e))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Batch {
    items: Vec<serde_json::Value>,
}

fn batch(
    st: PolicyState,
    bytes: &[u8],
    endpoint: Endpoint,
    one: impl Fn(&PolicyState, serde_json::Value) -> Result<serde_json::Value, ItemError>,
) -> Response {
    st.handle.metrics().request(endpoint);
    let b: Batch = match parse_json(&st, bytes) {
        Ok(b) => b,
        Err(r) => return r,
    };
    if b.items.len() > st.cfg.batch_max_events {
        return st.refuse(
            StatusCode::PAYLOAD_TOO_LARGE,
            Rejection::BadRequest,
            &format!("at most {} items per batch", st.cfg.batch_max_events),
        );
    }
    let results: Vec<serde_json::Value> = b
        .items
        .into_iter()
        .map(|v| match one(&st, v) {
            Ok(v) => v,
            Err((msg, why)) => {
                st.handle.metrics().rejection(why);
                json!({"error": msg})
            }
        })
        .collect();
    json_response(StatusCode::OK, &json!({"results": results}))
}

fn typed<T: serde::de::DeserializeOwned>(v: serde_json::Value) -> Result<T, ItemError> {
    if mentions_password_field(&v) {
        return Err((PASSWORD_REFUSED.into(), Rejection::PasswordField));
    }
    serde_json::from_value(v).map_err(|e| (format!("invalid item: {e}"), Rejection::BadJson))
}

pub(super) async fn v1_check_batch(
    State(st): State<PolicyState>,
    AdmittedBody(bytes): AdmittedBody,
) -> Response {
    batch(st, &bytes, Endpoint::V1CheckBatch, |st, v| {
        native_check_one(st, typed(v)?)
    })
}

pub(super) async fn v1_report_batch(
    State(st): State<PolicyState>,
    AdmittedBody(bytes): AdmittedBody,
) -> Response {
    batch(st, &bytes, Endpoint::V1ReportBatch, |st, v| {
        native_report_one(st, typed(v)?)
    })
}
