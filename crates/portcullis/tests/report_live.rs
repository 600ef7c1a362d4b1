//! `portcullis report --server` against the real thing: the binary's `serve` on ephemeral
//! loopback ports with first-run credentials, a distributed password spray fed through the
//! native policy API, then the binary's `report` reading the live service (token from the data
//! directory's credentials.toml) and writing the HTML, CSV and STIX files.

mod common;

use common::{basic, bin, post, serve};
use portcullis_server::client::AdminClient;
use serde_json::{Value, json};
use std::time::Duration;

#[test]
fn report_from_the_live_server_names_the_spray_it_saw() {
    let tmp = tempfile::tempdir().unwrap();
    let s = serve(tmp.path());
    let data = tmp.path().join("data");
    let cred: toml::Table =
        toml::from_str(&std::fs::read_to_string(data.join("credentials.toml")).unwrap()).unwrap();
    let auth = basic(
        cred["policy_user"].as_str().unwrap(),
        cred["policy_password"].as_str().unwrap(),
    );
    let token = cred["admin_token"].as_str().unwrap().to_string();

    // Staff signing in as usual, then a distributed spray: 30 addresses from two TEST-NET
    // ranges, each trying two of 60 accounts once.
    let mut items: Vec<Value> = (0..10)
        .map(|u| json!({"account": format!("staff{u}@example.org"), "outcome": "success", "source": format!("192.0.2.{}", 10 + u), "protocol": "imap"}))
        .collect();
    for i in 0..60 {
        let src = if i % 2 == 0 {
            format!("198.51.100.{}", 1 + i / 4)
        } else {
            format!("203.0.113.{}", 1 + i / 4)
        };
        items.push(json!({"account": format!("user{i:02}@example.org"), "outcome": "bad_password", "source": src, "protocol": "imap"}));
    }
    let (status, body) = post(
        &s.policy,
        "/v1/report/batch",
        &auth,
        &json!({ "items": items }).to_string(),
    );
    assert_eq!(status, 200, "{body}");
    assert!(!body.contains("\"error\""), "{body}");

    // The server raised a campaign (bounded wait for the engine and the store).
    let admin = AdminClient::new(&format!("http://{}", s.admin), &token);
    let mut live = Value::Null;
    for _ in 0..100 {
        live = admin.get("/v1/report").unwrap();
        if !live["campaigns"].as_array().unwrap().is_empty() {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let campaigns = live["campaigns"].as_array().unwrap();
    let spray = campaigns
        .iter()
        .find(|c| c["kind"] == "password_spray")
        .unwrap_or_else(|| panic!("no password spray raised: {live}"));
    let id = spray["id"].as_str().unwrap().to_string();

    // An admin blocks one of its sources; the report shows it under actions taken.
    admin
        .post(
            "/v1/blocks",
            &json!({"prefix": "198.51.100.0/24", "actor": "ops-jane", "reason": "spray sources", "expires_in_secs": 86400}),
        )
        .unwrap();

    // `portcullis report --server`, the token read from the data directory.
    let out = tmp.path().join("incident");
    let run = bin()
        .args(["report", "--server", &format!("http://{}", s.admin)])
        .arg("--data-dir")
        .arg(&data)
        .arg("--out")
        .arg(&out)
        .args(["--title", "Live spray"])
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "report --server failed: {}",
        String::from_utf8_lossy(&run.stderr)
    );
    let html = std::fs::read_to_string(out.join("incident-report.html")).unwrap();
    assert!(html.contains("Live spray"), "the title");
    assert!(html.contains(&id), "the HTML names campaign {id}");
    assert!(html.contains("password spray"), "and its kind");
    assert!(html.contains("198.51.100."), "and its sources");
    assert!(
        html.contains("ops-jane") && html.contains("spray sources"),
        "the block is an action taken"
    );
    assert!(
        !html.contains("(estimated)"),
        "the live service has a real time series: attempts over time are not estimated"
    );
    assert!(
        html.contains("70 recognised as login attempts"),
        "what was read: {}",
        {
            let i = html.find("What was read").unwrap_or(0);
            &html[i..(i + 600).min(html.len())]
        }
    );
    assert!(!html.contains(&token), "the token never reaches the report");
    let csv = std::fs::read_to_string(out.join("indicators.csv")).unwrap();
    assert!(
        csv.lines()
            .any(|l| l.contains("198.51.100.") && l.contains(&id)),
        "{csv}"
    );
    let stix: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("indicators.stix.json")).unwrap())
            .unwrap();
    let objects = stix["objects"].as_array().unwrap();
    assert!(objects.iter().any(|o| o["type"] == "campaign"), "{stix}");
    assert!(objects.iter().any(|o| o["type"] == "indicator"));

    // A wrong token is refused with the server's reason, and writes nothing.
    let out2 = tmp.path().join("refused");
    let run = bin()
        .args(["report", "--server", &format!("http://{}", s.admin)])
        .args(["--token", "not-the-admin-token-0123456789"])
        .arg("--out")
        .arg(&out2)
        .output()
        .unwrap();
    assert!(!run.status.success());
    let err = String::from_utf8_lossy(&run.stderr);
    assert!(err.contains("401"), "{err}");
    assert!(!out2.join("incident-report.html").exists());
    // No token anywhere: says where it looked.
    let run = bin()
        .args(["report", "--server", &format!("http://{}", s.admin)])
        .arg("--data-dir")
        .arg(tmp.path().join("nowhere"))
        .arg("--out")
        .arg(&out2)
        .output()
        .unwrap();
    assert!(!run.status.success());
    let err = String::from_utf8_lossy(&run.stderr);
    assert!(
        err.contains("no admin token") && err.contains("credentials.toml"),
        "{err}"
    );
}
