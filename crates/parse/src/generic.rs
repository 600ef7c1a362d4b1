//! portcullis's own JSON-lines schema, `portcullis.event/v1` ([`EventRecord`]): how any
//! application feeds portcullis, and what `portcullis parse` prints. Documented with examples
//! in `docs/event-schema.md`.

use crate::windows::common::{self, reason};
use crate::{LineResult, ParseCtx, Sink};
use portcullis_core::event::EventRecord;
use serde_json::Value;

/// Skip key: `ts` is not an RFC 3339 time.
pub const BAD_TIMESTAMP: &str = reason::BAD_TIMESTAMP;
/// Skip key: `outcome` or `protocol` is not one of the schema's words.
pub const BAD_ENUM: &str = "bad_enum";
/// Skip key: `source` is not an IP address.
pub const BAD_SOURCE: &str = "bad_source";
/// Skip key: `password_fingerprint` is not hex.
pub const BAD_FINGERPRINT: &str = "bad_fingerprint";

/// True when a first line looks like a `portcullis.event/v1` record.
pub fn looks_like(first_line: &str) -> bool {
    let t = first_line.trim_start();
    t.starts_with('{')
        && t.contains("\"ts\"")
        && t.contains("\"account\"")
        && t.contains("\"outcome\"")
}

/// Parses one record. Unknown fields are ignored (so records may carry extra context);
/// `account` may be empty (an attempt that named no account).
pub fn parse_line(line: &str, ctx: &ParseCtx, out: Sink) -> LineResult {
    let t = match common::precheck(line) {
        Ok(t) => t,
        Err(r) => return LineResult::Skip(r),
    };
    let rec: EventRecord = match serde_json::from_str(t) {
        Ok(r) => r,
        Err(_) => return LineResult::Skip(diagnose(t)),
    };
    match rec.into_event(&ctx.normalize) {
        Ok(ev) => {
            common::push(ev, ctx, out);
            LineResult::Events(1)
        }
        Err(e) if e.0.starts_with("source") => LineResult::Skip(BAD_SOURCE),
        Err(e) if e.0.starts_with("password_fingerprint") => LineResult::Skip(BAD_FINGERPRINT),
        Err(_) => LineResult::Skip(reason::BAD_FIELD),
    }
}

/// Why a line did not deserialize: tells syntax from a missing or ill-typed field (only on
/// the error path, so the fast path parses once).
fn diagnose(t: &str) -> &'static str {
    let Ok(v) = serde_json::from_str::<Value>(t) else {
        return reason::BAD_JSON;
    };
    let Some(o) = v.as_object() else {
        return reason::UNRECOGNISED;
    };
    for k in ["ts", "account", "outcome"] {
        if !o.contains_key(k) {
            return reason::MISSING_FIELD;
        }
    }
    if !o["ts"].is_string()
        || portcullis_core::Timestamp::parse_rfc3339(o["ts"].as_str().unwrap_or("")).is_none()
    {
        return BAD_TIMESTAMP;
    }
    if !o["outcome"].is_string() || o.get("protocol").is_some_and(|p| !p.is_string()) {
        return reason::BAD_FIELD;
    }
    if !o["account"].is_string() {
        return reason::BAD_FIELD;
    }
    // Both enums are strings, so one of them is not a known word.
    let known = |v: &Value, f: fn(&str) -> bool| v.as_str().is_some_and(f);
    if !known(&o["outcome"], |s| {
        portcullis_core::Outcome::ALL
            .iter()
            .any(|x| x.as_str() == s)
    }) || o.get("protocol").is_some_and(|p| {
        !known(p, |s| {
            serde_json::from_value::<portcullis_core::Protocol>(Value::String(s.into())).is_ok()
        })
    }) {
        return BAD_ENUM;
    }
    reason::BAD_FIELD
}

#[cfg(test)]
mod tests {
    use super::*;
    use portcullis_core::{Outcome, Protocol};

    fn run(line: &str) -> Result<portcullis_core::AuthEvent, &'static str> {
        let mut out = Vec::new();
        match parse_line(line, &ParseCtx::default(), &mut out) {
            LineResult::Events(1) => Ok(out.pop().unwrap()),
            LineResult::Events(n) => panic!("{n}"),
            LineResult::Skip(r) => Err(r),
        }
    }

    #[test]
    fn minimal_and_full_records() {
        let e = run(r#"{"ts":"2017-06-23T01:02:03Z","account":"Alice@Example.org","outcome":"bad_password"}"#).unwrap();
        assert_eq!(e.protocol, Protocol::Other);
        assert_eq!(e.account.name, "alice@example.org");
        assert_eq!(e.outcome, Outcome::BadPassword);
        let e = run(r#"{"ts":"2017-06-23T01:02:03.5+01:00","protocol":"imap","account":"bob","source":"::ffff:192.0.2.1","outcome":"success","password_fingerprint":"a3f","client":"Thunderbird","session":"s1","server":"mx1","extra":{"x":[1,2]}}"#).unwrap();
        assert_eq!(e.protocol, Protocol::Imap);
        assert_eq!(e.source, Some("192.0.2.1".parse().unwrap()));
        assert_eq!(e.password_fingerprint, Some(0xa3f));
        assert_eq!(e.ts.to_rfc3339(), "2017-06-23T00:02:03.500Z");
    }

    #[test]
    fn skip_reasons() {
        let ok = r#""ts":"2017-06-23T01:02:03Z","account":"a""#;
        assert_eq!(run("{"), Err(reason::BAD_JSON));
        assert_eq!(run("[1]"), Err(reason::UNRECOGNISED));
        assert_eq!(
            run(r#"{"ts":"2017-06-23T01:02:03Z","account":"a"}"#),
            Err(reason::MISSING_FIELD)
        );
        assert_eq!(
            run(r#"{"ts":"soon","account":"a","outcome":"success"}"#),
            Err(BAD_TIMESTAMP)
        );
        assert_eq!(
            run(&format!(r#"{{{ok},"outcome":"maybe"}}"#)),
            Err(BAD_ENUM)
        );
        assert_eq!(
            run(&format!(
                r#"{{{ok},"outcome":"success","protocol":"gopher"}}"#
            )),
            Err(BAD_ENUM)
        );
        assert_eq!(
            run(&format!(r#"{{{ok},"outcome":1}}"#)),
            Err(reason::BAD_FIELD)
        );
        assert_eq!(
            run(&format!(r#"{{{ok},"outcome":"success","source":"x"}}"#)),
            Err(BAD_SOURCE)
        );
        assert_eq!(
            run(&format!(
                r#"{{{ok},"outcome":"success","password_fingerprint":"zz"}}"#
            )),
            Err(BAD_FINGERPRINT)
        );
        assert_eq!(run(""), Err(reason::EMPTY));
    }

    #[test]
    fn round_trips_what_portcullis_parse_prints() {
        let e = run(r#"{"ts":"2017-06-23T01:02:03Z","protocol":"ssh","account":"CORP\\Eve","source":"2001:db8::1","outcome":"unknown_account"}"#).unwrap();
        let line = serde_json::to_string(&EventRecord::from_event(&e)).unwrap();
        let back = run(&line).unwrap();
        assert_eq!(back, e);
    }
}
