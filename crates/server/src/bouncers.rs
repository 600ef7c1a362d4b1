//! The bouncers allowed to pull decisions, each with its own API key (`portcullis admin
//! bouncers add|list|delete`). A key is shown once, when it is made; only its SHA-256 is kept,
//! in `<data_dir>/bouncers.json` (mode 0600, replaced atomically on every change). Keys are
//! 32 random bytes in hex; a presented key is hashed and looked up, so no key is compared
//! byte by byte.

use parking_lot::Mutex;
use portcullis_core::Timestamp;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// Bouncers kept at most.
pub const MAX_BOUNCERS: usize = 256;

/// One registered bouncer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Bouncer {
    pub name: String,
    /// SHA-256 of its key, hex.
    pub key_sha256: String,
    pub created: Timestamp,
    /// Send it narrow IPv4 ranges address by address (a bouncer that cannot enforce ranges).
    #[serde(default)]
    pub expand_ranges: bool,
    /// Its last pull since this server started (not stored).
    #[serde(skip)]
    pub last_pull: Option<Timestamp>,
}

/// The registry (see the module doc).
pub struct Bouncers {
    path: PathBuf,
    list: Mutex<Vec<Bouncer>>,
}

fn digest(key: &str) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))
}

impl Bouncers {
    /// Loads `<data_dir>/bouncers.json` (none yet: an empty registry). The error names the file.
    pub fn open(data_dir: &Path) -> anyhow::Result<Bouncers> {
        let path = data_dir.join("bouncers.json");
        let list = match std::fs::read(&path) {
            Ok(b) => serde_json::from_slice(&b)
                .map_err(|e| anyhow::anyhow!("{}: not a bouncer list: {e}", path.display()))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => anyhow::bail!("{}: {e}", path.display()),
        };
        Ok(Bouncers {
            path,
            list: Mutex::new(list),
        })
    }

    fn save(&self, list: &[Bouncer]) -> anyhow::Result<()> {
        let tmp = self.path.with_extension("json.tmp");
        let body = serde_json::to_vec_pretty(list)?;
        {
            use std::io::Write;
            let mut o = std::fs::OpenOptions::new();
            o.write(true).create(true).truncate(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut o, 0o600);
            let mut f = o
                .open(&tmp)
                .map_err(|e| anyhow::anyhow!("{}: {e}", tmp.display()))?;
            f.write_all(&body)?;
            f.sync_all()?;
        }
        std::fs::rename(&tmp, &self.path)
            .map_err(|e| anyhow::anyhow!("{}: {e}", self.path.display()))?;
        Ok(())
    }

    /// Registers `name` and returns its new key (shown once). Refused: a bad or taken name,
    /// or too many bouncers.
    pub fn add(&self, name: &str, expand_ranges: bool, now: Timestamp) -> Result<String, String> {
        let ok = !name.is_empty()
            && name.len() <= 64
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c));
        if !ok {
            return Err("a bouncer name is 1 to 64 letters, digits, '.', '_' or '-'".into());
        }
        let mut list = self.list.lock();
        if list.iter().any(|b| b.name == name) {
            return Err(format!("a bouncer named {name:?} exists: delete it first"));
        }
        if list.len() >= MAX_BOUNCERS {
            return Err(format!("at most {MAX_BOUNCERS} bouncers"));
        }
        let mut raw = [0u8; 32];
        getrandom::fill(&mut raw).map_err(|e| format!("no randomness for a key: {e}"))?;
        let key = hex::encode(raw);
        let mut next = list.clone();
        next.push(Bouncer {
            name: name.to_string(),
            key_sha256: digest(&key),
            created: now,
            expand_ranges,
            last_pull: None,
        });
        self.save(&next).map_err(|e| format!("{e:#}"))?;
        *list = next;
        Ok(key)
    }

    /// Removes `name`; false when there was none.
    pub fn delete(&self, name: &str) -> Result<bool, String> {
        let mut list = self.list.lock();
        let next: Vec<Bouncer> = list.iter().filter(|b| b.name != name).cloned().collect();
        if next.len() == list.len() {
            return Ok(false);
        }
        self.save(&next).map_err(|e| format!("{e:#}"))?;
        *list = next;
        Ok(true)
    }

    /// The bouncer whose key this is (its name, and whether it wants ranges expanded),
    /// noting the pull.
    pub fn authenticate(&self, key: &str, now: Timestamp) -> Option<(String, bool)> {
        let d = digest(key.trim());
        let mut list = self.list.lock();
        let b = list.iter_mut().find(|b| b.key_sha256 == d)?;
        b.last_pull = Some(now);
        Some((b.name.clone(), b.expand_ranges))
    }

    /// The registered bouncers (without their key digests).
    pub fn list(&self) -> Vec<serde_json::Value> {
        self.list
            .lock()
            .iter()
            .map(|b| serde_json::json!({"name": b.name, "created": b.created, "expand_ranges": b.expand_ranges, "last_pull": b.last_pull}))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_shown_once_kept_hashed_and_survive_a_reload() {
        let dir = tempfile::tempdir().unwrap();
        let t = Timestamp::from_unix_secs(1_700_000_000);
        let b = Bouncers::open(dir.path()).unwrap();
        let key = b.add("fw-1", true, t).unwrap();
        assert_eq!(key.len(), 64);
        assert!(b.add("fw-1", false, t).is_err(), "names are unique");
        assert!(b.add("no spaces", false, t).is_err());
        let file = std::fs::read_to_string(dir.path().join("bouncers.json")).unwrap();
        assert!(!file.contains(&key), "the key itself is never written");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join("bouncers.json"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let again = Bouncers::open(dir.path()).unwrap();
        assert_eq!(
            again.authenticate(&key, t),
            Some(("fw-1".to_string(), true))
        );
        assert_eq!(again.authenticate("not-the-key", t), None);
        assert_eq!(again.delete("fw-1"), Ok(true));
        assert_eq!(again.authenticate(&key, t), None);
        assert_eq!(again.delete("fw-1"), Ok(false));
    }
}
