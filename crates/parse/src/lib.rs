//! Log formats to [`AuthEvent`]s.
//!
//! One module per format. Line formats implement "one line in, zero or more events out" through
//! [`ParseCtx`] and [`LineResult`]; whole-file formats (`.evtx`, JSON arrays) have readers of
//! their own. [`detect`] picks a format per file, [`input`] opens files, directories, globs,
//! stdin, `.gz`/`.zst` and rotated sets and streams their lines in time order.
//!
//! No parser ever panics on input: a line it cannot use is a counted skip with a reason.

use portcullis_core::{AuthEvent, NormalizeOptions};
use std::sync::Arc;

/// What a parser knows besides the line itself.
#[derive(Clone, Debug)]
pub struct ParseCtx {
    /// Year for timestamps that have none (BSD syslog), see `syslog::YearGuesser`.
    pub year: i32,
    pub normalize: NormalizeOptions,
    /// The file being read (shared by all its events), for `Origin`.
    pub file: Option<Arc<str>>,
    /// 1-based line number of the current line.
    pub line: u64,
}

impl Default for ParseCtx {
    fn default() -> Self {
        ParseCtx {
            year: 1970,
            normalize: NormalizeOptions::default(),
            file: None,
            line: 0,
        }
    }
}

/// What became of one line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LineResult {
    /// This many events were pushed to the output (0 is allowed: a line that is understood and
    /// deliberately not an attempt of its own, e.g. the auth-worker twin of a login line).
    Events(usize),
    /// Not a login attempt, or unreadable; the reason is a stable snake_case key that reports
    /// count under `skipped_by_reason` (`unrecognised`, `not_auth`, `bad_timestamp`, …).
    Skip(&'static str),
}

/// Pushes into `out`; the caller owns the buffer so the hot path allocates no vectors.
pub type Sink<'a> = &'a mut Vec<AuthEvent>;

// Text formats (syslog-framed lines and the input layer).
pub mod detect;
pub mod dovecot;
pub mod input;
pub mod journald;
pub mod openssh;
pub mod postfix;
pub mod syslog;
// Structured formats (JSON lines / documents, .evtx).
pub mod entra;
pub mod generic;
pub mod windows;
