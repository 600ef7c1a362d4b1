//! `build` + `check` end to end on small Pwned-Passwords-format inputs: one file (plain and
//! gzip), the per-prefix directory layout of the official downloader, NTLM lists, `min_count`,
//! range-API padding, no false negatives (property test) and the false-positive rate.

use portcullis_passwords::hash::{key_of_hash, nt_hash, sha1};
use portcullis_passwords::{
    BreachFilter, BuildOptions, FingerprintBits, HashKind, NoProgress, PasswordChecker,
    build_filter,
};
use proptest::prelude::*;
use rand::{RngExt, SeedableRng};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

const BREACHED: &[(&str, u64)] = &[
    ("password", 52_256_179),
    ("123456", 37_359_195),
    ("Summer2025!", 112),
    ("hunter2", 17_043),
    ("correct horse battery staple", 3),
    ("Contoso2026", 1),
];
const NOT_BREACHED: &[&str] = &["this one was never in any list 7f3a", "Kx!92mQzP0r-vL"];

fn sha1_hex(p: &str) -> String {
    hex::encode_upper(sha1(p))
}

/// A HIBP-style single file: sorted `HASH:COUNT` lines, CRLF endings as HIBP serves them.
fn hibp_lines(entries: &[(&str, u64)], hash: fn(&str) -> String) -> Vec<String> {
    let mut lines: Vec<String> = entries
        .iter()
        .map(|(p, c)| format!("{}:{c}", hash(p)))
        .collect();
    lines.sort();
    lines
}

fn write_file(path: &Path, lines: &[String], gzip: bool) {
    let body = lines.iter().map(|l| format!("{l}\r\n")).collect::<String>();
    if gzip {
        let f = std::fs::File::create(path).unwrap();
        let mut enc = flate2::write::GzEncoder::new(f, flate2::Compression::default());
        enc.write_all(body.as_bytes()).unwrap();
        enc.finish().unwrap();
    } else {
        std::fs::write(path, body).unwrap();
    }
}

fn build(input: &Path, out: &Path, opts: BuildOptions) -> portcullis_passwords::BuildReport {
    build_filter(input, out, &opts, &NoProgress).expect("build")
}

#[test]
fn single_file_plain_and_gzip() {
    let dir = tempfile::tempdir().unwrap();
    for gzip in [false, true] {
        let input = dir
            .path()
            .join(if gzip { "pwned.txt.gz" } else { "pwned.txt" });
        let mut lines = hibp_lines(BREACHED, sha1_hex);
        lines.push("not a hash line".into());
        write_file(&input, &lines, gzip);
        let out = dir.path().join("pwned.pcf");
        let report = build(&input, &out, BuildOptions::default());
        assert_eq!(report.info.hash_kind, HashKind::Sha1);
        assert_eq!(report.info.entries, BREACHED.len() as u64);
        assert_eq!(report.stats.malformed, 1);
        assert_eq!(report.stats.accepted, BREACHED.len() as u64);
        let f = BreachFilter::open(&out).unwrap();
        for (p, _) in BREACHED {
            assert!(f.contains_password(p), "{p} must be found");
        }
        // With 6 entries and 8-bit fingerprints a false positive here has probability ~1/128.
        let fps = NOT_BREACHED
            .iter()
            .filter(|p| f.contains_password(p))
            .count();
        assert!(fps <= 1);
    }
}

#[test]
fn min_count_and_padding() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("pwned.txt");
    let mut lines = hibp_lines(BREACHED, sha1_hex);
    // Range-API padding: random suffix with count 0.
    lines.push(format!("{}:0", sha1_hex("padding entry")));
    write_file(&input, &lines, false);
    let out = dir.path().join("pwned.pcf");
    let report = build(
        &input,
        &out,
        BuildOptions {
            min_count: 100,
            source_date_unix: Some(1_767_225_600), // 2026-01-01
            ..BuildOptions::default()
        },
    );
    // Below 100: the padding line (0), "correct horse battery staple" (3), "Contoso2026" (1).
    assert_eq!(report.stats.below_min_count, 3);
    assert_eq!(report.info.entries, 4);
    assert_eq!(report.info.min_count, 100);
    assert_eq!(report.info.source_date().as_deref(), Some("2026-01-01"));
    let f = BreachFilter::open(&out).unwrap();
    for (p, c) in BREACHED {
        if *c >= 100 {
            assert!(f.contains_password(p), "{p}");
        }
    }
}

#[test]
fn per_prefix_directory_as_the_downloader_writes_it() {
    let dir = tempfile::tempdir().unwrap();
    let hibp = dir.path().join("hibp");
    std::fs::create_dir(&hibp).unwrap();
    let mut by_prefix: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (p, c) in BREACHED {
        let h = sha1_hex(p);
        by_prefix
            .entry(h[..5].to_string())
            .or_default()
            .push(format!("{}:{c}", &h[5..]));
    }
    for (i, (prefix, lines)) in by_prefix.iter().enumerate() {
        // Mix plain and gzip files, as a partially-compressed mirror would.
        let gzip = i % 2 == 1;
        let name = if gzip {
            format!("{prefix}.txt.gz")
        } else {
            format!("{prefix}.txt")
        };
        write_file(&hibp.join(name), lines, gzip);
    }
    std::fs::write(hibp.join("README.md"), "not a prefix file").unwrap();
    let out = dir.path().join("pwned.pcf");
    for shard_bits in [0u8, 4, 8, 12] {
        let report = build(
            &hibp,
            &out,
            BuildOptions {
                shard_bits: Some(shard_bits),
                ..BuildOptions::default()
            },
        );
        assert_eq!(report.stats.skipped_files, 1);
        assert_eq!(report.info.entries, BREACHED.len() as u64);
        assert_eq!(report.info.shard_bits, shard_bits);
        let f = BreachFilter::open(&out).unwrap();
        for (p, _) in BREACHED {
            assert!(f.contains_password(p), "{p} (shard bits {shard_bits})");
        }
    }
}

#[test]
fn ntlm_list_and_checker() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("pwned-ntlm.txt");
    write_file(
        &input,
        &hibp_lines(BREACHED, |p| hex::encode_upper(nt_hash(p))),
        false,
    );
    let out = dir.path().join("ntlm.pcf");
    let report = build(
        &input,
        &out,
        BuildOptions {
            fingerprint_bits: FingerprintBits::Sixteen,
            ..BuildOptions::default()
        },
    );
    assert_eq!(report.info.hash_kind, HashKind::Ntlm);
    assert_eq!(report.info.fingerprint_bits, 16);
    let checker = PasswordChecker::open(Some(&out), vec!["Contoso".into()]).unwrap();
    let r = checker.check("hunter2", &["alice"]);
    let b = r.breached.as_ref().unwrap();
    assert!(b.found);
    assert_eq!(b.hash_kind, HashKind::Ntlm);
    assert!(!r.acceptable);
    let r = checker.check("Vq7#pLm2-forest-Tundra-88", &["alice"]);
    assert!(!r.breached.unwrap().found);
    assert!(r.acceptable, "{:?}", r.reasons);
}

#[test]
fn wrong_kind_lines_are_rejected_not_mixed() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("mixed.txt");
    let mut lines = hibp_lines(BREACHED, sha1_hex);
    lines.push(format!("{}:5", hex::encode_upper(nt_hash("password"))));
    write_file(&input, &lines, false);
    let out = dir.path().join("f.pcf");
    let r = build(&input, &out, BuildOptions::default());
    assert_eq!(r.info.hash_kind, HashKind::Sha1);
    assert_eq!(r.stats.malformed, 1);
    // An input with nothing valid is an error, not an empty filter.
    let bad = dir.path().join("bad.txt");
    std::fs::write(&bad, "hello\nworld\n").unwrap();
    assert!(build_filter(&bad, &out, &BuildOptions::default(), &NoProgress).is_err());
}

/// Builds a filter over random keys written as a HIBP file, returns (dir, filter, keys).
fn random_filter(
    n: usize,
    seed: u64,
    bits: FingerprintBits,
) -> (tempfile::TempDir, BreachFilter, Vec<[u8; 20]>) {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let hashes: Vec<[u8; 20]> = (0..n).map(|_| rng.random()).collect();
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.txt");
    let lines: Vec<String> = hashes
        .iter()
        .map(|h| format!("{}:1", hex::encode_upper(h)))
        .collect();
    write_file(&input, &lines, false);
    let out = dir.path().join("f.pcf");
    build(
        &input,
        &out,
        BuildOptions {
            fingerprint_bits: bits,
            ..BuildOptions::default()
        },
    );
    let f = BreachFilter::open(&out).unwrap();
    (dir, f, hashes)
}

#[test]
fn false_positive_rate_is_about_one_in_256() {
    let (_d, f, hashes) = random_filter(200_000, 7, FingerprintBits::Eight);
    for h in &hashes {
        assert!(f.contains_hash(h));
    }
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(99);
    let probes = 1_000_000u32;
    let hits = (0..probes)
        .filter(|_| f.contains_key(rng.random::<u64>()))
        .count();
    let rate = hits as f64 / f64::from(probes);
    // Expected 2^-8 = 0.39 %; the standard deviation at 1M probes is 0.006 %.
    assert!(
        (0.0030..0.0050).contains(&rate),
        "false-positive rate {rate}"
    );
    let bpe = f.info().bits_per_entry;
    assert!(bpe < 10.0, "bits per entry {bpe}");
}

#[test]
fn sixteen_bit_false_positive_rate() {
    let (_d, f, hashes) = random_filter(100_000, 8, FingerprintBits::Sixteen);
    assert!(hashes.iter().all(|h| f.contains_hash(h)));
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
    let hits = (0..1_000_000)
        .filter(|_| f.contains_key(rng.random::<u64>()))
        .count();
    // Expected ≈ 15 (2^-16 × 1M).
    assert!(hits < 60, "{hits} false positives in 1M probes");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]
    #[test]
    fn no_false_negatives(
        hashes in proptest::collection::vec(proptest::array::uniform20(any::<u8>()), 0..3000),
        shard_bits in 0u8..=10,
        sixteen in any::<bool>(),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("in.txt");
        let lines: Vec<String> = hashes.iter().map(|h| format!("{}:2", hex::encode(h))).collect();
        write_file(&input, &lines, false);
        let out = dir.path().join("f.pcf");
        let opts = BuildOptions {
            shard_bits: Some(shard_bits),
            hash_kind: Some(HashKind::Sha1),
            fingerprint_bits: if sixteen { FingerprintBits::Sixteen } else { FingerprintBits::Eight },
            ..BuildOptions::default()
        };
        build_filter(&input, &out, &opts, &NoProgress).unwrap();
        let f = BreachFilter::open(&out).unwrap();
        let distinct: std::collections::HashSet<u64> = hashes.iter().map(|h| key_of_hash(h)).collect();
        prop_assert_eq!(f.info().entries, distinct.len() as u64);
        for h in &hashes {
            prop_assert!(f.contains_hash(h));
        }
    }
}
