//! Postfix smtpd SASL authentication.
//!
//! * `warning: HOST[IP]: SASL <MECH> authentication failed: <reason>[, sasl_username=U]` = one
//!   failure (`bad_password`: Postfix cannot tell a wrong password from an unknown user).
//!   `Connection lost to authentication server` (the SASL server is down) and `Invalid
//!   authentication mechanism` (no credentials were checked) are not attempts.
//! * `QUEUEID: client=HOST[IP], sasl_method=M, sasl_username=U` = success.
//! * `disconnect from HOST[IP] … auth=A/B …` (Postfix ≥ 3.0): B−A AUTH commands failed. The
//!   failures already logged as `SASL … failed` warnings by the same smtpd process since its
//!   `connect from` are subtracted, so only AUTH commands that left no warning (client gave up
//!   mid-AUTH, fail2ban gh-3505) become `other_failure` events. The per-process table is
//!   cleared on `disconnect` and bounded (65,536 processes).

use crate::header::Header;
use crate::scan::{find_lit, leading_u64, tail};
use crate::{LineResult, ParseCtx, Sink, reason};
use ahash::AHashMap;
use portcullis_core::{Account, AuthEvent, Outcome, Protocol};
use std::net::IpAddr;

const MAX_PIDS: usize = 65_536;

/// Per-stream Postfix state: SASL warnings per smtpd process since its `connect from`.
#[derive(Default)]
pub struct Postfix {
    warned: AHashMap<u64, u32>,
}

/// `HOST[IP]` or `HOST[IP]:PORT` at the start of `s` → (ip, rest after it).
fn client(s: &str) -> Option<(Option<IpAddr>, &str)> {
    let o = s.find('[')?;
    let c = o + s[o..].find(']')?;
    let ip = crate::scan::ip(&s[o + 1..c]);
    let mut rest = &s[c + 1..];
    if let Some(r) = rest.strip_prefix(':')
        && let Some((_, r)) = leading_u64(r)
    {
        rest = r;
    }
    Some((ip, rest))
}

fn pid_key(h: &Header<'_>) -> Option<u64> {
    h.pid.and_then(|p| p.parse::<u64>().ok())
}

impl Postfix {
    fn emit(
        h: &Header<'_>,
        ctx: &ParseCtx,
        user: &str,
        ip: Option<IpAddr>,
        outcome: Outcome,
        out: Sink,
    ) {
        let mut ev = AuthEvent::new(
            h.ts,
            protocol_of(h.program),
            Account::new(user, &ctx.normalize),
            ip,
            outcome,
        );
        ev.server = h.host.map(str::to_owned);
        ev.origin.file = ctx.file.clone();
        ev.origin.line = ctx.line;
        out.push(ev);
    }

    fn note_warning(&mut self, h: &Header<'_>) {
        if let Some(pid) = pid_key(h) {
            if self.warned.len() >= MAX_PIDS {
                self.warned.clear();
            }
            *self.warned.entry(pid).or_insert(0) += 1;
        }
    }

    pub fn parse(&mut self, h: &Header<'_>, ctx: &ParseCtx, out: Sink) -> LineResult {
        let msg = h.msg;
        if let Some(r) = msg.strip_prefix("warning: ") {
            let Some(p) = find_lit!(r, " authentication failed") else {
                return LineResult::Skip(reason::NOT_AUTH);
            };
            let Some((ip, rest)) = client(r) else {
                return LineResult::Skip(reason::UNRECOGNISED);
            };
            if !rest.starts_with(": SASL ") {
                return LineResult::Skip(reason::UNRECOGNISED);
            }
            self.note_warning(h);
            // `<why>[, sasl_username=U]`: the reason is server text, the user name (client-chosen,
            // so it could say "Connection lost to authentication server") comes after it.
            let rest = tail(r, p + 22);
            let (why, user) = match find_lit!(rest, ", sasl_username=") {
                Some(q) => (&rest[..q], rest[q + 16..].trim()),
                None => (rest, ""),
            };
            if why.contains("Connection lost to authentication server")
                || why.contains("Invalid authentication mechanism")
            {
                return LineResult::Skip(reason::NOT_AN_ATTEMPT);
            }
            Self::emit(h, ctx, user, ip, Outcome::BadPassword, out);
            return LineResult::Events(1);
        }
        if let Some(r) = msg.strip_prefix("connect from ") {
            let _ = r;
            if let Some(pid) = pid_key(h) {
                self.warned.remove(&pid);
            }
            return LineResult::Skip(reason::NOT_AUTH);
        }
        if let Some(r) = msg.strip_prefix("disconnect from ") {
            let warned = pid_key(h)
                .and_then(|pid| self.warned.remove(&pid))
                .unwrap_or(0);
            let Some(p) = find_lit!(r, " auth=") else {
                return LineResult::Skip(reason::NOT_AUTH);
            };
            let Some((ok, rest)) = leading_u64(tail(r, p + 6)) else {
                return LineResult::Skip(reason::UNRECOGNISED);
            };
            let Some((tried, _)) = rest.strip_prefix('/').and_then(leading_u64) else {
                return LineResult::Skip(reason::UNRECOGNISED);
            };
            let failed = tried
                .saturating_sub(ok)
                .saturating_sub(warned as u64)
                .min(10_000) as usize;
            if failed == 0 {
                return LineResult::Events(0);
            }
            let ip = client(r).and_then(|(ip, _)| ip);
            for _ in 0..failed {
                Self::emit(h, ctx, "", ip, Outcome::OtherFailure, out);
            }
            return LineResult::Events(failed);
        }
        // QUEUEID: client=HOST[IP], sasl_method=PLAIN, sasl_username=alice
        if let Some(c) = find_lit!(msg, ": client=")
            && let Some(s) = find_lit!(msg, ", sasl_username=")
            && s > c
        {
            let ip = client(tail(msg, c + 9)).and_then(|(ip, _)| ip);
            let user = msg[s + 16..].split(", ").next().unwrap_or("").trim();
            Self::emit(h, ctx, user, ip, Outcome::Success, out);
            return LineResult::Events(1);
        }
        LineResult::Skip(reason::NOT_AUTH)
    }
}

/// `postfix/submission/smtpd` → submission; other smtpd services → smtp.
fn protocol_of(program: &str) -> Protocol {
    if program.contains("/submission") {
        Protocol::Submission
    } else {
        Protocol::Smtp
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::parse_syslog_lines_for_test as run;

    #[test]
    fn sasl_failure_success_and_disconnect_summary() {
        let ev = run(&[
            "Nov  4 09:11:00 mail postfix/smtpd[1234]: connect from unknown[192.0.2.152]",
            "Nov  4 09:11:01 mail postfix/smtpd[1234]: warning: unknown[192.0.2.152]: SASL LOGIN authentication failed: (reason unavailable), sasl_username=admin",
            "Nov  4 09:11:02 mail postfix/smtpd[1234]: disconnect from unknown[192.0.2.152] ehlo=1 auth=0/2 quit=1 commands=2/4",
            "Nov  4 09:12:00 mail postfix/submission/smtpd[99]: 4F1A2B: client=host.example[198.51.100.7]:4455, sasl_method=PLAIN, sasl_username=alice@example.org",
            "Feb  3 08:29:28 mail postfix/smtpd[21022]: warning: unknown[1.1.1.1]: SASL LOGIN authentication failed: Connection lost to authentication server",
            "Feb  3 08:29:29 mail postfix/smtpd[21022]: warning: unknown[1.1.1.2]: SASL LOGIN authentication failed: authentication failure, sasl_username=Connection lost to authentication server",
        ]);
        assert_eq!(ev.len(), 4, "{ev:?}");
        assert_eq!(
            ev[3].account.raw,
            "Connection lost to authentication server"
        );
        assert_eq!(ev[0].account.name, "admin");
        assert_eq!(ev[0].outcome, Outcome::BadPassword);
        assert_eq!(
            ev[1].outcome,
            Outcome::OtherFailure,
            "second AUTH left no warning"
        );
        assert_eq!(ev[2].outcome, Outcome::Success);
        assert_eq!(ev[2].protocol, Protocol::Submission);
        assert_eq!(ev[2].source, Some("198.51.100.7".parse().unwrap()));
        assert_eq!(ev[2].account.name, "alice@example.org");
    }
}
