//! [`SyslogParser`]: the per-stream parser for syslog-framed authentication logs (Dovecot,
//! Postfix smtpd, OpenSSH, PAM), mixed or alone. It takes each line's header apart
//! ([`crate::header`]) and dispatches the message to the format module of its program.

use crate::dovecot::Dovecot;
use crate::header::{Header, YearGuesser, parse_header};
use crate::openssh::OpenSsh;
use crate::postfix::Postfix;
use crate::scan::{find_lit, sub};
use crate::{LineParser, LineResult, ParseCtx, Sink, reason};

/// Which programs a [`SyslogParser`] reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Programs {
    pub dovecot: bool,
    pub postfix: bool,
    pub openssh: bool,
}

impl Programs {
    pub const ALL: Programs = Programs {
        dovecot: true,
        postfix: true,
        openssh: true,
    };
}

/// What program family a line's tag belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Family {
    Dovecot,
    PostfixSmtpd,
    PostfixOther,
    OpenSsh,
    /// Generic PAM/`auth` program lines (routed by the PAM service named in the message).
    Pam,
    Other,
}

/// Classifies a program name.
pub fn family(program: &str) -> Family {
    match program {
        "sshd" | "sshd-session" | "sshd-auth" => Family::OpenSsh,
        "dovecot" | "dovecot-auth" | "auth-worker" | "director" | "lmtp" => Family::Dovecot,
        "auth" => Family::Pam,
        p if p.ends_with("-login") => Family::Dovecot,
        p if p.starts_with("postfix") || p.starts_with("smtpd") => {
            if p.ends_with("/smtpd") || p == "smtpd" {
                Family::PostfixSmtpd
            } else {
                Family::PostfixOther
            }
        }
        _ => Family::Other,
    }
}

/// Strips a Solaris `[ID 800047 auth.info] ` message prefix.
pub fn strip_solaris_id(msg: &str) -> &str {
    if msg.starts_with("[ID ")
        && let Some(i) = find_lit!(msg, "] ")
    {
        return &msg[i + 2..];
    }
    msg
}

/// The per-stream parser for syslog-framed authentication logs: Dovecot, Postfix smtpd,
/// OpenSSH and PAM lines, dispatched by program name. One instance per input stream: it holds
/// the year guesser and each format's small bounded memory (see the format modules).
pub struct SyslogParser {
    programs: Programs,
    years: YearGuesser,
    pub(crate) dovecot: Dovecot,
    pub(crate) postfix: Postfix,
    pub(crate) openssh: OpenSsh,
}

impl SyslogParser {
    pub fn new(programs: Programs) -> Self {
        SyslogParser {
            programs,
            years: YearGuesser::default(),
            dovecot: Dovecot::default(),
            postfix: Postfix::default(),
            openssh: OpenSsh::default(),
        }
    }

    /// Parses a message whose header was already taken apart (syslog, journald, RFC 5424).
    pub fn parse_message(&mut self, h: &Header<'_>, ctx: &ParseCtx, out: Sink) -> LineResult {
        let msg = strip_solaris_id(h.msg);
        let h = Header { msg, ..*h };
        // PAM module lines are routed by the PAM service they name, whatever the program.
        if msg.starts_with("pam_unix(")
            || msg.starts_with("pam_sss(")
            || msg.starts_with("pam_ldap(")
        {
            let service = sub(
                msg,
                msg.find('(').unwrap_or(0) + 1,
                msg.find(':').unwrap_or(0),
            );
            return match service {
                "sshd" | "sshd-session" if self.programs.openssh => {
                    self.openssh.parse(&h, ctx, out)
                }
                s if crate::dovecot::is_pam_service(s) && self.programs.dovecot => {
                    self.dovecot.parse(&h, ctx, out)
                }
                _ => LineResult::Skip(reason::OTHER_PROGRAM),
            };
        }
        match family(h.program) {
            Family::OpenSsh if self.programs.openssh => self.openssh.parse(&h, ctx, out),
            Family::Dovecot | Family::Pam if self.programs.dovecot => {
                self.dovecot.parse(&h, ctx, out)
            }
            Family::PostfixSmtpd if self.programs.postfix => self.postfix.parse(&h, ctx, out),
            Family::PostfixOther if self.programs.postfix => LineResult::Skip(reason::NOT_AUTH),
            _ => LineResult::Skip(reason::OTHER_PROGRAM),
        }
    }
}

impl LineParser for SyslogParser {
    fn parse_line(&mut self, line: &str, ctx: &ParseCtx, out: Sink) -> LineResult {
        let line = line.trim_end_matches(['\r', '\n', ' ']);
        if line.is_empty() {
            return LineResult::Skip(reason::EMPTY);
        }
        let h = match parse_header(line, &mut self.years, ctx) {
            Ok(h) => h,
            Err(r) => return LineResult::Skip(r),
        };
        self.parse_message(&h, ctx, out)
    }
}
