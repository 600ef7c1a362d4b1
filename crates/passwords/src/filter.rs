//! The breached-password filter file: format, writer and memory-mapped reader.
//!
//! A filter file holds one binary fuse filter (built with `xorf`) per shard; a key's shard is
//! its top `shard_bits` bits. Lookups map the file and build a zero-copy
//! [`xorf::BinaryFuse8Ref`] / [`xorf::BinaryFuse16Ref`] over the shard's fingerprints: opening
//! a 2-billion-entry filter costs a page fault or two, not gigabytes of RAM.
//!
//! Layout (all integers little-endian):
//!
//! | offset | size | field |
//! |---|---|---|
//! | 0 | 8 | magic `PCPWFLT1` |
//! | 8 | 4 | format version (1) |
//! | 12 | 1 | hash kind (1 = SHA-1, 2 = NTLM) |
//! | 13 | 1 | fingerprint bits (8 or 16) |
//! | 14 | 1 | shard bits (0..=16) |
//! | 16 | 8 | entries (distinct keys stored) |
//! | 24 | 8 | hashes read from the source (accepted lines) |
//! | 32 | 8 | minimum count applied |
//! | 40 | 8 | source date, Unix seconds (0 = unknown) |
//! | 48 | 8 | build time, Unix seconds |
//! | 56 | 8 | shard table offset |
//! | 64 | 8 | total file length |
//! | 72..128 | | reserved, zero |
//!
//! Shard table: `2^shard_bits` entries of 48 bytes: fingerprint offset (u64), fingerprint count
//! (u64), key count (u64), xorf descriptor (20 bytes), 4 bytes padding. Fingerprint arrays start
//! on 8-byte boundaries.

use crate::hash::{HashKind, key_of_hash};
use memmap2::Mmap;
use serde::Serialize;
use std::fs::File;
use std::io::{Seek, SeekFrom, Write};
use std::path::Path;
use xorf::{BinaryFuse8Ref, BinaryFuse16Ref, Filter, FilterRef};

/// File magic.
pub const MAGIC: &[u8; 8] = b"PCPWFLT1";
/// Current format version.
pub const FORMAT_VERSION: u32 = 1;
/// Header length in bytes.
pub const HEADER_LEN: usize = 128;
/// Shard table entry length in bytes.
pub const SHARD_ENTRY_LEN: usize = 48;
/// Length of a serialised xorf binary fuse descriptor.
pub const DESCRIPTOR_LEN: usize = 20;
/// Largest shard count exponent accepted.
pub const MAX_SHARD_BITS: u8 = 16;

/// Why a filter file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum FilterError {
    #[error("cannot read filter file: {0}")]
    Io(#[from] std::io::Error),
    #[error("not a portcullis password filter (bad magic)")]
    BadMagic,
    #[error("unsupported filter format version {0} (this build reads {FORMAT_VERSION})")]
    Version(u32),
    #[error("corrupt filter file: {0}")]
    Corrupt(String),
}

/// Fingerprint width of the filters in a file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum FingerprintBits {
    /// 8-bit fingerprints: ≈9 bits per entry, false-positive rate ≈ 1/256.
    Eight,
    /// 16-bit fingerprints: ≈18 bits per entry, false-positive rate ≈ 1/65536.
    Sixteen,
}

impl FingerprintBits {
    /// Number of bits.
    pub fn bits(self) -> u8 {
        match self {
            FingerprintBits::Eight => 8,
            FingerprintBits::Sixteen => 16,
        }
    }
    /// From a number of bits.
    pub fn from_bits(b: u8) -> Option<Self> {
        match b {
            8 => Some(FingerprintBits::Eight),
            16 => Some(FingerprintBits::Sixteen),
            _ => None,
        }
    }
    /// Bytes per fingerprint.
    pub fn width(self) -> usize {
        usize::from(self.bits() / 8)
    }
    /// The theoretical false-positive rate of a binary fuse filter with this width: 2^-bits.
    pub fn false_positive_rate(self) -> f64 {
        (-f64::from(self.bits())).exp2()
    }
}

/// What the header says about a filter (for `check` output and `build` summaries).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FilterInfo {
    pub format_version: u32,
    pub hash_kind: HashKind,
    pub fingerprint_bits: u8,
    pub shard_bits: u8,
    /// Distinct keys stored.
    pub entries: u64,
    /// Hashes read from the source (after `min_count`, before de-duplication).
    pub source_hashes: u64,
    pub min_count: u64,
    /// Date of the source list, Unix seconds (0 = unknown).
    pub source_date_unix: i64,
    pub built_at_unix: i64,
    /// The false-positive rate to state with every hit (2^-fingerprint_bits).
    pub false_positive_rate: f64,
    /// File size in bytes.
    pub file_bytes: u64,
    /// `file_bytes * 8 / entries`.
    pub bits_per_entry: f64,
}

impl FilterInfo {
    /// The source date as `YYYY-MM-DD`, if known.
    pub fn source_date(&self) -> Option<String> {
        date_string(self.source_date_unix)
    }
}

/// `YYYY-MM-DD` of a Unix time, `None` for 0 / out of range.
pub fn date_string(unix: i64) -> Option<String> {
    if unix == 0 {
        return None;
    }
    chrono::DateTime::from_timestamp(unix, 0).map(|d| d.format("%Y-%m-%d").to_string())
}

/// Unix seconds of midnight UTC of a `YYYY-MM-DD` date.
pub fn parse_date(s: &str) -> Option<i64> {
    chrono::NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|dt| dt.and_utc().timestamp())
}

#[derive(Clone, Copy, Debug)]
struct ShardEntry {
    offset: usize,
    fingerprints: usize,
    keys: u64,
    descriptor: [u8; DESCRIPTOR_LEN],
}

/// A memory-mapped breached-password filter. `Send + Sync`; lookups take no lock.
#[derive(Debug)]
pub struct BreachFilter {
    map: Mmap,
    info: FilterInfo,
    fp: FingerprintBits,
    shards: Vec<ShardEntry>,
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().expect("4 bytes"))
}
fn u64_at(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().expect("8 bytes"))
}

/// Checks that an xorf binary fuse descriptor cannot index outside `fingerprints` entries:
/// `contains` reads indexes below `segment_count_length + 2 * segment_length`.
fn descriptor_is_sound(d: &[u8; DESCRIPTOR_LEN], fingerprints: usize) -> bool {
    let seg_len = u32_at(d, 8);
    let mask = u32_at(d, 12);
    let seg_count_len = u32_at(d, 16);
    seg_len.is_power_of_two()
        && mask == seg_len - 1
        && seg_count_len.is_multiple_of(seg_len)
        && (u64::from(seg_count_len) + 2 * u64::from(seg_len)) <= fingerprints as u64
}

impl BreachFilter {
    /// Maps and validates a filter file. Every offset and descriptor is checked, so a corrupt or
    /// truncated file is an error here, never a panic or an out-of-bounds read later.
    #[allow(unsafe_code)]
    pub fn open(path: &Path) -> Result<Self, FilterError> {
        let file = File::open(path)?;
        // SAFETY: the file is opened read-only and we never write through the map. If another
        // process truncates the file while mapped, reads may fault (SIGBUS) — the same contract as
        // every mmap-based reader; filter files are written to a temporary name and renamed.
        let map = unsafe { Mmap::map(&file)? };
        Self::from_map(map)
    }

    fn from_map(map: Mmap) -> Result<Self, FilterError> {
        let b: &[u8] = &map;
        if b.len() < HEADER_LEN {
            return Err(if b.len() >= 8 && &b[..8] != MAGIC {
                FilterError::BadMagic
            } else {
                FilterError::Corrupt(format!("{} bytes is shorter than the header", b.len()))
            });
        }
        if &b[..8] != MAGIC {
            return Err(FilterError::BadMagic);
        }
        let version = u32_at(b, 8);
        if version != FORMAT_VERSION {
            return Err(FilterError::Version(version));
        }
        let corrupt = |m: String| FilterError::Corrupt(m);
        let hash_kind =
            HashKind::from_code(b[12]).ok_or_else(|| corrupt(format!("hash kind {}", b[12])))?;
        let fp = FingerprintBits::from_bits(b[13])
            .ok_or_else(|| corrupt(format!("fingerprint bits {}", b[13])))?;
        let shard_bits = b[14];
        if shard_bits > MAX_SHARD_BITS {
            return Err(corrupt(format!("shard bits {shard_bits}")));
        }
        let entries = u64_at(b, 16);
        let file_len = u64_at(b, 64);
        if file_len != b.len() as u64 {
            return Err(corrupt(format!(
                "header says {file_len} bytes, file has {} (truncated?)",
                b.len()
            )));
        }
        let table_off = usize::try_from(u64_at(b, 56)).map_err(|_| corrupt("table".into()))?;
        let n_shards = 1usize << shard_bits;
        let table_end = n_shards
            .checked_mul(SHARD_ENTRY_LEN)
            .and_then(|l| l.checked_add(table_off))
            .filter(|e| *e <= b.len() && table_off >= HEADER_LEN)
            .ok_or_else(|| corrupt("shard table outside the file".into()))?;
        let mut shards = Vec::with_capacity(n_shards);
        let mut key_sum = 0u64;
        for (i, e) in b[table_off..table_end]
            .chunks_exact(SHARD_ENTRY_LEN)
            .enumerate()
        {
            let offset = usize::try_from(u64_at(e, 0)).map_err(|_| corrupt("offset".into()))?;
            let fingerprints =
                usize::try_from(u64_at(e, 8)).map_err(|_| corrupt("length".into()))?;
            let keys = u64_at(e, 16);
            let descriptor: [u8; DESCRIPTOR_LEN] = e[24..24 + DESCRIPTOR_LEN]
                .try_into()
                .expect("descriptor length");
            if keys > 0 {
                let end = fingerprints
                    .checked_mul(fp.width())
                    .and_then(|l| l.checked_add(offset));
                if end.is_none_or(|end| end > b.len())
                    || offset < table_end
                    || !offset.is_multiple_of(8)
                    || !descriptor_is_sound(&descriptor, fingerprints)
                {
                    return Err(corrupt(format!("shard {i} is malformed")));
                }
            }
            key_sum = key_sum.saturating_add(keys);
            shards.push(ShardEntry {
                offset,
                fingerprints,
                keys,
                descriptor,
            });
        }
        if key_sum != entries {
            return Err(corrupt(format!(
                "shards hold {key_sum} keys, header says {entries}"
            )));
        }
        let info = FilterInfo {
            format_version: version,
            hash_kind,
            fingerprint_bits: fp.bits(),
            shard_bits,
            entries,
            source_hashes: u64_at(b, 24),
            min_count: u64_at(b, 32),
            source_date_unix: u64_at(b, 40) as i64,
            built_at_unix: u64_at(b, 48) as i64,
            false_positive_rate: fp.false_positive_rate(),
            file_bytes: file_len,
            bits_per_entry: if entries == 0 {
                0.0
            } else {
                file_len as f64 * 8.0 / entries as f64
            },
        };
        Ok(BreachFilter {
            map,
            info,
            fp,
            shards,
        })
    }

    /// The header.
    pub fn info(&self) -> &FilterInfo {
        &self.info
    }

    /// The hash kind the filter is keyed by.
    pub fn hash_kind(&self) -> HashKind {
        self.info.hash_kind
    }

    /// Is this 64-bit key (probably) in the list? No false negatives; false positives at
    /// [`FilterInfo::false_positive_rate`].
    pub fn contains_key(&self, key: u64) -> bool {
        let shard = if self.info.shard_bits == 0 {
            0
        } else {
            (key >> (64 - u32::from(self.info.shard_bits))) as usize
        };
        let s = &self.shards[shard];
        if s.keys == 0 {
            return false;
        }
        let bytes = &self.map[s.offset..s.offset + s.fingerprints * self.fp.width()];
        match self.fp {
            FingerprintBits::Eight => BinaryFuse8Ref::from_dma(&s.descriptor, bytes).contains(&key),
            FingerprintBits::Sixteen => {
                BinaryFuse16Ref::from_dma(&s.descriptor, bytes).contains(&key)
            }
        }
    }

    /// Is this binary hash (of the filter's kind) in the list?
    pub fn contains_hash(&self, hash: &[u8]) -> bool {
        self.contains_key(key_of_hash(hash))
    }

    /// Is this password in the list? Hashes it with the filter's kind.
    pub fn contains_password(&self, password: &str) -> bool {
        self.contains_key(self.info.hash_kind.key_of_password(password))
    }
}

/// Header values a writer records.
#[derive(Clone, Debug)]
pub struct HeaderFields {
    pub hash_kind: HashKind,
    pub fingerprint_bits: FingerprintBits,
    pub shard_bits: u8,
    pub min_count: u64,
    pub source_date_unix: i64,
    pub built_at_unix: i64,
}

/// Writes a filter file shard by shard, in shard order, then fills in the header and table.
/// Writes to `<path>.partial` and renames on [`FilterWriter::finish`], so readers never see a
/// half-written filter.
pub struct FilterWriter {
    file: std::io::BufWriter<File>,
    tmp_path: std::path::PathBuf,
    final_path: std::path::PathBuf,
    fields: HeaderFields,
    table: Vec<u8>,
    next_shard: usize,
    pos: u64,
    entries: u64,
    source_hashes: u64,
}

impl FilterWriter {
    /// Creates the temporary file and reserves header and table space.
    pub fn create(path: &Path, fields: HeaderFields) -> std::io::Result<Self> {
        if fields.shard_bits > MAX_SHARD_BITS {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!("shard bits must be at most {MAX_SHARD_BITS}"),
            ));
        }
        let mut tmp_name = path.as_os_str().to_owned();
        tmp_name.push(".partial");
        let tmp_path = std::path::PathBuf::from(tmp_name);
        let file = File::create(&tmp_path)?;
        let n_shards = 1usize << fields.shard_bits;
        let table = vec![0u8; n_shards * SHARD_ENTRY_LEN];
        let mut file = std::io::BufWriter::with_capacity(1 << 20, file);
        file.write_all(&[0u8; HEADER_LEN])?;
        file.write_all(&table)?;
        let pos = (HEADER_LEN + table.len()) as u64;
        Ok(FilterWriter {
            file,
            tmp_path,
            final_path: path.to_path_buf(),
            fields,
            table,
            next_shard: 0,
            pos,
            entries: 0,
            source_hashes: 0,
        })
    }

    /// Number of shards the file will hold.
    pub fn shard_count(&self) -> usize {
        1usize << self.fields.shard_bits
    }

    /// Adds the next shard, built from its sorted, de-duplicated keys (may be empty).
    pub fn add_shard(&mut self, keys: &[u64]) -> std::io::Result<()> {
        use xorf::DmaSerializable;
        let i = self.next_shard;
        assert!(i < self.shard_count(), "more shards than the table holds");
        self.next_shard += 1;
        let entry = &mut self.table[i * SHARD_ENTRY_LEN..(i + 1) * SHARD_ENTRY_LEN];
        if keys.is_empty() {
            return Ok(());
        }
        let pad = (8 - (self.pos % 8)) % 8;
        self.file.write_all(&[0u8; 8][..pad as usize])?;
        self.pos += pad;
        let build_err =
            |e: &str| std::io::Error::other(format!("shard {i}: filter construction failed: {e}"));
        let mut descriptor = [0u8; DESCRIPTOR_LEN];
        let fingerprints = match self.fields.fingerprint_bits {
            FingerprintBits::Eight => {
                let f = xorf::BinaryFuse8::try_from(keys).map_err(build_err)?;
                f.dma_copy_descriptor_to(&mut descriptor);
                self.file.write_all(f.dma_fingerprints())?;
                f.fingerprints.len()
            }
            FingerprintBits::Sixteen => {
                let f = xorf::BinaryFuse16::try_from(keys).map_err(build_err)?;
                f.dma_copy_descriptor_to(&mut descriptor);
                self.file.write_all(f.dma_fingerprints())?;
                f.fingerprints.len()
            }
        };
        entry[0..8].copy_from_slice(&self.pos.to_le_bytes());
        entry[8..16].copy_from_slice(&(fingerprints as u64).to_le_bytes());
        entry[16..24].copy_from_slice(&(keys.len() as u64).to_le_bytes());
        entry[24..24 + DESCRIPTOR_LEN].copy_from_slice(&descriptor);
        self.pos += (fingerprints * self.fields.fingerprint_bits.width()) as u64;
        self.entries += keys.len() as u64;
        Ok(())
    }

    /// Records how many source hashes were read (for the header).
    pub fn set_source_hashes(&mut self, n: u64) {
        self.source_hashes = n;
    }

    /// Writes header and table, syncs and renames into place. Shards not added are empty.
    pub fn finish(mut self) -> std::io::Result<u64> {
        let mut header = [0u8; HEADER_LEN];
        header[..8].copy_from_slice(MAGIC);
        header[8..12].copy_from_slice(&FORMAT_VERSION.to_le_bytes());
        header[12] = self.fields.hash_kind.code();
        header[13] = self.fields.fingerprint_bits.bits();
        header[14] = self.fields.shard_bits;
        header[16..24].copy_from_slice(&self.entries.to_le_bytes());
        header[24..32].copy_from_slice(&self.source_hashes.to_le_bytes());
        header[32..40].copy_from_slice(&self.fields.min_count.to_le_bytes());
        header[40..48].copy_from_slice(&self.fields.source_date_unix.to_le_bytes());
        header[48..56].copy_from_slice(&self.fields.built_at_unix.to_le_bytes());
        header[56..64].copy_from_slice(&(HEADER_LEN as u64).to_le_bytes());
        header[64..72].copy_from_slice(&self.pos.to_le_bytes());
        self.file.flush()?;
        let mut file = self.file.into_inner().map_err(|e| e.into_error())?;
        file.seek(SeekFrom::Start(0))?;
        file.write_all(&header)?;
        file.write_all(&self.table)?;
        file.sync_all()?;
        drop(file);
        std::fs::rename(&self.tmp_path, &self.final_path)?;
        Ok(self.pos)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(
        keys: &[u64],
        bits: FingerprintBits,
        shard_bits: u8,
    ) -> (tempfile::TempDir, BreachFilter) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.pcf");
        let mut w = FilterWriter::create(
            &path,
            HeaderFields {
                hash_kind: HashKind::Sha1,
                fingerprint_bits: bits,
                shard_bits,
                min_count: 1,
                source_date_unix: 1_700_000_000,
                built_at_unix: 1_700_000_100,
            },
        )
        .unwrap();
        let mut sorted = keys.to_vec();
        sorted.sort_unstable();
        sorted.dedup();
        for s in 0..w.shard_count() {
            let part: Vec<u64> = sorted
                .iter()
                .copied()
                .filter(|k| shard_bits == 0 || (k >> (64 - shard_bits as u32)) as usize == s)
                .collect();
            w.add_shard(&part).unwrap();
        }
        w.set_source_hashes(keys.len() as u64);
        w.finish().unwrap();
        let f = BreachFilter::open(&path).unwrap();
        (dir, f)
    }

    #[test]
    fn round_trip_both_widths() {
        let keys: Vec<u64> = (0..5000u64)
            .map(|i| i.wrapping_mul(0x9E37_79B9_7F4A_7C15))
            .collect();
        for bits in [FingerprintBits::Eight, FingerprintBits::Sixteen] {
            for shard_bits in [0u8, 4] {
                let (_d, f) = write(&keys, bits, shard_bits);
                assert_eq!(f.info().entries, 5000);
                assert_eq!(f.info().source_date().as_deref(), Some("2023-11-14"));
                for k in &keys {
                    assert!(f.contains_key(*k), "false negative for {k:#x}");
                }
            }
        }
    }

    #[test]
    fn dates() {
        assert_eq!(parse_date("2026-01-01"), Some(1_767_225_600));
        assert_eq!(date_string(1_767_225_600).as_deref(), Some("2026-01-01"));
        assert_eq!(parse_date("2026-13-01"), None);
        assert_eq!(parse_date("yesterday"), None);
        assert_eq!(date_string(0), None);
    }

    #[test]
    fn empty_filter_contains_nothing() {
        let (_d, f) = write(&[], FingerprintBits::Eight, 2);
        assert_eq!(f.info().entries, 0);
        assert!(!f.contains_key(42));
    }

    #[test]
    fn corrupt_files_are_rejected_not_panicking() {
        let keys: Vec<u64> = (0..3000u64)
            .map(|i| i.wrapping_mul(0x2545_F491_4F6C_DD1D))
            .collect();
        let (d, _f) = write(&keys, FingerprintBits::Eight, 2);
        let path = d.path().join("f.pcf");
        let good = std::fs::read(&path).unwrap();
        // Truncation.
        std::fs::write(&path, &good[..good.len() - 10]).unwrap();
        assert!(matches!(
            BreachFilter::open(&path),
            Err(FilterError::Corrupt(_))
        ));
        // Bad magic.
        let mut bad = good.clone();
        bad[0] = b'X';
        std::fs::write(&path, &bad).unwrap();
        assert!(matches!(
            BreachFilter::open(&path),
            Err(FilterError::BadMagic)
        ));
        // A descriptor that would index past the fingerprints.
        let mut bad = good.clone();
        let e = HEADER_LEN + 24 + 16; // shard 0 descriptor: segment_count_length
        bad[e..e + 4].copy_from_slice(&u32::MAX.to_le_bytes());
        std::fs::write(&path, &bad).unwrap();
        assert!(matches!(
            BreachFilter::open(&path),
            Err(FilterError::Corrupt(_))
        ));
        // Every single-byte corruption of header and table either opens or errors: never panics.
        for i in 0..(HEADER_LEN + 4 * SHARD_ENTRY_LEN) {
            let mut bad = good.clone();
            bad[i] ^= 0xA5;
            std::fs::write(&path, &bad).unwrap();
            if let Ok(f) = BreachFilter::open(&path) {
                for k in keys.iter().take(50) {
                    let _ = f.contains_key(*k);
                }
            }
        }
        // Empty file.
        std::fs::write(&path, b"").unwrap();
        assert!(BreachFilter::open(&path).is_err());
    }
}
