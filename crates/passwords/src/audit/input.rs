//! Reading the files an audit runs on: NTLM dumps (`user:rid:lmhash:nthash:::`, as secretsdump
//! and DSInternals write them), /etc/shadow, Dovecot passwd-files (`user:{SCHEME}data:…`) and
//! htpasswd (`user:hash`). The format is recognised per line, so concatenated files work too.
//! Bad lines are counted with a few examples (line numbers and reasons, never the line itself:
//! it may hold a plaintext password).

use super::scheme::{EMPTY_LM_HASH, SchemeError, StoredHash, parse_password_field};
use serde::Serialize;
use std::io::BufRead;
use std::path::Path;

/// One account's stored password.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccountHash {
    /// The account name as written (`CONTOSO\alice`, `kim@contoso.com`).
    pub user: String,
    /// `file:line`.
    pub source: String,
    pub hash: StoredHash,
    /// An NTLM dump line that still carries an LM hash (crackable in minutes).
    pub lm_stored: bool,
}

impl AccountHash {
    /// The bare name (`alice` from `CONTOSO\alice` or `alice@contoso.com`), lower-cased.
    pub fn bare_name(&self) -> String {
        let u = self.user.rsplit('\\').next().unwrap_or(&self.user);
        let u = u.split('@').next().unwrap_or(u);
        u.to_lowercase()
    }
}

/// What was read from one input.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct InputStats {
    pub path: String,
    pub lines: u64,
    pub accounts: u64,
    /// Blank and `#` comment lines.
    pub skipped: u64,
    pub rejected: u64,
    /// `line N: reason` for the first few rejected lines.
    pub rejected_examples: Vec<String>,
}

/// Result of parsing one line.
#[derive(Debug, PartialEq, Eq)]
pub enum ParsedLine {
    Account {
        user: String,
        hash: StoredHash,
        lm_stored: bool,
    },
    Skip,
    Bad(String),
}

fn is_hex32(s: &str) -> bool {
    s.len() == 32 && s.bytes().all(|c| c.is_ascii_hexdigit())
}

/// Parses one line of any supported format.
pub fn parse_line(line: &str) -> ParsedLine {
    let line = line.trim_end_matches(['\r', '\n']);
    if line.trim().is_empty() || line.trim_start().starts_with('#') {
        return ParsedLine::Skip;
    }
    let fields: Vec<&str> = line.split(':').collect();
    if fields.len() < 2 {
        return ParsedLine::Bad("no `user:hash` separator".into());
    }
    let user = fields[0].trim();
    if user.is_empty() {
        return ParsedLine::Bad("empty account name".into());
    }
    // NTLM dump: user:rid:lm:nt:::
    if fields.len() >= 4
        && !fields[1].is_empty()
        && fields[1].bytes().all(|c| c.is_ascii_digit())
        && is_hex32(fields[2])
        && is_hex32(fields[3])
    {
        let nt: [u8; 16] = hex::decode(fields[3])
            .expect("checked hex")
            .try_into()
            .expect("16 bytes");
        let lm: Vec<u8> = hex::decode(fields[2]).expect("checked hex");
        return ParsedLine::Account {
            user: user.to_string(),
            hash: StoredHash::Nt(nt),
            lm_stored: lm != EMPTY_LM_HASH && lm.iter().any(|b| *b != 0),
        };
    }
    match parse_password_field(fields[1]) {
        Ok(hash) => ParsedLine::Account {
            user: user.to_string(),
            hash: hash.with_login(user),
            lm_stored: false,
        },
        Err(SchemeError(why)) => ParsedLine::Bad(why),
    }
}

/// Reads accounts from `r`; `name` labels sources.
pub fn read_accounts(
    r: impl BufRead,
    name: &str,
) -> std::io::Result<(Vec<AccountHash>, InputStats)> {
    let mut stats = InputStats {
        path: name.to_string(),
        ..InputStats::default()
    };
    let mut out = Vec::new();
    let mut lines = r.split(b'\n');
    let mut n = 0u64;
    while let Some(raw) = lines.next().transpose()? {
        n += 1;
        stats.lines += 1;
        let Ok(line) = std::str::from_utf8(&raw) else {
            stats.rejected += 1;
            if stats.rejected_examples.len() < 10 {
                stats.rejected_examples.push(format!("line {n}: not UTF-8"));
            }
            continue;
        };
        match parse_line(line) {
            ParsedLine::Skip => stats.skipped += 1,
            ParsedLine::Bad(why) => {
                stats.rejected += 1;
                if stats.rejected_examples.len() < 10 {
                    stats.rejected_examples.push(format!("line {n}: {why}"));
                }
            }
            ParsedLine::Account {
                user,
                hash,
                lm_stored,
            } => {
                stats.accounts += 1;
                out.push(AccountHash {
                    user,
                    source: format!("{name}:{n}"),
                    hash,
                    lm_stored,
                });
            }
        }
    }
    Ok((out, stats))
}

/// Reads accounts from a file (plain or gzip).
pub fn read_accounts_file(path: &Path) -> std::io::Result<(Vec<AccountHash>, InputStats)> {
    let r = crate::build::open_maybe_gzip(path)?;
    read_accounts(r, &path.display().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_by_line() {
        let ParsedLine::Account {
            user,
            hash,
            lm_stored,
        } = parse_line(
            "CORP\\alice:1104:aad3b435b51404eeaad3b435b51404ee:8846f7eaee8fb117ad06bdd830b7586c::: (status=Enabled)",
        )
        else {
            panic!()
        };
        assert_eq!(user, "CORP\\alice");
        assert!(!lm_stored);
        assert!(hash.verify("password"));
        let ParsedLine::Account { lm_stored, .. } = parse_line(
            "bob:1105:e52cac67419a9a224a3b108f3fa6cb6d:8846f7eaee8fb117ad06bdd830b7586c:::",
        ) else {
            panic!()
        };
        assert!(lm_stored);
        assert_eq!(parse_line("# comment"), ParsedLine::Skip);
        assert_eq!(parse_line("   "), ParsedLine::Skip);
        assert!(matches!(parse_line("nocolon"), ParsedLine::Bad(_)));
        assert!(matches!(parse_line(":$6$x$y"), ParsedLine::Bad(_)));
        assert!(matches!(
            parse_line("root:*:20000:0:99999:7:::"),
            ParsedLine::Account {
                hash: StoredHash::Locked,
                ..
            }
        ));
        assert!(matches!(
            parse_line("erin::20100:0:99999:7:::"),
            ParsedLine::Account {
                hash: StoredHash::Empty,
                ..
            }
        ));
    }

    #[test]
    fn bad_lines_are_counted_without_their_text() {
        let input: &[u8] = b"ok:{PLAIN}secret\nbroken line with {PLAIN}hunter2\n\xff\xfe:x\n";
        let (accts, stats) = read_accounts(input, "t").unwrap();
        assert_eq!(accts.len(), 1);
        assert_eq!(stats.rejected, 2);
        assert!(
            !stats
                .rejected_examples
                .iter()
                .any(|e| e.contains("hunter2"))
        );
    }
}
