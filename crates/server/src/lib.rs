//! The live policy server behind `portcullis serve`, laid out as its pipeline:
//!
//! - **sources** ([`sources`]): log followers and the syslog receiver, delivering `AuthEvent`s
//!   through one trait ([`sources::EventSink`]); the HTTP APIs ([`api`]) are the other intake;
//! - **the hub** ([`hub::EngineHandle`]): the one engine of a running server and its store;
//!   every admin action passes the one validation ([`validate`]) on its way in;
//! - **sinks** ([`sinks`]): `/metrics` counters, the dashboard's timeline, familiar-source
//!   writes;
//! - **the APIs** ([`api`]): the policy listener (Dovecot auth_policy 2.3 and 2.4, the
//!   wforce-compatible API, native JSON v1), the admin listener (admin API, metrics, health)
//!   and the dashboard, all admitted through the shared plumbing of [`http`].
//!
//! Either listener may speak TLS ([`tls`], rustls). [`client::AdminClient`] talks to the admin
//! listener. [`run`] wires it together: [`start_engine`] opens the store and replays the admin
//! state and familiar sources; [`Listeners::bind`] then [`serve`] run until shutdown, and the
//! store is flushed and closed on the way out.
//!
//! In a cluster (`[cluster]`, [`cluster`]) the hub's engine is a replica of one NATS
//! JetStream stream of inputs.
//!
//! Layers, each importing only those below it: `run` → `api` → `cluster` → `hub` → `sinks` →
//! `sources`,
//! with `config`, `conn` (connection limits), `http`, `labels`, `validate`, `bouncers`, `clock`
//! and `tls` underneath.

// Handlers return `Result<_, Response>` where the error is the refusal to send at once; boxing
// it would only add an allocation on the refusal path.
#![allow(clippy::result_large_err)]

pub mod api;
pub mod bouncers;
pub mod client;
mod clock;
pub mod cluster;
pub mod config;
pub mod conn;
pub mod http;
pub mod hub;
pub mod labels;
pub mod run;
pub mod sinks;
pub mod sources;
pub mod tls;
pub mod validate;

pub use api::{admin, dashboard, policy};
pub use config::{ServerConfig, defaults_toml};
pub use hub::{EngineHandle, now};
pub use run::{
    Listeners, MAX_FAMILIAR_ROWS, MAX_FINDING_ROWS, Sources, serve, shutdown_signal, start_engine,
    start_replica,
};
pub use sinks::metrics::{self, Metrics};
pub use sources::{follow, syslog};
