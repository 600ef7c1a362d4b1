//! Fast path for Windows JSON lines (NXLog flat and evtx JSON): one pass over the line that
//! keeps only the ~20 fields the interpreter reads and skips the rest unallocated, instead of
//! building a `serde_json::Value` of every field (NXLog lines carry ~50 fields and a long
//! `Message`).
//!
//! It is an optimisation only: whenever the line is not of the plain shapes it knows (Winlogbeat,
//! `UserData`, unnamed `Data`, objects where scalars are expected, SQL Server events), or when the
//! result would be a diagnosis (`missing_field`, `bad_*`), it returns `None` and the general
//! `Value` path decides. `structured_windows.rs` checks both paths agree on every real line.

use super::common::reason;
use super::{Data, WinEvent};
use crate::{LineResult, ParseCtx, Sink};
use portcullis_core::Timestamp;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, Visitor};
use std::borrow::Cow;
use std::fmt;

/// Fields read from `EventData` / the NXLog top level.
const DATA_FIELDS: &[&str] = &[
    "TargetUserName",
    "TargetDomainName",
    "TargetUserSid",
    "Status",
    "SubStatus",
    "FailureCode",
    "LogonType",
    "IpAddress",
    "WorkstationName",
    "Workstation",
    "payload",
    "SubjectUserName",
    "SubjectDomainName",
    "SubjectUserSid",
    "TargetServerName",
    "ProcessName",
];

/// A scalar as text (numbers printed like `serde_json::Value` prints them).
struct Scalar(String);

impl<'de> de::Deserialize<'de> for Scalar {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Scalar;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string or number")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Scalar, E> {
                Ok(Scalar(v))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Scalar, E> {
                Ok(Scalar(
                    serde_json::Number::from_f64(v).map_or_else(String::new, |n| n.to_string()),
                ))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
        }
        d.deserialize_any(V)
    }
}

/// Reasons to leave the line to the general path (never reported).
const FALLBACK: &str = "fallback";

/// What one pass collected.
#[derive(Default)]
struct Bag {
    layout_evtx: bool,
    /// Any field other than `Event` seen at the top level.
    top_level: bool,
    event_id: Option<u32>,
    times: [Option<String>; 4],
    computer: Option<String>,
    provider: Option<String>,
    channel: Option<String>,
    message: Option<String>,
    data: Vec<(String, String)>,
}

fn field_index(k: &str) -> Option<usize> {
    DATA_FIELDS.iter().position(|f| f.eq_ignore_ascii_case(k))
}

/// A map key, borrowed from the line unless it had escapes.
struct Key<'de>(Cow<'de, str>);

impl<'de> de::Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a key")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v.to_string())))
            }
        }
        d.deserialize_str(V)
    }
}

/// Visits a map, calling `f(key, map)` for each key; `f` must consume the value.
fn each_key<'de, A: MapAccess<'de>>(
    mut map: A,
    mut f: impl FnMut(&str, &mut A) -> Result<(), A::Error>,
) -> Result<(), A::Error> {
    while let Some(k) = map.next_key::<Key<'de>>()? {
        f(&k.0, &mut map)?;
    }
    Ok(())
}

fn scalar<'de, A: MapAccess<'de>>(map: &mut A) -> Result<String, A::Error> {
    map.next_value::<Scalar>().map(|s| s.0)
}

fn event_id(s: &str) -> Result<u32, &'static str> {
    s.trim().parse().map_err(|_| FALLBACK)
}

/// Top level of a line.
struct TopV<'b>(&'b mut Bag);

impl<'de> Visitor<'de> for TopV<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a Windows event object")
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<(), A::Error> {
        let bag = self.0;
        each_key(map, |k, m| {
            if k == "Event" {
                bag.layout_evtx = true;
                return m.next_value_seed(Seed(EventV(bag)));
            }
            bag.top_level = true;
            if k.eq_ignore_ascii_case("winlog") {
                return Err(de::Error::custom(FALLBACK));
            }
            if let Some(i) = field_index(k) {
                let v = scalar(m)?;
                bag.data.push((DATA_FIELDS[i].to_string(), v));
                return Ok(());
            }
            let slot = match k {
                "EventID" => {
                    let v = scalar(m)?;
                    bag.event_id = Some(event_id(&v).map_err(de::Error::custom)?);
                    return Ok(());
                }
                "@timestamp" => &mut bag.times[0],
                "EventTime" => &mut bag.times[1],
                "TimeCreated" => &mut bag.times[2],
                "EventReceivedTime" => &mut bag.times[3],
                "Hostname" => &mut bag.computer,
                "SourceName" => &mut bag.provider,
                "Channel" => &mut bag.channel,
                "Message" => &mut bag.message,
                // Spellings the general path accepts case-insensitively or as alternatives.
                k if k.eq_ignore_ascii_case("eventid")
                    || k.eq_ignore_ascii_case("computer")
                    || k.eq_ignore_ascii_case("providername")
                    || k.eq_ignore_ascii_case("hostname")
                    || k.eq_ignore_ascii_case("sourcename")
                    || k.eq_ignore_ascii_case("channel")
                    || k.eq_ignore_ascii_case("message")
                    || k.eq_ignore_ascii_case("@timestamp")
                    || k.eq_ignore_ascii_case("eventtime")
                    || k.eq_ignore_ascii_case("timecreated")
                    || k.eq_ignore_ascii_case("eventreceivedtime")
                    || k.eq_ignore_ascii_case("data") =>
                {
                    return Err(de::Error::custom(FALLBACK));
                }
                _ => {
                    m.next_value::<IgnoredAny>()?;
                    return Ok(());
                }
            };
            *slot = Some(scalar(m)?);
            Ok(())
        })
    }
}

/// `Event`: `System` and `EventData`; anything else (`UserData`) falls back.
struct EventV<'b>(&'b mut Bag);

impl<'de> Visitor<'de> for EventV<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an Event object")
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<(), A::Error> {
        let bag = self.0;
        each_key(map, |k, m| match k {
            "System" => m.next_value_seed(Seed(SystemV(bag))),
            "EventData" => m.next_value_seed(Seed(DataV(bag))),
            "#attributes" => m.next_value::<IgnoredAny>().map(drop),
            _ => Err(de::Error::custom(FALLBACK)),
        })
    }
}

struct SystemV<'b>(&'b mut Bag);

impl<'de> Visitor<'de> for SystemV<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a System object")
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<(), A::Error> {
        let bag = self.0;
        each_key(map, |k, m| match k {
            "EventID" => {
                let v = scalar(m)?;
                bag.event_id = Some(event_id(&v).map_err(de::Error::custom)?);
                Ok(())
            }
            "TimeCreated" => {
                let t = m.next_value_seed(Seed(AttrV("SystemTime", None)))?;
                bag.times[0] = t;
                Ok(())
            }
            "Provider" => {
                bag.provider = m.next_value_seed(Seed(AttrV("Name", None)))?;
                Ok(())
            }
            "Computer" => {
                bag.computer = Some(scalar(m)?);
                Ok(())
            }
            "Channel" => {
                bag.channel = Some(scalar(m)?);
                Ok(())
            }
            k if k.contains("_attributes")
                || ["eventid", "timecreated", "provider", "computer", "channel"]
                    .iter()
                    .any(|n| k.eq_ignore_ascii_case(n)) =>
            {
                Err(de::Error::custom(FALLBACK))
            }
            _ => m.next_value::<IgnoredAny>().map(drop),
        })
    }
}

/// `{"#attributes": {"<name>": v, …}}` → v.
struct AttrV(&'static str, Option<String>);

impl<'de> Visitor<'de> for AttrV {
    type Value = Option<String>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an element with #attributes")
    }
    fn visit_map<A: MapAccess<'de>>(mut self, map: A) -> Result<Option<String>, A::Error> {
        let name = self.0;
        let mut found = None;
        each_key(map, |k, m| {
            if k == "#attributes" {
                found = m.next_value_seed(Seed(InnerAttrV(name)))?;
                Ok(())
            } else {
                Err(de::Error::custom(FALLBACK))
            }
        })?;
        self.1 = found;
        Ok(self.1)
    }
}

struct InnerAttrV(&'static str);

impl<'de> Visitor<'de> for InnerAttrV {
    type Value = Option<String>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("attributes")
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Option<String>, A::Error> {
        let mut found = None;
        each_key(map, |k, m| {
            if k == self.0 {
                found = Some(scalar(m)?);
                Ok(())
            } else {
                m.next_value::<IgnoredAny>().map(drop)
            }
        })?;
        Ok(found)
    }
}

struct DataV<'b>(&'b mut Bag);

impl<'de> Visitor<'de> for DataV<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an EventData object")
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<(), A::Error> {
        let bag = self.0;
        each_key(map, |k, m| {
            if k.eq_ignore_ascii_case("Data") {
                return Err(de::Error::custom(FALLBACK));
            }
            match field_index(k) {
                Some(i) => {
                    let v = scalar(m)?;
                    bag.data.push((DATA_FIELDS[i].to_string(), v));
                    Ok(())
                }
                None => m.next_value::<IgnoredAny>().map(drop),
            }
        })
    }
}

/// Adapts a map visitor to `DeserializeSeed` (maps only; anything else falls back).
struct Seed<V>(V);

impl<'de, V: Visitor<'de>> de::DeserializeSeed<'de> for Seed<V> {
    type Value = V::Value;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<V::Value, D::Error> {
        d.deserialize_map(self.0)
    }
}

/// The fast path: `Some(result)` when it could decide, `None` to use the general path.
pub(super) fn parse_line(t: &str, ctx: &ParseCtx, out: Sink) -> Option<LineResult> {
    let mut bag = Bag::default();
    let mut de = serde_json::Deserializer::from_str(t);
    de.deserialize_map(TopV(&mut bag)).ok()?;
    de.end().ok()?;
    // The general path reads an `Event` object alone and ignores top-level fields.
    if bag.layout_evtx && bag.top_level {
        return None;
    }
    let event_id = bag.event_id?;
    if matches!(event_id, 18456 | 33205) {
        return None;
    }
    // Duplicate names (possible only with different case) are for the general path.
    let mut names: Vec<&str> = bag.data.iter().map(|(k, _)| k.as_str()).collect();
    names.sort_unstable();
    if names.windows(2).any(|w| w[0] == w[1]) {
        return None;
    }
    let time = if bag.layout_evtx {
        bag.times[0].as_deref()
    } else {
        bag.times
            .iter()
            .flatten()
            .map(|s| s.trim())
            .find(|s| !s.is_empty() && *s != "-")
    };
    let ts = match time {
        Some(s) => Some(Timestamp::parse_rfc3339(s)?),
        None => None,
    };
    let clean = |s: Option<String>| -> Option<Cow<'static, str>> {
        let s = s?;
        if bag.layout_evtx {
            return Some(Cow::Owned(s));
        }
        let t = s.trim();
        (!t.is_empty() && t != "-").then(|| Cow::Owned(t.to_string()))
    };
    let ev = WinEvent {
        event_id,
        ts,
        computer: clean(bag.computer),
        provider: clean(bag.provider),
        channel: clean(bag.channel),
        message: clean(bag.message),
        ecs_source: None,
        data: Data::Pairs(bag.data),
    };
    let before = out.len();
    match super::interpret(&ev, ctx, out) {
        r @ LineResult::Events(_) => Some(r),
        LineResult::Skip(
            r @ (reason::NOT_AUTH
            | reason::MACHINE_ACCOUNT
            | reason::SYSTEM_ACCOUNT
            | reason::SERVICE_LOGON),
        ) => Some(LineResult::Skip(r)),
        LineResult::Skip(_) => {
            out.truncate(before);
            None
        }
    }
}
