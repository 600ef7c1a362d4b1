//! Notifications out to a SIEM over syslog: the notices the webhooks get (findings, shields
//! changes) sent as RFC 5424 messages with structured data, or as ArcSight CEF inside an
//! RFC 3164 header, over UDP (one datagram each) or TCP (RFC 6587 octet-counting framing).
//!
//! Each configured sink is an [`Outbox`], as each webhook is (its own thread and bounded queue;
//! see [`crate::sinks::outbox`]): a SIEM that is slow or down never slows a login. A send that
//! fails (no route, connection refused or reset) reconnects on the next try, then is counted
//! as failed. Before writing to a TCP connection it already holds, the sender peeks at it, so a
//! receiver that closed it (a restart) costs a reconnection, not a lost message.
//!
//! The renderers ([`rfc5424`], [`cef`]) and the framing ([`octet_counted`]) are pure
//! functions of the notice, tested against hostile values. Nothing in a notice is a password:
//! findings carry accounts, addresses, campaign ids and counts, never a secret.

use crate::sinks::notice::{EVENTS, Notice};
use crate::sinks::outbox::{Courier, Outbox, Outboxes, SinkKind};
use portcullis_core::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::io::{ErrorKind, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs, UdpSocket};
use std::time::Duration;

/// Most items of a list (a campaign's sources, its accounts) put in one message; the count of
/// the whole list goes beside it.
pub const MAX_LIST: usize = 20;
/// Longest value (characters) put in one field; longer ones are cut.
pub const MAX_VALUE_CHARS: usize = 512;

/// The IANA Private Enterprise Number reserved for documentation (RFC 5612), used in the
/// default SD-ID until the operator names their own (`sd_id`).
pub const DEFAULT_SD_ID: &str = "portcullis@32473";

/// Syslog facilities by name (RFC 5424 §6.2.1, with the names syslog.conf uses).
const FACILITIES: [(&str, u8); 24] = [
    ("kern", 0),
    ("user", 1),
    ("mail", 2),
    ("daemon", 3),
    ("auth", 4),
    ("syslog", 5),
    ("lpr", 6),
    ("news", 7),
    ("uucp", 8),
    ("cron", 9),
    ("authpriv", 10),
    ("ftp", 11),
    ("ntp", 12),
    ("audit", 13),
    ("alert", 14),
    ("clock", 15),
    ("local0", 16),
    ("local1", 17),
    ("local2", 18),
    ("local3", 19),
    ("local4", 20),
    ("local5", 21),
    ("local6", 22),
    ("local7", 23),
];

/// One SIEM sink (`[[server.siem]]`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SiemConfig {
    /// A short name for logs and metrics.
    pub name: String,
    /// Where to send: `host:port` (`[v6]:port` for an IPv6 address); resolved at each
    /// connection, so a changed DNS record is followed.
    pub address: String,
    /// "udp" or "tcp" (RFC 6587 octet counting).
    pub transport: String,
    /// "rfc5424" (structured data) or "cef" (ArcSight CEF in an RFC 3164 header).
    pub format: String,
    /// Syslog facility by name; default `authpriv` (security messages that name accounts).
    pub facility: String,
    /// HOSTNAME of the messages; empty = this machine's name.
    pub hostname: String,
    /// SD-ID of the RFC 5424 structured data (`name@PEN`).
    pub sd_id: String,
    /// Which events to send (as the webhooks name them); empty = all of them.
    pub events: Vec<String>,
    /// Timeout of one connection or write, milliseconds.
    pub timeout_ms: u64,
}

impl Default for SiemConfig {
    fn default() -> Self {
        SiemConfig {
            name: String::new(),
            address: String::new(),
            transport: "udp".into(),
            format: "rfc5424".into(),
            facility: "authpriv".into(),
            hostname: String::new(),
            sd_id: DEFAULT_SD_ID.into(),
            events: Vec::new(),
            timeout_ms: 5000,
        }
    }
}

/// True for an RFC 5424 PRINTUSASCII string of 1..=max characters (`%d33-126`).
fn printusascii(s: &str, max: usize) -> bool {
    !s.is_empty() && s.len() <= max && s.bytes().all(|b| (33..=126).contains(&b))
}

/// An RFC 5424 SD-NAME: PRINTUSASCII except `=`, `]`, `"`, 1..=32 characters.
fn sd_name(s: &str) -> bool {
    printusascii(s, 32) && !s.contains(['=', ']', '"'])
}

impl SiemConfig {
    /// Checks the sink can work; the error names what is wrong.
    pub fn validate(&self) -> Result<(), String> {
        let who = format!("siem {:?}", self.name);
        if self.name.is_empty() {
            return Err("siem: every sink needs a name (for logs and metrics)".into());
        }
        check_address(&self.address).map_err(|m| format!("{who}: address: {m}"))?;
        if !matches!(self.transport.as_str(), "udp" | "tcp") {
            return Err(format!(
                "{who}: transport {:?} is not udp or tcp",
                self.transport
            ));
        }
        if !matches!(self.format.as_str(), "rfc5424" | "cef") {
            return Err(format!(
                "{who}: format {:?} is not rfc5424 or cef",
                self.format
            ));
        }
        if facility_code(&self.facility).is_none() {
            return Err(format!(
                "{who}: facility {:?} is not a syslog facility (auth, authpriv, local0…local7, …)",
                self.facility
            ));
        }
        if !self.hostname.is_empty() && !printusascii(&self.hostname, 255) {
            return Err(format!(
                "{who}: hostname {:?} must be 1 to 255 printable ASCII characters without spaces",
                self.hostname
            ));
        }
        match self.sd_id.split_once('@') {
            Some((n, pen))
                if sd_name(&self.sd_id)
                    && !n.is_empty()
                    && !pen.is_empty()
                    && pen
                        .split('.')
                        .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit())) => {}
            _ => {
                return Err(format!(
                    "{who}: sd_id {:?} must be NAME@PEN (RFC 5424 §6.3.2), e.g. {DEFAULT_SD_ID:?}",
                    self.sd_id
                ));
            }
        }
        if let Some(e) = self.events.iter().find(|e| !EVENTS.contains(&e.as_str())) {
            return Err(format!(
                "{who}: unknown event {e:?} (one of {})",
                EVENTS.join(", ")
            ));
        }
        if !(100..=60_000).contains(&self.timeout_ms) {
            return Err(format!("{who}: timeout_ms must be between 100 and 60000"));
        }
        Ok(())
    }

    /// The events this sink is sent: those it names, else all of them.
    fn events(&self) -> Vec<String> {
        if self.events.is_empty() {
            EVENTS.iter().map(|e| e.to_string()).collect()
        } else {
            self.events.clone()
        }
    }
}

/// `host:port`, `[v6]:port` or `a.b.c.d:port`, with a port from 1 to 65535.
fn check_address(a: &str) -> Result<(), String> {
    let Some((host, port)) = a.rsplit_once(':') else {
        return Err(format!("{a:?} is not host:port"));
    };
    if port.parse::<u16>().ok().is_none_or(|p| p == 0) {
        return Err(format!("{a:?}: port {port:?} is not 1 to 65535"));
    }
    let bare = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    if bare.is_empty() || bare.contains(char::is_whitespace) {
        return Err(format!("{a:?}: no host"));
    }
    if bare != host && bare.parse::<std::net::Ipv6Addr>().is_err() {
        return Err(format!(
            "{a:?}: {bare:?} in brackets is not an IPv6 address"
        ));
    }
    if bare == host && host.contains(':') {
        return Err(format!(
            "{a:?}: write an IPv6 address in brackets, [addr]:port"
        ));
    }
    Ok(())
}

/// The code of a facility name.
pub fn facility_code(name: &str) -> Option<u8> {
    FACILITIES.iter().find(|(n, _)| *n == name).map(|(_, c)| *c)
}

/// (syslog severity 0–7, CEF severity 0–10) of an event (docs/integrations.md).
pub fn severity(event: &str) -> (u8, u8) {
    match event {
        "account_compromised" => (2, 10),
        "campaign_opened" => (4, 7),
        "account_at_risk" | "shields_up" => (4, 6),
        "source_flagged" => (5, 5),
        "campaign_updated" => (5, 4),
        "shields_down" => (5, 3),
        _ => (6, 1),
    }
}

/// At most `MAX_VALUE_CHARS` characters of `s`.
fn cut(s: &str) -> &str {
    match s.char_indices().nth(MAX_VALUE_CHARS) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

/// A field of the notice as text: scalars as they are, lists of scalars joined with commas
/// (the first [`MAX_LIST`]), nothing for null, objects and empty lists.
fn field(v: &Value) -> Option<String> {
    match v {
        Value::Null | Value::Object(_) => None,
        Value::Array(items) if items.is_empty() => None,
        Value::String(s) => Some(cut(s).to_string()),
        Value::Bool(_) | Value::Number(_) => Some(v.to_string()),
        Value::Array(items) => {
            let parts: Vec<String> = items
                .iter()
                .take(MAX_LIST)
                .filter_map(|i| match i {
                    Value::String(s) => Some(s.clone()),
                    Value::Bool(_) | Value::Number(_) => Some(i.to_string()),
                    _ => None,
                })
                .collect();
            Some(cut(&parts.join(",")).to_string())
        }
    }
}

/// A PARAM-VALUE escaped per RFC 5424 §6.3.3: `"`, `\` and `]` take a backslash. Control
/// characters (line breaks among them) become spaces: §6.3.3 has no escape for them, and a
/// receiver that splits on newlines would cut the message.
pub fn escape_sd_value(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '"' | '\\' | ']') {
            out.push('\\');
        }
        out.push(if c.is_control() { ' ' } else { c });
    }
    out
}

/// The free-text MSG on one line: control characters become spaces.
fn one_line(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// An RFC 5424 message: `<PRI>1 TIMESTAMP HOSTNAME portcullis PROCID MSGID [SD] MSG`, the
/// notice's fields as SD-PARAMs of `sd_id` (lists as their first [`MAX_LIST`] items, with
/// `NAME_total` beside them), MSG the one-line text the chat webhooks get (no BOM: MSG-ANY).
pub fn rfc5424(n: &Notice, facility: u8, hostname: &str, procid: u32, sd_id: &str) -> String {
    let (sev, _) = severity(n.event);
    let mut sd = format!("[{sd_id}");
    if let Some(o) = n.data.as_object() {
        for (k, v) in o {
            if !sd_name(k) {
                continue;
            }
            if let Some(text) = field(v) {
                sd.push_str(&format!(" {k}=\"{}\"", escape_sd_value(&text)));
            }
            if let Value::Array(items) = v
                && items.len() > MAX_LIST
            {
                sd.push_str(&format!(" {k}_total=\"{}\"", items.len()));
            }
        }
    }
    sd.push(']');
    format!(
        "<{}>1 {} {hostname} portcullis {procid} {} {sd} {}",
        u32::from(facility) * 8 + u32::from(sev),
        n.at.to_rfc3339(),
        n.event,
        one_line(&n.text())
    )
}

/// A CEF header field: `\` and `|` take a backslash; line breaks become spaces.
pub fn escape_cef_header(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' | '|' => {
                out.push('\\');
                out.push(c);
            }
            '\r' | '\n' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// A CEF extension value: `\` and `=` take a backslash, line breaks are written `\n` / `\r`.
pub fn escape_cef_value(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' | '=' => {
                out.push('\\');
                out.push(c);
            }
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// Milliseconds since the epoch of an RFC 3339 field of the notice.
fn millis(v: &Value) -> Option<i64> {
    Timestamp::parse_rfc3339(v.as_str()?).map(|t| t.unix_micros().div_euclid(1000))
}

/// A CEF line inside an RFC 3164 header, as ArcSight's CEF specification shows it and
/// ArcSight, QRadar and Splunk parse it: `<PRI>Mmm dd hh:mm:ss HOSTNAME CEF:0|portcullis|
/// portcullis|VERSION|EVENT|NAME|SEVERITY|EXTENSION`. The header's time is local (RFC 3164
/// has no zone); `rt` carries the exact time in milliseconds since the epoch.
pub fn cef(n: &Notice, facility: u8, hostname: &str) -> String {
    let (sev, cef_sev) = severity(n.event);
    let d = &n.data;
    let s = |k: &str| field(&d[k]);
    let kind = s("kind").unwrap_or_default().replace('_', " ");
    let name = match n.event {
        "campaign_opened" => format!("Campaign opened: {kind}"),
        "campaign_updated" => format!("Campaign updated: {kind}"),
        "source_flagged" => "Source flagged".into(),
        "account_compromised" => "Account compromised".into(),
        "account_at_risk" => "Account at risk".into(),
        "shields_up" => "Shields up".into(),
        "shields_down" => "Shields down".into(),
        e => e.to_string(),
    };
    let act = match n.event {
        "campaign_opened" => "detected",
        "campaign_updated" => "updated",
        "source_flagged" => "flagged",
        "account_compromised" | "account_at_risk" => "alerted",
        e => e,
    };
    let mut ext: Vec<(&str, String)> = vec![
        ("rt", (n.at.unix_micros().div_euclid(1000)).to_string()),
        ("dvchost", hostname.to_string()),
        ("cat", n.event.to_string()),
        ("act", act.to_string()),
    ];
    // The sources: `src` when there is exactly one address, and the list (prefixes too).
    let sources: Vec<String> = match &d["sources"] {
        Value::Array(a) => a
            .iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect(),
        _ => s("source").into_iter().collect(),
    };
    if let [one] = sources.as_slice()
        && one.parse::<std::net::IpAddr>().is_ok()
    {
        ext.push(("src", one.clone()));
    }
    if let Some(acc) = s("account") {
        ext.push(("suser", acc));
    }
    let campaign = match n.event {
        "campaign_opened" | "campaign_updated" => s("id"),
        _ => s("campaign"),
    };
    if let Some(c) = campaign {
        ext.push(("cs1Label", "campaignId".into()));
        ext.push(("cs1", c));
    }
    if !sources.is_empty() {
        ext.push(("cs2Label", "sources".into()));
        ext.push((
            "cs2",
            field(&d["sources"]).or(s("source")).unwrap_or_default(),
        ));
        if sources.len() > MAX_LIST {
            ext.push(("cn2Label", "sourcesTotal".into()));
            ext.push(("cn2", sources.len().to_string()));
        }
    }
    if let Some(k) = s("kind") {
        ext.push(("cs3Label", "campaignKind".into()));
        ext.push(("cs3", k));
    }
    if let Some(by) = s("by") {
        ext.push(("cs4Label", "actor".into()));
        ext.push(("cs4", by));
    }
    if let Some(p) = s("protocols") {
        ext.push(("cs5Label", "protocols".into()));
        ext.push(("cs5", p));
    }
    if let Some(a) = s("attempts") {
        ext.push(("cnt", a));
    }
    if let Some(a) = s("accounts_targeted") {
        ext.push(("cn1Label", "accountsTargeted".into()));
        ext.push(("cn1", a));
    }
    if let Some(t) = millis(&d["first_seen"]) {
        ext.push(("start", t.to_string()));
    }
    if let Some(t) = millis(&d["last_seen"]).or(millis(&d["until"])) {
        ext.push(("end", t.to_string()));
    }
    if let Some(r) = s("reason").or(s("evidence")) {
        ext.push(("reason", r));
    }
    ext.push(("msg", n.text()));
    let extension: Vec<String> = ext
        .iter()
        .map(|(k, v)| format!("{k}={}", escape_cef_value(v)))
        .collect();
    let when =
        n.at.to_chrono()
            .with_timezone(&chrono::Local)
            .format("%b %e %H:%M:%S");
    format!(
        "<{}>{when} {hostname} CEF:0|portcullis|portcullis|{}|{}|{}|{cef_sev}|{}",
        u32::from(facility) * 8 + u32::from(sev),
        escape_cef_header(env!("CARGO_PKG_VERSION")),
        escape_cef_header(n.event),
        escape_cef_header(&name),
        extension.join(" ")
    )
}

/// RFC 6587 §3.4.1 octet-counting framing: `MSG-LEN SP SYSLOG-MSG`, MSG-LEN the number of
/// octets of the message.
pub fn octet_counted(msg: &[u8]) -> Vec<u8> {
    let mut out = format!("{} ", msg.len()).into_bytes();
    out.extend_from_slice(msg);
    out
}

/// This machine's name, for HOSTNAME, or `-` (the RFC 5424 NILVALUE) when it has none fit.
fn machine_hostname() -> String {
    ["/proc/sys/kernel/hostname", "/etc/hostname"]
        .iter()
        .filter_map(|p| std::fs::read_to_string(p).ok())
        .map(|s| s.trim().to_string())
        .find(|h| printusascii(h, 255))
        .unwrap_or_else(|| "-".into())
}

/// Starts an outbox per sink (each validated first).
pub fn start(sinks: &[SiemConfig]) -> Result<Outboxes, String> {
    let mut out = Vec::with_capacity(sinks.len());
    for cfg in sinks {
        cfg.validate()?;
        let courier = SyslogCourier {
            facility: facility_code(&cfg.facility).unwrap_or(10),
            hostname: if cfg.hostname.is_empty() {
                machine_hostname()
            } else {
                cfg.hostname.clone()
            },
            procid: std::process::id(),
            conn: None,
            cfg: cfg.clone(),
        };
        out.push(Outbox::start(
            SinkKind::Siem,
            &cfg.name,
            cfg.events(),
            courier,
        )?);
        tracing::info!(
            name = %cfg.name,
            address = %cfg.address,
            transport = %cfg.transport,
            format = %cfg.format,
            "siem sink ready"
        );
    }
    Ok(Outboxes::new(out))
}

/// The sender's socket, if connected.
enum Conn {
    Udp(UdpSocket),
    Tcp(TcpStream),
}

impl Conn {
    fn open(cfg: &SiemConfig, timeout: Duration) -> std::io::Result<Conn> {
        let addrs: Vec<SocketAddr> = cfg.address.to_socket_addrs()?.collect();
        let mut last = std::io::Error::new(ErrorKind::NotFound, "the address resolved to nothing");
        for a in addrs {
            let c = if cfg.transport == "tcp" {
                TcpStream::connect_timeout(&a, timeout).and_then(|s| {
                    s.set_write_timeout(Some(timeout))?;
                    s.set_nodelay(true)?;
                    Ok(Conn::Tcp(s))
                })
            } else {
                let local: SocketAddr = if a.is_ipv4() {
                    ([0u8; 4], 0).into()
                } else {
                    ([0u16; 8], 0).into()
                };
                UdpSocket::bind(local).and_then(|s| {
                    s.connect(a)?;
                    Ok(Conn::Udp(s))
                })
            };
            match c {
                Ok(c) => return Ok(c),
                Err(e) => last = e,
            }
        }
        Err(last)
    }

    /// False when the peer has closed a TCP connection (or it failed); data it sent us (a
    /// syslog receiver sends none) is left unread.
    fn alive(&self) -> bool {
        let Conn::Tcp(s) = self else { return true };
        if s.set_nonblocking(true).is_err() {
            return false;
        }
        let mut b = [0u8; 1];
        let alive = match s.peek(&mut b) {
            Ok(0) => false,
            Ok(_) => true,
            Err(e) => e.kind() == ErrorKind::WouldBlock,
        };
        alive && s.set_nonblocking(false).is_ok()
    }

    fn send(&mut self, frame: &[u8]) -> std::io::Result<()> {
        match self {
            Conn::Udp(s) => s.send(frame).map(|_| ()),
            Conn::Tcp(s) => s.write_all(frame),
        }
    }
}

/// Sends notices to one syslog receiver, keeping its connection between them.
struct SyslogCourier {
    cfg: SiemConfig,
    facility: u8,
    hostname: String,
    procid: u32,
    conn: Option<Conn>,
}

impl Courier for SyslogCourier {
    fn deliver(&mut self, n: &Notice) -> Result<(), String> {
        let msg = match self.cfg.format.as_str() {
            "cef" => cef(n, self.facility, &self.hostname),
            _ => rfc5424(
                n,
                self.facility,
                &self.hostname,
                self.procid,
                &self.cfg.sd_id,
            ),
        };
        let frame = if self.cfg.transport == "tcp" {
            octet_counted(msg.as_bytes())
        } else {
            msg.into_bytes()
        };
        if self.conn.as_ref().is_some_and(|c| !c.alive()) {
            self.conn = None;
        }
        let conn = match self.conn.as_mut() {
            Some(c) => c,
            None => self.conn.insert(
                Conn::open(&self.cfg, Duration::from_millis(self.cfg.timeout_ms))
                    .map_err(|e| e.to_string())?,
            ),
        };
        conn.send(&frame).map_err(|e| {
            // The next attempt reconnects.
            self.conn = None;
            e.to_string()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use portcullis_core::report::{Campaign, CampaignKind, CompromisedAccount, FlaggedSource};
    use portcullis_engine::{AdminAction, Finding};

    const HOSTILE: &str = "jü\"rg]en\\=|x\ny@exämple.org";

    fn at() -> Timestamp {
        Timestamp::parse_rfc3339("2024-05-06T07:08:09.123Z").unwrap()
    }

    fn compromised() -> Notice {
        Notice::finding(
            at(),
            &Finding::AccountCompromised(CompromisedAccount {
                account: HOSTILE.into(),
                at: at(),
                source: Some("198.51.100.7".parse().unwrap()),
                campaign: Some("c7".into()),
                evidence: "success ] after \"spray\"".into(),
            }),
        )
    }

    fn campaign(sources: usize) -> Notice {
        Notice::finding(
            at(),
            &Finding::CampaignOpened(Campaign {
                id: "c3".into(),
                kind: CampaignKind::PasswordSpray,
                first_seen: Timestamp::from_unix_secs(1_714_979_000),
                detected_at: at(),
                last_seen: at(),
                sources: (0..sources)
                    .map(|i| format!("203.0.113.{i}").parse().unwrap())
                    .collect(),
                accounts_targeted: 60,
                attempts: 120,
                summary: "60 accounts | 2 tries each".into(),
                accounts: vec![],
            }),
        )
    }

    /// The SD-PARAMs of the single SD-ELEMENT of an RFC 5424 message, unescaped, and the MSG
    /// after it; panics on anything §6.3 does not allow.
    fn parse_sd(msg: &str) -> (String, Vec<(String, String)>, String) {
        let start = msg.find(" [").expect("structured data") + 2;
        let mut chars = msg[start..].char_indices();
        let mut id = String::new();
        for (_, c) in chars.by_ref() {
            if c == ' ' || c == ']' {
                break;
            }
            id.push(c);
        }
        let mut params = Vec::new();
        let rest = &msg[start..];
        let mut i = start + id.len();
        loop {
            match &msg[i..i + 1] {
                "]" => {
                    let m = msg[i + 1..].strip_prefix(' ').expect("SP before MSG");
                    return (id, params, m.to_string());
                }
                " " => {}
                other => panic!("unexpected {other:?} in {rest}"),
            }
            let eq = i + 1 + msg[i + 1..].find("=\"").unwrap();
            let name = msg[i + 1..eq].to_string();
            assert!(sd_name(&name), "{name}");
            let mut value = String::new();
            let mut escaped = false;
            let mut end = None;
            for (j, c) in msg[eq + 2..].char_indices() {
                match (escaped, c) {
                    (true, c) => {
                        assert!(matches!(c, '"' | '\\' | ']'), "bad escape \\{c}");
                        value.push(c);
                        escaped = false;
                    }
                    (false, '\\') => escaped = true,
                    (false, '"') => {
                        end = Some(eq + 2 + j + 1);
                        break;
                    }
                    (false, ']') => panic!("unescaped ] in a value: {msg}"),
                    (false, c) => value.push(c),
                }
            }
            params.push((name, value));
            i = end.expect("closing quote");
        }
    }

    fn param<'a>(p: &'a [(String, String)], k: &str) -> &'a str {
        &p.iter()
            .find(|(n, _)| n == k)
            .unwrap_or_else(|| panic!("{k}"))
            .1
    }

    #[test]
    fn sd_values_escape_quote_backslash_and_bracket() {
        assert_eq!(escape_sd_value(r#"a"b\c]d[e"#), r#"a\"b\\c\]d[e"#);
        assert_eq!(escape_sd_value("ümlaut\r\n"), "ümlaut  ");
    }

    #[test]
    fn an_rfc5424_message_carries_hostile_values_that_parse_back() {
        let m = rfc5424(&compromised(), 10, "mx1.example.org", 4242, DEFAULT_SD_ID);
        // authpriv (10) × 8 + critical (2).
        let head = "<82>1 2024-05-06T07:08:09.123Z mx1.example.org portcullis 4242 account_compromised [portcullis@32473 ";
        assert!(m.starts_with(head), "{m}");
        let (id, params, text) = parse_sd(&m);
        assert_eq!(id, DEFAULT_SD_ID);
        assert_eq!(param(&params, "account"), HOSTILE.replace('\n', " "));
        assert_eq!(param(&params, "source"), "198.51.100.7");
        assert_eq!(param(&params, "campaign"), "c7");
        assert_eq!(param(&params, "evidence"), "success ] after \"spray\"");
        assert!(!m.contains('\n'), "one line: {m:?}");
        assert!(text.starts_with("portcullis: account jü\"rg]en"), "{text}");
        assert!(
            text.contains("compromised (c7), from 198.51.100.7"),
            "{text}"
        );
    }

    #[test]
    fn long_lists_are_cut_and_counted() {
        let m = rfc5424(&campaign(30), 4, "-", 1, DEFAULT_SD_ID);
        assert!(m.starts_with("<36>1 "), "auth × 8 + warning: {m}");
        let (_, params, _) = parse_sd(&m);
        assert_eq!(param(&params, "sources").split(',').count(), MAX_LIST);
        assert_eq!(param(&params, "sources_total"), "30");
        assert_eq!(param(&params, "id"), "c3");
        assert_eq!(param(&params, "attempts"), "120");
        assert_eq!(param(&params, "summary"), "60 accounts | 2 tries each");
        // An empty list is left out, not sent as "".
        let m = rfc5424(&campaign(0), 4, "-", 1, DEFAULT_SD_ID);
        let (_, params, _) = parse_sd(&m);
        assert!(params.iter().all(|(k, _)| k != "sources"), "{m}");
    }

    #[test]
    fn cef_escapes_header_and_extension() {
        assert_eq!(escape_cef_header("a|b\\c\nd=e"), "a\\|b\\\\c d=e");
        assert_eq!(escape_cef_value("a=b\\c\nd\re|f"), "a\\=b\\\\c\\nd\\re|f");
    }

    /// The seven header fields and the extension of a CEF line (after `CEF:`), unescaped.
    fn parse_cef(line: &str) -> (Vec<String>, Vec<(String, String)>) {
        let body = &line[line.find("CEF:").unwrap() + 4..];
        let mut header = vec![String::new()];
        let mut chars = body.chars();
        while header.len() < 8 {
            match chars.next().expect("seven header fields") {
                '\\' => {
                    let c = chars.next().unwrap();
                    assert!(matches!(c, '|' | '\\'), "bad header escape \\{c}");
                    header.last_mut().unwrap().push(c);
                }
                '|' => header.push(String::new()),
                c => header.last_mut().unwrap().push(c),
            }
        }
        header.pop();
        // Extension: `key=value` pairs; a value runs to the space before the next
        // unescaped `key=`.
        let ext: String = chars.collect();
        let mut pairs: Vec<(String, String)> = Vec::new();
        let mut cur = String::new();
        let mut it = ext.chars().peekable();
        let mut raw_pairs: Vec<(String, String)> = Vec::new();
        while let Some(c) = it.next() {
            match c {
                '\\' => {
                    let e = it.next().unwrap();
                    cur.push(match e {
                        'n' => '\n',
                        'r' => '\r',
                        '=' | '\\' => e,
                        other => panic!("bad extension escape \\{other}"),
                    });
                }
                '=' => {
                    // The key is the last word of what came before.
                    let (before, key) = match cur.rfind(' ') {
                        Some(i) => (cur[..i].to_string(), cur[i + 1..].to_string()),
                        None => (String::new(), cur.clone()),
                    };
                    if let Some(last) = raw_pairs.last_mut() {
                        last.1 = before;
                    }
                    raw_pairs.push((key, String::new()));
                    cur.clear();
                }
                c => cur.push(c),
            }
        }
        if let Some(last) = raw_pairs.last_mut() {
            last.1 = cur;
        }
        pairs.extend(raw_pairs);
        (header, pairs)
    }

    #[test]
    fn a_cef_line_carries_hostile_values_that_parse_back() {
        let line = cef(&compromised(), 10, "mx1.example.org");
        assert!(line.starts_with("<82>"), "{line}");
        assert!(!line.contains('\n') && !line.contains('\r'), "{line:?}");
        let after_pri = &line[4..];
        let (stamp, rest) = after_pri.split_at(15);
        assert!(
            chrono::NaiveTime::parse_from_str(&stamp[7..], "%H:%M:%S").is_ok()
                && stamp.as_bytes()[3] == b' '
                && stamp.as_bytes()[6] == b' ',
            "RFC 3164 time: {stamp:?}"
        );
        assert!(rest.starts_with(" mx1.example.org CEF:0|"), "{rest}");
        let (header, ext) = parse_cef(&line);
        assert_eq!(
            header,
            [
                "0",
                "portcullis",
                "portcullis",
                env!("CARGO_PKG_VERSION"),
                "account_compromised",
                "Account compromised",
                "10"
            ]
        );
        let get = |k: &str| {
            ext.iter()
                .find(|(n, _)| n == k)
                .unwrap_or_else(|| panic!("{k} in {ext:?}"))
                .1
                .clone()
        };
        assert_eq!(get("suser"), HOSTILE);
        assert_eq!(get("src"), "198.51.100.7");
        assert_eq!(get("cs1Label"), "campaignId");
        assert_eq!(get("cs1"), "c7");
        assert_eq!(get("rt"), "1714979289123");
        assert_eq!(get("act"), "alerted");
        assert_eq!(get("cat"), "account_compromised");
        assert_eq!(get("reason"), "success ] after \"spray\"");
        assert!(get("msg").contains(HOSTILE), "{:?}", get("msg"));
    }

    #[test]
    fn a_cef_campaign_names_its_kind_sources_and_counts() {
        let line = cef(&campaign(2), 10, "h");
        let (header, ext) = parse_cef(&line);
        assert_eq!(header[5], "Campaign opened: password spray");
        assert_eq!(header[6], "7");
        let get = |k: &str| ext.iter().find(|(n, _)| n == k).map(|p| p.1.as_str());
        assert_eq!(get("cs1"), Some("c3"));
        assert_eq!(get("cs2"), Some("203.0.113.0,203.0.113.1"));
        assert_eq!(get("src"), None, "two sources: no single src");
        assert_eq!(get("cnt"), Some("120"));
        assert_eq!(get("cn1"), Some("60"));
        assert_eq!(get("start"), Some("1714979000000"));
        let flagged = Notice::finding(
            at(),
            &Finding::SourceFlagged(FlaggedSource {
                source: "198.51.100.0/24".parse().unwrap(),
                first_flagged: at(),
                reason: "r".into(),
                campaign: None,
            }),
        );
        let (_, ext) = parse_cef(&cef(&flagged, 10, "h"));
        let get = |k: &str| ext.iter().find(|(n, _)| n == k).map(|p| p.1.as_str());
        assert_eq!(get("src"), None, "a prefix is not an address");
        assert_eq!(get("cs2"), Some("198.51.100.0/24"));
        assert_eq!(get("cs1"), None);
        let up = Notice::admin(at(), &AdminAction::ShieldsDown, "ops|jane").unwrap();
        let (header, ext) = parse_cef(&cef(&up, 10, "h"));
        assert_eq!(header[4], "shields_down");
        assert_eq!(ext.iter().find(|(n, _)| n == "cs4").unwrap().1, "ops|jane");
    }

    #[test]
    fn octet_counting_counts_octets_not_characters() {
        assert_eq!(octet_counted("héllo".as_bytes()), b"6 h\xc3\xa9llo");
        let m = rfc5424(&compromised(), 10, "h", 1, DEFAULT_SD_ID);
        let f = octet_counted(m.as_bytes());
        let (len, rest) = f.split_at(f.iter().position(|&b| b == b' ').unwrap());
        assert_eq!(
            std::str::from_utf8(len).unwrap().parse::<usize>().unwrap(),
            rest.len() - 1
        );
    }

    #[test]
    fn severities_put_a_fallen_account_first() {
        let (crit, ten) = severity("account_compromised");
        for e in EVENTS {
            let (s, c) = severity(e);
            assert!(s >= crit && c <= ten && s <= 7 && c <= 10, "{e}");
        }
        assert!(severity("campaign_opened").1 > severity("campaign_updated").1);
    }

    #[test]
    fn configurations_that_cannot_work_are_refused() {
        let ok = SiemConfig {
            name: "soc".into(),
            address: "siem.example.org:514".into(),
            ..Default::default()
        };
        assert_eq!(ok.validate(), Ok(()));
        for (change, needle) in [
            (
                Box::new(|c: &mut SiemConfig| c.address = "siem.example.org".into())
                    as Box<dyn Fn(&mut SiemConfig)>,
                "address",
            ),
            (Box::new(|c| c.address = "h:0".into()), "address"),
            (Box::new(|c| c.address = "::1:514".into()), "address"),
            (Box::new(|c| c.address = "[nope]:514".into()), "address"),
            (Box::new(|c| c.transport = "http".into()), "transport"),
            (Box::new(|c| c.format = "leef".into()), "format"),
            (Box::new(|c| c.facility = "security".into()), "facility"),
            (Box::new(|c| c.hostname = "two words".into()), "hostname"),
            (Box::new(|c| c.sd_id = "portcullis".into()), "sd_id"),
            (Box::new(|c| c.sd_id = "x@y]".into()), "sd_id"),
            (Box::new(|c| c.events = vec!["all".into()]), "event"),
            (Box::new(|c| c.name = String::new()), "name"),
        ] {
            let mut c = ok.clone();
            change(&mut c);
            let e = c.validate().unwrap_err();
            assert!(e.contains(needle), "{e}");
        }
        let mut v6 = ok.clone();
        v6.address = "[2001:db8::1]:6514".into();
        v6.transport = "tcp".into();
        v6.format = "cef".into();
        v6.facility = "local4".into();
        assert_eq!(v6.validate(), Ok(()));
    }
}
