//! A JetStream-backed node's life around the log: refused at start with other secrets or an
//! unreachable log, 503 while the log is away and back by itself, an embedded history
//! migrated in, `events` and `replay --verify` on the shared log.

mod cluster_support;
mod process;

use cluster_support::*;
use process::{Server, ferroflux};
use serde_json::json;
use uuid::Uuid;

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

#[tokio::test]
async fn an_unreachable_or_malformed_bus_is_one_clear_line() {
    let dirs = tempfile::tempdir().expect("tempdir");
    for (url, says) in [
        ("nats://127.0.0.1:1", "FF_BUS=nats://127.0.0.1:1"),
        ("kafka://x", "FF_BUS=kafka://x"),
    ] {
        let output = ferroflux(dirs.path())
            .env("FF_BUS", url)
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
    // register, create thing, create channel, connect (one embedded node claims no keys).
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
    // A generated key needs no claim; a key the client chooses is claimed first.
    for body in [json!({}), json!({"key": "a-key-the-client-chose"})] {
        let url = format!("{}/things", node.base);
        assert_eq!(call("POST", url, Some(&token), Some(body)).await.0, 201);
    }
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
    assert_eq!(
        kinds,
        [
            "user.register",
            "thing.create",
            "thing.key_claim",
            "thing.create"
        ]
    );
    let verify = tool(&["replay", "--verify"]);
    assert!(
        verify.status.success(),
        "{}",
        String::from_utf8_lossy(&verify.stderr)
    );
    assert!(String::from_utf8_lossy(&verify.stdout).contains("verified"));
}
