//! Runs a simulation without building the whole CLI, for measurements:
//! `cargo run --release -p portcullis-sim --example quick -- SCENARIO ACCOUNTS DAYS DIR|- [jsonl]`
//! (`-` generates into a sink: labels and peak sizes only, nothing written).

use std::io::Write;

fn main() {
    let a: Vec<String> = std::env::args().collect();
    if a.len() < 5 {
        eprintln!("usage: quick SCENARIO ACCOUNTS DAYS DIR|- [jsonl]");
        std::process::exit(2);
    }
    let sc: portcullis_sim::Scenario = a[1].parse().expect("scenario");
    let mut cfg = portcullis_sim::SimConfig::new(sc);
    cfg.accounts = a[2].parse().expect("accounts");
    cfg.days = a[3].parse().expect("days");
    if a.get(5).map(|s| s.as_str()) == Some("jsonl") {
        cfg.format = portcullis_sim::Format::Jsonl;
    }
    let (labels, stats) = if a[4] == "-" {
        portcullis_sim::Generator::new(cfg, Box::new(std::io::sink()))
            .expect("settings")
            .run()
            .expect("simulate")
    } else {
        portcullis_sim::simulate(&cfg, std::path::Path::new(&a[4])).expect("simulate")
    };
    let mut err = std::io::stderr();
    let _ = writeln!(err, "{:?}\n{:?}", labels.counts, stats);
    let _ = writeln!(
        err,
        "benign sources {}, attack sources {}",
        labels.benign.sources.len(),
        labels.attack.as_ref().map_or(0, |x| x.sources.len())
    );
}
