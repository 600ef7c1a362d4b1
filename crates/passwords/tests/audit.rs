//! The audit on hashes written by real tools: mkpasswd (whois), openssl passwd, doveadm pw
//! (dovecot-core) and htpasswd (apache2-utils), plus an NTLM dump in secretsdump format made
//! with `mkpasswd -m nt`. `tests/fixtures/make.sh` regenerates the files; `expected.tsv` is the
//! ground truth (test passwords of a fictional organisation).

use portcullis_passwords::audit::input::{AccountHash, read_accounts_file};
use portcullis_passwords::audit::{AuditOptions, AuditReport, audit};
use portcullis_passwords::common::Candidates;
use portcullis_passwords::{BreachFilter, BuildOptions, NoProgress, build_filter};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");
const FILES: &[&str] = &["shadow", "dovecot-users", "htpasswd", "ntds.txt"];
const YEARS: &[i32] = &[2026, 2025, 2027, 2024, 2023];

/// (file, account) → password, from expected.tsv.
fn expected() -> BTreeMap<(String, String), String> {
    let text = std::fs::read_to_string(Path::new(FIXTURES).join("expected.tsv")).unwrap();
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            ((f[0].to_string(), f[1].to_string()), f[2].to_string())
        })
        .collect()
}

fn load() -> (
    Vec<AccountHash>,
    Vec<portcullis_passwords::audit::input::InputStats>,
) {
    let mut accounts = Vec::new();
    let mut stats = Vec::new();
    for f in FILES {
        let (a, s) = read_accounts_file(&Path::new(FIXTURES).join(f)).unwrap();
        accounts.extend(a);
        stats.push(s);
    }
    (accounts, stats)
}

fn filters(dir: &Path) -> Vec<BreachFilter> {
    ["hibp-ntlm.txt", "hibp-sha1.txt"]
        .iter()
        .map(|f| {
            let out = dir.join(format!("{f}.pcf"));
            build_filter(
                &Path::new(FIXTURES).join(f),
                &out,
                &BuildOptions::default(),
                &NoProgress,
            )
            .unwrap();
            BreachFilter::open(&out).unwrap()
        })
        .collect()
}

fn options(state: Option<PathBuf>) -> AuditOptions {
    AuditOptions {
        org_words: vec!["Contoso".into()],
        years: YEARS.to_vec(),
        max_guesses: 1000,
        reveal: true,
        state_path: state,
        ..AuditOptions::default()
    }
}

/// file name of a source `path:line`.
fn file_of(source: &str) -> String {
    let path = source.rsplit_once(':').unwrap().0;
    Path::new(path)
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned()
}

fn bare(user: &str) -> String {
    user.rsplit('\\').next().unwrap().to_string()
}

fn users(v: &[portcullis_passwords::audit::AccountRef]) -> BTreeSet<String> {
    v.iter()
        .map(|a| format!("{}:{}", file_of(&a.source), bare(&a.user)))
        .collect()
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| s.to_string()).collect()
}

fn run_full() -> (AuditReport, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let (accounts, stats) = load();
    let f = filters(dir.path());
    let report = audit(&accounts, stats, &f, &options(None), &NoProgress);
    (report, dir)
}

#[test]
fn audit_finds_what_the_tools_wrote() {
    let (r, _dir) = run_full();
    eprintln!("effort: {:?}", r.effort);
    let truth = expected();
    // Inputs: the truncated {SHA512-CRYPT} and the junk line are rejected, not fatal.
    let rejected: u64 = r.inputs.iter().map(|i| i.rejected).sum();
    assert_eq!(rejected, 2, "{:?}", r.inputs);
    // expected.tsv lists every account but root and daemon (locked); xena's hash is rejected.
    assert_eq!(r.accounts, truth.len() + 2 - 1);
    assert_eq!(r.locked, 3); // root, daemon, grace
    // yescrypt, MD5-crypt and Apache's apr1 are tested like every other scheme.
    assert_eq!(users(&r.untestable), set(&[]));
    assert_eq!(
        users(&r.empty),
        set(&[
            "shadow:erin",
            "dovecot-users:victor@contoso.com",
            "ntds.txt:Guest"
        ])
    );
    assert_eq!(users(&r.lm_hash_stored), set(&["ntds.txt:carol"]));
    assert_eq!(
        users(&r.plaintext_stored),
        set(&["dovecot-users:rupert@contoso.com"])
    );

    // Every guessed password is the true one, for every scheme.
    let mut guessed = BTreeSet::new();
    for g in &r.guessed {
        let key = (file_of(&g.source), bare(&g.user));
        assert_eq!(
            g.password.as_deref(),
            truth.get(&key).map(String::as_str),
            "{key:?}"
        );
        guessed.insert(format!("{}:{}", key.0, key.1));
    }
    let want = set(&[
        "shadow:alice",
        "shadow:bob",
        "shadow:carol",
        "shadow:dave",
        "shadow:heidi",
        "shadow:ivan",
        "shadow:judy",
        "dovecot-users:kim@contoso.com",
        "dovecot-users:leo@contoso.com",
        "dovecot-users:mallory@contoso.com",
        "dovecot-users:niaj@contoso.com",
        "dovecot-users:olivia@contoso.com",
        "dovecot-users:peggy@contoso.com",
        "dovecot-users:rupert@contoso.com",
        "dovecot-users:sybil@contoso.com",
        "dovecot-users:walter@contoso.com",
        "htpasswd:hta",
        "htpasswd:htb",
        "htpasswd:htc",
        "htpasswd:htd",
        "ntds.txt:administrator",
        "ntds.txt:alice",
        "ntds.txt:bob",
        "ntds.txt:carol",
        "ntds.txt:erin",
    ]);
    assert_eq!(guessed, want);
    assert!(r.effort.complete);
    assert!(r.by_scheme.contains_key("argon2id"));
    assert!(r.by_scheme.contains_key("bcrypt"));
    assert!(r.by_scheme.contains_key("ssha512"));
    for scheme in ["yescrypt", "md5-crypt", "apr1-md5"] {
        let c = &r.coverage[scheme];
        assert_eq!((c.accounts, c.tested, c.found), (1, 1, 1), "{scheme}");
    }
    // Coverage: frank's SHA-512-crypt (a strong password) got every guess there was.
    let c = &r.coverage["sha512-crypt"];
    assert!(
        c.tested > c.found && c.min_guesses == c.possible_guesses,
        "{c:?}"
    );
    assert!(!r.coverage["locked"].slow && r.coverage["locked"].not_testable);

    // Breached: dave's NT hash is only in the breach list (not a candidate).
    let breached: BTreeMap<String, String> = r
        .breached
        .iter()
        .map(|b| {
            (
                format!("{}:{}", file_of(&b.source), bare(&b.user)),
                b.via.clone(),
            )
        })
        .collect();
    assert_eq!(
        breached.get("ntds.txt:dave").map(String::as_str),
        Some("nt_hash")
    );
    assert_eq!(
        breached.get("ntds.txt:alice").map(String::as_str),
        Some("nt_hash")
    );
    assert_eq!(
        breached.get("htpasswd:htb").map(String::as_str),
        Some("sha1_hash")
    );
    assert_eq!(
        breached
            .get("dovecot-users:rupert@contoso.com")
            .map(String::as_str),
        Some("known_password")
    );
    assert_eq!(
        breached
            .get("dovecot-users:niaj@contoso.com")
            .map(String::as_str),
        Some("known_password")
    );
    assert!(!breached.contains_key("ntds.txt:frank"));
    assert!(!breached.contains_key("shadow:frank"));

    // Shared: the same password across accounts and systems.
    let groups: Vec<BTreeSet<String>> = r.shared.iter().map(|g| users(&g.accounts)).collect();
    assert!(
        groups.contains(&set(&[
            "shadow:alice",
            "htpasswd:htd",
            "ntds.txt:alice",
            "ntds.txt:bob"
        ])),
        "{groups:?}"
    );
    assert!(
        groups.contains(&set(&[
            "shadow:carol",
            "shadow:judy",
            "dovecot-users:walter@contoso.com"
        ])),
        "{groups:?}"
    );
    assert!(groups.contains(&set(&["shadow:ivan", "dovecot-users:kim@contoso.com"])));

    // Spray exposure: exactly the accounts whose password is within the top K of the list.
    let cands = Candidates::new(&["Contoso".into()], YEARS);
    let rank = |p: &str| cands.as_slice().iter().position(|c| c == p);
    let k = r.spray_exposure.top_k;
    let want: BTreeSet<String> = truth
        .iter()
        .filter(|((file, user), pw)| {
            guessed.contains(&format!("{file}:{user}")) && rank(pw).is_some_and(|x| x < k)
        })
        .map(|((file, user), _)| format!("{file}:{user}"))
        .collect();
    assert!(want.contains("dovecot-users:niaj@contoso.com")); // 123456
    assert!(want.contains("ntds.txt:alice")); // Summer2025!
    assert_eq!(users(&r.spray_exposure.accounts), want);
    assert_eq!(r.spray_exposure.complete_to_rank, cands.len());
    let (_, at_all) = *r.spray_exposure.curve.last().unwrap();
    assert_eq!(
        at_all,
        r.guessed.iter().filter(|g| g.rank < cands.len()).count()
    );
}

#[test]
fn no_password_in_output_without_reveal() {
    let dir = tempfile::tempdir().unwrap();
    let (accounts, stats) = load();
    let f = filters(dir.path());
    let opts = AuditOptions {
        reveal: false,
        max_guesses: 200,
        ..options(None)
    };
    let r = audit(&accounts, stats, &f, &opts, &NoProgress);
    assert!(r.guessed.len() > 10);
    assert!(r.guessed.iter().all(|g| g.password.is_none()));
    let text = r.render_text();
    let json = serde_json::to_string(&r).unwrap();
    for pw in [
        "Summer2025!",
        "Contoso2025",
        "Welcome1",
        "qwerty123",
        "Password1!",
        "hunter2",
        "Winter2024!",
        "Winter2026",
        "iloveyou",
        "baseball",
        "dragon",
    ] {
        assert!(!text.contains(pw), "text report leaks {pw}");
        assert!(!json.contains(pw), "JSON report leaks {pw}");
    }
    assert!(text.contains("SPRAY EXPOSURE"));
}

#[test]
fn resumes_from_state_and_respects_time_limit() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("audit.state");
    let (accounts, _) = load();
    let options = |state| AuditOptions {
        max_guesses: 60,
        ..options(state)
    };
    // Slow schemes only, to keep this quick: a zero time limit does the fast work and stops.
    let opts = AuditOptions {
        time_limit: Some(std::time::Duration::ZERO),
        ..options(Some(state.clone()))
    };
    let r0 = audit(&accounts, Vec::new(), &[], &opts, &NoProgress);
    assert!(!r0.effort.complete);
    assert!(r0.guessed.iter().all(|g| !matches!(
        g.scheme.as_str(),
        "sha512-crypt"
            | "sha256-crypt"
            | "bcrypt"
            | "argon2id"
            | "yescrypt"
            | "md5-crypt"
            | "apr1-md5"
    )));
    // ... and the coverage says so: the slow accounts were not tested.
    assert_eq!(r0.coverage["yescrypt"].tested, 0);
    assert!(r0.spray_exposure.complete_to_rank == 0);
    // Full run with the state file, then a second run that resumes at the end: no new work,
    // same findings.
    let r1 = audit(
        &accounts,
        Vec::new(),
        &[],
        &options(Some(state.clone())),
        &NoProgress,
    );
    assert!(r1.effort.complete);
    assert_eq!(r1.effort.resumed_from_rank, 0);
    let text = std::fs::read_to_string(&state).unwrap();
    for pw in ["Summer2025!", "Contoso2025", "Welcome1"] {
        assert!(!text.contains(pw), "state file leaks {pw}");
    }
    let r2 = audit(
        &accounts,
        Vec::new(),
        &[],
        &options(Some(state.clone())),
        &NoProgress,
    );
    assert!(r2.effort.resumed_from_rank > 0);
    assert_eq!(r2.effort.slow_guesses, r1.effort.slow_guesses);
    assert_eq!(r2.guessed, r1.guessed);
    assert_eq!(r2.empty, r1.empty);
    // A different candidate list does not reuse the state.
    let other = AuditOptions {
        org_words: vec!["Fabrikam".into()],
        time_limit: Some(std::time::Duration::ZERO),
        ..options(Some(state))
    };
    let r3 = audit(&accounts, Vec::new(), &[], &other, &NoProgress);
    assert_eq!(r3.effort.resumed_from_rank, 0);
}
