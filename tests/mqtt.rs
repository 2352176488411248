//! The MQTT adapter end to end: a provisioned app, the adapter on port 0, real clients
//! (rumqttc, and `mosquitto_pub`/`mosquitto_sub` as separate processes).

mod common;
mod mqtt_support;

use std::process::Stdio;
use std::time::Duration;

use adapters::message::Protocol;
use axum::http::StatusCode;
use common::req;
use mqtt_support::{Client, QUIET, WAIT, World};
use rumqttc::{ConnectReturnCode, ConnectionError, QoS, SubscribeReasonCode};
use tokio::io::{AsyncBufReadExt, BufReader};

fn refused(result: Result<Client, ConnectionError>) -> ConnectReturnCode {
    match result {
        Err(ConnectionError::ConnectionRefused(code)) => code,
        Err(other) => panic!("expected a refused CONNACK, got {other}"),
        Ok(_) => panic!("expected a refused CONNACK, got a connection"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mqtt_to_mqtt_qos0_and_qos1_exactly_once_and_on_the_bus() {
    let w = World::start().await;
    let mut bus = w.bus().await;
    let mut sub = w.client("sub", &w.a).await;
    let filter = w.topic(&w.ch, "#");
    assert_eq!(
        sub.subscribe(&filter, QoS::AtLeastOnce).await,
        SubscribeReasonCode::Success(QoS::AtLeastOnce)
    );
    let publisher = w.client("pub", &w.b).await;

    publisher
        .publish(&w.topic(&w.ch, "temp"), QoS::AtMostOnce, "q0")
        .await;
    let got = sub.message().await;
    assert_eq!(
        (got.topic.as_str(), &got.payload[..]),
        (w.topic(&w.ch, "temp").as_str(), &b"q0"[..])
    );
    publisher
        .publish(&w.topic(&w.ch, ""), QoS::AtLeastOnce, "q1")
        .await;
    let got = sub.message().await;
    assert_eq!(
        (got.topic.as_str(), &got.payload[..], got.qos),
        (w.topic(&w.ch, "").as_str(), &b"q1"[..], QoS::AtLeastOnce)
    );
    sub.nothing_more().await;

    // Both reached the bus once, as the publisher's, over MQTT.
    for (subtopic, payload) in [(Some("temp"), "q0"), (None, "q1")] {
        let message = tokio::time::timeout(WAIT, bus.next())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(message.publisher.to_string(), w.b.id);
        assert_eq!(message.channel.to_string(), w.ch);
        assert_eq!(message.protocol, Protocol::Mqtt);
        assert_eq!(message.subtopic.as_ref().map(|s| s.as_str()), subtopic);
        assert_eq!(&message.payload[..], payload.as_bytes());
    }
    assert!(
        tokio::time::timeout(QUIET, bus.next()).await.is_err(),
        "nothing else on the bus"
    );
    let stats = w.mqtt.stats();
    assert_eq!(
        (stats.connects, stats.publishes, stats.injected),
        (2, 2, 0),
        "{stats:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_non_canonical_topic_is_delivered_on_the_canonical_one_and_stored() {
    let w = World::start().await;
    let mut sub = w.client("sub", &w.a).await;
    sub.subscribe(&w.topic(&w.ch, "a/b"), QoS::AtLeastOnce)
        .await;
    let publisher = w.client("pub", &w.b).await;
    publisher
        .publish(
            &format!("/channels/{}/messages/a.b", w.ch),
            QoS::AtLeastOnce,
            r#"[{"n":"t","v":21.5}]"#,
        )
        .await;
    let got = sub.message().await;
    assert_eq!(got.topic, w.topic(&w.ch, "a/b"));
    sub.nothing_more().await;

    // The telemetry writer stored it with the publisher and protocol.
    let path = format!("/channels/{}/messages", w.ch);
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let page =
            w.t.send(req("GET", &path).auth(&format!("Thing {}", w.a.key)))
                .await
                .expect(StatusCode::OK, "read")
                .json();
        if page["total"] == 1 {
            let stored = &page["messages"][0];
            assert_eq!(stored["publisher"], w.b.id.as_str());
            assert_eq!(stored["protocol"], "mqtt");
            assert_eq!(stored["subtopic"], "a.b");
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "not stored: {page}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_publish_reaches_mqtt_subscribers_exactly_once() {
    let w = World::start().await;
    let mut all = w.client("all", &w.a).await;
    all.subscribe(&w.topic(&w.ch, "#"), QoS::AtLeastOnce).await;
    let mut exact = w.client("exact", &w.b).await;
    exact
        .subscribe(&w.topic(&w.ch, "x/y"), QoS::AtMostOnce)
        .await;

    w.t.send(
        req("POST", format!("/http/channels/{}/messages/x/y", w.ch))
            .auth(&format!("Thing {}", w.b.key))
            .raw(Some("application/json"), "hello"),
    )
    .await
    .expect(StatusCode::ACCEPTED, "HTTP publish");

    for client in [&mut all, &mut exact] {
        let got = client.message().await;
        assert_eq!(
            (got.topic.as_str(), &got.payload[..]),
            (w.topic(&w.ch, "x/y").as_str(), &b"hello"[..])
        );
    }
    all.nothing_more().await;
    exact.nothing_more().await;
    assert_eq!(w.mqtt.stats().injected, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_refusals() {
    let w = World::start().await;
    let mut wrong_key = w.options("wrong-key", &w.a);
    wrong_key.set_credentials(w.a.id.clone(), "not-the-key");
    assert_eq!(
        refused(Client::connect(wrong_key).await),
        ConnectReturnCode::BadUserNamePassword
    );

    // The key of a, the username of b.
    let mut mixed = w.options("mixed", &w.a);
    mixed.set_credentials(w.b.id.clone(), w.a.key.clone());
    assert_eq!(
        refused(Client::connect(mixed).await),
        ConnectReturnCode::BadUserNamePassword
    );

    let addr = w.mqtt.local_addr();
    let anonymous = rumqttc::MqttOptions::new("anonymous", addr.ip().to_string(), addr.port());
    assert_eq!(
        refused(Client::connect(anonymous).await),
        ConnectReturnCode::BadUserNamePassword
    );

    // A will on a channel the thing may not use.
    let foreign_will = w.with_will(w.options("will", &w.a), &w.topic(&w.other, ""), "bye");
    assert_eq!(
        refused(Client::connect(foreign_will).await),
        ConnectReturnCode::NotAuthorized
    );

    // A client id held by another thing's session cannot be taken over.
    let _holder = w.client("shared-id", &w.a).await;
    assert_eq!(
        refused(Client::connect(w.options("shared-id", &w.b)).await),
        ConnectReturnCode::NotAuthorized
    );

    let stats = w.mqtt.stats();
    assert_eq!(
        (stats.connects, stats.connects_refused),
        (1, 5),
        "{stats:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscribe_acl_matrix() {
    let w = World::start().await;
    let mut client = w.client("acl", &w.a).await;
    let refused_filters = [
        w.topic(&w.other, ""),
        w.topic(&w.other, "#"),
        "channels/+/messages".to_owned(),
        "channels/+/messages/#".to_owned(),
        "#".to_owned(),
        "+/+/+".to_owned(),
        format!("channels/{}/#", w.ch),
        format!("channels/{}/messages/a*", w.ch),
        format!("channels/{}/messages/%zz", w.ch),
    ];
    for filter in &refused_filters {
        assert_eq!(
            client.subscribe(filter, QoS::AtLeastOnce).await,
            SubscribeReasonCode::Failure,
            "{filter}"
        );
    }
    for filter in [
        w.topic(&w.ch, ""),
        w.topic(&w.ch, "+/temp"),
        w.topic(&w.ch, "#"),
    ] {
        assert_eq!(
            client.subscribe(&filter, QoS::AtMostOnce).await,
            SubscribeReasonCode::Success(QoS::AtMostOnce),
            "{filter}"
        );
    }
    assert_eq!(
        w.mqtt.stats().subscribes_refused,
        refused_filters.len() as u64
    );

    // A thing connected to nothing may not subscribe to a channel of its owner.
    let mut lonely = w.client("lonely", &w.c).await;
    assert_eq!(
        lonely.subscribe(&w.topic(&w.ch, ""), QoS::AtMostOnce).await,
        SubscribeReasonCode::Failure
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publishing_where_not_allowed_closes_the_connection() {
    let w = World::start().await;
    let mut watcher = w.client("watcher", &w.a).await;
    watcher
        .subscribe(&w.topic(&w.ch, "#"), QoS::AtLeastOnce)
        .await;
    for (id, topic) in [
        ("foreign", w.topic(&w.other, "")),
        ("wildcard", w.topic(&w.ch, "a*")),
        ("malformed", "devices/1/messages".to_owned()),
    ] {
        let mut client = w.client(id, &w.b).await;
        client.publish(&topic, QoS::AtLeastOnce, "nope").await;
        let reason = client.closed().await;
        assert!(!reason.is_empty(), "{id}");
    }
    watcher.nothing_more().await;
    assert_eq!(w.mqtt.stats().publishes_refused, 3);
    assert_eq!(w.mqtt.stats().publishes, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_will_is_delivered_to_subscribers_and_the_bus() {
    let w = World::start().await;
    let mut watcher = w.client("watcher", &w.a).await;
    watcher
        .subscribe(&w.topic(&w.ch, "#"), QoS::AtLeastOnce)
        .await;
    let mut bus = w.bus().await;
    let options = w.with_will(w.options("mortal", &w.b), &w.topic(&w.ch, "status"), "gone");
    let mortal = Client::connect(options).await.expect("connects");
    mortal.vanish();
    let will = watcher.message().await;
    assert_eq!(
        (will.topic.as_str(), &will.payload[..]),
        (w.topic(&w.ch, "status").as_str(), &b"gone"[..])
    );
    watcher.nothing_more().await;
    let message = tokio::time::timeout(WAIT, bus.next())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (message.publisher.to_string(), message.protocol),
        (w.b.id.clone(), Protocol::Mqtt)
    );
}

/// `mosquitto_sub` and `mosquitto_pub` as separate processes. They are required, not
/// optional: `scripts/install-deps` installs `mosquitto-clients`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mosquitto_clients_round_trip() {
    let installed = std::process::Command::new("mosquitto_pub")
        .arg("--help")
        .output()
        .is_ok();
    assert!(
        installed,
        "mosquitto_pub is missing: run scripts/install-deps"
    );
    let w = World::start().await;
    let port = w.mqtt.local_addr().port().to_string();
    // `-d` prints the protocol exchange, so the test knows when the subscription is in.
    // `stdbuf -oL`: line-buffered, so each line arrives when printed.
    let mut sub = tokio::process::Command::new("stdbuf")
        .args([
            "-oL",
            "mosquitto_sub",
            "-h",
            "127.0.0.1",
            "-p",
            &port,
            "-i",
            "mosq-sub",
            "-q",
            "1",
            "-C",
            "2",
            "-W",
            "10",
            "-v",
            "-d",
        ])
        .args(["-u", &w.a.id, "-P", &w.a.key, "-t", &w.topic(&w.ch, "#")])
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("mosquitto_sub starts");
    let mut lines = BufReader::new(sub.stdout.take().unwrap()).lines();
    let mut next_line = async || {
        tokio::time::timeout(WAIT, lines.next_line())
            .await
            .expect("mosquitto_sub output in time")
            .unwrap()
    };
    while let Some(line) = next_line().await {
        if line.starts_with("Subscribed (mid") {
            break;
        }
    }
    let published = tokio::process::Command::new("mosquitto_pub")
        .args(["-h", "127.0.0.1", "-p", &port, "-i", "mosq-pub", "-q", "1"])
        .args([
            "-u",
            &w.b.id,
            "-P",
            &w.b.key,
            "-t",
            &w.topic(&w.ch, "room/1"),
            "-m",
            "from-mosquitto",
        ])
        .status()
        .await
        .expect("mosquitto_pub runs");
    assert!(published.success());
    w.t.send(
        req("POST", format!("/channels/{}/messages/room/2", w.ch))
            .auth(&format!("Thing {}", w.b.key))
            .raw(None, "from-http"),
    )
    .await
    .expect(StatusCode::ACCEPTED, "HTTP publish");
    let mut received = Vec::new();
    while let Some(line) = next_line().await {
        if !line.starts_with("Client ") {
            received.push(line);
        }
    }
    assert_eq!(
        received,
        [
            format!("{} from-mosquitto", w.topic(&w.ch, "room/1")),
            format!("{} from-http", w.topic(&w.ch, "room/2")),
        ]
    );
    assert!(
        sub.wait().await.unwrap().success(),
        "mosquitto_sub got its 2 messages"
    );

    // Bad credentials: mosquitto_pub fails.
    let refused = tokio::process::Command::new("mosquitto_pub")
        .args([
            "-h",
            "127.0.0.1",
            "-p",
            &port,
            "-u",
            &w.b.id,
            "-P",
            "wrong-key",
            "-t",
            &w.topic(&w.ch, ""),
            "-m",
            "x",
        ])
        .stderr(Stdio::piped())
        .output()
        .await
        .unwrap();
    assert!(!refused.status.success());
}
