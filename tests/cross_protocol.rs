//! The same message everywhere (issue 15, item 6), on the real binary: each of HTTP, MQTT,
//! MQTT over WebSocket (Paho) and WebSocket publishes once; each of the MQTT and WebSocket
//! subscribers receives every message exactly once, whichever protocol sent it. (CoAP
//! joins the matrix with its adapter.)

mod process;
mod websocket_support;

use std::collections::BTreeMap;
use std::process::Command;

use futures::StreamExt;
use tokio_tungstenite::tungstenite::Message as Frame;
use websocket_support::{QUIET, WAIT, World, send_text};

/// The Debian interpreter, where apt puts paho (scripts/install-deps).
fn python() -> &'static str {
    match std::path::Path::new("/usr/bin/python3").exists() {
        true => "/usr/bin/python3",
        false => "python3",
    }
}

/// Everything a subscriber got until `QUIET` passed without a message: payload → count.
fn tally(payloads: impl IntoIterator<Item = String>) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for payload in payloads {
        *counts.entry(payload).or_insert(0) += 1;
    }
    counts
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_protocol_reaches_every_subscriber_exactly_once() {
    let (w, _data) = World::start(&[]).await;
    let filter = format!("channels/{}/messages/matrix/#", w.ch);
    let mut mqtt = w.mqtt_subscriber(&w.b, &filter).await;
    let mut ws = w.open(&w.url("/matrix/%3E"), &w.b.key).await;
    let mut ws_publisher = w.open(&w.url("/matrix/ws"), &w.a.key).await;

    // HTTP.
    w.http_publish(&w.a.key, "/matrix/http", "text/plain", b"via-http".to_vec())
        .await;
    // MQTT.
    let (host, port) = w.server.mqtt.rsplit_once(':').unwrap();
    let mut options = rumqttc::MqttOptions::new("matrix-pub", host, port.parse().unwrap());
    options.set_credentials(w.a.id.clone(), w.a.key.clone());
    let (client, mut events) = rumqttc::AsyncClient::new(options, 16);
    let (acked_tx, mut acked) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok(event) = events.poll().await {
            if let rumqttc::Event::Incoming(rumqttc::Packet::PubAck(_)) = event {
                let _ = acked_tx.send(());
            }
        }
    });
    let topic = |tail: &str| format!("channels/{}/messages/matrix/{tail}", w.ch);
    client
        .publish(topic("mqtt"), rumqttc::QoS::AtLeastOnce, false, "via-mqtt")
        .await
        .unwrap();
    tokio::time::timeout(WAIT, acked.recv())
        .await
        .expect("PUBACK");
    // MQTT over WebSocket (Paho, a third-party client).
    let http = w.server.base.trim_start_matches("http://").to_owned();
    let (http_host, http_port) = http.rsplit_once(':').unwrap();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/mqtt_ws_client.py");
    let paho = Command::new(python())
        .args([script, http_host, http_port, &w.a.id, &w.a.key, "pub"])
        .args([&topic("mqtt-ws"), "via-mqtt-ws"])
        .output()
        .expect("python3 with paho (scripts/install-deps)");
    assert!(
        paho.status.success(),
        "{}",
        String::from_utf8_lossy(&paho.stderr)
    );
    // WebSocket.
    send_text(&mut ws_publisher, "via-ws").await;

    let expected = tally(["via-http", "via-mqtt", "via-mqtt-ws", "via-ws"].map(String::from));
    let mut got = Vec::new();
    while let Ok(next) = tokio::time::timeout(QUIET, mqtt.next_or_none()).await {
        got.push(String::from_utf8(next.expect("MQTT client running").1).unwrap());
    }
    assert_eq!(tally(got), expected, "the MQTT subscriber");
    let mut got = Vec::new();
    while let Ok(frame) = tokio::time::timeout(QUIET, ws.next()).await {
        match frame.expect("socket open").expect("readable") {
            Frame::Text(text) => got.push(text.to_string()),
            Frame::Ping(_) | Frame::Pong(_) => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(tally(got), expected, "the WebSocket subscriber");
}
