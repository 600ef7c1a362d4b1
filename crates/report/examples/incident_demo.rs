//! Writes the synthetic Parliament-2017-like incident (report, CSV, STIX) into a directory, for
//! the documentation's screenshots: `cargo run -p portcullis-report --example incident_demo -- DIR`.
//! Also writes the report JSON (with the proposed `timeline` field) as `report.json`.

fn main() -> std::io::Result<()> {
    let dir = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "incident-demo".into());
    let dir = std::path::Path::new(&dir);
    let (report, timeline) = portcullis_report::sample::parliament_like();
    let opts = portcullis_report::incident::Options {
        title: Some("Example Ltd: overnight password spray, June 2017".into()),
        actions: portcullis_report::sample::parliament_like_actions(),
        timeline,
        ..Default::default()
    };
    let producer = portcullis_report::stix::Producer {
        organisation: Some("Example Ltd".into()),
    };
    let w = portcullis_report::write_incident_bundle(dir, &report, &opts, &producer)?;
    let json = serde_json::to_string_pretty(&portcullis_report::sample::parliament_like_json())
        .map_err(std::io::Error::other)?;
    std::fs::write(dir.join("report.json"), json)?;
    println!("{}", w.html.display());
    Ok(())
}
