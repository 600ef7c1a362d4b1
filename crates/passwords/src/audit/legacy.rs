//! Schemes libxcrypt does not know, computed in Rust from their published definitions:
//! Apache's MD5-crypt variant (`$apr1$`, htpasswd's default), Dovecot's `{PBKDF2}`,
//! `{SCRAM-SHA-1}`/`{SCRAM-SHA-256}` (RFC 5802 stored keys), `{CRAM-MD5}`/`{HMAC-MD5}` (the
//! HMAC-MD5 inner and outer states, RFC 2195), `{DIGEST-MD5}` (RFC 2831's
//! MD5(user:realm:password)) and `{OTP}` (RFC 2289 S/KEY state).
//!
//! Every one of them can be attacked offline: what the server stores is enough for it to check
//! a password, so it is enough for us to check a guess.

use hmac::{Hmac, KeyInit, Mac};
use md5::Md5;
use sha1::Sha1;
use sha2::{Digest, Sha256};

const ITOA64: &[u8; 64] = b"./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

fn to64(out: &mut String, mut v: u32, n: usize) {
    for _ in 0..n {
        out.push(ITOA64[(v & 0x3f) as usize] as char);
        v >>= 6;
    }
}

/// Poul-Henning Kamp's MD5-crypt with the given magic (`$1$`, or Apache's `$apr1$`): the whole
/// hash string `magic salt $ checksum`. The salt is cut at its first `$` and at 8 bytes.
pub fn md5_crypt(magic: &str, password: &[u8], salt: &str) -> String {
    let salt = salt.split('$').next().unwrap_or("").as_bytes();
    let salt = &salt[..salt.len().min(8)];
    let alt = Md5::new()
        .chain_update(password)
        .chain_update(salt)
        .chain_update(password)
        .finalize();
    let mut ctx = Md5::new()
        .chain_update(password)
        .chain_update(magic.as_bytes())
        .chain_update(salt);
    let mut left = password.len();
    while left > 0 {
        let n = left.min(16);
        ctx.update(&alt[..n]);
        left -= n;
    }
    let mut i = password.len();
    while i != 0 {
        if i & 1 == 1 {
            ctx.update([0u8]);
        } else {
            ctx.update(&password[..1]);
        }
        i >>= 1;
    }
    let mut fin = ctx.finalize();
    for round in 0..1000 {
        let mut c = Md5::new();
        if round & 1 == 1 {
            c.update(password);
        } else {
            c.update(fin);
        }
        if round % 3 != 0 {
            c.update(salt);
        }
        if round % 7 != 0 {
            c.update(password);
        }
        if round & 1 == 1 {
            c.update(fin);
        } else {
            c.update(password);
        }
        fin = c.finalize();
    }
    let f = |i: usize| u32::from(fin[i]);
    let mut out = String::with_capacity(magic.len() + salt.len() + 23);
    out.push_str(magic);
    out.push_str(&String::from_utf8_lossy(salt));
    out.push('$');
    for (a, b, c) in [(0, 6, 12), (1, 7, 13), (2, 8, 14), (3, 9, 15), (4, 10, 5)] {
        to64(&mut out, (f(a) << 16) | (f(b) << 8) | f(c), 4);
    }
    to64(&mut out, f(11), 2);
    out
}

/// `{CRAM-MD5}` / `{HMAC-MD5}`: the MD5 states after HMAC's outer and inner pad blocks, each
/// as four little-endian words (outer first, as Dovecot stores them).
pub fn cram_md5_context(password: &[u8]) -> [u8; 32] {
    const IV: [u32; 4] = [0x6745_2301, 0xefcd_ab89, 0x98ba_dcfe, 0x1032_5476];
    let mut key = [0u8; 64];
    if password.len() > 64 {
        key[..16].copy_from_slice(&Md5::digest(password));
    } else {
        key[..password.len()].copy_from_slice(password);
    }
    let state = |pad: u8| {
        let block: [u8; 64] = std::array::from_fn(|i| key[i] ^ pad);
        let mut s = IV;
        md5::block_api::compress(&mut s, &[block]);
        s
    };
    let mut out = [0u8; 32];
    for (i, w) in state(0x5c).into_iter().chain(state(0x36)).enumerate() {
        out[i * 4..i * 4 + 4].copy_from_slice(&w.to_le_bytes());
    }
    out
}

/// `{DIGEST-MD5}`: MD5 of `user:realm:password`, the realm being what follows `@` in the
/// login name (Dovecot's rule).
pub fn digest_md5(login: &str, password: &[u8]) -> [u8; 16] {
    let (user, realm) = login.split_once('@').unwrap_or((login, ""));
    Md5::new()
        .chain_update(user.as_bytes())
        .chain_update(b":")
        .chain_update(realm.as_bytes())
        .chain_update(b":")
        .chain_update(password)
        .finalize()
        .into()
}

/// The digests RFC 2289 allows for OTP.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OtpAlgo {
    Md4,
    Md5,
    Sha1,
}

impl OtpAlgo {
    pub fn parse(name: &str) -> Option<Self> {
        match name.to_ascii_lowercase().as_str() {
            "md4" => Some(OtpAlgo::Md4),
            "md5" => Some(OtpAlgo::Md5),
            "sha1" => Some(OtpAlgo::Sha1),
            _ => None,
        }
    }

    /// The digest of `data`, folded to 64 bits as RFC 2289 (and Dovecot) do.
    fn fold(self, parts: &[&[u8]]) -> [u8; 8] {
        let x = |a: &[u8], b: &[u8]| -> [u8; 4] { std::array::from_fn(|i| a[i] ^ b[i]) };
        match self {
            OtpAlgo::Md4 | OtpAlgo::Md5 => {
                let d: Vec<u8> = if self == OtpAlgo::Md4 {
                    let mut h = md4::Md4::new();
                    parts.iter().for_each(|p| h.update(p));
                    h.finalize().to_vec()
                } else {
                    let mut h = Md5::new();
                    parts.iter().for_each(|p| h.update(p));
                    h.finalize().to_vec()
                };
                let (a, b) = (x(&d[0..4], &d[8..12]), x(&d[4..8], &d[12..16]));
                [a[0], a[1], a[2], a[3], b[0], b[1], b[2], b[3]]
            }
            OtpAlgo::Sha1 => {
                let mut h = Sha1::new();
                parts.iter().for_each(|p| h.update(p));
                let d = h.finalize();
                let a = x(&x(&d[0..4], &d[8..12]), &d[16..20]);
                let b = x(&d[4..8], &d[12..16]);
                // Each 32-bit half in little-endian order of the big-endian digest words.
                [a[3], a[2], a[1], a[0], b[3], b[2], b[1], b[0]]
            }
        }
    }
}

/// `{OTP}algo seq seed state`: the S/KEY state after `seq` further steps from
/// fold(H(seed ‖ password)).
pub fn otp_state(algo: OtpAlgo, seq: u32, seed: &str, password: &[u8]) -> [u8; 8] {
    let mut r = algo.fold(&[seed.as_bytes(), password]);
    for _ in 0..seq {
        r = algo.fold(&[&r]);
    }
    r
}

/// Dovecot's `{PBKDF2}$1$salt$rounds$hex`: PBKDF2-HMAC-SHA1 over the salt as written.
pub fn pbkdf2_sha1(password: &[u8], salt: &[u8], rounds: u32) -> [u8; 20] {
    let mut out = [0u8; 20];
    pbkdf2::pbkdf2_hmac::<Sha1>(password, salt, rounds, &mut out);
    out
}

/// The hash of a SCRAM mechanism.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ScramDigest {
    Sha1,
    Sha256,
}

/// RFC 5802 StoredKey = H(HMAC(SaltedPassword, "Client Key")), SaltedPassword =
/// PBKDF2-HMAC-H(password, salt, iterations). (Passwords are used as given, without SASLprep,
/// as Dovecot does.)
pub fn scram_stored_key(d: ScramDigest, password: &[u8], salt: &[u8], iter: u32) -> Vec<u8> {
    match d {
        ScramDigest::Sha1 => {
            let mut sp = [0u8; 20];
            pbkdf2::pbkdf2_hmac::<Sha1>(password, salt, iter, &mut sp);
            let mut mac = <Hmac<Sha1> as KeyInit>::new_from_slice(&sp).expect("any key length");
            mac.update(b"Client Key");
            Sha1::digest(mac.finalize().into_bytes()).to_vec()
        }
        ScramDigest::Sha256 => {
            let mut sp = [0u8; 32];
            pbkdf2::pbkdf2_hmac::<Sha256>(password, salt, iter, &mut sp);
            let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&sp).expect("any key length");
            mac.update(b"Client Key");
            Sha256::digest(mac.finalize().into_bytes()).to_vec()
        }
    }
}
