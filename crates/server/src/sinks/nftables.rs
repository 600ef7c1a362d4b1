//! A native nftables sink: the bans of the [`DecisionBook`] (admin blocks, flagged sources;
//! never a step-up's `captcha`) kept in two named sets, `<table>` `blocked4` (`ipv4_addr`) and `blocked6`
//! (`ipv6_addr`), both `flags interval, timeout`, in an `inet` table of portcullis's own. Each
//! element carries its decision's time left as a kernel timeout, so entries expire on time even
//! if portcullis is stopped or dies. The sets are only sets: the admin's ruleset uses them
//! (`ip saddr @blocked4 drop`), or `nftables_drop = true` adds an input chain that does.
//!
//! A thread applies the book's delta every [`INTERVAL`] through `nft -f -` (one batch for the
//! additions, one for the deletions; a batch the kernel refuses is retried element by element,
//! so one bad element never keeps the others out). Off unless `nftables_table` is set; needs
//! CAP_NET_ADMIN. Fails open: if `nft` fails, logins are still answered and the failures are
//! counted.

use crate::clock::now;
use crate::sinks::decisions::{Decision, DecisionBook, Filter};
use std::io::Write;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

/// How often the sets are brought up to date.
pub const INTERVAL: Duration = Duration::from_secs(1);
/// The name the sink's stream state has in the decision book.
const STREAM: &str = "portcullis-nftables";
/// The decisions the sets hold: bans only (a step-up's `captcha` is for bouncers that can
/// show one, never a drop).
const BANS: Filter = Filter {
    scopes: Vec::new(),
    origins: Vec::new(),
    scenarios_containing: Vec::new(),
    scenarios_not_containing: Vec::new(),
    bans_only: true,
};

/// Counters of the sink, for `/metrics`.
#[derive(Debug, Default)]
pub struct NftStats {
    pub added: AtomicU64,
    pub deleted: AtomicU64,
    pub errors: AtomicU64,
}

/// The running sink; stops when dropped.
pub struct NftSink {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
    pub stats: Arc<NftStats>,
}

impl Drop for NftSink {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            t.thread().unpark();
            let _ = t.join();
        }
    }
}

fn nft(script: &str) -> Result<(), String> {
    let mut child = Command::new("nft")
        .args(["-f", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run nft: {e}"))?;
    child
        .stdin
        .take()
        .expect("stdin is piped")
        .write_all(script.as_bytes())
        .map_err(|e| format!("nft: {e}"))?;
    let out = child.wait_with_output().map_err(|e| format!("nft: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).trim().to_string())
    }
}

/// The set a decision's element goes in.
fn set_of(d: &Decision) -> &'static str {
    if d.prefix.addr().is_ipv4() {
        "blocked4"
    } else {
        "blocked6"
    }
}

/// The element as nft writes it: an address, or a network in CIDR form.
fn element(d: &Decision) -> String {
    if d.prefix.is_host() {
        d.prefix.addr().to_string()
    } else {
        d.prefix.to_string()
    }
}

/// The table and its sets (idempotent: `add` leaves what exists), and the optional chain.
fn setup_script(table: &str, drop: bool) -> String {
    let mut s = format!(
        "add table inet {table}\n\
         add set inet {table} blocked4 {{ type ipv4_addr; flags interval, timeout; }}\n\
         add set inet {table} blocked6 {{ type ipv6_addr; flags interval, timeout; }}\n"
    );
    if drop {
        s.push_str(&format!(
            "add chain inet {table} input {{ type filter hook input priority filter - 1; policy accept; }}\n\
             flush chain inet {table} input\n\
             add rule inet {table} input ip saddr @blocked4 drop\n\
             add rule inet {table} input ip6 saddr @blocked6 drop\n"
        ));
    }
    s
}

impl NftSink {
    /// Creates the table and sets (an error here names the cause, e.g. no CAP_NET_ADMIN) and
    /// starts keeping them in step with `handle`'s decisions.
    pub fn start(table: &str, drop: bool, book: Arc<DecisionBook>) -> anyhow::Result<NftSink> {
        let ok = !table.is_empty()
            && table.len() <= 64
            && table
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        if !ok {
            anyhow::bail!("[server] nftables_table: {table:?} is not a table name");
        }
        nft(&setup_script(table, drop))
            .map_err(|e| anyhow::anyhow!("[server] nftables_table: cannot create {table}: {e}"))?;
        let stop = Arc::new(AtomicBool::new(false));
        let stats = Arc::new(NftStats::default());
        let (t, flag, st) = (table.to_string(), stop.clone(), stats.clone());
        let thread = std::thread::Builder::new()
            .name("portcullis-nftables".into())
            .spawn(move || {
                let mut startup = true;
                while !flag.load(Ordering::Relaxed) {
                    if let Some((new, deleted)) = book.delta(STREAM, startup, false, now(), &BANS) {
                        apply(&t, &new, &deleted, &st, now());
                        startup = false;
                    }
                    std::thread::park_timeout(INTERVAL);
                }
            })?;
        tracing::info!(table, drop, "nftables sets kept in step with the decisions");
        Ok(NftSink {
            stop,
            thread: Some(thread),
            stats,
        })
    }
}

/// Deletes, then adds, each as one batch or element by element if the batch is refused.
fn apply(
    table: &str,
    new: &[Decision],
    deleted: &[Decision],
    st: &NftStats,
    t: portcullis_core::Timestamp,
) {
    let del = |d: &Decision| {
        format!(
            "delete element inet {table} {} {{ {} }}\n",
            set_of(d),
            element(d)
        )
    };
    let add = |d: &Decision| {
        format!(
            "add element inet {table} {} {{ {} timeout {}s }}\n",
            set_of(d),
            element(d),
            d.until.secs_since(t).max(1)
        )
    };
    for (items, line, counter, ignore_missing) in [
        (
            deleted,
            &del as &dyn Fn(&Decision) -> String,
            &st.deleted,
            true,
        ),
        (new, &add as &dyn Fn(&Decision) -> String, &st.added, false),
    ] {
        if items.is_empty() {
            continue;
        }
        let batch: String = items.iter().map(line).collect();
        if nft(&batch).is_ok() {
            counter.fetch_add(items.len() as u64, Ordering::Relaxed);
            continue;
        }
        for d in items {
            match nft(&line(d)) {
                Ok(()) => {
                    counter.fetch_add(1, Ordering::Relaxed);
                }
                // An element the kernel already let expire: gone, as wanted.
                Err(_) if ignore_missing => {}
                Err(e) => {
                    st.errors.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(element = %element(d), error = %e, "nftables: element refused");
                }
            }
        }
    }
}
