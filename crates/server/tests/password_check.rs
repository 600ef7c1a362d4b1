//! `POST /v1/password/check` over real HTTP on loopback: authenticated like the rest of the
//! policy API, answers NIST SP 800-63B verdicts with zxcvbn feedback, never echoes the password,
//! and says clearly when password checking is not configured.

use portcullis_passwords::PasswordChecker;
use portcullis_server::ServerConfig;
use serde_json::{Value, json};
use std::sync::Arc;

mod common;

const USER: &str = "keycloak";
const PASS: &str = "policy-secret";

/// Starts a server (with or without a checker), runs `f` against its policy URL, stops it.
fn with_server(checker: Option<PasswordChecker>, f: impl FnOnce(&str, &ureq::Agent)) {
    let dir = tempfile::tempdir().unwrap();
    let cfg = ServerConfig {
        policy_listen: "127.0.0.1:0".into(),
        admin_listen: String::new(),
        data_dir: dir.path().to_path_buf(),
        policy_user: USER.into(),
        policy_password: PASS.into(),
        ..ServerConfig::default()
    };
    let srv = common::Running::start(cfg, Vec::new(), checker.map(Arc::new));
    let url = format!("http://{}/v1/password/check", srv.policy);
    f(&url, &common::agent());
    srv.stop();
}

fn post(agent: &ureq::Agent, url: &str, auth: bool, body: &Value) -> (u16, String) {
    let mut req = agent.post(url);
    if auth {
        use base64::Engine as _;
        let token = base64::engine::general_purpose::STANDARD.encode(format!("{USER}:{PASS}"));
        req = req.header("Authorization", &format!("Basic {token}"));
    }
    let mut resp = req
        .header("Content-Type", "application/json")
        .send(body.to_string())
        .unwrap();
    let status = resp.status().as_u16();
    (status, resp.body_mut().read_to_string().unwrap())
}

#[test]
fn weak_and_context_passwords_are_refused_strong_ones_accepted_never_echoed() {
    let checker = PasswordChecker::open(None, vec!["Contoso".into()]).unwrap();
    with_server(Some(checker), |url, agent| {
        let (s, body) = post(agent, url, false, &json!({"password": "Summer2017!"}));
        assert_eq!(s, 401, "{body}");

        let weak = "Summer2017!";
        let (s, body) = post(agent, url, true, &json!({"password": weak}));
        assert_eq!(s, 200, "{body}");
        let v: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(v["acceptable"], false, "{body}");
        assert!(
            !body.contains(weak),
            "the answer must not echo the password: {body}"
        );

        let (_, body) = post(
            agent,
            url,
            true,
            &json!({"password": "contoso-jsmith-2017", "user_inputs": ["jsmith", "John Smith"]}),
        );
        let v: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(v["acceptable"], false, "{body}");

        let strong = "plinth cobalt marzipan vellum 42";
        let (s, body) = post(agent, url, true, &json!({"password": strong}));
        assert_eq!(s, 200, "{body}");
        let v: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(v["acceptable"], true, "{body}");
        assert!(!body.contains("marzipan"), "{body}");

        let (s, _) = post(agent, url, true, &json!({"password": "x", "surprise": 1}));
        assert_eq!(s, 400);
    });
}

#[test]
fn without_a_checker_the_endpoint_says_it_is_not_configured() {
    with_server(None, |url, agent| {
        let (s, body) = post(agent, url, true, &json!({"password": "whatever"}));
        assert_eq!(s, 404, "{body}");
        assert!(body.contains("[passwords]"), "{body}");
    });
}
