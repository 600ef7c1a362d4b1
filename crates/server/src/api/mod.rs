//! The HTTP APIs, one module per listener's job: [`policy`] (Dovecot auth_policy, wforce,
//! native v1: the login path), [`admin`] (the bearer-token admin API, `/metrics`, health) and
//! [`dashboard`] (the web UI and its JSON API, merged into the admin listener). Each handler
//! admits its request through [`crate::http`]'s extractors and talks to the hub.

pub mod admin;
pub mod dashboard;
pub mod policy;

/// Everything the admin listener serves: the admin API, `/metrics`, health, and the dashboard.
pub fn admin_listener(state: admin::AdminState) -> axum::Router {
    admin::router(state.clone()).merge(dashboard::router(state))
}
