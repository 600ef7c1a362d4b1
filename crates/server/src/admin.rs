//! The admin listener: campaigns and findings, blocks, account protections, shields up/down,
//! account resets, the audit log, plus `/metrics`, `/healthz` and `/readyz`.
//!
//! Every `/v1/...` request carries `Authorization: Bearer <admin_token>` (compared in constant
//! time) and passes a token-bucket rate limit (applied before authentication, so the token
//! cannot be guessed quickly either). Every change names its actor and reason, is committed to
//! the store with its audit entry (fsynced) before it is applied to the engine, and only then
//! acknowledged. `/metrics`, `/healthz`, `/readyz` need no token (bind the admin listener to
//! loopback or a management network).

use crate::handle::{EngineHandle, now};
use crate::policy::{json_depth_ok, json_response, ready_response};
use axum::Router;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use parking_lot::Mutex;
use portcullis_core::{Account, NormalizeOptions, Prefix, Protocol, Timestamp};
use portcullis_engine::{AdminAction, ProtectionMode};
use portcullis_store::AuditEntry;
use serde::Deserialize;
use serde_json::json;
use std::sync::Arc;
use std::time::Instant;
use subtle::ConstantTimeEq;

/// A token bucket.
pub struct RateLimiter {
    rate: f64,
    burst: f64,
    state: Mutex<(f64, Instant)>,
}

impl RateLimiter {
    pub fn new(rate_per_sec: u32, burst: u32) -> Self {
        Self::new_per_secs(rate_per_sec as f64, burst)
    }
    /// A bucket refilled at a fractional rate (tokens per second).
    pub fn new_per_secs(rate_per_sec: f64, burst: u32) -> Self {
        RateLimiter {
            rate: rate_per_sec,
            burst: burst as f64,
            state: Mutex::new((burst as f64, Instant::now())),
        }
    }
    /// Takes a token if there is one.
    pub fn try_take(&self) -> bool {
        let mut s = self.state.lock();
        let t = Instant::now();
        let refill = t.duration_since(s.1).as_secs_f64() * self.rate;
        s.0 = (s.0 + refill).min(self.burst);
        s.1 = t;
        if s.0 >= 1.0 {
            s.0 -= 1.0;
            true
        } else {
            false
        }
    }
}

/// Shared state of the admin handlers.
#[derive(Clone)]
pub struct AdminState {
    pub handle: EngineHandle,
    pub token: Arc<str>,
    pub limiter: Arc<RateLimiter>,
    pub normalize: Arc<NormalizeOptions>,
    pub body_limit: usize,
    pub json_max_depth: usize,
    /// The admin listener itself speaks TLS (the dashboard's cookie is then `Secure`).
    pub tls: bool,
}

/// The admin router.
pub fn router(state: AdminState) -> Router {
    Router::new()
        .route("/metrics", get(metrics))
        .route("/healthz", get(crate::policy::healthz))
        .route("/readyz", get(readyz))
        .route("/v1/campaigns", get(campaigns))
        .route("/v1/campaigns/{id}", get(campaign))
        .route("/v1/findings", get(findings))
        .route("/v1/report", get(report))
        .route("/v1/audit", get(audit))
        .route("/v1/blocks", get(blocks).post(block))
        .route("/v1/unblock", post(unblock))
        .route("/v1/protections", get(protections).post(protect))
        .route("/v1/unprotect", post(unprotect))
        .route("/v1/shields", get(shields).post(set_shields))
        .route("/v1/reset", post(reset))
        .with_state(state.clone())
        .merge(crate::dashboard::router(state))
}

async fn metrics(State(st): State<AdminState>) -> Response {
    let body = st.handle.metrics().render(st.handle.store());
    let mut r = (StatusCode::OK, body).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4"),
    );
    r
}

async fn readyz(State(st): State<AdminState>) -> Response {
    ready_response(&st.handle)
}

fn error(st: &AdminState, status: StatusCode, why: &str, msg: &str) -> Response {
    st.handle.metrics().rejection(why);
    json_response(status, &json!({"error": msg}))
}

/// Rate limit, then bearer token.
fn gate(st: &AdminState, headers: &HeaderMap) -> Result<(), Response> {
    if !st.limiter.try_take() {
        return Err(error(
            st,
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            "admin API rate limit exceeded; retry shortly",
        ));
    }
    let ok = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|s| s.strip_prefix("Bearer "))
        .is_some_and(|t| bool::from(t.trim().as_bytes().ct_eq(st.token.as_bytes())));
    if !ok {
        let mut r = error(
            st,
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "missing or wrong bearer token",
        );
        r.headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        return Err(r);
    }
    st.handle.metrics().request("admin");
    Ok(())
}

async fn read_json<T: serde::de::DeserializeOwned>(
    st: &AdminState,
    headers: &HeaderMap,
    body: Body,
) -> Result<T, Response> {
    gate(st, headers)?;
    let bytes = axum::body::to_bytes(body, st.body_limit)
        .await
        .map_err(|_| {
            error(
                st,
                StatusCode::PAYLOAD_TOO_LARGE,
                "body_too_large",
                "request body too large",
            )
        })?;
    if !json_depth_ok(&bytes, st.json_max_depth) {
        return Err(error(
            st,
            StatusCode::BAD_REQUEST,
            "json_too_deep",
            "JSON nested too deeply",
        ));
    }
    serde_json::from_slice(&bytes).map_err(|e| {
        error(
            st,
            StatusCode::BAD_REQUEST,
            "bad_json",
            &format!("invalid request: {e}"),
        )
    })
}

fn store_error(e: impl std::fmt::Display) -> Response {
    json_response(
        StatusCode::INTERNAL_SERVER_ERROR,
        &json!({"error": format!("store: {e}")}),
    )
}

/// Who and why, common to every change.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Change<T> {
    /// The operator (the CLI sends the login name).
    actor: String,
    /// Why: required, it is what the audit log is for.
    reason: String,
    #[serde(flatten)]
    what: T,
}

/// Commits the action (durably, with its audit entry) and applies it.
async fn commit(
    st: &AdminState,
    actor: String,
    reason: String,
    action: AdminAction,
) -> Result<i64, Response> {
    if actor.trim().is_empty() || reason.trim().is_empty() {
        return Err(error(
            st,
            StatusCode::BAD_REQUEST,
            "bad_request",
            "actor and reason are required: every admin action is audited",
        ));
    }
    let h = st.handle.clone();
    let entry = AuditEntry {
        seq: 0,
        at: now(),
        actor: actor.trim().to_string(),
        via: "admin-api".into(),
        action,
        reason: reason.trim().to_string(),
    };
    match tokio::task::spawn_blocking(move || h.admin(entry)).await {
        Ok(Ok(seq)) => Ok(seq),
        Ok(Err(e)) => Err(store_error(format!("{e:#}"))),
        Err(e) => Err(store_error(e)),
    }
}

fn until(at: Timestamp, expires_in_secs: Option<i64>) -> Result<Option<Timestamp>, &'static str> {
    match expires_in_secs {
        None => Ok(None),
        Some(s) if s > 0 => Ok(Some(at.plus_secs(s))),
        Some(_) => Err("expires_in_secs must be positive"),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BlockReq {
    prefix: String,
    #[serde(default)]
    expires_in_secs: Option<i64>,
}

async fn block(State(st): State<AdminState>, headers: HeaderMap, body: Body) -> Response {
    let req: Change<BlockReq> = match read_json(&st, &headers, body).await {
        Ok(r) => r,
        Err(r) => return r,
    };
    let prefix: Prefix = match req.what.prefix.parse() {
        Ok(p) => p,
        Err(e) => return error(&st, StatusCode::BAD_REQUEST, "bad_request", &format!("{e}")),
    };
    let at = now();
    let until = match until(at, req.what.expires_in_secs) {
        Ok(u) => u,
        Err(m) => return error(&st, StatusCode::BAD_REQUEST, "bad_request", m),
    };
    let action = AdminAction::Block {
        prefix,
        at,
        until,
        reason: req.reason.clone(),
    };
    match commit(&st, req.actor, req.reason, action).await {
        Ok(seq) => json_response(
            StatusCode::OK,
            &json!({"status": "ok", "audit_seq": seq, "prefix": prefix, "until": until}),
        ),
        Err(r) => r,
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PrefixReq {
    prefix: String,
}

async fn unblock(State(st): State<AdminState>, headers: HeaderMap, body: Body) -> Response {
    let req: Change<PrefixReq> = match read_json(&st, &headers, body).await {
        Ok(r) => r,
        Err(r) => return r,
    };
    let prefix: Prefix = match req.what.prefix.parse() {
        Ok(p) => p,
        Err(e) => return error(&st, StatusCode::BAD_REQUEST, "bad_request", &format!("{e}")),
    };
    match commit(&st, req.actor, req.reason, AdminAction::Unblock { prefix }).await {
        Ok(seq) => json_response(
            StatusCode::OK,
            &json!({"status": "ok", "audit_seq": seq, "prefix": prefix}),
        ),
        Err(r) => r,
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ProtectReq {
    account: String,
    mode: ProtectionMode,
    #[serde(default)]
    expires_in_secs: Option<i64>,
}

async fn protect(State(st): State<AdminState>, headers: HeaderMap, body: Body) -> Response {
    let req: Change<ProtectReq> = match read_json(&st, &headers, body).await {
        Ok(r) => r,
        Err(r) => return r,
    };
    let account = Account::new(&req.what.account, &st.normalize).name;
    if account.is_empty() {
        return error(&st, StatusCode::BAD_REQUEST, "bad_request", "empty account");
    }
    let at = now();
    let until = match until(at, req.what.expires_in_secs) {
        Ok(u) => u,
        Err(m) => return error(&st, StatusCode::BAD_REQUEST, "bad_request", m),
    };
    let action = AdminAction::Protect {
        account: account.clone(),
        mode: req.what.mode,
        at,
        until,
    };
    match commit(&st, req.actor, req.reason, action).await {
        Ok(seq) => json_response(
            StatusCode::OK,
            &json!({"status": "ok", "audit_seq": seq, "account": account, "mode": req.what.mode, "until": until}),
        ),
        Err(r) => r,
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AccountReq {
    account: String,
}

async fn unprotect(State(st): State<AdminState>, headers: HeaderMap, body: Body) -> Response {
    account_action(st, headers, body, |account| AdminAction::Unprotect {
        account,
    })
    .await
}

async fn reset(State(st): State<AdminState>, headers: HeaderMap, body: Body) -> Response {
    account_action(st, headers, body, |account| AdminAction::ResetAccount {
        account,
    })
    .await
}

async fn account_action(
    st: AdminState,
    headers: HeaderMap,
    body: Body,
    make: impl FnOnce(String) -> AdminAction,
) -> Response {
    let req: Change<AccountReq> = match read_json(&st, &headers, body).await {
        Ok(r) => r,
        Err(r) => return r,
    };
    let account = Account::new(&req.what.account, &st.normalize).name;
    if account.is_empty() {
        return error(&st, StatusCode::BAD_REQUEST, "bad_request", "empty account");
    }
    match commit(&st, req.actor, req.reason, make(account.clone())).await {
        Ok(seq) => json_response(
            StatusCode::OK,
            &json!({"status": "ok", "audit_seq": seq, "account": account}),
        ),
        Err(r) => r,
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ShieldsReq {
    up: bool,
    #[serde(default)]
    protocols: Vec<Protocol>,
    #[serde(default)]
    expires_in_secs: Option<i64>,
}

async fn set_shields(State(st): State<AdminState>, headers: HeaderMap, body: Body) -> Response {
    let req: Change<ShieldsReq> = match read_json(&st, &headers, body).await {
        Ok(r) => r,
        Err(r) => return r,
    };
    let at = now();
    let action = if req.what.up {
        let until = match until(at, req.what.expires_in_secs) {
            Ok(u) => u,
            Err(m) => return error(&st, StatusCode::BAD_REQUEST, "bad_request", m),
        };
        AdminAction::ShieldsUp {
            protocols: req.what.protocols.clone(),
            at,
            until,
        }
    } else {
        AdminAction::ShieldsDown
    };
    match commit(&st, req.actor, req.reason, action).await {
        Ok(seq) => json_response(
            StatusCode::OK,
            &json!({"status": "ok", "audit_seq": seq, "shields": if req.what.up {"up"} else {"down"}, "protocols": req.what.protocols}),
        ),
        Err(r) => r,
    }
}

#[derive(Deserialize)]
struct ListQuery {
    #[serde(default)]
    limit: Option<usize>,
    #[serde(default)]
    after: Option<i64>,
}

/// Runs a store read off the async workers.
async fn read_store<T: serde::Serialize + Send + 'static>(
    st: &AdminState,
    headers: &HeaderMap,
    f: impl FnOnce(&portcullis_store::Store) -> portcullis_store::Result<T> + Send + 'static,
) -> Response {
    if let Err(r) = gate(st, headers) {
        return r;
    }
    let store = st.handle.store().clone();
    match tokio::task::spawn_blocking(move || f(&store)).await {
        Ok(Ok(v)) => match serde_json::to_value(v) {
            Ok(v) => json_response(StatusCode::OK, &v),
            Err(e) => store_error(e),
        },
        Ok(Err(e)) => store_error(e),
        Err(e) => store_error(e),
    }
}

fn limit(q: &ListQuery) -> usize {
    q.limit.unwrap_or(100).clamp(1, 10_000)
}

async fn campaigns(
    State(st): State<AdminState>,
    headers: HeaderMap,
    Query(q): Query<ListQuery>,
) -> Response {
    let n = limit(&q);
    read_store(&st, &headers, move |s| s.campaigns(n)).await
}

async fn campaign(
    State(st): State<AdminState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if let Err(r) = gate(&st, &headers) {
        return r;
    }
    let store = st.handle.store().clone();
    let id2 = id.clone();
    let res = tokio::task::spawn_blocking(move || -> portcullis_store::Result<_> {
        let c = store.campaign(&id2)?;
        // The findings that name it (bounded scan of the latest ones).
        let related: Vec<_> = store
            .findings(0, 100_000)?
            .into_iter()
            .filter(|f| {
                serde_json::to_value(&f.finding)
                    .ok()
                    .and_then(|v| {
                        v.get("campaign")
                            .or_else(|| v.get("id"))
                            .and_then(|c| c.as_str().map(|s| s == id2))
                    })
                    .unwrap_or(false)
            })
            .collect();
        Ok((c, related))
    })
    .await;
    match res {
        Ok(Ok((Some(c), related))) => {
            json_response(StatusCode::OK, &json!({"campaign": c, "findings": related}))
        }
        Ok(Ok((None, _))) => json_response(
            StatusCode::NOT_FOUND,
            &json!({"error": format!("no campaign {id:?}")}),
        ),
        Ok(Err(e)) => store_error(e),
        Err(e) => store_error(e),
    }
}

async fn findings(
    State(st): State<AdminState>,
    headers: HeaderMap,
    Query(q): Query<ListQuery>,
) -> Response {
    let (after, n) = (q.after.unwrap_or(0), limit(&q));
    read_store(&st, &headers, move |s| s.findings(after, n)).await
}

async fn audit(
    State(st): State<AdminState>,
    headers: HeaderMap,
    Query(q): Query<ListQuery>,
) -> Response {
    let n = limit(&q);
    read_store(&st, &headers, move |s| s.audit(n)).await
}

async fn blocks(State(st): State<AdminState>, headers: HeaderMap) -> Response {
    let t = now();
    read_store(&st, &headers, move |s| s.blocks(t)).await
}

async fn protections(State(st): State<AdminState>, headers: HeaderMap) -> Response {
    let t = now();
    read_store(&st, &headers, move |s| s.protections(t)).await
}

async fn shields(State(st): State<AdminState>, headers: HeaderMap) -> Response {
    let t = now();
    read_store(&st, &headers, move |s| s.shields(t)).await
}

async fn report(State(st): State<AdminState>, headers: HeaderMap) -> Response {
    if let Err(r) = gate(&st, &headers) {
        return r;
    }
    let mut r = st.handle.report();
    st.handle.timeline().fill_report(&mut r);
    match serde_json::to_value(&r) {
        Ok(v) => json_response(StatusCode::OK, &v),
        Err(e) => store_error(e),
    }
}
