//! Three `portcullis serve` nodes and a real `nats-server` (JetStream) on loopback, through the
//! real binary and Dovecot's auth_policy protocol (issue 16, item 5):
//!
//! - a spray spread round-robin over the three nodes is refused after as many attempts as the
//!   same traffic on one node, and its addresses are refused on all three;
//! - an admin block on node A is enforced on B and C within 1 s;
//! - a node killed with `kill -9` mid-spray and started again catches up and has the others'
//!   state (same digest, same verdicts);
//! - with NATS stopped for 30 s mid-spray every node keeps answering; once it is back, all
//!   converge to the same digest;
//! - a fourth node joining with an empty data directory reaches the same state;
//! - every input the test sent is applied exactly once on every node (counted).
//!
//! Needs `nats-server` on the PATH (Debian's `nats-server`, 2.9): without it the test fails
//! unless `PORTCULLIS_SKIP_CLUSTER=1` says to skip it (`scripts/test-all.sh` installs it).

mod common;

use common::{Serve, credentials, post, request, serve_with};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct Nats {
    child: Child,
    port: u16,
    dir: PathBuf,
}

impl Nats {
    fn start(port: u16, dir: &Path) -> Nats {
        let child = Command::new("nats-server")
            .args(["-js", "-a", "127.0.0.1", "-p", &port.to_string(), "-sd"])
            .arg(dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("nats-server is needed for the cluster test (apt-get install nats-server)");
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "nats-server did not listen");
            std::thread::sleep(Duration::from_millis(50));
        }
        Nats {
            child,
            port,
            dir: dir.to_path_buf(),
        }
    }
    fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Nats {
    fn drop(&mut self) {
        self.stop();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A node: its process, its data directory and its credentials.
struct Node {
    name: String,
    dir: PathBuf,
    nats_port: u16,
    serve: Option<Serve>,
    auth: String,
    token: String,
}

impl Node {
    fn start(name: &str, root: &Path, nats_port: u16) -> Node {
        let dir = root.join(name);
        std::fs::create_dir_all(&dir).unwrap();
        let mut n = Node {
            name: name.into(),
            dir,
            nats_port,
            serve: None,
            auth: String::new(),
            token: String::new(),
        };
        n.restart();
        n
    }
    fn restart(&mut self) {
        let extra = format!(
            "\n[cluster]\nnats_url = \"nats://127.0.0.1:{}\"\nnode = {:?}\nsnapshot_every = 200\n",
            self.nats_port, self.name
        );
        self.serve = Some(serve_with(&self.dir, &extra));
        (self.auth, self.token) = credentials(&self.dir.join("data"));
    }
    fn s(&self) -> &Serve {
        self.serve.as_ref().expect("node running")
    }
    fn kill9(&mut self) {
        // Dropping a Serve kills it with SIGKILL.
        self.serve = None;
    }
    fn dovecot(&self, command: &str, body: Value) -> Value {
        let (st, body) = post(
            &self.s().policy,
            &format!("/?command={command}"),
            &self.auth,
            &body.to_string(),
        );
        assert_eq!(st, 200, "{}: {body}", self.name);
        serde_json::from_str(&body).unwrap()
    }
    fn cluster(&self) -> Value {
        let bearer = format!("Bearer {}", self.token);
        let (st, _, body) = request(
            &self.s().admin,
            "GET",
            "/v1/cluster",
            &[("Authorization", &bearer)],
            "",
        );
        assert_eq!(st, 200, "{}: {body}", self.name);
        serde_json::from_str(&body).unwrap()
    }
    /// Dovecot's `allow` status for `remote` on an account it never tried.
    fn allow_status(&self, remote: &str) -> i64 {
        self.dovecot(
            "allow",
            json!({"login": "never-tried@example.org", "remote": remote, "protocol": "imap",
                   "pwhash": "abc"}),
        )["status"]
            .as_i64()
            .unwrap()
    }
}

fn spray_source(i: usize) -> String {
    format!("198.51.100.{}", 1 + i % 30)
}

/// Attempt `k` of the spray: address `k % 30` tries a wrong password on its own account.
fn report(k: usize) -> Value {
    json!({"login": format!("user{k}@example.org"), "remote": spray_source(k),
           "protocol": "imap", "pwhash": format!("{:03x}", k / 30), "success": false})
}

/// Waits until every node applied `inputs` stream inputs and nothing is buffered; returns
/// their status.
fn converge(nodes: &[&Node], inputs: u64, within: Duration) -> Vec<Value> {
    let deadline = Instant::now() + within;
    loop {
        let st: Vec<Value> = nodes.iter().map(|n| n.cluster()).collect();
        let done = st.iter().all(|s| {
            s["applied_seq"].as_u64().unwrap() >= inputs + s["duplicates_skipped"].as_u64().unwrap()
                && s["buffered"] == 0
        }) && st.windows(2).all(|w| w[0]["digest"] == w[1]["digest"]);
        if done {
            return st;
        }
        assert!(
            Instant::now() < deadline,
            "the nodes did not converge on {inputs} inputs within {within:?}: {st:#?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn three_nodes_over_jetstream_answer_alike_and_converge() {
    if std::env::var_os("PORTCULLIS_SKIP_CLUSTER").is_some() {
        eprintln!("cluster test skipped (PORTCULLIS_SKIP_CLUSTER)");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();

    // --- the reference: the same traffic on one node, not clustered --------------------------
    let single_dir = root.join("single");
    std::fs::create_dir_all(&single_dir).unwrap();
    let single = serve_with(&single_dir, "");
    let (single_auth, _) = credentials(&single_dir.join("data"));
    let single_allow = |remote: &str| -> i64 {
        let (st, body) = post(
            &single.policy,
            "/?command=allow",
            &single_auth,
            &json!({"login": "never-tried@example.org", "remote": remote, "protocol": "imap",
                    "pwhash": "abc"})
            .to_string(),
        );
        assert_eq!(st, 200, "{body}");
        serde_json::from_str::<Value>(&body).unwrap()["status"]
            .as_i64()
            .unwrap()
    };
    let mut k = 0;
    let mut single_rounds = None;
    for round in 1..=20 {
        for _ in 0..30 {
            let (st, body) = post(
                &single.policy,
                "/?command=report",
                &single_auth,
                &report(k).to_string(),
            );
            assert_eq!(st, 200, "{body}");
            k += 1;
        }
        if single_allow(&spray_source(0)) == -1 {
            single_rounds = Some(round);
            break;
        }
    }
    let single_rounds = single_rounds.expect("one node refuses the spray within 20 rounds");
    drop(single);

    // --- three nodes ---------------------------------------------------------------------------
    let nats_port = free_port();
    let mut nats = Nats::start(nats_port, &root.join("nats"));
    let mut a = Node::start("a", root, nats_port);
    let b = Node::start("b", root, nats_port);
    let mut c = Node::start("c", root, nats_port);
    // Every input the test gives any node: reports, allows, admin actions.
    let mut inputs = 0u64;

    // The same spray, round-robin over the three nodes; after each round (once the nodes have
    // applied it) the same check as on the single node, on a node of its own turn.
    let mut k = 0;
    let mut cluster_rounds = None;
    for round in 1..=20 {
        for _ in 0..30 {
            [&a, &b, &c][k % 3].dovecot("report", report(k));
            k += 1;
            inputs += 1;
        }
        converge(&[&a, &b, &c], inputs, Duration::from_secs(20));
        let refused = [&a, &b, &c][round % 3].allow_status(&spray_source(0)) == -1;
        inputs += 1;
        if refused {
            cluster_rounds = Some(round);
            break;
        }
    }
    assert_eq!(
        cluster_rounds,
        Some(single_rounds),
        "the spray spread over three nodes is refused after as many rounds as on one node"
    );
    converge(&[&a, &b, &c], inputs, Duration::from_secs(20));
    for n in [&a, &b, &c] {
        for i in 0..30 {
            assert_eq!(
                n.allow_status(&spray_source(i)),
                -1,
                "spray address {} refused on node {}",
                spray_source(i),
                n.name
            );
            inputs += 1;
        }
    }

    // --- an admin block on A, enforced on B and C within 1 s ------------------------------------
    let blocked = "192.0.2.200";
    let bearer = format!("Bearer {}", a.token);
    let (st, _, body) = request(
        &a.s().admin,
        "POST",
        "/v1/blocks",
        &[("Authorization", &bearer)],
        &json!({"prefix": "192.0.2.0/24", "expires_in_secs": 3600,
                "reason": "cluster test", "actor": "test"})
        .to_string(),
    );
    assert_eq!(st, 200, "block on a: {body}");
    let t0 = Instant::now();
    inputs += 1;
    for n in [&b, &c] {
        loop {
            let s = n.allow_status(blocked);
            inputs += 1;
            if s == -1 {
                break;
            }
            assert!(
                t0.elapsed() < Duration::from_secs(1),
                "an admin block on node a is enforced on node {} within 1 s (still {s} after {:?})",
                n.name,
                t0.elapsed()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }
    let block_seen = t0.elapsed();
    eprintln!("admin block on a enforced on b and c after {block_seen:?}");

    // --- kill -9 a node mid-spray, start it again ------------------------------------------------
    for _ in 0..45 {
        [&a, &b, &c][k % 3].dovecot("report", report(k));
        k += 1;
        inputs += 1;
    }
    // Its inputs so far are in the stream (the loss window of kill -9 is its unpublished buffer).
    let deadline = Instant::now() + Duration::from_secs(20);
    while c.cluster()["buffered"] != 0 {
        assert!(Instant::now() < deadline, "c's buffer did not drain");
        std::thread::sleep(Duration::from_millis(20));
    }
    c.kill9();
    for _ in 0..60 {
        [&a, &b][k % 2].dovecot("report", report(k));
        k += 1;
        inputs += 1;
    }
    c.restart();
    let st = converge(&[&a, &b, &c], inputs, Duration::from_secs(30));
    for n in [&a, &b, &c] {
        for i in [0, 7, 29] {
            assert_eq!(n.allow_status(&spray_source(i)), -1, "node {}", n.name);
            inputs += 1;
        }
        assert_eq!(n.allow_status(blocked), -1, "node {}", n.name);
        inputs += 1;
    }
    eprintln!("after c's restart: {}", st[2]);

    // --- NATS away for 30 s mid-spray -------------------------------------------------------------
    nats.stop();
    let away = Instant::now();
    let mut during = 0;
    while away.elapsed() < Duration::from_secs(30) {
        for n in [&a, &b, &c] {
            // Every node answers from its replica: the spray's addresses stay refused.
            let v = n.dovecot("report", report(k));
            assert_eq!(v["status"], "ok", "node {} answers without NATS", n.name);
            assert_eq!(n.allow_status(&spray_source(k)), -1, "node {}", n.name);
            k += 1;
            inputs += 2;
            during += 2;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let buffered: u64 = [&a, &b, &c]
        .iter()
        .map(|n| n.cluster()["buffered"].as_u64().unwrap())
        .sum();
    assert!(buffered > 0, "inputs are buffered while NATS is away");
    let nats_dir = nats.dir.clone();
    nats = Nats::start(nats.port, &nats_dir);
    let t_back = Instant::now();
    let st = converge(&[&a, &b, &c], inputs, Duration::from_secs(60));
    eprintln!(
        "NATS away 30 s ({during} inputs buffered on the nodes); converged {:?} after it returned",
        t_back.elapsed()
    );

    // --- no input applied twice or lost ----------------------------------------------------------
    for (n, s) in [&a, &b].iter().zip(&st) {
        assert_eq!(
            s["applied"].as_u64().unwrap(),
            inputs,
            "node {} applied each of the {inputs} inputs once: {s}",
            n.name
        );
        assert_eq!(
            s["applied_seq"].as_u64().unwrap(),
            inputs + s["duplicates_skipped"].as_u64().unwrap(),
            "node {}: {s}",
            n.name
        );
    }
    assert_eq!(st[0]["dropped"], 0);
    let applied_seq = st[0]["applied_seq"].as_u64().unwrap();

    // --- a fourth node joins with an empty data directory -----------------------------------------
    let d = Node::start("d", root, nats_port);
    let st = converge(&[&a, &d], inputs, Duration::from_secs(30));
    assert_eq!(st[1]["applied_seq"].as_u64().unwrap(), applied_seq);
    assert_eq!(st[0]["digest"], st[1]["digest"]);
    assert_eq!(d.allow_status(&spray_source(3)), -1);
    assert_eq!(d.allow_status(blocked), -1);
    // A node stops cleanly on SIGTERM in cluster mode too (its buffer is published first).
    a.serve.take().expect("a runs").terminate();
    drop(nats);
}
