//! The web dashboard on the admin listener: the embedded UI (`portcullis_report::dashboard`) at
//! `/` and `/assets/NAME`, and its JSON API under `/api/` as docs/dashboard-api.md specifies.
//!
//! Sign-in and sessions: [`session`]. Every handler here reads what it needs (the engine's
//! report, the store, the hub's [`Timeline`](crate::sinks::timeline::Timeline)) and hands it
//! to a pure view function in [`views`] that builds the answer. Actions go through
//! [`EngineHandle::admin`](crate::hub::EngineHandle::admin), the same validated, durable,
//! audited path as the bearer-token admin API.

mod session;
mod views;

use views::{audit_rows, is_open, state_of};

pub use session::{MAX_SESSIONS, SESSION_SECS};

use super::admin::AdminState;
use crate::http::{AuthFailures, bounded_body, json_response};
use crate::hub::{AdminError, now};
use axum::Router;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use portcullis_core::report::{Campaign, Report};
use portcullis_core::{Account, Timestamp};
use portcullis_engine::AdminAction;
use portcullis_report::dashboard as ui;
use portcullis_report::dashboard_api as api;
use serde::Deserialize;
use serde_json::{Value, json};
use session::{Sessions, SignedIn, SignedInPost};
use std::sync::Arc;

/// A campaign is open while it was active within this long.
const OPEN_SECS: i64 = 24 * 3600;

/// State of the dashboard handlers: the admin state plus sessions.
#[derive(Clone)]
pub struct DashState {
    admin: AdminState,
    sessions: Arc<Sessions>,
    logins: Arc<AuthFailures>,
}

/// The dashboard routes, to merge into the admin router.
pub fn router(admin: AdminState) -> Router {
    let st = DashState {
        admin,
        sessions: Arc::new(Sessions::default()),
        // Sign-in attempts: 5 at once, then one every 2 seconds.
        logins: Arc::new(AuthFailures::new(0.5, 5, 50)),
    };
    Router::new()
        .route("/", get(index))
        .route("/assets/{name}", get(asset))
        .route("/api/session", get(session::session))
        .route("/api/login", post(session::login))
        .route("/api/logout", post(session::logout))
        .route("/api/overview", get(overview))
        .route("/api/campaigns", get(campaigns))
        .route("/api/campaigns/{id}", get(campaign))
        .route("/api/accounts/{name}", get(account))
        .route("/api/state", get(state))
        .route("/api/actions", get(actions).post(act))
        .with_state(st)
}

fn err(status: StatusCode, msg: &str) -> Response {
    json_response(status, &json!({ "error": msg }))
}

fn ok<T: serde::Serialize>(v: &T) -> Response {
    match serde_json::to_value(v) {
        Ok(v) => json_response(StatusCode::OK, &v),
        Err(e) => err(StatusCode::INTERNAL_SERVER_ERROR, &format!("{e}")),
    }
}

fn with_ui_headers(mut r: Response, mime: &'static str) -> Response {
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(mime));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(ui::CSP),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    r
}

async fn index(State(st): State<DashState>, headers: HeaderMap) -> Response {
    let Some((bytes, mime)) = ui::asset("index.html") else {
        return err(StatusCode::NOT_FOUND, "no dashboard page in this build");
    };
    let body = match st.sessions.csrf_of(&headers) {
        Some(csrf) => ui::index_with_csrf(&csrf).into_bytes(),
        None => bytes.to_vec(),
    };
    with_ui_headers((StatusCode::OK, body).into_response(), mime)
}

async fn asset(Path(name): Path<String>) -> Response {
    match ui::asset(&name).filter(|_| name != "index.html") {
        Some((bytes, mime)) => with_ui_headers((StatusCode::OK, bytes).into_response(), mime),
        None => err(StatusCode::NOT_FOUND, "no such asset"),
    }
}

/// Runs blocking work (store reads, the engine report) off the async workers.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> anyhow::Result<T> + Send + 'static,
) -> Result<T, Response> {
    match tokio::task::spawn_blocking(f).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(err(StatusCode::INTERNAL_SERVER_ERROR, &format!("{e:#}"))),
        Err(e) => Err(err(StatusCode::INTERNAL_SERVER_ERROR, &format!("{e}"))),
    }
}

fn shields_of(store: &portcullis_store::Store, t: Timestamp) -> anyhow::Result<api::Shields> {
    Ok(match store.shields(t)? {
        Some(s) => api::Shields {
            up: true,
            protocols: s.protocols.iter().map(|p| p.as_str().to_string()).collect(),
            until: s.until,
            at: Some(s.at),
        },
        None => api::Shields::default(),
    })
}

/// The engine's campaigns (current) plus the stored ones it no longer holds, newest first.
fn all_campaigns(r: &Report, store: &portcullis_store::Store) -> anyhow::Result<Vec<Campaign>> {
    let mut out = r.campaigns.clone();
    for c in store.campaigns(1000)? {
        if !out.iter().any(|x| x.id == c.id) {
            out.push(c);
        }
    }
    out.sort_by_key(|c| std::cmp::Reverse(c.last_seen));
    Ok(out)
}

#[derive(Deserialize)]
struct HoursQ {
    hours: Option<i64>,
}

async fn overview(State(st): State<DashState>, _: SignedIn, Query(q): Query<HoursQ>) -> Response {
    let hours = q.hours.unwrap_or(48);
    if !(1..=2160).contains(&hours) {
        return err(StatusCode::BAD_REQUEST, "hours must be between 1 and 2160");
    }
    let h = st.admin.handle.clone();
    let res = blocking(move || {
        let t = now();
        let (timeline, verdicts) = h.timeline().buckets(t.plus_secs(-hours * 3600), t);
        let r = h.report();
        Ok(api::Overview {
            now: t,
            timeline,
            verdicts,
            shields: shields_of(h.store(), t)?,
            open_campaigns: all_campaigns(&r, h.store())?
                .into_iter()
                .filter(|c| is_open(c, t))
                .collect(),
            compromised_count: r.compromised_accounts.len() as u64,
            at_risk_count: r.accounts_at_risk.len() as u64,
        })
    })
    .await;
    match res {
        Ok(o) => ok(&o),
        Err(r) => r,
    }
}

#[derive(Deserialize)]
struct StateQ {
    state: Option<String>,
}

async fn campaigns(State(st): State<DashState>, _: SignedIn, Query(q): Query<StateQ>) -> Response {
    let all = match q.state.as_deref() {
        None | Some("open") => false,
        Some("all") => true,
        Some(_) => return err(StatusCode::BAD_REQUEST, "state must be open or all"),
    };
    let h = st.admin.handle.clone();
    let res = blocking(move || {
        let t = now();
        let r = h.report();
        Ok(api::CampaignList {
            campaigns: all_campaigns(&r, h.store())?
                .into_iter()
                .filter(|c| all || is_open(c, t))
                .map(|c| api::CampaignListed {
                    state: state_of(&c, t),
                    campaign: c,
                })
                .collect(),
        })
    })
    .await;
    match res {
        Ok(v) => ok(&v),
        Err(r) => r,
    }
}

async fn campaign(State(st): State<DashState>, _: SignedIn, Path(id): Path<String>) -> Response {
    let h = st.admin.handle.clone();
    let res = blocking(move || {
        let t = now();
        let r = h.report();
        let Some(c) = all_campaigns(&r, h.store())?
            .into_iter()
            .find(|c| c.id == id)
        else {
            return Ok(None);
        };
        let blocks = h.store().blocks(t)?;
        let prots = h.store().protections(t)?;
        let audit = h.store().audit(2000)?;
        Ok(Some(views::campaign_detail(
            c,
            &r,
            &blocks,
            &prots,
            audit,
            h.timeline(),
            t,
        )))
    })
    .await;
    match res {
        Ok(Some(v)) => ok(&v),
        Ok(None) => err(StatusCode::NOT_FOUND, "no such campaign"),
        Err(r) => r,
    }
}

async fn account(State(st): State<DashState>, _: SignedIn, Path(name): Path<String>) -> Response {
    let name = Account::new(&name, &st.admin.normalize).name;
    if name.is_empty() {
        return err(StatusCode::BAD_REQUEST, "empty account name");
    }
    let h = st.admin.handle.clone();
    let res = blocking(move || {
        let t = now();
        let r = h.report();
        let protection = h
            .store()
            .protections(t)?
            .into_iter()
            .find(|p| p.account == name);
        let familiar = h
            .store()
            .familiar_sources(Timestamp::from_unix_secs(0))?
            .into_iter()
            .filter(|f| f.account == name)
            .collect();
        let recent = h.timeline().recent_of(&name, 200);
        let campaigns = all_campaigns(&r, h.store())?;
        Ok(views::account_detail(
            name, &r, protection, familiar, recent, campaigns,
        ))
    })
    .await;
    match res {
        Ok(v) => ok(&v),
        Err(r) => r,
    }
}

async fn state(State(st): State<DashState>, _: SignedIn) -> Response {
    let h = st.admin.handle.clone();
    let res = blocking(move || {
        let t = now();
        let s = h.store();
        Ok(api::State {
            shields: shields_of(s, t)?,
            blocks: s
                .blocks(t)?
                .into_iter()
                .map(|b| api::BlockRow {
                    prefix: b.prefix,
                    at: b.at,
                    until: b.until,
                    reason: b.reason,
                    by: b.actor,
                })
                .collect(),
            protections: s
                .protections(t)?
                .into_iter()
                .map(|p| api::ProtectionRow {
                    mode: p.mode.as_str().to_string(),
                    account: p.account,
                    at: p.at,
                    until: p.until,
                    by: p.actor,
                })
                .collect(),
        })
    })
    .await;
    match res {
        Ok(v) => ok(&v),
        Err(r) => r,
    }
}

#[derive(Deserialize)]
struct LimitQ {
    limit: Option<usize>,
}

async fn actions(State(st): State<DashState>, _: SignedIn, Query(q): Query<LimitQ>) -> Response {
    let n = q.limit.unwrap_or(200).clamp(1, 10_000);
    let h = st.admin.handle.clone();
    match blocking(move || Ok(audit_rows(h.store().audit(n)?))).await {
        Ok(v) => ok(&api::ActionLog { actions: v }),
        Err(r) => r,
    }
}

/// Turns the UI's action (an `AdminAction` without `at`) into the engine's, stamped `at`.
fn parse_action(mut v: Value, at: Timestamp, st: &DashState) -> Result<AdminAction, String> {
    let obj = v
        .as_object_mut()
        .ok_or("the action must be a JSON object")?;
    let kind = obj
        .get("type")
        .and_then(Value::as_str)
        .ok_or("the action needs a \"type\"")?
        .to_string();
    if matches!(kind.as_str(), "block" | "protect" | "shields_up") {
        obj.insert(
            "at".into(),
            serde_json::to_value(at).map_err(|e| e.to_string())?,
        );
    }
    let mut action: AdminAction =
        serde_json::from_value(v).map_err(|e| format!("not an action this server knows: {e}"))?;
    match &mut action {
        AdminAction::Protect { account, .. }
        | AdminAction::Unprotect { account }
        | AdminAction::ResetAccount { account } => {
            *account = Account::new(account, &st.admin.normalize).name;
            if account.is_empty() {
                return Err("empty account".into());
            }
        }
        _ => {}
    }
    Ok(action)
}

async fn act(
    State(st): State<DashState>,
    SignedInPost(_, user): SignedInPost,
    body: Body,
) -> Response {
    let v: Value = match bounded_body(&st.admin, body).await {
        Ok(bytes) => match serde_json::from_slice(&bytes) {
            Ok(v) => v,
            Err(e) => return err(StatusCode::BAD_REQUEST, &format!("invalid request: {e}")),
        },
        Err(r) => return r,
    };
    let at = now();
    let action = match parse_action(v, at, &st) {
        Ok(a) => a,
        Err(m) => return err(StatusCode::BAD_REQUEST, &m),
    };
    let reason = match &action {
        AdminAction::Block { reason, .. } if !reason.trim().is_empty() => reason.clone(),
        _ => "from the dashboard".to_string(),
    };
    let entry = portcullis_store::AuditEntry {
        seq: 0,
        at,
        actor: user.clone(),
        via: "dashboard".into(),
        action: action.clone(),
        reason,
    };
    let h = st.admin.handle.clone();
    let done = match tokio::task::spawn_blocking(move || h.admin(entry)).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(AdminError::Refused(e))) => Err(err(StatusCode::BAD_REQUEST, &e.0)),
        Ok(Err(e)) => Err(err(StatusCode::INTERNAL_SERVER_ERROR, &format!("{e:#}"))),
        Err(e) => Err(err(StatusCode::INTERNAL_SERVER_ERROR, &format!("{e}"))),
    };
    match done {
        Ok(()) => ok(&api::ActionDone {
            ok: true,
            entry: api::AuditEntry {
                at,
                actor: user,
                action: serde_json::to_value(&action).unwrap_or(Value::Null),
            },
        }),
        Err(r) => r,
    }
}
