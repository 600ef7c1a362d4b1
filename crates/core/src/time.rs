//! Event time: UTC microseconds since the Unix epoch.
//!
//! A plain `i64` keeps events small and comparisons cheap on the hot path; conversions to and
//! from `chrono` and RFC 3339 live here so no other crate has to care about the representation.

use chrono::{DateTime, SecondsFormat, TimeZone, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// A point in time, UTC, microsecond precision. Ordered; arithmetic in microseconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Timestamp(pub i64);

impl Timestamp {
    pub const MICROS_PER_SEC: i64 = 1_000_000;

    pub fn from_unix_micros(us: i64) -> Self {
        Timestamp(us)
    }
    pub fn from_unix_secs(s: i64) -> Self {
        Timestamp(s.saturating_mul(Self::MICROS_PER_SEC))
    }
    pub fn unix_micros(self) -> i64 {
        self.0
    }
    pub fn unix_secs(self) -> i64 {
        self.0.div_euclid(Self::MICROS_PER_SEC)
    }
    /// This time plus `secs` seconds (negative allowed), saturating.
    pub fn plus_secs(self, secs: i64) -> Self {
        Timestamp(
            self.0
                .saturating_add(secs.saturating_mul(Self::MICROS_PER_SEC)),
        )
    }
    /// Seconds from `earlier` to `self` (negative when `earlier` is later).
    pub fn secs_since(self, earlier: Timestamp) -> i64 {
        (self.0 - earlier.0).div_euclid(Self::MICROS_PER_SEC)
    }
    pub fn to_chrono(self) -> DateTime<Utc> {
        Utc.timestamp_micros(self.0)
            .single()
            .unwrap_or(DateTime::<Utc>::MIN_UTC)
    }
    pub fn from_chrono<Tz: TimeZone>(dt: &DateTime<Tz>) -> Self {
        Timestamp(dt.timestamp_micros())
    }
    /// RFC 3339 with `Z`; sub-second digits only when the time has them.
    pub fn to_rfc3339(self) -> String {
        let fmt = if self.0 % Self::MICROS_PER_SEC == 0 {
            SecondsFormat::Secs
        } else if self.0 % 1000 == 0 {
            SecondsFormat::Millis
        } else {
            SecondsFormat::Micros
        };
        self.to_chrono().to_rfc3339_opts(fmt, true)
    }
    /// Parses RFC 3339 / ISO 8601 with an offset (`2017-06-23T01:02:03.5Z`, `...+01:00`).
    /// A time without an offset is taken as UTC.
    pub fn parse_rfc3339(s: &str) -> Option<Self> {
        if let Ok(dt) = DateTime::parse_from_rfc3339(s) {
            return Some(Self::from_chrono(&dt));
        }
        // ISO 8601 variants: space separator, no offset, or more than 9 fractional digits.
        let t = s.trim();
        for fmt in [
            "%Y-%m-%dT%H:%M:%S%.f%:z",
            "%Y-%m-%d %H:%M:%S%.f%:z",
            "%Y-%m-%dT%H:%M:%S%.f%z",
            "%Y-%m-%d %H:%M:%S%.f%z",
        ] {
            if let Ok(dt) = DateTime::parse_from_str(t, fmt) {
                return Some(Self::from_chrono(&dt));
            }
        }
        let t = t.trim_end_matches('Z');
        for fmt in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f"] {
            if let Ok(ndt) = chrono::NaiveDateTime::parse_from_str(t, fmt) {
                return Some(Timestamp(ndt.and_utc().timestamp_micros()));
            }
        }
        None
    }
    /// Hour of the week, 0 = Monday 00:00–00:59 UTC … 167 = Sunday 23:00–23:59 UTC.
    pub fn hour_of_week(self) -> u8 {
        // 1970-01-01 was a Thursday (weekday index 3 with Monday = 0).
        let hours = self.0.div_euclid(3600 * Self::MICROS_PER_SEC);
        ((hours + 3 * 24).rem_euclid(168)) as u8
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_rfc3339())
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_rfc3339())
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Timestamp::parse_rfc3339(&s)
            .ok_or_else(|| serde::de::Error::custom(format!("not an RFC 3339 time: {s:?}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_round_trip_keeps_precision() {
        for s in [
            "2017-06-23T01:02:03Z",
            "2017-06-23T01:02:03.250Z",
            "2017-06-23T01:02:03.123456Z",
        ] {
            let t = Timestamp::parse_rfc3339(s).unwrap();
            assert_eq!(t.to_rfc3339(), s);
        }
    }

    #[test]
    fn offsets_and_iso_variants() {
        let a = Timestamp::parse_rfc3339("2017-06-23T03:02:03+02:00").unwrap();
        let b = Timestamp::parse_rfc3339("2017-06-23 01:02:03").unwrap();
        let c = Timestamp::parse_rfc3339("2017-06-23T01:02:03.000000000Z").unwrap();
        assert_eq!(a, b);
        assert_eq!(b, c);
        assert!(Timestamp::parse_rfc3339("yesterday").is_none());
    }

    #[test]
    fn hour_of_week_starts_monday() {
        // 2017-06-19 was a Monday.
        let mon = Timestamp::parse_rfc3339("2017-06-19T00:30:00Z").unwrap();
        let sun = Timestamp::parse_rfc3339("2017-06-25T23:59:59Z").unwrap();
        assert_eq!(mon.hour_of_week(), 0);
        assert_eq!(sun.hour_of_week(), 167);
    }
}
