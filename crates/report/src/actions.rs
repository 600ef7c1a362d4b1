//! The "actions taken" input: an audit log of admin decisions, read leniently.
//!
//! `serve` and `admin` record decisions as the engine's `AdminAction` JSON (`{"type":"block",
//! "prefix":…,"at":…}`), possibly wrapped with who did it (`{"at":…,"actor":"alice","action":
//! {…}}`); people also write their own lists (`{"at":…,"action":"password reset","target":"bob"}`).
//! All of these are accepted, as a JSON array or as JSON lines. An entry that is not an object
//! or has no recognisable action is rejected with a reason and counted; the rest still render.

use portcullis_core::Timestamp;
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;

/// One action, as the report shows it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ActionTaken {
    pub at: Option<Timestamp>,
    /// `block`, `shields_up`, `protect`, `password reset`, …
    pub action: String,
    /// What it applied to: a prefix, an account, protocols; empty for organisation-wide actions.
    pub target: String,
    pub actor: Option<String>,
    pub until: Option<Timestamp>,
    /// Reason, mode or note given with it.
    pub note: Option<String>,
}

/// What was read from an audit log.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AuditLog {
    /// In time order (entries without a time last, in input order).
    pub actions: Vec<ActionTaken>,
    /// Rejected entries by reason.
    pub rejected: BTreeMap<&'static str, u64>,
}

/// Most entries kept; the rest are counted as rejected (`too_many_entries`).
pub const MAX_ACTIONS: usize = 100_000;

/// Reads an audit log: a JSON array of entries, or one JSON entry per line.
/// Fails only when the text is neither.
pub fn parse_audit_log(text: &str) -> Result<AuditLog, String> {
    let entries: Vec<Value> = match serde_json::from_str::<Value>(text) {
        Ok(Value::Array(items)) => items,
        Ok(other @ Value::Object(_)) => vec![other],
        Ok(_) => return Err("the audit log is JSON but neither a list nor an object".into()),
        Err(whole_err) => {
            let mut items = Vec::new();
            for (n, line) in text.lines().enumerate() {
                if line.trim().is_empty() {
                    continue;
                }
                match serde_json::from_str::<Value>(line) {
                    Ok(v) => items.push(v),
                    Err(e) if n == 0 => {
                        return Err(format!(
                            "the audit log is neither a JSON list ({whole_err}) nor JSON lines ({e})"
                        ));
                    }
                    Err(_) => items.push(Value::Null),
                }
            }
            items
        }
    };
    let mut log = AuditLog::default();
    for v in entries {
        if log.actions.len() >= MAX_ACTIONS {
            *log.rejected.entry("too_many_entries").or_default() += 1;
            continue;
        }
        match entry(&v) {
            Ok(a) => log.actions.push(a),
            Err(reason) => *log.rejected.entry(reason).or_default() += 1,
        }
    }
    log.actions
        .sort_by_key(|a| (a.at.is_none(), a.at.unwrap_or_default()));
    Ok(log)
}

fn entry(v: &Value) -> Result<ActionTaken, &'static str> {
    let outer = v.as_object().ok_or("not_an_object")?;
    // `{"at":…,"actor":…,"action":{"type":"block",…}}` → look inside for the action's fields.
    let inner = outer.get("action").and_then(Value::as_object);
    let field = |names: &[&str]| -> Option<&Value> {
        names
            .iter()
            .find_map(|n| inner.and_then(|i| i.get(*n)).or_else(|| outer.get(*n)))
    };
    let action = match inner {
        Some(i) => text(i.get("type")).or_else(|| text(i.get("action"))),
        None => text(outer.get("type")).or_else(|| text(outer.get("action"))),
    }
    .filter(|s| !s.trim().is_empty())
    .ok_or("no_action")?;
    let time = |names: &[&str]| {
        field(names)
            .and_then(|v| v.as_str())
            .and_then(Timestamp::parse_rfc3339)
    };
    let target = match field(&["prefix", "account", "target", "source"]) {
        Some(v) => text(Some(v)).unwrap_or_default(),
        None => match field(&["protocols"]).and_then(Value::as_array) {
            Some(p) if !p.is_empty() => p
                .iter()
                .filter_map(|x| x.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            _ => String::new(),
        },
    };
    Ok(ActionTaken {
        at: time(&["at", "ts", "time", "timestamp"]),
        action,
        target,
        actor: text(field(&["actor", "by", "user", "admin"])),
        until: time(&["until", "expires"]),
        note: text(field(&["reason", "note", "mode", "comment"])),
    })
}

/// A string, or a number or bool written as text; objects and arrays are not text.
fn text(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn engine_admin_actions_wrapped_or_bare_are_read() {
        let log = parse_audit_log(
            r#"[
              {"at":"2017-06-23T03:10:00Z","actor":"alice","action":{"type":"shields_up","protocols":["imap","smtp"],"at":"2017-06-23T03:10:00Z","until":null}},
              {"type":"block","prefix":"198.51.100.0/24","at":"2017-06-23T02:00:00Z","until":"2017-06-30T02:00:00Z","reason":"spray source"},
              {"type":"protect","account":"mp.jones","mode":"must_reset","at":"2017-06-23T04:00:00Z"},
              {"at":"2017-06-23T05:00:00Z","action":"password reset","target":"mp.jones","by":"helpdesk"}
            ]"#,
        )
        .unwrap();
        assert!(log.rejected.is_empty(), "{:?}", log.rejected);
        let kinds: Vec<_> = log.actions.iter().map(|a| a.action.as_str()).collect();
        assert_eq!(kinds, ["block", "shields_up", "protect", "password reset"]);
        assert_eq!(log.actions[0].target, "198.51.100.0/24");
        assert_eq!(log.actions[0].note.as_deref(), Some("spray source"));
        assert!(log.actions[0].until.is_some());
        assert_eq!(log.actions[1].target, "imap, smtp");
        assert_eq!(log.actions[1].actor.as_deref(), Some("alice"));
        assert_eq!(log.actions[2].note.as_deref(), Some("must_reset"));
        assert_eq!(log.actions[3].actor.as_deref(), Some("helpdesk"));
    }

    #[test]
    fn bad_entries_are_counted_not_fatal() {
        let log = parse_audit_log(
            "{\"type\":\"block\",\"prefix\":\"192.0.2.1\"}\nnot json\n[1]\n{\"note\":\"no action\"}\n",
        )
        .unwrap();
        assert_eq!(log.actions.len(), 1);
        assert_eq!(log.actions[0].at, None);
        assert_eq!(log.rejected.get("not_an_object"), Some(&2));
        assert_eq!(log.rejected.get("no_action"), Some(&1));
        assert!(parse_audit_log("garbage").is_err());
        assert!(parse_audit_log("42").is_err());
    }
}
