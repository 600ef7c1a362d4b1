//! A CrowdSec-compatible decisions API on the admin listener, so that unmodified CrowdSec
//! bouncers (firewall, nginx, HAProxy, custom scripts…) enforce portcullis's blocks and flags:
//!
//! - `GET|HEAD /v1/decisions/stream?startup=true|false` — `{"new": [...], "deleted": [...]}`:
//!   everything in force at start-up, then each bouncer's own delta since its last pull
//!   (filters: `scopes`, `origins`, `scenarios_containing`, `scenarios_not_containing`);
//! - `GET|HEAD /v1/decisions?ip=…` (or `range=…[&contains=true]`, or `scope=ip|range&value=…`)
//!   — the decisions in force on it, `null` when none, as the Local API answers;
//! - `POST /v1/usage-metrics` — accepted and discarded (newer bouncers send it).
//!
//! Authentication is the bouncer's own key in `X-Api-Key` (`portcullis admin bouncers add`);
//! a missing or unknown key gets 403, as from CrowdSec. What the decisions are: [`DecisionBook`].

use crate::bouncers::Bouncers;
use crate::hub::{EngineHandle, now};
use crate::labels::Rejection;
use axum::Router;
use axum::extract::{FromRequestParts, Query, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use portcullis_core::Prefix;
use portcullis_core::addr::parse_ip;
use serde::Deserialize;
use serde_json::{Value, json};
use std::sync::Arc;

pub use crate::sinks::decisions::{DecisionBook, Filter};

/// State of the decisions handlers.
#[derive(Clone)]
pub struct DecisionsState {
    pub handle: EngineHandle,
    pub bouncers: Arc<Bouncers>,
}

/// The routes, merged into the admin listener.
pub fn router(state: DecisionsState) -> Router {
    Router::new()
        .route("/v1/decisions/stream", get(stream))
        .route("/v1/decisions", get(decisions))
        .route("/v1/usage-metrics", post(usage_metrics))
        .with_state(state)
}

/// A bouncer that presented its key: its name, and whether it wants ranges expanded.
pub struct BouncerName(pub String, pub bool);

impl FromRequestParts<DecisionsState> for BouncerName {
    type Rejection = Response;
    async fn from_request_parts(parts: &mut Parts, st: &DecisionsState) -> Result<Self, Response> {
        let key = parts
            .headers
            .get("x-api-key")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        match st.bouncers.authenticate(key, now()) {
            Some((name, expand)) => Ok(BouncerName(name, expand)),
            None => {
                st.handle.metrics().rejection(Rejection::Unauthorized);
                Err((
                    StatusCode::FORBIDDEN,
                    axum::Json(
                        json!({"message": "access forbidden: unknown or missing X-Api-Key"}),
                    ),
                )
                    .into_response())
            }
        }
    }
}

/// The Local API's query parameters.
#[derive(Deserialize, Default)]
struct Params {
    #[serde(default)]
    startup: Option<String>,
    #[serde(default)]
    scopes: Option<String>,
    #[serde(default)]
    origins: Option<String>,
    #[serde(default)]
    scenarios_containing: Option<String>,
    #[serde(default)]
    scenarios_not_containing: Option<String>,
    #[serde(default)]
    ip: Option<String>,
    #[serde(default)]
    range: Option<String>,
    #[serde(default)]
    scope: Option<String>,
    #[serde(default)]
    value: Option<String>,
    #[serde(default)]
    contains: Option<String>,
}

fn list(s: &Option<String>) -> Vec<String> {
    s.as_deref()
        .unwrap_or("")
        .split(',')
        .map(|x| x.trim().to_ascii_lowercase())
        .filter(|x| !x.is_empty())
        .collect()
}

impl Params {
    fn filter(&self) -> Filter {
        Filter {
            scopes: list(&self.scopes),
            origins: list(&self.origins),
            scenarios_containing: list(&self.scenarios_containing),
            scenarios_not_containing: list(&self.scenarios_not_containing),
            bans_only: false,
        }
    }
}

fn bad(msg: &str) -> Response {
    (StatusCode::BAD_REQUEST, axum::Json(json!({"message": msg}))).into_response()
}

/// Runs the book's work (a diff over up to every decision in force) off the async workers,
/// where logins are answered.
async fn off_the_workers<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Option<T> {
    tokio::task::spawn_blocking(f).await.ok()
}

async fn stream(
    State(st): State<DecisionsState>,
    BouncerName(name, expand): BouncerName,
    Query(q): Query<Params>,
) -> Response {
    let startup = matches!(q.startup.as_deref(), Some("true") | Some("1"));
    let filter = q.filter();
    let h = st.handle.clone();
    let res =
        off_the_workers(move || h.decisions().stream(&name, startup, expand, now(), &filter)).await;
    match res {
        Some(Some((new, deleted))) => {
            axum::Json(json!({"new": new, "deleted": deleted})).into_response()
        }
        _ => (
            StatusCode::SERVICE_UNAVAILABLE,
            axum::Json(json!({"message": "too many bouncers are pulling"})),
        )
            .into_response(),
    }
}

async fn decisions(
    State(st): State<DecisionsState>,
    _: BouncerName,
    Query(q): Query<Params>,
) -> Response {
    let filter = q.filter();
    let scope = q.scope.as_deref().map(str::to_ascii_lowercase);
    let (ip, range) = match (scope.as_deref(), q.value.as_deref()) {
        (Some("ip"), Some(v)) => (Some(v.to_string()), None),
        (Some("range"), Some(v)) => (None, Some(v.to_string())),
        (Some(_), _) => return bad("scope must be ip or range, with a value"),
        (None, _) => (q.ip.clone(), q.range.clone()),
    };
    let contains = matches!(q.contains.as_deref(), Some("true") | Some("1"));
    let h = st.handle.clone();
    let found: Vec<Value> = match (ip, range) {
        (Some(ip), _) => {
            let Some(ip) = parse_ip(ip.trim()) else {
                return bad("ip is not an IP address");
            };
            off_the_workers(move || h.decisions().for_ip(ip, now(), &filter))
                .await
                .unwrap_or_default()
        }
        (None, Some(r)) => {
            let Ok(r) = r.trim().parse::<Prefix>() else {
                return bad("range is not an address range");
            };
            off_the_workers(move || h.decisions().for_range(r, contains, now(), &filter))
                .await
                .unwrap_or_default()
        }
        (None, None) => return bad("give ip, range, or scope and value"),
    };
    if found.is_empty() {
        axum::Json(Value::Null).into_response()
    } else {
        axum::Json(Value::Array(found)).into_response()
    }
}

async fn usage_metrics(_: BouncerName) -> Response {
    StatusCode::CREATED.into_response()
}
