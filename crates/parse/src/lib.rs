//! Log formats to [`AuthEvent`]s.
//!
//! One module per format. Line formats implement "one line in, zero or more events out" through
//! [`ParseCtx`] and [`LineResult`]; whole-file formats (`.evtx`, JSON arrays) have readers of
//! their own. [`detect`] picks a format per file, [`input`] opens files, directories, globs,
//! stdin, `.gz`/`.zst` and rotated sets and streams their lines in time order.
//!
//! Text formats that need memory across lines (Dovecot's two log lines per attempt, sshd's
//! `Invalid user` + `Failed password`, Postfix's per-process `disconnect` summary) implement
//! [`LineParser`], a small stateful object made per input stream by
//! [`detect::Format::line_parser`]; its state is bounded (see `docs/log-formats.md`).
//!
//! No parser ever panics on input: a line it cannot use is a counted skip with a reason.

use portcullis_core::{AuthEvent, NormalizeOptions, Timestamp};
use std::sync::Arc;

/// What a parser knows besides the line itself.
#[derive(Clone, Debug)]
pub struct ParseCtx {
    /// Year for timestamps that have none (BSD syslog): the year of the FIRST line of the stream
    /// (see [`header::infer_start_year`]); parsers move it forward when months wrap
    /// (December → January), see [`header::YearGuesser`].
    pub year: i32,
    /// When set, BSD timestamps instead take the latest year that does not put them more than a
    /// day after this instant (live feeds pass the clock; tests a fixed instant); `year` is
    /// then unused.
    pub year_reference: Option<Timestamp>,
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
            year_reference: None,
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

/// A per-stream line parser. Stateless formats wrap their `parse_line` function; stateful ones
/// (Dovecot, OpenSSH, Postfix) keep a bounded memory of recent lines to count each attempt once.
pub trait LineParser: Send {
    /// Parses one line (without its line terminator).
    fn parse_line(&mut self, line: &str, ctx: &ParseCtx, out: Sink) -> LineResult;
    /// End of input: pushes events still held back (none of the current parsers hold any back,
    /// but callers must call it so that future ones may).
    fn finish(&mut self, _ctx: &ParseCtx, _out: Sink) -> usize {
        0
    }
}

/// A stateless line-parsing function as a [`LineParser`].
pub struct FnParser(pub fn(&str, &ParseCtx, Sink) -> LineResult);

impl LineParser for FnParser {
    fn parse_line(&mut self, line: &str, ctx: &ParseCtx, out: Sink) -> LineResult {
        (self.0)(line, ctx, out)
    }
}

/// Stable skip-reason keys shared by the text parsers.
pub mod reason {
    /// Empty or whitespace-only line.
    pub const EMPTY: &str = "empty";
    /// No timestamp / syslog header could be read.
    pub const BAD_HEADER: &str = "bad_header";
    /// A program this parser does not read (cron, kernel, …), or filtered out by a forced format.
    pub const OTHER_PROGRAM: &str = "other_program";
    /// A line of a program we read that is not about authentication.
    pub const NOT_AUTH: &str = "not_auth";
    /// About authentication but not a login attempt (e.g. `no auth attempts`, TLS handshake).
    pub const NOT_AN_ATTEMPT: &str = "not_an_attempt";
    /// An authentication line of a recognised shape we could not read (e.g. no address).
    pub const UNRECOGNISED: &str = "unrecognised";
    /// The line names no client address where one is required.
    pub const NO_SOURCE: &str = "no_source";
    /// Not valid UTF-8 / JSON / the expected structure.
    pub const MALFORMED: &str = "malformed";
}

pub(crate) mod scan;

// Text formats (syslog-framed lines and the input layer).
pub mod detect;
pub mod dovecot;
pub mod header;
pub mod input;
pub mod journald;
pub mod openssh;
pub mod postfix;
pub mod syslog;
// Structured formats (JSON lines / documents, .evtx).
pub mod entra;
pub mod generic;
pub mod windows;

/// Unit-test helper shared by the syslog-family parsers (Dovecot, OpenSSH, Postfix): feeds the
/// lines through one fresh all-programs parser (BSD year 2024) and returns the events.
#[cfg(test)]
pub(crate) fn parse_syslog_lines_for_test(lines: &[&str]) -> Vec<portcullis_core::AuthEvent> {
    let mut p = syslog::SyslogParser::new(syslog::Programs::ALL);
    let ctx = ParseCtx {
        year: 2024,
        ..Default::default()
    };
    let mut out = Vec::new();
    for l in lines {
        p.parse_line(l, &ctx, &mut out);
    }
    out
}
