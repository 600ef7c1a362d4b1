//! `portcullis passwords build|check|audit`: the offline breach filter, one-password checks for
//! change flows, and the audit of stored hashes. The work is done in `portcullis-passwords`;
//! this module parses arguments, draws progress bars on a terminal and prints results.

use anyhow::{Context, bail};
use clap::{Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use portcullis_passwords::{
    BuildOptions, FingerprintBits, HashKind, PasswordsConfig, Policy, Progress, build_filter,
    check::CheckResult, filter::parse_date,
};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Mutex;

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(subcommand)]
    command: PasswordsCommand,
}

#[derive(Subcommand, Debug)]
enum PasswordsCommand {
    /// Build the offline breach filter from Have I Been Pwned's Pwned Passwords (SHA-1 or NTLM).
    Build(BuildArgs),
    /// Check one password (prompted without echo, or one line on stdin; never an argument).
    Check(CheckArgs),
    /// Audit stored hashes: NTLM dumps, /etc/shadow, Dovecot passwd-files, htpasswd.
    Audit(AuditArgs),
}

#[derive(clap::Args, Debug)]
#[command(after_help = "\
Schemes: every crypt(3) method of mkpasswd (yescrypt, gost-yescrypt, scrypt, bcrypt, SHA-crypt,
MD5-crypt, Sun MD5, DES, BSDi, NT), every doveadm pw scheme, htpasswd's apr1, bcrypt, SHA-crypt,
DES and {SHA}. The report's COVERAGE section (JSON: coverage) says per scheme how many accounts
were tested and how many guesses each got.
Exit status: 0 nothing found, 1 some account is empty, breached, guessed or spray-exposed, 2 error.
Examples:
  portcullis passwords audit ntds.txt --filter pwned-ntlm.pcf --org-word Contoso
  portcullis passwords audit /etc/shadow users.passwd --time-limit 3600 --state audit.state
  portcullis passwords audit ntds.txt --format json > audit.json")]
struct AuditArgs {
    /// Files to audit (any mix of the supported formats; plain or gzip).
    #[arg(required = true)]
    inputs: Vec<PathBuf>,
    /// Breach filter(s) built by `passwords build` (SHA-1 and/or NTLM); repeat for several.
    #[arg(long = "filter")]
    filters: Vec<PathBuf>,
    /// Configuration file; `[passwords]` gives org_words and the filter.
    #[arg(long)]
    config: Option<PathBuf>,
    /// An organisation word (name, brand, city) for mutations; repeat for several.
    #[arg(long = "org-word")]
    org_words: Vec<String>,
    /// Years to combine with seasons and words (default: this year, ±1, and two more back).
    #[arg(long = "year")]
    years: Vec<i32>,
    /// Most guesses per account with a slow (salted, stretched) hash.
    #[arg(long, default_value_t = 1000)]
    max_guesses: usize,
    /// Stop slow guessing after this many seconds (resume later with --state).
    #[arg(long)]
    time_limit: Option<u64>,
    /// K for spray exposure: accounts falling to the top K guesses.
    #[arg(long, default_value_t = 50)]
    spray_top: usize,
    /// State file for resuming slow guessing (holds ranks, never passwords; mode 0600).
    #[arg(long)]
    state: Option<PathBuf>,
    /// Show the passwords found (default: never printed).
    #[arg(long)]
    reveal: bool,
    /// Worker threads (default: all cores).
    #[arg(long)]
    threads: Option<usize>,
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
}

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
enum Format {
    Text,
    Json,
}

#[derive(clap::Args, Debug)]
#[command(after_help = "\
Examples:
  portcullis passwords build pwnedpasswords/ -o pwned-sha1.pcf
  portcullis passwords build pwned-passwords-ntlm.txt.gz -o pwned-ntlm.pcf --min-count 2")]
struct BuildArgs {
    /// A `HASH:COUNT` file (plain or gzip) or a directory of per-prefix files (00000 … FFFFF).
    input: PathBuf,
    /// The filter file to write.
    #[arg(short, long)]
    output: PathBuf,
    /// Hash kind of the list (default: detected from the first line).
    #[arg(long, value_parser = parse_hash_kind)]
    hash_kind: Option<HashKind>,
    /// Fingerprint bits: 8 (≈9 bits/entry, 1/256 false positives) or 16 (≈18, 1/65536).
    #[arg(long, default_value_t = 8, value_parser = parse_bits)]
    bits: u8,
    /// log2 of the shard count (default: from the input size, ~4M hashes per shard).
    #[arg(long)]
    shard_bits: Option<u8>,
    /// Leave out hashes seen fewer times than this (count 0 = range-API padding).
    #[arg(long, default_value_t = 1)]
    min_count: u64,
    /// Date of the list, YYYY-MM-DD (default: the newest input file's modification time).
    #[arg(long)]
    source_date: Option<String>,
    /// Where to partition a single-file input (8 bytes per hash; default: beside the output).
    #[arg(long)]
    temp_dir: Option<PathBuf>,
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
}

fn parse_bits(s: &str) -> Result<u8, String> {
    match s {
        "8" => Ok(8),
        "16" => Ok(16),
        _ => Err("fingerprint bits must be 8 or 16".into()),
    }
}

fn parse_hash_kind(s: &str) -> Result<HashKind, String> {
    s.parse()
}

#[derive(clap::Args, Debug)]
#[command(after_help = "\
Exit status: 0 acceptable, 1 refused, 2 error.
Examples:
  portcullis passwords check --filter pwned-sha1.pcf --user alice.smith@example.org
  printf '%s\\n' \"$NEW_PASSWORD\" | portcullis passwords check --format json --config portcullis.toml")]
struct CheckArgs {
    /// Breach filter built by `passwords build` (overrides the config's).
    #[arg(long)]
    filter: Option<PathBuf>,
    /// Configuration file; its `[passwords]` section gives filter, org_words and policy.
    #[arg(long)]
    config: Option<PathBuf>,
    /// The user's names (user name, e-mail, display name); repeat for several.
    #[arg(long = "user")]
    users: Vec<String>,
    /// An organisation word (name, brand, city); repeat for several. Adds to the config's.
    #[arg(long = "org-word")]
    org_words: Vec<String>,
    /// Minimum length (default 8; NIST asks 15 when the password is the only factor).
    #[arg(long)]
    min_length: Option<usize>,
    /// The password is the only authentication factor: minimum length 15.
    #[arg(long)]
    single_factor: bool,
    /// Also require this zxcvbn score (0-4).
    #[arg(long)]
    min_score: Option<u8>,
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    match args.command {
        PasswordsCommand::Build(a) => run_build(a),
        PasswordsCommand::Check(a) => run_check(a),
        PasswordsCommand::Audit(a) => run_audit(a),
    }
}

/// An indicatif bar on stderr, only when stderr is a terminal.
struct Bar {
    bar: Mutex<Option<ProgressBar>>,
    enabled: bool,
}

impl Bar {
    fn new() -> Self {
        Bar {
            bar: Mutex::new(None),
            enabled: std::io::stderr().is_terminal(),
        }
    }
}

impl Progress for Bar {
    fn start(&self, phase: &str, total: u64) {
        if !self.enabled {
            return;
        }
        let pb = ProgressBar::new(total);
        pb.set_style(
            ProgressStyle::with_template(
                "{msg:>12} [{elapsed_precise}] {wide_bar} {percent:>3}% eta {eta}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        pb.set_message(phase.to_string());
        if let Ok(mut b) = self.bar.lock() {
            *b = Some(pb);
        }
    }
    fn advance(&self, n: u64) {
        if let Ok(b) = self.bar.lock()
            && let Some(pb) = b.as_ref()
        {
            pb.inc(n);
        }
    }
    fn finish(&self) {
        if let Ok(mut b) = self.bar.lock()
            && let Some(pb) = b.take()
        {
            pb.finish_and_clear();
        }
    }
}

fn run_build(a: BuildArgs) -> anyhow::Result<ExitCode> {
    let source_date_unix = a
        .source_date
        .as_deref()
        .map(|d| parse_date(d).with_context(|| format!("--source-date {d:?}: expected YYYY-MM-DD")))
        .transpose()?;
    let opts = BuildOptions {
        hash_kind: a.hash_kind,
        fingerprint_bits: FingerprintBits::from_bits(a.bits).unwrap_or(FingerprintBits::Eight),
        shard_bits: a.shard_bits,
        min_count: a.min_count,
        source_date_unix,
        temp_dir: a.temp_dir,
    };
    let started = std::time::Instant::now();
    let report = build_filter(&a.input, &a.output, &opts, &Bar::new())
        .with_context(|| format!("building {}", a.output.display()))?;
    let secs = started.elapsed().as_secs_f64();
    match a.format {
        Format::Json => println!("{}", serde_json::to_string_pretty(&report)?),
        Format::Text => {
            let i = &report.info;
            let s = &report.stats;
            println!(
                "wrote {}: {} {} hashes, {} bytes ({:.2} bits/entry), {}-bit fingerprints \
                 (false-positive rate {:.4} %), {} shards, source date {}",
                a.output.display(),
                i.entries,
                i.hash_kind,
                i.file_bytes,
                i.bits_per_entry,
                i.fingerprint_bits,
                i.false_positive_rate * 100.0,
                1u64 << i.shard_bits,
                i.source_date().unwrap_or_else(|| "unknown".into())
            );
            println!(
                "read {} files, {} lines in {secs:.1} s: {} accepted, {} below --min-count {}, \
                 {} malformed, {} other files skipped",
                s.files,
                s.lines,
                s.accepted,
                s.below_min_count,
                i.min_count,
                s.malformed,
                s.skipped_files
            );
            for e in &s.malformed_examples {
                println!("  malformed: {e}");
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `[passwords]` of the configuration (`--config`, else /etc/portcullis/portcullis.toml when
/// it exists, else the defaults).
fn load_config(path: Option<&PathBuf>) -> anyhow::Result<PasswordsConfig> {
    Ok(crate::config::load(path.map(PathBuf::as_path))?.0.passwords)
}

fn run_check(a: CheckArgs) -> anyhow::Result<ExitCode> {
    let mut cfg = load_config(a.config.as_ref())?;
    if a.filter.is_some() {
        cfg.filter = a.filter.clone();
    }
    cfg.org_words.extend(a.org_words.iter().cloned());
    if a.single_factor {
        cfg.policy.min_length = cfg
            .policy
            .min_length
            .max(Policy::single_factor().min_length);
    }
    if let Some(n) = a.min_length {
        cfg.policy.min_length = n;
    }
    if let Some(s) = a.min_score {
        if s > 4 {
            bail!("--min-score must be 0-4");
        }
        cfg.policy.min_strength_score = s;
    }
    let checker = cfg.open_checker().context("opening the breach filter")?;
    let password = portcullis_passwords::prompt::read_password("Password (not echoed): ")
        .context("reading the password")?;
    let users: Vec<&str> = a.users.iter().map(String::as_str).collect();
    let result = checker.check(&password, &users);
    drop(password);
    match a.format {
        Format::Json => println!("{}", serde_json::to_string_pretty(&result)?),
        Format::Text => print_check(&result),
    }
    Ok(if result.acceptable {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn print_check(r: &CheckResult) {
    println!(
        "{}",
        if r.acceptable {
            "ACCEPTABLE"
        } else {
            "REFUSED"
        }
    );
    match &r.breached {
        Some(b) if b.found => println!(
            "breached:  yes — in the {} Pwned Passwords list{} ({:.3} % chance this is a false alarm)",
            b.hash_kind,
            b.source_date
                .as_deref()
                .map(|d| format!(" of {d}"))
                .unwrap_or_default(),
            b.false_positive_rate * 100.0
        ),
        Some(b) => println!(
            "breached:  no (checked against {} hashes{})",
            b.entries,
            b.source_date
                .as_deref()
                .map(|d| format!(", list of {d}"))
                .unwrap_or_default()
        ),
        None => println!("breached:  not checked (no --filter)"),
    }
    println!(
        "strength:  {}/4 (zxcvbn, ~10^{:.1} guesses)",
        r.strength.score, r.strength.guesses_log10
    );
    if let Some(w) = &r.strength.warning {
        println!("  warning: {w}");
    }
    for s in &r.strength.suggestions {
        println!("  suggestion: {s}");
    }
    println!(
        "NIST SP 800-63B: {}",
        if r.nist.compliant {
            "compliant"
        } else {
            "not compliant"
        }
    );
    for reason in &r.reasons {
        println!(
            "  - {}{}",
            reason.message,
            if reason.nist { "" } else { " (local policy)" }
        );
    }
}

fn run_audit(a: AuditArgs) -> anyhow::Result<ExitCode> {
    use portcullis_passwords::audit::{AuditOptions, audit, default_years, input};
    let cfg = load_config(a.config.as_ref())?;
    let mut filter_paths = a.filters.clone();
    if filter_paths.is_empty()
        && let Some(f) = &cfg.filter
    {
        filter_paths.push(f.clone());
    }
    let filters = filter_paths
        .iter()
        .map(|p| {
            portcullis_passwords::BreachFilter::open(p)
                .with_context(|| format!("opening filter {}", p.display()))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let mut accounts = Vec::new();
    let mut stats = Vec::new();
    for p in &a.inputs {
        let (acc, st) =
            input::read_accounts_file(p).with_context(|| format!("reading {}", p.display()))?;
        accounts.extend(acc);
        stats.push(st);
    }
    let mut org_words = cfg.org_words.clone();
    org_words.extend(a.org_words.iter().cloned());
    let opts = AuditOptions {
        org_words,
        years: if a.years.is_empty() {
            default_years()
        } else {
            a.years.clone()
        },
        max_guesses: a.max_guesses,
        time_limit: a.time_limit.map(std::time::Duration::from_secs),
        spray_top_k: a.spray_top,
        state_path: a.state.clone(),
        reveal: a.reveal,
    };
    let pool = rayon_pool(a.threads)?;
    let report = pool.install(|| audit(&accounts, stats, &filters, &opts, &Bar::new()));
    match a.format {
        Format::Json => println!("{}", serde_json::to_string_pretty(&report)?),
        Format::Text => print!("{}", report.render_text()),
    }
    let exposed = !report.empty.is_empty()
        || !report.breached.is_empty()
        || !report.guessed.is_empty()
        || !report.spray_exposure.accounts.is_empty();
    Ok(if exposed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn rayon_pool(threads: Option<usize>) -> anyhow::Result<portcullis_passwords::audit::ThreadPool> {
    portcullis_passwords::audit::thread_pool(threads).context("starting worker threads")
}
