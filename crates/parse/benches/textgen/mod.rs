//! Synthetic log lines in the exact shapes of real logs (fail2ban / loghub samples), with
//! varied users and addresses, shared by the text benches.

pub fn ip(i: usize) -> String {
    format!(
        "{}.{}.{}.{}",
        11 + i % 200,
        (i / 7) % 250,
        (i / 13) % 250,
        1 + i % 250
    )
}

pub fn dovecot_lines(n: usize) -> Vec<String> {
    (0..n)
        .map(|i| match i % 4 {
            0 => format!(
                "Jun 13 16:{:02}:{:02} mx1 dovecot: imap-login: Disconnected (auth failed, 1 attempts in 2 secs): user=<user{}@example.org>, method=PLAIN, rip={}, lip=10.0.0.1, TLS, session=<Lsz0Oo7WXti3b7xe>",
                (i / 60) % 60, i % 60, i % 5000, ip(i)
            ),
            1 => format!(
                "Jun 13 16:{:02}:{:02} mx1 dovecot: imap-login: Login: user=<user{}@example.org>, method=PLAIN, rip={}, lip=10.0.0.1, mpid={}, TLS, session=<q454Xu/vMwBZApgg>",
                (i / 60) % 60, i % 60, i % 5000, ip(i), i
            ),
            2 => format!(
                "Jun 13 16:{:02}:{:02} mx1 dovecot: pop3-login: Disconnected (no auth attempts in 0 secs): user=<>, rip={}, lip=10.0.0.1, TLS handshaking",
                (i / 60) % 60, i % 60, ip(i)
            ),
            _ => format!(
                "Jun 13 16:{:02}:{:02} mx1 dovecot: imap({}): Logged out in=123 out=456",
                (i / 60) % 60, i % 60, i % 5000
            ),
        })
        .collect()
}

pub fn dovecot_verbose_lines(n: usize) -> Vec<String> {
    (0..n)
        .map(|i| {
            if i % 2 == 0 {
                format!("Jun 13 16:{:02}:{:02} mx1 dovecot: auth: passwd-file(user{}@example.org,{}): Password mismatch", (i / 60) % 60, i % 60, i % 5000, ip(i / 2))
            } else {
                format!("Jun 13 16:{:02}:{:02} mx1 dovecot: imap-login: Disconnected (auth failed, 1 attempts in 2 secs): user=<user{}@example.org>, method=PLAIN, rip={}, lip=10.0.0.1, TLS", (i / 60) % 60, i % 60, (i - 1) % 5000, ip(i / 2))
            }
        })
        .collect()
}

pub fn openssh_lines(n: usize) -> Vec<String> {
    (0..n)
        .map(|i| match i % 4 {
            0 => format!("Dec 10 09:{:02}:{:02} LabSZ sshd[{}]: Failed password for root from {} port {} ssh2", (i / 60) % 60, i % 60, 20000 + i, ip(i), 40000 + i % 20000),
            1 => format!("Dec 10 09:{:02}:{:02} LabSZ sshd[{}]: Invalid user admin{} from {} port {}", (i / 60) % 60, i % 60, 20000 + i, i % 100, ip(i), 40000 + i % 20000),
            2 => format!("Dec 10 09:{:02}:{:02} LabSZ sshd[{}]: pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost={}  user=root", (i / 60) % 60, i % 60, 20000 + i, ip(i)),
            _ => format!("Dec 10 09:{:02}:{:02} LabSZ sshd[{}]: Connection closed by {} [preauth]", (i / 60) % 60, i % 60, 20000 + i, ip(i)),
        })
        .collect()
}

pub fn postfix_lines(n: usize) -> Vec<String> {
    (0..n)
        .map(|i| match i % 3 {
            0 => format!("May 11 04:{:02}:{:02} mail postfix/smtpd[{}]: warning: unknown[{}]: SASL LOGIN authentication failed: UGFzc3dvcmQ6", (i / 60) % 60, i % 60, 1000 + i % 50, ip(i)),
            1 => format!("May 11 04:{:02}:{:02} mail postfix/smtpd[{}]: connect from unknown[{}]", (i / 60) % 60, i % 60, 1000 + i % 50, ip(i)),
            _ => format!("May 11 04:{:02}:{:02} mail postfix/smtpd[{}]: disconnect from unknown[{}] ehlo=1 auth=0/1 quit=1 commands=2/3", (i / 60) % 60, i % 60, 1000 + i % 50, ip(i)),
        })
        .collect()
}

pub fn journald_lines(n: usize) -> Vec<String> {
    (0..n)
        .map(|i| format!(r#"{{"__REALTIME_TIMESTAMP":"{}","_HOSTNAME":"h1","SYSLOG_IDENTIFIER":"sshd","_PID":"{}","MESSAGE":"Failed password for root from {} port 22 ssh2"}}"#, 1_700_000_000_000_000u64 + i as u64 * 1_000_000, 100 + i, ip(i)))
        .collect()
}
