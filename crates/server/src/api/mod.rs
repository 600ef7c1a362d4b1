//! The HTTP APIs, one module per listener's job: [`policy`] (Dovecot auth_policy, wforce,
//! native v1: the login path), [`admin`] (the bearer-token admin API, `/metrics`, health) and
//! [`dashboard`] (the web UI and its JSON API, merged into the admin listener) and [`decisions`]
//! (what CrowdSec bouncers pull, on the admin listener too). Each handler
//! admits its request through [`crate::http`]'s extractors and talks to the hub.

pub mod admin;
pub mod dashboard;
pub mod decisions;
pub mod policy;

/// Everything the admin listener serves: the admin API, `/metrics`, health, the dashboard and
/// the CrowdSec-compatible decisions API.
pub fn admin_listener(state: admin::AdminState) -> axum::Router {
    let decisions = decisions::router(decisions::DecisionsState {
        handle: state.handle.clone(),
        bouncers: state.bouncers.clone(),
    });
    admin::router(state.clone())
        .merge(dashboard::router(state))
        .merge(decisions)
}
