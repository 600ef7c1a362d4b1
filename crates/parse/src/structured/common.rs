//! Helpers shared by the structured (JSON / XML / evtx) parsers: skip-reason keys, the line-size
//! bound, tolerant field access on `serde_json` objects, and event finishing (origin, source).
//!
//! Structured logs come from many shippers that spell the same field differently (`IPAddress`
//! vs `ipAddress`, numbers as strings or as numbers); the accessors here absorb those
//! differences so the format modules read like the field tables in `docs/formats-structured.md`.

use crate::ParseCtx;
use portcullis_core::AuthEvent;
use serde_json::{Map, Value};
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;

/// Lines longer than this are skipped unread (`line_too_long`): no real event comes near it and
/// it bounds the memory one hostile line can make the JSON parser allocate.
pub const MAX_LINE_BYTES: usize = 1 << 20;

/// Stable skip-reason keys of the structured formats (reported under `skipped_by_reason`).
pub mod reason {
    /// Empty or whitespace-only line.
    pub const EMPTY: &str = "empty";
    /// Longer than [`super::MAX_LINE_BYTES`].
    pub const LINE_TOO_LONG: &str = "line_too_long";
    /// Not JSON, or JSON nested deeper than serde_json's recursion limit (128).
    pub const BAD_JSON: &str = "bad_json";
    /// An XML event that could not be read.
    pub const BAD_XML: &str = "bad_xml";
    /// Valid JSON/XML, but not in any layout this format knows.
    pub const UNRECOGNISED: &str = "unrecognised";
    /// A record of the format that is not about authentication (other event ids, operations).
    pub const NOT_AUTH: &str = "not_auth";
    /// A field the event needs (time, account, status, …) is absent or empty.
    pub const MISSING_FIELD: &str = "missing_field";
    /// The time field could not be read.
    pub const BAD_TIMESTAMP: &str = "bad_timestamp";
    /// A field has a value of the wrong shape (source that is not an address, …).
    pub const BAD_FIELD: &str = "bad_field";
    /// A Windows computer account (`NAME$`): machines authenticating, not people.
    pub const MACHINE_ACCOUNT: &str = "machine_account";
    /// A Windows built-in principal (SYSTEM, ANONYMOUS LOGON, virtual and DWM/UMFD accounts).
    pub const SYSTEM_ACCOUNT: &str = "system_account";
    /// A Windows service, batch or system logon (logon types 0, 4, 5).
    pub const SERVICE_LOGON: &str = "service_logon";
}

/// Rejects lines the structured parsers never read: empty or oversize.
pub fn precheck(line: &str) -> Result<&str, &'static str> {
    if line.len() > MAX_LINE_BYTES {
        return Err(reason::LINE_TOO_LONG);
    }
    let t = line.trim();
    if t.is_empty() {
        return Err(reason::EMPTY);
    }
    Ok(t)
}

/// The value under `key`, trying the exact spelling first, then a case-insensitive match
/// (Log Analytics, Graph and lower-casing pipelines disagree on case).
pub fn get_ci<'a>(obj: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    if let Some(v) = obj.get(key) {
        return Some(v);
    }
    obj.iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(key))
        .map(|(_, v)| v)
}

/// A scalar as text: strings as they are, numbers and booleans printed; `#text` of an
/// evtx-style `{"#text": …, "#attributes": …}` object; `None` for null, arrays and objects.
pub fn scalar_str(v: &Value) -> Option<Cow<'_, str>> {
    match v {
        Value::String(s) => Some(Cow::Borrowed(s.as_str())),
        Value::Number(n) => Some(Cow::Owned(n.to_string())),
        Value::Bool(b) => Some(Cow::Borrowed(if *b { "true" } else { "false" })),
        Value::Object(o) => o.get("#text").and_then(scalar_str),
        _ => None,
    }
}

/// `scalar_str` of the field, with empty strings and Windows' `-` placeholder as `None`.
pub fn text_field<'a>(obj: &'a Map<String, Value>, key: &str) -> Option<Cow<'a, str>> {
    let s = scalar_str(get_ci(obj, key)?)?;
    let t = s.trim();
    if t.is_empty() || t == "-" {
        None
    } else if t.len() == s.len() {
        Some(s)
    } else {
        Some(Cow::Owned(t.to_string()))
    }
}

/// The object at a dotted path (`winlog.event_data`), case-insensitive per step.
pub fn path<'a>(obj: &'a Map<String, Value>, dotted: &str) -> Option<&'a Value> {
    let mut cur = obj;
    let mut parts = dotted.split('.').peekable();
    while let Some(p) = parts.next() {
        let v = get_ci(cur, p)?;
        if parts.peek().is_none() {
            return Some(v);
        }
        cur = v.as_object()?;
    }
    None
}

/// Parses an address field as logs write it; `None` for empty, `-` and non-addresses.
pub fn parse_addr(s: &str) -> Option<IpAddr> {
    portcullis_core::addr::parse_ip(s.trim())
}

/// Stamps the event with where it was read and pushes it.
pub fn push(mut ev: AuthEvent, ctx: &ParseCtx, out: &mut Vec<AuthEvent>) {
    ev.origin.file = ctx.file.clone();
    ev.origin.line = ctx.line;
    out.push(ev);
}

/// A non-empty optional string, owned.
pub fn owned(s: Option<Cow<'_, str>>) -> Option<String> {
    s.map(Cow::into_owned).filter(|s| !s.is_empty())
}

/// Parses a JSON line after [`precheck`]; `bad_json` when it is not JSON (serde_json's default
/// recursion limit of 128 levels guards the stack).
pub fn parse_json(line: &str) -> Result<Value, &'static str> {
    serde_json::from_str::<Value>(line).map_err(|_| reason::BAD_JSON)
}

/// What reading a whole file or document (`.evtx`, a JSON array export) did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Records read.
    pub records: u64,
    /// Events delivered.
    pub events: u64,
    /// Records that were not (or could not become) events, by reason.
    pub skipped: BTreeMap<&'static str, u64>,
}

impl Stats {
    /// Counts one skipped record.
    pub fn skip(&mut self, reason: &'static str) {
        *self.skipped.entry(reason).or_default() += 1;
    }
}

/// Why a whole file or document could not be read at all (individual bad records are
/// counted in [`Stats::skipped`] instead).
#[derive(Debug)]
pub struct Error {
    /// What was being read: `evtx`, `json document`.
    pub kind: &'static str,
    pub message: String,
}

impl Error {
    pub(crate) fn new(kind: &'static str, e: impl fmt::Display) -> Self {
        Error {
            kind,
            message: e.to_string(),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cannot read {}: {}", self.kind, self.message)
    }
}
impl std::error::Error for Error {}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn case_insensitive_and_placeholders() {
        let v = json!({"IPAddress": "1.2.3.4", "LogonType": 3, "IpPort": "-", "E": ""});
        let o = v.as_object().unwrap();
        assert_eq!(text_field(o, "ipaddress").as_deref(), Some("1.2.3.4"));
        assert_eq!(text_field(o, "LogonType").as_deref(), Some("3"));
        assert_eq!(text_field(o, "IpPort"), None);
        assert_eq!(text_field(o, "E"), None);
        assert_eq!(text_field(o, "absent"), None);
    }

    #[test]
    fn dotted_paths() {
        let v = json!({"winlog": {"event_data": {"Status": "0x0"}}});
        let o = v.as_object().unwrap();
        assert_eq!(
            path(o, "winlog.event_data.Status").and_then(|v| v.as_str()),
            Some("0x0")
        );
        assert!(path(o, "winlog.nope.Status").is_none());
    }

    #[test]
    fn precheck_bounds() {
        assert_eq!(precheck("  "), Err(reason::EMPTY));
        let big = "x".repeat(MAX_LINE_BYTES + 1);
        assert_eq!(precheck(&big), Err(reason::LINE_TOO_LONG));
        assert_eq!(precheck(" {} "), Ok("{}"));
    }
}
