//! MQTT 5 message properties end to end, with a real v5 client (rumqttc): they reach v5
//! subscribers as published (and the bus, for every other reader), request/response works
//! between two things, an expired message leaves no session queue and no retained store,
//! a SenML content type makes the stored message measurements, and a flood of user
//! properties is refused as a packet too large.

mod common;
mod mqtt5_support;
mod mqtt_support;

use mqtt_support::{WAIT, World};
use mqtt5_support::{V5, options, topic_of};
use rumqttc::v5::mqttbytes::QoS;
use rumqttc::v5::mqttbytes::v5::PublishProperties;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

fn all_properties(response_topic: &str) -> PublishProperties {
    PublishProperties {
        payload_format_indicator: Some(1),
        message_expiry_interval: Some(120),
        content_type: Some("text/plain; charset=utf-8".into()),
        response_topic: Some(response_topic.into()),
        correlation_data: Some(b"\x00req-1".to_vec().into()),
        user_properties: vec![
            ("site".into(), "north".into()),
            ("site".into(), "south".into()),
        ],
        ..PublishProperties::default()
    }
}

#[tokio::test]
async fn properties_reach_v5_subscribers_and_the_bus_as_published() {
    let w = World::start().await;
    let topic = w.topic(&w.ch, "props");
    let mut subscriber = V5::connect(options(&w, "sub", &w.a, 0)).await;
    subscriber.subscribe(&topic, None).await;
    let mut bus = w.bus().await;
    let publisher = V5::connect(options(&w, "pub", &w.b, 0)).await;
    let sent = all_properties(&w.topic(&w.ch, "replies"));
    publisher.publish(&topic, b"hello", sent.clone()).await;

    let got = subscriber.message().await;
    assert_eq!(&got.payload[..], b"hello");
    let properties = got.properties.expect("properties");
    assert_eq!(
        PublishProperties {
            message_expiry_interval: None,
            ..properties.clone()
        },
        PublishProperties {
            message_expiry_interval: None,
            ..sent
        },
        "every property as published"
    );
    let left = properties.message_expiry_interval.expect("an expiry");
    assert!((119..=120).contains(&left), "the lifetime left: {left}");

    let on_bus = bus.next().await.unwrap();
    let carried = on_bus.properties.as_ref().expect("carried on the bus");
    assert_eq!(carried.user.len(), 2);
    assert_eq!(
        carried.response_topic.as_deref(),
        Some(&*w.topic(&w.ch, "replies"))
    );
    assert_eq!(
        on_bus.content_type.as_ref().map(|c| c.as_str()),
        Some("text/plain; charset=utf-8")
    );
}

/// Thing a asks, thing b answers on the response topic a named, with a's correlation data.
#[tokio::test]
async fn request_response_between_two_things_on_one_channel() {
    let w = World::start().await;
    let (requests, replies) = (w.topic(&w.ch, "requests"), w.topic(&w.ch, "replies/a"));
    let mut responder = V5::connect(options(&w, "responder", &w.b, 0)).await;
    responder.subscribe(&requests, None).await;
    let mut requester = V5::connect(options(&w, "requester", &w.a, 0)).await;
    requester.subscribe(&replies, None).await;

    let ask = PublishProperties {
        response_topic: Some(replies.clone()),
        correlation_data: Some(b"42".to_vec().into()),
        ..PublishProperties::default()
    };
    requester.publish(&requests, b"what time is it", ask).await;
    let request = responder.message().await;
    let asked = request.properties.expect("request properties");
    let answer = PublishProperties {
        correlation_data: asked.correlation_data.clone(),
        ..PublishProperties::default()
    };
    let reply_to = asked.response_topic.expect("a response topic");
    responder.publish(&reply_to, b"noon", answer).await;

    let reply = requester.message().await;
    assert_eq!(topic_of(&reply), replies);
    assert_eq!(&reply.payload[..], b"noon");
    let correlation = reply.properties.and_then(|p| p.correlation_data);
    assert_eq!(correlation.as_deref(), Some(&b"42"[..]));
}

/// A message that expires while its subscriber is away never reaches it; one that does not
/// arrives with the lifetime it has left. An expired retained message is not sent either.
#[tokio::test]
async fn expired_messages_leave_no_session_queue_and_no_retained_store() {
    let w = World::start().await;
    let topic = w.topic(&w.ch, "expiring");
    let mut away = V5::connect(options(&w, "away", &w.a, 300)).await;
    away.subscribe(&topic, None).await;
    away.disconnect().await;
    w.disconnects(1).await;

    let publisher = V5::connect(options(&w, "pub", &w.b, 0)).await;
    let lives = |secs| PublishProperties {
        message_expiry_interval: Some(secs),
        ..PublishProperties::default()
    };
    publisher.publish(&topic, b"short", lives(1)).await;
    publisher.publish(&topic, b"long", lives(60)).await;
    publisher
        .client
        .publish_with_properties(
            w.topic(&w.ch, "expiring/state"),
            QoS::AtLeastOnce,
            true,
            b"stale".to_vec(),
            lives(1),
        )
        .await
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;

    let mut back = options(&w, "away", &w.a, 300);
    back.set_clean_start(false);
    let mut back = V5::connect(back).await;
    assert!(back.connack.session_present);
    let got = back.message().await;
    assert_eq!(&got.payload[..], b"long", "the expired one was dropped");
    let left = got.properties.and_then(|p| p.message_expiry_interval);
    assert!(left.is_some_and(|s| s < 60), "lifetime left: {left:?}");
    back.quiet().await;

    let mut late = V5::connect(options(&w, "late", &w.b, 0)).await;
    late.subscribe(&w.topic(&w.ch, "expiring/#"), None).await;
    late.quiet().await;
}

/// QoS 2 over MQTT 5 to a session that was away: delivered once, at QoS 2, with the
/// properties it was published with.
#[tokio::test]
async fn a_qos_2_message_with_properties_reaches_an_away_session_once() {
    let w = World::start().await;
    let topic = w.topic(&w.ch, "exactly");
    let away = V5::connect(options(&w, "away2", &w.a, 300)).await;
    away.client
        .subscribe(&topic, QoS::ExactlyOnce)
        .await
        .expect("SUBSCRIBE queued");
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    away.disconnect().await;
    w.disconnects(1).await;

    let publisher = V5::connect(options(&w, "pub2", &w.b, 0)).await;
    let tagged = PublishProperties {
        user_properties: vec![("batch".into(), "7".into())],
        ..PublishProperties::default()
    };
    publisher
        .client
        .publish_with_properties(&topic, QoS::ExactlyOnce, false, b"once".to_vec(), tagged)
        .await
        .unwrap();

    let mut back = options(&w, "away2", &w.a, 300);
    back.set_clean_start(false);
    let mut back = V5::connect(back).await;
    assert!(back.connack.session_present);
    let got = back.message().await;
    assert_eq!(
        (got.qos, &got.payload[..]),
        (QoS::ExactlyOnce, &b"once"[..])
    );
    let user = got
        .properties
        .map(|p| p.user_properties)
        .unwrap_or_default();
    assert_eq!(user, [("batch".to_string(), "7".to_string())]);
    back.quiet().await;
}

/// `application/senml+json` and `+cbor` content types make the writer store measurements;
/// without the type, the same CBOR would be stored opaque.
#[tokio::test]
async fn a_senml_content_type_is_stored_as_measurements_and_read_back() {
    let w = World::start().await;
    let publisher = V5::connect(options(&w, "pub", &w.a, 0)).await;
    let typed = |content_type: &str| PublishProperties {
        content_type: Some(content_type.into()),
        ..PublishProperties::default()
    };
    let json_pack = br#"[{"bn":"dev:","n":"temp","u":"Cel","v":21.5}]"#;
    let mut cbor_pack = Vec::new();
    let pack = vec![ciborium::Value::Map(vec![
        (ciborium::Value::Integer(0.into()), "hum".into()),
        (ciborium::Value::Integer(2.into()), 40.into()),
    ])];
    ciborium::into_writer(&pack, &mut cbor_pack).unwrap();
    let topic = w.topic(&w.ch, "senml");
    publisher
        .publish(&topic, json_pack, typed("application/senml+json"))
        .await;
    publisher
        .publish(&topic, &cbor_pack, typed("application/senml+cbor"))
        .await;

    let page = w.t.read_until(&w.ch, "", &w.token, 2).await;
    let mut names: Vec<_> = common::reading::messages(&page)
        .iter()
        .map(|m| (m["name"].clone(), m["value"].clone(), m["protocol"].clone()))
        .collect();
    names.sort_by_key(|n| n.0.to_string());
    assert_eq!(
        names,
        [
            (json!("dev:temp"), json!(21.5), json!("mqtt")),
            (json!("hum"), json!(40.0), json!("mqtt")),
        ]
    );
}

/// User properties count in the packet limit (`FF_MAX_PAYLOAD` plus headroom): a flood is
/// refused with DISCONNECT 0x95 and never reaches the bus.
#[tokio::test]
async fn a_user_property_flood_is_refused_as_a_packet_too_large() {
    let w = World::start_with(|c| c.max_payload = 1024).await;
    let mut bus = w.bus().await;
    let mut tcp = TcpStream::connect(w.mqtt.local_addr()).await.unwrap();
    tcp.write_all(&v5_connect(&w.a.id, &w.a.key)).await.unwrap();
    let mut connack = [0u8; 4];
    tcp.read_exact(&mut connack).await.unwrap();
    assert_eq!(connack[..2], [0x20, connack[1]], "CONNACK");
    let mut rest = vec![0u8; usize::from(connack[1]) - 2];
    tcp.read_exact(&mut rest).await.unwrap();
    assert_eq!(connack[3], 0, "accepted");

    let mut properties = Vec::new();
    while properties.len() < 16 * 1024 {
        properties.extend([0x26, 0, 4]);
        properties.extend(b"name");
        properties.extend([0, 5]);
        properties.extend(b"value");
    }
    tcp.write_all(&v5_publish(&w.topic(&w.ch, "flood"), &properties, b"x"))
        .await
        .unwrap();
    let mut goodbye = [0u8; 3];
    tokio::time::timeout(WAIT, tcp.read_exact(&mut goodbye))
        .await
        .expect("DISCONNECT in time")
        .unwrap();
    // Type, remaining length (a reason string follows the code), code.
    assert_eq!(
        (goodbye[0], goodbye[2]),
        (0xE0, 0x95),
        "DISCONNECT packet too large"
    );
    let nothing = tokio::time::timeout(mqtt_support::QUIET, bus.next()).await;
    assert!(nothing.is_err(), "nothing published: {nothing:?}");
}

fn field(bytes: &[u8]) -> Vec<u8> {
    let mut out = (bytes.len() as u16).to_be_bytes().to_vec();
    out.extend_from_slice(bytes);
    out
}

fn with_length(first: u8, body: Vec<u8>) -> Vec<u8> {
    let (mut packet, mut length) = (vec![first], body.len());
    loop {
        let byte = (length % 128) as u8;
        length /= 128;
        packet.push(if length > 0 { byte | 0x80 } else { byte });
        if length == 0 {
            break;
        }
    }
    packet.extend(body);
    packet
}

/// A v5 CONNECT, clean start, no properties.
fn v5_connect(username: &str, password: &str) -> Vec<u8> {
    let mut body = field(b"MQTT");
    body.extend([5, 0b1100_0010, 0, 30, 0]);
    for part in ["flood", username, password] {
        body.extend(field(part.as_bytes()));
    }
    with_length(0x10, body)
}

/// A v5 QoS 0 PUBLISH with the given property bytes.
fn v5_publish(topic: &str, properties: &[u8], payload: &[u8]) -> Vec<u8> {
    let mut body = field(topic.as_bytes());
    let mut length = Vec::new();
    let mut n = properties.len();
    loop {
        let byte = (n % 128) as u8;
        n /= 128;
        length.push(if n > 0 { byte | 0x80 } else { byte });
        if n == 0 {
            break;
        }
    }
    body.extend(length);
    body.extend(properties);
    body.extend(payload);
    with_length(0x30, body)
}
