//! Windows event logs to [`AuthEvent`]s: Security logon / Kerberos / NTLM events, Windows
//! OpenSSH's Operational channel and SQL Server login failures.
//!
//! One interpreter ([`interpret`]) reads a [`WinEvent`] — event id, time, computer and the named
//! `EventData` fields — whatever form the event arrived in:
//! - `.evtx` files, read directly with the `evtx` crate ([`read_evtx`]);
//! - the evtx crate's JSON (`{"Event":{"System":{…},"EventData":{…}}}`, one per line);
//! - NXLog `im_msvistalog` flat JSON (`EventID`, `TargetUserName`, `@timestamp`/`EventTime`);
//! - Winlogbeat / Elastic Common Schema (`winlog.event_id`, `winlog.event_data.*`, `source.ip`);
//! - rendered event XML, one `<Event …>…</Event>` per line (Windows Event Forwarding dumps,
//!   CrowdSec's `wineventlog` test files, Event Viewer copies prefixed with `- `).
//!
//! Which events count, and how Status codes map to outcomes, is documented with the tables in
//! `docs/formats-structured.md`; the tables themselves are [`ntstatus_outcome`] and
//! [`kerberos_outcome`].

use crate::{LineResult, ParseCtx, Sink};
use portcullis_core::event::ExplicitCredentials;
use portcullis_core::{Account, AuthEvent, Outcome, Protocol, Timestamp};
use serde_json::{Map, Value};
use std::borrow::Cow;
use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;

#[path = "structured/common.rs"]
pub(crate) mod common;
#[path = "structured/winfast.rs"]
mod winfast;
#[path = "structured/winxml.rs"]
mod winxml;

pub use common::{Error, Stats};
use common::{get_ci, path, reason, scalar_str, text_field};

/// True when a first line looks like a Windows event in one of the forms [`parse_line`] reads.
/// Cheap: substring tests only, no parsing.
pub fn looks_like(first_line: &str) -> bool {
    let t = first_line.trim_start();
    let t = t.strip_prefix("- ").unwrap_or(t);
    if t.starts_with("<Event") {
        return t.contains("<EventID") || t.contains("<System");
    }
    if !t.starts_with('{') {
        return false;
    }
    (t.contains("\"Event\"") && t.contains("\"System\"") && t.contains("\"EventID\""))
        || (t.contains("\"winlog\"") && t.contains("\"event_id\""))
        || (t.contains("\"EventID\"")
            && (t.contains("\"SourceName\"")
                || t.contains("\"Channel\"")
                || t.contains("\"EventTime\"")
                || t.contains("\"TargetUserName\"")))
}

/// True when a file starts with the `.evtx` signature (`ElfFile\0`); read such files with
/// [`read_evtx`], not line by line.
pub fn is_evtx(head: &[u8]) -> bool {
    head.starts_with(b"ElfFile\0")
}

/// Parses one line: a JSON object in any of the layouts above, or one rendered `<Event>` XML.
pub fn parse_line(line: &str, ctx: &ParseCtx, out: Sink) -> LineResult {
    let t = match common::precheck(line) {
        Ok(t) => t,
        Err(r) => return LineResult::Skip(r),
    };
    if t.starts_with('<') || t.starts_with("- <") {
        return match winxml::parse(t) {
            Ok(ev) => interpret(&ev, ctx, out),
            Err(r) => LineResult::Skip(r),
        };
    }
    if let Some(r) = winfast::parse_line(t, ctx, out) {
        return r;
    }
    match common::parse_json(t) {
        Ok(v) => parse_value(&v, ctx, out),
        Err(r) => LineResult::Skip(r),
    }
}

/// The fast path alone: `None` when it leaves the line to the general path. For tests.
#[doc(hidden)]
pub fn parse_line_fast(line: &str, ctx: &ParseCtx, out: Sink) -> Option<LineResult> {
    let t = common::precheck(line).ok()?;
    winfast::parse_line(t, ctx, out)
}

/// [`parse_line`] without its fast path: every JSON line through a `serde_json::Value`.
/// For tests and benchmarks that check the two paths agree.
#[doc(hidden)]
pub fn parse_line_general(line: &str, ctx: &ParseCtx, out: Sink) -> LineResult {
    let t = match common::precheck(line) {
        Ok(t) => t,
        Err(r) => return LineResult::Skip(r),
    };
    if t.starts_with('<') || t.starts_with("- <") {
        return parse_line(t, ctx, out);
    }
    match common::parse_json(t) {
        Ok(v) => parse_value(&v, ctx, out),
        Err(r) => LineResult::Skip(r),
    }
}

/// Interprets an already-parsed JSON value (evtx JSON, NXLog or Winlogbeat layout).
pub fn parse_value(v: &Value, ctx: &ParseCtx, out: Sink) -> LineResult {
    match WinEvent::from_json(v) {
        Ok(ev) => interpret(&ev, ctx, out),
        Err(r) => LineResult::Skip(r),
    }
}

/// The named data of an event, as its form carries it.
#[derive(Debug)]
enum Data<'a> {
    None,
    /// A JSON object of name → value (evtx `EventData`, NXLog top level, `winlog.event_data`).
    Map(&'a Map<String, Value>),
    /// `<Data Name="…">…</Data>` pairs of rendered XML; unnamed `<Data>` have an empty name.
    Pairs(Vec<(String, String)>),
}

/// One Windows event, reduced to what the interpreter needs, borrowed from its parsed form.
#[derive(Debug)]
pub struct WinEvent<'a> {
    pub event_id: u32,
    /// `System/TimeCreated/@SystemTime`, `@timestamp` or NXLog's `EventTime`.
    pub ts: Option<Timestamp>,
    pub computer: Option<Cow<'a, str>>,
    /// Provider (source) name, e.g. `Microsoft-Windows-Security-Auditing`, `OpenSSH`, `MSSQL$X`.
    pub provider: Option<Cow<'a, str>>,
    pub channel: Option<Cow<'a, str>>,
    /// The rendered message, when the shipper sends one (NXLog `Message`, ECS `message`).
    pub message: Option<Cow<'a, str>>,
    /// ECS `source.ip`, used when the event data has no `IpAddress`.
    ecs_source: Option<Cow<'a, str>>,
    data: Data<'a>,
}

impl<'a> WinEvent<'a> {
    /// A named data field (trimmed; empty and `-` are `None`).
    pub fn get(&self, name: &str) -> Option<Cow<'_, str>> {
        match &self.data {
            Data::None => None,
            Data::Map(m) => text_field(m, name),
            Data::Pairs(p) => p
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.trim())
                .filter(|v| !v.is_empty() && *v != "-")
                .map(Cow::Borrowed),
        }
    }

    /// A named field exactly as logged (only trimmed), to tell `-` from absent.
    fn raw(&self, name: &str) -> Option<Cow<'_, str>> {
        match &self.data {
            Data::None => None,
            Data::Map(m) => get_ci(m, name).and_then(scalar_str),
            Data::Pairs(p) => p
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| Cow::Borrowed(v.as_str())),
        }
    }

    /// Unnamed data items (`<Data>x</Data>`, evtx JSON `"Data": {"#text": [...]}`) in order.
    fn unnamed(&self) -> Vec<Cow<'_, str>> {
        match &self.data {
            Data::None => Vec::new(),
            Data::Map(m) => match m.get("Data") {
                Some(Value::Object(o)) => match o.get("#text") {
                    Some(Value::Array(a)) => a.iter().filter_map(scalar_str).collect(),
                    Some(v) => scalar_str(v).into_iter().collect(),
                    None => Vec::new(),
                },
                Some(Value::Array(a)) => a.iter().filter_map(scalar_str).collect(),
                Some(v) => scalar_str(v).into_iter().collect(),
                None => Vec::new(),
            },
            Data::Pairs(p) => p
                .iter()
                .filter(|(k, _)| k.is_empty())
                .map(|(_, v)| Cow::Borrowed(v.as_str()))
                .collect(),
        }
    }

    /// Reads any of the JSON layouts.
    pub fn from_json(v: &'a Value) -> Result<Self, &'static str> {
        let o = v.as_object().ok_or(reason::UNRECOGNISED)?;
        if let Some(Value::Object(e)) = o.get("Event") {
            return Self::from_evtx_json(e);
        }
        if let Some(Value::Object(w)) = get_ci(o, "winlog") {
            return Self::from_winlogbeat(o, w);
        }
        if get_ci(o, "EventID").is_some() {
            return Self::from_nxlog(o);
        }
        Err(reason::UNRECOGNISED)
    }

    /// The evtx crate's JSON (`Event.System`, `Event.EventData`), also with
    /// `separate_json_attributes` (`TimeCreated_attributes`).
    fn from_evtx_json(e: &'a Map<String, Value>) -> Result<Self, &'static str> {
        let sys = e
            .get("System")
            .and_then(Value::as_object)
            .ok_or(reason::UNRECOGNISED)?;
        let event_id = sys
            .get("EventID")
            .and_then(event_id_of)
            .ok_or(reason::MISSING_FIELD)?;
        let ts_str = path(sys, "TimeCreated.#attributes.SystemTime")
            .or_else(|| path(sys, "TimeCreated_attributes.SystemTime"))
            .or_else(|| path(sys, "TimeCreated.@SystemTime"))
            .and_then(scalar_str);
        let ts = match ts_str {
            Some(s) => Some(Timestamp::parse_rfc3339(&s).ok_or(reason::BAD_TIMESTAMP)?),
            None => None,
        };
        let provider = path(sys, "Provider.#attributes.Name")
            .or_else(|| path(sys, "Provider_attributes.Name"))
            .or_else(|| path(sys, "Provider.@Name"))
            .and_then(scalar_str);
        let data = match e.get("EventData") {
            Some(Value::Object(d)) => match named_data_list(d) {
                Some(pairs) => Data::Pairs(pairs),
                None => Data::Map(d),
            },
            _ => match e.get("UserData") {
                // UserData wraps its fields in one element named after the event template.
                Some(Value::Object(u)) => match u.values().find_map(Value::as_object) {
                    Some(inner) => Data::Map(inner),
                    None => Data::None,
                },
                _ => Data::None,
            },
        };
        Ok(WinEvent {
            event_id,
            ts,
            computer: sys.get("Computer").and_then(scalar_str),
            provider,
            channel: sys.get("Channel").and_then(scalar_str),
            message: None,
            ecs_source: None,
            data,
        })
    }

    /// Winlogbeat / Elastic Agent (ECS): `winlog.*`, `@timestamp`, `source.ip`.
    fn from_winlogbeat(
        o: &'a Map<String, Value>,
        w: &'a Map<String, Value>,
    ) -> Result<Self, &'static str> {
        let event_id = get_ci(w, "event_id")
            .and_then(event_id_of)
            .or_else(|| path(o, "event.code").and_then(event_id_of))
            .ok_or(reason::MISSING_FIELD)?;
        let ts = match get_ci(o, "@timestamp").and_then(scalar_str) {
            Some(s) => Some(Timestamp::parse_rfc3339(&s).ok_or(reason::BAD_TIMESTAMP)?),
            None => None,
        };
        let data = match get_ci(w, "event_data") {
            Some(Value::Object(d)) => Data::Map(d),
            _ => match get_ci(w, "user_data") {
                Some(Value::Object(d)) => Data::Map(d),
                _ => Data::None,
            },
        };
        Ok(WinEvent {
            event_id,
            ts,
            computer: get_ci(w, "computer_name")
                .and_then(scalar_str)
                .or_else(|| path(o, "host.name").and_then(scalar_str)),
            provider: get_ci(w, "provider_name").and_then(scalar_str),
            channel: get_ci(w, "channel").and_then(scalar_str),
            message: get_ci(o, "message").and_then(scalar_str),
            ecs_source: path(o, "source.ip").and_then(scalar_str),
            data,
        })
    }

    /// NXLog `im_msvistalog` with `to_json()`: every field at the top level. `@timestamp`
    /// (added by Logstash, UTC) is preferred; NXLog's own `EventTime` is the collector's local
    /// time without an offset unless configured otherwise, and is then taken as UTC.
    fn from_nxlog(o: &'a Map<String, Value>) -> Result<Self, &'static str> {
        let event_id = get_ci(o, "EventID")
            .and_then(event_id_of)
            .ok_or(reason::MISSING_FIELD)?;
        let ts_str = [
            "@timestamp",
            "EventTime",
            "TimeCreated",
            "EventReceivedTime",
        ]
        .iter()
        .find_map(|k| text_field(o, k));
        let ts = match ts_str {
            Some(s) => Some(Timestamp::parse_rfc3339(&s).ok_or(reason::BAD_TIMESTAMP)?),
            None => None,
        };
        Ok(WinEvent {
            event_id,
            ts,
            computer: text_field(o, "Hostname").or_else(|| text_field(o, "Computer")),
            provider: text_field(o, "SourceName").or_else(|| text_field(o, "ProviderName")),
            channel: text_field(o, "Channel"),
            message: text_field(o, "Message"),
            ecs_source: None,
            data: Data::Map(o),
        })
    }
}

/// `EventData` as XML-to-JSON converters (xmltodict, python-evtx) write it:
/// `{"Data": [{"@Name": "TargetUserName", "#text": "bob"}, …]}` (also `Name` or
/// `#attributes.Name`). `None` when the data is a plain name → value object.
fn named_data_list(d: &Map<String, Value>) -> Option<Vec<(String, String)>> {
    let Some(Value::Array(items)) = d.get("Data") else {
        return None;
    };
    let mut pairs = Vec::with_capacity(items.len());
    let mut named = false;
    for it in items {
        let (name, text) = match it {
            Value::Object(o) => {
                let name = o
                    .get("@Name")
                    .or_else(|| o.get("Name"))
                    .or_else(|| path(o, "#attributes.Name"))
                    .and_then(scalar_str);
                named |= name.is_some();
                (name, o.get("#text").and_then(scalar_str))
            }
            v => (None, scalar_str(v)),
        };
        pairs.push((
            name.map(Cow::into_owned).unwrap_or_default(),
            text.map(Cow::into_owned).unwrap_or_default(),
        ));
    }
    named.then_some(pairs)
}

/// An event id as JSON carries it: a number, a numeric string, or `{"#text": n}`.
fn event_id_of(v: &Value) -> Option<u32> {
    match v {
        Value::Number(n) => n.as_u64().and_then(|n| u32::try_from(n).ok()),
        Value::String(s) => s.trim().parse().ok(),
        Value::Object(o) => o.get("#text").and_then(event_id_of),
        _ => None,
    }
}

/// Parses a status code as Windows logs write it: `0xC000006A` (any case) or decimal.
pub fn parse_status(s: &str) -> Option<u32> {
    let s = s.trim();
    match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(h) => u32::from_str_radix(h, 16).ok(),
        None => s
            .parse::<u32>()
            .ok()
            .or_else(|| s.parse::<i64>().ok().map(|n| n as u32)),
    }
}

/// The outcome of an NTSTATUS code (4625 Status/SubStatus, 4776 Status).
pub fn ntstatus_outcome(code: u32) -> Outcome {
    match code {
        0x0000_0000 => Outcome::Success,
        // Bad password; 0xC000006D (STATUS_LOGON_FAILURE) is "unknown user name or bad
        // password" and only reaches here when no more precise SubStatus was logged.
        0xC000_006A | 0xC000_006D => Outcome::BadPassword,
        0xC000_0064 => Outcome::UnknownAccount,
        0xC000_0234 => Outcome::Locked,
        0xC000_0072 => Outcome::Disabled,
        // Password expired, account expired, password must change at next logon.
        0xC000_0071 | 0xC000_0193 | 0xC000_0224 => Outcome::Expired,
        // 0xC000006E account restriction, 0xC000006F logon hours, 0xC0000070 workstation,
        // 0xC000015B logon type not granted, 0xC0000133 clock skew, 0xC0000413 auth
        // firewall, 0xC000005E no logon servers, and everything else.
        _ => Outcome::OtherFailure,
    }
}

/// The outcome of a Kerberos result code (4768 Status, 4771 Status / Failure Code).
/// `None` for 0x19 (pre-authentication required): the client retries with pre-auth, so it
/// is not an attempt of its own.
pub fn kerberos_outcome(code: u32) -> Option<Outcome> {
    Some(match code {
        0x0 => Outcome::Success,
        // KDC_ERR_C_PRINCIPAL_UNKNOWN
        0x6 => Outcome::UnknownAccount,
        // KDC_ERR_CLIENT_REVOKED: disabled, expired or locked out. In practice (and in the
        // test data: Guest, krbtgt, DefaultAccount, Exchange SM_ mailboxes) mostly disabled.
        0x12 => Outcome::Disabled,
        // KDC_ERR_KEY_EXPIRED: password expired.
        0x17 => Outcome::Expired,
        // KDC_ERR_PREAUTH_FAILED: wrong password.
        0x18 => Outcome::BadPassword,
        0x19 => return None,
        // 0xC policy, 0xE etype, 0x25 clock skew, 0x1F integrity, …
        _ => Outcome::OtherFailure,
    })
}

/// Built-in principals that are never a person typing a password.
fn is_system_principal(ev: &WinEvent<'_>, user: &str) -> bool {
    if let Some(sid) = ev.get("TargetUserSid") {
        let sid = sid.to_ascii_uppercase();
        if matches!(
            sid.as_str(),
            "S-1-5-18" | "S-1-5-19" | "S-1-5-20" | "S-1-5-7"
        ) || sid.starts_with("S-1-5-90-")
            || sid.starts_with("S-1-5-96-")
            || sid.starts_with("S-1-5-111-")
        {
            return true;
        }
    }
    if user.eq_ignore_ascii_case("ANONYMOUS LOGON") {
        return true;
    }
    matches!(
        ev.get("TargetDomainName")
            .map(|d| d.to_ascii_uppercase())
            .as_deref(),
        Some("NT AUTHORITY" | "WINDOW MANAGER" | "FONT DRIVER HOST" | "VIRTUAL USERS")
    )
}

/// `DOMAIN\user` when a separate domain field is given and the name carries none; else the name.
fn account_name(user: &str, domain: Option<&str>) -> String {
    match domain {
        Some(d) if !user.contains('\\') && !user.contains('@') => format!("{d}\\{user}"),
        _ => user.to_string(),
    }
}

/// Windows writes `-` as the address of logons that did not come over the network.
/// For local logon types (interactive 2, unlock 7, cached interactive 11, cached unlock 13) and
/// events without a logon type that is loopback; for network logon types (3, 8, 10) the
/// address is simply unknown. Absent field → `None`.
fn windows_source(ev: &WinEvent<'_>, logon_type: Option<u32>) -> Result<Option<IpAddr>, ()> {
    match ev.raw("IpAddress").as_deref().map(str::trim) {
        None | Some("") => match ev.ecs_source.as_deref() {
            Some(s) => Ok(common::parse_addr(s)),
            None => Ok(None),
        },
        Some("-") => match logon_type {
            Some(3 | 8 | 10) => Ok(None),
            _ => Ok(Some(IpAddr::V4(Ipv4Addr::LOCALHOST))),
        },
        Some(s) => common::parse_addr(s).map(Some).ok_or(()),
    }
}

fn base_event(
    ev: &WinEvent<'_>,
    ctx: &ParseCtx,
    protocol: Protocol,
    account: &str,
    source: Option<IpAddr>,
    outcome: Outcome,
) -> Result<AuthEvent, &'static str> {
    let ts = ev.ts.ok_or(reason::MISSING_FIELD)?;
    let mut a = AuthEvent::new(
        ts,
        protocol,
        Account::new(account, &ctx.normalize),
        source,
        outcome,
    );
    a.server = common::owned(ev.computer.clone());
    Ok(a)
}

/// Turns one Windows event into zero or one [`AuthEvent`].
pub fn interpret(ev: &WinEvent<'_>, ctx: &ParseCtx, out: Sink) -> LineResult {
    let r = match ev.event_id {
        4624 | 4625 => logon(ev, ctx),
        4648 => explicit(ev, ctx),
        4768 | 4771 => kerberos(ev, ctx),
        4776 => ntlm(ev, ctx),
        4 if is_openssh(ev) => openssh(ev, ctx),
        18456 if is_mssql(ev) => mssql_18456(ev, ctx),
        33205 if is_mssql(ev) => mssql_33205(ev, ctx),
        _ => Err(reason::NOT_AUTH),
    };
    match r {
        Ok(Some(a)) => {
            common::push(a, ctx, out);
            LineResult::Events(1)
        }
        Ok(None) => LineResult::Events(0),
        Err(r) => LineResult::Skip(r),
    }
}

type Interp = Result<Option<AuthEvent>, &'static str>;

/// Common checks on the target account of Security events.
fn target_user<'e>(ev: &'e WinEvent<'_>) -> Result<Cow<'e, str>, &'static str> {
    let user = ev.get("TargetUserName").ok_or(reason::MISSING_FIELD)?;
    check_user(ev, &user)?;
    Ok(user)
}

fn check_user(ev: &WinEvent<'_>, user: &str) -> Result<(), &'static str> {
    if user.ends_with('$') {
        return Err(reason::MACHINE_ACCOUNT);
    }
    if is_system_principal(ev, user) {
        return Err(reason::SYSTEM_ACCOUNT);
    }
    Ok(())
}

/// 4624 (success) / 4625 (failure).
fn logon(ev: &WinEvent<'_>, ctx: &ParseCtx) -> Interp {
    // A 4625 may name no account (`-`): e.g. an RDP logon refused before the user was known
    // (0xC000006E with logon type 10). It is still a failed attempt from its address, so it
    // becomes an event with an empty account; a 4624 always names one.
    let user = match ev.get("TargetUserName") {
        Some(u) => u,
        None if ev.event_id == 4625 => Cow::Borrowed(""),
        None => return Err(reason::MISSING_FIELD),
    };
    check_user(ev, &user)?;
    let logon_type = ev.get("LogonType").and_then(|t| t.parse::<u32>().ok());
    if matches!(logon_type, Some(0 | 4 | 5)) {
        return Err(reason::SERVICE_LOGON);
    }
    let outcome = if ev.event_id == 4624 {
        Outcome::Success
    } else {
        let status = ev.get("Status").and_then(|s| parse_status(&s));
        let sub = ev
            .get("SubStatus")
            .and_then(|s| parse_status(&s))
            .filter(|&c| c != 0);
        match sub.or(status) {
            // A 4625 always is a failure, even with an unreadable or zero status.
            Some(0) | None => Outcome::OtherFailure,
            Some(c) => ntstatus_outcome(c),
        }
    };
    let source = windows_source(ev, logon_type).map_err(|_| reason::BAD_FIELD)?;
    let domain = ev.get("TargetDomainName").filter(|_| !user.is_empty());
    let mut a = base_event(
        ev,
        ctx,
        Protocol::Windows,
        &account_name(&user, domain.as_deref()),
        source,
        outcome,
    )?;
    a.client = common::owned(ev.get("WorkstationName"));
    Ok(Some(a))
}

/// 4648, "a logon was attempted using explicit credentials": a process on this machine
/// (the event's `Computer`) presented another account's credentials. Written *before* the
/// attempt, it says nothing of the result (that is the target server's 4624/4625, or the DC's
/// 4768/4771/4776), so it becomes an [`Outcome::Attempted`] event, never a failure or a
/// success: the target account as its account, the machine as its workstation (`client`, the
/// first label of `Computer`, as 4625/4776 name workstations) and `server`, no source — its
/// `IpAddress` is the *target server's* address — and the subject, target server and process
/// as its [`ExplicitCredentials`]. A subject that is the machine itself (SYSTEM, LOCAL or
/// NETWORK SERVICE, the computer account) is recorded as none. Targets that are machine
/// accounts or built-in principals are skipped, as in 4624/4625.
fn explicit(ev: &WinEvent<'_>, ctx: &ParseCtx) -> Interp {
    let user = target_user(ev)?;
    let domain = ev.get("TargetDomainName");
    let subject = ev.get("SubjectUserName").filter(|name| {
        let sid = ev.get("SubjectUserSid").map(|s| s.to_ascii_uppercase());
        let machine = matches!(sid.as_deref(), Some("S-1-5-18" | "S-1-5-19" | "S-1-5-20"))
            || name.ends_with('$')
            || ev
                .get("SubjectDomainName")
                .is_some_and(|d| d.eq_ignore_ascii_case("NT AUTHORITY"));
        !machine
    });
    let subject = subject.map(|name| {
        let d = ev.get("SubjectDomainName");
        Account::new(&account_name(&name, d.as_deref()), &ctx.normalize)
    });
    let mut a = base_event(
        ev,
        ctx,
        Protocol::Windows,
        &account_name(&user, domain.as_deref()),
        None,
        Outcome::Attempted,
    )?;
    a.client = ev.computer.as_deref().and_then(host_label);
    a.explicit = Some(Box::new(ExplicitCredentials {
        subject,
        target_server: common::owned(ev.get("TargetServerName")),
        process: common::owned(ev.get("ProcessName")),
    }));
    Ok(Some(a))
}

/// A machine's name as workstations are named in logon events: the first label of its DNS
/// name (`WS01` for `ws01.corp.example`; NetBIOS names are at most 15 characters, usually
/// that label). An address is kept whole.
fn host_label(computer: &str) -> Option<String> {
    let c = computer.trim();
    if c.is_empty() || c == "-" {
        return None;
    }
    if c.parse::<IpAddr>().is_ok() {
        return Some(c.to_string());
    }
    c.split('.')
        .next()
        .filter(|l| !l.is_empty())
        .map(str::to_string)
}

/// 4768 (TGT request) / 4771 (pre-authentication failed) on a domain controller.
fn kerberos(ev: &WinEvent<'_>, ctx: &ParseCtx) -> Interp {
    let user = target_user(ev)?;
    let code = ev
        .get("Status")
        .or_else(|| ev.get("FailureCode"))
        .and_then(|s| parse_status(&s))
        .ok_or(reason::MISSING_FIELD)?;
    let Some(outcome) = kerberos_outcome(code) else {
        return Ok(None);
    };
    // A 4771 is a failure by definition; a (never seen) 0x0 in one is not a success.
    let outcome = if ev.event_id == 4771 && outcome == Outcome::Success {
        Outcome::OtherFailure
    } else {
        outcome
    };
    let source = windows_source(ev, None).map_err(|_| reason::BAD_FIELD)?;
    let domain = ev.get("TargetDomainName");
    let a = base_event(
        ev,
        ctx,
        Protocol::Kerberos,
        &account_name(&user, domain.as_deref()),
        source,
        outcome,
    )?;
    Ok(Some(a))
}

/// 4776: NTLM credential validation (on the DC for domain accounts, locally for local ones).
/// It has no address; the client is the `Workstation` field.
fn ntlm(ev: &WinEvent<'_>, ctx: &ParseCtx) -> Interp {
    let user = target_user(ev)?;
    let code = ev
        .get("Status")
        .and_then(|s| parse_status(&s))
        .ok_or(reason::MISSING_FIELD)?;
    let mut a = base_event(ev, ctx, Protocol::Ntlm, &user, None, ntstatus_outcome(code))?;
    a.client = common::owned(ev.get("Workstation"));
    Ok(Some(a))
}

fn provider_or_channel_starts(ev: &WinEvent<'_>, prefix: &str) -> Option<bool> {
    let p = ev.provider.as_deref().or(ev.channel.as_deref())?;
    Some(
        p.as_bytes()
            .get(..prefix.len())
            .is_some_and(|b| b.eq_ignore_ascii_case(prefix.as_bytes())),
    )
}

fn is_openssh(ev: &WinEvent<'_>) -> bool {
    provider_or_channel_starts(ev, "OpenSSH").unwrap_or_else(|| ev.get("payload").is_some())
}

fn is_mssql(ev: &WinEvent<'_>) -> bool {
    provider_or_channel_starts(ev, "MSSQL").unwrap_or(true)
}

/// Windows OpenSSH, `OpenSSH/Operational` event 4: the sshd log line in `payload`.
/// Reads `Failed password for [invalid user] U from A port P ssh2` and
/// `Accepted <method> for U from A port P ssh2`; other sshd lines are not attempts.
fn openssh(ev: &WinEvent<'_>, ctx: &ParseCtx) -> Interp {
    let payload = ev
        .get("payload")
        .or_else(|| ev.message.clone())
        .ok_or(reason::MISSING_FIELD)?;
    // The rendered message (NXLog `Message`) is "sshd: <payload>".
    let attempt = sshd_attempt(&payload).or_else(|| {
        payload
            .split_once(": ")
            .and_then(|(_, rest)| sshd_attempt(rest))
    });
    let Some((outcome, user, addr)) = attempt else {
        return Err(reason::NOT_AUTH);
    };
    let source = common::parse_addr(addr).ok_or(reason::BAD_FIELD)?;
    let a = base_event(ev, ctx, Protocol::Ssh, user, Some(source), outcome)?;
    Ok(Some(a))
}

/// `(outcome, user, address)` of an sshd attempt line.
fn sshd_attempt(line: &str) -> Option<(Outcome, &str, &str)> {
    let (rest, success) = if let Some(r) = line.strip_prefix("Failed password for ") {
        (r, false)
    } else if let Some(r) = line.strip_prefix("Accepted ") {
        (r.split_once(" for ")?.1, true)
    } else {
        return None;
    };
    let (rest, invalid) = match rest.strip_prefix("invalid user ") {
        Some(r) => (r, true),
        None => (rest, false),
    };
    let i = rest.rfind(" from ")?;
    let user = &rest[..i];
    let addr = rest[i + 6..].split(' ').next()?;
    let outcome = match (success, invalid) {
        (true, _) => Outcome::Success,
        (false, true) => Outcome::UnknownAccount,
        (false, false) => Outcome::BadPassword,
    };
    Some((outcome, user, addr))
}

/// SQL Server's reason text to an outcome (18456 message / 33205 statement).
fn mssql_reason_outcome(text: &str) -> Outcome {
    let t = text.to_ascii_lowercase();
    if t.contains("password did not match") {
        Outcome::BadPassword
    } else if t.contains("could not find a login") {
        Outcome::UnknownAccount
    } else if t.contains("login is disabled")
        || t.contains("account is disabled")
        // State 7: "an error occurred while evaluating the password" is logged for a
        // disabled login tried with a wrong password.
        || t.contains("error occurred while evaluating the password")
    {
        Outcome::Disabled
    } else if t.contains("locked out") {
        Outcome::Locked
    } else if t.contains("expired") || t.contains("must be changed") {
        Outcome::Expired
    } else {
        Outcome::OtherFailure
    }
}

/// The address in SQL Server's `[CLIENT: a.b.c.d]`; `<local machine>` is loopback.
fn mssql_client(text: &str) -> Option<IpAddr> {
    let i = text.find("[CLIENT: ")?;
    let rest = &text[i + 9..];
    let addr = &rest[..rest.find(']')?];
    if addr.trim() == "<local machine>" {
        return Some(IpAddr::V4(Ipv4Addr::LOCALHOST));
    }
    common::parse_addr(addr)
}

/// SQL Server 18456 "Login failed for user 'U'. Reason: … [CLIENT: A]". The evtx form has
/// the user, reason and client as three unnamed data items; shippers also send the message.
fn mssql_18456(ev: &WinEvent<'_>, ctx: &ParseCtx) -> Interp {
    let items = ev.unnamed();
    let (user, text): (String, String) = if items.len() >= 2 {
        (items[0].trim().to_string(), items[1..].join(" "))
    } else {
        let msg = ev.message.as_deref().ok_or(reason::MISSING_FIELD)?;
        let u = msg
            .split_once("Login failed for user '")
            .and_then(|(_, r)| r.rsplit_once("'."))
            .map(|(u, _)| u.to_string())
            .ok_or(reason::MISSING_FIELD)?;
        (u, msg.to_string())
    };
    if user.is_empty() {
        return Err(reason::MISSING_FIELD);
    }
    let a = base_event(
        ev,
        ctx,
        Protocol::Other,
        &user,
        mssql_client(&text),
        mssql_reason_outcome(&text),
    )?;
    Ok(Some(a))
}

/// SQL Server audit 33205 with `action_id:LGIF` (login failed) or `LGIS` (login succeeded);
/// other audit actions are not logins.
fn mssql_33205(ev: &WinEvent<'_>, ctx: &ParseCtx) -> Interp {
    let items = ev.unnamed();
    let text = match items.first() {
        Some(t) => t.clone(),
        None => ev.message.clone().ok_or(reason::MISSING_FIELD)?,
    };
    let mut action = None;
    let mut user = None;
    let mut statement = "";
    let mut address = None;
    for l in text.lines() {
        if let Some((k, v)) = l.split_once(':') {
            match k {
                "action_id" => action = Some(v.trim()),
                "server_principal_name" => user = Some(v.trim()),
                "statement" => statement = v,
                "additional_information" => {
                    address = v
                        .split_once("<address>")
                        .and_then(|(_, r)| r.split_once("</address>"))
                        .and_then(|(a, _)| common::parse_addr(a));
                }
                _ => {}
            }
        }
    }
    let outcome = match action {
        Some("LGIF") => mssql_reason_outcome(statement),
        Some("LGIS") => Outcome::Success,
        _ => return Err(reason::NOT_AUTH),
    };
    let user = user
        .filter(|u| !u.is_empty())
        .ok_or(reason::MISSING_FIELD)?;
    let source = mssql_client(statement).or(address);
    let a = base_event(ev, ctx, Protocol::Other, user, source, outcome)?;
    Ok(Some(a))
}

/// Skip key for an evtx record the `evtx` crate could not decode (a damaged chunk).
pub const BAD_RECORD: &str = "bad_record";

/// Skip key for an evtx chunk that could not be read or decoded (its records are lost).
pub const BAD_CHUNK: &str = "bad_chunk";

/// The login events of an `.evtx` file, pulled one by one (for merging several inputs in time
/// order). Decodes one 64 KiB chunk at a time, so memory is bounded by one chunk's events
/// whatever the file size. Records come in record order, oldest chunk first (as Windows reads
/// a log that has wrapped). `ctx.line` of each event is its record id.
pub struct EvtxEvents {
    chunks: evtx::IntoIterChunks<std::fs::File>,
    settings: std::sync::Arc<evtx::ParserSettings>,
    ctx: ParseCtx,
    pending: std::collections::VecDeque<AuthEvent>,
    stats: Stats,
    failure: Option<String>,
}

impl EvtxEvents {
    /// Opens a file; fails only when it is not an evtx file at all.
    pub fn open(path: &Path, ctx: &ParseCtx) -> Result<Self, Error> {
        let parser = evtx::EvtxParser::from_path(path).map_err(|e| Error::new("evtx", e))?;
        let mut ctx = ctx.clone();
        if ctx.file.is_none() {
            ctx.file = Some(path.to_string_lossy().as_ref().into());
        }
        Ok(EvtxEvents {
            chunks: parser.into_chunks(),
            settings: std::sync::Arc::new(evtx::ParserSettings::default()),
            ctx,
            pending: std::collections::VecDeque::new(),
            stats: Stats::default(),
            failure: None,
        })
    }

    /// What has been read so far (complete once the iterator is exhausted).
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// Set when the evtx decoder failed (panicked) on a damaged chunk; reading stopped there.
    pub fn failure(&self) -> Option<&str> {
        self.failure.as_deref()
    }

    /// Decodes the next chunk into `pending`; false at the end of the file.
    fn fill(&mut self) -> bool {
        let Some(chunk) = self.chunks.next() else {
            return false;
        };
        let mut chunk = match chunk {
            Ok(c) => c,
            Err(_) => {
                self.stats.skip(BAD_CHUNK);
                return true;
            }
        };
        let settings = self.settings.clone();
        let ctx = &mut self.ctx;
        let stats = &mut self.stats;
        let pending = &mut self.pending;
        // The evtx decoder is third-party code fed hostile bytes: a panic inside it ends this
        // file (see `failure`) instead of taking the process down.
        let decoded = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let mut parsed = match chunk.parse(settings) {
                Ok(p) => p,
                Err(_) => {
                    stats.skip(BAD_CHUNK);
                    return;
                }
            };
            let mut buf = Vec::new();
            for rec in parsed.iter() {
                stats.records += 1;
                let rec = match rec.and_then(|r| r.into_json_value()) {
                    Ok(r) => r,
                    Err(_) => {
                        stats.skip(BAD_RECORD);
                        continue;
                    }
                };
                ctx.line = rec.event_record_id;
                if let LineResult::Skip(r) = parse_value(&rec.data, ctx, &mut buf) {
                    stats.skip(r);
                }
                stats.events += buf.len() as u64;
                pending.extend(buf.drain(..));
            }
        }));
        if decoded.is_err() {
            self.failure = Some(format!(
                "decoder failed on a damaged chunk after {} records",
                self.stats.records
            ));
            return false;
        }
        true
    }
}

impl Iterator for EvtxEvents {
    type Item = AuthEvent;
    fn next(&mut self) -> Option<AuthEvent> {
        loop {
            if let Some(ev) = self.pending.pop_front() {
                return Some(ev);
            }
            if self.failure.is_some() || !self.fill() {
                return None;
            }
        }
    }
}

/// Reads an `.evtx` file with the `evtx` crate and delivers its login events in record order
/// (see [`EvtxEvents`] for a pull-based reader). A damaged record or chunk is counted under
/// [`BAD_RECORD`] / [`BAD_CHUNK`] and reading goes on; a file that is not an evtx file, or on
/// which the decoder fails outright, is an error (events already delivered stay delivered).
pub fn read_evtx(
    path: &Path,
    ctx: &ParseCtx,
    out: &mut dyn FnMut(AuthEvent),
) -> Result<Stats, Error> {
    let mut events = EvtxEvents::open(path, ctx)?;
    for ev in events.by_ref() {
        out(ev);
    }
    match events.failure() {
        Some(f) => Err(Error::new("evtx", f)),
        None => Ok(events.stats().clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(line: &str) -> Result<AuthEvent, &'static str> {
        let mut out = Vec::new();
        match parse_line(line, &ParseCtx::default(), &mut out) {
            LineResult::Events(1) => Ok(out.pop().unwrap()),
            LineResult::Events(n) => panic!("{n} events"),
            LineResult::Skip(r) => Err(r),
        }
    }

    #[test]
    fn nxlog_4625_uses_substatus() {
        let ev = one(r#"{"EventID":4625,"@timestamp":"2020-10-22T08:29:55.210Z","TargetUserName":"lrodriguez","TargetDomainName":"theshire.local","Status":"0xc000006d","SubStatus":"0xc000006a","LogonType":"2","IpAddress":"-","WorkstationName":"WORKSTATION5","Hostname":"WORKSTATION5.theshire.local"}"#).unwrap();
        assert_eq!(ev.outcome, Outcome::BadPassword);
        assert_eq!(ev.protocol, Protocol::Windows);
        assert_eq!(ev.account.name, "lrodriguez");
        assert_eq!(ev.account.raw, "theshire.local\\lrodriguez");
        assert_eq!(ev.source, Some(IpAddr::V4(Ipv4Addr::LOCALHOST)));
        assert_eq!(ev.client.as_deref(), Some("WORKSTATION5"));
        assert_eq!(ev.server.as_deref(), Some("WORKSTATION5.theshire.local"));
        assert_eq!(ev.ts.to_rfc3339(), "2020-10-22T08:29:55.210Z");
    }

    #[test]
    fn xmltodict_style_json() {
        let ev = one(r##"{"Event":{"System":{"Provider":{"@Name":"Microsoft-Windows-Security-Auditing"},"EventID":"4771","TimeCreated":{"@SystemTime":"2021-12-02T14:48:15.9836Z"},"Computer":"dc1"},"EventData":{"Data":[{"@Name":"TargetUserName","#text":"eve"},{"@Name":"Status","#text":"0x18"},{"@Name":"IpAddress","#text":"::ffff:198.51.100.2"}]}}}"##).unwrap();
        assert_eq!(ev.outcome, Outcome::BadPassword);
        assert_eq!(ev.protocol, Protocol::Kerberos);
        assert_eq!(ev.account.name, "eve");
        assert_eq!(ev.source, Some("198.51.100.2".parse().unwrap()));
        assert_eq!(ev.server.as_deref(), Some("dc1"));
    }

    #[test]
    fn status_tables() {
        assert_eq!(parse_status("0xC000006A"), Some(0xC000_006A));
        assert_eq!(parse_status("3221225578"), Some(0xC000_006A));
        assert_eq!(parse_status("-1073741718"), Some(0xC000_006A));
        assert_eq!(parse_status("zz"), None);
        assert_eq!(ntstatus_outcome(0xC000_0064), Outcome::UnknownAccount);
        assert_eq!(ntstatus_outcome(0xC000_0234), Outcome::Locked);
        assert_eq!(ntstatus_outcome(0xC000_0072), Outcome::Disabled);
        assert_eq!(ntstatus_outcome(0xC000_0193), Outcome::Expired);
        assert_eq!(ntstatus_outcome(0xC000_0224), Outcome::Expired);
        assert_eq!(ntstatus_outcome(0xC000_015B), Outcome::OtherFailure);
        assert_eq!(kerberos_outcome(0x18), Some(Outcome::BadPassword));
        assert_eq!(kerberos_outcome(0x6), Some(Outcome::UnknownAccount));
        assert_eq!(kerberos_outcome(0x19), None);
    }

    #[test]
    fn winlogbeat_4625_with_ecs_source() {
        let ev = one(r#"{"@timestamp":"2023-01-02T03:04:05.678Z","event":{"code":"4625"},"winlog":{"channel":"Security","computer_name":"dc1.corp","event_id":"4625","provider_name":"Microsoft-Windows-Security-Auditing","event_data":{"TargetUserName":"bob","TargetDomainName":"CORP","Status":"0xc0000234","SubStatus":"0x0","LogonType":"3","IpAddress":"::ffff:203.0.113.7","WorkstationName":"-"}},"source":{"ip":"203.0.113.7"}}"#).unwrap();
        assert_eq!(ev.outcome, Outcome::Locked);
        assert_eq!(ev.source, Some("203.0.113.7".parse().unwrap()));
        assert_eq!(ev.client, None);
        assert_eq!(ev.server.as_deref(), Some("dc1.corp"));
    }

    #[test]
    fn network_logon_without_address_has_no_source() {
        let ev = one(r#"{"EventID":4625,"EventTime":"2020-10-22 04:29:53","TargetUserName":"x","Status":"0xc000006d","SubStatus":"0xc0000064","LogonType":"3","IpAddress":"-"}"#).unwrap();
        assert_eq!(ev.source, None);
        assert_eq!(ev.outcome, Outcome::UnknownAccount);
    }

    #[test]
    fn noise_is_skipped_with_reasons() {
        let base = r#""@timestamp":"2020-10-22T08:29:55Z","LogonType":"3""#;
        assert_eq!(
            one(&format!(
                r#"{{"EventID":4624,{base},"TargetUserName":"WEC$"}}"#
            )),
            Err(reason::MACHINE_ACCOUNT)
        );
        assert_eq!(
            one(&format!(
                r#"{{"EventID":4624,{base},"TargetUserName":"ANONYMOUS LOGON","TargetUserSid":"S-1-5-7"}}"#
            )),
            Err(reason::SYSTEM_ACCOUNT)
        );
        assert_eq!(
            one(
                r#"{"EventID":4624,"@timestamp":"2020-10-22T08:29:55Z","LogonType":5,"TargetUserName":"svc"}"#
            ),
            Err(reason::SERVICE_LOGON)
        );
        assert_eq!(
            one(r#"{"EventID":4672,"@timestamp":"2020-10-22T08:29:55Z"}"#),
            Err(reason::NOT_AUTH)
        );
        assert_eq!(one(r#"{"EventID":4624"#), Err(reason::BAD_JSON));
        assert_eq!(one(r#"{"foo":1}"#), Err(reason::UNRECOGNISED));
        assert_eq!(one("[1,2]"), Err(reason::UNRECOGNISED));
        assert_eq!(
            one(r#"{"EventID":4625,"@timestamp":"yesterday","TargetUserName":"x"}"#),
            Err(reason::BAD_TIMESTAMP)
        );
        assert_eq!(
            one(r#"{"EventID":4625,"TargetUserName":"x","Status":"0xc000006a"}"#),
            Err(reason::MISSING_FIELD)
        );
        // A 4648 naming a machine account or a built-in principal as its target.
        assert_eq!(
            one(r#"{"EventID":4648,"@timestamp":"2020-10-22T08:29:55Z","TargetUserName":"WS01$"}"#),
            Err(reason::MACHINE_ACCOUNT)
        );
    }

    /// 4648 in the field layout of the real records of
    /// windows-evtx-to-mitre/ID4625-OpenSSH-brutforce-with-valid-users.jsonl, with a user as
    /// subject and a remote target server (an outgoing use).
    #[test]
    fn explicit_credentials_are_attempts_of_the_target_by_the_subject() {
        let rec = r##"{"Event": {"System": {"Provider": {"#attributes": {"Name": "Microsoft-Windows-Security-Auditing"}}, "EventID": 4648, "TimeCreated": {"#attributes": {"SystemTime": "2021-05-21T20:43:18.227131Z"}}, "Channel": "Security", "Computer": "ws01.offsec.lan"}, "EventData": {"SubjectUserSid": "S-1-5-21-1-2-3-1104", "SubjectUserName": "mallory", "SubjectDomainName": "OFFSEC", "SubjectLogonId": "0x3e7", "LogonGuid": "00000000-0000-0000-0000-000000000000", "TargetUserName": "admmig", "TargetDomainName": "OFFSEC", "TargetLogonGuid": "97AD5FCF-3EA2-FAB2-2734-0D93EE711E8E", "TargetServerName": "dc01.offsec.lan", "TargetInfo": "dc01.offsec.lan", "ProcessId": "0x10ec", "ProcessName": "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe", "IpAddress": "10.23.23.1", "IpPort": "445"}}}"##;
        let ev = one(rec).unwrap();
        assert_eq!(ev.outcome, Outcome::Attempted);
        assert_eq!(ev.account.name, "admmig");
        // IpAddress is the target server's: not a source.
        assert_eq!(ev.source, None);
        assert_eq!(ev.client.as_deref(), Some("ws01"));
        assert_eq!(ev.server.as_deref(), Some("ws01.offsec.lan"));
        let x = ev.explicit.as_deref().unwrap();
        assert_eq!(x.subject.as_ref().unwrap().raw, "OFFSEC\\mallory");
        assert_eq!(x.target_server.as_deref(), Some("dc01.offsec.lan"));
        assert!(x.process.as_deref().unwrap().ends_with("powershell.exe"));
        // The fast path agrees with the general one.
        let (mut a, mut b) = (Vec::new(), Vec::new());
        assert_eq!(
            parse_line_fast(rec, &ParseCtx::default(), &mut a),
            Some(LineResult::Events(1))
        );
        parse_line_general(rec, &ParseCtx::default(), &mut b);
        assert_eq!(a, b);
        // The machine itself as subject (SYSTEM) is recorded as none.
        let sys = rec
            .replace("S-1-5-21-1-2-3-1104", "S-1-5-18")
            .replace("\"mallory\"", "\"WS01$\"");
        let ev = one(&sys).unwrap();
        assert_eq!(ev.explicit.unwrap().subject, None);
    }

    #[test]
    fn nxlog_mssql_and_openssh_messages() {
        let ev = one(r#"{"EventID":18456,"SourceName":"MSSQLSERVER","EventTime":"2020-07-15 11:31:15","Hostname":"sql1","Message":"Login failed for user 'sa'. Reason: Password did not match that for the login provided. [CLIENT: 10.1.2.3]"}"#).unwrap();
        assert_eq!(ev.outcome, Outcome::BadPassword);
        assert_eq!(ev.account.name, "sa");
        assert_eq!(ev.source, Some("10.1.2.3".parse().unwrap()));
        assert_eq!(ev.protocol, Protocol::Other);
        let ev = one(r#"{"EventID":18456,"SourceName":"MSSQL$X","EventTime":"2020-07-15 11:31:15","Message":"Login failed for user 'CORP\\bob'. Reason: Could not find a login matching the name provided. [CLIENT: <local machine>]"}"#).unwrap();
        assert_eq!(ev.outcome, Outcome::UnknownAccount);
        assert_eq!(ev.account.name, "bob");
        assert_eq!(ev.source, Some(IpAddr::V4(Ipv4Addr::LOCALHOST)));
        // Event 18456 of another provider is not SQL Server's.
        assert_eq!(
            one(
                r#"{"EventID":18456,"SourceName":"Other","EventTime":"2020-07-15 11:31:15","Message":"x"}"#
            ),
            Err(reason::NOT_AUTH)
        );
        let ev = one(r#"{"EventID":4,"SourceName":"OpenSSH","Channel":"OpenSSH/Operational","EventTime":"2021-05-21T20:43:03Z","Message":"sshd: Accepted password for bob from 10.0.0.5 port 2222 ssh2"}"#).unwrap();
        assert_eq!(ev.outcome, Outcome::Success);
        assert_eq!(ev.protocol, Protocol::Ssh);
        assert_eq!(ev.source, Some("10.0.0.5".parse().unwrap()));
        // Event 4 of another provider (e.g. Sysmon's service state) is not sshd.
        assert_eq!(
            one(
                r#"{"EventID":4,"SourceName":"Microsoft-Windows-Sysmon","EventTime":"2021-05-21T20:43:03Z","Message":"Sysmon service state changed"}"#
            ),
            Err(reason::NOT_AUTH)
        );
    }

    #[test]
    fn sshd_payloads() {
        assert_eq!(
            sshd_attempt("Failed password for invalid user hacker from 10.23.23.9 port 60096 ssh2"),
            Some((Outcome::UnknownAccount, "hacker", "10.23.23.9"))
        );
        assert_eq!(
            sshd_attempt("Failed password for admmig from 10.23.23.9 port 56605 ssh2"),
            Some((Outcome::BadPassword, "admmig", "10.23.23.9"))
        );
        assert_eq!(
            sshd_attempt("Accepted publickey for corp\\bob from 2001:db8::1 port 22 ssh2: ED25519"),
            Some((Outcome::Success, "corp\\bob", "2001:db8::1"))
        );
        assert_eq!(
            sshd_attempt("Invalid user hacker from 10.23.23.9 port 60096"),
            None
        );
        assert_eq!(sshd_attempt("Failed password for "), None);
    }

    #[test]
    fn looks_like_forms() {
        assert!(looks_like(
            r##"{"Event": {"#attributes": {}, "System": {"EventID": 4768}}}"##
        ));
        assert!(looks_like(
            r#"{"@timestamp":"x","EventID":4625,"SourceName":"Microsoft-Windows-Security-Auditing"}"#
        ));
        assert!(looks_like(r#"{"winlog":{"event_id":"4625"}}"#));
        assert!(looks_like(
            r#"<Event xmlns="http://schemas.microsoft.com/win/2004/08/events/event"><System>"#
        ));
        assert!(looks_like(r#"- <Event xmlns="x">- <System>"#));
        assert!(!looks_like(
            r#"{"ts":"2020-01-01T00:00:00Z","account":"a","outcome":"success"}"#
        ));
        assert!(!looks_like("Jun 23 01:02:03 host sshd[1]: Failed password"));
    }
}
