//! The system's crypt(3), libxcrypt, for the crypt strings it wrote: yescrypt (`$y$`, the
//! default of Debian 11+, Ubuntu 22.04+, Fedora 35+), gost-yescrypt (`$gy$`), scrypt (`$7$`),
//! MD5-crypt (`$1$`), Sun MD5 (`$md5`), DES and BSDi extended DES crypt, and whatever else the
//! installed library supports.
//!
//! Why libxcrypt and not a pure-Rust crate: it is the code that wrote these hashes (mkpasswd,
//! passwd, chpasswd all call it), so it verifies every variant they produce; RustCrypto's
//! `yescrypt` 0.1 verifies `$y$` but not `$gy$`, and was ≈ 1.5× slower per guess here (see
//! docs/bench/passwords.md). libxcrypt is part of every Linux system, and its development
//! symlink comes with `libc6-dev`, which linking any Rust program on Debian already needs.
//!
//! All of the audit's `unsafe` code is in this module. Elsewhere (not Linux) nothing is linked and these
//! schemes stay "not testable".

/// Is `hash` a crypt string the installed libxcrypt can compute (any method it knows, including
/// legacy ones)?
pub fn supports(hash: &str) -> bool {
    imp::supports(hash)
}

/// Does `password` hash to `hash`? `false` for anything crypt(3) refuses (a NUL byte in the
/// password, a phrase over 512 bytes, a malformed setting). The comparison is constant-time.
pub fn verify(password: &str, hash: &str) -> bool {
    use subtle::ConstantTimeEq;
    imp::crypt(password, hash).is_some_and(|out| bool::from(out.as_bytes().ct_eq(hash.as_bytes())))
}

// The FFI to libxcrypt: the one place in the workspace that allows `unsafe` (workspace lints
// deny it elsewhere); each block says why it is sound.
#[cfg(target_os = "linux")]
#[allow(unsafe_code)]
mod imp {
    use std::cell::RefCell;
    use std::ffi::{CStr, CString, c_char, c_int, c_void};

    /// `sizeof(struct crypt_data)` in libxcrypt (its header fixes it at 32 KiB).
    const CRYPT_DATA_SIZE: usize = 32768;
    /// `CRYPT_SALT_OK`, `CRYPT_SALT_METHOD_LEGACY`, `CRYPT_SALT_TOO_CHEAP`: all computable.
    const SALT_COMPUTABLE: [c_int; 3] = [0, 3, 4];

    #[link(name = "crypt")]
    unsafe extern "C" {
        fn crypt_rn(
            phrase: *const c_char,
            setting: *const c_char,
            data: *mut c_void,
            size: c_int,
        ) -> *mut c_char;
        fn crypt_checksalt(setting: *const c_char) -> c_int;
    }

    thread_local! {
        /// One work area per thread: crypt_rn is thread-safe given its own area.
        static DATA: RefCell<Vec<u8>> = RefCell::new(vec![0u8; CRYPT_DATA_SIZE]);
    }

    pub fn supports(hash: &str) -> bool {
        let Ok(setting) = CString::new(hash) else {
            return false;
        };
        // SAFETY: `setting` is a valid NUL-terminated string that outlives the call;
        // crypt_checksalt only reads it.
        let r = unsafe { crypt_checksalt(setting.as_ptr()) };
        SALT_COMPUTABLE.contains(&r)
    }

    pub fn crypt(password: &str, hash: &str) -> Option<String> {
        let phrase = CString::new(password).ok()?;
        let setting = CString::new(hash).ok()?;
        DATA.with(|d| {
            let mut data = d.borrow_mut();
            // SAFETY: both strings are valid and NUL-terminated for the whole call; `data` is a
            // writable, exclusively borrowed area of CRYPT_DATA_SIZE bytes, which is
            // `sizeof(struct crypt_data)` (crypt_rn returns NULL if it were too small). On
            // success the result points into `data` and is NUL-terminated within it; it is
            // copied out before the borrow ends. crypt_rn returns NULL on any failure.
            unsafe {
                let out = crypt_rn(
                    phrase.as_ptr(),
                    setting.as_ptr(),
                    data.as_mut_ptr().cast::<c_void>(),
                    CRYPT_DATA_SIZE as c_int,
                );
                if out.is_null() {
                    None
                } else {
                    Some(CStr::from_ptr(out).to_string_lossy().into_owned())
                }
            }
        })
    }
}

#[cfg(not(target_os = "linux"))]
mod imp {
    pub fn supports(_hash: &str) -> bool {
        false
    }
    pub fn crypt(_password: &str, _hash: &str) -> Option<String> {
        None
    }
}
