//! The detection engine: events in, verdicts and findings out.
//!
//! [`Engine::observe`] takes one [`AuthEvent`](portcullis_core::AuthEvent) (a finished attempt
//! with its outcome) and returns the [`Verdict`] a live server would answer for it;
//! [`Engine::check`] answers for an attempt whose outcome is not known yet (Dovecot's
//! before-auth `allow`). Findings (campaigns opened or updated, sources flagged, accounts
//! compromised or at risk) accumulate as they arise and are taken with
//! [`Engine::take_findings`]. Admin decisions (blocks, protections, shields up) enter as
//! [`AdminAction`]s through [`Engine::apply`]. [`Engine::report`] gives the engine's view as
//! report schema v1.
//!
//! Invariants: time comes only from events and actions; the engine reads no clock and does no
//! I/O; the same sequence of calls gives the same verdicts and findings. Memory is bounded by
//! the caps in [`EngineConfig`]. How each detector works: `docs/detection.md`.

mod admin;
pub mod api;
mod brute_force;
mod campaign;
mod compromise;
pub mod config;
mod engine;
mod explicit_spray;
mod guessing;
mod keys;
mod population;
mod provisional;
mod report;
mod sharded;
mod single_source;
mod single_use;
mod sketch;
mod snapshot;
mod spray;
mod sprayed_passwords;
mod state;
mod step;
mod table;
mod tracker;
mod typos;
mod verdict;
mod workstations;

pub use api::{Action, AdminAction, Attempt, Finding, ProtectionMode, Reason, Standing, Verdict};
pub use config::{EngineConfig, defaults_toml};
pub use engine::{Engine, EngineStats};
pub use report::ReportLimits;
pub use snapshot::SNAPSHOT_VERSION;
