//! portcullis-passwords: weak and breached passwords, offline.
//!
//! * [`build`]: Have I Been Pwned's Pwned Passwords (SHA-1 or NTLM) → a compact, sharded,
//!   memory-mapped binary fuse [`filter`] (≈9 bits per entry, false-positive rate ≈ 1/256).
//! * [`check`]: one password → breached?, zxcvbn strength with context words, and a NIST SP
//!   800-63B verdict ([`PasswordChecker`], mounted by `serve` as `POST /v1/password/check`).
//! * [`audit`]: an organisation's stored hashes (NTLM dumps, /etc/shadow, Dovecot passwd-files,
//!   htpasswd) → breached, common, shared, empty and spray-exposed accounts.
//!
//! No plaintext password is ever stored or logged by this crate; results carry verdicts only.

pub mod audit;
pub mod build;
pub mod check;
pub mod common;
pub mod filter;
pub mod hash;
pub mod progress;
pub mod prompt;

pub use audit::{AuditOptions, AuditReport, audit};
pub use build::{BuildError, BuildOptions, BuildReport, BuildStats, build_filter};
pub use check::{CheckResult, NistVerdict, PasswordChecker, PasswordsConfig, Policy};
pub use filter::{BreachFilter, FilterError, FilterInfo, FingerprintBits};
pub use hash::HashKind;
pub use progress::{NoProgress, Progress};
