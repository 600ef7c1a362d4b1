//! Prometheus metrics: lock-free counters for the request path, rendered in the text
//! exposition format at `/metrics` on the admin listener. The log followers, the syslog
//! receiver and the TLS listeners keep counters of their own; they are attached here when they
//! start ([`Metrics::attach_follower`], [`Metrics::attach_syslog`], [`Metrics::attach_tls`]);
//! so are the notification outboxes' (webhooks, SIEM sinks: [`Metrics::attach_outbox`]).

pub use crate::labels::{Answer, Endpoint, Rejection};
use crate::sinks::nftables::NftStats;
use crate::sinks::outbox::{OutboxStats, SinkKind};
use crate::sources::follow::FollowStats;
use crate::sources::syslog::SyslogStats;
use crate::tls::TlsStats;
use parking_lot::Mutex;
use portcullis_engine::Finding;
use portcullis_store::Store;
use std::fmt::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

/// Upper bounds (nanoseconds) of the buckets of `portcullis_decision_seconds`: from 2.5 µs,
/// where an undisturbed decision lies, to a second, past which a Dovecot client has long given
/// up. Rendered in seconds (`ns / 1e9`, which prints exactly as written here).
const DECISION_BOUNDS_NS: [u64; 18] = [
    2_500,
    5_000,
    10_000,
    25_000,
    50_000,
    100_000,
    250_000,
    500_000,
    1_000_000,
    2_000_000,
    5_000_000,
    10_000_000,
    25_000_000,
    50_000_000,
    100_000_000,
    250_000_000,
    500_000_000,
    1_000_000_000,
];

/// How long the server took to answer decision requests (allow, report, the native check and
/// report, single and batch), from the handler's start to its answer: reading the body,
/// authentication, parsing, waiting for and running the engine, building the answer. Not in
/// it: the time a request waited in the socket before the server read it, and the parsing of
/// the HTTP headers — what a client measures beyond this is the network and the scheduling of
/// the server's thread.
#[derive(Debug, Default)]
pub struct DecisionTimes {
    /// Per bucket (not cumulative); the last counts answers slower than every bound.
    buckets: [AtomicU64; DECISION_BOUNDS_NS.len() + 1],
    sum_ns: AtomicU64,
}

impl DecisionTimes {
    fn record(&self, ns: u64) {
        let i = DECISION_BOUNDS_NS.partition_point(|&b| b < ns);
        self.buckets[i].fetch_add(1, Ordering::Relaxed);
        self.sum_ns.fetch_add(ns, Ordering::Relaxed);
    }
}

/// Records one decision request's time into [`DecisionTimes`] when dropped, whatever way the
/// handler returns.
pub struct DecisionTimer<'a> {
    times: &'a DecisionTimes,
    start: Instant,
}

impl Drop for DecisionTimer<'_> {
    fn drop(&mut self) {
        let ns = self.start.elapsed().as_nanos().min(u64::MAX as u128) as u64;
        self.times.record(ns);
    }
}

/// The counters.
#[derive(Debug, Default)]
pub struct Metrics {
    requests: [AtomicU64; Endpoint::ALL.len()],
    rejections: [AtomicU64; Rejection::ALL.len()],
    verdicts: [AtomicU64; Answer::ALL.len()],
    findings: [AtomicU64; Finding::KINDS.len()],
    admin_actions: AtomicU64,
    events_observed: AtomicU64,
    nginx_upstream_errors: AtomicU64,
    decisions: DecisionTimes,
    attached: Mutex<Attached>,
}

/// Counters of the other sources and listeners, by label.
#[derive(Debug, Default)]
struct Attached {
    followers: Vec<(String, Arc<FollowStats>)>,
    syslog: Option<Arc<SyslogStats>>,
    tls: Vec<(&'static str, Arc<TlsStats>)>,
    outboxes: Vec<(SinkKind, String, Arc<OutboxStats>)>,
    nftables: Option<Arc<NftStats>>,
    connections: Vec<(&'static str, Arc<crate::conn::ConnStats>)>,
}

/// A label value in the text format: backslash, double quote and newline escaped.
fn label(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn load(c: &AtomicU64) -> u64 {
    c.load(Ordering::Relaxed)
}

impl Metrics {
    pub fn request(&self, endpoint: Endpoint) {
        self.requests[endpoint as usize].fetch_add(1, Ordering::Relaxed);
    }
    pub fn rejection(&self, why: Rejection) {
        self.rejections[why as usize].fetch_add(1, Ordering::Relaxed);
    }
    pub fn verdict(&self, answer: Answer) {
        self.verdicts[answer as usize].fetch_add(1, Ordering::Relaxed);
    }
    pub fn observed(&self) {
        self.events_observed.fetch_add(1, Ordering::Relaxed);
    }
    /// Starts timing a decision request (see [`DecisionTimes`]); recorded when dropped.
    pub fn decision_timer(&self) -> DecisionTimer<'_> {
        DecisionTimer {
            times: &self.decisions,
            start: Instant::now(),
        }
    }
    /// nginx's `auth_http` upstream could not be asked (down, timed out, no `Auth-Status`).
    pub fn nginx_upstream_error(&self) {
        self.nginx_upstream_errors.fetch_add(1, Ordering::Relaxed);
    }
    pub fn nginx_upstream_errors(&self) -> u64 {
        load(&self.nginx_upstream_errors)
    }
    pub fn admin_action(&self) {
        self.admin_actions.fetch_add(1, Ordering::Relaxed);
    }
    pub fn finding(&self, f: &Finding) {
        self.findings[f.index()].fetch_add(1, Ordering::Relaxed);
    }
    /// Exports a log follower's counters, labelled with its path.
    pub fn attach_follower(&self, path: &str, stats: Arc<FollowStats>) {
        self.attached
            .lock()
            .followers
            .push((path.to_string(), stats));
    }
    /// Exports the syslog receiver's counters.
    pub fn attach_syslog(&self, stats: Arc<SyslogStats>) {
        self.attached.lock().syslog = Some(stats);
    }
    /// Exports the nftables sink's counters.
    pub fn attach_nftables(&self, stats: Arc<NftStats>) {
        self.attached.lock().nftables = Some(stats);
    }
    /// Exports a notification outbox's counters (a webhook's or a SIEM sink's), labelled with
    /// its name.
    pub fn attach_outbox(&self, kind: SinkKind, name: &str, stats: Arc<OutboxStats>) {
        self.attached
            .lock()
            .outboxes
            .push((kind, name.to_string(), stats));
    }
    /// Exports a listener's connection counters (`listener` = "policy" or "admin").
    pub fn attach_connections(&self, listener: &'static str, s: Arc<crate::conn::ConnStats>) {
        self.attached.lock().connections.push((listener, s));
    }
    /// Exports a TLS listener's handshake counters (`listener` = "policy" or "admin").
    pub fn attach_tls(&self, listener: &'static str, stats: Arc<TlsStats>) {
        self.attached.lock().tls.push((listener, stats));
    }

    pub fn requests_of(&self, endpoint: Endpoint) -> u64 {
        self.requests[endpoint as usize].load(Ordering::Relaxed)
    }
    pub fn verdicts_of(&self, answer: Answer) -> u64 {
        self.verdicts[answer as usize].load(Ordering::Relaxed)
    }
    pub fn rejections_of(&self, why: Rejection) -> u64 {
        self.rejections[why as usize].load(Ordering::Relaxed)
    }

    /// The Prometheus text format.
    pub fn render(&self, store: &Store) -> String {
        let mut s = String::with_capacity(4096);
        let _ = writeln!(
            s,
            "# HELP portcullis_requests_total Policy and admin requests by endpoint.\n# TYPE portcullis_requests_total counter"
        );
        for (i, n) in Endpoint::ALL.iter().enumerate() {
            let _ = writeln!(
                s,
                "portcullis_requests_total{{endpoint=\"{n}\"}} {}",
                self.requests[i].load(Ordering::Relaxed)
            );
        }
        let _ = writeln!(
            s,
            "# HELP portcullis_rejected_requests_total Requests refused before the engine.\n# TYPE portcullis_rejected_requests_total counter"
        );
        for (i, n) in Rejection::ALL.iter().enumerate() {
            let _ = writeln!(
                s,
                "portcullis_rejected_requests_total{{reason=\"{n}\"}} {}",
                self.rejections[i].load(Ordering::Relaxed)
            );
        }
        let _ = writeln!(
            s,
            "# HELP portcullis_verdicts_total Answers to attempts (internal_only resolved).\n# TYPE portcullis_verdicts_total counter"
        );
        for (i, n) in Answer::ALL.iter().enumerate() {
            let _ = writeln!(
                s,
                "portcullis_verdicts_total{{action=\"{n}\"}} {}",
                self.verdicts[i].load(Ordering::Relaxed)
            );
        }
        let _ = writeln!(
            s,
            "# HELP portcullis_findings_total Findings raised by the engine.\n# TYPE portcullis_findings_total counter"
        );
        for (i, n) in Finding::KINDS.iter().enumerate() {
            let _ = writeln!(
                s,
                "portcullis_findings_total{{kind=\"{n}\"}} {}",
                self.findings[i].load(Ordering::Relaxed)
            );
        }
        let st = store.stats();
        for (name, help, v) in [
            (
                "portcullis_events_observed_total",
                "Finished attempts fed to the engine.",
                self.events_observed.load(Ordering::Relaxed),
            ),
            (
                "portcullis_admin_actions_total",
                "Admin actions applied (all audited).",
                self.admin_actions.load(Ordering::Relaxed),
            ),
            (
                "portcullis_nginx_upstream_errors_total",
                "nginx auth_http requests whose upstream could not be asked (answered as a temporary error).",
                self.nginx_upstream_errors.load(Ordering::Relaxed),
            ),
            (
                "portcullis_store_commits_total",
                "Store transactions committed.",
                st.commits.load(Ordering::Relaxed),
            ),
            (
                "portcullis_store_items_total",
                "Items written to the store.",
                st.items.load(Ordering::Relaxed),
            ),
            (
                "portcullis_store_dropped_total",
                "Asynchronous store items dropped (queue full).",
                st.dropped.load(Ordering::Relaxed),
            ),
            (
                "portcullis_store_errors_total",
                "Store transactions that failed.",
                st.errors.load(Ordering::Relaxed),
            ),
            (
                "portcullis_store_relaxed_commits_total",
                "Store transactions of familiar sources only, committed without fsync.",
                st.relaxed_commits.load(Ordering::Relaxed),
            ),
            (
                "portcullis_store_commit_microseconds_total",
                "Time spent committing.",
                st.commit_micros.load(Ordering::Relaxed),
            ),
        ] {
            let _ = writeln!(s, "# HELP {name} {help}\n# TYPE {name} counter\n{name} {v}");
        }
        self.render_decisions(&mut s);
        self.render_attached(&mut s);
        s
    }

    fn render_decisions(&self, s: &mut String) {
        let name = "portcullis_decision_seconds";
        let _ = writeln!(
            s,
            "# HELP {name} Time the server took to answer allow/report/check requests, from the handler's start to its answer (queueing in the socket not included).\n# TYPE {name} histogram"
        );
        let mut cumulative = 0u64;
        for (i, b) in self.decisions.buckets.iter().enumerate() {
            cumulative += load(b);
            match DECISION_BOUNDS_NS.get(i) {
                Some(&ns) => {
                    let le = ns as f64 / 1e9;
                    let _ = writeln!(s, "{name}_bucket{{le=\"{le}\"}} {cumulative}");
                }
                None => {
                    let _ = writeln!(s, "{name}_bucket{{le=\"+Inf\"}} {cumulative}");
                }
            }
        }
        let sum = load(&self.decisions.sum_ns) as f64 / 1e9;
        let _ = writeln!(s, "{name}_sum {sum}\n{name}_count {cumulative}");
    }

    fn render_attached(&self, s: &mut String) {
        let a = self.attached.lock();
        let mut family = |name: &str, help: &str, rows: &[(String, u64)]| {
            if rows.is_empty() {
                return;
            }
            let _ = writeln!(s, "# HELP {name} {help}\n# TYPE {name} counter");
            for (labels, v) in rows {
                if labels.is_empty() {
                    let _ = writeln!(s, "{name} {v}");
                } else {
                    let _ = writeln!(s, "{name}{{{labels}}} {v}");
                }
            }
        };
        type FollowField = fn(&FollowStats) -> &AtomicU64;
        let follow: [(&str, &str, FollowField); 7] = [
            ("lines", "Complete lines read by each log follower.", |f| {
                &f.lines
            }),
            ("events", "Events a log follower fed to the engine.", |f| {
                &f.events
            }),
            ("skipped", "Lines a log follower's parser skipped.", |f| {
                &f.skipped
            }),
            ("oversize", "Over-long lines a log follower skipped.", |f| {
                &f.oversize
            }),
            (
                "rotations",
                "Rename rotations a log follower followed.",
                |f| &f.rotations,
            ),
            (
                "truncations",
                "Truncations (copytruncate) a log follower followed.",
                |f| &f.truncations,
            ),
            (
                "errors",
                "I/O errors of a log follower (each logged).",
                |f| &f.errors,
            ),
        ];
        for (what, help, field) in follow {
            let rows: Vec<(String, u64)> = a
                .followers
                .iter()
                .map(|(p, st)| (format!("path=\"{}\"", label(p)), load(field(st))))
                .collect();
            family(&format!("portcullis_follow_{what}_total"), help, &rows);
        }
        if let Some(st) = &a.syslog {
            for (what, help, v) in [
                ("messages", "Syslog messages received.", &st.messages),
                (
                    "events",
                    "Events the syslog receiver fed to the engine.",
                    &st.events,
                ),
                (
                    "skipped",
                    "Syslog messages that were not attempts.",
                    &st.skipped,
                ),
                (
                    "malformed",
                    "Malformed syslog messages or framing.",
                    &st.malformed,
                ),
                (
                    "oversize",
                    "Over-long syslog messages dropped.",
                    &st.oversize,
                ),
                (
                    "connections",
                    "Syslog TCP connections accepted.",
                    &st.connections,
                ),
                (
                    "connections_refused",
                    "Syslog TCP connections refused (too many open).",
                    &st.connections_refused,
                ),
                (
                    "idle_closed",
                    "Idle syslog TCP connections closed.",
                    &st.idle_closed,
                ),
            ] {
                family(
                    &format!("portcullis_syslog_{what}_total"),
                    help,
                    &[(String::new(), load(v))],
                );
            }
        }
        type TlsField = fn(&TlsStats) -> &AtomicU64;
        let tls: [(&str, &str, TlsField); 3] = [
            ("handshakes", "TLS handshakes completed.", |t| &t.handshakes),
            ("handshake_failures", "TLS handshakes that failed.", |t| {
                &t.handshake_failures
            }),
            (
                "handshake_timeouts",
                "TLS handshakes that timed out.",
                |t| &t.handshake_timeouts,
            ),
        ];
        for (what, help, field) in tls {
            let rows: Vec<(String, u64)> = a
                .tls
                .iter()
                .map(|(l, st)| (format!("listener=\"{l}\""), load(field(st))))
                .collect();
            family(&format!("portcullis_tls_{what}_total"), help, &rows);
        }
        // Webhooks keep the names they were first exported under (`delivered`, label `hook`).
        type Field = fn(&OutboxStats) -> &AtomicU64;
        for (kind, label_name, names) in [
            (
                SinkKind::Webhook,
                "hook",
                ["delivered", "failed", "dropped", "retries"],
            ),
            (
                SinkKind::Siem,
                "sink",
                ["sent", "failed", "dropped", "retries"],
            ),
        ] {
            let what = match kind {
                SinkKind::Webhook => "Webhook notifications",
                SinkKind::Siem => "SIEM notices",
            };
            let fields: [(&str, String, Field); 4] = [
                (names[0], format!("{what} delivered."), |s| &s.sent),
                (names[1], format!("{what} given up after retries."), |s| {
                    &s.failed
                }),
                (names[2], format!("{what} dropped (queue full)."), |s| {
                    &s.dropped
                }),
                (names[3], format!("{what}: delivery retries."), |s| {
                    &s.retries
                }),
            ];
            for (name, help, field) in fields {
                let rows: Vec<(String, u64)> = a
                    .outboxes
                    .iter()
                    .filter(|(k, _, _)| *k == kind)
                    .map(|(_, n, st)| (format!("{label_name}=\"{}\"", label(n)), load(field(st))))
                    .collect();
                family(
                    &format!("portcullis_{}_{name}_total", kind.as_str()),
                    &help,
                    &rows,
                );
            }
        }
        if let Some(st) = &a.nftables {
            for (what, help, v) in [
                ("added", "Elements added to the nftables sets.", &st.added),
                (
                    "deleted",
                    "Elements deleted from the nftables sets.",
                    &st.deleted,
                ),
                (
                    "errors",
                    "nftables elements the kernel refused.",
                    &st.errors,
                ),
            ] {
                family(
                    &format!("portcullis_nftables_{what}_total"),
                    help,
                    &[(String::new(), load(v))],
                );
            }
        }
        crate::conn::ConnStats::render(&a.connections, s);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn followers_syslog_and_tls_counters_are_exported_once_attached() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path().join("s.db"), Default::default()).unwrap();
        let m = Metrics::default();
        let before = m.render(&store);
        assert!(!before.contains("portcullis_follow_") && !before.contains("portcullis_syslog_"));

        let f = Arc::new(FollowStats::default());
        f.lines.fetch_add(7, Ordering::Relaxed);
        f.rotations.fetch_add(1, Ordering::Relaxed);
        m.attach_follower("/var/log/\"odd\".log", f.clone());
        let sy = Arc::new(SyslogStats::default());
        sy.malformed.fetch_add(3, Ordering::Relaxed);
        m.attach_syslog(sy);
        let t = Arc::new(TlsStats::default());
        t.handshake_timeouts.fetch_add(2, Ordering::Relaxed);
        m.attach_tls("policy", t);
        let siem = Arc::new(OutboxStats::default());
        siem.dropped.fetch_add(2, Ordering::Relaxed);
        m.attach_outbox(SinkKind::Siem, "soc \"eu\"", siem);
        f.lines.fetch_add(1, Ordering::Relaxed);

        let text = m.render(&store);
        let has = |l: &str| text.lines().any(|x| x == l);
        assert!(
            has(r#"portcullis_follow_lines_total{path="/var/log/\"odd\".log"} 8"#),
            "{text}"
        );
        assert!(has(
            r#"portcullis_follow_rotations_total{path="/var/log/\"odd\".log"} 1"#
        ));
        assert!(has("portcullis_syslog_malformed_total 3"), "{text}");
        assert!(has("portcullis_syslog_messages_total 0"));
        assert!(has(
            r#"portcullis_tls_handshake_timeouts_total{listener="policy"} 2"#
        ));
        assert!(
            has(r#"portcullis_siem_dropped_total{sink="soc \"eu\""} 2"#),
            "{text}"
        );
        assert!(has(r#"portcullis_siem_sent_total{sink="soc \"eu\""} 0"#));
        // Every sample line belongs to a family announced with HELP and TYPE.
        for l in text.lines().filter(|l| !l.starts_with('#')) {
            let name = l.split(['{', ' ']).next().unwrap();
            let histogram = ["_bucket", "_sum", "_count"]
                .iter()
                .filter_map(|suffix| name.strip_suffix(suffix))
                .any(|family| text.contains(&format!("# TYPE {family} histogram")));
            assert!(
                histogram || text.contains(&format!("# TYPE {name} counter")),
                "{l}"
            );
        }
    }

    #[test]
    fn decision_times_land_in_cumulative_buckets() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path().join("s.db"), Default::default()).unwrap();
        let m = Metrics::default();
        // On a bound, just above it, between two, on another, past the last.
        for ns in [1_000, 10_000, 10_001, 700_000, 2_000_000, 3_000_000_000] {
            m.decisions.record(ns);
        }
        let text = m.render(&store);
        let value = |text: &str, prefix: &str| -> String {
            text.lines()
                .find_map(|l| l.strip_prefix(prefix))
                .unwrap_or_else(|| panic!("{prefix} missing:\n{text}"))
                .trim()
                .to_string()
        };
        let bucket = |le: &str| {
            value(
                &text,
                &format!("portcullis_decision_seconds_bucket{{le=\"{le}\"}}"),
            )
        };
        assert_eq!(bucket("0.0000025"), "1");
        assert_eq!(bucket("0.000005"), "1");
        assert_eq!(bucket("0.00001"), "2");
        assert_eq!(bucket("0.000025"), "3");
        assert_eq!(bucket("0.0005"), "3");
        assert_eq!(bucket("0.001"), "4");
        assert_eq!(bucket("0.002"), "5");
        assert_eq!(bucket("1"), "5");
        assert_eq!(bucket("+Inf"), "6");
        assert_eq!(value(&text, "portcullis_decision_seconds_count"), "6");
        assert_eq!(
            value(&text, "portcullis_decision_seconds_sum"),
            "3.002721001"
        );

        // A timer records once, when dropped.
        let t = m.decision_timer();
        assert_eq!(
            value(&m.render(&store), "portcullis_decision_seconds_count"),
            "6"
        );
        drop(t);
        assert_eq!(
            value(&m.render(&store), "portcullis_decision_seconds_count"),
            "7"
        );
    }

    #[test]
    fn every_endpoint_has_its_own_counter() {
        let m = Metrics::default();
        for (i, e) in Endpoint::ALL.iter().enumerate() {
            for _ in 0..=i {
                m.request(*e);
            }
        }
        for (i, e) in Endpoint::ALL.iter().enumerate() {
            assert_eq!(m.requests_of(*e), i as u64 + 1, "{e}");
        }
        // Eight commands, each found by its protocol name, and nothing else is a command.
        for e in &Endpoint::ALL[..8] {
            assert_eq!(Endpoint::command(e.as_str()), Some(*e));
        }
        assert_eq!(Endpoint::command("v1_check"), None);
        assert_eq!(Endpoint::command("admin"), None);
    }
}
