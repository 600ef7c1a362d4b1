//! nginx's mail proxy (`ngx_mail_auth_http_module`): `GET /nginx/auth` stands in front of the
//! site's own `auth_http` server (`nginx_auth_upstream`), which stays the authenticator and
//! names the backend.
//!
//! nginx asks with headers only (`Auth-Method`, `Auth-User`, `Auth-Pass` — both URL-encoded —
//! `Auth-Protocol`, `Auth-Login-Attempt`, `Client-IP`, …) and reads the answer's headers only
//! (`Auth-Status: OK` with `Auth-Server`/`Auth-Port`, or `Auth-Status: <message>` with an
//! optional `Auth-Wait` and, for SMTP, `Auth-Error-Code`). For each request:
//!
//! 1. the engine is asked first ([`EngineHandle::check`](crate::hub::EngineHandle::check)) with
//!    the account, `Client-IP`, the protocol and a keyed fingerprint of login and password
//!    ([`Fingerprinter`]: HMAC-SHA256 under a random key of this process, 32 bits kept; the
//!    password itself is never stored, logged or formatted);
//! 2. `deny` answers `Auth-Status: <reject_message>` without `Auth-Wait` (nginx tells the
//!    client and closes the connection) and the upstream is never asked; `tarpit N` holds the
//!    answer N seconds and then forwards (Dovecot's meaning of a tarpit: delay, then proceed;
//!    nginx's `Auth-Wait` goes only with a refusal, so it would refuse a genuine login);
//! 3. otherwise the request's headers go to the upstream (without the credential nginx
//!    presented to portcullis) within `nginx_auth_timeout_ms`; its `Auth-Status: OK` is
//!    reported to the engine as a success, anything else as a wrong password, and its `Auth-*`
//!    headers go back to nginx unchanged;
//! 4. an upstream that cannot be reached, times out or answers without `Auth-Status` (or with
//!    an HTTP status other than 200) is counted and answered `Auth-Status: Temporary server
//!    problem, try again later` with `Auth-Wait: 3`: the upstream is the authenticator, so
//!    nobody could log in anyway (fail-closed, as nginx itself is without its `auth_http`).
//!
//! A request without `Auth-User` (SMTP relaying with `smtp_auth none`) is forwarded without
//! asking or telling the engine: there is no login to judge.

use super::{PolicyState, count_effective};
use crate::config::ServerConfig;
use crate::http::Authorized;
use crate::hub::{Effective, now, resolve};
use crate::labels::Endpoint;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use hmac::{Hmac, KeyInit, Mac};
use portcullis_core::{Account, AuthEvent, Outcome, Protocol, addr::parse_ip};
use portcullis_engine::Attempt;
use sha2::Sha256;
use std::time::Duration;

/// The answer when the upstream cannot be asked (nginx's own wording for an internal error).
pub const TEMPORARY: &str = "Temporary server problem, try again later";
/// Seconds nginx waits before letting the client retry after [`TEMPORARY`].
pub const TEMPORARY_WAIT: &str = "3";

/// Keyed password fingerprints: HMAC-SHA256 under a key drawn at start and never written
/// anywhere, of login ‖ 0x00 ‖ password (salted with the login, as Dovecot's `pwhash`, so the
/// engine judges these attempts exactly as Dovecot's), truncated to 32 bits — enough for the
/// engine to recognise the same wrong password again on one account, too few to confirm a
/// guess among many even with the key. Fingerprints change at every restart.
pub struct Fingerprinter {
    key: [u8; 32],
}

impl Fingerprinter {
    /// A fingerprinter with a fresh random key.
    pub fn random() -> Fingerprinter {
        let mut key = [0u8; 32];
        getrandom::fill(&mut key).expect("the OS random source is available");
        Fingerprinter { key }
    }

    /// The fingerprint of `password` for `login` (bytes as the client typed them).
    pub fn fingerprint(&self, login: &[u8], password: &[u8]) -> u64 {
        let mut mac =
            <Hmac<Sha256> as KeyInit>::new_from_slice(&self.key).expect("HMAC takes any key");
        mac.update(login);
        mac.update(&[0]);
        mac.update(password);
        let out = mac.finalize().into_bytes();
        u64::from(u32::from_be_bytes([out[0], out[1], out[2], out[3]]))
    }
}

/// The upstream `auth_http` server and how portcullis talks to it.
pub struct NginxAuth {
    upstream: String,
    agent: ureq::Agent,
    fingerprints: Fingerprinter,
}

impl NginxAuth {
    /// The endpoint's settings, `None` when `nginx_auth_upstream` is empty (disabled: 404).
    pub fn from_config(cfg: &ServerConfig) -> Option<NginxAuth> {
        if cfg.nginx_auth_upstream.is_empty() {
            return None;
        }
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_global(Some(Duration::from_millis(cfg.nginx_auth_timeout_ms)))
            .http_status_as_error(false)
            .max_redirects(0)
            .build()
            .into();
        Some(NginxAuth {
            upstream: cfg.nginx_auth_upstream.clone(),
            agent,
            fingerprints: Fingerprinter::random(),
        })
    }
}

/// What portcullis reads from nginx's request. Holds no password (only its fingerprint).
#[derive(Debug, PartialEq, Eq)]
pub struct Login {
    /// `Auth-User`, URL-decoded; `None` when absent or empty.
    pub user: Option<String>,
    /// `Client-IP`.
    pub source: Option<std::net::IpAddr>,
    /// `Auth-Protocol`.
    pub protocol: Protocol,
    /// The fingerprint of `Auth-Pass` (URL-decoded), for `Auth-Method: plain` (nginx's name
    /// for LOGIN and PLAIN) only: with APOP and CRAM-MD5 `Auth-Pass` is a salted digest.
    pub fingerprint: Option<u64>,
}

fn header_str<'h>(h: &'h HeaderMap, name: &str) -> Option<&'h str> {
    h.get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

/// Decodes nginx's URL encoding (`%XX`; `+` is itself). Invalid escapes are kept as they are.
pub fn url_decode(s: &[u8]) -> Vec<u8> {
    let hex = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        if s[i] == b'%'
            && i + 2 < s.len()
            && let (Some(h), Some(l)) = (hex(s[i + 1]), hex(s[i + 2]))
        {
            out.push(h << 4 | l);
            i += 3;
        } else {
            out.push(s[i]);
            i += 1;
        }
    }
    out
}

/// Reads nginx's request headers. The decoded password lives only inside this call.
pub fn parse_login(h: &HeaderMap, fp: &Fingerprinter) -> Login {
    let user = header_str(h, "auth-user")
        .map(|u| String::from_utf8_lossy(&url_decode(u.as_bytes())).into_owned())
        .filter(|u| !u.trim().is_empty());
    let plain = header_str(h, "auth-method").is_some_and(|m| m.eq_ignore_ascii_case("plain"));
    let fingerprint = match h.get("auth-pass") {
        Some(p) if plain && !p.is_empty() => user
            .as_deref()
            .map(|u| fp.fingerprint(u.as_bytes(), &url_decode(p.as_bytes()))),
        _ => None,
    };
    Login {
        user,
        source: header_str(h, "client-ip").and_then(parse_ip),
        protocol: header_str(h, "auth-protocol")
            .map(Protocol::from_service)
            .unwrap_or(Protocol::Other),
        fingerprint,
    }
}

/// The headers nginx sent that go on to the upstream: all but the connection's own and the
/// credential nginx presented to portcullis (`Authorization`, the API-key header).
pub fn forwarded(h: &HeaderMap, api_key_header: &str) -> Vec<(HeaderName, HeaderValue)> {
    h.iter()
        .filter(|(k, _)| {
            !matches!(
                k.as_str(),
                "host"
                    | "connection"
                    | "keep-alive"
                    | "content-length"
                    | "transfer-encoding"
                    | "te"
                    | "upgrade"
                    | "authorization"
                    | "proxy-authorization"
            ) && !k.as_str().eq_ignore_ascii_case(api_key_header)
        })
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// The upstream's answer as nginx reads it.
#[derive(Debug, PartialEq, Eq)]
pub struct UpstreamAnswer {
    /// True when `Auth-Status` is `OK`.
    pub ok: bool,
    /// Its `Auth-*` headers, in order, unchanged.
    pub headers: Vec<(HeaderName, HeaderValue)>,
}

/// Reads an upstream answer: `None` (an upstream error) unless it is HTTP 200 with an
/// `Auth-Status` header.
pub fn read_answer(status: u16, h: &HeaderMap) -> Option<UpstreamAnswer> {
    if status != 200 {
        return None;
    }
    let auth_status = h.get("auth-status")?.to_str().ok()?.trim();
    let ok = auth_status == "OK";
    let headers = h
        .iter()
        .filter(|(k, _)| k.as_str().starts_with("auth-"))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    Some(UpstreamAnswer { ok, headers })
}

/// An answer to nginx: status 200, the given headers, no body.
fn answer(headers: impl IntoIterator<Item = (HeaderName, HeaderValue)>) -> Response {
    let mut r = StatusCode::OK.into_response();
    for (k, v) in headers {
        r.headers_mut().append(k, v);
    }
    r.headers_mut()
        .insert(header::CONTENT_LENGTH, HeaderValue::from_static("0"));
    r
}

fn status_header(msg: &str) -> (HeaderName, HeaderValue) {
    let v = HeaderValue::from_str(msg)
        .unwrap_or_else(|_| HeaderValue::from_static("Authentication failed"));
    (HeaderName::from_static("auth-status"), v)
}

/// The answer when the upstream failed: a temporary error nginx lets the client retry.
fn temporary() -> Response {
    answer([
        status_header(TEMPORARY),
        (
            HeaderName::from_static("auth-wait"),
            HeaderValue::from_static(TEMPORARY_WAIT),
        ),
    ])
}

/// Asks the upstream (blocking client on the blocking pool, bounded by the agent's timeout).
async fn ask_upstream(
    agent: ureq::Agent,
    url: String,
    headers: Vec<(HeaderName, HeaderValue)>,
) -> Option<UpstreamAnswer> {
    tokio::task::spawn_blocking(move || {
        let mut req = agent.get(&url);
        for (k, v) in &headers {
            req = req.header(k, v);
        }
        match req.call() {
            Ok(resp) => read_answer(resp.status().as_u16(), resp.headers()),
            Err(e) => {
                tracing::warn!(error = %e, "nginx auth_http upstream failed");
                None
            }
        }
    })
    .await
    .ok()
    .flatten()
}

/// `GET /nginx/auth`.
pub(super) async fn auth(
    State(st): State<PolicyState>,
    _: Authorized,
    headers: HeaderMap,
) -> Response {
    let Some(nginx) = st.nginx.clone() else {
        return (StatusCode::NOT_FOUND, "nginx auth_http is not configured\n").into_response();
    };
    let metrics = st.handle.metrics();
    metrics.request(Endpoint::NginxAuth);
    let login = parse_login(&headers, &nginx.fingerprints);
    let account = login
        .user
        .as_deref()
        .map(|u| Account::new(u, &st.normalize));
    if let Some(account) = &account {
        let verdict = st.handle.check(&Attempt {
            ts: now(),
            protocol: login.protocol,
            account,
            source: login.source,
            password_fingerprint: login.fingerprint,
        });
        let eff = resolve(verdict.action);
        count_effective(&st.handle, eff);
        match eff {
            Effective::Allow => {}
            Effective::Tarpit(s) => tokio::time::sleep(Duration::from_secs(s.into())).await,
            Effective::Deny => return answer([status_header(&st.cfg.reject_message)]),
            // nginx's mail protocols have no second factor: refused as a denial is, with the
            // message that says where to get in, without asking the upstream. Reported as
            // Dovecot reports a policy refusal (`other_failure`), for the timeline and the
            // verdict counts; the engine never counts a step-up's refusal against the user.
            Effective::StepUp => {
                let mut ev = AuthEvent::new(
                    now(),
                    login.protocol,
                    account.clone(),
                    login.source,
                    Outcome::OtherFailure,
                );
                ev.password_fingerprint = login.fingerprint;
                st.handle.observe(&ev);
                metrics.observed();
                return answer([status_header(&st.cfg.step_up_message)]);
            }
        }
    }
    let fwd = forwarded(&headers, &st.cfg.api_key_header);
    let Some(up) = ask_upstream(nginx.agent.clone(), nginx.upstream.clone(), fwd).await else {
        metrics.nginx_upstream_error();
        return temporary();
    };
    if let Some(account) = account {
        let outcome = if up.ok {
            Outcome::Success
        } else {
            Outcome::BadPassword
        };
        let mut ev = AuthEvent::new(now(), login.protocol, account, login.source, outcome);
        ev.password_fingerprint = login.fingerprint;
        ev.client = Some("nginx-mail".to_string());
        st.handle.observe(&ev);
        metrics.observed();
    }
    answer(up.headers)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(
                HeaderName::from_bytes(k.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        h
    }

    #[test]
    fn url_decoding_as_nginx_encodes() {
        assert_eq!(url_decode(b"p%40ss%20word%25"), b"p@ss word%");
        assert_eq!(url_decode(b"a+b"), b"a+b");
        // Invalid or cut escapes stay as they are.
        assert_eq!(url_decode(b"%zz%4"), b"%zz%4");
        assert_eq!(url_decode(b"%41"), b"A");
        assert_eq!(url_decode(b""), b"");
    }

    #[test]
    fn nginx_requests_are_read_without_keeping_the_password() {
        let fp = Fingerprinter::random();
        let h = headers(&[
            ("Auth-Method", "plain"),
            ("Auth-User", "alice%40example.org"),
            ("Auth-Pass", "s%20cret"),
            ("Auth-Protocol", "imap"),
            ("Auth-Login-Attempt", "1"),
            ("Client-IP", "203.0.113.9"),
        ]);
        let l = parse_login(&h, &fp);
        assert_eq!(l.user.as_deref(), Some("alice@example.org"));
        assert_eq!(l.source, Some("203.0.113.9".parse().unwrap()));
        assert_eq!(l.protocol, Protocol::Imap);
        assert_eq!(
            l.fingerprint,
            Some(fp.fingerprint(b"alice@example.org", b"s cret"))
        );
        // Nothing that prints a login shows the password, encoded or not.
        let shown = format!("{l:?}");
        assert!(!shown.contains("cret"), "{shown}");
        // Salted with the login: the same password differs on another account.
        let other = headers(&[
            ("Auth-Method", "plain"),
            ("Auth-User", "bob"),
            ("Auth-Pass", "s cret"),
            ("Auth-Protocol", "pop3"),
        ]);
        let o = parse_login(&other, &fp);
        assert_eq!(o.fingerprint, Some(fp.fingerprint(b"bob", b"s cret")));
        assert_ne!(o.fingerprint, l.fingerprint);
        assert_eq!(o.protocol, Protocol::Pop3);
        assert_eq!(o.source, None);
        assert_ne!(
            fp.fingerprint(b"a", b"s cret"),
            fp.fingerprint(b"a", b"s crets")
        );
        assert!(fp.fingerprint(b"a", b"anything") <= u64::from(u32::MAX));
        // Another process (another key) fingerprints the same password differently.
        assert_ne!(
            Fingerprinter::random().fingerprint(b"a", b"s cret"),
            fp.fingerprint(b"a", b"s cret")
        );
        // A salted digest (CRAM-MD5, APOP) is no password: no fingerprint.
        let cram = headers(&[
            ("Auth-Method", "cram-md5"),
            ("Auth-User", "alice"),
            ("Auth-Pass", "d41d8cd98f00b204e9800998ecf8427e"),
            ("Auth-Salt", "<1.2@example.org>"),
        ]);
        assert_eq!(parse_login(&cram, &fp).fingerprint, None);
        // SMTP without authentication: no login.
        let none = headers(&[
            ("Auth-Method", "none"),
            ("Auth-User", ""),
            ("Auth-Protocol", "smtp"),
        ]);
        let n = parse_login(&none, &fp);
        assert_eq!(
            (n.user, n.fingerprint, n.protocol),
            (None, None, Protocol::Smtp)
        );
    }

    #[test]
    fn the_upstream_gets_nginx_headers_but_not_portcullis_credentials() {
        let h = headers(&[
            ("Host", "127.0.0.1:8300"),
            ("Auth-User", "alice"),
            ("Auth-Pass", "pw"),
            ("X-Auth-Key", "site secret for the upstream"),
            ("X-API-Key", "portcullis key"),
            ("Authorization", "Basic eDp5"),
            ("Connection", "close"),
        ]);
        let f = forwarded(&h, "X-API-Key");
        let names: Vec<&str> = f.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(names, ["auth-user", "auth-pass", "x-auth-key"]);
    }

    #[test]
    fn upstream_answers_map_to_outcomes_and_pass_through() {
        let ok = headers(&[
            ("Auth-Status", "OK"),
            ("Auth-Server", "127.0.0.1"),
            ("Auth-Port", "1143"),
            ("Server", "upstream/1"),
        ]);
        let a = read_answer(200, &ok).unwrap();
        assert!(a.ok);
        let names: Vec<&str> = a.headers.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(names, ["auth-status", "auth-server", "auth-port"]);
        let bad = headers(&[
            ("Auth-Status", "Invalid login or password"),
            ("Auth-Wait", "3"),
            ("Auth-Error-Code", "535 5.7.8"),
        ]);
        let b = read_answer(200, &bad).unwrap();
        assert!(!b.ok);
        assert_eq!(b.headers.len(), 3);
        assert_eq!(b.headers[0].1, "Invalid login or password");
        // "ok" is not "OK": nginx compares exactly.
        assert!(
            !read_answer(200, &headers(&[("Auth-Status", "ok")]))
                .unwrap()
                .ok
        );
        // No Auth-Status, or not a 200: the upstream failed.
        assert_eq!(read_answer(200, &headers(&[("Auth-Server", "x")])), None);
        assert_eq!(read_answer(500, &ok), None);
    }
}
