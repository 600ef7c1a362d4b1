//! Replay: events in time order through the engine, into a report.
//!
//! The same [`portcullis_engine::Engine`] that answers live requests in `serve` runs here, fed
//! from logs: the verdicts it counts are what a live server would have answered, and
//! `detected_at` is the event time at which it first raised a campaign. This module reads
//! nothing and prints nothing.

use portcullis_core::AuthEvent;
use portcullis_core::report::{InputSummary, Report};
use portcullis_engine::{Engine, EngineConfig};

/// An engine being fed events.
pub struct Replay {
    engine: Engine,
    events: u64,
}

impl Replay {
    pub fn new(config: EngineConfig) -> Self {
        Replay {
            engine: Engine::new(config),
            events: 0,
        }
    }

    /// Feeds one event to the engine.
    pub fn step(&mut self, ev: &AuthEvent) {
        self.engine.observe(ev);
        self.events += 1;
        // The report is built from the engine's state at the end; drop the live stream of
        // findings now and then so memory stays flat however long the input.
        if self.events.is_multiple_of(4096) {
            self.engine.take_findings();
        }
    }

    /// The report: the engine's view around the input summary.
    pub fn finish(self, input: InputSummary) -> Report {
        let mut report = self.engine.report(input);
        report.generator = format!("portcullis {}", env!("CARGO_PKG_VERSION"));
        report
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use portcullis_core::{Account, Outcome, Protocol, Timestamp};

    #[test]
    fn every_event_gets_a_verdict_and_the_generator_is_named() {
        let mut replay = Replay::new(EngineConfig::default());
        let t0 = Timestamp::parse_rfc3339("2017-06-23T22:00:00Z").unwrap();
        for i in 0..3 {
            let outcome = if i == 0 {
                Outcome::Success
            } else {
                Outcome::BadPassword
            };
            let ev = AuthEvent::new(
                t0.plus_secs(60 * i),
                Protocol::Imap,
                Account::from_raw("alice@example.org"),
                Some("203.0.113.9".parse().unwrap()),
                outcome,
            );
            replay.step(&ev);
        }
        let r = replay.finish(InputSummary::default());
        assert_eq!(r.verdicts.values().sum::<u64>(), 3);
        assert!(r.generator.starts_with("portcullis "));
    }
}
