//! Writing attempts as real log lines, in time order, streaming.
//!
//! Dovecot 2.3 through rsyslog with RFC 3339 high-precision timestamps, exactly the shapes of
//! real lines (see the format test, which compares with lines from
//! `crowdsec-hub-tests/dovecot-logs/dovecot-logs.log`); with `--dovecot 2.4`, the wording of
//! Dovecot 2.4 (`Logged in:`, `Login aborted: Connection closed (auth failed, …)
//! (auth_failed)`, `auth(user,ip,sasl:plain)<session>: passwd-file: …`, `secured`), as the real
//! 2.4.1 of `tests/e2e/dovecot24.sh` writes it, in the same syslog framing:
//!
//! ```text
//! 2017-06-23T01:02:03.123456+00:00 mail1 dovecot: imap-login: Login: user=<alice@example.org>, method=PLAIN, rip=203.0.113.9, lip=192.0.2.25, mpid=12345, TLS, session=<AbCdEfGhIjKlMnOp>
//! 2017-06-23T01:02:03.123456+00:00 mail1 dovecot: auth: passwd-file(bob@example.org,203.0.113.9,<AbCdEfGhIjKlMnOp>): Password mismatch (SHA1 of given password: 1a2b3c)
//! 2017-06-23T01:02:05.323456+00:00 mail1 dovecot: imap-login: Disconnected (auth failed, 1 attempts in 2 secs): user=<bob@example.org>, method=PLAIN, rip=203.0.113.9, lip=192.0.2.25, TLS, session=<AbCdEfGhIjKlMnOp>
//! ```
//!
//! OpenSSH (`--format openssh`, `auth.log`): `sshd[pid]: Accepted password for alice from
//! 203.0.113.9 port 51234 ssh2`, `Failed password for …`, and for unknown accounts
//! `Invalid user bob from … port …` followed by `Failed password for invalid user bob …`.
//!
//! A failure's `Disconnected` line comes a few seconds after its auth line (Dovecot's
//! `auth_failure_delay`), so lines pass through a small reorder queue that releases a line once
//! no earlier line can still come: memory is bounded by the lines of the last few seconds.

use crate::scenario::{AuthLines, DovecotVersion, Format};
use portcullis_core::event::EventRecord;
use portcullis_core::{Outcome, Protocol, Timestamp};
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::io::{self, Write};
use std::net::IpAddr;

/// One simulated login attempt, ready to be written.
#[derive(Clone, Debug)]
pub struct Written<'a> {
    /// Microseconds since the epoch.
    pub ts: i64,
    pub protocol: Protocol,
    pub account: &'a str,
    pub source: IpAddr,
    pub outcome: Outcome,
    /// 24-bit password fingerprint (first 6 hex digits of the SHA-1 of the password tried).
    pub fingerprint: u32,
    /// 16-character Dovecot session id.
    pub session: &'a str,
    pub mpid: u32,
    /// Seconds between the auth failure and the client's disconnect.
    pub fail_secs: u32,
}

/// The log writer.
pub struct LogWriter {
    out: Box<dyn Write>,
    format: Format,
    auth_lines: AuthLines,
    dovecot: DovecotVersion,
    host: std::rc::Rc<str>,
    lip: IpAddr,
    queue: BinaryHeap<Reverse<(i64, u64, String)>>,
    seq: u64,
    lines: u64,
    max_queue: usize,
    ts: TsCache,
    /// Windows NetBIOS domain name (`EXAMPLE` for example.org).
    netbios: String,
}

/// `2017-06-23T01:02:03.123456+00:00`, as rsyslog's `RSYSLOG_FileFormat` writes UTC.
pub fn rfc3339_micros(us: i64) -> String {
    Timestamp(us)
        .to_chrono()
        .format("%Y-%m-%dT%H:%M:%S%.6f+00:00")
        .to_string()
}

/// [`rfc3339_micros`] with the date and time of the last second remembered: lines come in
/// time order, so most share it.
#[derive(Default)]
struct TsCache {
    sec: Option<i64>,
    prefix: String,
}

impl TsCache {
    fn format(&mut self, us: i64) -> String {
        let sec = us.div_euclid(1_000_000);
        if self.sec != Some(sec) {
            self.sec = Some(sec);
            self.prefix = Timestamp::from_unix_secs(sec)
                .to_chrono()
                .format("%Y-%m-%dT%H:%M:%S")
                .to_string();
        }
        format!("{}.{:06}+00:00", self.prefix, us.rem_euclid(1_000_000))
    }
}

/// The client's source port, derived from the connection's process id (no extra randomness).
fn client_port(mpid: u32) -> u32 {
    1024 + (u64::from(mpid) * 2_654_435_761 % 64_000) as u32
}

fn service(p: Protocol) -> &'static str {
    match p {
        Protocol::Pop3 => "pop3",
        Protocol::Submission => "submission",
        Protocol::Managesieve => "managesieve",
        _ => "imap",
    }
}

impl LogWriter {
    pub fn new(
        out: Box<dyn Write>,
        format: Format,
        auth_lines: AuthLines,
        dovecot: DovecotVersion,
        host: &str,
        lip: IpAddr,
    ) -> Self {
        LogWriter {
            out,
            format,
            auth_lines,
            dovecot,
            host: std::rc::Rc::from(host),
            lip,
            queue: BinaryHeap::new(),
            seq: 0,
            lines: 0,
            max_queue: 0,
            ts: TsCache::default(),
            netbios: "CORP".into(),
        }
    }

    /// The mail domain, for Windows' `TargetDomainName` (its first label, upper case).
    pub fn set_domain(&mut self, domain: &str) {
        if let Some(first) = domain.split('.').next().filter(|s| !s.is_empty()) {
            self.netbios = first.to_ascii_uppercase();
        }
    }

    /// Lines written so far.
    pub fn lines(&self) -> u64 {
        self.lines
    }

    /// The most lines ever held back at once.
    pub fn max_queue(&self) -> usize {
        self.max_queue
    }

    fn push(&mut self, ts: i64, line: String) {
        self.seq += 1;
        self.queue.push(Reverse((ts, self.seq, line)));
        self.max_queue = self.max_queue.max(self.queue.len());
    }

    /// Writes every held line stamped at or before `now`.
    pub fn release_until(&mut self, now: i64) -> io::Result<()> {
        while let Some(Reverse((ts, _, _))) = self.queue.peek() {
            if *ts > now {
                break;
            }
            if let Some(Reverse((_, _, line))) = self.queue.pop() {
                self.out.write_all(line.as_bytes())?;
                self.out.write_all(b"\n")?;
                self.lines += 1;
            }
        }
        Ok(())
    }

    /// Queues the lines of one attempt (the caller releases in time order).
    pub fn write(&mut self, w: &Written<'_>) -> io::Result<()> {
        self.release_until(w.ts)?;
        match self.format {
            Format::Jsonl => {
                let rec = EventRecord {
                    ts: Timestamp(w.ts),
                    protocol: w.protocol,
                    account: w.account.to_string(),
                    account_normalized: None,
                    source: Some(w.source.to_string()),
                    outcome: w.outcome,
                    password_fingerprint: Some(format!("{:06x}", w.fingerprint)),
                    // The SHA-1 of the password alone, as Dovecot logs it.
                    password_fingerprint_unsalted: true,
                    client: None,
                    session: Some(w.session.to_string()),
                    server: Some(self.host.to_string()),
                    explicit: None,
                    origin: None,
                };
                let line = serde_json::to_string(&rec).map_err(io::Error::other)?;
                self.push(w.ts, line);
            }
            Format::Dovecot => self.dovecot(w),
            Format::OpenSsh => self.sshd(w),
            Format::Windows => {
                let line = self.windows(w)?;
                self.push(w.ts, line);
            }
        }
        Ok(())
    }

    fn dovecot(&mut self, w: &Written<'_>) {
        let svc = service(w.protocol);
        let (host, lip) = (std::rc::Rc::clone(&self.host), self.lip);
        let v24 = self.dovecot == DovecotVersion::V24;
        // 2.4 says `secured` where 2.3 says `TLS`.
        let secured = if v24 { "secured" } else { "TLS" };
        if w.outcome.is_success() {
            let line = format!(
                "{} {host} dovecot: {svc}-login: {}: user=<{}>, method=PLAIN, rip={}, lip={lip}, mpid={}, {secured}, session=<{}>",
                self.ts.format(w.ts),
                if v24 { "Logged in" } else { "Login" },
                w.account,
                w.source,
                w.mpid,
                w.session
            );
            self.push(w.ts, line);
            return;
        }
        if self.auth_lines != AuthLines::None {
            let what = if w.outcome == Outcome::UnknownAccount {
                "unknown user"
            } else {
                "Password mismatch"
            };
            let hash = if self.auth_lines == AuthLines::Sha1 {
                format!(" (SHA1 of given password: {:06x})", w.fingerprint)
            } else {
                String::new()
            };
            let line = if v24 {
                // 2.4 names the request in the tag: auth(user,ip,sasl:mech)<session>.
                format!(
                    "{} {host} dovecot: auth({},{},sasl:plain)<{}>: passwd-file: {what}{hash}",
                    self.ts.format(w.ts),
                    w.account,
                    w.source,
                    w.session
                )
            } else {
                format!(
                    "{} {host} dovecot: auth: passwd-file({},{},<{}>): {what}{hash}",
                    self.ts.format(w.ts),
                    w.account,
                    w.source,
                    w.session
                )
            };
            self.push(w.ts, line);
        }
        let later = w.ts + i64::from(w.fail_secs) * 1_000_000 + 137;
        let line = format!(
            "{} {host} dovecot: {svc}-login: {} (auth failed, 1 attempts in {} secs){}: user=<{}>, method=PLAIN, rip={}, lip={lip}, {secured}, session=<{}>",
            self.ts.format(later),
            if v24 {
                "Login aborted: Connection closed"
            } else {
                "Disconnected"
            },
            w.fail_secs,
            if v24 { " (auth_failed)" } else { "" },
            w.account,
            w.source,
            w.session
        );
        self.push(later, line);
    }

    /// A Windows Security logon event (4624 success, 4625 failure with NTSTATUS codes: bad
    /// password 0xC000006A, unknown user 0xC0000064, expired 0xC0000071) as NXLog writes it,
    /// with the fields a real NXLog record has (see the PurpleSharp test data), network logon
    /// (type 3, NTLM) from the client's address.
    fn windows(&mut self, w: &Written<'_>) -> io::Result<String> {
        let t = Timestamp(w.ts).to_chrono();
        let domain = self.netbios.clone();
        let ok = w.outcome.is_success();
        let mut o = serde_json::Map::new();
        let mut put = |k: &str, v: serde_json::Value| {
            o.insert(k.to_string(), v);
        };
        put(
            "@timestamp",
            t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string().into(),
        );
        put(
            "EventTime",
            t.format("%Y-%m-%d %H:%M:%S").to_string().into(),
        );
        put("Hostname", self.host.to_string().into());
        put("SourceName", "Microsoft-Windows-Security-Auditing".into());
        put("Channel", "Security".into());
        put("EventID", (if ok { 4624 } else { 4625 }).into());
        put("Category", "Logon".into());
        put(
            "EventType",
            (if ok { "AUDIT_SUCCESS" } else { "AUDIT_FAILURE" }).into(),
        );
        put("TargetUserName", w.account.into());
        put("TargetDomainName", domain.into());
        put("LogonType", "3".into());
        put("LogonProcessName", "NtLmSsp ".into());
        put("AuthenticationPackageName", "NTLM".into());
        put("WorkstationName", "-".into());
        put("IpAddress", w.source.to_string().into());
        put("IpPort", client_port(w.mpid).to_string().into());
        if !ok {
            let sub = match w.outcome {
                Outcome::UnknownAccount => "0xc0000064",
                Outcome::Expired => "0xc0000071",
                _ => "0xc000006a",
            };
            put("Status", "0xc000006d".into());
            put("SubStatus", sub.into());
            put("FailureReason", "%%2313".into());
        }
        serde_json::to_string(&o).map_err(io::Error::other)
    }

    fn sshd(&mut self, w: &Written<'_>) {
        let host = std::rc::Rc::clone(&self.host);
        let pid = w.mpid;
        let port = client_port(w.mpid);
        let (ts, user, ip) = (self.ts.format(w.ts), w.account, w.source);
        let line = match w.outcome {
            Outcome::Success => {
                format!(
                    "{ts} {host} sshd[{pid}]: Accepted password for {user} from {ip} port {port} ssh2"
                )
            }
            Outcome::UnknownAccount => {
                let first =
                    format!("{ts} {host} sshd[{pid}]: Invalid user {user} from {ip} port {port}");
                self.push(w.ts, first);
                let later = w.ts + i64::from(w.fail_secs) * 1_000_000 + 137;
                let line = format!(
                    "{} {host} sshd[{pid}]: Failed password for invalid user {user} from {ip} port {port} ssh2",
                    self.ts.format(later)
                );
                self.push(later, line);
                return;
            }
            _ => format!(
                "{ts} {host} sshd[{pid}]: Failed password for {user} from {ip} port {port} ssh2"
            ),
        };
        self.push(w.ts, line);
    }

    /// Writes everything still held and flushes.
    pub fn finish(&mut self) -> io::Result<()> {
        self.release_until(i64::MAX)?;
        self.out.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cached_timestamps_equal_formatted_ones() {
        let mut c = TsCache::default();
        for us in [
            1_498_179_723_123_456i64,
            1_498_179_723_999_999,
            1_498_179_724_000_000,
            1_498_179_724_000_001,
            1_498_179_723_000_007,
            0,
        ] {
            assert_eq!(c.format(us), rfc3339_micros(us));
        }
        assert_eq!(
            rfc3339_micros(1_498_179_723_123_456),
            "2017-06-23T01:02:03.123456+00:00"
        );
    }
}
