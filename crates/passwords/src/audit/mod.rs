//! `passwords audit`: an organisation's stored password hashes → the accounts an attacker would
//! get first.
//!
//! Checks, per account: an empty password; a breached password (NT hashes and unsalted SHA-1
//! looked up directly in a breach filter of the same kind, any password the audit learnt checked
//! against every filter); a common or organisation-specific password (the ranked
//! [`Candidates`] plus a few guesses from the account's own name), tried against every scheme —
//! exhaustively for fast unsalted hashes, within a guess budget for slow salted ones; one
//! password shared by several accounts; plaintext and LM hashes still stored. From the rank at
//! which each password fell it derives *spray exposure*: which accounts a spray of the top K
//! guesses would take.
//!
//! Slow hashes are attacked rank by rank across all accounts (the way a sprayer works), in
//! parallel (rayon), with a progress hook and a small resumable state file recording the last
//! completed rank and the ranks found (never a password). Results never hold a password unless
//! [`AuditOptions::reveal`] is set.

pub mod input;
pub mod legacy;
pub mod scheme;
pub mod xcrypt;

use crate::common::{Candidates, leet};
use crate::filter::BreachFilter;
use crate::hash::{HashKind, nt_hash, sha1};
use crate::progress::Progress;
use input::{AccountHash, InputStats};
use rayon::prelude::*;
use scheme::{Digest3, EMPTY_NT_HASH, StoredHash};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// Report schema name.
pub const SCHEMA: &str = "portcullis.password-audit/v1";

/// How to run an audit.
#[derive(Clone, Debug)]
pub struct AuditOptions {
    /// The organisation's words (name, brands, city) for mutations.
    pub org_words: Vec<String>,
    /// Years to combine with seasons and words, newest first.
    pub years: Vec<i32>,
    /// Most guesses per slow-hash account (all candidates if larger).
    pub max_guesses: usize,
    /// Stop slow guessing after this long (state is saved; run again to resume).
    pub time_limit: Option<Duration>,
    /// The K of "spray exposure": accounts that fall to the top K guesses.
    pub spray_top_k: usize,
    /// Resumable state file for slow guessing; `None`: no resume.
    pub state_path: Option<PathBuf>,
    /// Include guessed and stored plaintext passwords in the report.
    pub reveal: bool,
}

impl Default for AuditOptions {
    fn default() -> Self {
        AuditOptions {
            org_words: Vec::new(),
            years: default_years(),
            max_guesses: 1000,
            time_limit: None,
            spray_top_k: 50,
            state_path: None,
            reveal: false,
        }
    }
}

/// This year, last year, next year, then two more back: the years sprayers append.
pub fn default_years() -> Vec<i32> {
    let now = chrono::Utc::now();
    let y = chrono::Datelike::year(&now);
    vec![y, y - 1, y + 1, y - 2, y - 3]
}

/// One account that fell to a guess.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Guessed {
    pub user: String,
    pub source: String,
    pub scheme: String,
    /// 0-based rank of the guess in the ranked list (personal guesses come after the list).
    pub rank: usize,
    /// Within the spray top K.
    pub spray_exposed: bool,
    /// Only with `reveal`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
}

/// An account whose password is in a breach list.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Breached {
    pub user: String,
    pub source: String,
    /// `nt_hash`, `sha1_hash` (looked up directly) or `known_password` (stored plaintext or
    /// guessed, then hashed for the filter).
    pub via: String,
    pub false_positive_rate: f64,
}

/// Accounts sharing one password.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SharedGroup {
    pub accounts: Vec<AccountRef>,
}

/// An account by name and source.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct AccountRef {
    pub user: String,
    pub source: String,
    pub scheme: String,
}

/// Spray exposure: accounts that fall to the top K guesses.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SprayExposure {
    pub top_k: usize,
    pub accounts: Vec<AccountRef>,
    /// (K, accounts falling to the top K) for growing K.
    pub curve: Vec<(usize, usize)>,
    /// Every testable account was tried with at least this many guesses: below it the
    /// exposure figures are exact, above it a lower bound.
    pub complete_to_rank: usize,
}

/// Work done.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Effort {
    pub candidates: usize,
    /// Hash computations for slow schemes (this run and resumed ones).
    pub slow_guesses: u64,
    pub fast_guesses: u64,
    /// Slow guessing finished within the budget (or ran out of candidates).
    pub complete: bool,
    pub resumed_from_rank: usize,
    pub seconds: f64,
    /// Slow-hash throughput by scheme: guesses per second (this run, all threads).
    pub guesses_per_second: BTreeMap<String, f64>,
}

/// What the audit covered for one scheme, so that an admin sees what was *not* tested.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct SchemeCoverage {
    /// Accounts stored with this scheme.
    pub accounts: usize,
    /// Accounts that were tested at all (at least one guess, or the password is known).
    pub tested: usize,
    /// Accounts whose password was found (empty, stored in plaintext or guessed).
    pub found: usize,
    /// Of the tested accounts not found: the fewest and the most guesses one got.
    pub min_guesses: usize,
    pub max_guesses: usize,
    /// Guesses an account could have got (the ranked list and its own name guesses, capped by
    /// `--max-guesses` for slow schemes): `min_guesses` below this means partial coverage.
    pub possible_guesses: usize,
    /// Slow scheme (attacked rank by rank within the guess and time budget).
    pub slow: bool,
    /// The scheme cannot be tested (locked accounts, or a scheme this build cannot compute).
    pub not_testable: bool,
}

/// The audit report (schema `portcullis.password-audit/v1`).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AuditReport {
    pub schema: &'static str,
    pub inputs: Vec<InputStats>,
    pub accounts: usize,
    pub by_scheme: BTreeMap<String, usize>,
    pub empty: Vec<AccountRef>,
    pub breached: Vec<Breached>,
    pub guessed: Vec<Guessed>,
    pub shared: Vec<SharedGroup>,
    pub plaintext_stored: Vec<AccountRef>,
    pub lm_hash_stored: Vec<AccountRef>,
    pub locked: usize,
    /// Accounts whose scheme this build cannot test (unknown schemes; on systems without
    /// libxcrypt, yescrypt, MD5-crypt and DES crypt).
    pub untestable: Vec<AccountRef>,
    /// Per scheme: accounts tested and guesses each got.
    pub coverage: BTreeMap<String, SchemeCoverage>,
    pub spray_exposure: SprayExposure,
    pub effort: Effort,
}

/// Resumable state of the slow phase. Holds ranks, never passwords.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
struct State {
    fingerprint: String,
    /// All slow accounts have been tried with every rank below this.
    next_rank: usize,
    /// Account index → rank found.
    found: BTreeMap<usize, usize>,
    /// Account index → the empty password matched.
    empty: Vec<usize>,
    slow_guesses: u64,
}

fn account_ref(a: &AccountHash) -> AccountRef {
    AccountRef {
        user: a.user.clone(),
        source: a.source.clone(),
        scheme: a.hash.scheme().to_string(),
    }
}

/// Guesses derived from the account's own name, tried after the shared list.
fn personal_candidates(
    a: &AccountHash,
    years: &[i32],
    global: &HashMap<&str, usize>,
) -> Vec<String> {
    let name = a.bare_name();
    let mut parts: Vec<String> = name
        .split(['.', '_', '-'])
        .filter(|p| p.chars().count() >= 3 && !p.chars().all(|c| c.is_ascii_digit()))
        .map(str::to_string)
        .collect();
    if !parts.contains(&name) && name.chars().count() >= 3 {
        parts.insert(0, name.clone());
    }
    let mut out = Vec::new();
    for p in parts {
        let cap: String = {
            let mut c = p.chars();
            c.next()
                .map(|f| f.to_uppercase().chain(c).collect())
                .unwrap_or_default()
        };
        let mut v = vec![
            p.clone(),
            cap.clone(),
            format!("{p}1"),
            format!("{cap}1"),
            format!("{cap}1!"),
            format!("{p}123"),
            format!("{cap}123"),
            format!("{p}{p}"),
            leet(&cap),
        ];
        for y in years.iter().take(3) {
            v.push(format!("{p}{y}"));
            v.push(format!("{cap}{y}"));
            v.push(format!("{cap}{y}!"));
        }
        for c in v {
            if !global.contains_key(c.as_str()) && !out.contains(&c) {
                out.push(c);
            }
        }
    }
    out
}

fn fingerprint(accounts: &[AccountHash], candidates: &[String], max_guesses: usize) -> String {
    let mut h = Sha256::new();
    for a in accounts {
        h.update(a.user.as_bytes());
        h.update([0]);
        h.update(format!("{:?}", a.hash).as_bytes());
        h.update([0]);
    }
    for c in candidates {
        h.update(c.as_bytes());
        h.update([0]);
    }
    h.update(max_guesses.to_le_bytes());
    hex::encode(h.finalize())
}

fn load_state(path: &std::path::Path, fp: &str) -> Option<State> {
    let text = std::fs::read_to_string(path).ok()?;
    let s: State = serde_json::from_str(&text).ok()?;
    (s.fingerprint == fp).then_some(s)
}

fn save_state(path: &std::path::Path, s: &State) -> std::io::Result<()> {
    let tmp = path.with_extension("tmp");
    {
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        let mut f = opts.open(&tmp)?;
        std::io::Write::write_all(&mut f, serde_json::to_string(s)?.as_bytes())?;
    }
    std::fs::rename(tmp, path)
}

pub use rayon::ThreadPool;

/// A worker pool for [`audit`] (`None`: one thread per core); run the audit inside
/// `pool.install(..)`.
pub fn thread_pool(threads: Option<usize>) -> Result<ThreadPool, rayon::ThreadPoolBuildError> {
    let mut b = rayon::ThreadPoolBuilder::new();
    if let Some(n) = threads {
        b = b.num_threads(n.max(1));
    }
    b.build()
}

/// Runs the audit. `filters`: breach filters (SHA-1 and/or NTLM) to check against.
pub fn audit(
    accounts: &[AccountHash],
    inputs: Vec<InputStats>,
    filters: &[BreachFilter],
    opts: &AuditOptions,
    progress: &dyn Progress,
) -> AuditReport {
    let started = Instant::now();
    let cands = Candidates::new(&opts.org_words, &opts.years);
    let global: Vec<String> = cands.as_slice().to_vec();
    let g_len = global.len();
    let global_rank: HashMap<&str, usize> = global
        .iter()
        .enumerate()
        .map(|(i, c)| (c.as_str(), i))
        .collect();
    let personal: Vec<Vec<String>> = accounts
        .iter()
        .map(|a| personal_candidates(a, &opts.years, &global_rank))
        .collect();
    let candidate = |i: usize, rank: usize| -> &str {
        if rank < g_len {
            &global[rank]
        } else {
            &personal[i][rank - g_len]
        }
    };
    let limit = |i: usize| g_len + personal[i].len();

    let mut found: Vec<Option<usize>> = vec![None; accounts.len()];
    let mut empty: Vec<bool> = vec![false; accounts.len()];
    let mut effort = Effort {
        candidates: g_len,
        ..Effort::default()
    };

    // Fast schemes: every candidate. NT and unsalted digests via lookup tables.
    let nt_table: HashMap<[u8; 16], usize> = global
        .iter()
        .enumerate()
        .rev()
        .map(|(r, c)| (nt_hash(c), r))
        .collect();
    let mut digest_tables: HashMap<Digest3, HashMap<Vec<u8>, usize>> = HashMap::new();
    for (i, a) in accounts.iter().enumerate() {
        match &a.hash {
            StoredHash::Empty => empty[i] = true,
            StoredHash::Nt(h) => {
                if *h == EMPTY_NT_HASH {
                    empty[i] = true;
                } else if let Some(r) = nt_table.get(h) {
                    found[i] = Some(*r);
                } else {
                    found[i] = (g_len..limit(i)).find(|r| a.hash.verify(candidate(i, *r)));
                }
                effort.fast_guesses += limit(i) as u64;
            }
            StoredHash::Unsalted { digest, hash } => {
                let table = digest_tables.entry(*digest).or_insert_with(|| {
                    global
                        .iter()
                        .enumerate()
                        .rev()
                        .map(|(r, c)| (digest.digest(c.as_bytes(), &[]), r))
                        .collect()
                });
                if a.hash.verify("") {
                    empty[i] = true;
                } else if let Some(r) = table.get(hash) {
                    found[i] = Some(*r);
                } else {
                    found[i] = (g_len..limit(i)).find(|r| a.hash.verify(candidate(i, *r)));
                }
                effort.fast_guesses += limit(i) as u64;
            }
            StoredHash::Plain(p) => {
                if p.is_empty() {
                    empty[i] = true;
                } else {
                    found[i] = global_rank
                        .get(p.as_str())
                        .copied()
                        .or_else(|| (g_len..limit(i)).find(|r| candidate(i, *r) == p));
                }
            }
            StoredHash::Salted { .. } | StoredHash::CramMd5(_) | StoredHash::DigestMd5 { .. } => {
                if a.hash.verify("") {
                    empty[i] = true;
                } else {
                    found[i] = (0..limit(i)).find(|r| a.hash.verify(candidate(i, *r)));
                }
                effort.fast_guesses += limit(i) as u64;
            }
            _ => {}
        }
    }

    // Slow schemes: rank-major across accounts, resumable.
    let slow: Vec<usize> = (0..accounts.len())
        .filter(|i| accounts[*i].hash.is_slow())
        .collect();
    let fp = fingerprint(accounts, &global, opts.max_guesses);
    let mut state = opts
        .state_path
        .as_deref()
        .and_then(|p| load_state(p, &fp))
        .unwrap_or(State {
            fingerprint: fp,
            ..State::default()
        });
    effort.resumed_from_rank = state.next_rank;
    for (i, r) in &state.found {
        if *i < found.len() {
            found[*i] = Some(*r);
        }
    }
    for i in &state.empty {
        if *i < empty.len() {
            empty[*i] = true;
        }
    }
    let slow_limit = |i: usize| limit(i).min(opts.max_guesses);
    let max_rank = slow.iter().map(|i| slow_limit(*i)).max().unwrap_or(0);
    let total_work: u64 = slow.iter().map(|i| slow_limit(*i) as u64 + 1).sum();
    progress.start("guessing", total_work);
    // The empty password first (it is not a spray guess, so it has no rank).
    if state.next_rank == 0 {
        let hits: Vec<usize> = slow
            .par_iter()
            .filter(|i| found[**i].is_none() && !empty[**i])
            .filter(|i| {
                let hit = accounts[**i].hash.verify("");
                progress.advance(1);
                hit
            })
            .copied()
            .collect();
        state.slow_guesses += slow.len() as u64;
        for i in hits {
            empty[i] = true;
            state.empty.push(i);
        }
        if let Some(p) = &opts.state_path
            && let Err(e) = save_state(p, &state)
        {
            tracing::warn!("cannot save audit state to {}: {e}", p.display());
        }
    }
    let mut per_scheme: BTreeMap<String, (u64, Duration)> = BTreeMap::new();
    let block = 4usize;
    let mut rank = state.next_rank;
    let mut out_of_time = false;
    while rank < max_rank {
        if opts.time_limit.is_some_and(|t| started.elapsed() >= t) {
            out_of_time = true;
            break;
        }
        let end = (rank + block).min(max_rank);
        let work: Vec<usize> = slow
            .iter()
            .copied()
            .filter(|i| found[*i].is_none() && !empty[*i] && rank < slow_limit(*i))
            .collect();
        let results: Vec<(usize, Option<usize>, u64, Duration)> = work
            .par_iter()
            .map(|&i| {
                let t0 = Instant::now();
                let mut tried = 0u64;
                let mut hit = None;
                for r in rank..end.min(slow_limit(i)) {
                    tried += 1;
                    if accounts[i].hash.verify(candidate(i, r)) {
                        hit = Some(r);
                        break;
                    }
                }
                progress.advance(tried);
                (i, hit, tried, t0.elapsed())
            })
            .collect();
        for (i, hit, tried, took) in results {
            state.slow_guesses += tried;
            let e = per_scheme
                .entry(accounts[i].hash.scheme().to_string())
                .or_default();
            e.0 += tried;
            e.1 += took;
            if let Some(r) = hit {
                found[i] = Some(r);
                state.found.insert(i, r);
            }
        }
        rank = end;
        state.next_rank = rank;
        if let Some(p) = &opts.state_path
            && let Err(e) = save_state(p, &state)
        {
            tracing::warn!("cannot save audit state to {}: {e}", p.display());
        }
    }
    progress.finish();
    effort.slow_guesses = state.slow_guesses;
    effort.complete = !out_of_time;
    // Per-scheme rate, counting the parallel threads: guesses / (CPU time / threads).
    let threads = rayon::current_num_threads().max(1) as f64;
    effort.guesses_per_second = per_scheme
        .into_iter()
        .filter(|(_, (n, t))| *n > 0 && !t.is_zero())
        .map(|(k, (n, t))| (k, n as f64 / t.as_secs_f64() * threads))
        .collect();

    // Known passwords: stored plaintext or guessed.
    let known: Vec<Option<&str>> = (0..accounts.len())
        .map(|i| {
            if empty[i] {
                Some("")
            } else {
                match (&accounts[i].hash, found[i]) {
                    (StoredHash::Plain(p), _) => Some(p.as_str()),
                    (_, Some(r)) => Some(candidate(i, r)),
                    _ => None,
                }
            }
        })
        .collect();

    // Breached.
    let mut breached = Vec::new();
    for (i, a) in accounts.iter().enumerate() {
        // A direct lookup of the stored hash first, then any password the audit learnt.
        let direct = filters.iter().find_map(|f| {
            let fpr = f.info().false_positive_rate;
            match (&a.hash, f.hash_kind()) {
                (StoredHash::Nt(h), HashKind::Ntlm) if f.contains_hash(h) => Some(("nt_hash", fpr)),
                (
                    StoredHash::Unsalted {
                        digest: Digest3::Sha1,
                        hash,
                    },
                    HashKind::Sha1,
                ) if f.contains_hash(hash) => Some(("sha1_hash", fpr)),
                _ => None,
            }
        });
        let hit = direct.or_else(|| {
            let p = known[i].filter(|p| !p.is_empty())?;
            filters
                .iter()
                .find(|f| f.contains_password(p))
                .map(|f| ("known_password", f.info().false_positive_rate))
        });
        if let Some((via, fpr)) = hit {
            breached.push(Breached {
                user: a.user.clone(),
                source: a.source.clone(),
                via: via.into(),
                false_positive_rate: fpr,
            });
        }
    }

    // Shared: union accounts by NT hash, unsalted digest, or known password.
    let mut parent: Vec<usize> = (0..accounts.len()).collect();
    fn find(p: &mut [usize], mut x: usize) -> usize {
        while p[x] != x {
            p[x] = p[p[x]];
            x = p[x];
        }
        x
    }
    let mut by_key: HashMap<Vec<u8>, usize> = HashMap::new();
    for (i, a) in accounts.iter().enumerate() {
        if empty[i] {
            continue;
        }
        let mut keys: Vec<Vec<u8>> = Vec::new();
        match &a.hash {
            StoredHash::Nt(h) => keys.push([b"nt:".as_slice(), h].concat()),
            StoredHash::Unsalted { digest, hash } => {
                keys.push([format!("{digest:?}:").as_bytes(), hash].concat())
            }
            _ => {}
        }
        if let Some(p) = known[i] {
            keys.push([b"nt:".as_slice(), &nt_hash(p)].concat());
            keys.push([b"Sha1:".as_slice(), &sha1(p)].concat());
        }
        for k in keys {
            match by_key.get(&k) {
                Some(&j) => {
                    let (a, b) = (find(&mut parent, i), find(&mut parent, j));
                    if a != b {
                        parent[a] = b;
                    }
                }
                None => {
                    by_key.insert(k, i);
                }
            }
        }
    }
    let mut groups: BTreeMap<usize, Vec<AccountRef>> = BTreeMap::new();
    for (i, a) in accounts.iter().enumerate() {
        // Empty passwords are their own finding; untestable ones cannot be compared.
        if empty[i] || !a.hash.is_testable() {
            continue;
        }
        let root = find(&mut parent, i);
        groups.entry(root).or_default().push(account_ref(a));
    }
    let mut shared: Vec<SharedGroup> = groups
        .into_values()
        .filter(|g| g.len() >= 2)
        .map(|mut g| {
            g.sort();
            SharedGroup { accounts: g }
        })
        .collect();
    shared.sort_by(|a, b| {
        b.accounts
            .len()
            .cmp(&a.accounts.len())
            .then(a.accounts.cmp(&b.accounts))
    });

    // Guessed and spray exposure.
    let k = opts.spray_top_k;
    let guessed: Vec<Guessed> = accounts
        .iter()
        .enumerate()
        .filter_map(|(i, a)| {
            let r = found[i]?;
            Some(Guessed {
                user: a.user.clone(),
                source: a.source.clone(),
                scheme: a.hash.scheme().to_string(),
                rank: r,
                spray_exposed: r < k && r < g_len,
                password: opts.reveal.then(|| candidate(i, r).to_string()),
            })
        })
        .collect();
    let ranks: Vec<usize> = found
        .iter()
        .flatten()
        .copied()
        .filter(|r| *r < g_len)
        .collect();
    let mut curve_ks: Vec<usize> = [1, 3, 5, 10, 20, 50, 100, 200, 500, 1000]
        .into_iter()
        .filter(|x| *x < g_len)
        .collect();
    curve_ks.push(g_len);
    if !curve_ks.contains(&k) && k <= g_len {
        curve_ks.push(k);
        curve_ks.sort_unstable();
    }
    let curve = curve_ks
        .into_iter()
        .map(|kk| (kk, ranks.iter().filter(|r| **r < kk).count()))
        .collect();
    let testable_min = accounts
        .iter()
        .enumerate()
        .filter(|(i, a)| a.hash.is_testable() && found[*i].is_none() && !empty[*i])
        .map(|(i, a)| {
            if a.hash.is_slow() {
                state.next_rank.min(slow_limit(i)).min(g_len)
            } else {
                g_len
            }
        })
        .min()
        .unwrap_or(g_len);
    let spray_exposure = SprayExposure {
        top_k: k,
        accounts: guessed
            .iter()
            .filter(|g| g.spray_exposed)
            .map(|g| AccountRef {
                user: g.user.clone(),
                source: g.source.clone(),
                scheme: g.scheme.clone(),
            })
            .collect(),
        curve,
        complete_to_rank: testable_min,
    };

    let mut by_scheme: BTreeMap<String, usize> = BTreeMap::new();
    for a in accounts {
        *by_scheme.entry(a.hash.scheme().to_string()).or_default() += 1;
    }
    // Coverage: the ranks each account was tried with (a hit at rank r means r + 1 guesses).
    let mut coverage: BTreeMap<String, SchemeCoverage> = BTreeMap::new();
    for (i, a) in accounts.iter().enumerate() {
        let c = coverage.entry(a.hash.scheme().to_string()).or_default();
        c.accounts += 1;
        c.slow = a.hash.is_slow();
        if !a.hash.is_testable() {
            if matches!(a.hash, StoredHash::Empty) {
                c.tested += 1;
                c.found += 1;
            } else {
                c.not_testable = true;
            }
            continue;
        }
        let possible = if c.slow { slow_limit(i) } else { limit(i) };
        c.possible_guesses = c.possible_guesses.max(possible);
        let known = empty[i] || matches!(a.hash, StoredHash::Plain(_));
        if known || found[i].is_some() {
            c.tested += 1;
            c.found += 1;
            continue;
        }
        let got = if c.slow {
            state.next_rank.min(possible)
        } else {
            possible
        };
        if got == 0 {
            continue;
        }
        c.min_guesses = if c.tested == c.found {
            got
        } else {
            c.min_guesses.min(got)
        };
        c.max_guesses = c.max_guesses.max(got);
        c.tested += 1;
    }
    let refs = |f: &dyn Fn(usize, &AccountHash) -> bool| -> Vec<AccountRef> {
        accounts
            .iter()
            .enumerate()
            .filter(|(i, a)| f(*i, a))
            .map(|(_, a)| account_ref(a))
            .collect()
    };
    effort.seconds = started.elapsed().as_secs_f64();
    AuditReport {
        schema: SCHEMA,
        inputs,
        accounts: accounts.len(),
        by_scheme,
        empty: refs(&|i, _| empty[i]),
        breached,
        guessed,
        shared,
        plaintext_stored: refs(&|_, a| matches!(&a.hash, StoredHash::Plain(p) if !p.is_empty())),
        lm_hash_stored: refs(&|_, a| a.lm_stored),
        locked: accounts
            .iter()
            .filter(|a| matches!(a.hash, StoredHash::Locked))
            .count(),
        untestable: refs(&|_, a| matches!(a.hash, StoredHash::Unsupported(_))),
        coverage,
        spray_exposure,
        effort,
    }
}

impl AuditReport {
    /// The human report. Contains passwords only if the audit ran with `reveal`.
    pub fn render_text(&self) -> String {
        use std::fmt::Write;
        let mut s = String::new();
        let list = |s: &mut String, v: &[AccountRef]| {
            for a in v {
                let _ = writeln!(s, "    {} ({}, {})", a.user, a.scheme, a.source);
            }
        };
        let _ = writeln!(
            s,
            "Password audit: {} accounts from {} input(s); schemes: {}",
            self.accounts,
            self.inputs.len(),
            self.by_scheme
                .iter()
                .map(|(k, v)| format!("{k} {v}"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        for i in &self.inputs {
            if i.rejected > 0 {
                let _ = writeln!(
                    s,
                    "  {}: {} lines rejected (first: {})",
                    i.path,
                    i.rejected,
                    i.rejected_examples
                        .first()
                        .map(String::as_str)
                        .unwrap_or("")
                );
            }
        }
        let e = &self.spray_exposure;
        let _ = writeln!(
            s,
            "\nSPRAY EXPOSURE: {} account(s) fall to a spray of the top {} guesses{}",
            e.accounts.len(),
            e.top_k,
            if e.complete_to_rank < e.top_k {
                format!(
                    " (lower bound: some accounts only tested to rank {})",
                    e.complete_to_rank
                )
            } else {
                String::new()
            }
        );
        list(&mut s, &e.accounts);
        let _ = writeln!(
            s,
            "  curve (top K → accounts): {}",
            e.curve
                .iter()
                .map(|(k, n)| format!("{k}→{n}"))
                .collect::<Vec<_>>()
                .join("  ")
        );
        let _ = writeln!(s, "\nEMPTY PASSWORDS: {}", self.empty.len());
        list(&mut s, &self.empty);
        let _ = writeln!(
            s,
            "\nBREACHED (in Pwned Passwords): {}",
            self.breached.len()
        );
        for b in &self.breached {
            let _ = writeln!(
                s,
                "    {} ({}, via {}; false-positive rate {:.3} %)",
                b.user,
                b.source,
                b.via,
                b.false_positive_rate * 100.0
            );
        }
        let _ = writeln!(
            s,
            "\nGUESSED (common or organisation-specific): {}",
            self.guessed.len()
        );
        for g in &self.guessed {
            let _ = writeln!(
                s,
                "    {} ({}, {}): guess #{}{}{}",
                g.user,
                g.scheme,
                g.source,
                g.rank + 1,
                if g.spray_exposed {
                    ", spray-exposed"
                } else {
                    ""
                },
                g.password
                    .as_deref()
                    .map(|p| format!(", password {p:?}"))
                    .unwrap_or_default()
            );
        }
        let _ = writeln!(s, "\nSHARED PASSWORDS: {} group(s)", self.shared.len());
        for g in &self.shared {
            let _ = writeln!(s, "  {} accounts:", g.accounts.len());
            list(&mut s, &g.accounts);
        }
        if !self.plaintext_stored.is_empty() {
            let _ = writeln!(s, "\nPLAINTEXT STORED: {}", self.plaintext_stored.len());
            list(&mut s, &self.plaintext_stored);
        }
        if !self.lm_hash_stored.is_empty() {
            let _ = writeln!(s, "\nLM HASH STORED: {}", self.lm_hash_stored.len());
            list(&mut s, &self.lm_hash_stored);
        }
        if !self.untestable.is_empty() {
            let _ = writeln!(
                s,
                "\nNOT TESTABLE (scheme unsupported): {}",
                self.untestable.len()
            );
            list(&mut s, &self.untestable);
        }
        let _ = writeln!(
            s,
            "\nCOVERAGE per scheme (accounts tested of all; found; guesses each of the others got):"
        );
        for (name, c) in &self.coverage {
            let detail = if c.not_testable {
                if name == "locked" {
                    "no password to test".to_string()
                } else {
                    "NOT TESTABLE".to_string()
                }
            } else if c.tested == c.found {
                "all found".to_string()
            } else {
                let got = if c.min_guesses == c.max_guesses {
                    c.min_guesses.to_string()
                } else {
                    format!("{}-{}", c.min_guesses, c.max_guesses)
                };
                let partial = if c.min_guesses < c.possible_guesses {
                    " (partial)"
                } else {
                    ""
                };
                format!("{got} of {} guesses each{partial}", c.possible_guesses)
            };
            let _ = writeln!(
                s,
                "    {name:<14} {:>6} of {:<6} tested, {:>6} found; {detail}{}",
                c.tested,
                c.accounts,
                c.found,
                if c.slow { " [slow]" } else { "" }
            );
        }
        let f = &self.effort;
        let _ = writeln!(
            s,
            "\n{} locked accounts skipped. {} candidates; {} slow and {} fast hash computations in {:.1} s{}",
            self.locked,
            f.candidates,
            f.slow_guesses,
            f.fast_guesses,
            f.seconds,
            if f.complete {
                ""
            } else {
                "; time limit reached: run again with the same --state to resume"
            }
        );
        if !self.guessed.iter().any(|g| g.password.is_some()) {
            let _ = writeln!(s, "Passwords are not shown (use --reveal).");
        }
        s
    }
}
