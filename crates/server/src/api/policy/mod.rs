//! The policy listener: Dovecot auth_policy ([`dovecot`]), the wforce-compatible commands
//! ([`wforce`], routed with Dovecot's by [`command`]), the native JSON API v1 ([`native`]) and
//! nginx's mail `auth_http` in front of the site's own ([`nginx`]), behind one authentication check ([`auth`]) and the same request limits.
//!
//! Every request is authenticated (HTTP Basic or the API-key header, compared in constant
//! time; failures are counted, never rate-limited by address, so that nobody who shares
//! Dovecot's address can stop every login), its body capped at `body_limit_bytes` and its JSON nesting at `json_max_depth`
//! before parsing ([`PolicyState`] is the [`Gate`] of the [`Admitted`](crate::http::Admitted)
//! extractors). Event times are the server's wall clock at arrival.

mod auth;
mod command;
mod dovecot;
mod native;
mod nginx;
mod wforce;

pub use auth::{policy_authorized, wforce_admin_authorized};
pub use dovecot::outcome_from_fail_type;
pub use nginx::NginxAuth;

use crate::config::ServerConfig;
use crate::http::{AuthFailures, Gate, healthz, json_response, ready_response};
use crate::hub::{Effective, EngineHandle};
use crate::labels::{Answer, Rejection};
use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{any, get, post};
use portcullis_core::NormalizeOptions;
use serde_json::json;
use std::net::IpAddr;
use std::sync::Arc;

/// Shared state of the policy handlers.
#[derive(Clone)]
pub struct PolicyState {
    pub handle: EngineHandle,
    pub cfg: Arc<ServerConfig>,
    pub normalize: Arc<NormalizeOptions>,
    /// The password checker behind `POST /v1/password/check` (`[passwords]`); None: 404.
    pub passwords: Option<Arc<portcullis_passwords::PasswordChecker>>,
    /// Failed authentications of the wforce blacklist commands (which take the admin
    /// credential), per address: guessing the admin token here is as slow as on the admin API.
    pub failures: Arc<AuthFailures>,
    /// nginx's `auth_http` in front of `nginx_auth_upstream` (`GET /nginx/auth`); None: 404.
    pub nginx: Option<Arc<NginxAuth>>,
}

impl PolicyState {
    fn unauthorized(&self) -> Response {
        let mut r = self.refuse(
            StatusCode::UNAUTHORIZED,
            Rejection::Unauthorized,
            "Unauthorized",
        );
        r.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"portcullis\""),
        );
        r
    }

    /// Admission of the wforce commands that change or reveal state for everyone (`reset`,
    /// `addBLEntry`, `delBLEntry`, `getBL`): the admin credential, never the policy one
    /// (403 with wforce's error shape), under the per-address limit of failures.
    fn authorize_admin(&self, headers: &HeaderMap, peer: Option<IpAddr>) -> Result<(), Response> {
        if self.failures.refused(peer) {
            return Err(self.refuse(
                StatusCode::TOO_MANY_REQUESTS,
                Rejection::RateLimited,
                "too many failed authentications; retry later",
            ));
        }
        if wforce_admin_authorized(&self.cfg, headers) {
            return Ok(());
        }
        if self.failures.failed(peer) {
            return Err(self.refuse(
                StatusCode::TOO_MANY_REQUESTS,
                Rejection::RateLimited,
                "too many failed authentications; retry later",
            ));
        }
        if policy_authorized(&self.cfg, headers) {
            return Err(self.refuse(
                StatusCode::FORBIDDEN,
                Rejection::Forbidden,
                "the policy credential does not allow blacklist commands: use the admin \
                 token (or wforce_admin_password) as the password",
            ));
        }
        Err(self.unauthorized())
    }
}

impl Gate for PolicyState {
    fn authorize(&self, headers: &HeaderMap, _peer: Option<IpAddr>) -> Result<(), Response> {
        if policy_authorized(&self.cfg, headers) {
            return Ok(());
        }
        Err(self.unauthorized())
    }
    fn body_limit(&self) -> usize {
        self.cfg.body_limit_bytes
    }
    fn json_max_depth(&self) -> usize {
        self.cfg.json_max_depth
    }
    fn refuse(&self, status: StatusCode, why: Rejection, msg: &str) -> Response {
        self.handle.metrics().rejection(why);
        json_response(status, &json!({"status": "failure", "reason": msg}))
    }
}

/// The policy router (Dovecot, wforce, native v1, health).
pub fn router(state: PolicyState) -> Router {
    // The native decision endpoints are timed whole, admission included (the command
    // protocol's `allow`/`report` time themselves: the command is known only in the handler).
    let decisions = Router::new()
        .route("/v1/check", post(native::v1_check))
        .route("/v1/report", post(native::v1_report))
        .route("/v1/check/batch", post(native::v1_check_batch))
        .route("/v1/report/batch", post(native::v1_report_batch))
        .route_layer(middleware::from_fn_with_state(state.clone(), timed));
    Router::new()
        .merge(decisions)
        .route("/v1/password/check", post(native::v1_password_check))
        .route("/nginx/auth", get(nginx::auth))
        .route("/command/{cmd}", any(command::command_path))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .fallback(command::command_query)
        .with_state(state)
}

/// Times a decision request in `portcullis_decision_seconds`.
async fn timed(State(st): State<PolicyState>, req: Request, next: Next) -> Response {
    let _timer = st.handle.metrics().decision_timer();
    next.run(req).await
}

async fn readyz(State(st): State<PolicyState>) -> Response {
    ready_response(st.handle.is_ready(), st.handle.store())
}

/// Counts the answer given to an attempt.
fn count_effective(h: &EngineHandle, e: Effective) {
    h.metrics().verdict(match e {
        Effective::Allow => Answer::Allow,
        Effective::Tarpit(_) => Answer::Tarpit,
        Effective::Deny => Answer::Deny,
        Effective::StepUp => Answer::StepUp,
    });
}
