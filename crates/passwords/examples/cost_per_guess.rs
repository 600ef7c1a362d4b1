//! Cost of one wrong guess per hash scheme at each tool's default cost, as CPU time of the
//! measuring thread (from /proc/thread-self/schedstat), so that other processes loading the
//! machine change the wall time but hardly the figure. Prints a Markdown table with what one
//! hour of a 2-core machine covers for 10,000 accounts.
//!
//! cargo run --release -p portcullis-passwords --example cost_per_guess [SECONDS_PER_SCHEME]

use portcullis_passwords::audit::scheme::parse_password_field;
use std::hint::black_box;
use std::time::Instant;

/// (CPU ns, wait-for-CPU ns) of this thread so far (Linux).
fn schedstat() -> (u64, u64) {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").unwrap_or_default();
    let mut f = s.split_whitespace().map(|x| x.parse::<u64>().unwrap_or(0));
    (f.next().unwrap_or(0), f.next().unwrap_or(0))
}

/// Hashes written by the real tools of Debian 12 with their default costs (test password
/// `Password1`; the guess below is wrong).
const CASES: &[(&str, &str, &str)] = &[
    (
        "yescrypt (mkpasswd default)",
        "libxcrypt",
        "$y$j9T$O4aRR5gipfn1gIk8olp.W.$IYSpz9rRxqQ21RKXRaaHeCzmteTfslvPwZKVY3pZhp3",
    ),
    (
        "gost-yescrypt",
        "libxcrypt",
        "$gy$j9T$52emlGbPV5lNqZ3QowC4W0$A5A.inXhBthDN0GE3cnM0YxQ3CxnX.VG6Kb7XKgh/j8",
    ),
    (
        "scrypt `$7$`",
        "libxcrypt",
        "$7$CU..../....6cyoMOu6P.Ii6MXNuOTRj0$B4FTgP2.9FhRTsbYV/EtPdnZsR8Xnsv0tiqSl6Gxxx/",
    ),
    (
        "Sun MD5 (rounds=56609)",
        "libxcrypt",
        "$md5,rounds=56609$1xPII8mw$$H4GYrn3LVp489OMzEmNZ3/",
    ),
    (
        "MD5-crypt `$1$`",
        "libxcrypt",
        "$1$ECMSuIpb$mgkgXolWAQpzE/Uq.qnwl1",
    ),
    (
        "BSDi crypt (725 rounds)",
        "libxcrypt",
        "_J9..IvbOw8TD2Tl41qM",
    ),
    ("DES crypt", "libxcrypt", "myDzLmWO4VndU"),
    (
        "apr1 (htpasswd default)",
        "Rust",
        "$apr1$iDWyXAkF$fuHI2M7k2UmLTfsLFyrju.",
    ),
    (
        "SHA-512-crypt, 5000 rounds",
        "Rust",
        "$6$N9O5wZ7JzMmzlNzK$telwYlj.gQNYCp1tMBMVsp/nv7WiC4jFux81mHmCEo6b97KIZ6vdZia64TXZLRLKfMZZwkpmlIBUkdBI.F13P.",
    ),
    (
        "SHA-256-crypt, 5000 rounds",
        "Rust",
        "$5$aspPGjP1s3aB4d4A$5zL7/PFdk64lmRXTikoUfNAtrEInDHmL7Hgwt2bqqfB",
    ),
    (
        "bcrypt cost 5 (mkpasswd, htpasswd, doveadm)",
        "Rust",
        "$2b$05$fnx32dGbbx5/mnghVuyifu27xUgGkhzBPn1dmi/HsDEk51O.fgIFO",
    ),
    (
        "Argon2id m=64M t=3 (doveadm)",
        "Rust",
        "{ARGON2ID}$argon2id$v=19$m=65536,t=3,p=1$nH/dj/ihfvaKcE7GERdQ8w$zi7jzIgdSrlPhqB6o2t7ikhs2GQb7/zRhCvoMJ6z+j4",
    ),
    (
        "Argon2i m=32M t=4 (doveadm)",
        "Rust",
        "{ARGON2I}$argon2i$v=19$m=32768,t=4,p=1$5FbwWqgVAfKmUAlfHDStqg$46SuDVzqkpcey4FaRMM08a/puJu4yEREYrdzHw86dtw",
    ),
    (
        "{PBKDF2} 5000 rounds",
        "Rust",
        "{PBKDF2}$1$oi4zlKa89qX9Cc3r$5000$33a898b62f02a693bb66048600d9ec012c25f548",
    ),
    (
        "{SCRAM-SHA-256} 4096",
        "Rust",
        "{SCRAM-SHA-256}4096,Ymexqfh7WwBKcmOIctEXcA==,Bx1gkuU5lqzzpZkS0OS17hVG+MZ4JDuivEy8KHzaUag=,q3PUcEy+rndw3npuFz1wCLeygpKI67Zxeh831Pqu5Bg=",
    ),
    (
        "{SCRAM-SHA-1} 4096",
        "Rust",
        "{SCRAM-SHA-1}4096,YiH9DAaFwdHFYt6R9aJdaQ==,xzldc7df6dNB8yDAOeo+zx5Gh4w=,nIHKfg4s3lzhbpt7EtG7t0KW/EU=",
    ),
    (
        "{OTP} sha1, seq 1024",
        "Rust",
        "{OTP}sha1 1024 75852550dae6fd5b 96884d4e63e96f5f",
    ),
    (
        "{CRAM-MD5}",
        "Rust",
        "{CRAM-MD5}fc2110f383859928663cccaffe3b41126cbc2dbb842e53669951e02c41e66050",
    ),
    (
        "{DIGEST-MD5}",
        "Rust",
        "{DIGEST-MD5}f4a2056bb3a3a48aba05a29851f8f79d",
    ),
    ("{SMD5}", "Rust", "{SMD5}ctj3P18Ul6gTAK/SEu5J08vUqcs="),
    (
        "{PLAIN-MD5}",
        "Rust",
        "{PLAIN-MD5}2ac9cb7dc02b3c0083eb70898e549b63",
    ),
    (
        "{SSHA512}",
        "Rust",
        "{SSHA512}tT2zBcmB4WtWvVYqyRiRYFPvSX+q+H6ZmqilQqh71ziJqeBRP1xcAE1B6kH+kqi1tYbfpV6vqQe3iK9XInH14Y3n6l4=",
    ),
];

fn main() {
    let budget: f64 = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(2.0);
    let (cores, accounts, hour) = (2.0, 10_000.0, 3600.0);
    println!(
        "| scheme | computed by | CPU time per guess | guesses/s per core | wall/CPU | guesses per account in 1 h (2 cores, 10,000 accounts) |"
    );
    println!("|---|---|---|---|---|---|");
    for (name, by, field) in CASES {
        let h = parse_password_field(field)
            .unwrap()
            .with_login("kim@contoso.com");
        assert!(
            h.verify("Password1"),
            "{name}: the known answer does not verify"
        );
        let (cpu0, _) = schedstat();
        let t0 = Instant::now();
        let mut n = 0u64;
        while n < 3 || (schedstat().0 - cpu0) as f64 / 1e9 < budget {
            for _ in 0..n.clamp(1, 1000) {
                black_box(h.verify(black_box("not-the-password")));
                n += 1;
            }
        }
        let cpu = (schedstat().0 - cpu0) as f64 / 1e9;
        let wall = t0.elapsed().as_secs_f64();
        let per = cpu / n as f64;
        let per_account = hour * cores / per / accounts;
        let shown = if per >= 1e-3 {
            format!("{:.2} ms", per * 1e3)
        } else {
            format!("{:.2} µs", per * 1e6)
        };
        let cover = if per_account >= 10_000.0 {
            format!("{:.0}k (all ~820)", per_account / 1000.0)
        } else if per_account >= 820.0 {
            format!("{per_account:.0} (all ~820)")
        } else {
            format!("{per_account:.1}")
        };
        println!(
            "| {name} | {by} | {shown} | {:.0} | {:.1} | {cover} |",
            1.0 / per,
            wall / cpu
        );
    }
}
