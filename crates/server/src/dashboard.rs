//! The web dashboard on the admin listener: the embedded UI (`portcullis_report::dashboard`) at
//! `/` and `/assets/NAME`, and its JSON API under `/api/` as docs/dashboard-api.md specifies.
//!
//! Sign-in uses the admin credentials: any operator name (it becomes the audit actor) with the
//! admin token as password. A session is a random 128-bit id in an `HttpOnly; SameSite=Strict`
//! cookie plus a random per-session CSRF token that every `POST` must carry in `X-CSRF-Token`
//! (compared in constant time). Sessions expire after [`SESSION_SECS`]. Sign-in attempts are
//! rate-limited before the token is even compared (otherwise the answer to a right guess would
//! escape the limit); `Secure` is added to the cookie behind a TLS-terminating proxy
//! (`X-Forwarded-Proto: https`). Actions go through [`EngineHandle::admin`], the same durable, audited path as
//! the bearer-token admin API, which keeps working unchanged.
//!
//! The traffic views come from the engine's report, the store, and [`Timeline`]: a bounded
//! in-memory record of the attempts the handle observed (counts per 10 s and per hour, per
//! source and per account, and the last [`RECENT_CAP`] attempts). It starts empty at each
//! start-up: history before it is in the store (campaigns, findings, audit), not in the charts.

use crate::admin::{AdminState, RateLimiter};
use crate::handle::now;
use crate::policy::json_response;
use axum::Router;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use parking_lot::Mutex;
use portcullis_core::report::{Campaign, Report};
use portcullis_core::{Account, AuthEvent, Outcome, Prefix, Timestamp};
use portcullis_engine::{Action, AdminAction};
use portcullis_report::dashboard as ui;
use portcullis_report::dashboard_api as api;
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::net::IpAddr;
use std::sync::Arc;
use subtle::ConstantTimeEq;

/// How long a dashboard session lasts.
pub const SESSION_SECS: i64 = 8 * 3600;
/// Sessions kept at most (expired ones are dropped first).
pub const MAX_SESSIONS: usize = 1024;
/// Recent attempts kept for account pages and campaign charts.
pub const RECENT_CAP: usize = 20_000;
/// Sources and accounts counted at most (new ones beyond are not counted, and say so).
pub const COUNTED_CAP: usize = 100_000;
const FINE_SECS: i64 = 10;
const FINE_KEEP: usize = 6 * 360;
const HOURLY_KEEP: usize = 2160;
/// A campaign is open while it was active within this long.
const OPEN_SECS: i64 = 24 * 3600;
const COOKIE: &str = "portcullis_session";

#[derive(Clone, Copy, Default)]
struct Counts {
    attempts: u64,
    failures: u64,
    unfamiliar_failures: u64,
    /// allow, tarpit, deny, internal_only.
    verdicts: [u64; 4],
}

impl Counts {
    fn add(&mut self, o: &Counts) {
        self.attempts += o.attempts;
        self.failures += o.failures;
        self.unfamiliar_failures += o.unfamiliar_failures;
        for i in 0..4 {
            self.verdicts[i] += o.verdicts[i];
        }
    }
}

const VERDICTS: [&str; 4] = ["allow", "tarpit", "deny", "internal_only"];

fn verdict_index(a: Action) -> usize {
    match a {
        Action::Allow => 0,
        Action::Tarpit { .. } => 1,
        Action::Deny => 2,
        Action::InternalOnly => 3,
    }
}

#[derive(Clone, Copy)]
struct SourceCounts {
    attempts: u64,
    failures: u64,
    first: Timestamp,
    last: Timestamp,
}

#[derive(Clone)]
struct Recent {
    ts: Timestamp,
    account: Arc<str>,
    source: Option<IpAddr>,
    protocol: &'static str,
    outcome: Outcome,
    verdict: u8,
    familiar: bool,
}

#[derive(Default)]
struct TimelineInner {
    fine: BTreeMap<i64, Counts>,
    /// `fine` holds every attempt from this 10 s bucket on (older ones were evicted).
    fine_complete_from: i64,
    hourly: BTreeMap<i64, Counts>,
    /// `hourly` holds every attempt from this hour on.
    hourly_complete_from: i64,
    sources: HashMap<IpAddr, SourceCounts>,
    accounts: HashMap<Arc<str>, (u64, Timestamp)>,
    recent: VecDeque<Recent>,
    uncounted: u64,
    /// Every attempt since start-up: how many, by outcome, first and last.
    total: u64,
    outcomes: BTreeMap<Outcome, u64>,
    span: Option<(Timestamp, Timestamp)>,
}

/// A bounded in-memory record of observed attempts (see the module doc).
pub struct Timeline {
    inner: Mutex<TimelineInner>,
}

impl Default for Timeline {
    fn default() -> Self {
        Self::new()
    }
}

impl Timeline {
    /// The per-source and per-account maps and the recent ring are allocated at their caps
    /// (~13 MB of address space, touched as they fill): growing a 100,000-entry map inside a
    /// request stalled every connection for tens of ms.
    pub fn new() -> Self {
        Timeline {
            inner: Mutex::new(TimelineInner {
                sources: HashMap::with_capacity(COUNTED_CAP),
                accounts: HashMap::with_capacity(COUNTED_CAP),
                recent: VecDeque::with_capacity(RECENT_CAP),
                ..Default::default()
            }),
        }
    }

    /// Counts one observed attempt. `familiar`: the source had an earlier success on the account.
    pub fn record(&self, ev: &AuthEvent, familiar: bool, action: Action) {
        let failure = !matches!(ev.outcome, Outcome::Success);
        let mut c = Counts {
            attempts: 1,
            failures: failure as u64,
            unfamiliar_failures: (failure && !familiar) as u64,
            verdicts: [0; 4],
        };
        c.verdicts[verdict_index(action)] = 1;
        let secs = ev.ts.unix_secs();
        let mut t = self.inner.lock();
        t.total += 1;
        *t.outcomes.entry(ev.outcome).or_default() += 1;
        t.span = Some(match t.span {
            Some((a, b)) => (a.min(ev.ts), b.max(ev.ts)),
            None => (ev.ts, ev.ts),
        });
        t.fine
            .entry(secs.div_euclid(FINE_SECS))
            .or_default()
            .add(&c);
        while t.fine.len() > FINE_KEEP {
            if let Some((k, _)) = t.fine.pop_first() {
                t.fine_complete_from = t.fine_complete_from.max(k + 1);
            }
        }
        t.hourly.entry(secs.div_euclid(3600)).or_default().add(&c);
        while t.hourly.len() > HOURLY_KEEP {
            if let Some((k, _)) = t.hourly.pop_first() {
                t.hourly_complete_from = t.hourly_complete_from.max(k + 1);
            }
        }
        if let Some(ip) = ev.source {
            let n = t.sources.len();
            match t.sources.get_mut(&ip) {
                Some(s) => {
                    s.attempts += 1;
                    s.failures += failure as u64;
                    s.last = s.last.max(ev.ts);
                    s.first = s.first.min(ev.ts);
                }
                None if n < COUNTED_CAP => {
                    t.sources.insert(
                        ip,
                        SourceCounts {
                            attempts: 1,
                            failures: failure as u64,
                            first: ev.ts,
                            last: ev.ts,
                        },
                    );
                }
                None => t.uncounted += 1,
            }
        }
        let name: Arc<str> = match t.accounts.get_key_value(ev.account.name.as_str()) {
            Some((k, _)) => k.clone(),
            None => Arc::from(ev.account.name.as_str()),
        };
        let n = t.accounts.len();
        match t.accounts.get_mut(&name) {
            Some(a) => {
                a.0 += 1;
                a.1 = a.1.max(ev.ts);
            }
            None if n < COUNTED_CAP => {
                t.accounts.insert(name.clone(), (1, ev.ts));
            }
            None => t.uncounted += 1,
        }
        if t.recent.len() >= RECENT_CAP {
            t.recent.pop_front();
        }
        t.recent.push_back(Recent {
            ts: ev.ts,
            account: name,
            source: ev.source,
            protocol: ev.protocol.as_str(),
            outcome: ev.outcome,
            verdict: verdict_index(action) as u8,
            familiar,
        });
    }

    /// Buckets over `[start, end]`. When every attempt in the window came within the last six
    /// hours (and the fine record still holds them all), 10 s buckets (60 s when they span more
    /// than an hour) from the first attempt; otherwise the whole window in buckets of
    /// [`window_width`] (hourly up to 7 days, 6-hourly up to 45 days, daily beyond). Also the
    /// verdicts given in the window.
    fn buckets(
        &self,
        start: Timestamp,
        end: Timestamp,
    ) -> (Vec<api::Bucket>, BTreeMap<String, u64>) {
        let t = self.inner.lock();
        let (s, e) = (start.unix_secs(), end.unix_secs());
        let mut verdicts = Counts::default();
        for (_, c) in t.hourly.range(s.div_euclid(3600)..=e.div_euclid(3600)) {
            verdicts.add(c);
        }
        let verdicts = VERDICTS
            .iter()
            .zip(verdicts.verdicts)
            .map(|(k, v)| (k.to_string(), v))
            .collect();
        let first_hour = t
            .hourly
            .range(s.div_euclid(3600)..)
            .next()
            .map(|(k, _)| k * 3600);
        let first_fine = t
            .fine
            .range(s.div_euclid(FINE_SECS)..)
            .next()
            .map(|(k, _)| k * FINE_SECS);
        let buckets = match (first_hour, first_fine) {
            (Some(h), Some(f))
                if e - h <= 6 * 3600 && t.fine_complete_from * FINE_SECS <= h.max(s) =>
            {
                let width = if e - f <= 3600 { FINE_SECS } else { 60 };
                dense(&t.fine, FINE_SECS, f, e, width)
            }
            _ => dense(&t.hourly, 3600, s, e, window_width(e - s)),
        };
        (buckets, verdicts)
    }

    /// The accounts tried from `sources` in `[from, to]` in the recent record, newest first.
    fn campaign_accounts(
        &self,
        sources: &[Prefix],
        from: Timestamp,
        to: Timestamp,
    ) -> Vec<Arc<str>> {
        let t = self.inner.lock();
        let set = PrefixSet::new(sources);
        let mut seen = HashSet::new();
        t.recent
            .iter()
            .rev()
            .filter(|r| {
                r.ts >= from && r.ts <= to && r.source.is_some_and(|ip| set.find(ip).is_some())
            })
            .filter(|r| seen.insert(r.account.clone()))
            .map(|r| r.account.clone())
            .collect()
    }

    /// Fills in what the engine's live report does not keep, from the attempts observed since
    /// start-up: the report's `timeline` from the first attempt to the last (per minute when
    /// they span up to an hour, per 10 minutes up to six, else hourly, coarser beyond 7 days, as
    /// far back as the hourly record reaches) and the input summary (the attempts received, by
    /// outcome, first and last). `portcullis report --server` reads it.
    pub fn fill_report(&self, r: &mut Report) {
        let t = self.inner.lock();
        let fine = t.fine.first_key_value().zip(t.fine.last_key_value());
        match (t.span, fine) {
            (Some((a, b)), Some(((&f, _), (&l, _))))
                if b.secs_since(a) <= 6 * 3600 && t.fine_complete_from <= f =>
            {
                let (s, e) = (f * FINE_SECS, l * FINE_SECS + FINE_SECS - 1);
                let width = if e - s <= 3600 { 60 } else { 600 };
                r.timeline = dense(&t.fine, FINE_SECS, s, e, width);
            }
            _ => {
                if let (Some((&first, _)), Some((&last, _))) =
                    (t.hourly.first_key_value(), t.hourly.last_key_value())
                {
                    let (s, e) = (first * 3600, last * 3600 + 3599);
                    r.timeline = dense(&t.hourly, 3600, s, e, window_width(e - s));
                }
            }
        }
        r.input.lines = t.total;
        r.input.events = t.total;
        r.input.events_by_outcome = t.outcomes.clone();
        if let Some((a, b)) = t.span {
            r.input.first_event = Some(a);
            r.input.last_event = Some(b);
        }
    }

    /// The attempts of the recent record that came from `sources` in `[from, to]`, bucketed.
    fn campaign_buckets(
        &self,
        sources: &[Prefix],
        from: Timestamp,
        to: Timestamp,
    ) -> Vec<api::Bucket> {
        let t = self.inner.lock();
        let span = to.secs_since(from).max(0);
        let width = if span <= 600 {
            FINE_SECS
        } else if span <= 3600 {
            60
        } else {
            window_width(span)
        };
        let set = PrefixSet::new(sources);
        let mut m: BTreeMap<i64, Counts> = BTreeMap::new();
        for r in t.recent.iter().filter(|r| {
            r.ts >= from && r.ts <= to && r.source.is_some_and(|ip| set.find(ip).is_some())
        }) {
            let c = m.entry(r.ts.unix_secs().div_euclid(width)).or_default();
            c.attempts += 1;
            if !matches!(r.outcome, Outcome::Success) {
                c.failures += 1;
                c.unfamiliar_failures += (!r.familiar) as u64;
            }
        }
        m.into_iter()
            .map(|(k, c)| bucket(k * width, width, &c))
            .collect()
    }
}

/// The bucket width for a window of `span` seconds: hourly up to 7 days, 6-hourly up to 45
/// days, daily beyond (the UI offers 24 h to 30 days; the API allows 90).
fn window_width(span: i64) -> i64 {
    if span <= 7 * 86_400 {
        3600
    } else if span <= 45 * 86_400 {
        6 * 3600
    } else {
        86_400
    }
}

/// A set of prefixes (a campaign's sources: addresses and networks) that finds the one holding
/// an address with one hash lookup per prefix length, not a scan of the set.
struct PrefixSet {
    set: HashSet<Prefix>,
    /// (IPv4?, length) of the members, longest first.
    lens: Vec<(bool, u8)>,
}

impl PrefixSet {
    fn new(prefixes: &[Prefix]) -> Self {
        let mut lens: Vec<(bool, u8)> = prefixes
            .iter()
            .map(|p| (p.addr().is_ipv4(), p.len()))
            .collect();
        lens.sort_by_key(|&(v4, len)| (v4, std::cmp::Reverse(len)));
        lens.dedup();
        PrefixSet {
            set: prefixes.iter().copied().collect(),
            lens,
        }
    }

    /// The most specific member that holds `ip`.
    fn find(&self, ip: IpAddr) -> Option<Prefix> {
        self.lens
            .iter()
            .filter(|(v4, _)| *v4 == ip.is_ipv4())
            .map(|&(_, len)| Prefix::new(ip, len))
            .find(|p| self.set.contains(p))
    }
}

/// Counts per campaign source: an address its own, a network the sum over the addresses seen
/// in it (each address counted once, under the most specific source that holds it).
fn per_source(
    counted: &HashMap<IpAddr, SourceCounts>,
    sources: &[Prefix],
) -> HashMap<Prefix, SourceCounts> {
    let set = PrefixSet::new(sources);
    let mut out: HashMap<Prefix, SourceCounts> = HashMap::new();
    for (ip, c) in counted {
        if let Some(p) = set.find(*ip) {
            out.entry(p)
                .and_modify(|x| {
                    x.attempts += c.attempts;
                    x.failures += c.failures;
                    x.first = x.first.min(c.first);
                    x.last = x.last.max(c.last);
                })
                .or_insert(*c);
        }
    }
    out
}

fn bucket(start: i64, width: i64, c: &Counts) -> api::Bucket {
    api::Bucket {
        start: Timestamp::from_unix_secs(start),
        width_secs: width,
        attempts: c.attempts,
        failures: c.failures,
        unfamiliar_failures: c.unfamiliar_failures,
    }
}

/// Every `width`-second bucket from `s` to `e`, summing `map` (keyed by `secs / unit`).
fn dense(map: &BTreeMap<i64, Counts>, unit: i64, s: i64, e: i64, width: i64) -> Vec<api::Bucket> {
    let mut out = Vec::new();
    let mut b = s.div_euclid(width) * width;
    while b <= e && out.len() < 2000 {
        let mut c = Counts::default();
        for (_, x) in map.range(b.div_euclid(unit)..(b + width).div_euclid(unit)) {
            c.add(x);
        }
        out.push(bucket(b, width, &c));
        b += width;
    }
    out
}

struct SessionRec {
    user: String,
    csrf: String,
    expires: Timestamp,
}

/// State of the dashboard handlers: the admin state plus sessions.
#[derive(Clone)]
pub struct DashState {
    admin: AdminState,
    sessions: Arc<Mutex<HashMap<String, SessionRec>>>,
    logins: Arc<RateLimiter>,
}

/// The dashboard routes, to merge into the admin router.
pub fn router(admin: AdminState) -> Router {
    let st = DashState {
        admin,
        sessions: Arc::new(Mutex::new(HashMap::new())),
        // Sign-in attempts: 5 at once, then one every 2 seconds.
        logins: Arc::new(RateLimiter::new_per_secs(0.5, 5)),
    };
    Router::new()
        .route("/", get(index))
        .route("/assets/{name}", get(asset))
        .route("/api/session", get(session))
        .route("/api/login", post(login))
        .route("/api/logout", post(logout))
        .route("/api/overview", get(overview))
        .route("/api/campaigns", get(campaigns))
        .route("/api/campaigns/{id}", get(campaign))
        .route("/api/accounts/{name}", get(account))
        .route("/api/state", get(state))
        .route("/api/actions", get(actions).post(act))
        .with_state(st)
}

fn random_hex() -> String {
    let mut b = [0u8; 16];
    getrandom::fill(&mut b).expect("the OS random source is available");
    b.iter().map(|x| format!("{x:02x}")).collect()
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
    let body = match current(&st, &headers) {
        Some((_, _, csrf)) => ui::index_with_csrf(&csrf).into_bytes(),
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

/// The valid session of this request: (id, user, csrf).
fn current(st: &DashState, headers: &HeaderMap) -> Option<(String, String, String)> {
    let id = cookie_id(headers)?;
    let t = now();
    let mut s = st.sessions.lock();
    match s.get(&id) {
        Some(r) if r.expires > t => Some((id.clone(), r.user.clone(), r.csrf.clone())),
        Some(_) => {
            s.remove(&id);
            None
        }
        None => None,
    }
}

fn session_body(st: &DashState, id: &str) -> api::Session {
    let s = st.sessions.lock();
    match s.get(id) {
        Some(r) => api::Session {
            authenticated: true,
            user: Some(r.user.clone()),
            csrf_token: Some(r.csrf.clone()),
            expires_at: Some(r.expires),
        },
        None => api::Session::anonymous(),
    }
}

async fn session(State(st): State<DashState>, headers: HeaderMap) -> Response {
    match current(&st, &headers) {
        Some((id, _, _)) => ok(&session_body(&st, &id)),
        None => ok(&api::Session::anonymous()),
    }
}

/// A signed-in user, or the 401 the UI answers with its sign-in form.
fn signed_in(st: &DashState, headers: &HeaderMap) -> Result<String, Response> {
    current(st, headers)
        .map(|(_, user, _)| user)
        .ok_or_else(|| {
            err(
                StatusCode::UNAUTHORIZED,
                "sign in first (session missing or expired)",
            )
        })
}

/// A signed-in user whose request carries the session's CSRF token.
fn signed_in_post(st: &DashState, headers: &HeaderMap) -> Result<(String, String), Response> {
    let (id, user, csrf) = current(st, headers).ok_or_else(|| {
        err(
            StatusCode::UNAUTHORIZED,
            "sign in first (session missing or expired)",
        )
    })?;
    let sent = headers
        .get("x-csrf-token")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !bool::from(sent.as_bytes().ct_eq(csrf.as_bytes())) {
        return Err(err(StatusCode::FORBIDDEN, "missing or wrong X-CSRF-Token"));
    }
    Ok((id, user))
}

async fn body_json<T: serde::de::DeserializeOwned>(
    st: &DashState,
    body: Body,
) -> Result<T, Response> {
    let bytes = axum::body::to_bytes(body, st.admin.body_limit)
        .await
        .map_err(|_| err(StatusCode::PAYLOAD_TOO_LARGE, "request body too large"))?;
    if !crate::policy::json_depth_ok(&bytes, st.admin.json_max_depth) {
        return Err(err(StatusCode::BAD_REQUEST, "JSON nested too deeply"));
    }
    serde_json::from_slice(&bytes)
        .map_err(|e| err(StatusCode::BAD_REQUEST, &format!("invalid request: {e}")))
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

async fn login(State(st): State<DashState>, headers: HeaderMap, body: Body) -> Response {
    if !same_origin(&headers) {
        return err(StatusCode::FORBIDDEN, "sign-in from another origin refused");
    }
    if !st.logins.try_take() {
        st.admin.handle.metrics().rejection("rate_limited");
        return err(
            StatusCode::TOO_MANY_REQUESTS,
            "too many sign-in attempts; wait a few seconds",
        );
    }
    let l: api::Login = match body_json(&st, body).await {
        Ok(l) => l,
        Err(r) => return r,
    };
    let user = l.username.trim();
    let good = bool::from(l.password.as_bytes().ct_eq(st.admin.token.as_bytes()));
    if user.is_empty() || user.len() > 64 || user.chars().any(char::is_control) || !good {
        tracing::warn!(user = %user.chars().take(64).collect::<String>(), "dashboard sign-in refused");
        st.admin.handle.metrics().rejection("unauthorized");
        return err(StatusCode::UNAUTHORIZED, "wrong user or password");
    }
    let t = now();
    let id = random_hex();
    {
        let mut s = st.sessions.lock();
        if s.len() >= MAX_SESSIONS {
            s.retain(|_, r| r.expires > t);
        }
        if s.len() >= MAX_SESSIONS {
            return err(
                StatusCode::SERVICE_UNAVAILABLE,
                "too many open dashboard sessions; sign out elsewhere or wait",
            );
        }
        s.insert(
            id.clone(),
            SessionRec {
                user: user.to_string(),
                csrf: random_hex(),
                expires: t.plus_secs(SESSION_SECS),
            },
        );
    }
    tracing::info!(user = %user, "dashboard sign-in");
    let mut r = ok(&session_body(&st, &id));
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

async fn logout(State(st): State<DashState>, headers: HeaderMap) -> Response {
    let (id, _) = match signed_in_post(&st, &headers) {
        Ok(v) => v,
        Err(r) => return r,
    };
    st.sessions.lock().remove(&id);
    let mut r = ok(&json!({"ok": true}));
    r.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_static(
            "portcullis_session=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0",
        ),
    );
    r
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

fn is_open(c: &Campaign, t: Timestamp) -> bool {
    t.secs_since(c.last_seen) < OPEN_SECS
}

fn state_of(c: &Campaign, t: Timestamp) -> api::CampaignState {
    if is_open(c, t) {
        api::CampaignState::Open
    } else {
        api::CampaignState::Closed
    }
}

#[derive(Deserialize)]
struct HoursQ {
    hours: Option<i64>,
}

async fn overview(
    State(st): State<DashState>,
    headers: HeaderMap,
    Query(q): Query<HoursQ>,
) -> Response {
    if let Err(r) = signed_in(&st, &headers) {
        return r;
    }
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
struct StateQ {
    state: Option<String>,
}

async fn campaigns(
    State(st): State<DashState>,
    headers: HeaderMap,
    Query(q): Query<StateQ>,
) -> Response {
    if let Err(r) = signed_in(&st, &headers) {
        return r;
    }
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

fn audit_rows(entries: Vec<portcullis_store::AuditEntry>) -> Vec<api::AuditEntry> {
    entries
        .into_iter()
        .map(|e| api::AuditEntry {
            at: e.at,
            actor: e.actor,
            action: serde_json::to_value(&e.action).unwrap_or(Value::Null),
        })
        .collect()
}

async fn campaign(
    State(st): State<DashState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if let Err(r) = signed_in(&st, &headers) {
        return r;
    }
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
        let tl = h.timeline();
        // An open campaign's sources are still its own: show their attempts up to now (the
        // engine moves `last_seen` only when it flags or links something).
        let until = if is_open(&c, t) {
            t.max(c.first_seen)
        } else {
            c.last_seen.max(c.first_seen)
        };
        let timeline = tl.campaign_buckets(&c.sources, c.first_seen, until);
        // Accounts the engine named, then those tried from the campaign's sources (the engine
        // names none for some detections, and caps the list).
        let mut names: Vec<String> = c.accounts.iter().take(5000).cloned().collect();
        let mut seen: HashSet<String> = names.iter().cloned().collect();
        for a in tl.campaign_accounts(&c.sources, c.first_seen, until) {
            if names.len() >= 5000 {
                break;
            }
            if seen.insert(a.to_string()) {
                names.push(a.to_string());
            }
        }
        let (mut sources, accounts) = {
            let inner = tl.inner.lock();
            let shown = &c.sources[..c.sources.len().min(5000)];
            let counts = per_source(&inner.sources, shown);
            let sources: Vec<api::SourceRow> = shown
                .iter()
                .map(|p| {
                    let s = counts.get(p).copied();
                    api::SourceRow {
                        source: *p,
                        attempts: s.map_or(0, |s| s.attempts),
                        failures: s.map_or(0, |s| s.failures),
                        first_seen: s.map_or(c.first_seen, |s| s.first),
                        last_seen: s.map_or(c.last_seen, |s| s.last),
                        blocked: blocks.iter().any(|b| b.prefix.contains(p.addr())),
                        asn: None,
                        as_org: None,
                        country: None,
                    }
                })
                .collect();
            let accounts: Vec<api::AccountRow> = names
                .iter()
                .map(|a| {
                    let n = inner.accounts.get(a.as_str()).copied();
                    let state = if r.compromised_accounts.iter().any(|x| &x.account == a) {
                        api::AccountState::Compromised
                    } else if prots.iter().any(|x| &x.account == a) {
                        api::AccountState::Protected
                    } else if r.accounts_at_risk.iter().any(|x| &x.account == a) {
                        api::AccountState::AtRisk
                    } else {
                        api::AccountState::Targeted
                    };
                    api::AccountRow {
                        account: a.clone(),
                        attempts: n.map_or(0, |n| n.0),
                        last_attempt: n.map(|n| n.1),
                        state,
                    }
                })
                .collect();
            (sources, accounts)
        };
        sources.sort_by_key(|s| std::cmp::Reverse(s.attempts));
        let actions = audit_rows(
            h.store()
                .audit(2000)?
                .into_iter()
                .filter(|e| match &e.action {
                    AdminAction::Block { prefix, .. } | AdminAction::Unblock { prefix } => c
                        .sources
                        .iter()
                        .any(|s| prefix.contains(s.addr()) || s.contains(prefix.addr())),
                    AdminAction::Protect { account, .. }
                    | AdminAction::Unprotect { account }
                    | AdminAction::ResetAccount { account } => c.accounts.contains(account),
                    AdminAction::ShieldsUp { .. } | AdminAction::ShieldsDown => {
                        e.at >= c.first_seen
                    }
                })
                .collect(),
        );
        Ok(Some(api::CampaignDetail {
            state: state_of(&c, t),
            timeline,
            sources,
            accounts,
            compromised: r
                .compromised_accounts
                .iter()
                .filter(|x| x.campaign.as_deref() == Some(c.id.as_str()))
                .cloned()
                .collect(),
            at_risk: r
                .accounts_at_risk
                .iter()
                .filter(|x| x.campaign.as_deref() == Some(c.id.as_str()))
                .cloned()
                .collect(),
            actions,
            campaign: c,
        }))
    })
    .await;
    match res {
        Ok(Some(v)) => ok(&v),
        Ok(None) => err(StatusCode::NOT_FOUND, "no such campaign"),
        Err(r) => r,
    }
}

async fn account(
    State(st): State<DashState>,
    headers: HeaderMap,
    Path(name): Path<String>,
) -> Response {
    if let Err(r) = signed_in(&st, &headers) {
        return r;
    }
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
            .find(|p| p.account == name)
            .map(|p| api::Protection {
                mode: mode_str(&p.mode),
                since: p.at,
                until: p.until,
                by: p.actor,
            });
        let recent: Vec<Recent> = {
            let inner = h.timeline().inner.lock();
            inner
                .recent
                .iter()
                .rev()
                .filter(|x| *x.account == *name)
                .take(200)
                .cloned()
                .collect()
        };
        let familiar_sources = h
            .store()
            .familiar_sources(Timestamp::from_unix_secs(0))?
            .into_iter()
            .filter(|f| f.account == name)
            .map(|f| api::FamiliarSource {
                successes: recent
                    .iter()
                    .filter(|x| {
                        x.outcome == Outcome::Success
                            && x.source.is_some_and(|ip| f.prefix.contains(ip))
                    })
                    .count()
                    .max(1) as u64,
                source: f.prefix,
                last_success: f.last_success,
            })
            .collect();
        let recent_attempts = recent
            .iter()
            .map(|x| api::AttemptRow {
                ts: x.ts,
                source: x.source.map(Prefix::host),
                protocol: x.protocol.to_string(),
                outcome: x.outcome,
                verdict: VERDICTS[x.verdict as usize].to_string(),
                familiar: x.familiar,
            })
            .collect();
        // Campaigns that name the account, or whose sources tried it since they began.
        let campaigns = all_campaigns(&r, h.store())?
            .into_iter()
            .filter(|c| {
                c.accounts.contains(&name) || {
                    let set = PrefixSet::new(&c.sources);
                    recent.iter().any(|x| {
                        x.ts >= c.first_seen
                            && x.outcome != Outcome::Success
                            && x.source.is_some_and(|ip| set.find(ip).is_some())
                    })
                }
            })
            .map(|c| c.id)
            .collect();
        Ok(api::AccountDetail {
            protection,
            familiar_sources,
            recent_attempts,
            compromised: r
                .compromised_accounts
                .iter()
                .find(|x| x.account == name)
                .cloned(),
            at_risk: r
                .accounts_at_risk
                .iter()
                .find(|x| x.account == name)
                .cloned(),
            campaigns,
            account: name,
        })
    })
    .await;
    match res {
        Ok(v) => ok(&v),
        Err(r) => r,
    }
}

fn mode_str<T: serde::Serialize>(m: &T) -> String {
    serde_json::to_value(m)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

async fn state(State(st): State<DashState>, headers: HeaderMap) -> Response {
    if let Err(r) = signed_in(&st, &headers) {
        return r;
    }
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
                    mode: mode_str(&p.mode),
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

async fn actions(
    State(st): State<DashState>,
    headers: HeaderMap,
    Query(q): Query<LimitQ>,
) -> Response {
    if let Err(r) = signed_in(&st, &headers) {
        return r;
    }
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
        AdminAction::Block { prefix, until, .. } => {
            if let Some(tr) = st
                .admin
                .handle
                .trusted()
                .iter()
                .find(|tr| tr.contains(prefix.addr()) || prefix.contains(tr.addr()))
            {
                return Err(format!(
                    "refusing to block {prefix}: it overlaps the trusted network {tr}"
                ));
            }
            if until.is_some_and(|u| u <= at) {
                return Err("until is in the past".into());
            }
        }
        _ => {}
    }
    Ok(action)
}

async fn act(State(st): State<DashState>, headers: HeaderMap, body: Body) -> Response {
    let user = match signed_in_post(&st, &headers) {
        Ok((_, u)) => u,
        Err(r) => return r,
    };
    let v: Value = match body_json(&st, body).await {
        Ok(v) => v,
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
    match blocking(move || h.admin(entry)).await {
        Ok(_) => ok(&api::ActionDone {
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

#[cfg(test)]
mod tests {
    use super::*;
    use portcullis_core::{NormalizeOptions, Protocol};

    /// An hour boundary, so bucket edges are predictable.
    const T0: i64 = 1_700_000_000 / 3600 * 3600;

    fn record(tl: &Timeline, secs: i64, outcome: Outcome, familiar: bool) {
        let ev = AuthEvent::new(
            Timestamp::from_unix_secs(secs),
            Protocol::Imap,
            Account::new("alice@example.org", &NormalizeOptions::default()),
            Some("198.51.100.7".parse().unwrap()),
            outcome,
        );
        tl.record(&ev, familiar, Action::Allow);
    }

    /// Totals of (attempts, failures, unfamiliar failures), the common width, and a check that
    /// the buckets are aligned and follow each other without gaps.
    fn totals(b: &[api::Bucket]) -> (u64, u64, u64, i64) {
        assert!(!b.is_empty());
        let w = b[0].width_secs;
        for (i, x) in b.iter().enumerate() {
            assert_eq!(x.width_secs, w);
            assert_eq!(x.start.unix_secs() % w, 0, "aligned to the width");
            if i > 0 {
                assert_eq!(x.start.unix_secs() - b[i - 1].start.unix_secs(), w);
            }
        }
        (
            b.iter().map(|x| x.attempts).sum(),
            b.iter().map(|x| x.failures).sum(),
            b.iter().map(|x| x.unfamiliar_failures).sum(),
            w,
        )
    }

    fn at(secs: i64) -> Timestamp {
        Timestamp::from_unix_secs(secs)
    }

    #[test]
    fn recent_attempts_come_in_10_s_or_1_min_buckets_from_the_first_one() {
        let tl = Timeline::new();
        // 30 minutes of traffic: one success, then a failure from an unfamiliar source a minute.
        record(&tl, T0 + 5, Outcome::Success, false);
        for m in 1..=30 {
            record(&tl, T0 + m * 60, Outcome::BadPassword, m % 3 == 0);
        }
        let now = T0 + 31 * 60;
        let (b, verdicts) = tl.buckets(at(now - 48 * 3600), at(now));
        let (a, f, u, w) = totals(&b);
        assert_eq!((a, f, u, w), (31, 30, 20, 10));
        assert_eq!(b[0].start.unix_secs(), T0, "starts at the first attempt");
        assert_eq!(verdicts["allow"], 31);
        assert_eq!(verdicts["deny"], 0);
        // Two hours of traffic: minutes.
        record(&tl, T0 + 2 * 3600, Outcome::BadPassword, false);
        let (b, _) = tl.buckets(at(now - 48 * 3600), at(T0 + 2 * 3600 + 60));
        assert_eq!(totals(&b), (32, 31, 21, 60));
    }

    #[test]
    fn longer_windows_are_hourly_six_hourly_or_daily_and_count_everything() {
        let tl = Timeline::new();
        // Ten days, one attempt every 20 minutes, every fourth a success.
        let mut n = 0u64;
        let mut fails = 0u64;
        for i in 0..(10 * 24 * 3) {
            let ok = i % 4 == 0;
            record(
                &tl,
                T0 + i * 1200 + 7,
                if ok {
                    Outcome::Success
                } else {
                    Outcome::BadPassword
                },
                false,
            );
            n += 1;
            fails += (!ok) as u64;
        }
        let now = T0 + 10 * 86_400;
        for (hours, width) in [(24, 3600), (168, 3600), (720, 6 * 3600), (2160, 86_400)] {
            let (b, verdicts) = tl.buckets(at(now - hours * 3600), at(now));
            let (a, f, u, w) = totals(&b);
            assert_eq!(w, width, "{hours} h");
            assert!(b.len() <= 1000, "{hours} h: {} buckets", b.len());
            if hours >= 240 {
                assert_eq!((a, f, u), (n, fails, fails), "{hours} h");
                assert_eq!(verdicts.values().sum::<u64>(), n);
            } else {
                // Only the window's share: 3 attempts an hour.
                assert!(
                    a >= 3 * hours as u64 && a <= 3 * (hours as u64 + 1),
                    "{hours} h: {a}"
                );
            }
        }
    }

    /// When the fine record has dropped attempts the window still needs, the chart falls back
    /// to hours instead of silently under-counting.
    #[test]
    fn an_incomplete_fine_record_is_not_used() {
        let tl = Timeline::new();
        // One attempt in each 10 s bucket for six hours and ten seconds: one more bucket than
        // the fine record keeps.
        let n = FINE_KEEP as i64 + 1;
        for i in 0..n {
            record(&tl, T0 + i * FINE_SECS, Outcome::BadPassword, false);
        }
        let now = T0 + 6 * 3600;
        let (b, _) = tl.buckets(at(now - 24 * 3600), at(now));
        let (a, _, _, w) = totals(&b);
        assert_eq!(w, 3600);
        assert_eq!(a, n as u64, "every attempt counted");
    }

    #[test]
    fn the_live_report_gets_the_timeline_and_the_input_summary() {
        let tl = Timeline::new();
        record(&tl, T0 + 100, Outcome::Success, false);
        record(&tl, T0 + 3 * 3600 + 5, Outcome::BadPassword, false);
        record(&tl, T0 + 3 * 3600 + 6, Outcome::BadPassword, true);
        record(&tl, T0 + 5 * 3600 + 7, Outcome::UnknownAccount, false);
        let mut r = Report::new(Default::default());
        tl.fill_report(&mut r);
        let (a, f, u, w) = totals(&r.timeline);
        assert_eq!((a, f, u, w), (4, 3, 2, 600), "5 hours: per 10 minutes");
        assert_eq!(
            r.timeline.len(),
            31,
            "10-minute steps over 5 hours, empty ones included"
        );
        assert_eq!(r.timeline[18].attempts, 2);
        // A day later: hourly.
        record(&tl, T0 + 30 * 3600, Outcome::Success, true);
        let mut r = Report::new(Default::default());
        tl.fill_report(&mut r);
        let (a, _, _, w) = totals(&r.timeline);
        assert_eq!((a, w), (5, 3600));
        assert_eq!(r.timeline.len(), 31, "hours 0 to 30");
        assert_eq!(r.timeline[3].attempts, 2);
        assert_eq!((r.input.events, r.input.lines), (5, 5));
        assert_eq!(r.input.events_by_outcome[&Outcome::BadPassword], 2);
        assert_eq!(r.input.events_by_outcome[&Outcome::UnknownAccount], 1);
        assert_eq!(r.input.events_by_outcome[&Outcome::Success], 2);
        assert_eq!(r.input.first_event, Some(at(T0 + 100)));
        assert_eq!(r.input.last_event, Some(at(T0 + 30 * 3600)));
        // Nothing observed: nothing claimed.
        let mut r = Report::new(Default::default());
        Timeline::new().fill_report(&mut r);
        assert!(r.timeline.is_empty());
        assert_eq!((r.input.events, r.input.first_event), (0, None));
    }

    #[test]
    fn networks_among_a_campaigns_sources_sum_the_addresses_in_them() {
        let tl = Timeline::new();
        let ev = |ip: &str, secs: i64| {
            AuthEvent::new(
                at(secs),
                Protocol::Imap,
                Account::new("bob", &NormalizeOptions::default()),
                Some(ip.parse().unwrap()),
                Outcome::BadPassword,
            )
        };
        for (i, ip) in [
            "198.51.100.1",
            "198.51.100.2",
            "198.51.100.2",
            "203.0.113.9",
            "2001:db8:1::5",
            "192.0.2.1",
        ]
        .iter()
        .enumerate()
        {
            tl.record(&ev(ip, T0 + i as i64), false, Action::Allow);
        }
        let net: Prefix = "198.51.100.0/24".parse().unwrap();
        let host: Prefix = "203.0.113.9".parse().unwrap();
        let net6: Prefix = "2001:db8::/32".parse().unwrap();
        let nested: Prefix = "198.51.100.2".parse().unwrap();
        let inner = tl.inner.lock();
        let c = per_source(&inner.sources, &[net, host, net6]);
        assert_eq!(c[&net].attempts, 3);
        assert_eq!((c[&net].first, c[&net].last), (at(T0), at(T0 + 2)));
        assert_eq!(c[&host].attempts, 1);
        assert_eq!(c[&net6].attempts, 1);
        assert_eq!(c.len(), 3, "192.0.2.1 is no source of this campaign");
        // An address listed on its own and inside a listed network counts once, as itself.
        let c = per_source(&inner.sources, &[net, nested]);
        assert_eq!((c[&net].attempts, c[&nested].attempts), (1, 2));
    }

    #[test]
    fn campaign_buckets_fit_the_campaign_and_only_count_its_sources() {
        let tl = Timeline::new();
        let ours: Prefix = "198.51.100.0/24".parse().unwrap();
        let theirs: Prefix = "203.0.113.0/24".parse().unwrap();
        for i in 0..20 {
            record(&tl, T0 + i * 20, Outcome::BadPassword, false);
        }
        let b = tl.campaign_buckets(&[ours], at(T0), at(T0 + 400));
        assert_eq!(b[0].width_secs, FINE_SECS);
        assert_eq!(b.iter().map(|x| x.attempts).sum::<u64>(), 20);
        assert!(
            tl.campaign_buckets(&[theirs], at(T0), at(T0 + 400))
                .is_empty()
        );
        let b = tl.campaign_buckets(&[ours], at(T0), at(T0 + 3 * 86_400));
        assert_eq!(b[0].width_secs, 3600);
        assert_eq!(b.iter().map(|x| x.attempts).sum::<u64>(), 20);
    }
}
