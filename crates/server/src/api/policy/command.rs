//! The command protocol of Dovecot and wforce clients: `POST /?command=NAME` (the command may
//! follow other query parameters, as when Dovecot's URL ends in `&`) or `/command/NAME`,
//! routed to the Dovecot (`allow`, `report`) and wforce (`reset`, blacklist, `ping`, `stats`)
//! handlers after the same admission as every policy request — except the commands that change
//! or reveal state for everyone (`reset`, `addBLEntry`, `delBLEntry`, `getBL`), which need the
//! admin credential (`PolicyState::authorize_admin`).

use super::{PolicyState, dovecot, wforce};
use crate::http::{Gate, bounded_body, json_response, peer_of};
use crate::labels::{Endpoint, Rejection};
use axum::body::Body;
use axum::extract::{Path, Request, State};
use axum::http::request::Parts;
use axum::http::{Method, StatusCode};
use axum::response::Response;
use serde_json::json;

/// The command named by the query string (`command=X` anywhere in it).
fn command_from_query(q: Option<&str>) -> Option<&str> {
    q?.split('&')
        .find_map(|kv| kv.strip_prefix("command="))
        .filter(|c| !c.is_empty())
}

pub(super) async fn command_query(State(st): State<PolicyState>, req: Request) -> Response {
    // The whole request, taken apart here: the query, method and headers are borrowed, not
    // copied as the separate extractors would.
    let (parts, body) = req.into_parts();
    match command_from_query(parts.uri.query()) {
        Some(cmd) => dispatch(st, cmd, &parts, body).await,
        None => st.refuse(
            StatusCode::NOT_FOUND,
            Rejection::UnknownCommand,
            "no such endpoint: use ?command=allow|report|..., /command/<name> or /v1/...",
        ),
    }
}

pub(super) async fn command_path(
    State(st): State<PolicyState>,
    Path(cmd): Path<String>,
    req: Request,
) -> Response {
    let (parts, body) = req.into_parts();
    dispatch(st, &cmd, &parts, body).await
}

async fn dispatch(st: PolicyState, cmd: &str, parts: &Parts, body: Body) -> Response {
    let (method, headers) = (&parts.method, &parts.headers);
    let Some(cmd) = Endpoint::command(cmd) else {
        return st.refuse(
            StatusCode::NOT_FOUND,
            Rejection::UnknownCommand,
            &format!("unknown command {cmd:?}"),
        );
    };
    let decision = matches!(cmd, Endpoint::Allow | Endpoint::Report);
    let _timer = decision.then(|| st.handle.metrics().decision_timer());
    let peer = peer_of(&parts.extensions);
    let admitted = if matches!(
        cmd,
        Endpoint::Reset | Endpoint::AddBlEntry | Endpoint::DelBlEntry | Endpoint::GetBl
    ) {
        st.authorize_admin(headers, peer)
    } else {
        st.authorize(headers, peer)
    };
    if let Err(r) = admitted {
        return r;
    }
    let bytes = match bounded_body(&st, body).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    st.handle.metrics().request(cmd);
    let needs_post = !matches!(cmd, Endpoint::GetBl | Endpoint::Ping | Endpoint::Stats);
    if needs_post && method != Method::POST {
        return st.refuse(
            StatusCode::METHOD_NOT_ALLOWED,
            Rejection::BadRequest,
            "use POST",
        );
    }
    match cmd {
        Endpoint::Allow => dovecot::allow(&st, &bytes),
        Endpoint::Report => dovecot::report(&st, &bytes),
        Endpoint::Ping => json_response(StatusCode::OK, &json!({"status": "ok"})),
        Endpoint::Stats => wforce::stats(&st),
        Endpoint::GetBl => wforce::get_bl(&st).await,
        _ => wforce::list_edit(&st, cmd, &bytes).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_is_found_wherever_it_is_in_the_query() {
        assert_eq!(command_from_query(Some("command=allow")), Some("allow"));
        assert_eq!(
            command_from_query(Some("tenant=a&command=report")),
            Some("report")
        );
        assert_eq!(command_from_query(Some("tenant=a&")), None);
        assert_eq!(command_from_query(None), None);
    }
}
