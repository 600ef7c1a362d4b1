//! Stored password hashes: recognising a scheme from its text and testing a guess against it.
//!
//! Recognised: Windows NT hashes (from NTLM dumps), crypt(3) strings (`$6$` SHA-512-crypt,
//! `$5$` SHA-256-crypt, `$2a$/$2b$/$2y$` bcrypt, `$argon2id$/$argon2i$/$argon2d$`), Dovecot
//! `{SCHEME}` prefixes ({SHA512-CRYPT}, {SHA256-CRYPT}, {BLF-CRYPT}, {ARGON2ID}, {ARGON2I},
//! {CRYPT}, {SSHA512}, {SSHA256}, {SSHA}, {SHA512}, {SHA256}, {SHA}/{SHA1}, {NTLM}, {PLAIN},
//! {CLEARTEXT}, with `.b64`/`.hex` encoding suffixes), htpasswd `{SHA}`, empty and locked
//! fields. Anything else (yescrypt `$y$`, MD5-crypt `$1$`, `$apr1$`, DES crypt) is recognised by
//! name and reported as "not testable" rather than silently skipped.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use serde::Serialize;
use sha1::Sha1;
use sha2::{Digest, Sha256, Sha512};
use subtle::ConstantTimeEq;

/// The NT hash of the empty password.
pub const EMPTY_NT_HASH: [u8; 16] = [
    0x31, 0xd6, 0xcf, 0xe0, 0xd1, 0x6a, 0xe9, 0x31, 0xb7, 0x3c, 0x59, 0xd7, 0xe0, 0xc0, 0x89, 0xc0,
];
/// The LM hash that means "no LM hash stored" (LM of the empty password).
pub const EMPTY_LM_HASH: [u8; 16] = [
    0xaa, 0xd3, 0xb4, 0x35, 0xb5, 0x14, 0x04, 0xee, 0xaa, 0xd3, 0xb4, 0x35, 0xb5, 0x14, 0x04, 0xee,
];

/// Digest of an unsalted or salted plain-digest scheme.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Digest3 {
    Sha1,
    Sha256,
    Sha512,
}

impl Digest3 {
    fn len(self) -> usize {
        match self {
            Digest3::Sha1 => 20,
            Digest3::Sha256 => 32,
            Digest3::Sha512 => 64,
        }
    }
    /// H(data ‖ salt).
    pub fn digest(self, data: &[u8], salt: &[u8]) -> Vec<u8> {
        match self {
            Digest3::Sha1 => Sha1::new()
                .chain_update(data)
                .chain_update(salt)
                .finalize()
                .to_vec(),
            Digest3::Sha256 => Sha256::new()
                .chain_update(data)
                .chain_update(salt)
                .finalize()
                .to_vec(),
            Digest3::Sha512 => Sha512::new()
                .chain_update(data)
                .chain_update(salt)
                .finalize()
                .to_vec(),
        }
    }
}

/// A stored password, as far as the audit can use it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StoredHash {
    /// Windows NT hash (MD4 of UTF-16LE). Unsalted: equal hashes = equal passwords.
    Nt([u8; 16]),
    /// `$5$…` / `$6$…` (also via {SHA256-CRYPT}, {SHA512-CRYPT}, {CRYPT}).
    ShaCrypt(String),
    /// `$2a$/$2b$/$2y$/$2x$…` (also via {BLF-CRYPT}, {CRYPT}).
    Bcrypt(String),
    /// `$argon2id$…` (also via {ARGON2ID}, {ARGON2I}).
    Argon2(String),
    /// {SSHA}, {SSHA256}, {SSHA512}: H(password ‖ salt) ‖ salt.
    Salted {
        digest: Digest3,
        hash: Vec<u8>,
        salt: Vec<u8>,
    },
    /// {SHA}, {SHA256}, {SHA512}: H(password), unsalted.
    Unsalted { digest: Digest3, hash: Vec<u8> },
    /// {PLAIN}, {CLEARTEXT}: the password itself is stored.
    Plain(String),
    /// An empty password field (/etc/shadow, passwd-file): log in without a password.
    Empty,
    /// `!`, `*`, `!!`, `!$6$…`: the account cannot log in with a password.
    Locked,
    /// Recognised but not testable by this build.
    Unsupported(&'static str),
}

impl StoredHash {
    /// The scheme's short name for reports.
    pub fn scheme(&self) -> &'static str {
        match self {
            StoredHash::Nt(_) => "nt",
            StoredHash::ShaCrypt(s) if s.starts_with("$5$") => "sha256-crypt",
            StoredHash::ShaCrypt(_) => "sha512-crypt",
            StoredHash::Bcrypt(_) => "bcrypt",
            StoredHash::Argon2(s) if s.starts_with("$argon2id$") => "argon2id",
            StoredHash::Argon2(s) if s.starts_with("$argon2i$") => "argon2i",
            StoredHash::Argon2(_) => "argon2d",
            StoredHash::Salted { digest, .. } => match digest {
                Digest3::Sha1 => "ssha",
                Digest3::Sha256 => "ssha256",
                Digest3::Sha512 => "ssha512",
            },
            StoredHash::Unsalted { digest, .. } => match digest {
                Digest3::Sha1 => "sha1",
                Digest3::Sha256 => "sha256",
                Digest3::Sha512 => "sha512",
            },
            StoredHash::Plain(_) => "plain",
            StoredHash::Empty => "empty",
            StoredHash::Locked => "locked",
            StoredHash::Unsupported(name) => name,
        }
    }

    /// Slow (salted, key-stretched) schemes get a guess budget; fast ones are tested against
    /// every candidate.
    pub fn is_slow(&self) -> bool {
        matches!(
            self,
            StoredHash::ShaCrypt(_) | StoredHash::Bcrypt(_) | StoredHash::Argon2(_)
        )
    }

    /// Can a guess be tested against this at all?
    pub fn is_testable(&self) -> bool {
        !matches!(
            self,
            StoredHash::Locked | StoredHash::Unsupported(_) | StoredHash::Empty
        )
    }

    /// Does `password` match? Constant-time comparison where we compare ourselves. A malformed
    /// hash never matches.
    pub fn verify(&self, password: &str) -> bool {
        use argon2::PasswordVerifier;
        match self {
            StoredHash::Nt(h) => bool::from(crate::hash::nt_hash(password).ct_eq(h)),
            StoredHash::ShaCrypt(s) => sha_crypt::ShaCrypt::default()
                .verify_password(password.as_bytes(), s.as_str())
                .is_ok(),
            StoredHash::Bcrypt(s) => bcrypt::verify(password, s).unwrap_or(false),
            StoredHash::Argon2(s) => argon2::Argon2::default()
                .verify_password(password.as_bytes(), s.as_str())
                .is_ok(),
            StoredHash::Salted { digest, hash, salt } => {
                bool::from(digest.digest(password.as_bytes(), salt).ct_eq(hash))
            }
            StoredHash::Unsalted { digest, hash } => {
                bool::from(digest.digest(password.as_bytes(), &[]).ct_eq(hash))
            }
            StoredHash::Plain(p) => bool::from(p.as_bytes().ct_eq(password.as_bytes())),
            StoredHash::Empty => password.is_empty(),
            StoredHash::Locked | StoredHash::Unsupported(_) => false,
        }
    }
}

/// Why a password field could not be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SchemeError(pub String);

fn decode_b64_or_hex(data: &str, encoding: Option<&str>) -> Option<Vec<u8>> {
    match encoding {
        Some(e) if e.eq_ignore_ascii_case("hex") => hex::decode(data).ok(),
        Some(e) if e.eq_ignore_ascii_case("b64") => B64.decode(data).ok(),
        _ => B64.decode(data).ok().or_else(|| hex::decode(data).ok()),
    }
}

/// Parses a crypt(3) string (`$id$…`).
fn parse_crypt(s: &str) -> Result<StoredHash, SchemeError> {
    let bad = |what: &str| SchemeError(format!("malformed {what} hash"));
    if let Some(hex_nt) = s.strip_prefix("$3$$") {
        // FreeBSD/libxcrypt "NT-Hash" crypt (mkpasswd -m nt).
        let raw = hex::decode(hex_nt)
            .ok()
            .and_then(|v| <[u8; 16]>::try_from(v).ok())
            .ok_or_else(|| bad("NT-Hash crypt"))?;
        Ok(StoredHash::Nt(raw))
    } else if s.starts_with("$6$") || s.starts_with("$5$") {
        sha_crypt::PasswordHashRef::new(s).map_err(|_| bad("SHA-crypt"))?;
        // `$id$[rounds=N$]salt$hash`, hash of 86 (SHA-512) or 43 (SHA-256) characters.
        let fields: Vec<&str> = s.split('$').collect();
        let want = if s.starts_with("$6$") { 86 } else { 43 };
        let has_rounds = fields.get(2).is_some_and(|f| f.starts_with("rounds="));
        let n = if has_rounds { 5 } else { 4 };
        if fields.len() != n || fields[n - 1].len() != want {
            return Err(bad("SHA-crypt"));
        }
        Ok(StoredHash::ShaCrypt(s.to_string()))
    } else if ["$2a$", "$2b$", "$2y$", "$2x$"]
        .iter()
        .any(|p| s.starts_with(p))
    {
        s.parse::<bcrypt::HashParts>().map_err(|_| bad("bcrypt"))?;
        Ok(StoredHash::Bcrypt(s.to_string()))
    } else if s.starts_with("$argon2") {
        argon2::PasswordHash::new(s).map_err(|_| bad("Argon2"))?;
        Ok(StoredHash::Argon2(s.to_string()))
    } else if s.starts_with("$y$") || s.starts_with("$7$") {
        Ok(StoredHash::Unsupported("yescrypt/scrypt"))
    } else if s.starts_with("$1$") {
        Ok(StoredHash::Unsupported("md5-crypt"))
    } else if s.starts_with("$apr1$") {
        Ok(StoredHash::Unsupported("apr1-md5"))
    } else if s.len() == 13
        && s.bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'.' || c == b'/')
    {
        Ok(StoredHash::Unsupported("des-crypt"))
    } else if s.starts_with('$') {
        Ok(StoredHash::Unsupported("unknown-crypt"))
    } else {
        Err(SchemeError("not a crypt(3) string".into()))
    }
}

/// Parses a password field as found in /etc/shadow, a Dovecot passwd-file or htpasswd.
pub fn parse_password_field(field: &str) -> Result<StoredHash, SchemeError> {
    if field.is_empty() {
        return Ok(StoredHash::Empty);
    }
    if field.starts_with('!') || field.starts_with('*') {
        return Ok(StoredHash::Locked);
    }
    if let Some(rest) = field.strip_prefix('{')
        && let Some(end) = rest.find('}')
    {
        let scheme_full = &rest[..end];
        let data = &rest[end + 1..];
        let (scheme, encoding) = match scheme_full.split_once('.') {
            Some((s, e)) => (s, Some(e)),
            None => (scheme_full, None),
        };
        let scheme = scheme.to_ascii_uppercase();
        let salted = |digest: Digest3| -> Result<StoredHash, SchemeError> {
            let raw = decode_b64_or_hex(data, encoding)
                .ok_or_else(|| SchemeError(format!("{{{scheme}}}: data is not base64")))?;
            if raw.len() <= digest.len() {
                return Err(SchemeError(format!(
                    "{{{scheme}}}: too short for digest + salt"
                )));
            }
            let (hash, salt) = raw.split_at(digest.len());
            Ok(StoredHash::Salted {
                digest,
                hash: hash.to_vec(),
                salt: salt.to_vec(),
            })
        };
        let unsalted = |digest: Digest3| -> Result<StoredHash, SchemeError> {
            let raw = decode_b64_or_hex(data, encoding)
                .ok_or_else(|| SchemeError(format!("{{{scheme}}}: data is not base64")))?;
            if raw.len() != digest.len() {
                return Err(SchemeError(format!("{{{scheme}}}: wrong digest length")));
            }
            Ok(StoredHash::Unsalted { digest, hash: raw })
        };
        return match scheme.as_str() {
            "SHA512-CRYPT" | "SHA256-CRYPT" | "BLF-CRYPT" | "CRYPT" | "ARGON2ID" | "ARGON2I"
            | "DES-CRYPT" | "MD5-CRYPT" | "MD5" => parse_crypt(data),
            "SSHA" => salted(Digest3::Sha1),
            "SSHA256" => salted(Digest3::Sha256),
            "SSHA512" => salted(Digest3::Sha512),
            "SHA" | "SHA1" => unsalted(Digest3::Sha1),
            "SHA256" => unsalted(Digest3::Sha256),
            "SHA512" => unsalted(Digest3::Sha512),
            "PLAIN" | "CLEARTEXT" => Ok(StoredHash::Plain(data.to_string())),
            "NTLM" => {
                let raw = hex::decode(data)
                    .ok()
                    .and_then(|v| <[u8; 16]>::try_from(v).ok())
                    .ok_or_else(|| SchemeError("{NTLM}: not 32 hex characters".into()))?;
                Ok(StoredHash::Nt(raw))
            }
            "PLAIN-MD5" | "LDAP-MD5" | "SMD5" => Ok(StoredHash::Unsupported("md5")),
            "PBKDF2" => Ok(StoredHash::Unsupported("pbkdf2")),
            "SCRAM-SHA-1" | "SCRAM-SHA-256" => Ok(StoredHash::Unsupported("scram")),
            "LANMAN" => Ok(StoredHash::Unsupported("lanman")),
            _ => Ok(StoredHash::Unsupported("unknown-dovecot-scheme")),
        };
    }
    parse_crypt(field)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reference_vectors() {
        // SHA-512-crypt test vector from the specification (Drepper).
        let h = parse_password_field(
            "$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1",
        )
        .unwrap();
        assert_eq!(h.scheme(), "sha512-crypt");
        assert!(h.verify("Hello world!"));
        assert!(!h.verify("Hello world"));
        // {SHA} of "password" (htpasswd -s style).
        let h = parse_password_field("{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=").unwrap();
        assert!(h.verify("password"));
        assert!(!h.verify("Password"));
        assert_eq!(parse_password_field("").unwrap(), StoredHash::Empty);
        assert_eq!(parse_password_field("!").unwrap(), StoredHash::Locked);
        assert_eq!(parse_password_field("*").unwrap(), StoredHash::Locked);
        assert_eq!(
            parse_password_field("!$6$abc$def").unwrap(),
            StoredHash::Locked
        );
        assert_eq!(
            parse_password_field("$y$j9T$abc$def").unwrap().scheme(),
            "yescrypt/scrypt"
        );
        assert!(parse_password_field("$6$broken").is_err());
        assert!(parse_password_field("{SHA512-CRYPT}$6$truncated").is_err());
        assert!(parse_password_field("$5$rounds=1000$salt$tooshort").is_err());
        assert!(parse_password_field("{SSHA}not base64!!").is_err());
        let h = parse_password_field("{PLAIN}hunter2").unwrap();
        assert!(h.verify("hunter2"));
        let h = parse_password_field("{NTLM}8846f7eaee8fb117ad06bdd830b7586c").unwrap();
        assert!(h.verify("password"));
    }
}
