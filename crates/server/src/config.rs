//! `[server]` settings: listeners, paths, credentials, limits. [`defaults_toml`] is the
//! commented section `portcullis config --defaults` prints; a test checks it parses back to
//! [`ServerConfig::default`].
//!
//! Secrets may also come from the environment so that they stay out of the config file:
//! `PORTCULLIS_POLICY_PASSWORD`, `PORTCULLIS_POLICY_API_KEY`, `PORTCULLIS_ADMIN_TOKEN` override
//! the keys of the same name ([`ServerConfig::with_env_secrets`]).

use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::path::PathBuf;

/// Server settings (`[server]` in `portcullis.toml`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerConfig {
    /// Where Dovecot / wforce clients / the native API connect.
    pub policy_listen: String,
    /// The admin API (campaigns, blocks, protections, shields, metrics). Empty = disabled.
    pub admin_listen: String,
    /// State directory.
    pub data_dir: PathBuf,
    /// The SQLite store; empty = `<data_dir>/portcullis.db`.
    pub store_path: PathBuf,
    /// HTTP Basic user policy clients present (Dovecot: `http://USER:PASSWORD@host:port/`).
    pub policy_user: String,
    /// HTTP Basic password for `policy_user` (or `PORTCULLIS_POLICY_PASSWORD`).
    pub policy_password: String,
    /// API key accepted in `api_key_header` (or `PORTCULLIS_POLICY_API_KEY`).
    pub policy_api_key: String,
    /// Header that carries the API key (Dovecot: `auth_policy_server_api_header`).
    pub api_key_header: String,
    /// Serve the policy API without credentials. Off by default: with no credentials set,
    /// `serve` refuses to start unless this is true.
    pub allow_unauthenticated: bool,
    /// Bearer token of the admin API (or `PORTCULLIS_ADMIN_TOKEN`). Required when the admin
    /// listener is enabled.
    pub admin_token: String,
    /// Failed authentications allowed per client address (admin API, dashboard sign-in,
    /// policy API): sustained per second, and burst. An address over it is refused (429) until
    /// its budget refills; authenticated requests are never limited.
    pub admin_rate_per_sec: u32,
    pub admin_burst: u32,
    /// Failed authentications per second from all addresses together, beyond which failures
    /// are answered 429 (a right credential is still served).
    pub auth_failures_per_sec: u32,
    /// The wforce blacklist commands (`addBLEntry`, `delBLEntry`, `reset`, `getBL`) need the
    /// admin token (HTTP Basic password or Bearer) or this separate password; "" = only the
    /// admin token. The policy credential never suffices.
    pub wforce_admin_password: String,
    /// Connection limits of each listener (docs/operations.md, "Hostile clients and faults").
    /// A request's headers must arrive within this many ms of its first byte.
    pub header_read_timeout_ms: u64,
    /// A request's body must arrive within this many ms of its headers.
    pub body_read_timeout_ms: u64,
    /// A connection with no request in progress is closed after this many ms.
    pub idle_timeout_ms: u64,
    /// Most open connections per listener (at the cap the longest-idle one is closed).
    pub max_connections: usize,
    /// Most open connections from one address (an IPv6 /64) per listener.
    pub max_connections_per_address: usize,
    /// On shutdown, requests in progress get this many ms to finish.
    pub shutdown_grace_ms: u64,
    /// The widest IPv4 / IPv6 prefix an admin may block (a shorter one is refused).
    pub admin_min_block_prefix_v4: u8,
    pub admin_min_block_prefix_v6: u8,
    /// The furthest expiry an admin decision may have, days (none = permanent).
    pub admin_max_expiry_days: u32,
    /// Largest request body accepted, bytes.
    pub body_limit_bytes: usize,
    /// Deepest JSON nesting accepted.
    pub json_max_depth: usize,
    /// Most events in one native batch request.
    pub batch_max_events: usize,
    /// Message Dovecot shows a rejected client (`[ALERT] ...`). Says nothing about detection.
    pub reject_message: String,
    /// Message of a step-up refusal (the engine's `step_up`) where the protocol cannot ask for
    /// a second factor itself (Dovecot, nginx mail): where the user can pass one.
    pub step_up_message: String,
    /// The auth_policy `status` of a step-up: -1 (every Dovecot refuses it) or -2 (wforce#280's
    /// "second factor required"; Dovecot 2.2 and 2.3.0–2.3.4 would let it through).
    pub step_up_status: i32,
    /// Log format: "text" or "json".
    pub log_format: String,
    /// Familiar sources older than this are forgotten (days).
    pub familiar_retention_days: u32,
    /// Store group-commit interval, milliseconds (findings are durable within it).
    pub store_batch_interval_ms: u64,
    /// Familiar sources are written to the store together, at most this many milliseconds
    /// after the first of them (not fsynced; relearned at the next login if lost).
    pub store_familiar_interval_ms: u64,
    /// Journal group-commit interval, milliseconds: every engine input is on disk within it
    /// (the loss window of `kill -9`; admin actions are synced before they are answered).
    pub journal_interval_ms: u64,
    /// A snapshot of the engine is written after this many journal records...
    pub snapshot_every_records: u64,
    /// ... or this many seconds, whichever comes first (and at shutdown).
    pub snapshot_interval_secs: u64,
    /// Worker threads of the HTTP runtime; 0 = one per CPU less one, at least one
    /// ([`ServerConfig::effective_worker_threads`]).
    pub worker_threads: usize,
    /// How long a flagged source is banned at the edge (decisions pulled by CrowdSec
    /// bouncers), seconds; never beyond the engine's `flag_ttl_secs`.
    pub decisions_flag_ban_secs: u64,
    /// How long the address of a step-up is a `captcha` decision for bouncers, seconds; 0 =
    /// no captcha decisions.
    pub decisions_step_up_secs: u64,
    /// An nftables table of portcullis's own whose sets `blocked4`/`blocked6` hold the
    /// decisions ("" = off; needs CAP_NET_ADMIN).
    pub nftables_table: String,
    /// Also add an input chain to that table dropping what the sets hold.
    pub nftables_drop: bool,
    /// Webhooks findings and shields changes are posted to (docs/integrations.md).
    pub webhooks: Vec<crate::sinks::webhooks::WebhookConfig>,
    /// SIEMs findings and shields changes are sent to over syslog (docs/integrations.md).
    pub siem: Vec<crate::sinks::siem::SiemConfig>,
    /// Log files to follow across rotation (docs/followers.md).
    pub follow: Vec<crate::sources::follow::FollowConfig>,
    /// Syslog receiver listen addresses ("" = off; a bare port = loopback).
    pub syslog_udp: String,
    pub syslog_tcp: String,
    /// Line format of received syslog messages.
    pub syslog_format: String,
    /// TLS (rustls): PEM certificate chain and private key; both empty = plain HTTP.
    pub tls_cert: PathBuf,
    pub tls_key: PathBuf,
    /// Which listeners speak TLS when a certificate is set: "both", "policy" or "admin".
    pub tls_listeners: String,
    /// The site's own nginx mail `auth_http` server that `GET /nginx/auth` stands in front of
    /// (http:// or https:// URL); "" = the endpoint is off (404).
    pub nginx_auth_upstream: String,
    /// How long the upstream gets to answer, ms; beyond it nginx is told to retry later.
    pub nginx_auth_timeout_ms: u64,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            policy_listen: "127.0.0.1:8300".into(),
            admin_listen: "127.0.0.1:8301".into(),
            data_dir: PathBuf::from("/var/lib/portcullis"),
            store_path: PathBuf::new(),
            policy_user: "dovecot".into(),
            policy_password: String::new(),
            policy_api_key: String::new(),
            api_key_header: "X-API-Key".into(),
            allow_unauthenticated: false,
            admin_token: String::new(),
            admin_rate_per_sec: 1,
            admin_burst: 10,
            auth_failures_per_sec: 100,
            wforce_admin_password: String::new(),
            header_read_timeout_ms: 5_000,
            body_read_timeout_ms: 10_000,
            idle_timeout_ms: 60_000,
            max_connections: 4096,
            max_connections_per_address: 512,
            shutdown_grace_ms: 5_000,
            admin_min_block_prefix_v4: 16,
            admin_min_block_prefix_v6: 32,
            admin_max_expiry_days: 3650,
            body_limit_bytes: 64 * 1024,
            json_max_depth: 8,
            batch_max_events: 1000,
            reject_message: "Authentication failed".into(),
            step_up_message: "Second factor required: sign in once with it (web portal) from \
                              this network, then try again"
                .into(),
            step_up_status: -1,
            log_format: "text".into(),
            familiar_retention_days: 90,
            store_batch_interval_ms: 5,
            store_familiar_interval_ms: 1000,
            journal_interval_ms: 10,
            snapshot_every_records: 2_000_000,
            snapshot_interval_secs: 600,
            worker_threads: 0,
            decisions_flag_ban_secs: 4 * 3600,
            decisions_step_up_secs: 3600,
            nftables_table: String::new(),
            nftables_drop: false,
            webhooks: Vec::new(),
            siem: Vec::new(),
            follow: Vec::new(),
            syslog_udp: String::new(),
            syslog_tcp: String::new(),
            syslog_format: "syslog".into(),
            tls_cert: PathBuf::new(),
            tls_key: PathBuf::new(),
            tls_listeners: "both".into(),
            nginx_auth_upstream: String::new(),
            nginx_auth_timeout_ms: 5_000,
        }
    }
}

/// A setting that cannot work, with the key and the reason.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("[server] {key}: {msg}")]
pub struct ConfigError {
    pub key: &'static str,
    pub msg: String,
}

fn err(key: &'static str, msg: impl Into<String>) -> ConfigError {
    ConfigError {
        key,
        msg: msg.into(),
    }
}

impl ServerConfig {
    /// The HTTP runtime's worker threads: `worker_threads`, or for 0 one per CPU (of `cpus`)
    /// less one, at least one. On a 2-core host that also runs Dovecot, one worker answers
    /// faster and with a shorter tail than two that fight the mail server and the store
    /// writer for the same CPUs (measured: docs/bench/server.md).
    pub fn effective_worker_threads(&self, cpus: usize) -> usize {
        if self.worker_threads > 0 {
            self.worker_threads
        } else {
            cpus.saturating_sub(1).max(1)
        }
    }

    /// The store file.
    /// The engine's input journal and snapshots: `<data_dir>/journal`.
    pub fn journal_dir(&self) -> PathBuf {
        self.data_dir.join("journal")
    }
    pub fn store_file(&self) -> PathBuf {
        if self.store_path.as_os_str().is_empty() {
            self.data_dir.join("portcullis.db")
        } else {
            self.store_path.clone()
        }
    }

    /// Replaces secrets with the environment's `PORTCULLIS_POLICY_PASSWORD`,
    /// `PORTCULLIS_POLICY_API_KEY`, `PORTCULLIS_ADMIN_TOKEN` when set and non-empty.
    pub fn with_env_secrets(mut self) -> Self {
        let get = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        if let Some(v) = get("PORTCULLIS_POLICY_PASSWORD") {
            self.policy_password = v;
        }
        if let Some(v) = get("PORTCULLIS_POLICY_API_KEY") {
            self.policy_api_key = v;
        }
        if let Some(v) = get("PORTCULLIS_ADMIN_TOKEN") {
            self.admin_token = v;
        }
        if let Some(v) = get("PORTCULLIS_WFORCE_ADMIN_PASSWORD") {
            self.wforce_admin_password = v;
        }
        self
    }

    /// The policy listener address.
    pub fn policy_addr(&self) -> Result<SocketAddr, ConfigError> {
        self.policy_listen.parse().map_err(|_| {
            err(
                "policy_listen",
                format!(
                    "{:?} is not an address:port (e.g. 127.0.0.1:8300)",
                    self.policy_listen
                ),
            )
        })
    }

    /// The admin listener address, `None` when disabled.
    pub fn admin_addr(&self) -> Result<Option<SocketAddr>, ConfigError> {
        if self.admin_listen.is_empty() {
            return Ok(None);
        }
        self.admin_listen.parse().map(Some).map_err(|_| {
            err(
                "admin_listen",
                format!(
                    "{:?} is not an address:port (e.g. 127.0.0.1:8301), or empty to disable",
                    self.admin_listen
                ),
            )
        })
    }

    /// The connection limits of each listener.
    pub fn conn_limits(&self) -> crate::conn::ConnLimits {
        use std::time::Duration;
        crate::conn::ConnLimits {
            header_read_timeout: Duration::from_millis(self.header_read_timeout_ms),
            body_read_timeout: Duration::from_millis(self.body_read_timeout_ms),
            idle_timeout: Duration::from_millis(self.idle_timeout_ms),
            max_connections: self.max_connections,
            max_per_address: self.max_connections_per_address,
            shutdown_grace: Duration::from_millis(self.shutdown_grace_ms),
        }
    }

    /// Whether the policy and the admin listener speak TLS.
    pub fn tls_on(&self) -> (bool, bool) {
        if self.tls_cert.as_os_str().is_empty() {
            return (false, false);
        }
        match self.tls_listeners.as_str() {
            "policy" => (true, false),
            "admin" => (false, true),
            _ => (true, true),
        }
    }

    /// Checks the settings together; every error names its key.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let policy = self.policy_addr()?;
        let admin = self.admin_addr()?;
        if admin == Some(policy) && policy.port() != 0 {
            return Err(err(
                "admin_listen",
                "must differ from policy_listen: the admin API has a listener of its own",
            ));
        }
        let has_basic = !self.policy_password.is_empty();
        if has_basic && self.policy_user.is_empty() {
            return Err(err("policy_user", "empty while policy_password is set"));
        }
        if !has_basic && self.policy_api_key.is_empty() && !self.allow_unauthenticated {
            return Err(err(
                "policy_password",
                "no policy credentials: set policy_password (HTTP Basic, as in Dovecot's \
                 auth_policy_server_url) or policy_api_key (or the PORTCULLIS_POLICY_* \
                 environment variables), or allow_unauthenticated = true",
            ));
        }
        if self.api_key_header.is_empty()
            || !self
                .api_key_header
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(err("api_key_header", "must be a plain HTTP header name"));
        }
        if admin.is_some() && self.admin_token.len() < 16 {
            return Err(err(
                "admin_token",
                "must be at least 16 characters (or set PORTCULLIS_ADMIN_TOKEN); set \
                 admin_listen = \"\" to run without the admin API",
            ));
        }
        if self.admin_rate_per_sec == 0 || self.admin_burst == 0 {
            return Err(err(
                "admin_rate_per_sec",
                "rate and burst must be at least 1",
            ));
        }
        if !matches!(self.step_up_status, -1 | -2) {
            return Err(err(
                "step_up_status",
                "must be -1 (a refusal for every Dovecot) or -2 (wforce#280)",
            ));
        }
        if self.decisions_step_up_secs > 7 * 86_400 {
            return Err(err(
                "decisions_step_up_secs",
                "must be between 0 (none) and 604800 (7 days)",
            ));
        }
        if self.auth_failures_per_sec == 0 {
            return Err(err("auth_failures_per_sec", "must be at least 1"));
        }
        if !self.wforce_admin_password.is_empty() && self.wforce_admin_password.len() < 16 {
            return Err(err(
                "wforce_admin_password",
                "must be at least 16 characters, or empty (only the admin token)",
            ));
        }
        for (key, v) in [
            ("header_read_timeout_ms", self.header_read_timeout_ms),
            ("body_read_timeout_ms", self.body_read_timeout_ms),
            ("idle_timeout_ms", self.idle_timeout_ms),
            ("shutdown_grace_ms", self.shutdown_grace_ms),
        ] {
            if !(100..=3_600_000).contains(&v) {
                return Err(err(key, "must be between 100 and 3600000 (ms)"));
            }
        }
        if !(16..=1_000_000).contains(&self.max_connections) {
            return Err(err("max_connections", "must be between 16 and 1000000"));
        }
        if self.max_connections_per_address == 0
            || self.max_connections_per_address > self.max_connections
        {
            return Err(err(
                "max_connections_per_address",
                "must be between 1 and max_connections",
            ));
        }
        if !(256..=16 * 1024 * 1024).contains(&self.body_limit_bytes) {
            return Err(err("body_limit_bytes", "must be between 256 and 16777216"));
        }
        if !(2..=64).contains(&self.json_max_depth) {
            return Err(err("json_max_depth", "must be between 2 and 64"));
        }
        if self.batch_max_events == 0 {
            return Err(err("batch_max_events", "must be at least 1"));
        }
        if !matches!(self.log_format.as_str(), "text" | "json") {
            return Err(err("log_format", "must be \"text\" or \"json\""));
        }
        if self.store_batch_interval_ms == 0 || self.store_batch_interval_ms > 1000 {
            return Err(err("store_batch_interval_ms", "must be between 1 and 1000"));
        }
        if self.journal_interval_ms == 0 || self.journal_interval_ms > 1000 {
            return Err(err("journal_interval_ms", "must be between 1 and 1000"));
        }
        if self.snapshot_every_records < 1000 || self.snapshot_interval_secs < 10 {
            return Err(err(
                "snapshot_every_records",
                "snapshot_every_records must be at least 1000 and snapshot_interval_secs at least 10",
            ));
        }
        if self.store_familiar_interval_ms == 0 || self.store_familiar_interval_ms > 60_000 {
            return Err(err(
                "store_familiar_interval_ms",
                "must be between 1 and 60000",
            ));
        }
        if self.tls_cert.as_os_str().is_empty() != self.tls_key.as_os_str().is_empty() {
            return Err(err(
                "tls_cert",
                "tls_cert and tls_key go together: set both (PEM files) or neither",
            ));
        }
        if !matches!(self.tls_listeners.as_str(), "both" | "policy" | "admin") {
            return Err(err(
                "tls_listeners",
                "must be \"both\", \"policy\" or \"admin\"",
            ));
        }
        let up = self.nginx_auth_upstream.as_str();
        if !(up.is_empty() || up.starts_with("http://") || up.starts_with("https://")) {
            return Err(err(
                "nginx_auth_upstream",
                "must be an http:// or https:// URL (the auth_http server nginx used before), \
                 or empty to disable GET /nginx/auth",
            ));
        }
        if !(100..=60_000).contains(&self.nginx_auth_timeout_ms) {
            return Err(err(
                "nginx_auth_timeout_ms",
                "must be between 100 and 60000 (ms), below nginx's auth_http_timeout",
            ));
        }
        for f in &self.follow {
            f.line_format().map_err(|m| err("follow", m))?;
        }
        for w in &self.webhooks {
            w.validate().map_err(|m| err("webhooks", m))?;
        }
        for s in &self.siem {
            s.validate().map_err(|m| err("siem", m))?;
        }
        crate::sources::syslog::parse_listen(&self.syslog_udp).map_err(|m| err("syslog_udp", m))?;
        crate::sources::syslog::parse_listen(&self.syslog_tcp).map_err(|m| err("syslog_tcp", m))?;
        if portcullis_parse::detect::Format::from_name(&self.syslog_format)
            .is_none_or(|f| f.is_document())
        {
            return Err(err(
                "syslog_format",
                "must be a line format such as \"syslog\"",
            ));
        }
        Ok(())
    }
}

/// The `[server]` section with every key, its default, and a comment.
pub fn defaults_toml() -> &'static str {
    DEFAULTS_TOML
}

const DEFAULTS_TOML: &str = r#"[server]
# Policy listener: Dovecot auth_policy, wforce-compatible API, native API v1.
policy_listen = "127.0.0.1:8300"
# Admin listener (campaigns, blocks, protections, shields, /metrics). "" disables it.
admin_listen = "127.0.0.1:8301"
# State directory, and the SQLite store in it ("" = <data_dir>/portcullis.db).
data_dir = "/var/lib/portcullis"
store_path = ""
# Credentials of policy clients: HTTP Basic (Dovecot: auth_policy_server_url =
# http://dovecot:PASSWORD@127.0.0.1:8300/) and/or an API key in api_key_header (Dovecot:
# auth_policy_server_api_header). Secrets can come from PORTCULLIS_POLICY_PASSWORD and
# PORTCULLIS_POLICY_API_KEY instead. With neither set, serve refuses to start unless
# allow_unauthenticated = true.
policy_user = "dovecot"
policy_password = ""
policy_api_key = ""
api_key_header = "X-API-Key"
allow_unauthenticated = false
# Bearer token of the admin API, at least 16 characters (or PORTCULLIS_ADMIN_TOKEN).
admin_token = ""
# Failed authentications per client address (admin API, dashboard sign-in, policy API):
# sustained per second, and burst. An address past it is refused (429) until its budget
# refills; authenticated requests are never rate-limited, so a flood of wrong tokens cannot
# lock the operator out. auth_failures_per_sec caps failures from all addresses together
# (beyond it a failure is answered 429; a right credential is still served).
admin_rate_per_sec = 1
admin_burst = 10
auth_failures_per_sec = 100
# The wforce blacklist commands (addBLEntry, delBLEntry, reset, getBL) change or reveal state
# for everyone: they need the admin token (as the HTTP Basic password, or Bearer) or this
# separate password (at least 16 characters, or PORTCULLIS_WFORCE_ADMIN_PASSWORD); "" = only
# the admin token. The policy credential (Dovecot's) answers allow, report, ping and stats.
wforce_admin_password = ""
# Every admin block, protection and shields-up (API, CLI, dashboard, wforce) passes one
# validation: blocks wider than these prefixes, of /0, or overlapping trusted networks or
# loopback are refused, and so are expiries further than admin_max_expiry_days (give no
# expiry for a permanent decision).
admin_min_block_prefix_v4 = 16
admin_min_block_prefix_v6 = 32
admin_max_expiry_days = 3650
# Connection limits of each listener: a request's headers must arrive within
# header_read_timeout_ms of its first byte and its body within body_read_timeout_ms of the
# headers; a connection with no request in progress is closed after idle_timeout_ms. At most
# max_connections per listener (at the cap the longest-idle connection is closed to make
# room) and max_connections_per_address from one address (IPv6: one /64). On shutdown,
# requests in progress get shutdown_grace_ms to finish; then every connection is dropped.
header_read_timeout_ms = 5000
body_read_timeout_ms = 10000
idle_timeout_ms = 60000
max_connections = 4096
max_connections_per_address = 512
shutdown_grace_ms = 5000
# Request limits: body size in bytes, JSON nesting depth, events per native batch.
body_limit_bytes = 65536
json_max_depth = 8
batch_max_events = 1000
# What a rejected client is told (Dovecot shows it as [ALERT]). Never names the detection.
reject_message = "Authentication failed"
# With [engine] step_up = true: what a client refused for a second factor is told where its
# protocol cannot ask for one (Dovecot, nginx mail), and the auth_policy status of a step-up
# (-1, which every Dovecot refuses; -2 is wforce#280's "second factor required", which
# Dovecot 2.2 and 2.3.0-2.3.4 would let through).
step_up_message = "Second factor required: sign in once with it (web portal) from this network, then try again"
step_up_status = -1
# "text" or "json" logs (to stderr; RUST_LOG filters).
log_format = "text"
# Familiar sources (account x prefix with a past success) are forgotten after this many days.
familiar_retention_days = 90
# Group commit of the store: findings are durable within this many milliseconds. Admin
# actions are always committed before the API answers.
store_batch_interval_ms = 5
# Familiar sources (one per new account x address success) are written together, sorted, at
# most this many milliseconds after the first, with no fsync of their own: those of the last
# interval are lost on a crash and relearned at the user's next login (docs/operations.md).
store_familiar_interval_ms = 1000
# The journal (<data_dir>/journal/): every engine input, written and fdatasynced together at
# most this many milliseconds apart; a kill -9 loses at most that much of the latest events
# (admin actions are synced before they are answered). See docs/operations.md, "Restarts".
journal_interval_ms = 10
# A snapshot of the engine's state after this many journal records or seconds, whichever comes
# first, and at shutdown; start-up loads the newest and replays the journal after it.
snapshot_every_records = 2000000
snapshot_interval_secs = 600
# HTTP worker threads; 0 = one per CPU less one (at least one), leaving a CPU to the store
# writer and to the mail server that usually runs beside portcullis (docs/bench/server.md).
worker_threads = 0
# CrowdSec bouncers pull decisions from the admin listener (docs/integrations.md): admin blocks
# for their own duration, flagged sources for this long (capped by [engine] flag_ttl_secs).
decisions_flag_ban_secs = 14400
# With [engine] step_up = true, the address of a step-up is a `captcha` decision for this long
# (0 = none). Bouncers that cannot show a captcha follow their own configuration (see
# docs/integrations.md: the firewall bouncer ignores it, the nginx bouncer may ban).
decisions_step_up_secs = 3600
# The same decisions in nftables sets (inet table, sets blocked4 and blocked6, kernel timeouts
# so entries expire even if portcullis stops): "" = off. nftables_drop adds an input chain
# dropping them; otherwise use the sets in your own ruleset (ip saddr @blocked4 drop).
nftables_table = ""
nftables_drop = false
# Webhooks for findings and shields changes (docs/integrations.md), e.g.
# webhooks = [{ name = "soc", url = "https://soc.example.org/hook", format = "json",
#               secret = "at least 16 characters" }]   # or format = "slack" / "teams"
webhooks = []
# SIEMs over syslog (docs/integrations.md): RFC 5424 with structured data, or ArcSight CEF
# in an RFC 3164 header; UDP, or TCP with octet-counting framing. Facility authpriv by
# default. A SIEM that is down never slows a login (queued, dropped and counted when full).
# siem = [{ name = "soc", address = "siem.example.org:514", transport = "tcp",
#           format = "cef" }]   # or format = "rfc5424"; facility = "local4"; events = [...]
siem = []
# Log files to follow across rotation (docs/followers.md), e.g.
# follow = [{ path = "/var/log/mail.log", format = "syslog" }]
follow = []
# Syslog receiver (RFC 3164/5424; TCP octet-counted or newline framing): "" = off, a bare
# port listens on loopback. rsyslog: mail.*;auth,authpriv.* @@127.0.0.1:5514
syslog_udp = ""
syslog_tcp = ""
syslog_format = "syslog"
# TLS (rustls) with a PEM certificate chain and private key (PKCS#8, PKCS#1 or SEC1); both ""
# = plain HTTP. Dovecot: auth_policy_server_url = https://dovecot:PASSWORD@host:8300/ and
# ssl_client_ca_file for a private CA. tls_listeners: "both", "policy" or "admin".
tls_cert = ""
tls_key = ""
tls_listeners = "both"
# nginx mail proxy (docs/integrations.md): point nginx's auth_http at
# http://127.0.0.1:8300/nginx/auth and name here the auth_http server it used before; portcullis
# asks the engine, then forwards to it (within nginx_auth_timeout_ms) and learns the outcome.
# "" = GET /nginx/auth answers 404.
nginx_auth_upstream = ""
nginx_auth_timeout_ms = 5000
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize)]
    struct Wrapper {
        server: ServerConfig,
    }

    #[test]
    fn defaults_toml_parses_to_the_default() {
        let w: Wrapper = toml::from_str(defaults_toml()).unwrap();
        assert_eq!(w.server, ServerConfig::default());
    }

    #[test]
    fn unknown_keys_are_refused_with_the_key_named() {
        let e = toml::from_str::<Wrapper>("[server]\npolicy_lisen = \"x\"\n")
            .err()
            .unwrap();
        assert!(e.to_string().contains("policy_lisen"), "{e}");
    }

    #[test]
    fn validation_explains_what_is_wrong() {
        let c = ServerConfig::default();
        assert_eq!(c.validate().unwrap_err().key, "policy_password");
        let c = ServerConfig {
            policy_password: "pw".into(),
            ..Default::default()
        };
        assert_eq!(c.validate().unwrap_err().key, "admin_token");
        let c = ServerConfig {
            policy_password: "pw".into(),
            admin_token: "0123456789abcdef".into(),
            ..Default::default()
        };
        assert!(c.validate().is_ok());
        let c = ServerConfig {
            admin_listen: "127.0.0.1:8300".into(),
            ..c
        };
        assert_eq!(c.validate().unwrap_err().key, "admin_listen");
        let c = ServerConfig {
            allow_unauthenticated: true,
            admin_listen: String::new(),
            policy_listen: "nowhere".into(),
            ..Default::default()
        };
        assert_eq!(c.validate().unwrap_err().key, "policy_listen");
        assert_eq!(
            ServerConfig::default().store_file(),
            PathBuf::from("/var/lib/portcullis/portcullis.db")
        );
        let ok = ServerConfig {
            policy_password: "pw".into(),
            admin_token: "0123456789abcdef".into(),
            ..Default::default()
        };
        for bad in [0, 60_001] {
            let c = ServerConfig {
                store_familiar_interval_ms: bad,
                ..ok.clone()
            };
            assert_eq!(c.validate().unwrap_err().key, "store_familiar_interval_ms");
        }
        for (url, ms, key) in [
            ("127.0.0.1:9000/auth", 5000, Some("nginx_auth_upstream")),
            (
                "http://127.0.0.1:9000/auth",
                50,
                Some("nginx_auth_timeout_ms"),
            ),
            ("http://127.0.0.1:9000/auth", 5000, None),
            ("", 5000, None),
        ] {
            let c = ServerConfig {
                nginx_auth_upstream: url.into(),
                nginx_auth_timeout_ms: ms,
                ..ok.clone()
            };
            assert_eq!(c.validate().err().map(|e| e.key), key, "{url} {ms}");
        }
    }

    #[test]
    fn worker_threads_zero_leaves_one_cpu() {
        let c = ServerConfig::default();
        assert_eq!(
            [1, 2, 4, 16].map(|n| c.effective_worker_threads(n)),
            [1, 1, 3, 15]
        );
        let c = ServerConfig {
            worker_threads: 2,
            ..c
        };
        assert_eq!(c.effective_worker_threads(2), 2);
    }
}
