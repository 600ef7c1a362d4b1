//! Shared HTTP plumbing of both listeners: JSON answers, the body-size and JSON-depth limits,
//! the [`Admitted`] extractor that authenticates and bounds a request before any handler code
//! runs, the token-bucket [`RateLimiter`], the per-address limit of failed authentications
//! ([`AuthFailures`]), and the health answers.
//!
//! A listener's state says how it authenticates and how it refuses by implementing [`Gate`];
//! handlers then take `Admitted<T>` (a parsed JSON body), `Admitted<Bytes>`-like
//! [`AdmittedBody`] (the raw bounded body) or [`Authorized`] (no body) and never call the checks
//! by hand.

use crate::labels::Rejection;
use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{Extensions, HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use parking_lot::Mutex;
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

/// The address of the client a request came from (set by the listener, [`crate::conn`]).
pub fn peer_of(ext: &Extensions) -> Option<IpAddr> {
    ext.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip())
}

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

/// `GET /readyz`: 200 once the engine is restored and while the store can commit, else 503
/// with the reason (a disk full, a read-only file system or an I/O error fails the store's
/// transactions: findings would be lost).
pub fn ready_response(ready: bool, store: &portcullis_store::Store) -> Response {
    if !ready {
        return (StatusCode::SERVICE_UNAVAILABLE, "not ready\n").into_response();
    }
    match store.health() {
        Ok(()) => (StatusCode::OK, "ready\n").into_response(),
        Err(why) => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("not ready: {why}\n"),
        )
            .into_response(),
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
    /// Authenticates the request from `peer` (and applies the limit of failed
    /// authentications); `Err` is the refusal to send.
    fn authorize(&self, headers: &HeaderMap, peer: Option<IpAddr>) -> Result<(), Response>;
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
        .map_err(|e| {
            if timed_out(&e) {
                st.refuse(
                    StatusCode::REQUEST_TIMEOUT,
                    Rejection::BodyTimeout,
                    "request body not received in time",
                )
            } else {
                st.refuse(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    Rejection::BodyTooLarge,
                    "request body too large",
                )
            }
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

/// Whether a body error is the listener's body deadline ([`crate::conn::BodyTimedOut`]).
fn timed_out(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut cur = Some(e);
    while let Some(x) = cur {
        if x.is::<crate::conn::BodyTimedOut>() {
            return true;
        }
        cur = x.source();
    }
    false
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
        st.authorize(&parts.headers, peer_of(&parts.extensions))?;
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
        st.authorize(&parts.headers, peer_of(&parts.extensions))?;
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

/// Failed authentications, limited per client address (an IPv6 address counts as its /64)
/// and overall, so that guessing is slow and an attacker cannot lock the operator out:
///
/// - an address that has used up its budget of failures is refused (429) before its
///   credential is even compared ([`AuthFailures::refused`]), until its bucket refills;
/// - a failure beyond the overall ceiling is answered 429 instead of 401
///   ([`AuthFailures::failed`]), but a right credential from an address with budget left is
///   always served: the overall ceiling never refuses the operator;
/// - a successful authentication costs nothing and touches no lock.
///
/// The table of addresses is bounded ([`AuthFailures::MAX_ADDRESSES`]); addresses whose
/// bucket has refilled are forgotten first.
pub struct AuthFailures {
    rate: f64,
    burst: f64,
    overall: RateLimiter,
    addresses: Mutex<HashMap<u128, (f64, Instant)>>,
    /// Entries in `addresses` (read without the lock on the request path).
    tracked: AtomicUsize,
}

impl AuthFailures {
    /// Most addresses tracked at once.
    pub const MAX_ADDRESSES: usize = 65_536;

    /// `per_sec` and `burst` failures per address; `overall_per_sec` (and as many at once) for
    /// all addresses together.
    pub fn new(per_sec: f64, burst: u32, overall_per_sec: u32) -> Self {
        AuthFailures {
            rate: per_sec,
            burst: burst as f64,
            overall: RateLimiter::new(overall_per_sec, overall_per_sec),
            addresses: Mutex::new(HashMap::new()),
            tracked: AtomicUsize::new(0),
        }
    }

    fn refill(&self, b: &mut (f64, Instant), t: Instant) {
        b.0 = (b.0 + t.duration_since(b.1).as_secs_f64() * self.rate).min(self.burst);
        b.1 = t;
    }

    /// Whether `peer` has used up its failures: refuse it without comparing its credential.
    pub fn refused(&self, peer: Option<IpAddr>) -> bool {
        let Some(ip) = peer else { return false };
        if self.tracked.load(Ordering::Relaxed) == 0 {
            return false;
        }
        let mut m = self.addresses.lock();
        let t = Instant::now();
        match m.get_mut(&crate::conn::address_key(ip)) {
            Some(b) => {
                self.refill(b, t);
                b.0 < 1.0
            }
            None => false,
        }
    }

    /// Records a failed authentication from `peer`; true when it is over a limit (answer 429).
    pub fn failed(&self, peer: Option<IpAddr>) -> bool {
        let over_all = !self.overall.try_take();
        let Some(ip) = peer else { return over_all };
        let mut m = self.addresses.lock();
        let t = Instant::now();
        if m.len() >= Self::MAX_ADDRESSES {
            let burst = self.burst;
            let rate = self.rate;
            m.retain(|_, b| b.0 + t.duration_since(b.1).as_secs_f64() * rate < burst);
        }
        let key = crate::conn::address_key(ip);
        let over_address = if m.len() < Self::MAX_ADDRESSES || m.contains_key(&key) {
            let b = m.entry(key).or_insert((self.burst, t));
            self.refill(b, t);
            if b.0 >= 1.0 {
                b.0 -= 1.0;
                false
            } else {
                true
            }
        } else {
            false
        };
        self.tracked.store(m.len(), Ordering::Relaxed);
        over_all || over_address
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

    #[test]
    fn failures_lock_out_their_address_only() {
        let f = AuthFailures::new(0.0, 3, 1000);
        let (a, b): (IpAddr, IpAddr) = ("192.0.2.1".parse().unwrap(), "192.0.2.2".parse().unwrap());
        assert!(!f.refused(Some(a)));
        assert!(!f.failed(Some(a)) && !f.failed(Some(a)) && !f.failed(Some(a)));
        assert!(f.failed(Some(a)));
        assert!(f.refused(Some(a)));
        assert!(!f.refused(Some(b)));
        // The same /64 is the same client.
        let (c, d): (IpAddr, IpAddr) = (
            "2001:db8::1".parse().unwrap(),
            "2001:db8::2".parse().unwrap(),
        );
        for _ in 0..3 {
            f.failed(Some(c));
        }
        assert!(f.refused(Some(d)));
        // The overall ceiling answers 429 to failures but never refuses an address up front.
        let g = AuthFailures::new(0.0, 100, 2);
        assert!(!g.failed(Some(a)) && !g.failed(Some(b)));
        assert!(g.failed(Some(b)));
        assert!(!g.refused(Some(a)) && !g.refused(Some(b)));
    }
}
