//! The Redis feeds of the real binary (`FF_FEEDS`), read by a third-party consumer
//! (`tests/feeds_consumer.py`, the `redis` PyPI package), as Mainflux's consumers read them:
//! `mainflux.things` operations and fields for every provisioning action, `mainflux.mqtt`
//! presence for MQTT sessions, and no duplicate or gap across a `kill -9` and restart.

mod feeds_support;
mod process;

use std::process::Command;
use std::time::Duration;

use commands::test_services::redis_url;
use feeds_support::{Fields, check_for, cleanup, consume, position, prefix};
use process::{BIN, Server};
use reqwest::StatusCode;
use serde_json::{Value, json};

/// A logged-in user's HTTP calls against one server.
struct Api {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl Api {
    async fn register(base: &str, email: &str) -> Api {
        let http = reqwest::Client::new();
        let credentials = json!({"email": email, "password": "correct-horse-battery"});
        let r = http
            .post(format!("{base}/users"))
            .json(&credentials)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::CREATED);
        let r = http
            .post(format!("{base}/tokens"))
            .json(&credentials)
            .send()
            .await
            .unwrap();
        let token: Value = r.json().await.unwrap();
        Api {
            http,
            base: base.to_owned(),
            token: token["token"].as_str().unwrap().to_owned(),
        }
    }

    async fn call(&self, method: &str, path: &str, body: Option<Value>) -> reqwest::Response {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        assert!(
            response.status().is_success(),
            "{path}: {}",
            response.status()
        );
        response
    }

    /// Creates one entity; its id from `Location`.
    async fn create(&self, path: &str, body: Value) -> String {
        let response = self.call("POST", path, Some(body)).await;
        let location = response.headers()["location"].to_str().unwrap();
        location.rsplit('/').next().unwrap().to_owned()
    }

    /// Creates many at once; their ids in order.
    async fn bulk(&self, path: &str, field: &str, body: Value) -> Vec<String> {
        let response: Value = self
            .call("POST", path, Some(body))
            .await
            .json()
            .await
            .unwrap();
        let list = response[field].as_array().unwrap();
        list.iter()
            .map(|e| e["id"].as_str().unwrap().to_owned())
            .collect()
    }
}

fn entry(pairs: &[(&str, &str)]) -> Fields {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// Polls the stream with XREAD until it holds `n` entries.
async fn wait_for_entries(url: &str, key: &str, n: usize) -> Vec<(String, Fields)> {
    check_for(&format!("{n} entries in {key}"), || {
        let entries = consume(url, key, None);
        (entries.len() >= n).then_some(entries)
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mainflux_consumer_reads_every_provisioning_action_and_mqtt_presence() {
    let (url, prefix) = (redis_url(), prefix());
    let (things_key, mqtt_key) = (
        format!("{prefix}mainflux.things"),
        format!("{prefix}mainflux.mqtt"),
    );
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_with(
        dir.path(),
        &[
            ("FF_FEEDS", url.as_str()),
            ("FF_FEEDS_PREFIX", prefix.as_str()),
        ],
    );
    let email = "feeds@example.com";
    let api = Api::register(&server.base, email).await;
    let thing = api
        .create("/things", json!({"name": "d0", "metadata": {"room": "a1"}}))
        .await;
    let bulk_things = api
        .bulk("/things/bulk", "things", json!([{"name": "b1"}, {}]))
        .await;
    let channel = api.create("/channels", json!({"name": "c1"})).await;
    let bulk_channels = api
        .bulk(
            "/channels/bulk",
            "channels",
            json!([{"name": "x"}, {"metadata": {}}]),
        )
        .await;
    api.call(
        "PUT",
        &format!("/things/{thing}"),
        Some(json!({"name": "weio"})),
    )
    .await;
    let channel_meta = json!({"metadata": {"k": "v"}});
    api.call("PUT", &format!("/channels/{channel}"), Some(channel_meta))
        .await;
    let pairs =
        json!({"channel_ids": [channel, bulk_channels[0]], "thing_ids": [thing, bulk_things[0]]});
    api.call("POST", "/connect", Some(pairs)).await;
    let one = format!("/channels/{channel}/things/{}", bulk_things[0]);
    api.call("DELETE", &one, None).await;
    let key = "feeds-device-key-after-change";
    api.call(
        "PATCH",
        &format!("/things/{thing}/key"),
        Some(json!({"key": key})),
    )
    .await;
    api.call("DELETE", &format!("/things/{}", bulk_things[1]), None)
        .await;
    api.call("DELETE", &format!("/channels/{}", bulk_channels[1]), None)
        .await;

    let (t, b0, b1) = (
        thing.as_str(),
        bulk_things[0].as_str(),
        bulk_things[1].as_str(),
    );
    let (c, x0, x1) = (
        channel.as_str(),
        bulk_channels[0].as_str(),
        bulk_channels[1].as_str(),
    );
    let created = |op, id, extra: &[(&str, &str)]| {
        let mut fields = entry(&[("operation", op), ("id", id), ("owner", email)]);
        fields.extend(entry(extra));
        fields
    };
    let pair =
        |op, chan, thing| entry(&[("operation", op), ("chan_id", chan), ("thing_id", thing)]);
    let mut want = vec![
        created(
            "thing.create",
            t,
            &[("name", "d0"), ("metadata", r#"{"room":"a1"}"#)],
        ),
        created("thing.create", b0, &[("name", "b1")]),
        created("thing.create", b1, &[]),
        created("channel.create", c, &[("name", "c1")]),
        created("channel.create", x0, &[("name", "x")]),
        created("channel.create", x1, &[("metadata", "{}")]),
        entry(&[("operation", "thing.update"), ("id", t), ("name", "weio")]),
        entry(&[
            ("operation", "channel.update"),
            ("id", c),
            ("metadata", r#"{"k":"v"}"#),
        ]),
        pair("thing.connect", c, t),
        pair("thing.connect", c, b0),
        pair("thing.connect", x0, t),
        pair("thing.connect", x0, b0),
        pair("thing.disconnect", c, b0),
        entry(&[("operation", "thing.remove"), ("id", b1)]),
        entry(&[("operation", "channel.remove"), ("id", x1)]),
    ];
    // Consumed as Mainflux's bootstrap does: a consumer group, every entry once.
    wait_for_entries(&url, &things_key, want.len()).await;
    let entries = consume(&url, &things_key, Some("mainflux.bootstrap"));
    let ids: Vec<u64> = entries.iter().map(|(id, _)| position(id)).collect();
    assert!(
        ids.windows(2).all(|w| w[0] < w[1]),
        "increasing ids: {ids:?}"
    );
    let mut seen: Vec<Fields> = entries.into_iter().map(|(_, f)| f).collect();
    // The order within one bulk request (creates, connect pairs) is the server's; the set
    // is what the request asked for.
    for bulk in [1..3, 4..6, 8..12] {
        seen[bulk.clone()].sort();
        want[bulk].sort();
    }
    assert_eq!(seen, want);
    assert!(consume(&url, &things_key, Some("mainflux.bootstrap")).is_empty());

    // Presence: an MQTT session of the thing, then its end.
    let addr: std::net::SocketAddr = server.mqtt.parse().unwrap();
    let mut options = rumqttc::MqttOptions::new("feeds", addr.ip().to_string(), addr.port());
    options.set_credentials(thing.clone(), key);
    let (client, mut eventloop) = rumqttc::AsyncClient::new(options, 10);
    loop {
        let event = tokio::time::timeout(Duration::from_secs(10), eventloop.poll()).await;
        if let rumqttc::Event::Incoming(rumqttc::Packet::ConnAck(ack)) = event.unwrap().unwrap() {
            assert_eq!(ack.code, rumqttc::ConnectReturnCode::Success);
            break;
        }
    }
    client.disconnect().await.unwrap();
    while eventloop.poll().await.is_ok() {}
    let presence = wait_for_entries(&url, &mqtt_key, 2).await;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    for ((_, fields), kind) in presence.iter().zip(["connect", "disconnect"]) {
        let keys: Vec<&str> = fields.keys().map(String::as_str).collect();
        assert_eq!(keys, ["event_type", "instance", "thing_id", "timestamp"]);
        assert_eq!(fields["event_type"], kind);
        assert_eq!(fields["thing_id"], thing);
        assert_eq!(fields["instance"], "node-a");
        let at: u64 = fields["timestamp"].parse().expect("Unix seconds");
        assert!(at.abs_diff(now) < 60, "{at}");
    }
    assert_eq!(presence.len(), 2, "{presence:?}");

    let metrics = reqwest::get(format!("{}/metrics", server.base))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for line in [
        "ferroflux_feeds_things_written_total 15",
        "ferroflux_feeds_presence_written_total 2",
        "ferroflux_feeds_presence_dropped_total 0",
    ] {
        assert!(metrics.lines().any(|l| l == line), "{line} in\n{metrics}");
    }
    cleanup(&url, &prefix);
}

/// Sessions a stop closes end in the feed before the process exits: a consumer sees each
/// thing disconnect, not a thing forever connected to a node that is gone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stop_writes_the_disconnects_of_the_sessions_it_closes() {
    let (url, prefix) = (redis_url(), prefix());
    let mqtt_key = format!("{prefix}mainflux.mqtt");
    let dir = tempfile::tempdir().unwrap();
    let env = [
        ("FF_FEEDS", url.as_str()),
        ("FF_FEEDS_PREFIX", prefix.as_str()),
    ];
    let server = Server::start_with(dir.path(), &env);
    let api = Api::register(&server.base, "stop@example.com").await;
    let addr: std::net::SocketAddr = server.mqtt.parse().unwrap();
    let mut sessions = Vec::new();
    for n in 0..3 {
        let key = format!("stop-feed-key-{n}");
        let thing = api.create("/things", json!({"key": key})).await;
        let mut options =
            rumqttc::MqttOptions::new(format!("stop{n}"), addr.ip().to_string(), addr.port());
        options.set_credentials(thing.clone(), key);
        let (client, mut eventloop) = rumqttc::AsyncClient::new(options, 10);
        loop {
            let event = tokio::time::timeout(Duration::from_secs(10), eventloop.poll()).await;
            if let rumqttc::Event::Incoming(rumqttc::Packet::ConnAck(_)) = event.unwrap().unwrap() {
                break;
            }
        }
        sessions.push((thing, client, eventloop));
    }
    wait_for_entries(&url, &mqtt_key, 3).await;

    let (status, _) = server.terminate();
    assert!(status.success());
    // No polling: the entries are there when the process has exited.
    let entries = consume(&url, &mqtt_key, None);
    for (thing, _, _) in &sessions {
        let kinds: Vec<&str> = entries
            .iter()
            .filter(|(_, f)| &f["thing_id"] == thing)
            .map(|(_, f)| f["event_type"].as_str())
            .collect();
        assert_eq!(kinds, ["connect", "disconnect"], "{thing}: {entries:?}");
    }
    cleanup(&url, &prefix);
}

/// Positions and types of the history, from `ferroflux events` on the stopped server.
fn history(dir: &std::path::Path) -> Vec<(u64, String)> {
    let output = Command::new(BIN)
        .arg("events")
        .env("FF_DATA_DIR", dir)
        .output()
        .unwrap();
    assert!(output.status.success());
    String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|line| {
            let event: Value = serde_json::from_str(line).unwrap();
            let position = event["position"].as_u64().unwrap();
            (position, event["type"].as_str().unwrap().to_owned())
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_while_provisioning_leaves_no_duplicate_and_no_gap() {
    let (url, prefix) = (redis_url(), prefix());
    let key = format!("{prefix}mainflux.things");
    let dir = tempfile::tempdir().unwrap();
    let env = [
        ("FF_FEEDS", url.as_str()),
        ("FF_FEEDS_PREFIX", prefix.as_str()),
    ];
    let mut server = Server::start_with(dir.path(), &env);
    let api = Api::register(&server.base, "kill9@example.com").await;
    let creating = tokio::spawn(async move {
        for i in 0.. {
            let body = json!({"name": format!("t{i}")});
            let sent = api
                .http
                .post(format!("{}/things", api.base))
                .bearer_auth(&api.token)
                .json(&body)
                .send()
                .await;
            if sent.is_err() {
                return i;
            }
        }
        unreachable!()
    });
    tokio::time::sleep(Duration::from_millis(700)).await;
    server.child.kill().unwrap();
    server.child.wait().unwrap();
    let before = creating.await.unwrap();
    assert!(before > 0, "things were created before the kill");

    let server = Server::start_with(dir.path(), &env);
    let api = Api::register(&server.base, "after@example.com").await;
    for i in 0..5 {
        api.create("/things", json!({"name": format!("after{i}")}))
            .await;
    }
    // A stop lets the feed write the last events first (no polling needed).
    let (status, _) = server.terminate();
    assert!(status.success());

    let feed_kinds = ["thing.create", "channel.create", "thing.connect"];
    let want: Vec<(String, String)> = history(dir.path())
        .into_iter()
        .filter(|(_, kind)| feed_kinds.contains(&kind.as_str()))
        .map(|(position, kind)| (format!("{position}-0"), kind))
        .collect();
    let seen: Vec<(String, String)> = consume(&url, &key, None)
        .into_iter()
        .map(|(id, fields)| (id, fields["operation"].clone()))
        .collect();
    assert_eq!(seen, want);
    cleanup(&url, &prefix);
}

#[test]
fn config_masks_the_password_and_a_bad_or_unreachable_redis_stops_the_start() {
    let dir = tempfile::tempdir().unwrap();
    let shown = process::ferroflux(dir.path())
        .arg("config")
        .env("FF_FEEDS", "redis://ops:hunter2@127.0.0.1:6379/2")
        .output()
        .unwrap();
    let text = String::from_utf8(shown.stdout).unwrap();
    assert!(
        text.contains("FF_FEEDS=redis://ops:****@127.0.0.1:6379/2"),
        "{text}"
    );
    assert!(text.contains("FF_FEEDS_MAXLEN=1000000") && text.contains("FF_FEEDS_PREFIX=\n"));
    assert!(!text.contains("hunter2"));

    let free_port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let unreachable = format!("redis://:hunter2@127.0.0.1:{free_port}");
    for (url, says) in [
        ("http://x", "not a Redis URL"),
        (unreachable.as_str(), "unreachable"),
    ] {
        let output = process::ferroflux(dir.path())
            .arg("serve")
            .env("FF_FEEDS", url)
            .output()
            .unwrap();
        assert!(!output.status.success(), "{url}");
        let stderr = String::from_utf8(output.stderr).unwrap();
        let errors: Vec<&str> = stderr.lines().filter(|l| l.starts_with("error:")).collect();
        assert_eq!(errors.len(), 1, "{stderr}");
        assert!(
            errors[0].contains("FF_FEEDS=") && errors[0].contains(says),
            "{stderr}"
        );
        assert!(
            !stderr.contains("panicked") && !stderr.contains("hunter2"),
            "{stderr}"
        );
    }
}
