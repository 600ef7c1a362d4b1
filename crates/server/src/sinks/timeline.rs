//! The dashboard's record of live traffic: a bounded in-memory [`Timeline`] of the attempts the
//! hub observed since start-up (counts per 10 s and per hour, per source and per account, and
//! the last [`RECENT_CAP`] attempts), with the bucketed views the dashboard and the live report
//! read. It starts empty at each start-up: history before it is in the store (campaigns,
//! findings, audit), not in the charts.

use parking_lot::Mutex;
use portcullis_core::report::Report;
use portcullis_core::{AuthEvent, Outcome, Prefix, Timestamp};
use portcullis_engine::Action;
use portcullis_report::dashboard_api as api;
use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::net::IpAddr;
use std::sync::Arc;

/// Recent attempts kept for account pages and campaign charts.
pub const RECENT_CAP: usize = 20_000;
/// Sources and accounts counted at most (new ones beyond are not counted, and say so).
pub const COUNTED_CAP: usize = 100_000;
const FINE_SECS: i64 = 10;
const FINE_KEEP: usize = 6 * 360;
const HOURLY_KEEP: usize = 2160;

#[derive(Clone, Copy, Default)]
struct Counts {
    attempts: u64,
    failures: u64,
    unfamiliar_failures: u64,
    /// allow, tarpit, deny, internal_only.
    verdicts: [u64; Action::NAMES.len()],
}

impl Counts {
    fn add(&mut self, o: &Counts) {
        self.attempts += o.attempts;
        self.failures += o.failures;
        self.unfamiliar_failures += o.unfamiliar_failures;
        for i in 0..4 {
            self.verdicts[i] += o.verdicts[i];
        }
    }
}

/// What one source address did, as counted since start-up.
#[derive(Clone, Copy)]
pub struct SourceCounts {
    pub attempts: u64,
    pub failures: u64,
    pub first: Timestamp,
    pub last: Timestamp,
}

/// One recent attempt.
#[derive(Clone)]
pub struct Recent {
    pub ts: Timestamp,
    pub account: Arc<str>,
    pub source: Option<IpAddr>,
    pub protocol: &'static str,
    pub outcome: Outcome,
    /// Index into [`Action::NAMES`].
    pub verdict: u8,
    pub familiar: bool,
}

#[derive(Default)]
struct TimelineInner {
    fine: BTreeMap<i64, Counts>,
    /// `fine` holds every attempt from this 10 s bucket on (older ones were evicted).
    fine_complete_from: i64,
    hourly: BTreeMap<i64, Counts>,
    /// `hourly` holds every attempt from this hour on.
    hourly_complete_from: i64,
    sources: HashMap<IpAddr, SourceCounts>,
    accounts: HashMap<Arc<str>, (u64, Timestamp)>,
    recent: VecDeque<Recent>,
    uncounted: u64,
    /// Every attempt since start-up: how many, by outcome, first and last.
    total: u64,
    outcomes: BTreeMap<Outcome, u64>,
    span: Option<(Timestamp, Timestamp)>,
}

/// A bounded in-memory record of observed attempts (see the module doc).
pub struct Timeline {
    inner: Mutex<TimelineInner>,
}

impl Default for Timeline {
    fn default() -> Self {
        Self::new()
    }
}

impl Timeline {
    /// The per-source and per-account maps and the recent ring are allocated at their caps
    /// (~13 MB of address space, touched as they fill): growing a 100,000-entry map inside a
    /// request stalled every connection for tens of ms.
    pub fn new() -> Self {
        Timeline {
            inner: Mutex::new(TimelineInner {
                sources: HashMap::with_capacity(COUNTED_CAP),
                accounts: HashMap::with_capacity(COUNTED_CAP),
                recent: VecDeque::with_capacity(RECENT_CAP),
                ..Default::default()
            }),
        }
    }

    /// Counts one observed attempt. `familiar`: the source had an earlier success on the account.
    pub fn record(&self, ev: &AuthEvent, familiar: bool, action: Action) {
        let failure = ev.outcome.is_failure();
        let mut c = Counts {
            attempts: 1,
            failures: failure as u64,
            unfamiliar_failures: (failure && !familiar) as u64,
            verdicts: [0; Action::NAMES.len()],
        };
        c.verdicts[action.index()] = 1;
        let secs = ev.ts.unix_secs();
        let mut t = self.inner.lock();
        t.total += 1;
        *t.outcomes.entry(ev.outcome).or_default() += 1;
        t.span = Some(match t.span {
            Some((a, b)) => (a.min(ev.ts), b.max(ev.ts)),
            None => (ev.ts, ev.ts),
        });
        t.fine
            .entry(secs.div_euclid(FINE_SECS))
            .or_default()
            .add(&c);
        while t.fine.len() > FINE_KEEP {
            if let Some((k, _)) = t.fine.pop_first() {
                t.fine_complete_from = t.fine_complete_from.max(k + 1);
            }
        }
        t.hourly.entry(secs.div_euclid(3600)).or_default().add(&c);
        while t.hourly.len() > HOURLY_KEEP {
            if let Some((k, _)) = t.hourly.pop_first() {
                t.hourly_complete_from = t.hourly_complete_from.max(k + 1);
            }
        }
        if let Some(ip) = ev.source {
            let n = t.sources.len();
            match t.sources.get_mut(&ip) {
                Some(s) => {
                    s.attempts += 1;
                    s.failures += failure as u64;
                    s.last = s.last.max(ev.ts);
                    s.first = s.first.min(ev.ts);
                }
                None if n < COUNTED_CAP => {
                    t.sources.insert(
                        ip,
                        SourceCounts {
                            attempts: 1,
                            failures: failure as u64,
                            first: ev.ts,
                            last: ev.ts,
                        },
                    );
                }
                None => t.uncounted += 1,
            }
        }
        let name: Arc<str> = match t.accounts.get_key_value(ev.account.name.as_str()) {
            Some((k, _)) => k.clone(),
            None => Arc::from(ev.account.name.as_str()),
        };
        let n = t.accounts.len();
        match t.accounts.get_mut(&name) {
            Some(a) => {
                a.0 += 1;
                a.1 = a.1.max(ev.ts);
            }
            None if n < COUNTED_CAP => {
                t.accounts.insert(name.clone(), (1, ev.ts));
            }
            None => t.uncounted += 1,
        }
        if t.recent.len() >= RECENT_CAP {
            t.recent.pop_front();
        }
        t.recent.push_back(Recent {
            ts: ev.ts,
            account: name,
            source: ev.source,
            protocol: ev.protocol.as_str(),
            outcome: ev.outcome,
            verdict: action.index() as u8,
            familiar,
        });
    }

    /// Buckets over `[start, end]`. When every attempt in the window came within the last six
    /// hours (and the fine record still holds them all), 10 s buckets (60 s when they span more
    /// than an hour) from the first attempt; otherwise the whole window in buckets of
    /// [`window_width`] (hourly up to 7 days, 6-hourly up to 45 days, daily beyond). Also the
    /// verdicts given in the window.
    pub fn buckets(
        &self,
        start: Timestamp,
        end: Timestamp,
    ) -> (Vec<api::Bucket>, BTreeMap<String, u64>) {
        let t = self.inner.lock();
        let (s, e) = (start.unix_secs(), end.unix_secs());
        let mut verdicts = Counts::default();
        for (_, c) in t.hourly.range(s.div_euclid(3600)..=e.div_euclid(3600)) {
            verdicts.add(c);
        }
        let verdicts = Action::NAMES
            .iter()
            .zip(verdicts.verdicts)
            .map(|(k, v)| (k.to_string(), v))
            .collect();
        let first_hour = t
            .hourly
            .range(s.div_euclid(3600)..)
            .next()
            .map(|(k, _)| k * 3600);
        let first_fine = t
            .fine
            .range(s.div_euclid(FINE_SECS)..)
            .next()
            .map(|(k, _)| k * FINE_SECS);
        let buckets = match (first_hour, first_fine) {
            (Some(h), Some(f))
                if e - h <= 6 * 3600 && t.fine_complete_from * FINE_SECS <= h.max(s) =>
            {
                let width = if e - f <= 3600 { FINE_SECS } else { 60 };
                dense(&t.fine, FINE_SECS, f, e, width)
            }
            _ => dense(&t.hourly, 3600, s, e, window_width(e - s)),
        };
        (buckets, verdicts)
    }

    /// The accounts tried from `sources` in `[from, to]` in the recent record, newest first.
    pub fn campaign_accounts(
        &self,
        sources: &[Prefix],
        from: Timestamp,
        to: Timestamp,
    ) -> Vec<Arc<str>> {
        let t = self.inner.lock();
        let set = PrefixSet::new(sources);
        let mut seen = HashSet::new();
        t.recent
            .iter()
            .rev()
            .filter(|r| {
                r.ts >= from && r.ts <= to && r.source.is_some_and(|ip| set.find(ip).is_some())
            })
            .filter(|r| seen.insert(r.account.clone()))
            .map(|r| r.account.clone())
            .collect()
    }

    /// Fills in what the engine's live report does not keep, from the attempts observed since
    /// start-up: the report's `timeline` from the first attempt to the last (per minute when
    /// they span up to an hour, per 10 minutes up to six, else hourly, coarser beyond 7 days, as
    /// far back as the hourly record reaches) and the input summary (the attempts received, by
    /// outcome, first and last). `portcullis report --server` reads it.
    pub fn fill_report(&self, r: &mut Report) {
        let t = self.inner.lock();
        let fine = t.fine.first_key_value().zip(t.fine.last_key_value());
        match (t.span, fine) {
            (Some((a, b)), Some(((&f, _), (&l, _))))
                if b.secs_since(a) <= 6 * 3600 && t.fine_complete_from <= f =>
            {
                let (s, e) = (f * FINE_SECS, l * FINE_SECS + FINE_SECS - 1);
                let width = if e - s <= 3600 { 60 } else { 600 };
                r.timeline = dense(&t.fine, FINE_SECS, s, e, width);
            }
            _ => {
                if let (Some((&first, _)), Some((&last, _))) =
                    (t.hourly.first_key_value(), t.hourly.last_key_value())
                {
                    let (s, e) = (first * 3600, last * 3600 + 3599);
                    r.timeline = dense(&t.hourly, 3600, s, e, window_width(e - s));
                }
            }
        }
        r.input.lines = t.total;
        r.input.events = t.total;
        r.input.events_by_outcome = t.outcomes.clone();
        if let Some((a, b)) = t.span {
            r.input.first_event = Some(a);
            r.input.last_event = Some(b);
        }
    }

    /// The attempts of the recent record that came from `sources` in `[from, to]`, bucketed.
    pub fn campaign_buckets(
        &self,
        sources: &[Prefix],
        from: Timestamp,
        to: Timestamp,
    ) -> Vec<api::Bucket> {
        let t = self.inner.lock();
        let span = to.secs_since(from).max(0);
        let width = if span <= 600 {
            FINE_SECS
        } else if span <= 3600 {
            60
        } else {
            window_width(span)
        };
        let set = PrefixSet::new(sources);
        let mut m: BTreeMap<i64, Counts> = BTreeMap::new();
        for r in t.recent.iter().filter(|r| {
            r.ts >= from && r.ts <= to && r.source.is_some_and(|ip| set.find(ip).is_some())
        }) {
            let c = m.entry(r.ts.unix_secs().div_euclid(width)).or_default();
            c.attempts += 1;
            if r.outcome.is_failure() {
                c.failures += 1;
                c.unfamiliar_failures += (!r.familiar) as u64;
            }
        }
        m.into_iter()
            .map(|(k, c)| bucket(k * width, width, &c))
            .collect()
    }

    /// Counts per source among `sources` (see [`per_source`]), from the attempts since start-up.
    pub fn source_counts(&self, sources: &[Prefix]) -> HashMap<Prefix, SourceCounts> {
        per_source(&self.inner.lock().sources, sources)
    }

    /// Attempts and the last attempt of each of `accounts` since start-up (None: none counted).
    pub fn account_counts(&self, accounts: &[String]) -> Vec<Option<(u64, Timestamp)>> {
        let t = self.inner.lock();
        accounts
            .iter()
            .map(|a| t.accounts.get(a.as_str()).copied())
            .collect()
    }

    /// The newest `n` recent attempts on `account`, newest first.
    pub fn recent_of(&self, account: &str, n: usize) -> Vec<Recent> {
        let t = self.inner.lock();
        t.recent
            .iter()
            .rev()
            .filter(|x| *x.account == *account)
            .take(n)
            .cloned()
            .collect()
    }
}

/// The bucket width for a window of `span` seconds: hourly up to 7 days, 6-hourly up to 45
/// days, daily beyond (the UI offers 24 h to 30 days; the API allows 90).
fn window_width(span: i64) -> i64 {
    if span <= 7 * 86_400 {
        3600
    } else if span <= 45 * 86_400 {
        6 * 3600
    } else {
        86_400
    }
}

/// A set of prefixes (a campaign's sources: addresses and networks) that finds the one holding
/// an address with one hash lookup per prefix length, not a scan of the set.
pub struct PrefixSet {
    set: HashSet<Prefix>,
    /// (IPv4?, length) of the members, longest first.
    lens: Vec<(bool, u8)>,
}

impl PrefixSet {
    pub fn new(prefixes: &[Prefix]) -> Self {
        let mut lens: Vec<(bool, u8)> = prefixes
            .iter()
            .map(|p| (p.addr().is_ipv4(), p.len()))
            .collect();
        lens.sort_by_key(|&(v4, len)| (v4, std::cmp::Reverse(len)));
        lens.dedup();
        PrefixSet {
            set: prefixes.iter().copied().collect(),
            lens,
        }
    }

    /// The most specific member that holds `ip`.
    pub fn find(&self, ip: IpAddr) -> Option<Prefix> {
        self.lens
            .iter()
            .filter(|(v4, _)| *v4 == ip.is_ipv4())
            .map(|&(_, len)| Prefix::new(ip, len))
            .find(|p| self.set.contains(p))
    }
}

/// Counts per campaign source: an address its own, a network the sum over the addresses seen
/// in it (each address counted once, under the most specific source that holds it).
fn per_source(
    counted: &HashMap<IpAddr, SourceCounts>,
    sources: &[Prefix],
) -> HashMap<Prefix, SourceCounts> {
    let set = PrefixSet::new(sources);
    let mut out: HashMap<Prefix, SourceCounts> = HashMap::new();
    for (ip, c) in counted {
        if let Some(p) = set.find(*ip) {
            out.entry(p)
                .and_modify(|x| {
                    x.attempts += c.attempts;
                    x.failures += c.failures;
                    x.first = x.first.min(c.first);
                    x.last = x.last.max(c.last);
                })
                .or_insert(*c);
        }
    }
    out
}

fn bucket(start: i64, width: i64, c: &Counts) -> api::Bucket {
    api::Bucket {
        start: Timestamp::from_unix_secs(start),
        width_secs: width,
        attempts: c.attempts,
        failures: c.failures,
        unfamiliar_failures: c.unfamiliar_failures,
    }
}

/// Every `width`-second bucket from `s` to `e`, summing `map` (keyed by `secs / unit`).
fn dense(map: &BTreeMap<i64, Counts>, unit: i64, s: i64, e: i64, width: i64) -> Vec<api::Bucket> {
    let mut out = Vec::new();
    let mut b = s.div_euclid(width) * width;
    while b <= e && out.len() < 2000 {
        let mut c = Counts::default();
        for (_, x) in map.range(b.div_euclid(unit)..(b + width).div_euclid(unit)) {
            c.add(x);
        }
        out.push(bucket(b, width, &c));
        b += width;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use portcullis_core::{Account, NormalizeOptions, Protocol};

    /// An hour boundary, so bucket edges are predictable.
    const T0: i64 = 1_700_000_000 / 3600 * 3600;

    fn record(tl: &Timeline, secs: i64, outcome: Outcome, familiar: bool) {
        let ev = AuthEvent::new(
            Timestamp::from_unix_secs(secs),
            Protocol::Imap,
            Account::new("alice@example.org", &NormalizeOptions::default()),
            Some("198.51.100.7".parse().unwrap()),
            outcome,
        );
        tl.record(&ev, familiar, Action::Allow);
    }

    /// Totals of (attempts, failures, unfamiliar failures), the common width, and a check that
    /// the buckets are aligned and follow each other without gaps.
    fn totals(b: &[api::Bucket]) -> (u64, u64, u64, i64) {
        assert!(!b.is_empty());
        let w = b[0].width_secs;
        for (i, x) in b.iter().enumerate() {
            assert_eq!(x.width_secs, w);
            assert_eq!(x.start.unix_secs() % w, 0, "aligned to the width");
            if i > 0 {
                assert_eq!(x.start.unix_secs() - b[i - 1].start.unix_secs(), w);
            }
        }
        (
            b.iter().map(|x| x.attempts).sum(),
            b.iter().map(|x| x.failures).sum(),
            b.iter().map(|x| x.unfamiliar_failures).sum(),
            w,
        )
    }

    fn at(secs: i64) -> Timestamp {
        Timestamp::from_unix_secs(secs)
    }

    #[test]
    fn recent_attempts_come_in_10_s_or_1_min_buckets_from_the_first_one() {
        let tl = Timeline::new();
        // 30 minutes of traffic: one success, then a failure from an unfamiliar source a minute.
        record(&tl, T0 + 5, Outcome::Success, false);
        for m in 1..=30 {
            record(&tl, T0 + m * 60, Outcome::BadPassword, m % 3 == 0);
        }
        let now = T0 + 31 * 60;
        let (b, verdicts) = tl.buckets(at(now - 48 * 3600), at(now));
        let (a, f, u, w) = totals(&b);
        assert_eq!((a, f, u, w), (31, 30, 20, 10));
        assert_eq!(b[0].start.unix_secs(), T0, "starts at the first attempt");
        assert_eq!(verdicts["allow"], 31);
        assert_eq!(verdicts["deny"], 0);
        // Two hours of traffic: minutes.
        record(&tl, T0 + 2 * 3600, Outcome::BadPassword, false);
        let (b, _) = tl.buckets(at(now - 48 * 3600), at(T0 + 2 * 3600 + 60));
        assert_eq!(totals(&b), (32, 31, 21, 60));
    }

    #[test]
    fn longer_windows_are_hourly_six_hourly_or_daily_and_count_everything() {
        let tl = Timeline::new();
        // Ten days, one attempt every 20 minutes, every fourth a success.
        let mut n = 0u64;
        let mut fails = 0u64;
        for i in 0..(10 * 24 * 3) {
            let ok = i % 4 == 0;
            record(
                &tl,
                T0 + i * 1200 + 7,
                if ok {
                    Outcome::Success
                } else {
                    Outcome::BadPassword
                },
                false,
            );
            n += 1;
            fails += (!ok) as u64;
        }
        let now = T0 + 10 * 86_400;
        for (hours, width) in [(24, 3600), (168, 3600), (720, 6 * 3600), (2160, 86_400)] {
            let (b, verdicts) = tl.buckets(at(now - hours * 3600), at(now));
            let (a, f, u, w) = totals(&b);
            assert_eq!(w, width, "{hours} h");
            assert!(b.len() <= 1000, "{hours} h: {} buckets", b.len());
            if hours >= 240 {
                assert_eq!((a, f, u), (n, fails, fails), "{hours} h");
                assert_eq!(verdicts.values().sum::<u64>(), n);
            } else {
                // Only the window's share: 3 attempts an hour.
                assert!(
                    a >= 3 * hours as u64 && a <= 3 * (hours as u64 + 1),
                    "{hours} h: {a}"
                );
            }
        }
    }

    /// When the fine record has dropped attempts the window still needs, the chart falls back
    /// to hours instead of silently under-counting.
    #[test]
    fn an_incomplete_fine_record_is_not_used() {
        let tl = Timeline::new();
        // One attempt in each 10 s bucket for six hours and ten seconds: one more bucket than
        // the fine record keeps.
        let n = FINE_KEEP as i64 + 1;
        for i in 0..n {
            record(&tl, T0 + i * FINE_SECS, Outcome::BadPassword, false);
        }
        let now = T0 + 6 * 3600;
        let (b, _) = tl.buckets(at(now - 24 * 3600), at(now));
        let (a, _, _, w) = totals(&b);
        assert_eq!(w, 3600);
        assert_eq!(a, n as u64, "every attempt counted");
    }

    #[test]
    fn the_live_report_gets_the_timeline_and_the_input_summary() {
        let tl = Timeline::new();
        record(&tl, T0 + 100, Outcome::Success, false);
        record(&tl, T0 + 3 * 3600 + 5, Outcome::BadPassword, false);
        record(&tl, T0 + 3 * 3600 + 6, Outcome::BadPassword, true);
        record(&tl, T0 + 5 * 3600 + 7, Outcome::UnknownAccount, false);
        let mut r = Report::new(Default::default());
        tl.fill_report(&mut r);
        let (a, f, u, w) = totals(&r.timeline);
        assert_eq!((a, f, u, w), (4, 3, 2, 600), "5 hours: per 10 minutes");
        assert_eq!(
            r.timeline.len(),
            31,
            "10-minute steps over 5 hours, empty ones included"
        );
        assert_eq!(r.timeline[18].attempts, 2);
        // A day later: hourly.
        record(&tl, T0 + 30 * 3600, Outcome::Success, true);
        let mut r = Report::new(Default::default());
        tl.fill_report(&mut r);
        let (a, _, _, w) = totals(&r.timeline);
        assert_eq!((a, w), (5, 3600));
        assert_eq!(r.timeline.len(), 31, "hours 0 to 30");
        assert_eq!(r.timeline[3].attempts, 2);
        assert_eq!((r.input.events, r.input.lines), (5, 5));
        assert_eq!(r.input.events_by_outcome[&Outcome::BadPassword], 2);
        assert_eq!(r.input.events_by_outcome[&Outcome::UnknownAccount], 1);
        assert_eq!(r.input.events_by_outcome[&Outcome::Success], 2);
        assert_eq!(r.input.first_event, Some(at(T0 + 100)));
        assert_eq!(r.input.last_event, Some(at(T0 + 30 * 3600)));
        // Nothing observed: nothing claimed.
        let mut r = Report::new(Default::default());
        Timeline::new().fill_report(&mut r);
        assert!(r.timeline.is_empty());
        assert_eq!((r.input.events, r.input.first_event), (0, None));
    }

    #[test]
    fn networks_among_a_campaigns_sources_sum_the_addresses_in_them() {
        let tl = Timeline::new();
        let ev = |ip: &str, secs: i64| {
            AuthEvent::new(
                at(secs),
                Protocol::Imap,
                Account::new("bob", &NormalizeOptions::default()),
                Some(ip.parse().unwrap()),
                Outcome::BadPassword,
            )
        };
        for (i, ip) in [
            "198.51.100.1",
            "198.51.100.2",
            "198.51.100.2",
            "203.0.113.9",
            "2001:db8:1::5",
            "192.0.2.1",
        ]
        .iter()
        .enumerate()
        {
            tl.record(&ev(ip, T0 + i as i64), false, Action::Allow);
        }
        let net: Prefix = "198.51.100.0/24".parse().unwrap();
        let host: Prefix = "203.0.113.9".parse().unwrap();
        let net6: Prefix = "2001:db8::/32".parse().unwrap();
        let nested: Prefix = "198.51.100.2".parse().unwrap();
        let inner = tl.inner.lock();
        let c = per_source(&inner.sources, &[net, host, net6]);
        assert_eq!(c[&net].attempts, 3);
        assert_eq!((c[&net].first, c[&net].last), (at(T0), at(T0 + 2)));
        assert_eq!(c[&host].attempts, 1);
        assert_eq!(c[&net6].attempts, 1);
        assert_eq!(c.len(), 3, "192.0.2.1 is no source of this campaign");
        // An address listed on its own and inside a listed network counts once, as itself.
        let c = per_source(&inner.sources, &[net, nested]);
        assert_eq!((c[&net].attempts, c[&nested].attempts), (1, 2));
    }

    #[test]
    fn campaign_buckets_fit_the_campaign_and_only_count_its_sources() {
        let tl = Timeline::new();
        let ours: Prefix = "198.51.100.0/24".parse().unwrap();
        let theirs: Prefix = "203.0.113.0/24".parse().unwrap();
        for i in 0..20 {
            record(&tl, T0 + i * 20, Outcome::BadPassword, false);
        }
        let b = tl.campaign_buckets(&[ours], at(T0), at(T0 + 400));
        assert_eq!(b[0].width_secs, FINE_SECS);
        assert_eq!(b.iter().map(|x| x.attempts).sum::<u64>(), 20);
        assert!(
            tl.campaign_buckets(&[theirs], at(T0), at(T0 + 400))
                .is_empty()
        );
        let b = tl.campaign_buckets(&[ours], at(T0), at(T0 + 3 * 86_400));
        assert_eq!(b[0].width_secs, 3600);
        assert_eq!(b.iter().map(|x| x.attempts).sum::<u64>(), 20);
    }
}
