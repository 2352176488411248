//! QoS 2 end to end over MQTT 3.1.1, both directions, with a reconnect in the middle of each
//! exchange: a subscriber that sent PUBREC and vanished gets the PUBREL again (never the
//! PUBLISH); a publisher that resends a PUBLISH it got PUBREC for has it delivered once.
//! Raw packets on one side (to stop at any step), rumqttc on the other.

mod common;
mod mqtt_support;

use mqtt_support::{QUIET, WAIT, World, connect_packet};
use rumqttc::{QoS, SubscribeReasonCode};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// A raw MQTT 3.1.1 connection, persistent session, as `thing`.
async fn raw(w: &World, client_id: &str, thing: &mqtt_support::Thing) -> (TcpStream, u8) {
    let mut tcp = TcpStream::connect(w.mqtt.local_addr()).await.unwrap();
    tcp.write_all(&connect_packet(client_id, &thing.id, &thing.key, 30, false))
        .await
        .unwrap();
    let connack = read_packet(&mut tcp).await;
    assert_eq!(connack[..2], [0x20, 2], "CONNACK");
    assert_eq!(connack[3], 0, "accepted");
    (tcp, connack[2])
}

/// One whole packet (fixed header included); panics after `WAIT`.
async fn read_packet(tcp: &mut TcpStream) -> Vec<u8> {
    tokio::time::timeout(WAIT, async {
        let mut packet = vec![tcp.read_u8().await.unwrap()];
        let (mut length, mut shift) = (0usize, 0);
        loop {
            let byte = tcp.read_u8().await.unwrap();
            packet.push(byte);
            length |= usize::from(byte & 0x7F) << shift;
            shift += 7;
            if byte & 0x80 == 0 {
                break;
            }
        }
        let start = packet.len();
        packet.resize(start + length, 0);
        tcp.read_exact(&mut packet[start..]).await.unwrap();
        packet
    })
    .await
    .expect("a packet in time")
}

/// Asserts the server sends nothing for `QUIET`.
async fn silent(tcp: &mut TcpStream) {
    let mut byte = [0u8; 1];
    let read = tokio::time::timeout(QUIET, tcp.read(&mut byte)).await;
    assert!(read.is_err(), "expected nothing, got {read:?} {byte:?}");
}

fn subscribe_packet(packet_id: u16, filter: &str, qos: u8) -> Vec<u8> {
    let mut body = packet_id.to_be_bytes().to_vec();
    body.extend((filter.len() as u16).to_be_bytes());
    body.extend(filter.as_bytes());
    body.push(qos);
    let mut packet = vec![0x82, body.len() as u8];
    packet.extend(body);
    packet
}

fn publish_packet(topic: &str, packet_id: u16, dup: bool, payload: &[u8]) -> Vec<u8> {
    let mut body = (topic.len() as u16).to_be_bytes().to_vec();
    body.extend(topic.as_bytes());
    body.extend(packet_id.to_be_bytes());
    body.extend(payload);
    let mut packet = vec![0x34 | u8::from(dup) << 3, body.len() as u8];
    packet.extend(body);
    packet
}

fn ack(first: u8, packet_id: [u8; 2]) -> [u8; 4] {
    [first, 2, packet_id[0], packet_id[1]]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_qos_2_delivery_resumes_with_pubrel_after_the_subscriber_reconnects() {
    let w = World::start().await;
    let topic = w.topic(&w.ch, "exactly");
    let (mut sub, _) = raw(&w, "sub-qos2", &w.a).await;
    sub.write_all(&subscribe_packet(1, &topic, 2))
        .await
        .unwrap();
    assert_eq!(
        read_packet(&mut sub).await,
        [0x90, 3, 0, 1, 2],
        "QoS 2 granted"
    );

    let publisher = w.client("pub-qos2", &w.b).await;
    publisher.publish(&topic, QoS::ExactlyOnce, "once").await;
    let publish = read_packet(&mut sub).await;
    assert_eq!(publish[0], 0x34, "delivered at QoS 2, first time (no DUP)");
    let topic_end = 4 + topic.len();
    assert_eq!(&publish[topic_end + 2..], b"once");
    let id = [publish[topic_end], publish[topic_end + 1]];

    sub.write_all(&ack(0x50, id)).await.unwrap();
    assert_eq!(read_packet(&mut sub).await, ack(0x62, id), "PUBREL");
    // Gone before PUBCOMP: the broker keeps the exchange in the session.
    drop(sub);

    let (mut sub, session_present) = raw(&w, "sub-qos2", &w.a).await;
    assert_eq!(session_present, 1, "the session was kept");
    assert_eq!(
        read_packet(&mut sub).await,
        ack(0x62, id),
        "the PUBREL again, not the PUBLISH"
    );
    sub.write_all(&ack(0x70, id)).await.unwrap();
    silent(&mut sub).await;

    // Completed: a further reconnect has nothing to resend.
    drop(sub);
    let (mut sub, _) = raw(&w, "sub-qos2", &w.a).await;
    silent(&mut sub).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_qos_2_publish_resent_after_a_reconnect_is_delivered_once() {
    let w = World::start().await;
    let topic = w.topic(&w.ch, "exactly");
    let mut subscriber = w.client("sub-once", &w.a).await;
    assert_eq!(
        subscriber.subscribe(&topic, QoS::ExactlyOnce).await,
        SubscribeReasonCode::Success(QoS::ExactlyOnce)
    );

    let (mut publisher, _) = raw(&w, "pub-once", &w.b).await;
    publisher
        .write_all(&publish_packet(&topic, 7, false, b"one"))
        .await
        .unwrap();
    assert_eq!(
        read_packet(&mut publisher).await,
        ack(0x50, [0, 7]),
        "PUBREC"
    );
    drop(publisher);

    let (mut publisher, session_present) = raw(&w, "pub-once", &w.b).await;
    assert_eq!(session_present, 1);
    publisher
        .write_all(&publish_packet(&topic, 7, true, b"one"))
        .await
        .unwrap();
    assert_eq!(
        read_packet(&mut publisher).await,
        ack(0x50, [0, 7]),
        "PUBREC again for the resent PUBLISH"
    );
    publisher.write_all(&ack(0x62, [0, 7])).await.unwrap();
    assert_eq!(
        read_packet(&mut publisher).await,
        ack(0x70, [0, 7]),
        "PUBCOMP"
    );

    let message = subscriber.message().await;
    assert_eq!(&message.payload[..], b"one");
    assert_eq!(message.qos, QoS::ExactlyOnce, "min(QoS 2, QoS 2)");
    subscriber.nothing_more().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delivery_is_at_the_lower_of_publish_and_subscription_qos() {
    let w = World::start().await;
    let topic = w.topic(&w.ch, "levels");
    let mut at_1 = w.client("sub-1", &w.a).await;
    at_1.subscribe(&topic, QoS::AtLeastOnce).await;
    let mut at_2 = w.client("sub-2", &w.a).await;
    at_2.subscribe(&topic, QoS::ExactlyOnce).await;
    let publisher = w.client("pub-levels", &w.b).await;
    for qos in [QoS::AtMostOnce, QoS::AtLeastOnce, QoS::ExactlyOnce] {
        publisher.publish(&topic, qos, "m").await;
        let capped = match qos {
            QoS::ExactlyOnce => QoS::AtLeastOnce,
            other => other,
        };
        assert_eq!(at_1.message().await.qos, capped, "{qos:?}");
        assert_eq!(at_2.message().await.qos, qos, "{qos:?}");
    }
    at_1.nothing_more().await;
    at_2.nothing_more().await;
}
