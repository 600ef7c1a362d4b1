//! Runs a simulation without building the whole CLI: `cargo run -p portcullis-sim --example
//! quick -- SCENARIO ACCOUNTS DAYS DIR [jsonl]`.

fn main() {
    let a: Vec<String> = std::env::args().collect();
    let sc: portcullis_sim::Scenario = a[1].parse().expect("scenario");
    let mut cfg = portcullis_sim::SimConfig::new(sc);
    cfg.accounts = a[2].parse().expect("accounts");
    cfg.days = a[3].parse().expect("days");
    if a.get(5).map(|s| s.as_str()) == Some("jsonl") {
        cfg.format = portcullis_sim::Format::Jsonl;
    }
    let (labels, stats) =
        portcullis_sim::simulate(&cfg, std::path::Path::new(&a[4])).expect("simulate");
    eprintln!("{:?}\n{:?}", labels.counts, stats);
}
