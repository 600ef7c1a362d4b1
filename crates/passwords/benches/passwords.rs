//! Criterion benchmarks: filter lookup latency (hit, miss, with SHA-1 hashing), filter size in
//! bits per entry, build throughput from HIBP text, and audit guess speed per hash scheme (on
//! the fixture hashes made by mkpasswd / openssl / doveadm / htpasswd; their cost parameters are
//! in `tests/fixtures/make.sh`). The ≥ 100M-entry build is `examples/synthetic.rs`.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use portcullis_passwords::audit::scheme::parse_password_field;
use portcullis_passwords::build::write_filter_from_keys;
use portcullis_passwords::{
    BreachFilter, BuildOptions, FingerprintBits, HashKind, NoProgress, build_filter,
};
use rand::{RngExt, SeedableRng};
use std::hint::black_box;
use std::io::Write;

const N_KEYS: usize = 10_000_000;

fn lookups(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
    let keys: Vec<u64> = (0..N_KEYS).map(|_| rng.random()).collect();
    let probes: Vec<u64> = keys.iter().step_by(97).copied().take(65_536).collect();
    let misses: Vec<u64> = (0..65_536).map(|_| rng.random()).collect();
    let mut g = c.benchmark_group("filter_lookup");
    for bits in [FingerprintBits::Eight, FingerprintBits::Sixteen] {
        let path = dir.path().join(format!("f{}.pcf", bits.bits()));
        let mut k = keys.clone();
        let info = write_filter_from_keys(&mut k, &path, HashKind::Sha1, bits, 2).expect("filter");
        eprintln!(
            "{}-bit filter over {} keys: {} bytes, {:.3} bits/entry",
            bits.bits(),
            info.entries,
            info.file_bytes,
            info.bits_per_entry
        );
        let f = BreachFilter::open(&path).unwrap();
        let mut i = 0usize;
        g.bench_function(BenchmarkId::new("hit", bits.bits()), |b| {
            b.iter(|| {
                i = (i + 1) & 65_535;
                black_box(f.contains_key(black_box(probes[i])))
            })
        });
        g.bench_function(BenchmarkId::new("miss", bits.bits()), |b| {
            b.iter(|| {
                i = (i + 1) & 65_535;
                black_box(f.contains_key(black_box(misses[i])))
            })
        });
        g.bench_function(BenchmarkId::new("password_sha1", bits.bits()), |b| {
            b.iter(|| black_box(f.contains_password(black_box("correct horse battery"))))
        });
    }
    g.finish();
}

fn build_throughput(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("hibp.txt");
    let n = 1_000_000u64;
    {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(2);
        let mut w = std::io::BufWriter::new(std::fs::File::create(&input).unwrap());
        for _ in 0..n {
            let h: [u8; 20] = rng.random();
            writeln!(
                w,
                "{}:{}\r",
                hex::encode_upper(h),
                rng.random_range(1..1000u32)
            )
            .unwrap();
        }
    }
    let out = dir.path().join("out.pcf");
    let mut g = c.benchmark_group("build");
    g.sample_size(10);
    g.throughput(Throughput::Elements(n));
    g.bench_function("hibp_text_1M", |b| {
        b.iter(|| build_filter(&input, &out, &BuildOptions::default(), &NoProgress).unwrap())
    });
    g.finish();
}

fn audit_schemes(c: &mut Criterion) {
    let fixtures = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");
    let field = |file: &str, user: &str| -> String {
        let text = std::fs::read_to_string(format!("{fixtures}/{file}")).unwrap();
        let line = text
            .lines()
            .find(|l| l.starts_with(&format!("{user}:")))
            .unwrap();
        let fields: Vec<&str> = line.split(':').collect();
        if file == "ntds.txt" {
            format!("{{NTLM}}{}", fields[3])
        } else {
            fields[1].to_string()
        }
    };
    let cases = [
        ("nt", field("ntds.txt", "CONTOSO\\frank")),
        ("ssha512", field("dovecot-users", "trent@contoso.com")),
        ("sha512-crypt_5000", field("shadow", "alice")),
        ("sha512-crypt_1000", field("shadow", "frank")),
        ("sha256-crypt_5000", field("shadow", "judy")),
        ("bcrypt_cost5", field("htpasswd", "hta")),
        (
            "argon2id_m64M_t3",
            field("dovecot-users", "niaj@contoso.com"),
        ),
    ];
    // Each tool's default cost (mkpasswd, doveadm pw, htpasswd of Debian 12), written by the
    // real tools; the schemes verified through libxcrypt are marked so.
    let defaults: [(&str, &str); 18] = [
        (
            "yescrypt_libxcrypt",
            "$y$j9T$O4aRR5gipfn1gIk8olp.W.$IYSpz9rRxqQ21RKXRaaHeCzmteTfslvPwZKVY3pZhp3",
        ),
        (
            "gost-yescrypt_libxcrypt",
            "$gy$j9T$52emlGbPV5lNqZ3QowC4W0$A5A.inXhBthDN0GE3cnM0YxQ3CxnX.VG6Kb7XKgh/j8",
        ),
        (
            "scrypt_libxcrypt",
            "$7$CU..../....6cyoMOu6P.Ii6MXNuOTRj0$B4FTgP2.9FhRTsbYV/EtPdnZsR8Xnsv0tiqSl6Gxxx/",
        ),
        (
            "sun-md5_libxcrypt",
            "$md5,rounds=56609$1xPII8mw$$H4GYrn3LVp489OMzEmNZ3/",
        ),
        ("md5-crypt_libxcrypt", "$1$ECMSuIpb$mgkgXolWAQpzE/Uq.qnwl1"),
        ("bsdi-crypt_libxcrypt", "_J9..IvbOw8TD2Tl41qM"),
        ("des-crypt_libxcrypt", "myDzLmWO4VndU"),
        ("apr1-md5", "$apr1$iDWyXAkF$fuHI2M7k2UmLTfsLFyrju."),
        (
            "bcrypt_cost5_default",
            "$2b$05$fnx32dGbbx5/mnghVuyifu27xUgGkhzBPn1dmi/HsDEk51O.fgIFO",
        ),
        (
            "argon2i_m32M_t4",
            "{ARGON2I}$argon2i$v=19$m=32768,t=4,p=1$5FbwWqgVAfKmUAlfHDStqg$46SuDVzqkpcey4FaRMM08a/puJu4yEREYrdzHw86dtw",
        ),
        (
            "pbkdf2_5000",
            "{PBKDF2}$1$oi4zlKa89qX9Cc3r$5000$33a898b62f02a693bb66048600d9ec012c25f548",
        ),
        (
            "scram-sha-256_4096",
            "{SCRAM-SHA-256}4096,Ymexqfh7WwBKcmOIctEXcA==,Bx1gkuU5lqzzpZkS0OS17hVG+MZ4JDuivEy8KHzaUag=,q3PUcEy+rndw3npuFz1wCLeygpKI67Zxeh831Pqu5Bg=",
        ),
        (
            "scram-sha-1_4096",
            "{SCRAM-SHA-1}4096,YiH9DAaFwdHFYt6R9aJdaQ==,xzldc7df6dNB8yDAOeo+zx5Gh4w=,nIHKfg4s3lzhbpt7EtG7t0KW/EU=",
        ),
        (
            "otp-sha1_1024",
            "{OTP}sha1 1024 75852550dae6fd5b 96884d4e63e96f5f",
        ),
        (
            "cram-md5",
            "{CRAM-MD5}fc2110f383859928663cccaffe3b41126cbc2dbb842e53669951e02c41e66050",
        ),
        ("digest-md5", "{DIGEST-MD5}f4a2056bb3a3a48aba05a29851f8f79d"),
        ("smd5", "{SMD5}ctj3P18Ul6gTAK/SEu5J08vUqcs="),
        ("plain-md5", "{PLAIN-MD5}2ac9cb7dc02b3c0083eb70898e549b63"),
    ];
    let cases = cases
        .into_iter()
        .chain(defaults.map(|(n, f)| (n, f.to_string())));
    let mut g = c.benchmark_group("audit_guess");
    g.sample_size(10);
    for (name, f) in cases {
        let h = parse_password_field(&f)
            .unwrap()
            .with_login("kim@contoso.com");
        g.bench_function(name, |b| {
            b.iter(|| black_box(h.verify(black_box("not-the-password"))))
        });
    }
    g.finish();
}

criterion_group!(benches, lookups, build_throughput, audit_schemes);
criterion_main!(benches);
