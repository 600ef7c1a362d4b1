//! The step-up verdict through the real binary: `portcullis serve` with `[engine] step_up =
//! true` answers a new address on an account at risk with `step_up` on the native API, with a
//! refusal carrying `step_up_message` (and the `step_up` return attribute) on the Dovecot/wforce
//! `allow`, and gives CrowdSec bouncers a `captcha` decision on that address (never a ban); the
//! user's familiar address is allowed. With the setting absent (the default), the same attempt
//! is tarpitted as before and bouncers get no captcha. A `step_up_status` other than -1 or -2
//! stops `serve`, naming the key.

mod common;

use common::{bin, credentials, post, request, serve_with};
use serde_json::{Value, json};

const ALICE: &str = "alice@example.org";
const HOME: &str = "81.2.3.4";
const HOTEL: &str = "198.51.100.44";
const STEP_UPS: &str = "portcullis_verdicts_total{action=\"step_up\"}";
const MESSAGE: &str = "Second factor required: sign in at https://sso.example.org first";

/// Alice logs in from home, then twelve addresses each try a different wrong password on her
/// account: at risk (`account_guess_failures` = 10), not locked (30).
fn put_alice_at_risk(policy: &str, auth: &str) {
    let mut items = vec![
        json!({"account": ALICE, "outcome": "success", "source": HOME,
        "protocol": "imap", "password_fingerprint": "a1"}),
    ];
    items.extend((0..12).map(|i| {
        json!({"account": ALICE, "outcome": "bad_password", "source": format!("77.1.{i}.5"),
            "protocol": "imap", "password_fingerprint": format!("{:x}", 0x100 + i)})
    }));
    let (status, body) = post(
        policy,
        "/v1/report/batch",
        auth,
        &json!({ "items": items }).to_string(),
    );
    assert_eq!(status, 200, "{body}");
}

fn check(policy: &str, auth: &str, source: &str) -> Value {
    let (status, body) = post(
        policy,
        "/v1/check",
        auth,
        &json!({"account": ALICE, "source": source, "protocol": "imap",
            "password_fingerprint": "a1"})
        .to_string(),
    );
    assert_eq!(status, 200, "{body}");
    serde_json::from_str(&body).unwrap()
}

/// A bouncer's key, made through the admin API as `portcullis admin bouncers add` does.
fn bouncer_key(admin: &str, token: &str) -> String {
    let bearer = format!("Bearer {token}");
    let (status, _, body) = request(
        admin,
        "POST",
        "/v1/bouncers",
        &[("Authorization", &bearer)],
        &json!({"name": "edge", "actor": "test", "reason": "web front-end"}).to_string(),
    );
    assert_eq!(status, 200, "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    v["api_key"].as_str().unwrap().to_string()
}

fn pull(admin: &str, key: &str, path: &str) -> Value {
    let (status, _, body) = request(admin, "GET", path, &[("X-Api-Key", key)], "");
    assert_eq!(status, 200, "{path}: {body}");
    serde_json::from_str(&body).unwrap()
}

fn metric(admin: &str, token: &str, name: &str) -> u64 {
    let bearer = format!("Bearer {token}");
    let (status, _, body) = request(admin, "GET", "/metrics", &[("Authorization", &bearer)], "");
    assert_eq!(status, 200);
    body.lines()
        .find_map(|l| l.strip_prefix(name)?.trim().parse().ok())
        .unwrap_or_else(|| panic!("{name} not in /metrics"))
}

#[test]
fn on_a_new_address_at_risk_is_a_step_up_on_every_protocol_and_a_captcha_at_the_edge() {
    let tmp = tempfile::tempdir().unwrap();
    let s = serve_with(
        tmp.path(),
        &format!("step_up_message = {MESSAGE:?}\n[engine]\nstep_up = true\n"),
    );
    let (auth, token) = credentials(&tmp.path().join("data"));
    let key = bouncer_key(&s.admin, &token);
    put_alice_at_risk(&s.policy, &auth);
    // (The last reports of the guessing were step-ups already: counted too.)
    let counted = metric(&s.admin, &token, STEP_UPS);

    // The native API: a distinct action, no delay, the engine's reason.
    let v = check(&s.policy, &auth, HOTEL);
    assert_eq!(v["action"], "step_up", "{v}");
    assert_eq!(v["engine_action"], "step_up", "{v}");
    assert_eq!(v["delay_secs"], 0, "{v}");
    assert_eq!(v["reasons"][0]["code"], "account_guessing", "{v}");
    assert_eq!(v["standing"]["familiar"], false, "{v}");
    // Her own address is familiar: allowed, never asked.
    let v = check(&s.policy, &auth, HOME);
    assert_eq!(v["action"], "allow", "{v}");
    assert_eq!(v["standing"]["familiar"], true, "{v}");

    // Dovecot / wforce `allow`: a refusal (-1 by default, which every Dovecot honours), the
    // message pointing to the second factor, and the step_up return attribute.
    let other = "198.51.100.45";
    let (status, body) = post(
        &s.policy,
        "/?command=allow",
        &auth,
        &json!({"login": ALICE, "remote": other, "pwhash": "0a1b", "protocol": "imap"}).to_string(),
    );
    assert_eq!(status, 200, "{body}");
    assert!(body.starts_with(r#"{"status":-1,"msg":"#), "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["msg"], MESSAGE, "{body}");
    assert_eq!(v["r_attrs"]["step_up"], "true", "{body}");

    // The bouncer: a captcha on each step-up's address, never a ban, none for her home.
    let stream = pull(&s.admin, &key, "/v1/decisions/stream?startup=true");
    let new = stream["new"].as_array().unwrap();
    for ip in [HOTEL, other] {
        let d: Vec<&Value> = new.iter().filter(|d| d["value"] == ip).collect();
        assert_eq!(d.len(), 1, "{ip}: {stream}");
        assert_eq!(d[0]["type"], "captcha", "{ip}: {stream}");
        assert_eq!(d[0]["scope"], "Ip");
        assert_eq!(d[0]["origin"], "portcullis");
        assert_eq!(d[0]["scenario"], "portcullis/step_up:account_guessing");
        let duration = d[0]["duration"].as_str().unwrap();
        assert!(
            duration.ends_with('s') && duration.contains('m'),
            "{duration}"
        );
    }
    assert!(!new.iter().any(|d| d["value"] == HOME), "{stream}");
    let one = pull(&s.admin, &key, &format!("/v1/decisions?ip={HOTEL}"));
    assert_eq!(one.as_array().map(Vec::len), Some(1), "{one}");
    assert_eq!(one[0]["type"], "captcha", "{one}");
    // The same address again is the same decision: nothing new for the bouncer.
    assert_eq!(check(&s.policy, &auth, HOTEL)["action"], "step_up");
    let again = pull(&s.admin, &key, "/v1/decisions/stream?startup=false");
    assert_eq!(again["new"].as_array().map(Vec::len), Some(0), "{again}");

    // Three step-up answers: the hotel twice, the other address once.
    assert_eq!(metric(&s.admin, &token, STEP_UPS), counted + 3);
    s.terminate();
}

#[test]
fn off_by_default_the_same_attempt_is_tarpitted_and_no_captcha_goes_out() {
    let tmp = tempfile::tempdir().unwrap();
    let s = serve_with(tmp.path(), "");
    let (auth, token) = credentials(&tmp.path().join("data"));
    let key = bouncer_key(&s.admin, &token);
    put_alice_at_risk(&s.policy, &auth);
    let v = check(&s.policy, &auth, HOTEL);
    assert_eq!(v["action"], "tarpit", "{v}");
    assert_eq!(v["engine_action"], "tarpit", "{v}");
    assert_eq!(v["delay_secs"], 5, "{v}");
    assert_eq!(v["reasons"][0]["code"], "account_guessing", "{v}");
    let stream = pull(&s.admin, &key, "/v1/decisions/stream?startup=true");
    assert!(
        !stream["new"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["type"] == "captcha" || d["value"] == HOTEL),
        "{stream}"
    );
    assert_eq!(metric(&s.admin, &token, STEP_UPS), 0);
    s.terminate();
}

#[test]
fn a_step_up_status_other_than_minus_one_or_two_stops_serve() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = tmp.path().join("portcullis.toml");
    std::fs::write(
        &cfg,
        format!(
            "[server]\npolicy_listen = \"127.0.0.1:0\"\nadmin_listen = \"127.0.0.1:0\"\ndata_dir = {:?}\nstep_up_status = -3\n",
            tmp.path().join("data").display().to_string()
        ),
    )
    .unwrap();
    let out = bin()
        .arg("serve")
        .arg("--config")
        .arg(&cfg)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(err.contains("step_up_status"), "{err}");
}
