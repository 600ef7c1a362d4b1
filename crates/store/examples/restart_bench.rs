//! Restart time from a large journal (docs/bench/server.md, "Restart"): writes N synthetic
//! engine inputs (default 10 M: logins of 200,000 accounts from 100,000 addresses, a quarter of
//! them failures, with a before-auth check for every other one) through the journal as `serve`
//! does, then measures (1) a replay of the whole journal into a fresh engine, (2) a snapshot of
//! the final state (size, time), (3) a restart as `serve` does it: the newest snapshot loaded
//! and the journal after it replayed, with the snapshot taken `TAIL` records (default 2 M,
//! `snapshot_every_records`) before the end. Prints the journal's and snapshots' disk use.
//!
//! `cargo run --release -p portcullis-store --example restart_bench [N] [TAIL]`

use portcullis_core::{Account, AuthEvent, Outcome, Protocol, Timestamp};
use portcullis_engine::{Engine, EngineConfig, SNAPSHOT_VERSION};
use portcullis_store::journal::{self, EventRecord, Journal, JournalOptions, Record};
use std::time::Instant;

fn main() {
    let args: Vec<u64> = std::env::args()
        .skip(1)
        .map(|a| a.parse().expect("a number"))
        .collect();
    let n = args.first().copied().unwrap_or(10_000_000);
    let tail = args.get(1).copied().unwrap_or(2_000_000).min(n);
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("journal");
    let t0 = Timestamp::from_unix_secs(1_700_000_000);
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    let mut rand = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let mut live = Engine::new(EngineConfig::default());
    let j = Journal::open(&dir, 0, JournalOptions::default()).unwrap();
    let started = Instant::now();
    let mut records = 0u64;
    let mut snap_at = None;
    let mut early: Option<Vec<u8>> = None;
    let mut i = 0u64;
    while records < n {
        let r = rand();
        let ts = t0.plus_secs((i / 100) as i64);
        if i % 2 == 1 {
            j.append(&Record::Check(ts.unix_micros()));
            live.check(&portcullis_engine::Attempt {
                ts,
                protocol: Protocol::Imap,
                account: &Account::default(),
                source: None,
                password_fingerprint: None,
            });
        } else {
            let account = Account::from_raw(&format!("user{}@example.org", r % 200_000));
            let ip = std::net::Ipv4Addr::from(0xc612_0000u32 + ((r >> 20) % 100_000) as u32);
            let outcome = if (r >> 40) % 4 == 0 {
                Outcome::BadPassword
            } else {
                Outcome::Success
            };
            let mut ev = AuthEvent::new(ts, Protocol::Imap, account, Some(ip.into()), outcome);
            ev.password_fingerprint = Some(r >> 52);
            j.append(&Record::Observe(EventRecord::of(&ev)));
            live.observe(&ev);
        }
        live.take_findings();
        records += 1;
        i += 1;
        if records == n - tail {
            // Kept in memory until the full replay is measured: writing it compacts the
            // journal before it.
            early = Some(postcard::to_allocvec(&live).unwrap());
            snap_at = Some(records);
        }
    }
    j.close().unwrap();
    let write_s = started.elapsed().as_secs_f64();
    let journal_bytes = journal::disk_bytes(&dir);
    println!(
        "journalled {n} records (engine applied too) in {write_s:.1} s; journal {:.0} MB ({:.1} bytes a record)",
        journal_bytes as f64 / 1e6,
        journal_bytes as f64 / n as f64
    );

    let t = Instant::now();
    let mut e = Engine::new(EngineConfig::default());
    let end = journal::replay(&dir, 0, |_, rec| {
        journal::apply(&mut e, &rec)?;
        e.take_findings();
        Ok(())
    })
    .unwrap();
    println!(
        "full replay of {end} records, no snapshot: {:.2} s",
        t.elapsed().as_secs_f64()
    );
    assert_eq!(
        serde_json::to_string(&e.report(Default::default())).unwrap(),
        serde_json::to_string(&live.report(Default::default())).unwrap()
    );

    let t = Instant::now();
    let bytes = postcard::to_allocvec(&live).unwrap();
    let ser = t.elapsed().as_secs_f64();
    println!(
        "snapshot of the final state: {:.0} MB, serialised in {:.2} s ({:?})",
        bytes.len() as f64 / 1e6,
        ser,
        live.stats()
    );

    // The restart `serve` does: newest snapshot, then the journal after it.
    if let (Some(at), Some(bytes)) = (snap_at, &early) {
        journal::write_snapshot(&dir, SNAPSHOT_VERSION, at, bytes).unwrap();
    }
    let t = Instant::now();
    let snaps = journal::snapshots(&dir).unwrap();
    let snap = snaps[0].1.as_ref().unwrap();
    let mut e: Engine = postcard::from_bytes(&snap.bytes).unwrap();
    let loaded = t.elapsed().as_secs_f64();
    let mut replayed = 0u64;
    journal::replay(&dir, snap.seq, |_, rec| {
        replayed += 1;
        journal::apply(&mut e, &rec)?;
        e.take_findings();
        Ok(())
    })
    .unwrap();
    println!(
        "restart: snapshot at record {:?} loaded in {loaded:.2} s, {replayed} records replayed, total {:.2} s",
        snap_at,
        t.elapsed().as_secs_f64()
    );
    assert_eq!(
        serde_json::to_string(&e.report(Default::default())).unwrap(),
        serde_json::to_string(&live.report(Default::default())).unwrap()
    );
    // Disk after the compaction a second snapshot at the end would do.
    journal::write_snapshot(&dir, SNAPSHOT_VERSION, n, &bytes).unwrap();
    println!(
        "disk after a snapshot at the end (two snapshots + the journal since the older): {:.0} MB",
        journal::disk_bytes(&dir) as f64 / 1e6
    );
}
