//! Property tests: no input makes a text parser, the detector or the input layer panic.
//! Inputs: arbitrary bytes, and real log lines (fail2ban / loghub shapes) cut and spliced
//! with arbitrary text, fed through one parser so that cross-line state is exercised too.

use portcullis_parse::detect::{Format, detect};
use portcullis_parse::{LineResult, ParseCtx};
use proptest::prelude::*;

const LINE_FORMATS: [Format; 5] = [
    Format::Syslog,
    Format::Dovecot,
    Format::Postfix,
    Format::OpenSsh,
    Format::Journald,
];

const SEEDS: &[&str] = &[
    "Jun 13 16:30:54 mx dovecot: imap-login: Disconnected (auth failed, 3 attempts in 9 secs): user=<bob>, method=PLAIN, rip=192.0.2.2, lip=10.0.0.1, session=<s2>",
    "Aug 30 00:10:57 auth(info@example.com,192.0.2.110,sasl:login)<CvN+E95Uf4e7eEnj>: Info: sql: Password mismatch (given password: x)",
    "Jan 29 05:13:50 mail dovecot: auth: passwd-file(username,1.2.3.4,<sess>): unknown user",
    "Jul 02 13:49:32 hostname dovecot[442]: dovecot: auth(default): pam(account@MYSERVERNAME.com,200.76.17.206): pam_authenticate() failed: User not known to the underlying authentication module: 2 Time(s)",
    "Apr 19 05:22:20 vm5 auth: pam_unix(dovecot:auth): authentication failure; logname= uid=0 euid=0 tty=dovecot ruser=informix rhost=80.255.3.104 user=x",
    "Nov 11 08:04:52 redbamboo sshd[2737]: Failed password for invalid user test from 10.10.1.2 port 55555 ssh2 from 127.0.0.1 port 58946 ssh2",
    "Dec 10 09:32:20 LabSZ sshd[24680]: message repeated 5 times: [ Failed password for root from 112.95.230.3 port 45378 ssh2]",
    "Apr 24 01:39:19 host sshd[3719]: User root not allowed because account is locked",
    "Apr 24 01:39:19 host sshd[3719]: error: Received disconnect from 198.51.100.34: 11: Bye Bye [preauth]",
    "<38>1 2019-07-08T17:40:17.954167-04:00 h sshd 55555 - [x@1 t=\"[b]\"] Failed unknown for invalid user r from 192.0.2.2 port 55555 ssh2",
    "@400000004c91b044077a9e94 imap-login: Info: Aborted login (auth failed, 1 attempts): user=<m>, method=CRAM-MD5, rip=80.187.101.33, lip=80.254.129.240, TLS",
    "Nov  4 09:11:01 mail postfix/smtpd[1234]: warning: unknown[192.0.2.152]: SASL LOGIN authentication failed: (reason unavailable), sasl_username=admin",
    "Feb 18 09:48:04 xxx postfix/smtpd[50903]: disconnect from unknown[192.0.2.23] ehlo=1 auth=0/1 rset=1 commands=2/3",
    "Nov  4 09:12:00 mail postfix/submission/smtpd[99]: 4F1A2B: client=host.example[198.51.100.7]:4455, sasl_method=PLAIN, sasl_username=alice",
    r#"{"__REALTIME_TIMESTAMP":"1700000000123456","_HOSTNAME":"h1","SYSLOG_IDENTIFIER":"sshd","_PID":"77","MESSAGE":"Invalid user x from 192.0.2.1 port 22"}"#,
];

fn feed(format: Format, lines: &[String]) {
    let mut p = format.line_parser().unwrap();
    let ctx = ParseCtx {
        year: 2024,
        ..Default::default()
    };
    let mut out = Vec::new();
    for l in lines {
        let before = out.len();
        match p.parse_line(l, &ctx, &mut out) {
            LineResult::Events(n) => {
                assert_eq!(out.len() - before, n, "Events(n) matches what was pushed")
            }
            LineResult::Skip(r) => {
                assert_eq!(out.len(), before, "a skipped line pushes nothing");
                assert!(!r.is_empty());
            }
        }
    }
    p.finish(&ctx, &mut out);
    for e in &out {
        assert!(!e.account.name.chars().any(char::is_control));
    }
}

fn splice(base: &str, at: usize, junk: &str) -> String {
    let mut at = at.min(base.len());
    while !base.is_char_boundary(at) {
        at -= 1;
    }
    format!("{}{}{}", &base[..at], junk, &base[at..])
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn arbitrary_bytes_never_panic(lines in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..300), 1..8)) {
        let lines: Vec<String> = lines.iter().map(|b| String::from_utf8_lossy(b).into_owned()).collect();
        for f in LINE_FORMATS {
            feed(f, &lines);
        }
        let joined: Vec<u8> = lines.join("\n").into_bytes();
        let _ = detect(&joined);
    }

    #[test]
    fn spliced_real_lines_never_panic(
        picks in prop::collection::vec((0..SEEDS.len(), 0usize..250, "\\PC{0,30}", any::<bool>()), 1..10)
    ) {
        let lines: Vec<String> = picks
            .iter()
            .map(|(i, at, junk, cut)| {
                let s = splice(SEEDS[*i], *at, junk);
                if *cut { s.chars().take(*at).collect() } else { s }
            })
            .collect();
        for f in LINE_FORMATS {
            feed(f, &lines);
        }
    }
}

#[test]
fn seeds_themselves_parse_to_events() {
    // Guards the property tests above against seeds that no longer exercise the parsers.
    let mut p = Format::Syslog.line_parser().unwrap();
    let mut j = Format::Journald.line_parser().unwrap();
    let ctx = ParseCtx {
        year: 2024,
        ..Default::default()
    };
    let mut out = Vec::new();
    let mut with_events = 0;
    for s in SEEDS {
        let r = if s.starts_with('{') {
            j.parse_line(s, &ctx, &mut out)
        } else {
            p.parse_line(s, &ctx, &mut out)
        };
        if matches!(r, LineResult::Events(n) if n > 0) {
            with_events += 1;
        }
    }
    assert!(with_events >= 12, "{with_events}");
}
