//! Dovecot: login processes (imap/pop3/submission/managesieve `-login`), the auth process and
//! auth workers, and PAM's `pam_unix(dovecot:auth)` lines, for Dovecot 2.2, 2.3 and 2.4.
//!
//! Which lines are attempts:
//! * login process: `Login:` (2.2/2.3), `Logged in:` (2.4) / `proxy(..): started proxying` (2.4:
//!   `Started`) = success (2.4 writes `secured` where 2.3 wrote `TLS`; neither matters here);
//!   `(auth failed, N attempts …)` in `Disconnected`, `Aborted login`, 2.4's `Login aborted: …`
//!   and any other wording = N failures (`bad_password`: the login process cannot tell a wrong
//!   password from an unknown user); `(tried to use disabled|disallowed … auth)` and `(proxy
//!   dest auth failed)` = one `other_failure`. `no auth attempts`, TLS handshake failures, `client didn't
//!   finish SASL auth` and `disconnected before auth was ready` are not attempts.
//! * auth / auth-worker (`auth_verbose=yes`): `driver(user,ip[,<session>]): Password mismatch`
//!   = `bad_password`; `unknown user` = `unknown_account`; `pam_authenticate() failed: …` by its
//!   PAM text; LDAP `invalid credentials`; 2.4's `auth(user,ip,sasl:mech)<session>: sql: …`.
//! * `pam_unix(dovecot:auth): authentication failure; … rhost=IP [user=U]` = `bad_password`.
//!
//! One attempt often appears as two or three lines (auth line, PAM line, login line at
//! disconnect). [`Dedup`] counts it once: per (client address, account) it counts the lines of
//! each kind; since each kind logs an attempt at most once, the number of distinct attempts is
//! the largest of the three counts, and each line emits only the increase of that maximum.
//! Entries live ten minutes after their last line (event time) and the table holds at most
//! 65,536 of them (oldest-first sweeps; if still full, it is cleared, which can only cause a
//! double count, never a lost one).

use crate::header::Header;
use crate::scan::{contains_ci, find_lit, leading_u64, rfind_lit, starts_with_ci, sub, tail};
use crate::{LineResult, ParseCtx, Sink, reason};
use ahash::AHashMap;
use portcullis_core::{Account, AuthEvent, Outcome, Protocol, Timestamp};
use std::net::IpAddr;

/// PAM service names Dovecot is configured with (`dovecot` by default, or per protocol).
pub fn is_pam_service(s: &str) -> bool {
    matches!(
        s,
        "dovecot" | "imap" | "pop3" | "pop" | "smtp" | "submission" | "sieve" | "managesieve"
    )
}

/// Line kinds for [`Dedup`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// auth / auth-worker passdb line.
    Backend = 0,
    /// PAM module line.
    Pam = 1,
    /// Front-end line: login process (or Postfix SASL, when sharing a stream).
    Front = 2,
}

struct Entry {
    account: Box<str>,
    counts: [u32; 3],
    emitted: u32,
    last: Timestamp,
}

/// The bounded "one attempt, several lines" window keyed by (address, account).
pub struct Dedup {
    map: AHashMap<IpAddr, Vec<Entry>>,
    len: usize,
    /// Set at the first backend or PAM line: before that, front lines need no bookkeeping.
    active: bool,
    ops: u32,
}

impl Default for Dedup {
    fn default() -> Self {
        Dedup {
            map: AHashMap::new(),
            len: 0,
            active: false,
            ops: 0,
        }
    }
}

const WINDOW_SECS: i64 = 600;
const MAX_ENTRIES: usize = 65_536;

impl Dedup {
    /// Records `n` lines of `kind` for (ip, account) at `ts`; returns how many new attempts
    /// they reveal. `account` is the normalised name ("" when the line names none).
    pub fn record(&mut self, ip: IpAddr, account: &str, kind: Kind, n: u32, ts: Timestamp) -> u32 {
        if kind == Kind::Front && !self.active {
            return n;
        }
        self.active = true;
        self.ops = self.ops.wrapping_add(1);
        if self.ops.is_multiple_of(4096) || self.len >= MAX_ENTRIES {
            self.sweep(ts);
        }
        let horizon = ts.plus_secs(-WINDOW_SECS);
        let list = self.map.entry(ip).or_default();
        let before = list.len();
        list.retain(|e| e.last >= horizon);
        self.len -= before - list.len();
        let k = kind as usize;
        let idx = if account.is_empty() {
            // A line without an account belongs to the entry of this address still missing a
            // line of its kind the most.
            list.iter()
                .enumerate()
                .map(|(i, e)| (i, e.counts.iter().max().unwrap_or(&0) - e.counts[k]))
                .filter(|&(_, d)| d > 0)
                .max_by_key(|&(_, d)| d)
                .map(|(i, _)| i)
                .or_else(|| list.iter().position(|e| e.account.is_empty()))
        } else {
            list.iter()
                .position(|e| &*e.account == account)
                .or_else(|| {
                    // An unnamed entry is adopted by the first named line from its address.
                    let i = list.iter().position(|e| e.account.is_empty())?;
                    list[i].account = account.into();
                    Some(i)
                })
        };
        let i = match idx {
            Some(i) => i,
            None => {
                list.push(Entry {
                    account: account.into(),
                    counts: [0; 3],
                    emitted: 0,
                    last: ts,
                });
                self.len += 1;
                list.len() - 1
            }
        };
        let e = &mut list[i];
        e.counts[k] = e.counts[k].saturating_add(n);
        e.last = e.last.max(ts);
        let distinct = *e.counts.iter().max().unwrap_or(&0);
        let new = distinct.saturating_sub(e.emitted);
        e.emitted = distinct;
        new
    }

    fn sweep(&mut self, now: Timestamp) {
        let horizon = now.plus_secs(-WINDOW_SECS);
        self.map.retain(|_, v| {
            v.retain(|e| e.last >= horizon);
            !v.is_empty()
        });
        self.len = self.map.values().map(Vec::len).sum();
        if self.len >= MAX_ENTRIES {
            self.map.clear();
            self.len = 0;
        }
    }
}

/// What a login-process line says, borrowed from the line (exposed for tests and tools).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LoginFields<'a> {
    pub user: Option<&'a str>,
    pub method: Option<&'a str>,
    pub rip: Option<&'a str>,
    pub lip: Option<&'a str>,
    pub session: Option<&'a str>,
}

/// Value of the field whose key starts at `pos` (`klen` bytes with the `=`), up to `,` or end.
fn field(s: &str, pos: Option<usize>, klen: usize) -> Option<&str> {
    let p = pos?;
    let v = tail(s, p + klen);
    let v = match memchr::memchr(b',', v.as_bytes()) {
        Some(i) => &v[..i],
        None => v,
    };
    Some(v.trim())
}

/// A key position (of `key=`), if it starts a field: preceded by a space (", key=" or
/// ": key=").
fn key_at(s: &str, p: Option<usize>) -> Option<usize> {
    let p = p?;
    (p > 0 && s.as_bytes()[p - 1] == b' ').then_some(p)
}

/// Reads the `user=<…>, method=…, rip=…, lip=…, session=<…>` fields of a login-process line.
/// The address fields are taken from their LAST occurrence (they follow the user name, which a
/// client chooses and may fill with `>, rip=1.2.3.4`); the user name runs from the first
/// `user=<` to the last `>` before the next real field.
///
/// One backward pass over the `=` signs finds the last `rip=`, `lip=`, `session=<` and the
/// last `method=` before that `rip=` (this is the hot path of every Dovecot log).
pub fn login_fields(s: &str) -> LoginFields<'_> {
    let b = s.as_bytes();
    let ends = |q: usize, key: &[u8]| q >= key.len() && &b[q - key.len()..q] == key;
    let (mut rip, mut lip, mut session) = (None, None, None);
    let (mut method_last, mut method_before_rip) = (None, None);
    for q in memchr::memrchr_iter(b'=', b) {
        if rip.is_none() && ends(q, b"rip") {
            rip = Some(q - 3);
        } else if lip.is_none() && ends(q, b"lip") {
            lip = Some(q - 3);
        } else if session.is_none() && ends(q, b"session") && b.get(q + 1) == Some(&b'<') {
            session = Some(q - 7);
        } else if method_before_rip.is_none() && ends(q, b"method") {
            if method_last.is_none() {
                method_last = Some(q - 6);
            }
            if rip.is_some() {
                method_before_rip = Some(q - 6);
                // Nothing further back can matter once a real `rip=` field is known (an
                // earlier `lip=` would not count) and the session is found.
                if session.is_some() && key_at(s, rip).is_some() {
                    break;
                }
            }
        }
    }
    let rip_p = key_at(s, rip);
    let limit = rip_p.unwrap_or(s.len());
    // `method=` is searched before the rip= field when there is one, else anywhere.
    let method_p = key_at(
        s,
        if rip_p.is_some() {
            method_before_rip
        } else {
            method_last
        },
    );
    let lip_p = key_at(s, lip).filter(|&p| Some(p) > rip_p);
    let session = key_at(s, session).and_then(|p| {
        let v = tail(s, p + 9);
        memchr::memchr(b'>', v.as_bytes()).map(|e| &v[..e])
    });
    let user = find_lit!(s, "user=<").filter(|&p| p < limit).and_then(|p| {
        let end_lim = method_p.unwrap_or(limit);
        let seg = sub(s, p + 6, end_lim);
        memchr::memrchr(b'>', seg.as_bytes()).map(|e| &seg[..e])
    });
    LoginFields {
        user,
        method: field(s, method_p, 7),
        rip: field(s, rip_p, 4),
        lip: field(s, lip_p, 4),
        session,
    }
}

/// Strips Dovecot's own log-level prefix (`Info: `, `Error: `, …).
fn strip_level(s: &str) -> &str {
    for p in [
        "Info: ",
        "Error: ",
        "Warning: ",
        "Debug: ",
        "Fatal: ",
        "Panic: ",
    ] {
        if let Some(r) = s.strip_prefix(p) {
            return r;
        }
    }
    s
}

/// Passdb / userdb driver names that prefix auth lines: `sql(user,ip): …`.
const DRIVERS: [&str; 16] = [
    "pam",
    "passwd-file",
    "passwd",
    "shadow",
    "sql",
    "ldap",
    "checkpassword",
    "bsdauth",
    "static",
    "vpopmail",
    "oauth2",
    "lua",
    "dict",
    "imap",
    "cram-md5",
    "policy",
];

/// The leftmost `driver(` of a known driver that starts a word: position of its `(`.
fn driver_open(msg: &str) -> Option<usize> {
    let b = msg.as_bytes();
    memchr::memchr_iter(b'(', b).find(|&p| {
        let start = b[..p].iter().rposition(|&c| c == b' ').map_or(0, |i| i + 1);
        DRIVERS.contains(&&msg[start..p])
    })
}

/// Per-stream Dovecot state.
#[derive(Default)]
pub struct Dovecot {
    pub(crate) dedup: Dedup,
}

/// Pushes `n` events for one line (the account is moved into the last, cloned for the others).
#[allow(clippy::too_many_arguments)]
fn push_events(
    out: Sink,
    n: u32,
    h: &Header<'_>,
    ctx: &ParseCtx,
    protocol: Protocol,
    account: Account,
    ip: Option<IpAddr>,
    outcome: Outcome,
    session: Option<&str>,
) {
    let one = |account: Account| {
        let mut ev = AuthEvent::new(h.ts, protocol, account, ip, outcome);
        ev.session = session.filter(|s| !s.is_empty()).map(str::to_owned);
        ev.server = h.host.map(str::to_owned);
        ev.origin.file = ctx.file.clone();
        ev.origin.line = ctx.line;
        ev
    };
    for _ in 1..n {
        out.push(one(account.clone()));
    }
    if n > 0 {
        out.push(one(account));
    }
}

/// Classifies the text of an auth/auth-worker line; None if it is not an authentication result.
pub fn backend_outcome(text: &str) -> Option<Outcome> {
    if contains_ci(text, "password mismatch") || contains_ci(text, "invalid credentials") {
        return Some(Outcome::BadPassword);
    }
    if contains_ci(text, "unknown user") {
        return Some(Outcome::UnknownAccount);
    }
    if let Some(p) = find_lit!(text, "pam_authenticate() failed: ")
        .or_else(|| find_lit!(text, "pam_acct_mgmt() failed: "))
    {
        let why = tail(text, p);
        return Some(
            if contains_ci(why, "user not known") || contains_ci(why, "unknown user") {
                Outcome::UnknownAccount
            } else if contains_ci(why, "expired") {
                Outcome::Expired
            } else if contains_ci(why, "authentication failure")
                && why.starts_with("pam_authenticate")
            {
                Outcome::BadPassword
            } else if why.starts_with("pam_acct_mgmt") {
                Outcome::Disabled
            } else {
                Outcome::OtherFailure
            },
        );
    }
    if contains_ci(text, "account is locked") || contains_ci(text, "account locked") {
        return Some(Outcome::Locked);
    }
    if contains_ci(text, "account expired") || contains_ci(text, "password expired") {
        return Some(Outcome::Expired);
    }
    if contains_ci(text, "account is disabled") || contains_ci(text, "user is disabled") {
        return Some(Outcome::Disabled);
    }
    None
}

/// `…: 2 Time(s)` (logcheck-style repetition) → 2.
fn times_suffix(text: &str) -> u32 {
    if let Some(r) = text.strip_suffix(" Time(s)")
        && let Some(p) = r.rfind(": ")
        && let Some((n, "")) = leading_u64(&r[p + 2..])
    {
        return n.clamp(1, 10_000) as u32;
    }
    1
}

/// The truncated SHA-1 Dovecot logs with `auth_verbose_passwords = sha1[:N]`:
/// `Password mismatch (SHA1 of given password: cb96b1)`. A fingerprint of the password tried,
/// never the password: the same value again for one account is the same wrong password again.
///
/// Only the FIRST `given password: ` of the text counts, and only when it is the SHA-1 form:
/// with `auth_verbose_passwords = plain` Dovecot writes `(given password: <the password>)`, and
/// nothing of a plaintext password is ever read, even one that spells a SHA-1 suffix.
fn given_password_sha1(text: &str) -> Option<(u64, bool)> {
    let p = find_lit!(text, "given password: ")?;
    if !text[..p].ends_with("(SHA1 of ") {
        return None;
    }
    let hex = tail(text, p + 16);
    let hex = &hex[..memchr::memchr(b')', hex.as_bytes())?];
    if hex.is_empty() || hex.len() > 40 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    // The whole SHA-1 (40 digits, Dovecot's default) or a truncation: its first 16 digits
    // are fingerprint enough. Unsalted (the same password, the same value on every account)
    // and, from 6 digits (24 bits) on, wide enough that unrelated wrong passwords of different
    // accounts rarely collide.
    let fp = u64::from_str_radix(&hex[..hex.len().min(16)], 16).ok()?;
    Some((fp, hex.len() >= 6))
}

/// Splits `user,ip[,<session>|,extra]` from the right.
fn split_args(args: &str) -> (&str, Option<IpAddr>, Option<&str>) {
    let mut a = args;
    let mut session = None;
    if a.ends_with('>')
        && let Some(p) = a.rfind(",<")
    {
        session = Some(&a[p + 2..a.len() - 1]);
        a = &a[..p];
    }
    let a = a.strip_suffix(',').unwrap_or(a);
    match a.rfind(',') {
        Some(p) => (&a[..p], crate::scan::ip(&a[p + 1..]), session),
        None => (a, None, session),
    }
}

impl Dovecot {
    pub fn parse(&mut self, h: &Header<'_>, ctx: &ParseCtx, out: Sink) -> LineResult {
        // Find the Dovecot sub-tag: the program itself (`imap-login`), or a prefix of the
        // message when logging through the `dovecot` program (`dovecot: imap-login: …`).
        let mut tag = h.tag;
        let mut prog = h.program;
        let mut msg = h.msg;
        loop {
            let m = strip_level(msg);
            if let Some(r) = m.strip_prefix("dovecot: ") {
                msg = r;
                continue;
            }
            if matches!(prog, "dovecot" | "dovecot-auth")
                && let Some(p) = find_lit!(m, ": ")
            {
                let t = &m[..p];
                let (tp, _) = t.split_once(['(', '[', '<']).unwrap_or((t, ""));
                if tp.ends_with("-login") || tp == "auth" || tp == "auth-worker" {
                    tag = t;
                    prog = tp;
                    msg = &m[p + 2..];
                    continue;
                }
            }
            msg = m;
            break;
        }
        if msg.starts_with("pam_unix(")
            || msg.starts_with("pam_sss(")
            || msg.starts_with("pam_ldap(")
        {
            return self.pam_line(h, msg, ctx, out);
        }
        if prog.ends_with("-login") {
            return self.login_line(h, prog, msg, ctx, out);
        }
        if prog.starts_with("auth") || prog == "dovecot" || prog == "dovecot-auth" {
            return self.backend_line(h, tag, msg, ctx, out);
        }
        LineResult::Skip(reason::NOT_AUTH)
    }

    fn login_line(
        &mut self,
        h: &Header<'_>,
        prog: &str,
        msg: &str,
        ctx: &ParseCtx,
        out: Sink,
    ) -> LineResult {
        let protocol = match prog {
            "imap-login" => Protocol::Imap,
            "pop3-login" => Protocol::Pop3,
            "submission-login" => Protocol::Submission,
            "managesieve-login" => Protocol::Managesieve,
            p => Protocol::from_service(p),
        };
        // 2.2/2.3 write `Login:`, 2.4 `Logged in:`; a proxy writes `started proxying` (any case).
        let (outcome, n) = if msg.starts_with("Login: ")
            || msg.starts_with("Logged in: ")
            || (msg.starts_with("proxy(") && contains_ci(msg, "): started proxying"))
        {
            (Outcome::Success, 1)
        } else {
            // The reason is a parenthesised server text before the fields. Only the part before
            // `user=<` is searched: the user name is client-chosen and could spell
            // "(auth failed, 9999 attempts" or "(no auth attempts".
            let head = sub(msg, 0, find_lit!(msg, "user=<").unwrap_or(msg.len()));
            let mut found = None;
            for p in memchr::memchr_iter(b'(', head.as_bytes()) {
                let r = &head[p + 1..];
                if let Some(r) = r.strip_prefix("auth failed, ") {
                    found = match leading_u64(r) {
                        Some((n, r)) if r.starts_with(" attempt") => {
                            Some((Outcome::BadPassword, n.min(10_000) as u32))
                        }
                        _ => return LineResult::Skip(reason::UNRECOGNISED),
                    };
                    break;
                }
                if r.starts_with("tried to use disabled ")
                    || r.starts_with("tried to use disallowed ")
                    || r.starts_with("proxy dest auth failed")
                {
                    found = Some((Outcome::OtherFailure, 1));
                    break;
                }
                if r.starts_with("no auth attempts")
                    || r.starts_with("disconnected before auth was ready")
                    || r.starts_with("client didn't finish")
                    || r.starts_with("disconnected during TLS handshake")
                    || r.starts_with("auth aborted")
                {
                    return LineResult::Skip(reason::NOT_AN_ATTEMPT);
                }
            }
            match found {
                Some(x) => x,
                None => return LineResult::Skip(reason::NOT_AUTH),
            }
        };
        if n == 0 {
            return LineResult::Skip(reason::NOT_AN_ATTEMPT);
        }
        let f = login_fields(msg);
        let ip = f.rip.and_then(crate::scan::ip);
        let acct = Account::new(f.user.unwrap_or(""), &ctx.normalize);
        let n = if outcome.is_failure()
            && let Some(ip) = ip
        {
            self.dedup.record(ip, &acct.name, Kind::Front, n, h.ts)
        } else {
            n
        };
        push_events(out, n, h, ctx, protocol, acct, ip, outcome, f.session);
        LineResult::Events(n as usize)
    }

    fn backend_line(
        &mut self,
        h: &Header<'_>,
        tag: &str,
        msg: &str,
        ctx: &ParseCtx,
        out: Sink,
    ) -> LineResult {
        // 2.4: the tag carries the request: auth(user,ip,sasl:mech)<session>.
        let (user, ip, session, text) = if let Some(open) = tag.find('(')
            && let Some(close) = tag.rfind(')')
            && close > open
            && find_lit!(&tag[open..close], ",").is_some()
        {
            let args = &tag[open + 1..close];
            let sess = tag[close + 1..]
                .strip_prefix('<')
                .and_then(|s| s.strip_suffix('>'));
            // Drop a trailing mechanism part ("sasl:login").
            let args = match args.rfind(',') {
                Some(p)
                    if args[p + 1..].contains(':') && crate::scan::ip(&args[p + 1..]).is_none() =>
                {
                    &args[..p]
                }
                _ => args,
            };
            let (u, ip, s2) = split_args(args);
            (u, ip, sess.or(s2), msg)
        } else {
            // 2.2/2.3: … driver(user,ip[,<session>]): text — the leftmost known driver, the
            // last "): " (a user name cannot move the driver, and texts contain no "): ").
            let Some(open) = driver_open(msg).map(|p| p + 1) else {
                return match backend_outcome(msg) {
                    Some(_) => LineResult::Skip(reason::UNRECOGNISED),
                    None => LineResult::Skip(reason::NOT_AUTH),
                };
            };
            let Some(close) = rfind_lit!(msg, "): ").filter(|&c| c >= open) else {
                return LineResult::Skip(reason::UNRECOGNISED);
            };
            let (u, ip, s) = split_args(&msg[open..close]);
            (u, ip, s, &msg[close + 3..])
        };
        let Some(outcome) = backend_outcome(text) else {
            return LineResult::Skip(reason::NOT_AUTH);
        };
        let Some(ip) = ip else {
            return LineResult::Skip(reason::NO_SOURCE);
        };
        let n = times_suffix(text);
        let acct = Account::new(user, &ctx.normalize);
        let n = self.dedup.record(ip, &acct.name, Kind::Backend, n, h.ts);
        let first = out.len();
        push_events(
            out,
            n,
            h,
            ctx,
            Protocol::Other,
            acct,
            Some(ip),
            outcome,
            session,
        );
        if let Some((fp, unsalted)) = given_password_sha1(text) {
            for ev in &mut out[first..] {
                ev.password_fingerprint = Some(fp);
                ev.fingerprint_unsalted = unsalted;
            }
        }
        LineResult::Events(n as usize)
    }

    fn pam_line(&mut self, h: &Header<'_>, msg: &str, ctx: &ParseCtx, out: Sink) -> LineResult {
        let Some(p) = find_lit!(msg, "): ") else {
            return LineResult::Skip(reason::UNRECOGNISED);
        };
        let text = &msg[p + 3..];
        if !starts_with_ci(text, "authentication failure;") {
            return LineResult::Skip(reason::NOT_AUTH);
        }
        let (ip, user) = pam_rhost_user(text);
        let Some(ip) = ip else {
            return LineResult::Skip(reason::NO_SOURCE);
        };
        let user = user.unwrap_or("");
        let acct = Account::new(user, &ctx.normalize);
        let n = self.dedup.record(ip, &acct.name, Kind::Pam, 1, h.ts);
        push_events(
            out,
            n,
            h,
            ctx,
            Protocol::Other,
            acct,
            Some(ip),
            Outcome::BadPassword,
            None,
        );
        LineResult::Events(n as usize)
    }
}

/// `rhost=` and `user=` of a PAM `authentication failure; logname= … rhost=IP  user=U` text.
/// Fields are space-separated `key=value` tokens; only whole tokens count, so a value like
/// `ruser=rhost=1.2.3.4` cannot pose as the address.
pub fn pam_rhost_user(text: &str) -> (Option<IpAddr>, Option<&str>) {
    let mut ip = None;
    let mut user = None;
    let mut rest = text;
    // user= is last and its value may contain spaces: split it off first.
    if let Some(p) = rfind_lit!(text, " user=") {
        user = Some(text[p + 6..].trim());
        rest = &text[..p];
    }
    for tok in rest.split(' ') {
        if let Some(v) = tok.strip_prefix("rhost=") {
            ip = crate::scan::ip(v);
        }
    }
    (ip, user.filter(|u| !u.is_empty()))
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::parse_syslog_lines_for_test as run;

    /// The definition `login_fields` implements in one pass: each key by a separate search
    /// for its last occurrence.
    fn login_fields_by_definition(s: &str) -> LoginFields<'_> {
        fn last(s: &str, needle: &str) -> Option<usize> {
            key_at(s, s.rfind(needle))
        }
        let rip_p = last(s, "rip=");
        let limit = rip_p.unwrap_or(s.len());
        let method_p = key_at(s, s[..limit].rfind("method="));
        let lip_p = last(s, "lip=").filter(|&p| Some(p) > rip_p);
        let session = last(s, "session=<").and_then(|p| {
            let v = &s[p + 9..];
            v.find('>').map(|e| &v[..e])
        });
        let user = s.find("user=<").filter(|&p| p < limit).and_then(|p| {
            let seg = sub(s, p + 6, method_p.unwrap_or(limit));
            seg.rfind('>').map(|e| &seg[..e])
        });
        LoginFields {
            user,
            method: field(s, method_p, 7),
            rip: field(s, rip_p, 4),
            lip: field(s, lip_p, 4),
            session,
        }
    }

    proptest::proptest! {
        #[test]
        fn login_fields_one_pass_agrees_with_the_definition(
            parts in proptest::collection::vec(
                proptest::sample::select(vec![
                    "user=<", ">", ", ", " ", "method=", "PLAIN", "rip=", "lip=", "xrip=",
                    "session=<", "session=", "1.2.3.4", "=", "<", "a", "é", ",",
                ]),
                0..24,
            )
        ) {
            let s: String = parts.concat();
            let (a, b) = (login_fields(&s), login_fields_by_definition(&s));
            proptest::prop_assert_eq!(
                (a.user, a.method, a.rip, a.lip, a.session),
                (b.user, b.method, b.rip, b.lip, b.session),
                "{}", s
            );
        }
    }

    #[test]
    fn the_logged_sha1_of_a_wrong_password_is_its_fingerprint() {
        let evs = run(&[
            "2017-05-29T08:48:56.761508+00:00 mail1 dovecot: auth: passwd-file(aaron@example.org,51.48.87.52,<UAZ9xiJZccb1IDma>): Password mismatch (SHA1 of given password: cb96b1)",
            "2017-05-29T08:49:56.761508+00:00 mail1 dovecot: auth: passwd-file(aaron@example.org,51.48.87.52,<VAZ9xiJZccb1IDma>): Password mismatch",
            "2017-05-29T08:50:56.761508+00:00 mail1 dovecot: auth: passwd-file(karen@co.uk,192.0.2.1): unknown user (SHA1 of given password: 21bd1x)",
            // Plaintext mode: nothing of the password is read, even when it spells a hash.
            "2017-05-29T08:51:56.761508+00:00 mail1 dovecot: auth: passwd-file(bob@co.uk,192.0.2.2): Password mismatch (given password: x(SHA1 of given password: abcdef)",
        ]);
        let fps: Vec<Option<u64>> = evs.iter().map(|e| e.password_fingerprint).collect();
        assert_eq!(fps, [Some(0xcb96b1), None, None, None]);
        assert!(
            evs[0].fingerprint_unsalted,
            "the SHA-1 of the password alone"
        );
        assert!(evs[1..].iter().all(|e| !e.fingerprint_unsalted));
    }

    #[test]
    fn the_whole_sha1_is_read_and_short_truncations_are_not_cross_account_fingerprints() {
        let evs = run(&[
            // Dovecot's default `auth_verbose_passwords = sha1`: all 40 digits.
            "2017-05-29T08:48:56.761508+00:00 mail1 dovecot: auth: passwd-file(aaron@example.org,51.48.87.52): Password mismatch (SHA1 of given password: 5baa61e4c9b93f3f0682250b6cf8331b7ee68fd8)",
            // `sha1:3`: 12 bits, too narrow to tell one password tried on many accounts.
            "2017-05-29T08:49:56.761508+00:00 mail1 dovecot: auth: passwd-file(bob@example.org,51.48.87.53): Password mismatch (SHA1 of given password: 5ba)",
            // 41 digits is not a SHA-1.
            "2017-05-29T08:50:56.761508+00:00 mail1 dovecot: auth: passwd-file(carol@example.org,51.48.87.54): Password mismatch (SHA1 of given password: 5baa61e4c9b93f3f0682250b6cf8331b7ee68fd80)",
        ]);
        assert_eq!(evs[0].password_fingerprint, Some(0x5baa61e4c9b93f3f));
        assert!(evs[0].fingerprint_unsalted);
        assert_eq!(evs[1].password_fingerprint, Some(0x5ba));
        assert!(!evs[1].fingerprint_unsalted);
        assert_eq!(evs[2].password_fingerprint, None);
    }

    #[test]
    fn login_fields_resist_injection_through_the_user_name() {
        let f = login_fields(
            "Disconnected (auth failed, 1 attempts): user=<x>, rip=6.6.6.6, lip=1.1.1.1>, method=PLAIN, rip=192.0.2.9, lip=10.0.0.1, TLS, session=<abc>",
        );
        assert_eq!(f.rip, Some("192.0.2.9"));
        assert_eq!(f.lip, Some("10.0.0.1"));
        assert_eq!(f.user, Some("x>, rip=6.6.6.6, lip=1.1.1.1"));
        assert_eq!(f.method, Some("PLAIN"));
        assert_eq!(f.session, Some("abc"));
    }

    #[test]
    fn login_lines() {
        let ev = run(&[
            "Jun 13 16:30:54 mx dovecot: imap-login: Login: user=<Alice@Example.org>, method=PLAIN, rip=192.0.2.1, lip=10.0.0.1, mpid=123, TLS, session=<s1>",
            "Jun 13 16:30:55 mx dovecot: pop3-login: Disconnected (auth failed, 3 attempts in 9 secs): user=<bob>, method=PLAIN, rip=192.0.2.2, lip=10.0.0.1, session=<s2>",
            "Jun 13 16:30:56 mx dovecot: imap-login: Disconnected (no auth attempts in 0 secs): user=<>, rip=192.0.2.3, lip=10.0.0.1",
        ]);
        assert_eq!(ev.len(), 4);
        assert_eq!(ev[0].outcome, Outcome::Success);
        assert_eq!(ev[0].account.name, "alice@example.org");
        assert_eq!(ev[0].protocol, Protocol::Imap);
        assert_eq!(ev[0].server.as_deref(), Some("mx"));
        assert_eq!(ev[0].session.as_deref(), Some("s1"));
        assert!(
            ev[1..]
                .iter()
                .all(|e| e.outcome == Outcome::BadPassword && e.protocol == Protocol::Pop3)
        );
    }

    #[test]
    fn dovecot_24_login_lines() {
        // Written by a real Dovecot 2.4.1 (Debian 13), its own log_path (no host).
        let ev = run(&[
            "Dec 05 08:58:09 imap-login: Info: Logged in: user=<alice>, method=PLAIN, rip=192.0.2.10, lip=127.0.0.1, mpid=24356, secured, session=<lWkSMd9h+OV/AAAB>",
            "Dec 05 08:58:08 imap-login: Info: Login aborted: Connection closed (auth failed, 1 attempts in 0 secs) (auth_failed): user=<alice>, method=PLAIN, rip=203.0.113.5, lip=127.0.0.1, secured, session=<MfsIMd9h3uV/AAAB>",
            "Dec 05 08:58:09 imap-login: Info: Login aborted: Logged out (no auth attempts in 0 secs) (no_auth_attempts): user=<>, rip=127.0.0.1, lip=127.0.0.1, secured, session=<t70XMd9hAOZ/AAAB>",
            "Dec 05 08:58:12 imap-login: Info: Login aborted: Connection closed (disconnected before auth was ready, waited 0 secs) (auth_process_not_ready): user=<>, rip=127.0.0.1, lip=127.0.0.1, secured, session=<FFJFMd9hFuZ/AAAB>",
            // A 2.4.1 proxy (a second 2.4.1 as its backend): the proxied login, then its end.
            "Dec 05 09:20:42 imap-login: Info: proxy(carol,127.0.0.1:10146): Started proxying to remote host (0.057 secs): user=<carol>, method=PLAIN, rip=192.0.2.50, lip=127.0.0.1, secured, session=<Rfq2gd9hfJt/AAAB>",
            "Dec 05 09:20:42 imap-login: Info: proxy(carol,127.0.0.1:10146): Disconnected by server (0s idle, in=279, out=844): user=<carol>, method=PLAIN, rip=192.0.2.50, lip=127.0.0.1, secured, session=<Rfq2gd9hfJt/AAAB>",
            // Through syslog (hand-made: the framing of 2.3's lines).
            "Dec 05 08:58:13 mx dovecot: imap-login: Logged in: user=<bob>, method=PLAIN, rip=192.0.2.11, lip=10.0.0.1, mpid=1, TLS, session=<s3>",
        ]);
        let got: Vec<(Outcome, &str, Option<&str>)> = ev
            .iter()
            .map(|e| (e.outcome, e.account.name.as_str(), e.session.as_deref()))
            .collect();
        assert_eq!(
            got,
            [
                (Outcome::Success, "alice", Some("lWkSMd9h+OV/AAAB")),
                (Outcome::BadPassword, "alice", Some("MfsIMd9h3uV/AAAB")),
                (Outcome::Success, "carol", Some("Rfq2gd9hfJt/AAAB")),
                (Outcome::Success, "bob", Some("s3")),
            ]
        );
        assert_eq!(ev[0].source, Some("192.0.2.10".parse().unwrap()));
        assert_eq!(ev[0].protocol, Protocol::Imap);
        assert_eq!(ev[2].source, Some("192.0.2.50".parse().unwrap()));
    }

    #[test]
    fn auth_line_and_login_line_of_one_attempt_count_once() {
        // Shapes from fail2ban testlogs/dovecot.log (gh-4196): one auth line, then a login line
        // summarising 3 attempts: 3 events in all, the first with the auth line's outcome.
        let ev = run(&[
            "Aug 30 00:10:57 auth(info@example.com,192.0.2.110,sasl:login)<CvN>: Info: sql: unknown user",
            "Aug 30 00:11:05 imap-login: Info: Login aborted: Connection closed (auth failed, 3 attempts in 16 secs) (auth_failed): user=<info@example.com>, method=PLAIN, rip=192.0.2.110, lip=0.0.0.0, TLS, session=<CvN>",
        ]);
        assert_eq!(ev.len(), 3);
        assert_eq!(ev[0].outcome, Outcome::UnknownAccount);
        assert_eq!(ev[0].session.as_deref(), Some("CvN"));
        assert_eq!(ev[1].protocol, Protocol::Imap);
        // PAM + auth-worker + login for one attempt: one event.
        let ev = run(&[
            "Jun 15 13:57:41 h auth: pam_unix(dovecot:auth): authentication failure; logname= uid=0 euid=0 tty=dovecot ruser=web rhost=192.0.2.7  user=webapps",
            "Jun 15 13:57:41 h dovecot: auth-worker(3270): pam(webapps,192.0.2.7): pam_authenticate() failed: Authentication failure (Password mismatch?)",
            "Jun 15 13:57:43 h dovecot: imap-login: Disconnected (auth failed, 1 attempts in 2 secs): user=<webapps>, method=PLAIN, rip=192.0.2.7, lip=10.0.0.1",
        ]);
        assert_eq!(ev.len(), 1, "{ev:?}");
        // Two connections, each auth line + login line: two events.
        let ev = run(&[
            "Jun 15 13:57:41 h dovecot: auth: passwd-file(u,192.0.2.8): Password mismatch",
            "Jun 15 13:57:42 h dovecot: imap-login: Disconnected (auth failed, 1 attempts in 1 secs): user=<u>, rip=192.0.2.8",
            "Jun 15 13:57:43 h dovecot: auth: passwd-file(u,192.0.2.8): Password mismatch",
            "Jun 15 13:57:44 h dovecot: imap-login: Disconnected (auth failed, 1 attempts in 1 secs): user=<u>, rip=192.0.2.8",
        ]);
        assert_eq!(ev.len(), 2);
        // Outside the window, the same pair is a new attempt.
        let ev = run(&[
            "Jun 15 13:57:41 h dovecot: auth: passwd-file(u,192.0.2.8): Password mismatch",
            "Jun 15 14:57:42 h dovecot: imap-login: Disconnected (auth failed, 1 attempts in 1 secs): user=<u>, rip=192.0.2.8",
        ]);
        assert_eq!(ev.len(), 2);
    }

    #[test]
    fn reasons_in_the_user_name_do_not_count() {
        let ev = run(&[
            "Jun 13 16:30:55 mx dovecot: imap-login: Disconnected (tried to use disallowed plaintext auth): user=<x (auth failed, 9999 attempts>, rip=192.0.2.2, lip=10.0.0.1",
            "Jun 13 16:30:56 mx dovecot: imap-login: Disconnected (auth failed, 2 attempts in 3 secs): user=<(no auth attempts)>, rip=192.0.2.3, lip=10.0.0.1",
        ]);
        assert_eq!(ev.len(), 3);
        assert_eq!(ev[0].outcome, Outcome::OtherFailure);
        assert_eq!(ev[1].account.raw, "(no auth attempts)");
    }

    #[test]
    fn backend_outcomes() {
        assert_eq!(
            backend_outcome("Password mismatch (given password: x)"),
            Some(Outcome::BadPassword)
        );
        assert_eq!(
            backend_outcome(
                "pam_authenticate() failed: User not known to the underlying authentication module: 2 Time(s)"
            ),
            Some(Outcome::UnknownAccount)
        );
        assert_eq!(
            backend_outcome("pam_authenticate() failed: Permission denied"),
            Some(Outcome::OtherFailure)
        );
        assert_eq!(
            backend_outcome("pam_acct_mgmt() failed: User account has expired"),
            Some(Outcome::Expired)
        );
        assert_eq!(backend_outcome("lookup failed"), None);
        assert_eq!(times_suffix("module: 2 Time(s)"), 2);
    }

    #[test]
    fn pam_fields_are_whole_tokens() {
        let (ip, user) = pam_rhost_user(
            "authentication failure; logname= uid=0 euid=0 tty=dovecot ruser=rhost=1.2.3.4 rhost=192.0.43.10",
        );
        assert_eq!(ip, Some("192.0.43.10".parse().unwrap()));
        assert_eq!(user, None);
    }

    #[test]
    fn dedup_memory_is_bounded() {
        let mut d = Dedup::default();
        let t = Timestamp::from_unix_secs(1_000_000);
        for i in 0..(MAX_ENTRIES as u32 * 2) {
            let ip = IpAddr::from((i + 1).to_be_bytes());
            assert_eq!(d.record(ip, "a", Kind::Backend, 1, t), 1);
        }
        assert!(d.len <= MAX_ENTRIES);
    }
}
