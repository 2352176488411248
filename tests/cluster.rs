//! Several `ferroflux serve` processes, each with its own data dir, on one JetStream event
//! log (the real nats-server of `scripts/services`): what one node provisions the other
//! serves, revocations reach both, a `kill -9` loses nothing acknowledged, a node started
//! later catches up, and a node with other secrets is refused at start.

mod common;
mod mqtt_support;
mod process;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use mqtt_support::Client;
use process::{Server, ferroflux};
use rumqttc::{ConnectionError, MqttOptions};
use serde_json::{Value, json};
use uuid::Uuid;

/// How long a change made through one node may take to be usable through another. The
/// measured delay is a few milliseconds; this only bounds a loaded CI machine.
const PROPAGATION: Duration = Duration::from_secs(10);

/// One cluster's settings: a fresh JetStream prefix, shared secrets.
struct Cluster {
    env: Vec<(String, String)>,
    dirs: tempfile::TempDir,
}

impl Cluster {
    fn new() -> Self {
        let hex = |n: usize| {
            (0..n)
                .map(|_| format!("{:02x}", rand_byte()))
                .collect::<String>()
        };
        let env = vec![
            ("FF_EVENT_LOG".into(), commands::test_services::nats_url()),
            (
                "FF_EVENT_LOG_PREFIX".into(),
                format!("c{}", Uuid::new_v4().simple()),
            ),
            ("FF_JWT_SECRET".into(), hex(32)),
            ("FF_MASTER_KEY".into(), hex(32)),
        ];
        Self {
            env,
            dirs: tempfile::tempdir().expect("tempdir"),
        }
    }

    fn start(&self, node: &str) -> Server {
        let env: Vec<(&str, &str)> = self
            .env
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let mut with_instance = env.clone();
        with_instance.push(("FF_INSTANCE", node));
        Server::start_with(&self.dirs.path().join(node), &with_instance)
    }
}

fn rand_byte() -> u8 {
    Uuid::new_v4().as_bytes()[0]
}

/// `(status, JSON body or Null, Location)` of one request.
async fn call(
    method: &str,
    url: String,
    auth: Option<&str>,
    body: Option<Value>,
) -> (u16, Value, String) {
    let http = reqwest::Client::new();
    let mut request = http.request(method.parse().expect("method"), url);
    if let Some(auth) = auth {
        request = request.header("authorization", auth);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.expect("request");
    let status = response.status().as_u16();
    let location = response
        .headers()
        .get("location")
        .map(|v| v.to_str().unwrap().rsplit('/').next().unwrap().to_owned())
        .unwrap_or_default();
    let body = response.json().await.unwrap_or(Value::Null);
    (status, body, location)
}

/// Retries `probe` until it answers `Some`; panics after `PROPAGATION`.
async fn eventually<T, F, Fut>(what: &str, mut probe: F) -> (T, Duration)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let start = Instant::now();
    loop {
        if let Some(done) = probe().await {
            return (done, start.elapsed());
        }
        assert!(
            start.elapsed() < PROPAGATION,
            "{what}: not after {PROPAGATION:?}"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Retries `probe` until it answers `want`; returns how long that took.
async fn until<F, Fut>(what: &str, want: u16, mut probe: F) -> Duration
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = u16>,
{
    let probe = || {
        let status = probe();
        async move { (status.await == want).then_some(()) }
    };
    eventually(what, probe).await.1
}

async fn publish(base: &str, channel: &str, key: &str) -> u16 {
    let url = format!("{base}/channels/{channel}/messages");
    let auth = format!("Thing {key}");
    call("POST", url, Some(&auth), Some(json!([{"n": "t", "v": 1}])))
        .await
        .0
}

/// Registers a user through `base` and logs in through `login_base`; returns the token.
async fn user(base: &str, login_base: &str) -> String {
    let credentials =
        json!({"email": format!("{}@example.com", Uuid::new_v4()), "password": "correct-horse"});
    let (status, _, _) = call(
        "POST",
        format!("{base}/users"),
        None,
        Some(credentials.clone()),
    )
    .await;
    assert_eq!(status, 201);
    let login = || {
        let credentials = credentials.clone();
        async move {
            let url = format!("{login_base}/tokens");
            let (_, body, _) = call("POST", url, None, Some(credentials)).await;
            body["token"].as_str().map(str::to_owned)
        }
    };
    eventually("login through the other node", login).await.0
}

fn mqtt_options(server: &Server, client_id: &str, thing: &str, key: &str) -> MqttOptions {
    let (host, port) = server.mqtt.rsplit_once(':').expect("host:port");
    let mut options = MqttOptions::new(client_id, host, port.parse().expect("port"));
    options.set_credentials(thing, key);
    options
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_one_node_provisions_the_other_serves_and_revocations_reach_both() {
    let cluster = Cluster::new();
    let (one, two) = (cluster.start("one"), cluster.start("two"));
    let token = user(&one.base, &two.base).await;
    let key = format!("key-{}", Uuid::new_v4());
    let (status, _, thing) = call(
        "POST",
        format!("{}/things", one.base),
        Some(&token),
        Some(json!({"key": key})),
    )
    .await;
    assert_eq!(status, 201);
    let (_, _, channel) = call(
        "POST",
        format!("{}/channels", one.base),
        Some(&token),
        Some(json!({})),
    )
    .await;
    let connect = format!("{}/channels/{channel}/things/{thing}", one.base);
    assert_eq!(call("PUT", connect, Some(&token), None).await.0, 200);

    let delay = until("HTTP publish through node two", 202, || {
        publish(&two.base, &channel, &key)
    })
    .await;
    eprintln!("created on one, publishing through two after {delay:?}");
    let mut on_one = Client::connect(mqtt_options(&one, "on-one", &thing, &key))
        .await
        .expect("MQTT on one");
    Client::connect(mqtt_options(&two, "on-two", &thing, &key))
        .await
        .expect("MQTT on two");

    // A key change through node two: refused at once there, soon on node one, whose live
    // MQTT session with the old key is closed.
    let new_key = format!("key-{}", Uuid::new_v4());
    let change = format!("{}/things/{thing}/key", two.base);
    assert_eq!(
        call("PATCH", change, Some(&token), Some(json!({"key": new_key})))
            .await
            .0,
        200
    );
    assert_eq!(publish(&two.base, &channel, &key).await, 401);
    until("old key refused on node one", 401, || {
        publish(&one.base, &channel, &key)
    })
    .await;
    on_one.closed().await;
    assert!(matches!(
        Client::connect(mqtt_options(&one, "again", &thing, &key))
            .await
            .err(),
        Some(ConnectionError::ConnectionRefused(_))
    ));
    until("new key accepted on node one", 202, || {
        publish(&one.base, &channel, &new_key)
    })
    .await;

    // A removal through node one reaches node two.
    let remove = format!("{}/things/{thing}", one.base);
    assert_eq!(call("DELETE", remove, Some(&token), None).await.0, 204);
    until("removed thing refused on node two", 401, || {
        publish(&two.base, &channel, &new_key)
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_of_a_node_under_load_loses_nothing_acknowledged_and_a_late_node_catches_up() {
    let cluster = Cluster::new();
    let (mut one, two) = (cluster.start("one"), cluster.start("two"));
    let token = user(&one.base, &two.base).await;
    let acknowledged = Arc::new(Mutex::new(Vec::new()));
    let writers: Vec<_> = (0..8)
        .map(|_| {
            let (base, token, acknowledged) =
                (one.base.clone(), token.clone(), Arc::clone(&acknowledged));
            tokio::spawn(async move {
                let http = reqwest::Client::new();
                loop {
                    let sent = http
                        .post(format!("{base}/things"))
                        .header("authorization", &token)
                        .json(&json!({"name": "load"}))
                        .send()
                        .await;
                    let Ok(response) = sent else { return };
                    if response.status() == 201 {
                        let id = response.headers()["location"]
                            .to_str()
                            .unwrap()
                            .rsplit('/')
                            .next()
                            .unwrap()
                            .to_owned();
                        acknowledged.lock().unwrap().push(id);
                    }
                }
            })
        })
        .collect();
    while acknowledged.lock().unwrap().len() < 100 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    one.child.kill().expect("kill -9");
    one.child.wait().expect("reaped");
    for writer in writers {
        writer.await.expect("writer");
    }
    let acknowledged = acknowledged.lock().unwrap().clone();

    // Node two keeps serving and has every acknowledged thing.
    let listed = |base: String| {
        let token = token.clone();
        async move {
            let url = format!("{base}/things?limit=100&offset=0");
            let (_, page, _) = call("GET", url.clone(), Some(&token), None).await;
            let total = page["total"].as_u64().unwrap_or(0);
            let mut ids = Vec::new();
            for offset in (0..total).step_by(100) {
                let url = format!("{base}/things?limit=100&offset={offset}");
                let (_, page, _) = call("GET", url, Some(&token), None).await;
                ids.extend(
                    page["things"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|t| t["id"].as_str().unwrap().to_owned()),
                );
            }
            ids
        }
    };
    let (on_two, _) = eventually("node two shows every acknowledged thing", || {
        let (listing, acknowledged) = (listed(two.base.clone()), &acknowledged);
        async move {
            let ids = listing.await;
            acknowledged
                .iter()
                .all(|id| ids.contains(id))
                .then_some(ids)
        }
    })
    .await;
    let (status, _, _) = call(
        "POST",
        format!("{}/things", two.base),
        Some(&token),
        Some(json!({})),
    )
    .await;
    assert_eq!(status, 201, "node two keeps serving after node one died");

    // A node started now catches up from the log before it says it is ready.
    let three = cluster.start("three");
    assert_eq!(
        call("GET", format!("{}/ready", three.base), None, None)
            .await
            .0,
        200
    );
    let on_three = listed(three.base.clone()).await;
    assert_eq!(
        on_three.len(),
        on_two.len() + 1,
        "node three sees what node two does"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_with_other_secrets_is_refused_at_start() {
    let cluster = Cluster::new();
    let _one = cluster.start("one");
    let mut env = cluster.env.clone();
    env.retain(|(k, _)| k != "FF_MASTER_KEY");
    let other_key: String = (0..32).map(|_| format!("{:02x}", rand_byte())).collect();
    let output = ferroflux(&cluster.dirs.path().join("other"))
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .env("FF_MASTER_KEY", &other_key)
        .arg("serve")
        .output()
        .expect("runs");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("FF_JWT_SECRET or FF_MASTER_KEY differ"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(
        !stderr.contains(&other_key),
        "a secret in the log: {stderr}"
    );

    // Without the secrets at all, a shared log is refused too, with one line.
    let output = ferroflux(&cluster.dirs.path().join("bare"))
        .env("FF_EVENT_LOG", &cluster.env[0].1)
        .arg("serve")
        .output()
        .expect("runs");
    assert!(!output.status.success());
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("same FF_JWT_SECRET and FF_MASTER_KEY")
    );
}

#[tokio::test]
async fn an_unreachable_event_log_is_one_clear_line() {
    let dirs = tempfile::tempdir().expect("tempdir");
    for (url, says) in [
        ("nats://127.0.0.1:1", "FF_EVENT_LOG=nats://127.0.0.1:1"),
        ("kafka://x", "FF_EVENT_LOG=\"kafka://x\""),
    ] {
        let output = ferroflux(dirs.path())
            .env("FF_EVENT_LOG", url)
            .env("FF_JWT_SECRET", "a-secret")
            .env("FF_MASTER_KEY", "00".repeat(32))
            .arg("serve")
            .output()
            .expect("runs");
        assert!(!output.status.success());
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(says), "{url}: {stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_email_registered_through_two_nodes_at_once_succeeds_exactly_once() {
    let cluster = Cluster::new();
    let (one, two) = (cluster.start("one"), cluster.start("two"));
    for round in 0..5 {
        let body =
            json!({"email": format!("race-{round}@example.com"), "password": "correct-horse"});
        let attempts: Vec<_> = [&one, &two, &one, &two]
            .iter()
            .map(|node| {
                let (url, body) = (format!("{}/users", node.base), body.clone());
                tokio::spawn(async move { call("POST", url, None, Some(body)).await.0 })
            })
            .collect();
        let mut statuses = Vec::new();
        for attempt in attempts {
            statuses.push(attempt.await.expect("attempt"));
        }
        statuses.sort_unstable();
        assert_eq!(statuses, [201, 409, 409, 409], "round {round}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commands_answer_503_while_the_log_is_away_and_the_node_recovers_by_itself() {
    let mut nats = commands::test_services::PrivateNats::start();
    let mut cluster = Cluster::new();
    cluster.env[0].1 = nats.url();
    let node = cluster.start("one");
    let token = user(&node.base, &node.base).await;
    let create = || {
        call(
            "POST",
            format!("{}/things", node.base),
            Some(&token),
            Some(json!({})),
        )
    };
    let (status, _, before) = create().await;
    assert_eq!(status, 201);

    nats.kill();
    let (status, body, _) = create().await;
    assert_eq!(status, 503, "{body}");
    assert!(
        body["error"].as_str().is_some_and(|e| !e.is_empty()),
        "{body}"
    );
    let (status, _, _) = call(
        "GET",
        format!("{}/things/{before}", node.base),
        Some(&token),
        None,
    )
    .await;
    assert_eq!(status, 200, "reads keep working from the views");

    nats.resume();
    let (_, delay) = eventually("commands accepted again", || async {
        let (status, _, id) = create().await;
        (status == 201).then_some(id)
    })
    .await;
    eprintln!("commands accepted {delay:?} after the log came back");
    let (status, _, _) = call(
        "GET",
        format!("{}/things/{before}", node.base),
        Some(&token),
        None,
    )
    .await;
    assert_eq!(status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_embedded_history_migrates_into_jetstream_and_a_cluster_node_serves_it() {
    let cluster = Cluster::new();
    let secrets: Vec<(&str, &str)> = cluster.env[2..]
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let embedded_dir = cluster.dirs.path().join("embedded");
    let embedded = Server::start_with(&embedded_dir, &secrets);
    let token = user(&embedded.base, &embedded.base).await;
    let key = format!("key-{}", Uuid::new_v4());
    let (_, _, thing) = call(
        "POST",
        format!("{}/things", embedded.base),
        Some(&token),
        Some(json!({"key": key})),
    )
    .await;
    let (_, _, channel) = call(
        "POST",
        format!("{}/channels", embedded.base),
        Some(&token),
        Some(json!({})),
    )
    .await;
    let connect = format!("{}/channels/{channel}/things/{thing}", embedded.base);
    assert_eq!(call("PUT", connect, Some(&token), None).await.0, 200);
    let (status, _) = embedded.terminate();
    assert!(status.success());

    let migrate = || {
        ferroflux(&embedded_dir)
            .args([
                "migrate",
                "--to",
                &cluster.env[0].1,
                "--to-prefix",
                &cluster.env[1].1,
            ])
            .output()
            .expect("migrate runs")
    };
    let first = migrate();
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let said = String::from_utf8_lossy(&first.stdout).into_owned();
    assert!(said.contains("4 events copied"), "{said}");
    let again = migrate();
    assert!(String::from_utf8_lossy(&again.stdout).contains("0 events copied, 4 in the target"));

    let node = cluster.start("node");
    let (_, page, _) = call(
        "GET",
        format!("{}/things/{thing}", node.base),
        Some(&token),
        None,
    )
    .await;
    assert_eq!(
        page["key"],
        key.as_str(),
        "the same token and the same sealed key work"
    );
    assert_eq!(publish(&node.base, &channel, &key).await, 202);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_and_replay_verify_work_on_the_shared_log() {
    let cluster = Cluster::new();
    let node = cluster.start("one");
    let token = user(&node.base, &node.base).await;
    call(
        "POST",
        format!("{}/things", node.base),
        Some(&token),
        Some(json!({})),
    )
    .await;
    let env: Vec<(&str, &str)> = cluster
        .env
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let tool = |args: &[&str]| {
        ferroflux(&cluster.dirs.path().join("tools"))
            .envs(env.iter().copied())
            .args(args)
            .output()
            .expect("runs")
    };
    let events = tool(&["events"]);
    assert!(
        events.status.success(),
        "{}",
        String::from_utf8_lossy(&events.stderr)
    );
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&events.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("NDJSON"))
        .collect();
    let kinds: Vec<_> = lines
        .iter()
        .map(|e| e["type"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(kinds, ["user.register", "thing.create"]);
    let verify = tool(&["replay", "--verify"]);
    assert!(
        verify.status.success(),
        "{}",
        String::from_utf8_lossy(&verify.stderr)
    );
    assert!(String::from_utf8_lossy(&verify.stdout).contains("verified"));
}
