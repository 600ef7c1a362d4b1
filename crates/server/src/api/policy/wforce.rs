//! The wforce-compatible commands beyond `allow`/`report`: `reset`, `addBLEntry`,
//! `delBLEntry`, `getBL` (blacklist entries become audited admin blocks and protections,
//! through the one validation of every admin action), `ping` and `stats`. All but `ping` and
//! `stats` are admitted with the admin credential only (`command.rs`).

use super::PolicyState;
use crate::http::{Gate, json_response, parse_json};
use crate::hub::{AdminError, now};
use crate::labels::{Answer, Endpoint, Rejection};
use axum::http::StatusCode;
use axum::response::Response;
use portcullis_core::{Account, Prefix, Timestamp, addr::parse_ip};
use portcullis_engine::{AdminAction, ProtectionMode};
use portcullis_store::AuditEntry;
use serde::Deserialize;
use serde_json::json;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BlParams {
    #[serde(default)]
    ip: Option<String>,
    #[serde(default)]
    netmask: Option<String>,
    #[serde(default)]
    login: Option<String>,
    #[serde(default)]
    expire_secs: Option<i64>,
    #[serde(default)]
    reason: Option<String>,
}

/// Actor and channel of wforce-API actions in the audit log.
const WFORCE_ACTOR: &str = "wforce-client";
const WFORCE_VIA: &str = "wforce-api";

pub(super) async fn list_edit(st: &PolicyState, cmd: Endpoint, bytes: &[u8]) -> Response {
    let p: BlParams = match parse_json(st, bytes) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let bad = |m: &str| st.refuse(StatusCode::BAD_REQUEST, Rejection::BadRequest, m);
    let prefix: Option<Prefix> = match (p.ip.as_deref(), p.netmask.as_deref()) {
        (Some(_), Some(_)) => return bad("ip and netmask are mutually exclusive"),
        (Some(s), None) => match parse_ip(s) {
            Some(ip) => Some(Prefix::host(ip)),
            None => return bad("ip is not an IP address"),
        },
        (None, Some(s)) => match s.parse() {
            Ok(p) => Some(p),
            Err(e) => return bad(&format!("{e}")),
        },
        (None, None) => None,
    };
    let login = p
        .login
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|l| Account::new(l, &st.normalize).name);
    if prefix.is_some() && login.is_some() && cmd != Endpoint::Reset {
        return bad("ip+login entries are not supported: block the source, or protect the login");
    }
    if prefix.is_none() && login.is_none() {
        return bad("give ip, netmask or login");
    }
    let at = now();
    // The audit log always says why: a wforce client that gives no reason is named instead.
    let reason = p
        .reason
        .map(|r| r.trim().to_string())
        .filter(|r| !r.is_empty())
        .unwrap_or_else(|| format!("wforce {cmd} (no reason given)"));
    if cmd == Endpoint::AddBlEntry && p.expire_secs.is_none() {
        return bad("expire_secs is required");
    }
    let until = match st.handle.rules().expiry(at, p.expire_secs) {
        Ok(u) => u,
        Err(e) => return bad(&e.0),
    };
    let mut actions = Vec::new();
    match cmd {
        Endpoint::AddBlEntry => {
            if let Some(prefix) = prefix {
                actions.push(AdminAction::Block {
                    prefix,
                    at,
                    until,
                    reason: reason.clone(),
                });
            }
            if let Some(account) = login {
                actions.push(AdminAction::Protect {
                    account,
                    mode: ProtectionMode::Disabled,
                    at,
                    until,
                });
            }
        }
        Endpoint::DelBlEntry => {
            if let Some(prefix) = prefix {
                actions.push(AdminAction::Unblock { prefix });
            }
            if let Some(account) = login {
                actions.push(AdminAction::Unprotect { account });
            }
        }
        _ => {
            // reset: forget the stats and lift any blacklist entry.
            if let Some(prefix) = prefix {
                actions.push(AdminAction::Unblock { prefix });
            }
            if let Some(account) = login {
                let via_wforce = st
                    .handle
                    .store()
                    .protections(at)
                    .map(|ps| {
                        ps.iter()
                            .any(|p| p.account == account && p.actor == WFORCE_ACTOR)
                    })
                    .unwrap_or(false);
                actions.push(AdminAction::ResetAccount {
                    account: account.clone(),
                });
                if via_wforce {
                    actions.push(AdminAction::Unprotect { account });
                }
            }
        }
    }
    let h = st.handle.clone();
    let res = tokio::task::spawn_blocking(move || -> Result<(), AdminError> {
        for action in actions {
            h.admin(AuditEntry {
                seq: 0,
                at,
                actor: WFORCE_ACTOR.into(),
                via: WFORCE_VIA.into(),
                action,
                reason: reason.clone(),
            })?;
        }
        Ok(())
    })
    .await;
    match res {
        Ok(Ok(())) => json_response(StatusCode::OK, &json!({"status": "ok"})),
        Ok(Err(AdminError::Refused(e))) => bad(&e.0),
        Ok(Err(e)) => json_response(
            StatusCode::INTERNAL_SERVER_ERROR,
            &json!({"status": "failure", "reason": format!("{e:#}")}),
        ),
        Err(e) => json_response(
            StatusCode::INTERNAL_SERVER_ERROR,
            &json!({"status": "failure", "reason": e.to_string()}),
        ),
    }
}

/// wforce's time format for blacklist expirations (`2002-Jan-01 10:00:01`, UTC).
fn wforce_time(t: Option<Timestamp>) -> String {
    match t {
        Some(t) => t.to_chrono().format("%Y-%b-%d %H:%M:%S").to_string(),
        None => "9999-Dec-31 23:59:59".into(),
    }
}

pub(super) async fn get_bl(st: &PolicyState) -> Response {
    let at = now();
    let store = st.handle.store().clone();
    let res = tokio::task::spawn_blocking(move || {
        Ok::<_, portcullis_store::StoreError>((store.blocks(at)?, store.protections(at)?))
    })
    .await;
    let (blocks, prots) = match res {
        Ok(Ok(x)) => x,
        _ => {
            return json_response(
                StatusCode::INTERNAL_SERVER_ERROR,
                &json!({"status": "failure", "reason": "store unavailable"}),
            );
        }
    };
    let ip: Vec<_> = blocks
        .iter()
        .map(|b| json!({"ip": b.prefix.to_string(), "expiration": wforce_time(b.until), "reason": b.reason}))
        .collect();
    let login: Vec<_> = prots
        .iter()
        .filter(|p| p.mode == ProtectionMode::Disabled)
        .map(
            |p| json!({"login": p.account, "expiration": wforce_time(p.until), "reason": p.reason}),
        )
        .collect();
    json_response(
        StatusCode::OK,
        &json!({"bl_entries": {"ip": ip, "login": login, "iplogin": []}}),
    )
}

/// Process CPU time in milliseconds (user, system), from /proc on Linux; zeros elsewhere.
fn cpu_msec() -> (u64, u64) {
    let Ok(s) = std::fs::read_to_string("/proc/self/stat") else {
        return (0, 0);
    };
    // Fields after the command name (which is in parentheses and may contain spaces).
    let Some(rest) = s.rfind(')').map(|i| &s[i + 1..]) else {
        return (0, 0);
    };
    let f: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the full line: 12 and 13 after the name.
    let tick = |i: usize| f.get(i).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0) * 10;
    (tick(11), tick(12))
}

pub(super) fn stats(st: &PolicyState) -> Response {
    let m = st.handle.metrics();
    let (user, sys) = cpu_msec();
    let mut commandstats = serde_json::Map::new();
    for e in &Endpoint::ALL[..8] {
        commandstats.insert(e.as_str().into(), m.requests_of(*e).into());
    }
    commandstats.insert("allow_allowed".into(), m.verdicts_of(Answer::Allow).into());
    commandstats.insert(
        "allow_tarpitted".into(),
        m.verdicts_of(Answer::Tarpit).into(),
    );
    commandstats.insert("allow_denied".into(), m.verdicts_of(Answer::Deny).into());
    json_response(
        StatusCode::OK,
        &json!({
            "reports": m.requests_of(Endpoint::Report),
            "allows": m.requests_of(Endpoint::Allow),
            "denieds": m.verdicts_of(Answer::Deny),
            "user-msec": user,
            "sys-msec": sys,
            "perfstats": {},
            "commandstats": commandstats,
        }),
    )
}

// ---------------------------------------------------------------- native API v1
