//! Messages across nodes (`FF_BUS=nats://…`): what a thing publishes through one node
//! reaches subscribers on the other, whatever the protocols, MQTT 5 properties included,
//! and every node stores it, so any node's reader answers alike.

mod cluster_support;
mod common;
mod mqtt5_support;
mod mqtt_support;
mod process;

use std::time::Duration;

use cluster_support::*;
use mqtt5_support::{V5, topic_of};
use process::Server;
use rumqttc::v5::MqttOptions;
use rumqttc::v5::mqttbytes::v5::PublishProperties;
use serde_json::json;
use uuid::Uuid;

/// A thing on `channel`, created through `base`: `(id, key)`.
async fn thing(base: &str, token: &str, channel: &str) -> (String, String) {
    let key = format!("key-{}", Uuid::new_v4());
    let (status, _, id) = call(
        "POST",
        format!("{base}/things"),
        Some(token),
        Some(json!({"key": key})),
    )
    .await;
    assert_eq!(status, 201);
    let connect = format!("{base}/channels/{channel}/things/{id}");
    assert_eq!(call("PUT", connect, Some(token), None).await.0, 200);
    (id, key)
}

fn v5_options(server: &Server, client_id: &str, (id, key): &(String, String)) -> MqttOptions {
    let (host, port) = server.mqtt.rsplit_once(':').expect("host:port");
    let mut options = MqttOptions::new(client_id, host, port.parse().expect("port"));
    options.set_credentials(id.clone(), key.clone());
    options.set_keep_alive(Duration::from_secs(30));
    options
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_cross_nodes_with_their_properties_and_every_node_stores_them() {
    let cluster = Cluster::new();
    let (one, two) = (cluster.start("one"), cluster.start("two"));
    let token = user(&one.base, &two.base).await;
    let (_, _, channel) = call(
        "POST",
        format!("{}/channels", one.base),
        Some(&token),
        Some(json!({})),
    )
    .await;
    let (publisher, subscriber) = (
        thing(&one.base, &token, &channel).await,
        thing(&one.base, &token, &channel).await,
    );
    until("the subscriber's key on node two", 202, || {
        publish(&two.base, &channel, &subscriber.1)
    })
    .await;

    let mut on_two = V5::connect(v5_options(&two, "sub-on-two", &subscriber)).await;
    on_two
        .subscribe(&format!("channels/{channel}/messages/#"), None)
        .await;
    let on_one = V5::connect(v5_options(&one, "pub-on-one", &publisher)).await;
    let sent = PublishProperties {
        payload_format_indicator: Some(1),
        message_expiry_interval: Some(300),
        content_type: Some("text/plain".into()),
        response_topic: Some(format!("channels/{channel}/messages/replies")),
        correlation_data: Some(b"\x00req-7".to_vec().into()),
        user_properties: vec![("site".into(), "north".into())],
        ..PublishProperties::default()
    };
    let topic = format!("channels/{channel}/messages/requests");
    on_one.publish(&topic, b"over mqtt", sent.clone()).await;
    let got = on_two.message().await;
    assert_eq!(
        (topic_of(&got), &got.payload[..]),
        (topic, &b"over mqtt"[..])
    );
    let properties = got.properties.expect("properties from the other node");
    let left = properties.message_expiry_interval.expect("an expiry");
    assert!((290..=300).contains(&left), "the lifetime left: {left}");
    assert_eq!(
        PublishProperties {
            message_expiry_interval: None,
            ..properties
        },
        PublishProperties {
            message_expiry_interval: None,
            ..sent
        }
    );

    // HTTP through node one reaches the MQTT subscriber on node two once.
    assert_eq!(publish(&one.base, &channel, &publisher.1).await, 202);
    let got = on_two.message().await;
    assert_eq!(topic_of(&got), format!("channels/{channel}/messages"));
    on_two.quiet().await;

    // Both nodes store both messages (the two publishes, plus the probe on node two).
    for node in [&one, &two] {
        let stored = || async {
            let url = format!("{}/channels/{channel}/messages?limit=10", node.base);
            let (_, page, _) =
                call("GET", url, Some(&format!("Thing {}", subscriber.1)), None).await;
            (page["total"].as_u64() >= Some(3)).then_some(())
        };
        eventually("messages stored on every node", stored).await;
    }
}
