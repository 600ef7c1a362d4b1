//! Shared HTTP plumbing of both listeners: JSON answers, the body-size and JSON-depth limits,
//! the [`Admitted`] extractor that authenticates and bounds a request before any handler code
//! runs, the token-bucket [`RateLimiter`], and the health answers.
//!
//! A listener's state says how it authenticates and how it refuses by implementing [`Gate`];
//! handlers then take `Admitted<T>` (a parsed JSON body), `Admitted<Bytes>`-like
//! [`AdmittedBody`] (the raw bounded body) or [`Authorized`] (no body) and never call the checks
//! by hand.

use crate::labels::Rejection;
use axum::body::{Body, Bytes};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use parking_lot::Mutex;
use std::time::Instant;

/// A JSON response.
pub fn json_response(status: StatusCode, v: &serde_json::Value) -> Response {
    let body = serde_json::to_vec(v).unwrap_or_else(|_| b"{}".to_vec());
    let mut r = (status, body).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}

/// A 200 response with a JSON body already serialised.
pub fn json_bytes(body: Bytes) -> Response {
    let mut r = (StatusCode::OK, body).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}

/// `GET /healthz`: the process answers.
pub async fn healthz() -> &'static str {
    "ok\n"
}

/// `GET /readyz`: 200 once the engine is restored and the store's writer is alive, else 503.
pub fn ready_response(ready: bool) -> Response {
    if ready {
        (StatusCode::OK, "ready\n").into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "not ready\n").into_response()
    }
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

/// How a listener authenticates requests and refuses the ones it will not serve.
pub trait Gate: Clone + Send + Sync + 'static {
    /// Authenticates the request (and applies any rate limit); `Err` is the refusal to send.
    fn authorize(&self, headers: &HeaderMap) -> Result<(), Response>;
    /// The most bytes a request body may have.
    fn body_limit(&self) -> usize;
    /// The deepest JSON nesting a request body may have.
    fn json_max_depth(&self) -> usize;
    /// A refusal: counted under the stable reason `why`, explained to the client in `msg`.
    fn refuse(&self, status: StatusCode, why: Rejection, msg: &str) -> Response;
}

/// Reads a body within the gate's size limit and checks its JSON nesting.
pub async fn bounded_body<S: Gate>(st: &S, body: Body) -> Result<Bytes, Response> {
    let bytes = axum::body::to_bytes(body, st.body_limit())
        .await
        .map_err(|_| {
            st.refuse(
                StatusCode::PAYLOAD_TOO_LARGE,
                Rejection::BodyTooLarge,
                "request body too large",
            )
        })?;
    if !json_depth_ok(&bytes, st.json_max_depth()) {
        return Err(st.refuse(
            StatusCode::BAD_REQUEST,
            Rejection::JsonTooDeep,
            "JSON nested too deeply",
        ));
    }
    Ok(bytes)
}

/// Parses a bounded body as JSON; a refusal (`bad_json`) says what was wrong.
pub fn parse_json<'a, S: Gate, T: serde::Deserialize<'a>>(
    st: &S,
    bytes: &'a [u8],
) -> Result<T, Response> {
    serde_json::from_slice(bytes).map_err(|e| {
        st.refuse(
            StatusCode::BAD_REQUEST,
            Rejection::BadJson,
            &format!("invalid request body: {e}"),
        )
    })
}

/// An authenticated request, without a body.
pub struct Authorized;

impl<S: Gate> FromRequestParts<S> for Authorized {
    type Rejection = Response;
    async fn from_request_parts(parts: &mut Parts, st: &S) -> Result<Self, Response> {
        st.authorize(&parts.headers)?;
        Ok(Authorized)
    }
}

/// The body of an authenticated request, read within the size limit and checked for JSON
/// depth (for handlers that parse it themselves, borrowing from the bytes).
pub struct AdmittedBody(pub Bytes);

impl<S: Gate> FromRequest<S> for AdmittedBody {
    type Rejection = Response;
    async fn from_request(req: Request, st: &S) -> Result<Self, Response> {
        let (parts, body) = req.into_parts();
        st.authorize(&parts.headers)?;
        Ok(AdmittedBody(bounded_body(st, body).await?))
    }
}

/// The JSON body of an authenticated request, bounded and parsed into `T`.
pub struct Admitted<T>(pub T);

impl<S: Gate, T: serde::de::DeserializeOwned> FromRequest<S> for Admitted<T> {
    type Rejection = Response;
    async fn from_request(req: Request, st: &S) -> Result<Self, Response> {
        let AdmittedBody(bytes) = AdmittedBody::from_request(req, st).await?;
        parse_json(st, &bytes).map(Admitted)
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn depth_limit_ignores_brackets_in_strings() {
        assert!(json_depth_ok(br#"{"a":"[[[[[[[[[[[["}"#, 2));
        assert!(!json_depth_ok(br#"{"a":[[[1]]]}"#, 3));
        assert!(json_depth_ok(br#"{"a":[[1]]}"#, 3));
        assert!(json_depth_ok(br#"{"a":"\"[[[[","b":1}"#, 1));
    }

    #[test]
    fn a_bucket_gives_its_burst_then_refuses() {
        let l = RateLimiter::new_per_secs(0.0, 3);
        assert!(l.try_take() && l.try_take() && l.try_take());
        assert!(!l.try_take());
    }
}
