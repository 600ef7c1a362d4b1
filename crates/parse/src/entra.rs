//! Entra ID (Azure AD) sign-in logs to [`AuthEvent`]s.
//!
//! Reads one sign-in per JSON line ([`parse_line`]) or whole documents ([`parse_document`]):
//! - Microsoft Graph `signIn` (`/auditLogs/signIns`): `createdDateTime`, `userPrincipalName`,
//!   `ipAddress`, `status.errorCode`, `clientAppUsed`, `appDisplayName`, `correlationId`;
//!   documents as `{"value":[…]}` (Graph responses, `@odata.nextLink` ignored) or `[…]`;
//! - Log Analytics `SigninLogs` / `AADNonInteractiveUserSignInLogs` exports: `TimeGenerated`,
//!   `UserPrincipalName`, `IPAddress`, `ResultType` (a string), `ClientAppUsed`, …;
//! - Azure Monitor diagnostic records (Event Hub / storage account): `time`, `category`
//!   (`SignInLogs`, …), `callerIpAddress`, `resultType`, and the Graph record in `properties`;
//! - the Microsoft 365 unified audit log, workload `AzureActiveDirectory`
//!   (`Operation` `UserLoggedIn` / `UserLoginFailed`, `LogonError`, `ClientIP`, `UserId`).
//!
//! Field names are matched case-insensitively (pipelines lower-case them). Error codes map to
//! outcomes by [`error_code_outcome`]; `clientAppUsed` to a protocol by [`client_app_protocol`]
//! (both tabled in `docs/formats-structured.md`).

use crate::windows::common::{self, get_ci, path, reason, scalar_str, text_field};
use crate::{LineResult, ParseCtx, Sink};
use portcullis_core::{Account, AuthEvent, Outcome, Protocol, Timestamp};
use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};
use std::fmt;
use std::net::IpAddr;

pub use crate::windows::common::{Error, Stats};

/// True when a first line looks like one Entra sign-in as a JSON object (any layout above).
pub fn looks_like(first_line: &str) -> bool {
    let t = first_line.trim_start();
    if !t.starts_with('{') {
        return false;
    }
    let lc = t.to_ascii_lowercase();
    let has = |k: &str| lc.contains(k);
    ((has("\"userprincipalname\"") || has("\"serviceprincipalname\""))
        && (has("\"createddatetime\"")
            || has("\"timegenerated\"")
            || has("\"resulttype\"")
            || has("\"errorcode\"")))
        || has("\"sign-in activity\"")
        || has("signinlogs\"")
        || (has("\"operation\"")
            && has("azureactivedirectory")
            && (has("\"userloggedin\"") || has("\"userloginfailed\"")))
}

/// True when the start of a file looks like a sign-in document: a Graph response
/// (`{"@odata.context": …/signIns`, `{"value": [`) or a JSON array whose first element is a
/// sign-in. `head` may be the first few KiB, pretty-printed or not.
pub fn looks_like_document(head: &str) -> bool {
    let t = head.trim_start();
    let compact: String = t
        .chars()
        .filter(|c| !c.is_whitespace())
        .take(4096)
        .collect();
    if compact.starts_with("{\"@odata.context\"") {
        return compact.contains("signIns") || compact.contains("\"value\":[");
    }
    if compact.starts_with("{\"value\":[") || compact.starts_with('[') {
        return compact.contains("\"userPrincipalName\"")
            || compact.contains("\"UserPrincipalName\"");
    }
    false
}

/// Parses one sign-in given as one JSON object on a line.
pub fn parse_line(line: &str, ctx: &ParseCtx, out: Sink) -> LineResult {
    let t = match common::precheck(line) {
        Ok(t) => t,
        Err(r) => return LineResult::Skip(r),
    };
    match common::parse_json(t) {
        Ok(v) => parse_value(&v, ctx, out),
        Err(r) => LineResult::Skip(r),
    }
}

/// Interprets one sign-in record already parsed as JSON.
pub fn parse_value(v: &Value, ctx: &ParseCtx, out: Sink) -> LineResult {
    let Some(o) = v.as_object() else {
        return LineResult::Skip(reason::UNRECOGNISED);
    };
    match interpret(o) {
        Ok(Some(ev)) => {
            common::push(ev_with(ev, ctx), ctx, out);
            LineResult::Events(1)
        }
        Ok(None) => LineResult::Events(0),
        Err(r) => LineResult::Skip(r),
    }
}

fn ev_with(p: Pending, ctx: &ParseCtx) -> AuthEvent {
    let mut ev = AuthEvent::new(
        p.ts,
        p.protocol,
        Account::new(&p.account, &ctx.normalize),
        p.source,
        p.outcome,
    );
    ev.client = p.client;
    ev.server = p.server;
    ev.session = p.session;
    ev
}

/// An event before account normalisation.
struct Pending {
    ts: Timestamp,
    protocol: Protocol,
    account: String,
    source: Option<IpAddr>,
    outcome: Outcome,
    client: Option<String>,
    server: Option<String>,
    session: Option<String>,
}

/// Outcome of an Entra (AADSTS) error code.
///
/// Codes that interrupt a sign-in *after* the password was accepted (MFA required or failed,
/// MFA registration, "keep me signed in") are `Success`: for password guessing what matters is
/// that the password was right, and a sprayer who hits one has found a working password.
pub fn error_code_outcome(code: i64) -> Outcome {
    match code {
        0 => Outcome::Success,
        // 50072 MFA registration required, 50074/50076/50079 MFA required, 50140 KMSI
        // interrupt, 50158 external security challenge, 500121 MFA failed/denied.
        50072 | 50074 | 50076 | 50079 | 50140 | 50158 | 500121 => Outcome::Success,
        // 50126 invalid user name or password, 50056 invalid or null password,
        // 7000215 invalid client secret (service principals).
        50126 | 50056 | 7000215 => Outcome::BadPassword,
        // 50053 locked (smart lockout, or sign-in from a blocked IP).
        50053 => Outcome::Locked,
        50057 => Outcome::Disabled,
        // 50055 password expired, 50144 on-premises password expired, 7000222 client secret
        // expired.
        50055 | 50144 | 7000222 => Outcome::Expired,
        // 50034 user not found, 50059 no tenant found, 50128 invalid domain name,
        // 90072 account not in the tenant.
        50034 | 50059 | 50128 | 90072 => Outcome::UnknownAccount,
        // 53003 blocked by Conditional Access, 50097 device auth, 50173 expired grant, …
        _ => Outcome::OtherFailure,
    }
}

/// Protocol of a `clientAppUsed` value: legacy mail protocols keep their own (that is where
/// sprays land when legacy authentication is on), Exchange/web clients are `http`, anything
/// else (including "Other clients" and an absent field) is `entra`.
pub fn client_app_protocol(client_app: &str) -> Protocol {
    let c = client_app.trim().to_ascii_lowercase();
    if c.starts_with("imap") {
        Protocol::Imap
    } else if c.starts_with("pop") {
        Protocol::Pop3
    } else if c.contains("smtp") {
        Protocol::Submission
    } else if c.contains("browser")
        || c.contains("mobile apps")
        || c.contains("activesync")
        || c.contains("exchange")
        || c.contains("autodiscover")
        || c.contains("mapi")
        || c.contains("offline address book")
        || c.contains("outlook")
        || c.contains("reporting web services")
    {
        Protocol::Http
    } else {
        Protocol::Entra
    }
}

/// The outcome of a M365 audit `LogonError` name.
fn logon_error_outcome(e: &str) -> Outcome {
    match e {
        "InvalidUserNameOrPassword" | "InvalidPassword" => Outcome::BadPassword,
        "IdsLocked" => Outcome::Locked,
        "UserAccountNotFound" | "UserNotFound" | "InvalidTenantName" | "InvalidDomainName" => {
            Outcome::UnknownAccount
        }
        "UserDisabled" | "UserAccountDisabled" => Outcome::Disabled,
        "InvalidPasswordExpiredPassword" | "ExpiredPassword" | "PasswordExpired" => {
            Outcome::Expired
        }
        _ => Outcome::OtherFailure,
    }
}

/// An integer code given as a number or a numeric string.
fn code_of(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// An address as sign-in logs give it, tolerating `a.b.c.d:port` and `[v6]:port`.
fn addr_of(s: &str) -> Result<Option<IpAddr>, &'static str> {
    let s = s.trim();
    if s.is_empty() || s == "-" {
        return Ok(None);
    }
    if let Some(ip) = common::parse_addr(s) {
        return Ok(Some(ip));
    }
    let host = if let Some(rest) = s.strip_prefix('[') {
        rest.split_once(']').map(|(h, _)| h)
    } else {
        s.rsplit_once(':')
            .map(|(h, _)| h)
            .filter(|h| !h.contains(':'))
    };
    host.and_then(common::parse_addr)
        .map(Some)
        .ok_or(reason::BAD_FIELD)
}

fn time_of(o: &Map<String, Value>, keys: &[&str]) -> Result<Timestamp, &'static str> {
    let s = keys
        .iter()
        .find_map(|k| text_field(o, k))
        .ok_or(reason::MISSING_FIELD)?;
    Timestamp::parse_rfc3339(&s).ok_or(reason::BAD_TIMESTAMP)
}

fn interpret(o: &Map<String, Value>) -> Result<Option<Pending>, &'static str> {
    if let Some(Value::Object(props)) = get_ci(o, "properties") {
        return sign_in(props, Some(o));
    }
    // The unified audit log's Azure AD records (RecordType 15); `Workload` is not always kept.
    if get_ci(o, "Operation").is_some()
        && (get_ci(o, "Workload").is_some()
            || get_ci(o, "AzureActiveDirectoryEventType").is_some()
            || get_ci(o, "RecordType").is_some())
    {
        return m365_audit(o);
    }
    sign_in(o, None)
}

/// A Graph `signIn` / Log Analytics `SigninLogs` record; `outer` is the Azure Monitor
/// envelope when the record came in `properties`.
fn sign_in(
    o: &Map<String, Value>,
    outer: Option<&Map<String, Value>>,
) -> Result<Option<Pending>, &'static str> {
    if let Some(outer) = outer {
        let cat = text_field(outer, "category").unwrap_or_default();
        let op = text_field(outer, "operationName").unwrap_or_default();
        if !cat.to_ascii_lowercase().contains("signin")
            && !op.eq_ignore_ascii_case("Sign-in activity")
        {
            return Err(reason::NOT_AUTH);
        }
    }
    let ts = match time_of(o, &["createdDateTime", "TimeGenerated"]) {
        Ok(t) => t,
        Err(reason::MISSING_FIELD) if outer.is_some() => {
            time_of(outer.unwrap_or(o), &["time", "TimeGenerated"])?
        }
        Err(r) => return Err(r),
    };
    let account = text_field(o, "userPrincipalName")
        .or_else(|| text_field(o, "servicePrincipalName"))
        .or_else(|| text_field(o, "userDisplayName"))
        .ok_or(reason::MISSING_FIELD)?;
    let outcome = sign_in_outcome(o, outer)?;
    let ip_text =
        text_field(o, "ipAddress").or_else(|| outer.and_then(|x| text_field(x, "callerIpAddress")));
    let source = match ip_text {
        Some(s) => addr_of(&s)?,
        None => None,
    };
    let client_app = text_field(o, "clientAppUsed");
    let protocol = client_app
        .as_deref()
        .map(client_app_protocol)
        .unwrap_or(Protocol::Entra);
    let client = text_field(o, "userAgent").or_else(|| client_app.clone());
    Ok(Some(Pending {
        ts,
        protocol,
        account: account.into_owned(),
        source,
        outcome,
        client: common::owned(client),
        server: common::owned(
            text_field(o, "appDisplayName").or_else(|| text_field(o, "resourceDisplayName")),
        ),
        session: common::owned(
            text_field(o, "correlationId")
                .or_else(|| outer.and_then(|x| text_field(x, "correlationId"))),
        ),
    }))
}

/// The error code of a sign-in: `status.errorCode` (an object, or in Log Analytics possibly a
/// JSON string), else `ResultType` / `errorCode`; the envelope's `resultType` may be a word.
fn sign_in_outcome(
    o: &Map<String, Value>,
    outer: Option<&Map<String, Value>>,
) -> Result<Outcome, &'static str> {
    let from_status = match get_ci(o, "status") {
        Some(Value::Object(s)) => get_ci(s, "errorCode").and_then(code_of),
        Some(Value::String(s)) if s.trim_start().starts_with('{') => {
            serde_json::from_str::<Value>(s)
                .ok()
                .as_ref()
                .and_then(Value::as_object)
                .and_then(|m| get_ci(m, "errorCode").and_then(code_of))
        }
        _ => None,
    };
    let code = from_status
        .or_else(|| get_ci(o, "ResultType").and_then(code_of))
        .or_else(|| get_ci(o, "errorCode").and_then(code_of))
        .or_else(|| {
            outer
                .and_then(|x| get_ci(x, "resultType"))
                .and_then(code_of)
        });
    if let Some(c) = code {
        return Ok(error_code_outcome(c));
    }
    let word = get_ci(o, "ResultType")
        .or_else(|| outer.and_then(|x| get_ci(x, "resultType")))
        .and_then(scalar_str);
    match word.as_deref().map(str::to_ascii_lowercase).as_deref() {
        Some("success") => Ok(Outcome::Success),
        Some("failure") => Ok(Outcome::OtherFailure),
        _ => Err(reason::MISSING_FIELD),
    }
}

/// The Microsoft 365 unified audit log's Azure AD logins.
fn m365_audit(o: &Map<String, Value>) -> Result<Option<Pending>, &'static str> {
    let op = text_field(o, "Operation").unwrap_or_default();
    let outcome = match op.as_ref() {
        "UserLoggedIn" => Outcome::Success,
        "UserLoginFailed" => text_field(o, "LogonError")
            .map(|e| logon_error_outcome(&e))
            .unwrap_or(Outcome::OtherFailure),
        _ => return Err(reason::NOT_AUTH),
    };
    let ts = time_of(o, &["CreationTime"])?;
    let account = text_field(o, "UserId").ok_or(reason::MISSING_FIELD)?;
    let source = match text_field(o, "ClientIP").or_else(|| text_field(o, "ActorIpAddress")) {
        Some(s) => addr_of(&s)?,
        None => None,
    };
    let user_agent = match get_ci(o, "ExtendedProperties") {
        Some(Value::Array(a)) => a.iter().filter_map(Value::as_object).find_map(|p| {
            (text_field(p, "Name").as_deref() == Some("UserAgent"))
                .then(|| text_field(p, "Value"))
                .flatten()
        }),
        _ => None,
    };
    Ok(Some(Pending {
        ts,
        protocol: Protocol::Entra,
        account: account.into_owned(),
        source,
        outcome,
        client: common::owned(user_agent),
        server: None,
        session: common::owned(path(o, "Id").and_then(scalar_str)),
    }))
}

/// Parses a whole document: a Graph response `{"value":[…]}` (other members such as
/// `@odata.context` / `@odata.nextLink` ignored), a JSON array of sign-ins, or one sign-in
/// object. Records are streamed one at a time, so memory stays that of the largest record
/// (plus the events pushed to `out`). A record that is not a sign-in is counted in
/// [`Stats::skipped`]; only a document that is not JSON of one of these shapes is an error
/// (records before the error are delivered).
pub fn parse_document(text: &str, ctx: &ParseCtx, out: Sink) -> Result<Stats, Error> {
    let mut push = |ev| out.push(ev);
    let mut de = serde_json::Deserializer::from_str(text);
    let stats = run_document(&mut de, ctx, &mut push)?;
    de.end().map_err(|e| Error::new("json document", e))?;
    Ok(stats)
}

/// [`parse_document`] from a reader (a file of any size), delivering events one by one.
/// Wrap files in a `BufReader`.
pub fn parse_document_reader<R: std::io::Read>(
    reader: R,
    ctx: &ParseCtx,
    out: &mut dyn FnMut(AuthEvent),
) -> Result<Stats, Error> {
    let mut de = serde_json::Deserializer::from_reader(reader);
    let stats = run_document(&mut de, ctx, out)?;
    de.end().map_err(|e| Error::new("json document", e))?;
    Ok(stats)
}

fn run_document<'de, R: serde_json::de::Read<'de>>(
    de: &mut serde_json::Deserializer<R>,
    ctx: &ParseCtx,
    out: &mut dyn FnMut(AuthEvent),
) -> Result<Stats, Error> {
    let mut stats = Stats::default();
    let seed = DocSeed {
        ctx,
        out,
        stats: &mut stats,
        buf: Vec::with_capacity(1),
    };
    seed.deserialize(&mut *de)
        .map_err(|e| Error::new("json document", e))?;
    Ok(stats)
}

struct DocSeed<'a, 'c> {
    ctx: &'c ParseCtx,
    out: &'a mut dyn FnMut(AuthEvent),
    stats: &'a mut Stats,
    buf: Vec<AuthEvent>,
}

impl DocSeed<'_, '_> {
    fn record(&mut self, v: &Value) {
        self.stats.records += 1;
        let mut ctx = self.ctx.clone();
        ctx.line = self.stats.records;
        if let LineResult::Skip(r) = parse_value(v, &ctx, &mut self.buf) {
            self.stats.skip(r);
        }
        for ev in self.buf.drain(..) {
            self.stats.events += 1;
            (self.out)(ev);
        }
    }
}

impl<'de> DeserializeSeed<'de> for DocSeed<'_, '_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for DocSeed<'_, '_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(r#"a sign-in object, an array of them, or {"value": [...]}"#)
    }

    fn visit_seq<A: SeqAccess<'de>>(mut self, mut seq: A) -> Result<(), A::Error> {
        while let Some(v) = seq.next_element::<Value>()? {
            self.record(&v);
        }
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(mut self, mut map: A) -> Result<(), A::Error> {
        let mut rest = Map::new();
        let mut saw_value = false;
        while let Some(k) = map.next_key::<String>()? {
            if k == "value" && !saw_value {
                saw_value = true;
                map.next_value_seed(ArraySeed(&mut self))?;
            } else if saw_value || k.starts_with("@odata") {
                map.next_value::<IgnoredAny>()?;
            } else {
                rest.insert(k, map.next_value::<Value>()?);
            }
        }
        if !saw_value {
            self.record(&Value::Object(rest));
        }
        Ok(())
    }
}

/// The `value` array of a Graph response, streamed.
struct ArraySeed<'s, 'a, 'c>(&'s mut DocSeed<'a, 'c>);

impl<'de> DeserializeSeed<'de> for ArraySeed<'_, '_, '_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for ArraySeed<'_, '_, '_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of sign-ins")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while let Some(v) = seq.next_element::<Value>()? {
            self.0.record(&v);
        }
        Ok(())
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

    const GRAPH: &str = r#"{"id":"66ea54eb","createdDateTime":"2017-06-23T01:02:03Z","userDisplayName":"Alice","userPrincipalName":"Alice@Example.org","ipAddress":"203.0.113.9","clientAppUsed":"IMAP4","appDisplayName":"Office 365 Exchange Online","correlationId":"d79f5bee","status":{"errorCode":50126,"failureReason":"Invalid username or password."}}"#;

    #[test]
    fn graph_sign_in() {
        let e = one(GRAPH).unwrap();
        assert_eq!(e.outcome, Outcome::BadPassword);
        assert_eq!(e.protocol, Protocol::Imap);
        assert_eq!(e.account.name, "alice@example.org");
        assert_eq!(e.source, Some("203.0.113.9".parse().unwrap()));
        assert_eq!(e.session.as_deref(), Some("d79f5bee"));
        assert_eq!(e.server.as_deref(), Some("Office 365 Exchange Online"));
        assert_eq!(e.client.as_deref(), Some("IMAP4"));
        assert_eq!(e.ts.to_rfc3339(), "2017-06-23T01:02:03Z");
    }

    #[test]
    fn log_analytics_sign_in() {
        let e = one(r#"{"TimeGenerated":"2023-05-01T10:00:00.123Z","UserPrincipalName":"bob@example.org","IPAddress":"2001:db8::7","ResultType":"50053","ClientAppUsed":"Authenticated SMTP","UserAgent":"BAV2ROPC","AppDisplayName":"Office 365 Exchange Online","CorrelationId":"c1"}"#).unwrap();
        assert_eq!(e.outcome, Outcome::Locked);
        assert_eq!(e.protocol, Protocol::Submission);
        assert_eq!(e.client.as_deref(), Some("BAV2ROPC"));
        assert_eq!(e.source, Some("2001:db8::7".parse().unwrap()));
    }

    #[test]
    fn tables() {
        assert_eq!(error_code_outcome(0), Outcome::Success);
        assert_eq!(error_code_outcome(50076), Outcome::Success);
        assert_eq!(error_code_outcome(50057), Outcome::Disabled);
        assert_eq!(error_code_outcome(50055), Outcome::Expired);
        assert_eq!(error_code_outcome(50034), Outcome::UnknownAccount);
        assert_eq!(error_code_outcome(53003), Outcome::OtherFailure);
        assert_eq!(client_app_protocol("POP3"), Protocol::Pop3);
        assert_eq!(client_app_protocol("Exchange ActiveSync"), Protocol::Http);
        assert_eq!(client_app_protocol("Exchange Web Services"), Protocol::Http);
        assert_eq!(client_app_protocol("Browser"), Protocol::Http);
        assert_eq!(
            client_app_protocol("Mobile Apps and Desktop clients"),
            Protocol::Http
        );
        assert_eq!(client_app_protocol("Other clients"), Protocol::Entra);
    }

    #[test]
    fn addresses_with_ports() {
        assert_eq!(
            addr_of("1.2.3.4:5678"),
            Ok(Some("1.2.3.4".parse().unwrap()))
        );
        assert_eq!(
            addr_of("[2001:db8::1]:443"),
            Ok(Some("2001:db8::1".parse().unwrap()))
        );
        assert_eq!(
            addr_of("2001:db8::1"),
            Ok(Some("2001:db8::1".parse().unwrap()))
        );
        assert_eq!(addr_of(""), Ok(None));
        assert_eq!(addr_of("nowhere"), Err(reason::BAD_FIELD));
    }

    #[test]
    fn documents_graph_array_and_single() {
        let ctx = ParseCtx::default();
        let mut out = Vec::new();
        let doc = format!(
            r#"{{"@odata.context":"https://graph.microsoft.com/v1.0/$metadata#auditLogs/signIns","value":[{GRAPH},{{"nope":1}},{GRAPH}],"@odata.nextLink":"x"}}"#
        );
        assert!(looks_like_document(&doc));
        let s = parse_document(&doc, &ctx, &mut out).unwrap();
        assert_eq!((s.records, s.events, out.len()), (3, 2, 2));
        assert_eq!(s.skipped.get(reason::MISSING_FIELD), Some(&1));
        assert_eq!(out[1].origin.line, 3);

        out.clear();
        let arr = format!("[\n  {GRAPH},\n  {GRAPH}\n]");
        assert!(looks_like_document(&arr));
        let s = parse_document(&arr, &ctx, &mut out).unwrap();
        assert_eq!((s.records, s.events), (2, 2));

        out.clear();
        let s = parse_document(GRAPH, &ctx, &mut out).unwrap();
        assert_eq!((s.records, s.events), (1, 1));

        let mut n = 0;
        let s = parse_document_reader(doc.as_bytes(), &ctx, &mut |_| n += 1).unwrap();
        assert_eq!((s.records, s.events, n), (3, 2, 2));

        assert!(parse_document("[1,", &ctx, &mut out).is_err());
        assert!(parse_document("[] x", &ctx, &mut out).is_err());
        assert!(parse_document("\"str\"", &ctx, &mut out).is_err());
    }

    #[test]
    fn not_sign_ins() {
        assert_eq!(one(r#"{"a":1}"#), Err(reason::MISSING_FIELD));
        assert_eq!(one("[]"), Err(reason::UNRECOGNISED));
        assert_eq!(one("{"), Err(reason::BAD_JSON));
        assert_eq!(
            one(r#"{"time":"2023-01-01T00:00:00Z","category":"AuditLogs","properties":{"x":1}}"#),
            Err(reason::NOT_AUTH)
        );
        assert_eq!(
            one(r#"{"Workload":"AzureActiveDirectory","Operation":"Add user."}"#),
            Err(reason::NOT_AUTH)
        );
    }
}
