//! Prometheus metrics: lock-free counters for the request path, rendered in the text
//! exposition format at `/metrics` on the admin listener.

use portcullis_engine::Finding;
use portcullis_store::Store;
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};

/// Requests by endpoint.
pub const ENDPOINTS: [&str; 13] = [
    "allow",
    "report",
    "reset",
    "addBLEntry",
    "delBLEntry",
    "getBL",
    "ping",
    "stats",
    "v1_check",
    "v1_report",
    "v1_check_batch",
    "v1_report_batch",
    "admin",
];

/// Why a request was refused before reaching the engine.
pub const REJECTIONS: [&str; 8] = [
    "unauthorized",
    "body_too_large",
    "json_too_deep",
    "bad_json",
    "bad_request",
    "unknown_command",
    "password_field",
    "rate_limited",
];

/// Verdicts answered, after `internal_only` is resolved.
pub const VERDICTS: [&str; 3] = ["allow", "tarpit", "deny"];

const FINDINGS: [&str; 5] = [
    "campaign_opened",
    "campaign_updated",
    "source_flagged",
    "account_compromised",
    "account_at_risk",
];

fn idx(list: &[&str], name: &str) -> usize {
    list.iter()
        .position(|n| *n == name)
        .unwrap_or(list.len() - 1)
}

/// The counters.
#[derive(Debug, Default)]
pub struct Metrics {
    requests: [AtomicU64; ENDPOINTS.len()],
    rejections: [AtomicU64; REJECTIONS.len()],
    verdicts: [AtomicU64; VERDICTS.len()],
    findings: [AtomicU64; FINDINGS.len()],
    admin_actions: AtomicU64,
    events_observed: AtomicU64,
}

impl Metrics {
    pub fn request(&self, endpoint: &str) {
        self.requests[idx(&ENDPOINTS, endpoint)].fetch_add(1, Ordering::Relaxed);
    }
    pub fn rejection(&self, why: &str) {
        self.rejections[idx(&REJECTIONS, why)].fetch_add(1, Ordering::Relaxed);
    }
    pub fn verdict(&self, v: &str) {
        self.verdicts[idx(&VERDICTS, v)].fetch_add(1, Ordering::Relaxed);
    }
    pub fn observed(&self) {
        self.events_observed.fetch_add(1, Ordering::Relaxed);
    }
    pub fn admin_action(&self) {
        self.admin_actions.fetch_add(1, Ordering::Relaxed);
    }
    pub fn finding(&self, f: &Finding) {
        let i = match f {
            Finding::CampaignOpened(_) => 0,
            Finding::CampaignUpdated(_) => 1,
            Finding::SourceFlagged(_) => 2,
            Finding::AccountCompromised(_) => 3,
            Finding::AccountAtRisk(_) => 4,
        };
        self.findings[i].fetch_add(1, Ordering::Relaxed);
    }
    pub fn requests_of(&self, endpoint: &str) -> u64 {
        self.requests[idx(&ENDPOINTS, endpoint)].load(Ordering::Relaxed)
    }
    pub fn verdicts_of(&self, v: &str) -> u64 {
        self.verdicts[idx(&VERDICTS, v)].load(Ordering::Relaxed)
    }
    pub fn rejections_of(&self, why: &str) -> u64 {
        self.rejections[idx(&REJECTIONS, why)].load(Ordering::Relaxed)
    }

    /// The Prometheus text format.
    pub fn render(&self, store: &Store) -> String {
        let mut s = String::with_capacity(4096);
        let _ = writeln!(
            s,
            "# HELP portcullis_requests_total Policy and admin requests by endpoint.\n# TYPE portcullis_requests_total counter"
        );
        for (i, n) in ENDPOINTS.iter().enumerate() {
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
        for (i, n) in REJECTIONS.iter().enumerate() {
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
        for (i, n) in VERDICTS.iter().enumerate() {
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
        for (i, n) in FINDINGS.iter().enumerate() {
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
                "portcullis_store_commit_microseconds_total",
                "Time spent committing.",
                st.commit_micros.load(Ordering::Relaxed),
            ),
        ] {
            let _ = writeln!(s, "# HELP {name} {help}\n# TYPE {name} counter\n{name} {v}");
        }
        s
    }
}
