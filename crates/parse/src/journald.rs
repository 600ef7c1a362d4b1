//! `journalctl -o json` export: one JSON object per line with `__REALTIME_TIMESTAMP`
//! (microseconds since the epoch, as a string), `MESSAGE`, `SYSLOG_IDENTIFIER`, `_HOSTNAME`
//! and `_PID`/`SYSLOG_PID`. Each record is turned into a syslog [`Header`] and handed to the
//! same per-program parsers as syslog text ([`SyslogParser`]), so sshd, Dovecot and Postfix
//! records read from the journal count exactly like their syslog twins.
//!
//! `MESSAGE` given as a byte array (journald does this for non-UTF-8 text) is decoded lossily.

use crate::header::Header;
use crate::syslog::{Programs, SyslogParser};
use crate::{LineParser, LineResult, ParseCtx, Sink, reason};
use portcullis_core::Timestamp;
use serde::Deserialize;
use std::borrow::Cow;

#[derive(Deserialize)]
#[serde(untagged)]
enum Field<'a> {
    #[serde(borrow)]
    Text(Cow<'a, str>),
    Bytes(Vec<u8>),
    Number(u64),
    // journald repeats a field as an array when it occurs more than once.
    Many(Vec<serde_json::Value>),
}

impl Field<'_> {
    fn text(&self) -> Option<Cow<'_, str>> {
        match self {
            Field::Text(s) => Some(Cow::Borrowed(s.as_ref())),
            Field::Bytes(b) => Some(String::from_utf8_lossy(b)),
            Field::Number(n) => Some(Cow::Owned(n.to_string())),
            Field::Many(v) => v
                .iter()
                .find_map(|x| x.as_str())
                .map(|s| Cow::Owned(s.to_owned())),
        }
    }
}

#[derive(Deserialize)]
struct Record<'a> {
    #[serde(rename = "__REALTIME_TIMESTAMP", borrow)]
    realtime: Option<Field<'a>>,
    #[serde(rename = "MESSAGE", borrow)]
    message: Option<Field<'a>>,
    #[serde(rename = "SYSLOG_IDENTIFIER", borrow)]
    ident: Option<Field<'a>>,
    #[serde(rename = "_COMM", borrow)]
    comm: Option<Field<'a>>,
    #[serde(rename = "_HOSTNAME", borrow)]
    hostname: Option<Field<'a>>,
    #[serde(rename = "SYSLOG_PID", borrow)]
    syslog_pid: Option<Field<'a>>,
    #[serde(rename = "_PID", borrow)]
    pid: Option<Field<'a>>,
}

/// Per-stream journald parser (wraps a [`SyslogParser`]).
pub struct JournaldParser {
    inner: SyslogParser,
}

impl JournaldParser {
    pub fn new(programs: Programs) -> Self {
        JournaldParser {
            inner: SyslogParser::new(programs),
        }
    }
}

impl Default for JournaldParser {
    fn default() -> Self {
        Self::new(Programs::ALL)
    }
}

impl LineParser for JournaldParser {
    fn parse_line(&mut self, line: &str, ctx: &ParseCtx, out: Sink) -> LineResult {
        let line = line.trim();
        if line.is_empty() {
            return LineResult::Skip(reason::EMPTY);
        }
        let Ok(rec) = serde_json::from_str::<Record<'_>>(line) else {
            return LineResult::Skip(reason::MALFORMED);
        };
        let Some(ts) = rec
            .realtime
            .as_ref()
            .and_then(|f| f.text())
            .and_then(|s| s.trim().parse::<i64>().ok())
        else {
            return LineResult::Skip(reason::BAD_HEADER);
        };
        let Some(msg) = rec.message.as_ref().and_then(|f| f.text()) else {
            return LineResult::Skip(reason::MALFORMED);
        };
        let ident = rec
            .ident
            .as_ref()
            .or(rec.comm.as_ref())
            .and_then(|f| f.text())
            .unwrap_or_default();
        let host = rec.hostname.as_ref().and_then(|f| f.text());
        let pid = rec
            .syslog_pid
            .as_ref()
            .or(rec.pid.as_ref())
            .and_then(|f| f.text());
        let h = Header {
            ts: Timestamp::from_unix_micros(ts),
            host: host.as_deref(),
            program: &ident,
            tag: &ident,
            pid: pid.as_deref(),
            msg: msg.trim_end(),
        };
        self.inner.parse_message(&h, ctx, out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use portcullis_core::Outcome;

    #[test]
    fn journal_records_parse_like_syslog() {
        let mut p = JournaldParser::default();
        let mut out = Vec::new();
        let ctx = ParseCtx::default();
        let l = r#"{"__REALTIME_TIMESTAMP":"1700000000123456","_HOSTNAME":"h1","SYSLOG_IDENTIFIER":"sshd","_PID":"77","MESSAGE":"Failed password for root from 192.0.2.1 port 22 ssh2"}"#;
        assert_eq!(p.parse_line(l, &ctx, &mut out), LineResult::Events(1));
        assert_eq!(out[0].ts.unix_micros(), 1_700_000_000_123_456);
        assert_eq!(out[0].server.as_deref(), Some("h1"));
        assert_eq!(out[0].outcome, Outcome::BadPassword);
        let bytes = r#"{"__REALTIME_TIMESTAMP":"1700000000000000","SYSLOG_IDENTIFIER":"sshd","MESSAGE":[73,110,118,97,108,105,100,32,117,115,101,114,32,120,32,102,114,111,109,32,49,46,50,46,51,46,52]}"#;
        assert_eq!(p.parse_line(bytes, &ctx, &mut out), LineResult::Events(1));
        assert_eq!(
            p.parse_line("{nope", &ctx, &mut out),
            LineResult::Skip(reason::MALFORMED)
        );
    }
}
