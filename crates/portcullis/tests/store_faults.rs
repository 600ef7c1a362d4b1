//! Store faults through the real binary, each in a mount namespace of its own with a small
//! tmpfs as the data directory (root only: skipped, and says so, otherwise): a full disk
//! turns `/readyz` to 503 with the reason and back to 200 once space is freed; a read-only
//! data directory stops `serve` at start with the path and the cause.

mod common;

use common::{bin, post, request};
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const TOKEN: &str = "store-faults-admin-token-0123";

/// Whether this process may make mount namespaces (root with CAP_SYS_ADMIN).
fn can_mount() -> bool {
    Command::new("unshare")
        .args(["-m", "--propagation", "private", "true"])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn config(dir: &Path) -> std::path::PathBuf {
    let data = dir.join("data");
    std::fs::create_dir_all(&data).unwrap();
    let cfg = dir.join("portcullis.toml");
    std::fs::write(
        &cfg,
        format!(
            "[server]\npolicy_listen = \"127.0.0.1:0\"\nadmin_listen = \"127.0.0.1:0\"\n\
             data_dir = {:?}\npolicy_password = \"pw\"\nadmin_token = \"{TOKEN}\"\n",
            data.display().to_string()
        ),
    )
    .unwrap();
    cfg
}

/// `portcullis serve` in a new mount namespace where `data` is a tmpfs of `size` (`opts`
/// added to the mount options).
fn serve_on_tmpfs(dir: &Path, size: &str, opts: &str) -> Child {
    let cfg = config(dir);
    let exe = bin().get_program().to_owned();
    Command::new("unshare")
        .args(["-m", "--propagation", "private", "sh", "-c"])
        .arg(r#"mount -t tmpfs -o "size=$1$2" tmpfs "$3" && exec "$4" serve --config "$5""#)
        .arg("sh")
        .arg(size)
        .arg(opts)
        .arg(dir.join("data"))
        .arg(exe)
        .arg(cfg)
        .env("NO_COLOR", "1")
        .env_remove("PORTCULLIS_ADMIN_TOKEN")
        .env_remove("PORTCULLIS_POLICY_PASSWORD")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// The admin listener's address, from the log (the stderr lines are collected into `log`).
fn admin_addr(child: &mut Child) -> (String, std::sync::mpsc::Receiver<String>) {
    let (tx, rx) = std::sync::mpsc::channel();
    let stderr = child.stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut log = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let line = rx
            .recv_timeout(left)
            .unwrap_or_else(|_| panic!("no admin listener:\n{}", log.join("\n")));
        if line.contains("admin listener up")
            && let Some(a) = line.split("addr=").nth(1)
        {
            return (a.split_whitespace().next().unwrap().to_string(), rx);
        }
        log.push(line);
    }
}

#[test]
fn a_full_disk_turns_readyz_503_with_the_reason_and_back() {
    if !can_mount() {
        eprintln!("skipped: needs root to make a mount namespace");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let mut child = serve_on_tmpfs(tmp.path(), "4m", "");
    let (admin, _log) = admin_addr(&mut child);
    let bearer = format!("Bearer {TOKEN}");
    let ready = || request(&admin, "GET", "/readyz", &[], "");
    assert_eq!(ready().0, 200);
    // Fill the server's tmpfs through its own view of the file system.
    let data = tmp
        .path()
        .join("data")
        .strip_prefix("/")
        .unwrap()
        .to_owned();
    let filler = Path::new(&format!("/proc/{}/root", child.id()))
        .join(data)
        .join("filler");
    let mut f = std::fs::File::create(&filler).unwrap();
    let chunk = vec![7u8; 64 * 1024];
    let mut full = false;
    for _ in 0..1000 {
        if f.write_all(&chunk).and_then(|_| f.sync_all()).is_err() {
            full = true;
            break;
        }
    }
    assert!(full, "the tmpfs filled up");
    // Admin actions are committed before they are acknowledged: one of them fails.
    let mut failed = None;
    for i in 0..200 {
        let body = format!(
            r#"{{"prefix":"198.51.{}.{}","actor":"ops","reason":"disk full test"}}"#,
            i / 200,
            i % 200 + 1
        );
        let (st, b) = post(&admin, "/v1/blocks", &bearer, &body);
        if st != 200 {
            failed = Some((st, b));
            break;
        }
    }
    let (st, b) = failed.expect("a commit fails on a full disk");
    assert_eq!(st, 500, "{b}");
    let (st, _, why) = ready();
    assert_eq!(st, 503, "{why}");
    assert!(why.contains("cannot commit"), "{why}");
    assert!(why.contains("full"), "{why}");
    let (_, _, metrics) = request(&admin, "GET", "/metrics", &[], "");
    let errors = metrics
        .lines()
        .find_map(|l| l.strip_prefix("portcullis_store_errors_total "))
        .unwrap();
    assert_ne!(errors.trim(), "0", "{metrics}");
    // Space again: the next commit succeeds and the server is ready again.
    drop(f);
    std::fs::remove_file(&filler).unwrap();
    let (st, b) = post(
        &admin,
        "/v1/blocks",
        &bearer,
        r#"{"prefix":"203.0.113.7","actor":"ops","reason":"space again"}"#,
    );
    assert_eq!(st, 200, "{b}");
    assert_eq!(ready().0, 200);
    let _ = child.kill();
    let _ = child.wait();
}

#[test]
fn a_read_only_data_directory_stops_serve_naming_the_path_and_the_cause() {
    if !can_mount() {
        eprintln!("skipped: needs root to make a mount namespace");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let child = serve_on_tmpfs(tmp.path(), "1m", ",ro");
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    let db = tmp.path().join("data").join("portcullis.db");
    assert!(err.contains(&db.display().to_string()), "{err}");
    assert!(err.contains("Read-only file system"), "{err}");
}
