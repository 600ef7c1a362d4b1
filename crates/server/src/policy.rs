//! The policy listener: Dovecot auth_policy, the wforce-compatible API and the native JSON API
//! v1, behind one authentication check and the same request limits.
//!
//! - Dovecot (2.3, 2.4) and wforce clients: `POST /?command=allow|report|...` (the command may
//!   follow other query parameters, as when Dovecot's URL ends in `&`), or `/command/<name>`.
//!   `allow` answers `{"status": int, "msg": str, "r_attrs": {}}` (< 0 reject, 0 allow, > 0
//!   delay seconds); `report` answers `{"status": "ok"}`.
//! - Native: `POST /v1/check`, `/v1/report`, `/v1/check/batch`, `/v1/report/batch`
//!   (docs/openapi.yaml). A `password` field is refused: only fingerprints cross the wire.
//!
//! Every request is authenticated (HTTP Basic or the API-key header, compared in constant
//! time), its body capped at `body_limit_bytes` and its JSON nesting at `json_max_depth`
//! before parsing. Event times are the server's wall clock at arrival.

use crate::config::ServerConfig;
use crate::handle::{Effective, EngineHandle, now, resolve};
use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use base64::Engine as _;
use portcullis_core::event::fingerprint_from_hex;
use portcullis_core::{
    Account, AuthEvent, NormalizeOptions, Outcome, Prefix, Protocol, Timestamp, addr::parse_ip,
};
use portcullis_engine::{Action, AdminAction, Attempt, ProtectionMode, Verdict};
use portcullis_store::AuditEntry;
use serde::Deserialize;
use serde::de::IgnoredAny;
use serde_json::json;
use std::borrow::Cow;
use std::sync::Arc;
use subtle::ConstantTimeEq;

/// Shared state of the policy handlers.
#[derive(Clone)]
pub struct PolicyState {
    pub handle: EngineHandle,
    pub cfg: Arc<ServerConfig>,
    pub normalize: Arc<NormalizeOptions>,
    /// The password checker behind `POST /v1/password/check` (`[passwords]`); None: 404.
    pub passwords: Option<Arc<portcullis_passwords::PasswordChecker>>,
}

/// The policy router (Dovecot, wforce, native v1, health).
pub fn router(state: PolicyState) -> Router {
    Router::new()
        .route("/v1/check", post(v1_check))
        .route("/v1/report", post(v1_report))
        .route("/v1/check/batch", post(v1_check_batch))
        .route("/v1/report/batch", post(v1_report_batch))
        .route("/v1/password/check", post(v1_password_check))
        .route("/command/{cmd}", any(command_path))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .fallback(command_query)
        .with_state(state)
}

pub(crate) async fn healthz() -> &'static str {
    "ok\n"
}

pub(crate) async fn readyz(State(st): State<PolicyState>) -> Response {
    ready_response(&st.handle)
}

pub(crate) fn ready_response(h: &EngineHandle) -> Response {
    if h.is_ready() {
        (StatusCode::OK, "ready\n").into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "not ready\n").into_response()
    }
}

/// A JSON response.
pub(crate) fn json_response(status: StatusCode, v: &serde_json::Value) -> Response {
    let body = serde_json::to_vec(v).unwrap_or_else(|_| b"{}".to_vec());
    let mut r = (status, body).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}

/// A refusal: counted under `why`, explained in `msg`.
pub(crate) fn refuse(h: &EngineHandle, status: StatusCode, why: &str, msg: &str) -> Response {
    h.metrics().rejection(why);
    json_response(status, &json!({"status": "failure", "reason": msg}))
}

/// True when the headers carry the configured policy credentials.
pub fn policy_authorized(cfg: &ServerConfig, headers: &HeaderMap) -> bool {
    let has_basic = !cfg.policy_password.is_empty();
    let has_key = !cfg.policy_api_key.is_empty();
    if !has_basic && !has_key {
        return cfg.allow_unauthenticated;
    }
    if has_key
        && let Some(v) = headers.get(cfg.api_key_header.as_str())
        && bool::from(v.as_bytes().ct_eq(cfg.policy_api_key.as_bytes()))
    {
        return true;
    }
    if has_basic
        && let Some(v) = headers.get(header::AUTHORIZATION)
        && let Some(b64) = v.to_str().ok().and_then(|s| {
            s.strip_prefix("Basic ")
                .or_else(|| s.strip_prefix("basic "))
        })
    {
        // Decoded on the stack (no allocation per request) unless it is unusually long.
        let mut buf = [0u8; 256];
        let engine = &base64::engine::general_purpose::STANDARD;
        return match engine.decode_slice(b64.trim(), &mut buf) {
            Ok(n) => basic_matches(cfg, &buf[..n]),
            Err(_) => engine
                .decode(b64.trim())
                .is_ok_and(|d| basic_matches(cfg, &d)),
        };
    }
    false
}

/// True when `decoded` is `user:password` of the configuration (the contents compared in
/// constant time; only the length can differ early, as with any comparison of secrets).
fn basic_matches(cfg: &ServerConfig, decoded: &[u8]) -> bool {
    let (user, pass) = (cfg.policy_user.as_bytes(), cfg.policy_password.as_bytes());
    if decoded.len() != user.len() + 1 + pass.len() {
        return false;
    }
    let (u, rest) = decoded.split_at(user.len());
    bool::from(u.ct_eq(user) & rest[..1].ct_eq(b":") & rest[1..].ct_eq(pass))
}

/// Checks that `body` nests JSON no deeper than `max` (strings are skipped correctly).
pub fn json_depth_ok(body: &[u8], max: usize) -> bool {
    let mut depth = 0usize;
    let mut in_str = false;
    let mut esc = false;
    for &b in body {
        if in_str {
            if esc {
                esc = false;
            } else if b == b'\\' {
                esc = true;
            } else if b == b'"' {
                in_str = false;
            }
            continue;
        }
        match b {
            b'"' => in_str = true,
            b'{' | b'[' => {
                depth += 1;
                if depth > max {
                    return false;
                }
            }
            b'}' | b']' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    true
}

/// Reads, authenticates and bounds a request body; `Err` is the refusal to send.
async fn admit(st: &PolicyState, headers: &HeaderMap, body: Body) -> Result<Bytes, Response> {
    if !policy_authorized(&st.cfg, headers) {
        let mut r = refuse(
            &st.handle,
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "Unauthorized",
        );
        r.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"portcullis\""),
        );
        return Err(r);
    }
    let bytes = axum::body::to_bytes(body, st.cfg.body_limit_bytes)
        .await
        .map_err(|_| {
            refuse(
                &st.handle,
                StatusCode::PAYLOAD_TOO_LARGE,
                "body_too_large",
                "request body too large",
            )
        })?;
    if !json_depth_ok(&bytes, st.cfg.json_max_depth) {
        return Err(refuse(
            &st.handle,
            StatusCode::BAD_REQUEST,
            "json_too_deep",
            "JSON nested too deeply",
        ));
    }
    Ok(bytes)
}

fn parse_json<'a, T: Deserialize<'a>>(st: &PolicyState, bytes: &'a [u8]) -> Result<T, Response> {
    serde_json::from_slice(bytes).map_err(|e| {
        refuse(
            &st.handle,
            StatusCode::BAD_REQUEST,
            "bad_json",
            &format!("invalid request body: {e}"),
        )
    })
}

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

fn count_effective(h: &EngineHandle, e: Effective) {
    h.metrics().verdict(match e {
        Effective::Allow => "allow",
        Effective::Tarpit(_) => "tarpit",
        Effective::Deny => "deny",
    });
}

/// Dovecot/wforce `allow`.
fn dovecot_allow(st: &PolicyState, bytes: &[u8]) -> Response {
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

/// A 200 response with a JSON body already serialised.
fn json_bytes(body: Bytes) -> Response {
    let mut r = (StatusCode::OK, body).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}

/// Dovecot/wforce `report`.
fn dovecot_report(st: &PolicyState, bytes: &[u8]) -> Response {
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

/// The command named by the query string (`command=X` anywhere in it).
fn command_from_query(q: Option<&str>) -> Option<&str> {
    q?.split('&')
        .find_map(|kv| kv.strip_prefix("command="))
        .filter(|c| !c.is_empty())
}

async fn command_query(State(st): State<PolicyState>, req: Request) -> Response {
    // The whole request, taken apart here: the query, method and headers are borrowed, not
    // copied as the separate extractors would.
    let (parts, body) = req.into_parts();
    match command_from_query(parts.uri.query()) {
        Some(cmd) => dispatch(st, cmd, &parts.method, &parts.headers, body).await,
        None => refuse(
            &st.handle,
            StatusCode::NOT_FOUND,
            "unknown_command",
            "no such endpoint: use ?command=allow|report|..., /command/<name> or /v1/...",
        ),
    }
}

async fn command_path(
    State(st): State<PolicyState>,
    Path(cmd): Path<String>,
    req: Request,
) -> Response {
    let (parts, body) = req.into_parts();
    dispatch(st, &cmd, &parts.method, &parts.headers, body).await
}

async fn dispatch(
    st: PolicyState,
    cmd: &str,
    method: &Method,
    headers: &HeaderMap,
    body: Body,
) -> Response {
    let known = [
        "allow",
        "report",
        "reset",
        "addBLEntry",
        "delBLEntry",
        "getBL",
        "ping",
        "stats",
    ];
    if !known.contains(&cmd) {
        return refuse(
            &st.handle,
            StatusCode::NOT_FOUND,
            "unknown_command",
            &format!("unknown command {cmd:?}"),
        );
    }
    let _timer = matches!(cmd, "allow" | "report").then(|| st.handle.metrics().decision_timer());
    let bytes = match admit(&st, headers, body).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    st.handle.metrics().request(cmd);
    let needs_post = !matches!(cmd, "getBL" | "ping" | "stats");
    if needs_post && method != Method::POST {
        return refuse(
            &st.handle,
            StatusCode::METHOD_NOT_ALLOWED,
            "bad_request",
            "use POST",
        );
    }
    match cmd {
        "allow" => dovecot_allow(&st, &bytes),
        "report" => dovecot_report(&st, &bytes),
        "ping" => json_response(StatusCode::OK, &json!({"status": "ok"})),
        "stats" => wforce_stats(&st),
        "getBL" => wforce_get_bl(&st).await,
        "reset" | "addBLEntry" | "delBLEntry" => wforce_list_edit(&st, cmd, &bytes).await,
        _ => unreachable!("checked against the known list"),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BlParams {
    #[serde(default)]
    ip: Option<String>,
    #[serde(default)]
    netmask: Option<String>,
    #[serde(default)]
    login: Option<String>,
    #[serde(default)]
    expire_secs: Option<i64>,
    #[serde(default)]
    reason: Option<String>,
}

/// Actor and channel of wforce-API actions in the audit log.
const WFORCE_ACTOR: &str = "wforce-client";
const WFORCE_VIA: &str = "wforce-api";

async fn wforce_list_edit(st: &PolicyState, cmd: &str, bytes: &[u8]) -> Response {
    let p: BlParams = match parse_json(st, bytes) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let bad = |m: &str| refuse(&st.handle, StatusCode::BAD_REQUEST, "bad_request", m);
    let prefix: Option<Prefix> = match (p.ip.as_deref(), p.netmask.as_deref()) {
        (Some(_), Some(_)) => return bad("ip and netmask are mutually exclusive"),
        (Some(s), None) => match parse_ip(s) {
            Some(ip) => Some(Prefix::host(ip)),
            None => return bad("ip is not an IP address"),
        },
        (None, Some(s)) => match s.parse() {
            Ok(p) => Some(p),
            Err(e) => return bad(&format!("{e}")),
        },
        (None, None) => None,
    };
    let login = p
        .login
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|l| Account::new(l, &st.normalize).name);
    if prefix.is_some() && login.is_some() && cmd != "reset" {
        return bad("ip+login entries are not supported: block the source, or protect the login");
    }
    if prefix.is_none() && login.is_none() {
        return bad("give ip, netmask or login");
    }
    let at = now();
    let reason = p.reason.unwrap_or_default();
    let until = match p.expire_secs {
        Some(s) if s > 0 => Some(at.plus_secs(s)),
        Some(_) => return bad("expire_secs must be positive"),
        None if cmd == "addBLEntry" => return bad("expire_secs is required"),
        None => None,
    };
    let mut actions = Vec::new();
    match cmd {
        "addBLEntry" => {
            if let Some(prefix) = prefix {
                actions.push(AdminAction::Block {
                    prefix,
                    at,
                    until,
                    reason: reason.clone(),
                });
            }
            if let Some(account) = login {
                actions.push(AdminAction::Protect {
                    account,
                    mode: ProtectionMode::Disabled,
                    at,
                    until,
                });
            }
        }
        "delBLEntry" => {
            if let Some(prefix) = prefix {
                actions.push(AdminAction::Unblock { prefix });
            }
            if let Some(account) = login {
                actions.push(AdminAction::Unprotect { account });
            }
        }
        _ => {
            // reset: forget the stats and lift any blacklist entry.
            if let Some(prefix) = prefix {
                actions.push(AdminAction::Unblock { prefix });
            }
            if let Some(account) = login {
                let via_wforce = st
                    .handle
                    .store()
                    .protections(at)
                    .map(|ps| {
                        ps.iter()
                            .any(|p| p.account == account && p.actor == WFORCE_ACTOR)
                    })
                    .unwrap_or(false);
                actions.push(AdminAction::ResetAccount {
                    account: account.clone(),
                });
                if via_wforce {
                    actions.push(AdminAction::Unprotect { account });
                }
            }
        }
    }
    let h = st.handle.clone();
    let res = tokio::task::spawn_blocking(move || -> anyhow::Result<()> {
        for action in actions {
            h.admin(AuditEntry {
                seq: 0,
                at,
                actor: WFORCE_ACTOR.into(),
                via: WFORCE_VIA.into(),
                action,
                reason: reason.clone(),
            })?;
        }
        Ok(())
    })
    .await;
    match res {
        Ok(Ok(())) => json_response(StatusCode::OK, &json!({"status": "ok"})),
        Ok(Err(e)) => json_response(
            StatusCode::INTERNAL_SERVER_ERROR,
            &json!({"status": "failure", "reason": format!("{e:#}")}),
        ),
        Err(e) => json_response(
            StatusCode::INTERNAL_SERVER_ERROR,
            &json!({"status": "failure", "reason": e.to_string()}),
        ),
    }
}

/// wforce's time format for blacklist expirations (`2002-Jan-01 10:00:01`, UTC).
fn wforce_time(t: Option<Timestamp>) -> String {
    match t {
        Some(t) => t.to_chrono().format("%Y-%b-%d %H:%M:%S").to_string(),
        None => "9999-Dec-31 23:59:59".into(),
    }
}

async fn wforce_get_bl(st: &PolicyState) -> Response {
    let at = now();
    let store = st.handle.store().clone();
    let res = tokio::task::spawn_blocking(move || {
        Ok::<_, portcullis_store::StoreError>((store.blocks(at)?, store.protections(at)?))
    })
    .await;
    let (blocks, prots) = match res {
        Ok(Ok(x)) => x,
        _ => {
            return json_response(
                StatusCode::INTERNAL_SERVER_ERROR,
                &json!({"status": "failure", "reason": "store unavailable"}),
            );
        }
    };
    let ip: Vec<_> = blocks
        .iter()
        .map(|b| json!({"ip": b.prefix.to_string(), "expiration": wforce_time(b.until), "reason": b.reason}))
        .collect();
    let login: Vec<_> = prots
        .iter()
        .filter(|p| p.mode == ProtectionMode::Disabled)
        .map(
            |p| json!({"login": p.account, "expiration": wforce_time(p.until), "reason": p.reason}),
        )
        .collect();
    json_response(
        StatusCode::OK,
        &json!({"bl_entries": {"ip": ip, "login": login, "iplogin": []}}),
    )
}

/// Process CPU time in milliseconds (user, system), from /proc on Linux; zeros elsewhere.
fn cpu_msec() -> (u64, u64) {
    let Ok(s) = std::fs::read_to_string("/proc/self/stat") else {
        return (0, 0);
    };
    // Fields after the command name (which is in parentheses and may contain spaces).
    let Some(rest) = s.rfind(')').map(|i| &s[i + 1..]) else {
        return (0, 0);
    };
    let f: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the full line: 12 and 13 after the name.
    let tick = |i: usize| f.get(i).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0) * 10;
    (tick(11), tick(12))
}

fn wforce_stats(st: &PolicyState) -> Response {
    let m = st.handle.metrics();
    let (user, sys) = cpu_msec();
    let mut commandstats = serde_json::Map::new();
    for e in crate::metrics::ENDPOINTS.iter().take(8) {
        commandstats.insert((*e).into(), m.requests_of(e).into());
    }
    commandstats.insert("allow_allowed".into(), m.verdicts_of("allow").into());
    commandstats.insert("allow_tarpitted".into(), m.verdicts_of("tarpit").into());
    commandstats.insert("allow_denied".into(), m.verdicts_of("deny").into());
    json_response(
        StatusCode::OK,
        &json!({
            "reports": m.requests_of("report"),
            "allows": m.requests_of("allow"),
            "denieds": m.verdicts_of("deny"),
            "user-msec": user,
            "sys-msec": sys,
            "perfstats": {},
            "commandstats": commandstats,
        }),
    )
}

// ---------------------------------------------------------------- native API v1

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
type ItemError = (String, &'static str);

fn native_source(s: &Option<String>) -> Result<Option<std::net::IpAddr>, ItemError> {
    match s.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(s) => parse_ip(s)
            .map(Some)
            .ok_or_else(|| (format!("source {s:?} is not an IP address"), "bad_request")),
    }
}

fn native_fp(s: &Option<String>) -> Result<Option<u64>, ItemError> {
    match s.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(h) => fingerprint_from_hex(h)
            .map(Some)
            .ok_or_else(|| ("password_fingerprint is not hex".into(), "bad_request")),
    }
}

fn native_protocol(s: &Option<String>) -> Protocol {
    s.as_deref()
        .map(Protocol::from_service)
        .unwrap_or(Protocol::Other)
}

fn native_verdict(
    h: &EngineHandle,
    v: &Verdict,
    source: Option<std::net::IpAddr>,
) -> serde_json::Value {
    let eff = resolve(v.action, source, h.trusted());
    count_effective(h, eff);
    let (action, delay) = match eff {
        Effective::Allow => ("allow", 0),
        Effective::Tarpit(s) => ("tarpit", s),
        Effective::Deny => ("deny", 0),
    };
    let engine_action = match v.action {
        Action::Allow => "allow",
        Action::Tarpit { .. } => "tarpit",
        Action::Deny => "deny",
        Action::InternalOnly => "internal_only",
    };
    json!({
        "action": action,
        "delay_secs": delay,
        "engine_action": engine_action,
        "reasons": v.reasons,
    })
}

fn native_check_one(st: &PolicyState, a: NativeAttempt) -> Result<serde_json::Value, ItemError> {
    if a.password.is_some() {
        return Err((PASSWORD_REFUSED.into(), "password_field"));
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
    Ok(native_verdict(&st.handle, &v, source))
}

fn native_report_one(st: &PolicyState, e: NativeEvent) -> Result<serde_json::Value, ItemError> {
    if e.password.is_some() {
        return Err((PASSWORD_REFUSED.into(), "password_field"));
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
    Ok(native_verdict(&st.handle, &v, source))
}

fn item_response(st: &PolicyState, r: Result<serde_json::Value, ItemError>) -> Response {
    match r {
        Ok(v) => json_response(StatusCode::OK, &v),
        Err((msg, why)) => refuse(&st.handle, StatusCode::BAD_REQUEST, why, &msg),
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

async fn v1_check(State(st): State<PolicyState>, headers: HeaderMap, body: Body) -> Response {
    let _timer = st.handle.metrics().decision_timer();
    let bytes = match admit(&st, &headers, body).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    st.handle.metrics().request("v1_check");
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

async fn v1_password_check(
    State(st): State<PolicyState>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let bytes = match admit(&st, &headers, body).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    st.handle.metrics().request("v1_password_check");
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

async fn v1_report(State(st): State<PolicyState>, headers: HeaderMap, body: Body) -> Response {
    let _timer = st.handle.metrics().decision_timer();
    let bytes = match admit(&st, &headers, body).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    st.handle.metrics().request("v1_report");
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

async fn batch(
    st: PolicyState,
    headers: HeaderMap,
    body: Body,
    endpoint: &str,
    one: impl Fn(&PolicyState, serde_json::Value) -> Result<serde_json::Value, ItemError>,
) -> Response {
    let _timer = st.handle.metrics().decision_timer();
    let bytes = match admit(&st, &headers, body).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    st.handle.metrics().request(endpoint);
    let b: Batch = match parse_json(&st, &bytes) {
        Ok(b) => b,
        Err(r) => return r,
    };
    if b.items.len() > st.cfg.batch_max_events {
        return refuse(
            &st.handle,
            StatusCode::PAYLOAD_TOO_LARGE,
            "bad_request",
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
        return Err((PASSWORD_REFUSED.into(), "password_field"));
    }
    serde_json::from_value(v).map_err(|e| (format!("invalid item: {e}"), "bad_json"))
}

async fn v1_check_batch(State(st): State<PolicyState>, headers: HeaderMap, body: Body) -> Response {
    batch(st, headers, body, "v1_check_batch", |st, v| {
        native_check_one(st, typed(v)?)
    })
    .await
}

async fn v1_report_batch(
    State(st): State<PolicyState>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    batch(st, headers, body, "v1_report_batch", |st, v| {
        native_report_one(st, typed(v)?)
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_is_found_wherever_it_is_in_the_query() {
        assert_eq!(command_from_query(Some("command=allow")), Some("allow"));
        assert_eq!(
            command_from_query(Some("tenant=a&command=report")),
            Some("report")
        );
        assert_eq!(command_from_query(Some("tenant=a&")), None);
        assert_eq!(command_from_query(None), None);
    }

    #[test]
    fn depth_limit_ignores_brackets_in_strings() {
        assert!(json_depth_ok(br#"{"a":"[[[[[[[[[[[["}"#, 2));
        assert!(!json_depth_ok(br#"{"a":[[[1]]]}"#, 3));
        assert!(json_depth_ok(br#"{"a":[[1]]}"#, 3));
        assert!(json_depth_ok(br#"{"a":"\"[[[[","b":1}"#, 1));
    }

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

    #[test]
    fn basic_and_api_key_authentication() {
        let cfg = ServerConfig {
            policy_user: "dovecot".into(),
            policy_password: "s3cret".into(),
            policy_api_key: "key-123".into(),
            ..Default::default()
        };
        let mut h = HeaderMap::new();
        assert!(!policy_authorized(&cfg, &h));
        let good = base64::engine::general_purpose::STANDARD.encode("dovecot:s3cret");
        h.insert(
            header::AUTHORIZATION,
            format!("Basic {good}").parse().unwrap(),
        );
        assert!(policy_authorized(&cfg, &h));
        let bad = base64::engine::general_purpose::STANDARD.encode("dovecot:s3cres");
        h.insert(
            header::AUTHORIZATION,
            format!("Basic {bad}").parse().unwrap(),
        );
        assert!(!policy_authorized(&cfg, &h));
        let mut h = HeaderMap::new();
        h.insert("x-api-key", "key-123".parse().unwrap());
        assert!(policy_authorized(&cfg, &h));
        h.insert("x-api-key", "key-124".parse().unwrap());
        assert!(!policy_authorized(&cfg, &h));
        let open = ServerConfig {
            allow_unauthenticated: true,
            ..Default::default()
        };
        assert!(policy_authorized(&open, &HeaderMap::new()));
        let closed = ServerConfig::default();
        assert!(!policy_authorized(&closed, &HeaderMap::new()));
    }
}
