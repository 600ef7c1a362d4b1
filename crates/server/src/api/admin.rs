//! The admin listener: campaigns and findings, blocks, account protections, shields up/down,
//! account resets, the audit log, plus `/metrics`, `/healthz` and `/readyz`.
//!
//! Every `/v1/...` request carries `Authorization: Bearer <admin_token>` (compared in constant
//! time). Failed authentications are limited per client address and overall
//! ([`AuthFailures`]): an address that keeps failing is refused before its token is compared,
//! while the operator's authenticated calls are never limited. Every change names its actor and reason, is committed to
//! the store with its audit entry (fsynced) before it is applied to the engine, and only then
//! acknowledged. `/metrics`, `/healthz`, `/readyz` need no token (bind the admin listener to
//! loopback or a management network).

use crate::http::{
    Admitted, AuthFailures, Authorized, Gate, healthz, json_response, ready_response,
};
use crate::hub::{AdminError, EngineHandle, now};
use crate::labels::{Endpoint, Rejection};
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use portcullis_core::{Account, NormalizeOptions, Prefix, Protocol};
use portcullis_engine::{AdminAction, ProtectionMode};
use portcullis_store::AuditEntry;
use serde::Deserialize;
use serde_json::{Value, json};
use std::net::IpAddr;
use std::sync::Arc;
use subtle::ConstantTimeEq;

/// Shared state of the admin handlers.
#[derive(Clone)]
pub struct AdminState {
    pub handle: EngineHandle,
    pub token: Arc<str>,
    pub limiter: Arc<AuthFailures>,
    pub normalize: Arc<NormalizeOptions>,
    pub body_limit: usize,
    pub json_max_depth: usize,
    /// The admin listener itself speaks TLS (the dashboard's cookie is then `Secure`).
    pub tls: bool,
    /// The bouncers allowed to pull decisions (`/v1/bouncers` manages them).
    pub bouncers: Arc<crate::bouncers::Bouncers>,
}

/// The admin API's routes (the admin listener also serves the dashboard: [`crate::api::admin_listener`]).
pub fn router(state: AdminState) -> Router {
    Router::new()
        .route("/metrics", get(metrics))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/v1/campaigns", get(campaigns))
        .route("/v1/campaigns/{id}", get(campaign))
        .route("/v1/findings", get(findings))
        .route("/v1/report", get(report))
        .route("/v1/cluster", get(cluster))
        .route("/v1/audit", get(audit))
        .route("/v1/blocks", get(blocks).post(block))
        .route("/v1/unblock", post(unblock))
        .route("/v1/protections", get(protections).post(protect))
        .route("/v1/unprotect", post(unprotect))
        .route("/v1/shields", get(shields).post(set_shields))
        .route("/v1/reset", post(reset))
        .route("/v1/bouncers", get(bouncers).post(add_bouncer))
        .route("/v1/bouncers/delete", post(delete_bouncer))
        .with_state(state)
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
    ready_response(st.handle.is_ready(), st.handle.store())
}

impl Gate for AdminState {
    /// Bearer token, unless the address has used up its failures ([`AuthFailures`]).
    fn authorize(&self, headers: &HeaderMap, peer: Option<IpAddr>) -> Result<(), Response> {
        let limited = || {
            self.refuse(
                StatusCode::TOO_MANY_REQUESTS,
                Rejection::RateLimited,
                "too many failed authentications from this address; retry shortly",
            )
        };
        if self.limiter.refused(peer) {
            return Err(limited());
        }
        let ok = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|s| s.strip_prefix("Bearer "))
            .is_some_and(|t| bool::from(t.trim().as_bytes().ct_eq(self.token.as_bytes())));
        if !ok {
            if self.limiter.failed(peer) {
                return Err(limited());
            }
            let mut r = self.refuse(
                StatusCode::UNAUTHORIZED,
                Rejection::Unauthorized,
                "missing or wrong bearer token",
            );
            r.headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            return Err(r);
        }
        self.handle.metrics().request(Endpoint::Admin);
        Ok(())
    }
    fn body_limit(&self) -> usize {
        self.body_limit
    }
    fn json_max_depth(&self) -> usize {
        self.json_max_depth
    }
    fn refuse(&self, status: StatusCode, why: Rejection, msg: &str) -> Response {
        self.handle.metrics().rejection(why);
        json_response(status, &json!({"error": msg}))
    }
}

fn bad_request(st: &AdminState, msg: &str) -> Response {
    st.refuse(StatusCode::BAD_REQUEST, Rejection::BadRequest, msg)
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

/// Commits the action through the one admin path ([`EngineHandle::admin`]: validated, stored
/// durably with its audit entry, applied).
async fn commit(
    st: &AdminState,
    actor: String,
    reason: String,
    action: AdminAction,
) -> Result<i64, Response> {
    if actor.trim().is_empty() || reason.trim().is_empty() {
        return Err(bad_request(
            st,
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
        Ok(Err(AdminError::Refused(e))) => Err(bad_request(st, &e.0)),
        Ok(Err(AdminError::Store(e))) => Err(store_error(format!("{e:#}"))),
        Err(e) => Err(store_error(e)),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BlockReq {
    prefix: String,
    #[serde(default)]
    expires_in_secs: Option<i64>,
}

async fn block(
    State(st): State<AdminState>,
    Admitted(req): Admitted<Change<BlockReq>>,
) -> Response {
    let prefix: Prefix = match req.what.prefix.parse() {
        Ok(p) => p,
        Err(e) => return bad_request(&st, &format!("{e}")),
    };
    let at = now();
    let until = match st.handle.rules().expiry(at, req.what.expires_in_secs) {
        Ok(u) => u,
        Err(e) => return bad_request(&st, &e.0),
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

async fn unblock(
    State(st): State<AdminState>,
    Admitted(req): Admitted<Change<PrefixReq>>,
) -> Response {
    let prefix: Prefix = match req.what.prefix.parse() {
        Ok(p) => p,
        Err(e) => return bad_request(&st, &format!("{e}")),
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

async fn protect(
    State(st): State<AdminState>,
    Admitted(req): Admitted<Change<ProtectReq>>,
) -> Response {
    let account = Account::new(&req.what.account, &st.normalize).name;
    if account.is_empty() {
        return bad_request(&st, "empty account");
    }
    let at = now();
    let until = match st.handle.rules().expiry(at, req.what.expires_in_secs) {
        Ok(u) => u,
        Err(e) => return bad_request(&st, &e.0),
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

async fn unprotect(
    State(st): State<AdminState>,
    Admitted(req): Admitted<Change<AccountReq>>,
) -> Response {
    account_action(st, req, |account| AdminAction::Unprotect { account }).await
}

async fn reset(
    State(st): State<AdminState>,
    Admitted(req): Admitted<Change<AccountReq>>,
) -> Response {
    account_action(st, req, |account| AdminAction::ResetAccount { account }).await
}

async fn account_action(
    st: AdminState,
    req: Change<AccountReq>,
    make: impl FnOnce(String) -> AdminAction,
) -> Response {
    let account = Account::new(&req.what.account, &st.normalize).name;
    if account.is_empty() {
        return bad_request(&st, "empty account");
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

async fn set_shields(
    State(st): State<AdminState>,
    Admitted(req): Admitted<Change<ShieldsReq>>,
) -> Response {
    let at = now();
    let action = if req.what.up {
        let until = match st.handle.rules().expiry(at, req.what.expires_in_secs) {
            Ok(u) => u,
            Err(e) => return bad_request(&st, &e.0),
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
    f: impl FnOnce(&portcullis_store::Store) -> portcullis_store::Result<T> + Send + 'static,
) -> Response {
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
    _: Authorized,
    Query(q): Query<ListQuery>,
) -> Response {
    let n = limit(&q);
    read_store(&st, move |s| s.campaigns(n)).await
}

async fn campaign(State(st): State<AdminState>, _: Authorized, Path(id): Path<String>) -> Response {
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
    _: Authorized,
    Query(q): Query<ListQuery>,
) -> Response {
    let (after, n) = (q.after.unwrap_or(0), limit(&q));
    read_store(&st, move |s| s.findings(after, n)).await
}

async fn audit(
    State(st): State<AdminState>,
    _: Authorized,
    Query(q): Query<ListQuery>,
) -> Response {
    let n = limit(&q);
    read_store(&st, move |s| s.audit(n)).await
}

async fn blocks(State(st): State<AdminState>, _: Authorized) -> Response {
    let t = now();
    read_store(&st, move |s| s.blocks(t)).await
}

async fn protections(State(st): State<AdminState>, _: Authorized) -> Response {
    let t = now();
    read_store(&st, move |s| s.protections(t)).await
}

async fn shields(State(st): State<AdminState>, _: Authorized) -> Response {
    let t = now();
    read_store(&st, move |s| s.shields(t)).await
}

async fn report(State(st): State<AdminState>, _: Authorized) -> Response {
    let mut r = st.handle.report();
    st.handle.timeline().fill_report(&mut r);
    match serde_json::to_value(&r) {
        Ok(v) => json_response(StatusCode::OK, &v),
        Err(e) => store_error(e),
    }
}

/// The node's cluster view (`null` for a single node): the applied stream sequence, the
/// replica's digest, and what was published, buffered, applied and skipped as duplicate.
async fn cluster(State(st): State<AdminState>, _: Authorized) -> Response {
    json_response(StatusCode::OK, &crate::cluster::status(&st.handle))
}

async fn bouncers(State(st): State<AdminState>, _: Authorized) -> Response {
    json_response(StatusCode::OK, &Value::Array(st.bouncers.list()))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BouncerReq {
    name: String,
    /// Send it narrow IPv4 ranges address by address (for bouncers that cannot enforce
    /// ranges, such as Debian 12's firewall bouncer in nftables mode).
    #[serde(default)]
    expand_ranges: bool,
}

/// Registers a bouncer: its key is in this answer and nowhere else, ever.
async fn add_bouncer(
    State(st): State<AdminState>,
    Admitted(req): Admitted<Change<BouncerReq>>,
) -> Response {
    if req.actor.trim().is_empty() || req.reason.trim().is_empty() {
        return bad_request(&st, "actor and reason are required");
    }
    match st
        .bouncers
        .add(req.what.name.trim(), req.what.expand_ranges, now())
    {
        Ok(key) => {
            tracing::info!(bouncer = %req.what.name, actor = %req.actor, reason = %req.reason, "bouncer added");
            json_response(
                StatusCode::OK,
                &json!({"name": req.what.name.trim(), "api_key": key}),
            )
        }
        Err(m) => bad_request(&st, &m),
    }
}

async fn delete_bouncer(
    State(st): State<AdminState>,
    Admitted(req): Admitted<Change<BouncerReq>>,
) -> Response {
    if req.actor.trim().is_empty() || req.reason.trim().is_empty() {
        return bad_request(&st, "actor and reason are required");
    }
    match st.bouncers.delete(req.what.name.trim()) {
        Ok(true) => {
            st.handle.decisions().forget(req.what.name.trim());
            tracing::info!(bouncer = %req.what.name, actor = %req.actor, reason = %req.reason, "bouncer deleted");
            json_response(StatusCode::OK, &json!({"status": "ok"}))
        }
        Ok(false) => json_response(
            StatusCode::NOT_FOUND,
            &json!({"error": format!("no bouncer {:?}", req.what.name)}),
        ),
        Err(m) => store_error(m),
    }
}
