//! The shared vocabulary of portcullis.
//!
//! Every other crate speaks in these types: an [`AuthEvent`] is one login attempt as a log or a
//! live server saw it; [`Outcome`] and [`Protocol`] classify it; [`Account`] carries the name as
//! logged and as normalised; [`Prefix`] names a source address or network; [`Timestamp`] is the
//! event's own UTC time (the engine never reads a clock). [`report`] holds the stable JSON report
//! contract (`portcullis.report/v1`).
//!
//! This crate does no I/O and has no opinions about detection.

pub mod account;
pub mod addr;
pub mod event;
pub mod report;
pub mod time;

pub use account::{Account, AccountStyle, NormalizeOptions};
pub use addr::{Prefix, normalize_ip};
pub use event::{AuthEvent, Origin, Outcome, Protocol};
pub use time::Timestamp;
