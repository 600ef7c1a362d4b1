//! OpenSSH `sshd` / `sshd-session` lines.
//!
//! sshd writes several lines per attempt; these produce events (see docs/log-formats.md):
//! * `Failed <method> for [invalid user ]U from IP port N ssh2` — `bad_password`, or
//!   `unknown_account` for invalid users; `hostbased` = `other_failure`. `Failed none` is the
//!   client asking which methods exist, not a guess; `Failed publickey` for a valid user is a
//!   client trying its keys one by one (fail2ban gh-1263), not a guess either — both are skipped.
//!   `Failed publickey for invalid user` counts as `unknown_account`.
//! * `Accepted <method> for U from IP …` — `success`.
//! * `Invalid user U from IP` — `unknown_account`; `User U from IP not allowed because …` and
//!   `ROOT LOGIN REFUSED FROM IP` — `disabled`; `error: PAM: Authentication failure for U from
//!   H` (BSD/macOS) — `bad_password` (`User not known …` = `unknown_account`). Each of these
//!   leaves a *credit* for (IP, user, sshd pid): the next `Failed …` line for the same (IP,
//!   user) from the same process within five minutes is the same attempt and is absorbed (`Invalid user X from IP` followed by
//!   `Failed password for invalid user X from IP` = ONE attempt).
//! * `User U not allowed because account is locked` names no address: it is held per sshd
//!   process id and emitted (`locked`/`disabled`) with the address of that process's next line
//!   that has one (`Received disconnect from IP`, `Connection closed by IP`, a `Failed` line).
//! * `message repeated N times: [ … ]` = the inner line N times.
//! * `pam_unix(sshd:auth): authentication failure` is the PAM twin of a `Failed password` line
//!   (understood, no event); summaries (`maximum authentication attempts exceeded`, `Too many
//!   authentication failures`) and connection noise are not attempts.
//!
//! Address extraction resists injection through the user name (which the client chooses): the
//! address is the LAST ` from <host> port N sshN` followed by the end, `: ` or ` [preauth]`
//! (falling back to the last with a port, then the last; see [`from_clauses`]). Only for
//! `hostbased`, whose trailing auth info quotes a client-chosen name, is the first taken.

use crate::header::Header;
use crate::scan::{find_lit, leading_u64, rfind_lit, tail};
use crate::{LineResult, ParseCtx, Sink, reason};
use ahash::AHashMap;
use portcullis_core::{Account, AuthEvent, Outcome, Protocol, Timestamp};
use std::net::IpAddr;

const CREDIT_SECS: i64 = 300;
const MAX_KEYS: usize = 65_536;

/// Per-stream OpenSSH state: credits of first lines, and per-process held lines.
pub struct OpenSsh {
    credits: AHashMap<(IpAddr, u64), (u32, Timestamp)>,
    pending: AHashMap<u64, (String, Outcome, Timestamp)>,
    hasher: ahash::RandomState,
}

impl Default for OpenSsh {
    fn default() -> Self {
        OpenSsh {
            credits: AHashMap::new(),
            pending: AHashMap::new(),
            hasher: ahash::RandomState::with_seeds(1, 2, 3, 4),
        }
    }
}

/// Where the client address of an sshd message is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FromClause<'a> {
    /// Byte offset of the ` from ` that starts it (the user name ends here).
    pub at: usize,
    pub host: &'a str,
    pub ip: Option<IpAddr>,
    pub port: Option<u16>,
    /// `ssh1`/`ssh2` token when present.
    pub proto: Option<&'a str>,
}

fn host_like(h: &str) -> bool {
    !h.is_empty()
        && h.len() <= 255
        && h.bytes()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'-' | b':' | b'_' | b'%'))
}

/// Parses ` from HOST[ port N][ sshN]` at `s[at..]` and checks what follows.
fn from_at(s: &str, at: usize) -> Option<FromClause<'_>> {
    let r = tail(s, at + 6);
    let (host, mut r) = match r.find(' ') {
        Some(i) => (&r[..i], &r[i..]),
        None => (r, ""),
    };
    let host = host.strip_suffix(':').unwrap_or(host);
    if !host_like(host) {
        return None;
    }
    let mut port = None;
    if let Some(p) = r.strip_prefix(" port ") {
        let (n, rest) = leading_u64(p)?;
        port = u16::try_from(n).ok();
        r = rest;
    }
    let mut proto = None;
    for pr in [" ssh2", " ssh1"] {
        if let Some(rest) = r.strip_prefix(pr) {
            proto = Some(&pr[1..]);
            r = rest;
        }
    }
    let ok = r.is_empty()
        || r.starts_with(": ")
        || r == ":"
        || r == " [preauth]"
        || r.starts_with(" via ");
    if !ok {
        return None;
    }
    Some(FromClause {
        at,
        host,
        ip: crate::scan::ip(host),
        port,
        proto,
    })
}

/// The valid ` from ` clauses of `s`: (first, chosen). The chosen one is the last clause with
/// both a port and an `sshN` token, else the last with a port, else the last: sshd always
/// writes `port N` (and `ssh2` on `Failed`/`Accepted`) right after the real address, while the
/// SSH-1 `ruser from X` auth info that may follow it has neither.
pub fn from_clauses(s: &str) -> (Option<FromClause<'_>>, Option<FromClause<'_>>) {
    let mut first = None;
    let (mut last, mut last_port, mut last_full) = (None, None, None);
    let mut i = 0;
    while let Some(p) = find_lit!(tail(s, i), " from ") {
        let at = i + p;
        if let Some(c) = from_at(s, at) {
            first.get_or_insert(c);
            last = Some(c);
            if c.port.is_some() {
                last_port = Some(c);
                if c.proto.is_some() {
                    last_full = Some(c);
                }
            }
        }
        i = at + 1;
    }
    (first, last_full.or(last_port).or(last))
}

fn pid_key(h: &Header<'_>) -> Option<u64> {
    h.pid.and_then(|p| p.parse::<u64>().ok())
}

impl OpenSsh {
    /// Credit key: the user name and the sshd process (one process per connection), so that a
    /// connection that logged `Invalid user` and then gave up leaves no credit to the next one.
    fn user_key(&self, user: &str, pid: Option<u64>) -> u64 {
        self.hasher.hash_one((user, pid))
    }

    fn add_credit(&mut self, h: &Header<'_>, ip: Option<IpAddr>, user: &str) {
        let ts = h.ts;
        let Some(ip) = ip else { return };
        if self.credits.len() >= MAX_KEYS {
            let horizon = ts.plus_secs(-CREDIT_SECS);
            self.credits.retain(|_, v| v.1 >= horizon);
            if self.credits.len() >= MAX_KEYS {
                self.credits.clear();
            }
        }
        let k = (ip, self.user_key(user, pid_key(h)));
        let e = self.credits.entry(k).or_insert((0, ts));
        if e.1 < ts.plus_secs(-CREDIT_SECS) {
            e.0 = 0;
        }
        e.0 += 1;
        e.1 = ts;
    }

    fn take_credit(&mut self, h: &Header<'_>, ip: Option<IpAddr>, user: &str) -> bool {
        let ts = h.ts;
        let Some(ip) = ip else { return false };
        if self.credits.is_empty() {
            return false;
        }
        let k = (ip, self.user_key(user, pid_key(h)));
        match self.credits.get_mut(&k) {
            Some(e) if e.0 > 0 && e.1 >= ts.plus_secs(-CREDIT_SECS) => {
                e.0 -= 1;
                if e.0 == 0 {
                    self.credits.remove(&k);
                }
                true
            }
            _ => false,
        }
    }

    pub fn parse(&mut self, h: &Header<'_>, ctx: &ParseCtx, out: Sink) -> LineResult {
        let msg = h.msg.strip_suffix(' ').unwrap_or(h.msg);
        if let Some(r) = msg.strip_prefix("message repeated ")
            && let Some((n, r)) = leading_u64(r)
            && let Some(inner) = r.strip_prefix(" times: [")
        {
            let inner = inner.trim_end().strip_suffix(']').unwrap_or(inner).trim();
            let mut total = 0;
            let mut last = LineResult::Skip(reason::NOT_AUTH);
            for _ in 0..n.min(10_000) {
                last = self.message(h, inner, ctx, out);
                if let LineResult::Events(k) = last {
                    total += k;
                } else {
                    break;
                }
            }
            return if total > 0 {
                LineResult::Events(total)
            } else {
                last
            };
        }
        self.message(h, msg, ctx, out)
    }

    fn emit(
        &self,
        h: &Header<'_>,
        ctx: &ParseCtx,
        user: &str,
        ip: Option<IpAddr>,
        outcome: Outcome,
        out: Sink,
    ) {
        let mut ev = AuthEvent::new(
            h.ts,
            Protocol::Ssh,
            Account::new(user, &ctx.normalize),
            ip,
            outcome,
        );
        ev.server = h.host.map(str::to_owned);
        ev.origin.file = ctx.file.clone();
        ev.origin.line = ctx.line;
        out.push(ev);
    }

    fn message(&mut self, h: &Header<'_>, msg: &str, ctx: &ParseCtx, out: Sink) -> LineResult {
        let msg = msg.strip_prefix("error: ").unwrap_or(msg);
        if let Some(r) = msg.strip_prefix("Failed ") {
            return self.failed(h, r, ctx, out);
        }
        if let Some(r) = msg.strip_prefix("Accepted ") {
            let Some((_method, r)) = r.split_once(" for ") else {
                return LineResult::Skip(reason::UNRECOGNISED);
            };
            let (_, last) = from_clauses(r);
            let Some(c) = last else {
                return LineResult::Skip(reason::UNRECOGNISED);
            };
            if let Some(pid) = pid_key(h) {
                self.pending.remove(&pid);
            }
            self.emit(h, ctx, &r[..c.at], c.ip, Outcome::Success, out);
            return LineResult::Events(1);
        }
        if let Some(r) = msg
            .strip_prefix("Invalid user ")
            .or_else(|| msg.strip_prefix("Illegal user "))
        {
            // "Invalid user  from IP" has an empty name: the clause starts at offset 0.
            let r2 = if r.starts_with("from ") {
                format!(" {r}")
            } else {
                String::new()
            };
            let (user, c) = if r2.is_empty() {
                let (_, last) = from_clauses(r);
                match last {
                    Some(c) => (&r[..c.at], c),
                    None => return LineResult::Skip(reason::UNRECOGNISED),
                }
            } else {
                match from_clauses(&r2).1 {
                    Some(c) => ("", FromClause { host: "", ..c }),
                    None => return LineResult::Skip(reason::UNRECOGNISED),
                }
            };
            self.add_credit(h, c.ip, user);
            self.emit(h, ctx, user, c.ip, Outcome::UnknownAccount, out);
            return LineResult::Events(1);
        }
        if let Some(r) = msg.strip_prefix("User ")
            && let Some(p) = rfind_lit!(r, " not allowed because ")
        {
            let why = &r[p + 21..];
            let head = &r[..p];
            let outcome = if why.contains("locked") {
                Outcome::Locked
            } else if why.contains("expired") {
                Outcome::Expired
            } else {
                Outcome::Disabled
            };
            let (_, last) = from_clauses(head);
            return match last {
                Some(c) => {
                    let user = &head[..c.at];
                    self.add_credit(h, c.ip, user);
                    self.emit(h, ctx, user, c.ip, outcome, out);
                    LineResult::Events(1)
                }
                None => {
                    // No address on this line: hold it for the process's next line.
                    if let Some(pid) = pid_key(h) {
                        if self.pending.len() >= MAX_KEYS {
                            self.pending.clear();
                        }
                        self.pending.insert(pid, (head.to_owned(), outcome, h.ts));
                        LineResult::Events(0)
                    } else {
                        LineResult::Skip(reason::NO_SOURCE)
                    }
                }
            };
        }
        if let Some(r) = msg.strip_prefix("PAM: ") {
            let (outcome, r) = if let Some(r) = r
                .strip_prefix("Authentication failure for ")
                .or_else(|| r.strip_prefix("authentication failure for "))
                .or_else(|| r.strip_prefix("Authentication error for "))
                .or_else(|| r.strip_prefix("authentication error for "))
            {
                (Outcome::BadPassword, r)
            } else if let Some(r) =
                r.strip_prefix("User not known to the underlying authentication module for ")
            {
                (Outcome::UnknownAccount, r)
            } else {
                return LineResult::Skip(reason::NOT_AUTH);
            };
            let (invalid, r) = match r
                .strip_prefix("illegal user ")
                .or_else(|| r.strip_prefix("invalid user "))
            {
                Some(r) => (true, r),
                None => (false, r),
            };
            let (_, last) = from_clauses(r);
            let Some(c) = last else {
                return LineResult::Skip(reason::UNRECOGNISED);
            };
            let user = &r[..c.at];
            let outcome = if invalid {
                Outcome::UnknownAccount
            } else {
                outcome
            };
            self.add_credit(h, c.ip, user);
            self.emit(h, ctx, user, c.ip, outcome, out);
            return LineResult::Events(1);
        }
        if let Some(r) = msg.strip_prefix("ROOT LOGIN REFUSED FROM ") {
            let host = r.split([' ']).next().unwrap_or("");
            let ip = crate::scan::ip(host);
            self.add_credit(h, ip, "root");
            self.emit(h, ctx, "root", ip, Outcome::Disabled, out);
            return LineResult::Events(1);
        }
        if msg.starts_with("pam_unix(")
            || msg.starts_with("pam_sss(")
            || msg.starts_with("pam_ldap(")
        {
            // The PAM twin of the `Failed password` line sshd writes for the same attempt.
            return if msg.contains("authentication failure") {
                LineResult::Events(0)
            } else {
                LineResult::Skip(reason::NOT_AUTH)
            };
        }
        // Lines that may carry the address for a held `not allowed` line of this process.
        if !self.pending.is_empty()
            && let Some(pid) = pid_key(h)
            && self.pending.contains_key(&pid)
        {
            let host = [
                "Received disconnect from ",
                "Connection closed by ",
                "Disconnected from ",
                "Connection reset by ",
            ]
            .iter()
            .find_map(|p| msg.strip_prefix(p))
            .map(|r| {
                let r = r.strip_prefix("authenticating user ").unwrap_or(r);
                r.split([' ']).next().unwrap_or("").trim_end_matches(':')
            });
            if let Some(host) = host
                && let Some(ip) = crate::scan::ip(host)
                && let Some((user, outcome, _)) = self.pending.remove(&pid)
            {
                self.emit(h, ctx, &user, Some(ip), outcome, out);
                return LineResult::Events(1);
            }
        }
        if msg.starts_with("maximum authentication attempts exceeded")
            || msg.starts_with("Disconnecting: Too many authentication failures")
            || msg.contains(": Too many authentication failures")
        {
            return LineResult::Skip(reason::NOT_AN_ATTEMPT);
        }
        LineResult::Skip(reason::NOT_AUTH)
    }

    fn failed(&mut self, h: &Header<'_>, r: &str, ctx: &ParseCtx, out: Sink) -> LineResult {
        let Some((method, r)) = r.split_once(" for ") else {
            return LineResult::Skip(reason::UNRECOGNISED);
        };
        if method.contains(' ') {
            return LineResult::Skip(reason::UNRECOGNISED);
        }
        let (invalid, r) = match r
            .strip_prefix("invalid user ")
            .or_else(|| r.strip_prefix("illegal user "))
        {
            Some(r) => (true, r),
            None => (false, r),
        };
        // "invalid user  from IP" / "invalid user from X from IP": the name may start with "from".
        let padded;
        let (rr, shift) = if r.starts_with("from ") {
            padded = format!(" {r}");
            (padded.as_str(), 1usize)
        } else {
            (r, 0)
        };
        let (first, last) = from_clauses(rr);
        let Some(last) = last else {
            return LineResult::Skip(reason::UNRECOGNISED);
        };
        // hostbased auth info quotes the client-chosen remote user name after the address.
        let c = if method == "hostbased" {
            first.unwrap_or(last)
        } else {
            last
        };
        let user_end = c.at.saturating_sub(shift);
        let mut user = tail(r, 0).get(..user_end).unwrap_or("");
        if user == "<invalid username>" {
            user = "";
        }
        let invalid = invalid || r.starts_with("<invalid username>");
        let outcome = match method {
            "none" => return LineResult::Skip(reason::NOT_AN_ATTEMPT),
            "publickey" if !invalid => return LineResult::Skip(reason::NOT_AN_ATTEMPT),
            _ if invalid => Outcome::UnknownAccount,
            "hostbased" => Outcome::OtherFailure,
            _ => Outcome::BadPassword,
        };
        if let Some(pid) = pid_key(h)
            && let Some((puser, poutcome, _)) = self.pending.remove(&pid)
        {
            self.emit(h, ctx, &puser, c.ip, poutcome, out);
            return LineResult::Events(1);
        }
        if self.take_credit(h, c.ip, user) {
            return LineResult::Events(0);
        }
        self.emit(h, ctx, user, c.ip, outcome, out);
        LineResult::Events(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::parse_syslog_lines_for_test as run;

    #[test]
    fn last_from_clause_wins_against_user_name_injection() {
        let ev = run(&[
            "Nov 11 08:04:52 h sshd[1]: Failed password for invalid user test from 10.10.1.2 port 55555 ssh2 from 127.0.0.1 port 58946 ssh2",
        ]);
        assert_eq!(ev.len(), 1);
        assert_eq!(ev[0].source, Some("127.0.0.1".parse().unwrap()));
        assert_eq!(ev[0].account.raw, "test from 10.10.1.2 port 55555 ssh2");
        assert_eq!(ev[0].outcome, Outcome::UnknownAccount);
        let ev = run(&[
            "Nov 11 08:04:52 h sshd[1]: Failed password for x from 6.6.6.6 port 1 ssh2: y from 192.0.2.1 port 22 ssh2",
        ]);
        assert_eq!(ev[0].source, Some("192.0.2.1".parse().unwrap()));
    }

    #[test]
    fn invalid_user_then_failed_password_is_one_attempt() {
        let ev = run(&[
            "Jun  9 06:47:20 h sshd[1]: Invalid user admin from 192.0.2.5 port 4000",
            "Jun  9 06:47:20 h sshd[1]: Failed none for invalid user admin from 192.0.2.5 port 4000 ssh2",
            "Jun  9 06:47:22 h sshd[1]: Failed password for invalid user admin from 192.0.2.5 port 4000 ssh2",
            "Jun  9 06:47:25 h sshd[1]: Failed password for invalid user admin from 192.0.2.5 port 4000 ssh2",
        ]);
        assert_eq!(ev.len(), 2, "{ev:?}");
        assert!(
            ev.iter()
                .all(|e| e.outcome == Outcome::UnknownAccount && e.account.name == "admin")
        );
    }

    #[test]
    fn repeated_messages_and_success() {
        let ev = run(&[
            "Dec 10 09:32:20 LabSZ sshd[24680]: message repeated 5 times: [ Failed password for root from 112.95.230.3 port 45378 ssh2]",
            "Dec 10 09:32:21 LabSZ sshd-session[24681]: Accepted password for fztu from 119.137.62.142 port 49116 ssh2",
        ]);
        assert_eq!(ev.len(), 6);
        assert_eq!(ev[5].outcome, Outcome::Success);
        assert_eq!(ev[0].server.as_deref(), Some("LabSZ"));
    }

    #[test]
    fn locked_account_takes_the_address_of_the_next_line_of_its_process() {
        // fail2ban testlogs/sshd.log, "account is locked" block.
        let ev = run(&[
            "Apr 24 01:39:19 host sshd[3719]: User root not allowed because account is locked",
            "Apr 24 01:39:19 host sshd[3719]: input_userauth_request: invalid user root [preauth]",
            "Apr 24 01:39:19 host sshd[3719]: error: Received disconnect from 198.51.100.34: 11: Bye Bye [preauth]",
        ]);
        assert_eq!(ev.len(), 1);
        assert_eq!(ev[0].outcome, Outcome::Locked);
        assert_eq!(ev[0].source, Some("198.51.100.34".parse().unwrap()));
    }

    #[test]
    fn publickey_probes_and_pam_twins_are_not_attempts() {
        let ev = run(&[
            "Nov 28 09:16:03 srv sshd[32307]: Failed publickey for git from 192.0.2.1 port 57904 ssh2: ECDSA 0e:ff",
            "Mar  7 18:53:20 bar sshd[1556]: pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=192.0.2.113  user=rda",
        ]);
        assert!(ev.is_empty());
    }
}
