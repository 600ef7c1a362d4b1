//! Damaged `.evtx` files never panic `read_evtx`: every record is an event, a counted skip,
//! or the whole file is an error.
//! Source: EVTX-to-MITRE-Attack T1110 samples (CC0), with bytes overwritten deterministically.

use portcullis_parse::{ParseCtx, windows};
use std::path::PathBuf;

fn sample() -> Vec<u8> {
    std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/data/real/windows-evtx-to-mitre/ID4771-Kerberos-brutforce-with-valid-user.evtx"
    ))
    .unwrap()
}

/// xorshift64*: reproducible pseudo-random mutations without a dependency.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

fn read(bytes: &[u8], dir: &tempfile::TempDir, i: usize) -> Result<windows::Stats, String> {
    let p: PathBuf = dir.path().join(format!("m{i}.evtx"));
    std::fs::write(&p, bytes).unwrap();
    let mut n = 0u64;
    let r = windows::read_evtx(&p, &ParseCtx::default(), &mut |_| n += 1);
    std::fs::remove_file(&p).unwrap();
    match r {
        Ok(s) => {
            assert_eq!(s.events, n);
            Ok(s)
        }
        Err(e) => Err(e.to_string()),
    }
}

#[test]
fn mutated_evtx_files_never_panic() {
    let base = sample();
    let dir = tempfile::tempdir().unwrap();
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    // Record area starts after the 4 KiB file header and the 512-byte chunk header.
    for i in 0..60 {
        let mut m = base.clone();
        let flips = 1 + (rng.next() % 16) as usize;
        for _ in 0..flips {
            let at = 4096 + (rng.next() as usize % (m.len() - 4096));
            m[at] = rng.next() as u8;
        }
        let _ = read(&m, &dir, i);
    }
    // Truncations at many points, header damage, and a non-evtx file.
    for cut in [0usize, 7, 100, 4096, 4600, 8000, 20000, base.len() - 1] {
        let _ = read(&base[..cut.min(base.len())], &dir, 1000 + cut);
    }
    let mut h = base.clone();
    h[8..64].fill(0xFF);
    let _ = read(&h, &dir, 2000);
    assert!(read(b"not an evtx file at all", &dir, 2001).is_err());
}
