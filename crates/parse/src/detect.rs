//! Per-file format detection from the first lines, and the per-line parser of each format.
//!
//! [`detect`] looks at the start of a file (after decompression): `.evtx` by its magic, Entra
//! sign-in documents (a Graph response or JSON array), JSON lines by their keys (journald,
//! portcullis generic events, Windows events, Entra sign-ins), Windows event XML, and
//! syslog-framed text by its timestamp. Syslog text is always read with the all-program
//! [`SyslogParser`] (a `mail.log` holds Dovecot *and* Postfix lines); the detection names the
//! programs it saw for the user. A forced format ([`Format::from_name`]) overrides detection;
//! forcing `dovecot`, `postfix` or `openssh` reads only that program's lines.
//!
//! The live log follower and the syslog receiver feed single lines through
//! [`Format::line_parser`].

use crate::header::{YearGuesser, parse_header};
use crate::journald::JournaldParser;
use crate::syslog::{Family, Programs, SyslogParser, family};
use crate::{FnParser, LineParser, ParseCtx};
use std::fmt;

/// A log format portcullis reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Format {
    /// Syslog-framed authentication lines of any program we know (Dovecot, Postfix, sshd, PAM).
    Syslog,
    /// Syslog-framed, Dovecot lines only.
    Dovecot,
    /// Syslog-framed, Postfix smtpd lines only.
    Postfix,
    /// Syslog-framed, sshd lines only.
    OpenSsh,
    /// `journalctl -o json` lines.
    Journald,
    /// Windows events as JSON lines or rendered XML (see `windows`).
    Windows,
    /// A binary `.evtx` file (whole-file reader).
    Evtx,
    /// Entra ID sign-ins, one JSON object per line.
    Entra,
    /// An Entra ID sign-in document (Graph response or JSON array; whole-file reader).
    EntraDocument,
    /// portcullis generic events (`portcullis.event/v1` JSON lines).
    Generic,
}

impl Format {
    pub const ALL: [Format; 10] = [
        Format::Syslog,
        Format::Dovecot,
        Format::Postfix,
        Format::OpenSsh,
        Format::Journald,
        Format::Windows,
        Format::Evtx,
        Format::Entra,
        Format::EntraDocument,
        Format::Generic,
    ];

    /// The name used on the command line (`--format`) and in reports.
    pub fn name(self) -> &'static str {
        match self {
            Format::Syslog => "syslog",
            Format::Dovecot => "dovecot",
            Format::Postfix => "postfix",
            Format::OpenSsh => "openssh",
            Format::Journald => "journald",
            Format::Windows => "windows",
            Format::Evtx => "evtx",
            Format::Entra => "entra",
            Format::EntraDocument => "entra-document",
            Format::Generic => "generic",
        }
    }

    /// Parses a `--format` name (a few aliases accepted: `sshd`, `ssh`, `journal`, `json`).
    pub fn from_name(s: &str) -> Option<Format> {
        let s = s.trim().to_ascii_lowercase();
        Some(match s.as_str() {
            "syslog" | "auth" | "text" => Format::Syslog,
            "dovecot" => Format::Dovecot,
            "postfix" => Format::Postfix,
            "openssh" | "sshd" | "ssh" => Format::OpenSsh,
            "journald" | "journal" | "journalctl" => Format::Journald,
            "windows" | "windows-json" | "winlog" => Format::Windows,
            "evtx" => Format::Evtx,
            "entra" | "azuread" => Format::Entra,
            "entra-document" | "entra-json" => Format::EntraDocument,
            "generic" | "json" | "portcullis" => Format::Generic,
            _ => return None,
        })
    }

    /// Whole-file formats are read by a reader of their own, not line by line.
    pub fn is_document(self) -> bool {
        matches!(self, Format::Evtx | Format::EntraDocument)
    }

    /// A fresh per-stream parser for line formats; None for whole-file formats.
    pub fn line_parser(self) -> Option<Box<dyn LineParser>> {
        let only = |dovecot, postfix, openssh| Programs {
            dovecot,
            postfix,
            openssh,
        };
        Some(match self {
            Format::Syslog => Box::new(SyslogParser::new(Programs::ALL)),
            Format::Dovecot => Box::new(SyslogParser::new(only(true, false, false))),
            Format::Postfix => Box::new(SyslogParser::new(only(false, true, false))),
            Format::OpenSsh => Box::new(SyslogParser::new(only(false, false, true))),
            Format::Journald => Box::new(JournaldParser::new(Programs::ALL)),
            Format::Windows => Box::new(FnParser(crate::windows::parse_line)),
            Format::Entra => Box::new(FnParser(crate::entra::parse_line)),
            Format::Generic => Box::new(FnParser(crate::generic::parse_line)),
            Format::Evtx | Format::EntraDocument => return None,
        })
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What [`detect`] found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Detection {
    /// None when no line looked like any format we read.
    pub format: Option<Format>,
    /// Human-readable detail (`syslog: dovecot, postfix` / `journald` / why nothing matched).
    pub detail: String,
}

/// Lines of the head looked at.
const MAX_LINES: usize = 200;

/// Detects the format of a file from its first bytes (decompressed; a few KiB to 64 KiB).
pub fn detect(head: &[u8]) -> Detection {
    if head.starts_with(b"ElfFile\0") {
        return found(Format::Evtx, "evtx (ElfFile magic)".into());
    }
    let text = String::from_utf8_lossy(head);
    if text.trim_start().starts_with(['[', '{']) && crate::entra::looks_like_document(&text) {
        return found(Format::EntraDocument, "entra sign-in document".into());
    }
    let mut json = [0usize; 4]; // journald, generic, windows, entra
    let (mut framed, mut dovecot, mut postfix, mut ssh, mut pam) = (0, 0, 0, 0, 0);
    let mut years = YearGuesser::default();
    let ctx = ParseCtx::default();
    let mut nonempty = 0;
    // Drop a last line cut off by the head limit.
    let complete = match text.rfind('\n') {
        Some(i) if head.len() >= 4096 => &text[..i],
        _ => &text[..],
    };
    for line in complete
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .take(MAX_LINES)
    {
        nonempty += 1;
        if line.starts_with('{') {
            if line.contains("\"__REALTIME_TIMESTAMP\"") {
                json[0] += 1;
            } else if crate::generic::looks_like(line) {
                json[1] += 1;
            } else if crate::windows::looks_like(line) {
                json[2] += 1;
            } else if crate::entra::looks_like(line) {
                json[3] += 1;
            }
            continue;
        }
        if crate::windows::looks_like(line) {
            json[2] += 1;
            continue;
        }
        if let Ok(h) = parse_header(line, &mut years, &ctx) {
            framed += 1;
            match family(h.program) {
                Family::Dovecot => dovecot += 1,
                Family::PostfixSmtpd | Family::PostfixOther => postfix += 1,
                Family::OpenSsh => ssh += 1,
                Family::Pam => pam += 1,
                Family::Other => {}
            }
        }
    }
    let (best, n) = json
        .iter()
        .enumerate()
        .max_by_key(|&(_, n)| *n)
        .map(|(i, n)| (i, *n))
        .unwrap_or((0, 0));
    if n > 0 && n >= framed {
        let f = [
            Format::Journald,
            Format::Generic,
            Format::Windows,
            Format::Entra,
        ][best];
        return found(f, format!("{f} ({n} of {nonempty} lines)"));
    }
    if framed > 0 {
        let mut seen = Vec::new();
        for (name, c) in [
            ("dovecot", dovecot),
            ("postfix", postfix),
            ("openssh", ssh),
            ("pam", pam),
        ] {
            if c > 0 {
                seen.push(name);
            }
        }
        let what = if seen.is_empty() {
            "no Dovecot/Postfix/sshd lines among the first lines".to_string()
        } else {
            seen.join(", ")
        };
        return found(
            Format::Syslog,
            format!("syslog: {what} ({framed} of {nonempty} lines framed)"),
        );
    }
    Detection {
        format: None,
        detail: if nonempty == 0 {
            "empty".into()
        } else {
            format!("none of the first {nonempty} lines is in a format portcullis reads")
        },
    }
}

fn found(f: Format, detail: String) -> Detection {
    Detection {
        format: Some(f),
        detail,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_text_and_json_formats() {
        let d = detect(b"Jun 13 16:30:54 mx dovecot: imap-login: Login: user=<a>, rip=1.2.3.4\nJun 13 16:30:55 mx postfix/smtpd[1]: connect from x[1.2.3.4]\n");
        assert_eq!(d.format, Some(Format::Syslog));
        assert!(d.detail.contains("dovecot, postfix"), "{}", d.detail);
        let d = detect(br#"{"__REALTIME_TIMESTAMP":"1","MESSAGE":"x","SYSLOG_IDENTIFIER":"sshd"}"#);
        assert_eq!(d.format, Some(Format::Journald));
        let d = detect(br#"{"ts":"2017-06-23T01:02:03Z","account":"a","outcome":"success"}"#);
        assert_eq!(d.format, Some(Format::Generic));
        assert_eq!(detect(b"ElfFile\0rest").format, Some(Format::Evtx));
        assert_eq!(detect(b"hello world\n").format, None);
        assert_eq!(detect(b"").format, None);
    }

    #[test]
    fn names_round_trip() {
        for f in Format::ALL {
            assert_eq!(Format::from_name(f.name()), Some(f));
            assert_eq!(f.line_parser().is_none(), f.is_document());
        }
        assert_eq!(Format::from_name("sshd"), Some(Format::OpenSsh));
    }
}
