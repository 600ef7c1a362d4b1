//! The large-scale build benchmark: `synthetic gen N FILE` writes N random SHA-1 `HASH:COUNT`
//! lines (HIBP format, random order); `synthetic build FILE OUT` builds the filter and reports
//! time, size, bits per entry, false-positive rate and lookup latency. Run the build under
//! `/usr/bin/time -v` for peak memory:
//!
//! ```text
//! cargo run --release -p portcullis-passwords --example synthetic -- gen 100000000 /tmp/syn.txt
//! /usr/bin/time -v target/release/examples/synthetic build /tmp/syn.txt /tmp/syn.pcf
//! ```

use portcullis_passwords::{BreachFilter, BuildOptions, NoProgress, build_filter};
use rand::{RngExt, SeedableRng};
use std::io::Write;
use std::time::Instant;

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("gen") if args.len() == 4 => {
            let n: u64 = args[2].parse()?;
            let t = Instant::now();
            let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(42);
            let mut w =
                std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(&args[3])?);
            let mut line = Vec::with_capacity(64);
            for _ in 0..n {
                let h: [u8; 20] = rng.random();
                line.clear();
                line.extend_from_slice(hex::encode_upper(h).as_bytes());
                write!(line, ":{}\r\n", rng.random_range(1..10_000u32))?;
                w.write_all(&line)?;
            }
            w.flush()?;
            eprintln!("wrote {n} lines in {:.1} s", t.elapsed().as_secs_f64());
        }
        Some("build") if args.len() == 4 => {
            let t = Instant::now();
            let r = build_filter(
                args[2].as_ref(),
                args[3].as_ref(),
                &BuildOptions::default(),
                &NoProgress,
            )?;
            let secs = t.elapsed().as_secs_f64();
            println!(
                "built {} entries in {secs:.1} s ({:.2} M hashes/s): {} bytes, {:.3} bits/entry, {} shards",
                r.info.entries,
                r.stats.accepted as f64 / secs / 1e6,
                r.info.file_bytes,
                r.info.bits_per_entry,
                1u64 << r.info.shard_bits
            );
            let f = BreachFilter::open(args[3].as_ref())?;
            let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
            let probes: Vec<u64> = (0..2_000_000).map(|_| rng.random()).collect();
            let t = Instant::now();
            let hits = probes.iter().filter(|k| f.contains_key(**k)).count();
            let ns = t.elapsed().as_nanos() as f64 / probes.len() as f64;
            println!(
                "random probes: false-positive rate {:.4} % (expected {:.4} %), {ns:.0} ns/lookup (cold mmap, random shards)",
                hits as f64 * 100.0 / probes.len() as f64,
                f.info().false_positive_rate * 100.0
            );
        }
        _ => {
            eprintln!("usage: synthetic gen N FILE | synthetic build FILE OUT");
            std::process::exit(2);
        }
    }
    Ok(())
}
