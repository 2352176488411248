//! The same message everywhere (issue 15, item 6), on the real binary: each of HTTP, MQTT,
//! MQTT over WebSocket (Paho), WebSocket and CoAP (libcoap's client) publishes once; each of
//! the MQTT, WebSocket and CoAP subscribers receives every message exactly once, whichever
//! protocol sent it.

mod process;
mod websocket_support;

use std::collections::BTreeMap;
use std::process::Command;

use coap_lite::{CoapOption, MessageClass, MessageType, Packet, RequestType, ResponseType};
use futures::StreamExt;
use tokio::net::UdpSocket;
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

/// A CoAP observer (NON) of `path` with `key`, registered when this returns.
async fn coap_observer(server: &str, path: &str, key: &str) -> UdpSocket {
    let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    socket.connect(server).await.unwrap();
    let mut register = Packet::new();
    register.header.set_type(MessageType::NonConfirmable);
    register.header.code = MessageClass::Request(RequestType::Get);
    register.header.message_id = 1;
    register.set_token(vec![7]);
    register.set_observe_value(0);
    for segment in path.split('/') {
        register.add_option(CoapOption::UriPath, segment.as_bytes().to_vec());
    }
    register.add_option(CoapOption::UriQuery, format!("auth={key}").into_bytes());
    socket.send(&register.to_bytes().unwrap()).await.unwrap();
    let answer = coap_next(&socket, WAIT)
        .await
        .expect("registration answered");
    assert_eq!(
        answer.header.code,
        MessageClass::Response(ResponseType::Content)
    );
    socket
}

async fn coap_next(socket: &UdpSocket, wait: std::time::Duration) -> Option<Packet> {
    let mut buffer = [0u8; 2048];
    let len = tokio::time::timeout(wait, socket.recv(&mut buffer))
        .await
        .ok()?
        .unwrap();
    Some(Packet::from_bytes(&buffer[..len]).expect("well-formed CoAP"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_protocol_reaches_every_subscriber_exactly_once() {
    let (w, _data) = World::start(&[]).await;
    let filter = format!("channels/{}/messages/matrix/#", w.ch);
    let mut mqtt = w.mqtt_subscriber(&w.b, &filter).await;
    let mut ws = w.open(&w.url("/matrix/%3E"), &w.b.key).await;
    let mut ws_publisher = w.open(&w.url("/matrix/ws"), &w.a.key).await;
    let coap_path = format!("channels/{}/messages/matrix/>", w.ch);
    let coap = coap_observer(&w.server.coap, &coap_path, &w.b.key).await;

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
    // CoAP (libcoap's client, Debian libcoap3-bin).
    let url = format!(
        "coap://{}/channels/{}/messages/matrix/coap?auth={}",
        w.server.coap, w.ch, w.a.key
    );
    let libcoap = Command::new("coap-client-notls")
        .args(["-m", "post", "-e", "via-coap", &url])
        .output()
        .expect("coap-client-notls (scripts/install-deps)");
    assert!(
        libcoap.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&libcoap.stderr)
    );

    let expected =
        tally(["via-http", "via-mqtt", "via-mqtt-ws", "via-ws", "via-coap"].map(String::from));
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
    let mut got = Vec::new();
    while let Some(notification) = coap_next(&coap, QUIET).await {
        assert_eq!(notification.get_token(), [7]);
        got.push(String::from_utf8(notification.payload).unwrap());
    }
    assert_eq!(tally(got), expected, "the CoAP observer");
}
