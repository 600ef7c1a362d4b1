//! Replay: events in time order through the engine, into a report.
//!
//! The same [`portcullis_engine::Engine`] that answers live requests in `serve` runs here, fed
//! from logs: the verdicts it counts are what a live server would have answered, and
//! `detected_at` is the event time at which it first raised a campaign. Alongside, the replay
//! keeps the report's timeline (attempts, failures and failures from unfamiliar sources per
//! interval). This module reads nothing and prints nothing.

use portcullis_core::report::{InputSummary, Report, TimeBucket};
use portcullis_core::{AuthEvent, Timestamp};
use portcullis_engine::{Engine, EngineConfig};
use std::collections::BTreeMap;

/// The finest timeline interval.
const HOUR: i64 = 3600;
/// Coarser intervals, tried in order until the timeline has at most [`MAX_BUCKETS`].
const WIDTHS: [i64; 5] = [HOUR, 6 * HOUR, 24 * HOUR, 7 * 24 * HOUR, 30 * 24 * HOUR];
const MAX_BUCKETS: usize = 2000;

/// An engine being fed events.
pub struct Replay {
    engine: Engine,
    events: u64,
    /// Hour index → [attempts, failures, unfamiliar failures]. One entry per hour with events:
    /// about 9,000 for a year of logs.
    hours: BTreeMap<i64, [u64; 3]>,
    current: Option<(i64, [u64; 3])>,
}

impl Replay {
    pub fn new(config: EngineConfig) -> Self {
        Replay {
            engine: Engine::new(config),
            events: 0,
            hours: BTreeMap::new(),
            current: None,
        }
    }

    /// Feeds one event to the engine and counts it on the timeline.
    pub fn step(&mut self, ev: &AuthEvent) {
        let hour = ev.ts.unix_secs().div_euclid(HOUR);
        let failure = ev.outcome.is_failure();
        // Trust and familiarity are the engine's answer, judged before it learns from this
        // event (the verdict's standing).
        let verdict = self.engine.observe(ev);
        let unfamiliar = failure && ev.source.is_some() && !verdict.standing.known();
        self.events += 1;
        let counts = match &mut self.current {
            Some((h, c)) if *h == hour => c,
            _ => {
                self.flush();
                let c = self.hours.remove(&hour).unwrap_or_default();
                &mut self.current.insert((hour, c)).1
            }
        };
        counts[0] += 1;
        counts[1] += u64::from(failure);
        counts[2] += u64::from(unfamiliar);
        // The report is built from the engine's state at the end; drop the live stream of
        // findings now and then so memory stays flat however long the input.
        if self.events.is_multiple_of(4096) {
            self.engine.take_findings();
        }
    }

    fn flush(&mut self) {
        if let Some((h, c)) = self.current.take() {
            self.hours.insert(h, c);
        }
    }

    /// The timeline in the finest interval that keeps it under [`MAX_BUCKETS`] buckets.
    fn timeline(&self) -> Vec<TimeBucket> {
        let (Some(first), Some(last)) = (self.hours.keys().next(), self.hours.keys().last()) else {
            return Vec::new();
        };
        let span_hours = (last - first + 1).max(1);
        let width = WIDTHS
            .into_iter()
            .find(|w| span_hours * HOUR / w < MAX_BUCKETS as i64)
            .unwrap_or(WIDTHS[WIDTHS.len() - 1]);
        let mut out: Vec<TimeBucket> = Vec::new();
        for (h, c) in &self.hours {
            let start = (h * HOUR).div_euclid(width) * width;
            match out.last_mut() {
                Some(b) if b.start.unix_secs() == start => {
                    b.attempts += c[0];
                    b.failures += c[1];
                    b.unfamiliar_failures += c[2];
                }
                _ => out.push(TimeBucket {
                    start: Timestamp::from_unix_secs(start),
                    width_secs: width,
                    attempts: c[0],
                    failures: c[1],
                    unfamiliar_failures: c[2],
                }),
            }
        }
        out
    }

    /// The report: the engine's view around the input summary, with the timeline.
    pub fn finish(mut self, input: InputSummary) -> Report {
        self.flush();
        let mut report = self.engine.report(input);
        report.timeline = self.timeline();
        report.generator = format!("portcullis {}", env!("CARGO_PKG_VERSION"));
        report
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use portcullis_core::{Account, Outcome, Protocol};

    fn event(ts: Timestamp, account: &str, ip: &str, outcome: Outcome) -> AuthEvent {
        AuthEvent::new(
            ts,
            Protocol::Imap,
            Account::from_raw(account),
            Some(ip.parse().unwrap()),
            outcome,
        )
    }

    #[test]
    fn every_event_gets_a_verdict_and_a_place_on_the_timeline() {
        let mut replay = Replay::new(EngineConfig::default());
        let t0 = Timestamp::parse_rfc3339("2017-06-23T22:00:00Z").unwrap();
        // Alice logs in from home, mistypes from home, then a stranger fails for her; an
        // hour later a failure from the office's private network (trusted).
        replay.step(&event(
            t0,
            "alice@example.org",
            "203.0.113.9",
            Outcome::Success,
        ));
        replay.step(&event(
            t0.plus_secs(60),
            "alice@example.org",
            "203.0.113.9",
            Outcome::BadPassword,
        ));
        replay.step(&event(
            t0.plus_secs(120),
            "alice@example.org",
            "198.51.100.7",
            Outcome::BadPassword,
        ));
        replay.step(&event(
            t0.plus_secs(3700),
            "alice@example.org",
            "10.1.2.3",
            Outcome::BadPassword,
        ));
        let r = replay.finish(InputSummary::default());
        assert_eq!(r.verdicts.values().sum::<u64>(), 4);
        assert!(r.generator.starts_with("portcullis "));
        let tl: Vec<(i64, u64, u64, u64)> = r
            .timeline
            .iter()
            .map(|b| (b.width_secs, b.attempts, b.failures, b.unfamiliar_failures))
            .collect();
        assert_eq!(tl, vec![(3600, 3, 2, 1), (3600, 1, 1, 0)]);
        assert_eq!(r.timeline[0].start, t0);
    }

    #[test]
    fn long_inputs_get_coarser_intervals() {
        let mut replay = Replay::new(EngineConfig::default());
        let t0 = Timestamp::parse_rfc3339("2017-01-01T00:00:00Z").unwrap();
        for day in 0..365 {
            let ev = event(
                t0.plus_secs(day * 86400),
                "bob@example.org",
                "192.0.2.1",
                Outcome::Success,
            );
            replay.step(&ev);
        }
        let r = replay.finish(InputSummary::default());
        assert!(r.timeline.len() <= MAX_BUCKETS);
        assert_eq!(r.timeline[0].width_secs, 6 * HOUR);
        assert_eq!(r.timeline.iter().map(|b| b.attempts).sum::<u64>(), 365);
    }
}
