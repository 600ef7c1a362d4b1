//! `passwords build`: Pwned Passwords text → sharded binary fuse filter file.
//!
//! Input is Have I Been Pwned's `HASH:COUNT` text, SHA-1 or NTLM, plain or gzip (detected by
//! magic bytes), either one file (full 40/32-character hashes) or a directory of per-prefix files
//! as the official downloader writes them (file name = 5 hex characters, lines = the remaining
//! 35/27 characters). Range-API padding lines (count 0) are dropped by `min_count` ≥ 1.
//!
//! Memory stays bounded whatever the list size: keys are grouped into at most 256 *partitions*
//! by their top bits. A directory is already partitioned (its file names are hash prefixes); a
//! single file is split into temporary partition files first (8 bytes per hash on disk). Each
//! partition is then loaded (≈ 62 MB for the 2-billion list), sorted, de-duplicated, cut into its
//! shards, and every shard's filter built and written before the next partition is read.

use crate::filter::{FilterInfo, FilterWriter, FingerprintBits, HeaderFields, MAX_SHARD_BITS};
use crate::hash::{HashKind, hex_val};
use crate::progress::Progress;
use rayon::prelude::*;
use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

/// How to build a filter.
#[derive(Clone, Debug)]
pub struct BuildOptions {
    /// `None`: detect from the first valid line.
    pub hash_kind: Option<HashKind>,
    pub fingerprint_bits: FingerprintBits,
    /// log2 of the shard count; `None`: chosen from the input size so that shards hold about
    /// 4 million hashes (0 for small lists, 9 = 512 shards for today's 2-billion list).
    pub shard_bits: Option<u8>,
    /// Drop hashes seen fewer than this many times (1 drops only range-API padding).
    pub min_count: u64,
    /// Date of the source list (Unix seconds); `None`: the newest input file's mtime.
    pub source_date_unix: Option<i64>,
    /// Where single-file input is partitioned; `None`: next to the output.
    pub temp_dir: Option<PathBuf>,
}

impl Default for BuildOptions {
    fn default() -> Self {
        BuildOptions {
            hash_kind: None,
            fingerprint_bits: FingerprintBits::Eight,
            shard_bits: None,
            min_count: 1,
            source_date_unix: None,
            temp_dir: None,
        }
    }
}

/// Counts of what a build read and skipped.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]
pub struct BuildStats {
    pub files: u64,
    pub lines: u64,
    /// Lines whose hash went into the filter (before de-duplication).
    pub accepted: u64,
    /// Lines dropped for `count < min_count` (incl. range-API padding).
    pub below_min_count: u64,
    /// Lines that are not `HASH[:COUNT]` of the expected kind.
    pub malformed: u64,
    /// First few malformed lines as `file:line: reason` (hash text is not secret; never printed
    /// in full anyway).
    pub malformed_examples: Vec<String>,
    /// Directory entries that are not per-prefix files.
    pub skipped_files: u64,
    /// Distinct keys stored.
    pub entries: u64,
    pub output_bytes: u64,
}

/// Result of a build: the new file's header and the counts.
#[derive(Clone, Debug, serde::Serialize)]
pub struct BuildReport {
    pub info: FilterInfo,
    pub stats: BuildStats,
}

/// Build failure.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("{0}: {1}")]
    Io(String, std::io::Error),
    #[error("{0}")]
    Input(String),
}

fn io_err(ctx: impl std::fmt::Display) -> impl FnOnce(std::io::Error) -> BuildError {
    move |e| BuildError::Io(ctx.to_string(), e)
}

/// Opens a file, transparently gunzipping if it starts with the gzip magic.
pub(crate) fn open_maybe_gzip(path: &Path) -> std::io::Result<Box<dyn BufRead + Send>> {
    let mut f = File::open(path)?;
    let mut magic = [0u8; 2];
    let n = f.read(&mut magic)?;
    let f = File::open(path)?;
    if n == 2 && magic == [0x1f, 0x8b] {
        Ok(Box::new(BufReader::with_capacity(
            256 << 10,
            flate2::read::MultiGzDecoder::new(f),
        )))
    } else {
        Ok(Box::new(BufReader::with_capacity(256 << 10, f)))
    }
}

/// One parsed line.
#[derive(Debug, PartialEq)]
enum Line {
    Blank,
    Hash {
        key: u64,
        count: u64,
        kind: HashKind,
    },
    Bad(&'static str),
}

/// Parses `HASH[:COUNT]`. `prefix`: the 5 hex characters of a per-prefix file, prepended to
/// 35/27-character suffix lines.
fn parse_line(line: &[u8], prefix: Option<&[u8; 5]>) -> Line {
    let line = line.trim_ascii();
    if line.is_empty() {
        return Line::Blank;
    }
    let (hash, count) = match memchr_colon(line) {
        Some(i) => (&line[..i], Some(line[i + 1..].trim_ascii())),
        None => (line, None),
    };
    let count = match count {
        None => 1,
        Some(c) => match std::str::from_utf8(c)
            .ok()
            .and_then(|s| s.parse::<u64>().ok())
        {
            Some(n) => n,
            None => return Line::Bad("count is not a number"),
        },
    };
    if !hash.iter().all(|c| hex_val(*c).is_some()) {
        return Line::Bad("hash is not hexadecimal");
    }
    let (full_len, first16): (usize, [u8; 16]) = match prefix {
        Some(p) if hash.len() == 35 || hash.len() == 27 => {
            let mut f = [0u8; 16];
            f[..5].copy_from_slice(p);
            f[5..].copy_from_slice(&hash[..11]);
            (hash.len() + 5, f)
        }
        _ if hash.len() == 40 || hash.len() == 32 => {
            if let Some(p) = prefix
                && !hash[..5].eq_ignore_ascii_case(p)
            {
                return Line::Bad("hash does not start with its file's prefix");
            }
            (hash.len(), hash[..16].try_into().expect("16 bytes"))
        }
        _ => return Line::Bad("hash has the wrong length for SHA-1 or NTLM"),
    };
    let kind = HashKind::from_hex_len(full_len).expect("40 or 32");
    let mut key = 0u64;
    for c in first16 {
        key = (key << 4) | u64::from(hex_val(c).expect("checked hex"));
    }
    Line::Hash { key, count, kind }
}

fn memchr_colon(b: &[u8]) -> Option<usize> {
    b.iter().position(|c| *c == b':')
}

/// Shared per-build line accounting; merged across files.
#[derive(Default)]
struct Tally {
    lines: u64,
    accepted: u64,
    below_min_count: u64,
    malformed: u64,
    examples: Vec<String>,
    kind_seen: Option<HashKind>,
    kind_mismatch: u64,
}

impl Tally {
    fn merge(&mut self, o: Tally) {
        self.lines += o.lines;
        self.accepted += o.accepted;
        self.below_min_count += o.below_min_count;
        self.malformed += o.malformed;
        self.kind_mismatch += o.kind_mismatch;
        for e in o.examples {
            if self.examples.len() < 10 {
                self.examples.push(e);
            }
        }
        if self.kind_seen.is_none() {
            self.kind_seen = o.kind_seen;
        }
    }
}

/// Reads one source, passing each accepted key to `sink`.
fn read_source(
    path: &Path,
    prefix: Option<&[u8; 5]>,
    kind: Option<HashKind>,
    min_count: u64,
    progress: &dyn Progress,
    report_bytes: bool,
    mut sink: impl FnMut(u64) -> Result<(), BuildError>,
) -> Result<Tally, BuildError> {
    let mut r = open_maybe_gzip(path).map_err(io_err(path.display()))?;
    let mut t = Tally::default();
    let mut buf = Vec::with_capacity(64);
    let mut bytes_since = 0u64;
    loop {
        buf.clear();
        let n = r
            .read_until(b'\n', &mut buf)
            .map_err(io_err(path.display()))?;
        if n == 0 {
            break;
        }
        bytes_since += n as u64;
        if bytes_since >= 1 << 20 {
            if report_bytes {
                progress.advance(bytes_since);
            }
            bytes_since = 0;
        }
        t.lines += 1;
        match parse_line(&buf, prefix) {
            Line::Blank => {}
            Line::Bad(why) => {
                t.malformed += 1;
                if t.examples.len() < 10 {
                    t.examples
                        .push(format!("{}:{}: {why}", path.display(), t.lines));
                }
            }
            Line::Hash {
                key,
                count,
                kind: k,
            } => {
                let want = kind.or(t.kind_seen).unwrap_or(k);
                if k != want {
                    t.kind_mismatch += 1;
                    t.malformed += 1;
                    if t.examples.len() < 10 {
                        t.examples.push(format!(
                            "{}:{}: a {k} hash in a {want} list",
                            path.display(),
                            t.lines
                        ));
                    }
                    continue;
                }
                t.kind_seen = Some(k);
                if count < min_count {
                    t.below_min_count += 1;
                    continue;
                }
                t.accepted += 1;
                sink(key)?;
            }
        }
    }
    if report_bytes {
        progress.advance(bytes_since);
    }
    Ok(t)
}

fn file_mtime(path: &Path) -> Option<i64> {
    let m = std::fs::metadata(path).ok()?.modified().ok()?;
    m.duration_since(std::time::UNIX_EPOCH)
        .ok()
        .map(|d| d.as_secs() as i64)
}

/// Per-prefix file name → its 5 hex characters (upper-case), accepting `.txt`/`.gz` suffixes.
fn prefix_of_name(name: &str) -> Option<[u8; 5]> {
    let stem = name.split('.').next()?;
    let b = stem.as_bytes();
    if b.len() != 5 || !b.iter().all(|c| hex_val(*c).is_some()) {
        return None;
    }
    let mut p = [0u8; 5];
    for (o, c) in p.iter_mut().zip(b) {
        *o = c.to_ascii_uppercase();
    }
    Some(p)
}

fn prefix_value(p: &[u8; 5]) -> u32 {
    p.iter()
        .fold(0u32, |a, c| (a << 4) | u32::from(hex_val(*c).expect("hex")))
}

/// Builds a filter at `output` from `input` (a file or a per-prefix directory).
pub fn build_filter(
    input: &Path,
    output: &Path,
    opts: &BuildOptions,
    progress: &dyn Progress,
) -> Result<BuildReport, BuildError> {
    if opts.shard_bits.is_some_and(|b| b > MAX_SHARD_BITS) {
        return Err(BuildError::Input(format!(
            "shard bits must be at most {MAX_SHARD_BITS}"
        )));
    }
    let meta = std::fs::metadata(input).map_err(io_err(input.display()))?;
    let mut opts = opts.clone();
    let shard_bits = match opts.shard_bits {
        Some(b) => b,
        None => auto_shard_bits(estimate_input_hashes(input, &meta)),
    };
    opts.shard_bits = Some(shard_bits);
    let opts = &opts;
    let partition_bits = shard_bits.min(8);
    let mut stats = BuildStats::default();
    let mut tally = Tally::default();
    let newest_mtime;

    // Phase 1: decide where each partition's keys come from.
    enum Source {
        Dir(BTreeMap<u32, Vec<(PathBuf, [u8; 5])>>),
        Spilled(Vec<PathBuf>, tempfile::TempDir),
    }
    let source = if meta.is_dir() {
        let mut groups: BTreeMap<u32, Vec<(PathBuf, [u8; 5])>> = BTreeMap::new();
        let mut total_bytes = 0u64;
        let mut newest = None::<i64>;
        for e in std::fs::read_dir(input).map_err(io_err(input.display()))? {
            let e = e.map_err(io_err(input.display()))?;
            let name = e.file_name();
            let p = match name.to_str().and_then(prefix_of_name) {
                Some(p) if e.file_type().map(|t| t.is_file()).unwrap_or(false) => p,
                _ => {
                    stats.skipped_files += 1;
                    continue;
                }
            };
            let path = e.path();
            if let Ok(m) = e.metadata() {
                total_bytes += m.len();
            }
            newest = newest.max(file_mtime(&path));
            let group = prefix_value(&p) >> (20 - u32::from(partition_bits));
            groups.entry(group).or_default().push((path, p));
            stats.files += 1;
        }
        if stats.files == 0 {
            return Err(BuildError::Input(format!(
                "{} holds no per-prefix files (names like 5BAA6 or 5BAA6.txt)",
                input.display()
            )));
        }
        for files in groups.values_mut() {
            files.sort();
        }
        newest_mtime = newest;
        progress.start("reading", total_bytes);
        Source::Dir(groups)
    } else {
        // Single file: spill keys into partition files.
        stats.files = 1;
        newest_mtime = file_mtime(input);
        let tmp_parent = opts
            .temp_dir
            .clone()
            .or_else(|| output.parent().map(Path::to_path_buf))
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or_else(|| PathBuf::from("."));
        let tmp = tempfile::Builder::new()
            .prefix("portcullis-build-")
            .tempdir_in(&tmp_parent)
            .map_err(io_err(tmp_parent.display()))?;
        let n_parts = 1usize << partition_bits;
        let paths: Vec<PathBuf> = (0..n_parts)
            .map(|i| tmp.path().join(format!("part-{i:03x}")))
            .collect();
        let mut writers = paths
            .iter()
            .map(|p| File::create(p).map(|f| BufWriter::with_capacity(64 << 10, f)))
            .collect::<Result<Vec<_>, _>>()
            .map_err(io_err(tmp.path().display()))?;
        progress.start("partitioning", meta.len());
        let shift = 64 - u32::from(partition_bits);
        let t = read_source(
            input,
            None,
            opts.hash_kind,
            opts.min_count,
            progress,
            true,
            |key| {
                let part = if partition_bits == 0 {
                    0
                } else {
                    (key >> shift) as usize
                };
                writers[part]
                    .write_all(&key.to_le_bytes())
                    .map_err(io_err("temporary partition file"))
            },
        )?;
        for w in writers {
            w.into_inner()
                .map_err(|e| BuildError::Io("temporary partition file".into(), e.into_error()))?;
        }
        tally.merge(t);
        progress.finish();
        progress.start("building", 1u64 << partition_bits);
        Source::Spilled(paths, tmp)
    };

    // Phase 2: per partition, load, sort, split into shards, build, write.
    let hash_kind_fixed = opts.hash_kind;
    let source_date = opts.source_date_unix.or(newest_mtime).unwrap_or(0);
    let built_at = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let mut writer: Option<FilterWriter> = None;
    let shards_per_part = 1usize << (shard_bits - partition_bits);
    let n_parts = 1usize << partition_bits;
    let mut shards_written = 0usize;
    for part in 0..n_parts {
        let mut keys: Vec<u64> = match &source {
            Source::Dir(groups) => {
                let files: &[(PathBuf, [u8; 5])] =
                    groups.get(&(part as u32)).map(Vec::as_slice).unwrap_or(&[]);
                let kind = hash_kind_fixed.or(tally.kind_seen);
                let results: Vec<Result<(Vec<u64>, Tally), BuildError>> = files
                    .par_iter()
                    .map(|(path, p)| {
                        let mut v = Vec::new();
                        let t = read_source(
                            path,
                            Some(p),
                            kind,
                            opts.min_count,
                            progress,
                            true,
                            |k| {
                                v.push(k);
                                Ok(())
                            },
                        )?;
                        Ok((v, t))
                    })
                    .collect();
                let mut keys = Vec::new();
                for r in results {
                    let (v, t) = r?;
                    if let (Some(a), Some(b)) = (tally.kind_seen, t.kind_seen)
                        && a != b
                    {
                        return Err(BuildError::Input(format!(
                            "mixed hash kinds in {}: {a} and {b} files",
                            input.display()
                        )));
                    }
                    keys.extend_from_slice(&v);
                    tally.merge(t);
                }
                keys
            }
            Source::Spilled(paths, _tmp) => {
                let bytes = std::fs::read(&paths[part]).map_err(io_err("temporary partition"))?;
                let _ = std::fs::remove_file(&paths[part]);
                progress.advance(1);
                bytes
                    .chunks_exact(8)
                    .map(|c| u64::from_le_bytes(c.try_into().expect("8 bytes")))
                    .collect()
            }
        };
        if writer.is_none() && (tally.kind_seen.is_some() || hash_kind_fixed.is_some()) {
            writer = Some(create_writer(
                output,
                opts,
                hash_kind_fixed.or(tally.kind_seen).expect("kind known"),
                source_date,
                built_at,
            )?);
            // Partitions before the first hash were empty.
            for _ in 0..shards_written {
                writer
                    .as_mut()
                    .expect("just set")
                    .add_shard(&[])
                    .map_err(io_err(output.display()))?;
            }
        }
        keys.par_sort_unstable();
        keys.dedup();
        let shard_shift = 64 - u32::from(shard_bits);
        let mut start = 0usize;
        for s in 0..shards_per_part {
            let shard_index = part * shards_per_part + s;
            let end = if shard_bits == 0 {
                keys.len()
            } else {
                start
                    + keys[start..]
                        .partition_point(|k| ((k >> shard_shift) as usize) <= shard_index)
            };
            if let Some(w) = writer.as_mut() {
                w.add_shard(&keys[start..end])
                    .map_err(io_err(output.display()))?;
            }
            start = end;
            shards_written += 1;
        }
        stats.entries += keys.len() as u64;
    }
    progress.finish();
    let writer = match writer {
        Some(w) => w,
        None => {
            // No valid hash at all: still write a valid, empty filter if the kind was given.
            let Some(kind) = hash_kind_fixed else {
                return Err(BuildError::Input(format!(
                    "no valid HASH:COUNT line in {} ({} malformed){}",
                    input.display(),
                    tally.malformed,
                    tally
                        .examples
                        .first()
                        .map(|e| format!("; first: {e}"))
                        .unwrap_or_default()
                )));
            };
            let mut w = create_writer(output, opts, kind, source_date, built_at)?;
            for _ in 0..shards_written {
                w.add_shard(&[]).map_err(io_err(output.display()))?;
            }
            w
        }
    };
    let mut writer = writer;
    writer.set_source_hashes(tally.accepted);
    stats.output_bytes = writer.finish().map_err(io_err(output.display()))?;
    stats.lines = tally.lines;
    stats.accepted = tally.accepted;
    stats.below_min_count = tally.below_min_count;
    stats.malformed = tally.malformed;
    stats.malformed_examples = tally.examples;
    let filter = crate::filter::BreachFilter::open(output)
        .map_err(|e| BuildError::Input(format!("re-reading the new filter: {e}")))?;
    Ok(BuildReport {
        info: filter.info().clone(),
        stats,
    })
}

/// Writes a filter straight from 64-bit keys (benchmarks, synthetic lists, other sources). The
/// keys are sorted and de-duplicated in place; memory is the caller's `Vec` plus one shard's
/// construction.
pub fn write_filter_from_keys(
    keys: &mut Vec<u64>,
    output: &Path,
    hash_kind: HashKind,
    fingerprint_bits: FingerprintBits,
    shard_bits: u8,
) -> Result<FilterInfo, BuildError> {
    if shard_bits > MAX_SHARD_BITS {
        return Err(BuildError::Input(format!(
            "shard bits must be at most {MAX_SHARD_BITS}"
        )));
    }
    keys.par_sort_unstable();
    keys.dedup();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let mut w = FilterWriter::create(
        output,
        HeaderFields {
            hash_kind,
            fingerprint_bits,
            shard_bits,
            min_count: 0,
            source_date_unix: 0,
            built_at_unix: now,
        },
    )
    .map_err(io_err(output.display()))?;
    let shift = 64 - u32::from(shard_bits);
    let mut start = 0usize;
    for s in 0..w.shard_count() {
        let end = if shard_bits == 0 {
            keys.len()
        } else {
            start + keys[start..].partition_point(|k| ((k >> shift) as usize) <= s)
        };
        w.add_shard(&keys[start..end])
            .map_err(io_err(output.display()))?;
        start = end;
    }
    w.set_source_hashes(keys.len() as u64);
    w.finish().map_err(io_err(output.display()))?;
    let f = crate::filter::BreachFilter::open(output)
        .map_err(|e| BuildError::Input(format!("re-reading the new filter: {e}")))?;
    Ok(f.info().clone())
}

/// Rough number of hashes in the input from its size (≈ 45 bytes per line, gzip ≈ 2:1).
fn estimate_input_hashes(input: &Path, meta: &std::fs::Metadata) -> u64 {
    let size_of = |p: &Path, len: u64| {
        let gz = p.extension().is_some_and(|e| e.eq_ignore_ascii_case("gz"));
        if gz { len * 2 } else { len }
    };
    let bytes = if meta.is_dir() {
        std::fs::read_dir(input)
            .map(|rd| {
                rd.filter_map(Result::ok)
                    .filter_map(|e| Some(size_of(&e.path(), e.metadata().ok()?.len())))
                    .sum()
            })
            .unwrap_or(0)
    } else {
        size_of(input, meta.len())
    };
    bytes / 45
}

/// Shard bits for about 4 million hashes per shard: a shard's construction then needs a few
/// hundred MB, and shards are large enough for ≈ 9 bits per entry. At most 12 (4096 shards).
pub fn auto_shard_bits(estimated_hashes: u64) -> u8 {
    let per_shard = 4_000_000u64;
    if estimated_hashes <= per_shard {
        return 0;
    }
    let ratio = estimated_hashes as f64 / per_shard as f64;
    (ratio.log2().round() as u8).min(12)
}

fn create_writer(
    output: &Path,
    opts: &BuildOptions,
    kind: HashKind,
    source_date_unix: i64,
    built_at_unix: i64,
) -> Result<FilterWriter, BuildError> {
    FilterWriter::create(
        output,
        HeaderFields {
            hash_kind: kind,
            fingerprint_bits: opts.fingerprint_bits,
            shard_bits: opts.shard_bits.unwrap_or(0),
            min_count: opts.min_count,
            source_date_unix,
            built_at_unix,
        },
    )
    .map_err(io_err(output.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_full_and_suffix_lines() {
        let full = b"5BAA61E4C9B93F3F0682250B6CF8331B7EE68FD8:52256179\r\n";
        match parse_line(full, None) {
            Line::Hash { key, count, kind } => {
                assert_eq!(key, 0x5BAA61E4C9B93F3F);
                assert_eq!(count, 52256179);
                assert_eq!(kind, HashKind::Sha1);
            }
            other => panic!("{other:?}"),
        }
        let suffix = b"1E4C9B93F3F0682250B6CF8331B7EE68FD8:3";
        assert_eq!(
            parse_line(suffix, Some(b"5BAA6")),
            Line::Hash {
                key: 0x5BAA61E4C9B93F3F,
                count: 3,
                kind: HashKind::Sha1
            }
        );
        let nt = b"8846F7EAEE8FB117AD06BDD830B7586C:1";
        assert!(matches!(
            parse_line(nt, None),
            Line::Hash {
                kind: HashKind::Ntlm,
                ..
            }
        ));
        assert_eq!(parse_line(b"  \r\n", None), Line::Blank);
        assert!(matches!(parse_line(b"5BAA6:1", None), Line::Bad(_)));
        assert!(matches!(
            parse_line(b"ZZAA61E4C9B93F3F0682250B6CF8331B7EE68FD8:1", None),
            Line::Bad(_)
        ));
        assert!(matches!(
            parse_line(b"5BAA61E4C9B93F3F0682250B6CF8331B7EE68FD8:many", None),
            Line::Bad(_)
        ));
        // A full hash in the wrong per-prefix file.
        assert!(matches!(
            parse_line(
                b"5BAA61E4C9B93F3F0682250B6CF8331B7EE68FD8:1",
                Some(b"00000")
            ),
            Line::Bad(_)
        ));
    }

    #[test]
    fn shard_bits_scale_with_input() {
        assert_eq!(auto_shard_bits(0), 0);
        assert_eq!(auto_shard_bits(3_000_000), 0);
        assert_eq!(auto_shard_bits(100_000_000), 5); // 32 shards of ~3M
        assert_eq!(auto_shard_bits(2_000_000_000), 9); // 512 shards of ~3.9M
        assert_eq!(auto_shard_bits(u64::MAX), 12);
    }

    #[test]
    fn prefix_file_names() {
        assert_eq!(prefix_of_name("5baa6.txt"), Some(*b"5BAA6"));
        assert_eq!(prefix_of_name("FFFFF"), Some(*b"FFFFF"));
        assert_eq!(prefix_of_name("README.md"), None);
        assert_eq!(prefix_of_name("5BAA"), None);
    }
}
