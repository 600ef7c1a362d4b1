//! The two hash kinds Pwned Passwords is published in (SHA-1 and NTLM), and how a password or a
//! hex string becomes the 64-bit filter key.
//!
//! The filter stores the first 8 bytes of the hash (big-endian) as its key: the hashes are
//! uniformly distributed already, so these bits are as good as any, and their top bits name the
//! shard. Distinct hashes that share 64 bits are vanishingly rare (≈0.1 expected pairs in the
//! whole 2-billion list) and only ever add a false positive, never a false negative.

use md4::Md4;
use serde::{Deserialize, Serialize};
use sha1::{Digest, Sha1};
use std::fmt;
use std::str::FromStr;

/// Which hash the Pwned Passwords list (and so a filter) is keyed by.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HashKind {
    /// SHA-1 of the UTF-8 password (the default HIBP download), 40 hex characters.
    Sha1,
    /// NTLM: MD4 of the UTF-16LE password, 32 hex characters; matches Windows NT hashes.
    Ntlm,
}

impl HashKind {
    /// Length of the full hash in hex characters.
    pub fn hex_len(self) -> usize {
        match self {
            HashKind::Sha1 => 40,
            HashKind::Ntlm => 32,
        }
    }

    /// The code stored in a filter header.
    pub fn code(self) -> u8 {
        match self {
            HashKind::Sha1 => 1,
            HashKind::Ntlm => 2,
        }
    }

    /// Inverse of [`HashKind::code`].
    pub fn from_code(code: u8) -> Option<Self> {
        match code {
            1 => Some(HashKind::Sha1),
            2 => Some(HashKind::Ntlm),
            _ => None,
        }
    }

    /// The kind whose full hex length is `len`, if any.
    pub fn from_hex_len(len: usize) -> Option<Self> {
        match len {
            40 => Some(HashKind::Sha1),
            32 => Some(HashKind::Ntlm),
            _ => None,
        }
    }

    /// Hashes a password the way this list does.
    pub fn hash_password(self, password: &str) -> Vec<u8> {
        match self {
            HashKind::Sha1 => sha1(password).to_vec(),
            HashKind::Ntlm => nt_hash(password).to_vec(),
        }
    }

    /// The filter key of a password.
    pub fn key_of_password(self, password: &str) -> u64 {
        key_of_hash(&self.hash_password(password))
    }
}

impl fmt::Display for HashKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            HashKind::Sha1 => "sha1",
            HashKind::Ntlm => "ntlm",
        })
    }
}

impl FromStr for HashKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "sha1" | "sha-1" => Ok(HashKind::Sha1),
            "ntlm" | "nt" => Ok(HashKind::Ntlm),
            other => Err(format!(
                "unknown hash kind {other:?} (expected sha1 or ntlm)"
            )),
        }
    }
}

/// SHA-1 of the UTF-8 bytes of `password`.
pub fn sha1(password: &str) -> [u8; 20] {
    Sha1::digest(password.as_bytes()).into()
}

/// The Windows NT hash: MD4 of the UTF-16LE encoding of `password`.
pub fn nt_hash(password: &str) -> [u8; 16] {
    let mut h = Md4::new();
    for unit in password.encode_utf16() {
        h.update(unit.to_le_bytes());
    }
    h.finalize().into()
}

/// The filter key of a binary hash: its first 8 bytes, big-endian. Hashes shorter than 8 bytes
/// are zero-padded (never happens for the supported kinds).
pub fn key_of_hash(hash: &[u8]) -> u64 {
    let mut b = [0u8; 8];
    let n = hash.len().min(8);
    b[..n].copy_from_slice(&hash[..n]);
    u64::from_be_bytes(b)
}

/// Value of one ASCII hex digit.
#[inline]
pub(crate) fn hex_val(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// The filter key of a hex hash string (any case). `None` unless every character is hex and
/// there are at least 16 of them.
pub fn key_of_hex(hex: &[u8]) -> Option<u64> {
    if hex.len() < 16 || !hex.iter().all(|c| hex_val(*c).is_some()) {
        return None;
    }
    let mut k = 0u64;
    for c in &hex[..16] {
        k = (k << 4) | u64::from(hex_val(*c)?);
    }
    Some(k)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_hashes() {
        // SHA-1("password") and NT("password") are well-known reference values.
        assert_eq!(
            hex::encode_upper(sha1("password")),
            "5BAA61E4C9B93F3F0682250B6CF8331B7EE68FD8"
        );
        assert_eq!(
            hex::encode_upper(nt_hash("password")),
            "8846F7EAEE8FB117AD06BDD830B7586C"
        );
        assert_eq!(
            hex::encode_upper(nt_hash("")),
            "31D6CFE0D16AE931B73C59D7E0C089C0"
        );
    }

    #[test]
    fn key_from_hex_matches_key_from_bytes() {
        let h = sha1("password");
        let hx = hex::encode(h);
        assert_eq!(key_of_hex(hx.as_bytes()), Some(key_of_hash(&h)));
        assert_eq!(
            key_of_hex(hx.to_uppercase().as_bytes()),
            Some(key_of_hash(&h))
        );
        assert_eq!(
            key_of_hex(b"5BAA61E4C9B93F3Z0682250B6CF8331B7EE68FD8"),
            None
        );
        assert_eq!(key_of_hex(b"5BAA"), None);
    }
}
