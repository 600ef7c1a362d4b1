//! Dashboard sessions: sign-in with the admin credentials (any operator name, which becomes
//! the audit actor, and the admin token as password), a random 128-bit session id in an
//! `HttpOnly; SameSite=Strict` cookie, and a random per-session CSRF token that every `POST`
//! carries in `X-CSRF-Token` (compared in constant time). Sessions expire after
//! [`SESSION_SECS`]. Failed sign-ins are limited per client address (an address that keeps
//! failing is refused before the token is even compared, so guessing is slow) and overall,
//! never the sign-in of an operator from another address; a refused sign-in logs only the
//! address, never what was typed; `Secure` is added to the
//! cookie on a TLS listener or behind a TLS-terminating proxy (`X-Forwarded-Proto: https`).
//!
//! Handlers take [`SignedIn`] (a read) or [`SignedInPost`] (a change) and never look at
//! cookies themselves.

use super::{DashState, err, ok};
use crate::http::{bounded_body, peer_of};
use crate::hub::now;
use crate::labels::Rejection;
use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use parking_lot::Mutex;
use portcullis_core::Timestamp;
use portcullis_report::dashboard_api as api;
use serde_json::json;
use std::collections::HashMap;
use subtle::ConstantTimeEq;

/// How long a dashboard session lasts.
pub const SESSION_SECS: i64 = 8 * 3600;
/// Sessions kept at most (expired ones are dropped first).
pub const MAX_SESSIONS: usize = 1024;
const COOKIE: &str = "portcullis_session";

struct SessionRec {
    user: String,
    csrf: String,
    expires: Timestamp,
}

/// The open sessions.
#[derive(Default)]
pub struct Sessions {
    map: Mutex<HashMap<String, SessionRec>>,
}

/// A valid session: (id, user, csrf).
type Current = (String, String, String);

impl Sessions {
    /// The valid session of this request.
    fn current(&self, headers: &HeaderMap) -> Option<Current> {
        let id = cookie_id(headers)?;
        let t = now();
        let mut s = self.map.lock();
        match s.get(&id) {
            Some(r) if r.expires > t => Some((id.clone(), r.user.clone(), r.csrf.clone())),
            Some(_) => {
                s.remove(&id);
                None
            }
            None => None,
        }
    }

    /// The CSRF token of the request's session, if it has one (for the page).
    pub fn csrf_of(&self, headers: &HeaderMap) -> Option<String> {
        self.current(headers).map(|(_, _, csrf)| csrf)
    }

    fn body(&self, id: &str) -> api::Session {
        match self.map.lock().get(id) {
            Some(r) => api::Session {
                authenticated: true,
                user: Some(r.user.clone()),
                csrf_token: Some(r.csrf.clone()),
                expires_at: Some(r.expires),
            },
            None => api::Session::anonymous(),
        }
    }

    /// Opens a session for `user`; None when [`MAX_SESSIONS`] are open and unexpired.
    fn open(&self, user: &str) -> Option<String> {
        let t = now();
        let id = random_hex();
        let mut s = self.map.lock();
        if s.len() >= MAX_SESSIONS {
            s.retain(|_, r| r.expires > t);
        }
        if s.len() >= MAX_SESSIONS {
            return None;
        }
        s.insert(
            id.clone(),
            SessionRec {
                user: user.to_string(),
                csrf: random_hex(),
                expires: t.plus_secs(SESSION_SECS),
            },
        );
        Some(id)
    }
}

fn random_hex() -> String {
    let mut b = [0u8; 16];
    getrandom::fill(&mut b).expect("the OS random source is available");
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn cookie_id(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == COOKIE)
        .map(|(_, v)| v.to_string())
}

fn sign_in_first() -> Response {
    err(
        StatusCode::UNAUTHORIZED,
        "sign in first (session missing or expired)",
    )
}

/// A request from a signed-in operator (the 401 the UI answers with its sign-in form
/// otherwise).
pub struct SignedIn;

impl FromRequestParts<DashState> for SignedIn {
    type Rejection = Response;
    async fn from_request_parts(parts: &mut Parts, st: &DashState) -> Result<Self, Response> {
        st.sessions
            .current(&parts.headers)
            .map(|_| SignedIn)
            .ok_or_else(sign_in_first)
    }
}

/// A signed-in operator whose request carries the session's CSRF token: (session id, user).
pub struct SignedInPost(pub String, pub String);

impl FromRequestParts<DashState> for SignedInPost {
    type Rejection = Response;
    async fn from_request_parts(parts: &mut Parts, st: &DashState) -> Result<Self, Response> {
        let (id, user, csrf) = st
            .sessions
            .current(&parts.headers)
            .ok_or_else(sign_in_first)?;
        let sent = parts
            .headers
            .get("x-csrf-token")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if !bool::from(sent.as_bytes().ct_eq(csrf.as_bytes())) {
            return Err(err(StatusCode::FORBIDDEN, "missing or wrong X-CSRF-Token"));
        }
        Ok(SignedInPost(id, user))
    }
}

fn same_origin(headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return true;
    };
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let bare = origin
        .strip_prefix("http://")
        .or_else(|| origin.strip_prefix("https://"));
    !host.is_empty() && bare == Some(host)
}

/// The request reached us through a proxy that terminated TLS (`X-Forwarded-Proto: https`).
fn behind_tls(headers: &HeaderMap) -> bool {
    headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("https"))
}

/// `GET /api/session`.
pub async fn session(State(st): State<DashState>, headers: HeaderMap) -> Response {
    match st.sessions.current(&headers) {
        Some((id, _, _)) => ok(&st.sessions.body(&id)),
        None => ok(&api::Session::anonymous()),
    }
}

/// `POST /api/login`.
pub async fn login(State(st): State<DashState>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let headers = parts.headers;
    if !same_origin(&headers) {
        return err(StatusCode::FORBIDDEN, "sign-in from another origin refused");
    }
    let peer = peer_of(&parts.extensions);
    let limited = || {
        st.admin.handle.metrics().rejection(Rejection::RateLimited);
        err(
            StatusCode::TOO_MANY_REQUESTS,
            "too many failed sign-ins from this address; wait a few seconds",
        )
    };
    if st.logins.refused(peer) {
        return limited();
    }
    let l: api::Login = match bounded_body(&st.admin, body).await {
        Ok(bytes) => match serde_json::from_slice(&bytes) {
            Ok(l) => l,
            Err(e) => return err(StatusCode::BAD_REQUEST, &format!("invalid request: {e}")),
        },
        Err(r) => return r,
    };
    let user = l.username.trim();
    let good = bool::from(l.password.as_bytes().ct_eq(st.admin.token.as_bytes()));
    if user.is_empty() || user.len() > 64 || user.chars().any(char::is_control) || !good {
        // Nothing typed is logged: people type passwords into the user name field.
        tracing::warn!(peer = ?peer, "dashboard sign-in refused");
        if st.logins.failed(peer) {
            return limited();
        }
        st.admin.handle.metrics().rejection(Rejection::Unauthorized);
        return err(StatusCode::UNAUTHORIZED, "wrong user or password");
    }
    let Some(id) = st.sessions.open(user) else {
        return err(
            StatusCode::SERVICE_UNAVAILABLE,
            "too many open dashboard sessions; sign out elsewhere or wait",
        );
    };
    tracing::info!(user = %user, "dashboard sign-in");
    let mut r = ok(&st.sessions.body(&id));
    // Behind a TLS-terminating proxy the browser sees https: mark the cookie Secure. (A client
    // that sends the header itself over plain HTTP only makes its own cookie unusable.)
    let secure = if st.admin.tls || behind_tls(&headers) {
        "; Secure"
    } else {
        ""
    };
    let cookie =
        format!("{COOKIE}={id}; HttpOnly; SameSite=Strict; Path=/; Max-Age={SESSION_SECS}{secure}");
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        r.headers_mut().insert(header::SET_COOKIE, v);
    }
    r
}

/// `POST /api/logout`.
pub async fn logout(State(st): State<DashState>, SignedInPost(id, _): SignedInPost) -> Response {
    st.sessions.map.lock().remove(&id);
    let mut r = ok(&json!({"ok": true}));
    r.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_static(
            "portcullis_session=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0",
        ),
    );
    r
}
