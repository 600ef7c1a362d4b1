//! Authentication of the policy listener: HTTP Basic (Dovecot's `auth_policy_server_url`
//! credentials) or the API-key header, compared in constant time.

use crate::config::ServerConfig;
use axum::http::{HeaderMap, header};
use base64::Engine as _;
use subtle::ConstantTimeEq;

/// True when the headers carry the configured policy credentials.
pub fn policy_authorized(cfg: &ServerConfig, headers: &HeaderMap) -> bool {
    let has_basic = !cfg.policy_password.is_empty();
    let has_key = !cfg.policy_api_key.is_empty();
    if !has_basic && !has_key {
        return cfg.allow_unauthenticated;
    }
    if has_key
        && let Some(v) = headers.get(cfg.api_key_header.as_str())
        && bool::from(v.as_bytes().ct_eq(cfg.policy_api_key.as_bytes()))
    {
        return true;
    }
    if has_basic
        && let Some(v) = headers.get(header::AUTHORIZATION)
        && let Some(b64) = v.to_str().ok().and_then(|s| {
            s.strip_prefix("Basic ")
                .or_else(|| s.strip_prefix("basic "))
        })
    {
        // Decoded on the stack (no allocation per request) unless it is unusually long.
        let mut buf = [0u8; 256];
        let engine = &base64::engine::general_purpose::STANDARD;
        return match engine.decode_slice(b64.trim(), &mut buf) {
            Ok(n) => basic_matches(cfg, &buf[..n]),
            Err(_) => engine
                .decode(b64.trim())
                .is_ok_and(|d| basic_matches(cfg, &d)),
        };
    }
    false
}

/// True when `decoded` is `user:password` of the configuration (the contents compared in
/// constant time; only the length can differ early, as with any comparison of secrets).
fn basic_matches(cfg: &ServerConfig, decoded: &[u8]) -> bool {
    let (user, pass) = (cfg.policy_user.as_bytes(), cfg.policy_password.as_bytes());
    if decoded.len() != user.len() + 1 + pass.len() {
        return false;
    }
    let (u, rest) = decoded.split_at(user.len());
    bool::from(u.ct_eq(user) & rest[..1].ct_eq(b":") & rest[1..].ct_eq(pass))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_and_api_key_authentication() {
        let cfg = ServerConfig {
            policy_user: "dovecot".into(),
            policy_password: "s3cret".into(),
            policy_api_key: "key-123".into(),
            ..Default::default()
        };
        let mut h = HeaderMap::new();
        assert!(!policy_authorized(&cfg, &h));
        let good = base64::engine::general_purpose::STANDARD.encode("dovecot:s3cret");
        h.insert(
            header::AUTHORIZATION,
            format!("Basic {good}").parse().unwrap(),
        );
        assert!(policy_authorized(&cfg, &h));
        let bad = base64::engine::general_purpose::STANDARD.encode("dovecot:s3cres");
        h.insert(
            header::AUTHORIZATION,
            format!("Basic {bad}").parse().unwrap(),
        );
        assert!(!policy_authorized(&cfg, &h));
        let mut h = HeaderMap::new();
        h.insert("x-api-key", "key-123".parse().unwrap());
        assert!(policy_authorized(&cfg, &h));
        h.insert("x-api-key", "key-124".parse().unwrap());
        assert!(!policy_authorized(&cfg, &h));
        let open = ServerConfig {
            allow_unauthenticated: true,
            ..Default::default()
        };
        assert!(policy_authorized(&open, &HeaderMap::new()));
        let closed = ServerConfig::default();
        assert!(!policy_authorized(&closed, &HeaderMap::new()));
    }
}
