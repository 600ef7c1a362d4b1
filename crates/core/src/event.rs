//! [`AuthEvent`]: one login attempt, as a log line or a live server reported it.
//!
//! Parsers produce these, the engine consumes them, and `portcullis parse` prints them as JSON
//! lines in the generic schema ([`EventRecord`], `portcullis.event/v1`), which portcullis also
//! reads back, so any application can feed it. An event never carries a password: at most a
//! short fingerprint of one ([`AuthEvent::password_fingerprint`]), enough to recognise "the same
//! wrong password again" and useless to recover the password.

use crate::account::{Account, NormalizeOptions};
use crate::addr::parse_ip;
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;

/// What became of the attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Success,
    BadPassword,
    UnknownAccount,
    Locked,
    Disabled,
    Expired,
    OtherFailure,
    /// Credentials were presented, and the record does not say what became of them: Windows
    /// 4648 ("a logon was attempted using explicit credentials"), which the client machine
    /// writes *before* its attempt ([`ExplicitCredentials`]). Neither a success nor a failure:
    /// nothing counts it as either (the attempt's outcome, where it is logged, is the target
    /// server's 4624/4625/4771/4776). It only feeds the outgoing-spray detector.
    Attempted,
}

impl Outcome {
    pub const ALL: [Outcome; 8] = [
        Outcome::Success,
        Outcome::BadPassword,
        Outcome::UnknownAccount,
        Outcome::Locked,
        Outcome::Disabled,
        Outcome::Expired,
        Outcome::OtherFailure,
        Outcome::Attempted,
    ];
    pub fn is_success(self) -> bool {
        self == Outcome::Success
    }
    /// Any refusal. [`Outcome::Attempted`] is not one (nor a success): its result is unknown.
    pub fn is_failure(self) -> bool {
        !matches!(self, Outcome::Success | Outcome::Attempted)
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::BadPassword => "bad_password",
            Outcome::UnknownAccount => "unknown_account",
            Outcome::Locked => "locked",
            Outcome::Disabled => "disabled",
            Outcome::Expired => "expired",
            Outcome::OtherFailure => "other_failure",
            Outcome::Attempted => "attempted",
        }
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The protocol or service the attempt was made over.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Protocol {
    Imap,
    Pop3,
    Submission,
    Smtp,
    Managesieve,
    Ssh,
    Windows,
    Kerberos,
    Ntlm,
    Entra,
    Http,
    Other,
}

impl Protocol {
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Imap => "imap",
            Protocol::Pop3 => "pop3",
            Protocol::Submission => "submission",
            Protocol::Smtp => "smtp",
            Protocol::Managesieve => "managesieve",
            Protocol::Ssh => "ssh",
            Protocol::Windows => "windows",
            Protocol::Kerberos => "kerberos",
            Protocol::Ntlm => "ntlm",
            Protocol::Entra => "entra",
            Protocol::Http => "http",
            Protocol::Other => "other",
        }
    }

    /// Maps a service name as servers log or send it (`imap-login`, `pop3`, `smtps`,
    /// `sieve`, `sshd`, …) to a protocol; unknown names are `Other`.
    pub fn from_service(name: &str) -> Protocol {
        let n = name.trim().to_ascii_lowercase();
        let n = n.strip_suffix("-login").unwrap_or(&n);
        match n {
            "imap" | "imaps" | "imap4" => Protocol::Imap,
            "pop3" | "pop3s" | "pop" => Protocol::Pop3,
            "submission" | "submissions" => Protocol::Submission,
            "smtp" | "smtps" | "smtpd" | "lmtp" | "esmtp" => Protocol::Smtp,
            "managesieve" | "sieve" => Protocol::Managesieve,
            "ssh" | "sshd" | "sshd-session" | "sftp" => Protocol::Ssh,
            "windows" => Protocol::Windows,
            "kerberos" => Protocol::Kerberos,
            "ntlm" => Protocol::Ntlm,
            "entra" | "azuread" | "aad" => Protocol::Entra,
            "http" | "https" | "web" | "webmail" => Protocol::Http,
            _ => Protocol::Other,
        }
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where an event was read: the file (shared between all events of that file) and the line.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Origin {
    pub file: Option<Arc<str>>,
    pub line: u64,
}

/// One login attempt.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuthEvent {
    /// When it happened (UTC, from the log or the request; never the reader's clock).
    pub ts: Timestamp,
    pub protocol: Protocol,
    pub account: Account,
    /// The client's address, when the log has one (normalised: IPv4-mapped folded to IPv4).
    pub source: Option<IpAddr>,
    pub outcome: Outcome,
    /// A short fingerprint of the password tried (e.g. Dovecot's truncated `pwhash`), never the
    /// password. Equal fingerprints for one account mean "probably the same password again".
    pub password_fingerprint: Option<u64>,
    /// True when the fingerprint depends on the password alone — the same password gives the
    /// same fingerprint on every account, as the `SHA1 of given password` Dovecot logs with
    /// `auth_verbose_passwords=sha1` (at least 6 hex digits, so that unrelated passwords
    /// rarely collide). False for per-account fingerprints such as auth_policy's `pwhash`
    /// (salted with the login) and when unknown. Only unsalted fingerprints can show one
    /// password being tried on many accounts.
    pub fingerprint_unsalted: bool,
    /// Client software / user agent / device id, when known.
    pub client: Option<String>,
    /// The server's session id, when known (joins lines of one connection).
    pub session: Option<String>,
    /// The host that logged or asked (syslog host, Dovecot instance).
    pub server: Option<String>,
    /// For an [`Outcome::Attempted`] use of another account's credentials (Windows 4648): who
    /// presented them, to which server, from which process. `None` for every other event.
    pub explicit: Option<Box<ExplicitCredentials>>,
    pub origin: Origin,
}

/// One process using another account's credentials, as the machine it runs on logs it
/// (Windows Security event 4648, "a logon was attempted using explicit credentials": `runas`,
/// a mapped drive or RDP connection with saved credentials, a scheduled task, a tool that
/// binds to LDAP or SMB with a list of accounts).
///
/// The event it belongs to names the *target* account (whose credentials were presented) as
/// its `account`, the machine the process runs on as its `client` (the workstation, which is
/// also the host that logged it: `server`), no `source` (4648's network address is the target
/// server's, not the client's) and [`Outcome::Attempted`]: the record is written before the
/// attempt and says nothing of its result, so it is never counted as a failure of the target
/// account's password, nor as a login. What it does show is the subject: one account on one
/// machine presenting the credentials of many accounts within minutes is an outgoing spray.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ExplicitCredentials {
    /// The account the process runs as (normalised like any account); `None` when it runs as
    /// the machine itself (SYSTEM, LOCAL or NETWORK SERVICE, the computer account).
    pub subject: Option<Account>,
    /// The server the credentials were presented to (`TargetServerName`; `localhost` for a
    /// logon on the machine itself).
    pub target_server: Option<String>,
    /// The process that presented them (`ProcessName`).
    pub process: Option<String>,
}

/// [`ExplicitCredentials`] in a [`EventRecord`]: `"explicit": {"subject": "CORP\\mallory",
/// "target_server": "dc01.corp.example", "process": "C:\\…\\powershell.exe"}`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExplicitRecord {
    /// The subject as logged (normalised on reading); absent for the machine itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_server: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub process: Option<String>,
}

impl AuthEvent {
    /// An event with the required fields; the optional ones empty.
    pub fn new(
        ts: Timestamp,
        protocol: Protocol,
        account: Account,
        source: Option<IpAddr>,
        outcome: Outcome,
    ) -> Self {
        AuthEvent {
            ts,
            protocol,
            account,
            source: source.map(crate::addr::normalize_ip),
            outcome,
            password_fingerprint: None,
            fingerprint_unsalted: false,
            client: None,
            session: None,
            server: None,
            explicit: None,
            origin: Origin::default(),
        }
    }
}

/// Turns a hex fingerprint as servers send it (Dovecot's `pwhash`, 3 hex digits by default,
/// up to 64) into the 64-bit form events carry. Longer strings are folded, not truncated, so
/// that every digit still counts. Non-hex input gives `None`.
pub fn fingerprint_from_hex(s: &str) -> Option<u64> {
    let s = s.trim();
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let mut acc: u64 = 0;
    for chunk in s.as_bytes().chunks(16) {
        let v = u64::from_str_radix(std::str::from_utf8(chunk).ok()?, 16).ok()?;
        acc = acc.rotate_left(17) ^ v;
    }
    Some(acc)
}

/// The generic JSON-lines schema, `portcullis.event/v1` (documented in docs/event-schema.md).
/// One object per line; only `ts`, `account` and `outcome` are required.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EventRecord {
    /// RFC 3339 time.
    pub ts: Timestamp,
    #[serde(default = "default_protocol")]
    pub protocol: Protocol,
    /// The account as logged; portcullis normalises it on reading.
    pub account: String,
    /// The normalised account (written by `portcullis parse`; ignored on reading).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_normalized: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    pub outcome: Outcome,
    /// Hex password fingerprint (never a password).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_fingerprint: Option<String>,
    /// The fingerprint is of the password alone, the same on every account
    /// ([`AuthEvent::fingerprint_unsalted`]).
    #[serde(default, skip_serializing_if = "is_false")]
    pub password_fingerprint_unsalted: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server: Option<String>,
    /// Who used another account's credentials ([`AuthEvent::explicit`]; Windows 4648).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub explicit: Option<ExplicitRecord>,
    /// `file:line` the event was read from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin: Option<String>,
}

fn is_false(b: &bool) -> bool {
    !*b
}

fn default_protocol() -> Protocol {
    Protocol::Other
}

/// Why an [`EventRecord`] could not become an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordError(pub &'static str);

impl fmt::Display for RecordError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}
impl std::error::Error for RecordError {}

impl EventRecord {
    /// The record for an event (what `portcullis parse` prints).
    pub fn from_event(ev: &AuthEvent) -> Self {
        EventRecord {
            ts: ev.ts,
            protocol: ev.protocol,
            account: ev.account.raw.clone(),
            account_normalized: (ev.account.name != ev.account.raw)
                .then(|| ev.account.name.clone()),
            source: ev.source.map(|s| s.to_string()),
            outcome: ev.outcome,
            password_fingerprint: ev.password_fingerprint.map(|f| format!("{f:x}")),
            password_fingerprint_unsalted: ev.fingerprint_unsalted
                && ev.password_fingerprint.is_some(),
            client: ev.client.clone(),
            session: ev.session.clone(),
            server: ev.server.clone(),
            explicit: ev.explicit.as_deref().map(|x| ExplicitRecord {
                subject: x.subject.as_ref().map(|a| a.raw.clone()),
                target_server: x.target_server.clone(),
                process: x.process.clone(),
            }),
            origin: ev
                .origin
                .file
                .as_ref()
                .map(|f| format!("{f}:{}", ev.origin.line)),
        }
    }

    /// The event for a record, normalising the account with `opts`.
    pub fn into_event(self, opts: &NormalizeOptions) -> Result<AuthEvent, RecordError> {
        let source = match self.source.as_deref() {
            None | Some("") | Some("-") => None,
            Some(s) => Some(parse_ip(s).ok_or(RecordError("source is not an IP address"))?),
        };
        let password_fingerprint = match self.password_fingerprint.as_deref() {
            None | Some("") => None,
            Some(h) => Some(
                fingerprint_from_hex(h).ok_or(RecordError("password_fingerprint is not hex"))?,
            ),
        };
        let mut ev = AuthEvent::new(
            self.ts,
            self.protocol,
            Account::new(&self.account, opts),
            source,
            self.outcome,
        );
        ev.fingerprint_unsalted =
            self.password_fingerprint_unsalted && password_fingerprint.is_some();
        ev.password_fingerprint = password_fingerprint;
        ev.client = self.client;
        ev.session = self.session;
        ev.server = self.server;
        ev.explicit = self.explicit.map(|x| {
            Box::new(ExplicitCredentials {
                subject: x
                    .subject
                    .filter(|s| !s.trim().is_empty())
                    .map(|s| Account::new(&s, opts)),
                target_server: x.target_server,
                process: x.process,
            })
        });
        Ok(ev)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_round_trip() {
        let mut ev = AuthEvent::new(
            Timestamp::parse_rfc3339("2017-06-23T01:02:03.5Z").unwrap(),
            Protocol::Imap,
            Account::from_raw("Alice@Example.org"),
            Some("::ffff:203.0.113.9".parse().unwrap()),
            Outcome::BadPassword,
        );
        ev.password_fingerprint = Some(0xa3f);
        let line = serde_json::to_string(&EventRecord::from_event(&ev)).unwrap();
        assert!(line.contains(r#""source":"203.0.113.9""#), "{line}");
        assert!(line.contains(r#""outcome":"bad_password""#), "{line}");
        let back: EventRecord = serde_json::from_str(&line).unwrap();
        let ev2 = back.into_event(&NormalizeOptions::default()).unwrap();
        assert_eq!(ev2, ev);
    }

    #[test]
    fn explicit_credentials_round_trip_and_count_as_neither_outcome() {
        let mut ev = AuthEvent::new(
            Timestamp::parse_rfc3339("2021-05-21T20:43:18Z").unwrap(),
            Protocol::Windows,
            Account::from_raw("OFFSEC\\Admmig"),
            None,
            Outcome::Attempted,
        );
        ev.client = Some("ws01".into());
        ev.explicit = Some(Box::new(ExplicitCredentials {
            subject: Some(Account::from_raw("OFFSEC\\Mallory")),
            target_server: Some("dc01.offsec.lan".into()),
            process: Some("C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe".into()),
        }));
        let line = serde_json::to_string(&EventRecord::from_event(&ev)).unwrap();
        assert!(line.contains(r#""outcome":"attempted""#), "{line}");
        assert!(line.contains(r#""subject":"OFFSEC\\Mallory""#), "{line}");
        let back: EventRecord = serde_json::from_str(&line).unwrap();
        let ev2 = back.into_event(&NormalizeOptions::default()).unwrap();
        assert_eq!(ev2, ev);
        assert_eq!(
            ev2.explicit.unwrap().subject.unwrap().name,
            "mallory",
            "the subject is normalised like any account"
        );
        assert!(!Outcome::Attempted.is_failure() && !Outcome::Attempted.is_success());
        // Records without it have none (and the field is not written).
        let plain = EventRecord::from_event(&AuthEvent::new(
            ev.ts,
            Protocol::Imap,
            Account::from_raw("bob"),
            None,
            Outcome::BadPassword,
        ));
        assert!(!serde_json::to_string(&plain).unwrap().contains("explicit"));
    }

    #[test]
    fn bad_records_are_rejected_with_a_reason() {
        let r: EventRecord = serde_json::from_str(
            r#"{"ts":"2017-06-23T01:02:03Z","account":"a","outcome":"success","source":"x"}"#,
        )
        .unwrap();
        assert_eq!(
            r.into_event(&NormalizeOptions::default()).unwrap_err().0,
            "source is not an IP address"
        );
        assert!(
            serde_json::from_str::<EventRecord>(
                r#"{"ts":"nope","account":"a","outcome":"success"}"#
            )
            .is_err()
        );
    }

    #[test]
    fn fingerprints() {
        assert_eq!(fingerprint_from_hex("a3f"), Some(0xa3f));
        assert_eq!(fingerprint_from_hex("zz"), None);
        let long = "0123456789abcdef0123456789abcdef";
        assert_ne!(
            fingerprint_from_hex(long),
            fingerprint_from_hex(&long[..16])
        );
    }

    #[test]
    fn services_map_to_protocols() {
        assert_eq!(Protocol::from_service("imap-login"), Protocol::Imap);
        assert_eq!(Protocol::from_service("POP3"), Protocol::Pop3);
        assert_eq!(
            Protocol::from_service("submission-login"),
            Protocol::Submission
        );
        assert_eq!(Protocol::from_service("sieve"), Protocol::Managesieve);
        assert_eq!(Protocol::from_service("gopher"), Protocol::Other);
    }
}
