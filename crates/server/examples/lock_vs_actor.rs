//! Measures the two ways of sharing the engine between request handlers: a `parking_lot`
//! mutex taken per request, and an actor thread fed through a bounded channel with a oneshot
//! reply. Run: `cargo run --release -p portcullis-server --example lock_vs_actor`.
//! Results are in docs/bench/server.md.

use parking_lot::Mutex;
use portcullis_core::{Account, Protocol, Timestamp};
use portcullis_engine::{Attempt, Engine, EngineConfig, Verdict};
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::Instant;

const TASKS: usize = 64;
const PER_TASK: usize = 20_000;

fn attempt_parts(i: usize) -> (Account, IpAddr) {
    (
        Account::from_raw(&format!("user{}", i % 10_000)),
        IpAddr::V4(Ipv4Addr::from(0xC612_0000u32 + (i as u32 % 131_072))),
    )
}

fn check(e: &mut Engine, i: usize) -> Verdict {
    let (account, source) = attempt_parts(i);
    e.check(&Attempt {
        ts: Timestamp::from_unix_secs(1_700_000_000 + i as i64 / 1000),
        protocol: Protocol::Imap,
        account: &account,
        source: Some(source),
        password_fingerprint: Some(i as u64 & 0xfff),
    })
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();

    // Mutex.
    let engine = Arc::new(Mutex::new(Engine::new(EngineConfig::default())));
    let t = Instant::now();
    rt.block_on(async {
        let mut hs = Vec::new();
        for k in 0..TASKS {
            let e = engine.clone();
            hs.push(tokio::spawn(async move {
                for j in 0..PER_TASK {
                    let v = check(&mut e.lock(), k * PER_TASK + j);
                    std::hint::black_box(v);
                    if j % 64 == 0 {
                        tokio::task::yield_now().await;
                    }
                }
            }));
        }
        for h in hs {
            h.await.unwrap();
        }
    });
    let n = (TASKS * PER_TASK) as f64;
    let mutex_rate = n / t.elapsed().as_secs_f64();

    // Actor.
    let (tx, mut rx) =
        tokio::sync::mpsc::channel::<(usize, tokio::sync::oneshot::Sender<Verdict>)>(1024);
    let actor = std::thread::spawn(move || {
        let mut e = Engine::new(EngineConfig::default());
        while let Some((i, reply)) = rx.blocking_recv() {
            let _ = reply.send(check(&mut e, i));
        }
    });
    let t = Instant::now();
    rt.block_on(async {
        let mut hs = Vec::new();
        for k in 0..TASKS {
            let tx = tx.clone();
            hs.push(tokio::spawn(async move {
                for j in 0..PER_TASK {
                    let (rtx, rrx) = tokio::sync::oneshot::channel();
                    tx.send((k * PER_TASK + j, rtx)).await.unwrap();
                    std::hint::black_box(rrx.await.unwrap());
                }
            }));
        }
        for h in hs {
            h.await.unwrap();
        }
    });
    let actor_rate = n / t.elapsed().as_secs_f64();
    drop(tx);
    actor.join().unwrap();
    println!(
        "engine.check via parking_lot::Mutex: {:>10.0} /s",
        mutex_rate
    );
    println!(
        "engine.check via actor + channel:    {:>10.0} /s",
        actor_rate
    );
}
