//! Authentication of the policy listener: HTTP Basic (Dovecot's `auth_policy_server_url`
//! credentials) or the API-key header, compared in constant time; and of the wforce blacklist
//! commands, which take the admin credential instead ([`wforce_admin_authorized`]).

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

/// True when the headers carry an admin credential for the wforce blacklist commands: the
/// admin token as `Bearer` or as the HTTP Basic password (any user name, as wforce clients
/// send it), or the HTTP Basic password `wforce_admin_password` when it is set. A token or
/// password shorter than 16 characters (none configured) never matches.
pub fn wforce_admin_authorized(cfg: &ServerConfig, headers: &HeaderMap) -> bool {
    let secrets = [
        cfg.admin_token.as_bytes(),
        cfg.wforce_admin_password.as_bytes(),
    ];
    let usable = |s: &[u8]| s.len() >= 16;
    let Some(v) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    if let Some(t) = v.strip_prefix("Bearer ") {
        let t = t.trim().as_bytes();
        return usable(secrets[0]) && bool::from(t.ct_eq(secrets[0]));
    }
    let Some(b64) = v
        .strip_prefix("Basic ")
        .or_else(|| v.strip_prefix("basic "))
    else {
        return false;
    };
    let Ok(decoded) = base64::engine::general_purpose::STANDARD.decode(b64.trim()) else {
        return false;
    };
    let Some(colon) = decoded.iter().position(|&b| b == b':') else {
        return false;
    };
    let pass = &decoded[colon + 1..];
    // Both compared, whichever matches (no early exit on the first).
    secrets
        .iter()
        .filter(|s| usable(s))
        .fold(false, |ok, s| ok | bool::from(pass.ct_eq(s)))
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

    #[test]
    fn wforce_admin_takes_the_admin_token_or_its_own_password_never_the_policy_one() {
        let basic = |up: &str| {
            let mut h = HeaderMap::new();
            let b = base64::engine::general_purpose::STANDARD.encode(up);
            h.insert(header::AUTHORIZATION, format!("Basic {b}").parse().unwrap());
            h
        };
        let cfg = ServerConfig {
            policy_password: "s3cret".into(),
            admin_token: "admin-token-0123456789".into(),
            ..Default::default()
        };
        assert!(!wforce_admin_authorized(&cfg, &basic("dovecot:s3cret")));
        assert!(wforce_admin_authorized(
            &cfg,
            &basic("wforce:admin-token-0123456789")
        ));
        assert!(!wforce_admin_authorized(
            &cfg,
            &basic("wforce:admin-token-012345678")
        ));
        let mut h = HeaderMap::new();
        h.insert(
            header::AUTHORIZATION,
            "Bearer admin-token-0123456789".parse().unwrap(),
        );
        assert!(wforce_admin_authorized(&cfg, &h));
        // No admin token configured: an empty password is no credential.
        let open = ServerConfig {
            policy_password: "s3cret".into(),
            ..Default::default()
        };
        assert!(!wforce_admin_authorized(&open, &basic("wforce:")));
        let sep = ServerConfig {
            wforce_admin_password: "wforce-only-password-1".into(),
            ..open
        };
        assert!(wforce_admin_authorized(
            &sep,
            &basic("x:wforce-only-password-1")
        ));
    }
}
