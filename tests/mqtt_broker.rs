//! The broker's own protocol work, end to end: backlogs larger than one write batch,
//! session takeover, UNSUBSCRIBE, QoS 2 from publishers, MQTT 5 clients, empty client
//! ids, oversized packets and the bounds on filters and sessions.

mod common;
mod mqtt_support;

use mqtt_support::{Client, QUIET, WAIT, World, connect_packet};
use rumqttc::QoS;
use rumqttc::v5::mqttbytes::QoS as QoS5;
use rumqttc::v5::mqttbytes::v5::{ConnectReturnCode, Packet as Packet5};
use rumqttc::v5::{AsyncClient as Client5, ConnectionError, Event, MqttOptions as Options5};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// A backlog larger than what one connection writes at a time (64 KiB) arrives whole even
/// when nothing else happens afterwards: retained messages at SUBSCRIBE, at QoS 0, so no
/// PUBACK from the client wakes the broker either. Small messages, so the socket takes
/// each batch whole and only the broker's own bookkeeping can ask for the next one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backlog_larger_than_one_write_arrives_whole() {
    const TOPICS: usize = 2_000;
    let w = World::start().await;
    let publisher = w.client("pub", &w.b).await;
    let payload = "x".repeat(100);
    for i in 0..TOPICS {
        publisher
            .publish_retained(&w.topic(&w.ch, &format!("t{i}")), &payload)
            .await;
    }
    mqtt_support::poll_until(async || w.mqtt.retained_messages().await, |n| *n == TOPICS).await;

    let mut late = w.client("late", &w.a).await;
    late.subscribe(&w.topic(&w.ch, "#"), QoS::AtMostOnce).await;
    for _ in 0..TOPICS {
        assert_eq!(late.message().await.payload.len(), 100);
    }
    late.nothing_more().await;
}

/// A second connection under the same client id takes the session over: the first is
/// closed, the second resumes its subscriptions and alone gets what follows, once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_connection_with_the_same_client_id_takes_over() {
    let w = World::start().await;
    let mut options = w.options("device", &w.a);
    options.set_clean_session(false);
    let mut first = Client::connect(options.clone()).await.expect("connects");
    first.subscribe(&w.topic(&w.ch, ""), QoS::AtLeastOnce).await;

    let mut second = Client::connect(options).await.expect("connects");
    assert!(
        second.session_present,
        "the session moved to the new connection"
    );
    first.closed().await;

    let publisher = w.client("pub", &w.b).await;
    publisher
        .publish(&w.topic(&w.ch, ""), QoS::AtLeastOnce, "after")
        .await;
    assert_eq!(&second.message().await.payload[..], b"after");
    second.nothing_more().await;
    assert_eq!(w.mqtt.stats().connects, 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unsubscribe_stops_delivery() {
    let w = World::start().await;
    let mut sub = w.client("sub", &w.a).await;
    let filter = w.topic(&w.ch, "+");
    sub.subscribe(&filter, QoS::AtLeastOnce).await;
    sub.client.unsubscribe(&filter).await.expect("queued");
    // Packets are handled in order: once this SUBACK is in, so is the UNSUBSCRIBE.
    sub.subscribe(&w.topic(&w.ch, "elsewhere"), QoS::AtLeastOnce)
        .await;

    let publisher = w.client("pub", &w.b).await;
    publisher
        .publish(&w.topic(&w.ch, "a"), QoS::AtLeastOnce, "nobody")
        .await;
    sub.nothing_more().await;
}

/// QoS 2 from a publisher to a QoS 2 subscriber: delivered once, at QoS 2 (each side's
/// PUBREC/PUBREL/PUBCOMP is rumqttc's; `tests/mqtt_qos2.rs` checks them packet by packet).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_qos2_publish_is_delivered_once() {
    let w = World::start().await;
    let mut sub = w.client("sub", &w.a).await;
    assert_eq!(
        sub.subscribe(&w.topic(&w.ch, ""), QoS::ExactlyOnce).await,
        rumqttc::SubscribeReasonCode::Success(QoS::ExactlyOnce)
    );
    let publisher = w.client("pub", &w.b).await;
    publisher
        .publish(&w.topic(&w.ch, ""), QoS::ExactlyOnce, "once")
        .await;
    let message = sub.message().await;
    assert_eq!(
        (&message.payload[..], message.qos),
        (&b"once"[..], QoS::ExactlyOnce)
    );
    assert!(!message.dup, "a first delivery is not flagged DUP");
    sub.nothing_more().await;
    assert_eq!(w.mqtt.stats().publishes, 1);
}

fn options5(w: &World, client_id: &str, thing: &mqtt_support::Thing, key: &str) -> Options5 {
    let addr = w.mqtt.local_addr();
    let mut options = Options5::new(client_id, addr.ip().to_string(), addr.port());
    options.set_credentials(thing.id.clone(), key);
    options
}

/// Polls a v5 event loop until CONNACK (or the error that ended it), then hands back
/// what arrives.
async fn connect5(options: Options5) -> Result<(Client5, rumqttc::v5::EventLoop), ConnectionError> {
    let (client, mut events) = Client5::new(options, 16);
    tokio::time::timeout(WAIT, async {
        loop {
            if let Event::Incoming(Packet5::ConnAck(_)) = events.poll().await? {
                return Ok((client, events));
            }
        }
    })
    .await
    .expect("CONNACK in time")
}

async fn next_publish5(events: &mut rumqttc::v5::EventLoop) -> rumqttc::v5::mqttbytes::v5::Publish {
    tokio::time::timeout(WAIT, async {
        loop {
            if let Event::Incoming(Packet5::Publish(p)) = events.poll().await.expect("connected") {
                return p;
            }
        }
    })
    .await
    .expect("a PUBLISH in time")
}

/// MQTT 5 clients get v5 reason codes and talk to v3 clients on the same channel.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mqtt5_clients_connect_subscribe_and_publish() {
    let w = World::start().await;
    let refused = connect5(options5(&w, "bad", &w.a, "wrong-key")).await;
    assert!(
        matches!(
            refused,
            Err(ConnectionError::ConnectionRefused(
                ConnectReturnCode::BadUserNamePassword
            ))
        ),
        "{:?}",
        refused.err()
    );

    let (sub5, mut sub_events) = connect5(options5(&w, "sub5", &w.a, &w.a.key))
        .await
        .unwrap();
    sub5.subscribe(w.topic(&w.ch, "#"), QoS5::AtLeastOnce)
        .await
        .unwrap();
    tokio::time::timeout(WAIT, async {
        while !matches!(
            sub_events.poll().await,
            Ok(Event::Incoming(Packet5::SubAck(_)))
        ) {}
    })
    .await
    .expect("SUBACK in time");
    let (pub5, mut pub_events) = connect5(options5(&w, "pub5", &w.b, &w.b.key))
        .await
        .unwrap();
    let mut v3 = w.client("v3", &w.a).await;
    v3.subscribe(&w.topic(&w.ch, "#"), QoS::AtLeastOnce).await;

    pub5.publish(w.topic(&w.ch, "five"), QoS5::AtLeastOnce, false, "from v5")
        .await
        .unwrap();
    tokio::spawn(async move { while pub_events.poll().await.is_ok() {} });
    let got = next_publish5(&mut sub_events).await;
    assert_eq!(&got.payload[..], b"from v5");
    assert_eq!(&got.topic[..], w.topic(&w.ch, "five").as_bytes());
    assert_eq!(&v3.message().await.payload[..], b"from v5");

    v3.publish(&w.topic(&w.ch, "three"), QoS::AtLeastOnce, "from v3")
        .await;
    let got = next_publish5(&mut sub_events).await;
    assert_eq!(&got.payload[..], b"from v3");
}

async fn raw_connect(w: &World, client_id: &str, clean: bool) -> (TcpStream, [u8; 4]) {
    let mut tcp = TcpStream::connect(w.mqtt.local_addr()).await.unwrap();
    tcp.write_all(&connect_packet(client_id, &w.a.id, &w.a.key, 30, clean))
        .await
        .unwrap();
    let mut connack = [0u8; 4];
    tokio::time::timeout(WAIT, tcp.read_exact(&mut connack))
        .await
        .expect("CONNACK in time")
        .unwrap();
    (tcp, connack)
}

/// MQTT 3.1.1: a client without an id gets one when it starts clean, and "identifier
/// rejected" when it asks for a persistent session nobody could resume.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_empty_client_id_is_accepted_only_with_a_clean_session() {
    let w = World::start().await;
    let (_tcp, connack) = raw_connect(&w, "", true).await;
    assert_eq!(connack, [0x20, 2, 0, 0]);
    let (_tcp, connack) = raw_connect(&w, "", false).await;
    assert_eq!(connack, [0x20, 2, 0, 2]);
}

/// A packet announcing more than the maximum packet size closes the connection before
/// its body is read (no buffer is reserved for it).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversized_packet_closes_the_connection() {
    let w = World::start().await;
    let (mut tcp, connack) = raw_connect(&w, "big", true).await;
    assert_eq!(connack, [0x20, 2, 0, 0]);
    // PUBLISH QoS 0, remaining length 100 MiB (varint 0x80 0x80 0x80 0x32).
    tcp.write_all(&[0x30, 0x80, 0x80, 0x80, 0x32])
        .await
        .unwrap();
    let mut rest = [0u8; 16];
    let read = tokio::time::timeout(WAIT, tcp.read(&mut rest))
        .await
        .expect("closed in time");
    assert!(matches!(read, Ok(0) | Err(_)), "closed, not {read:?}");
    tokio::time::sleep(QUIET).await;
    assert_eq!(w.mqtt.stats().publishes, 0);
}

/// Packets sent right behind CONNECT, in the same segment, are handled: here a PUBLISH and
/// a DISCONNECT from a client that closes at once (a firmware's fire-and-forget).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn packets_behind_the_connect_are_handled() {
    let w = World::start().await;
    let mut sub = w.client("sub", &w.a).await;
    sub.subscribe(&w.topic(&w.ch, ""), QoS::AtMostOnce).await;

    let topic = w.topic(&w.ch, "");
    let mut burst = connect_packet("burst", &w.b.id, &w.b.key, 30, true);
    let body_len = 2 + topic.len() + 2;
    burst.extend([0x30, body_len as u8]);
    burst.extend((topic.len() as u16).to_be_bytes());
    burst.extend(topic.as_bytes());
    burst.extend(b"hi");
    burst.extend([0xE0, 0]);
    let mut tcp = TcpStream::connect(w.mqtt.local_addr()).await.unwrap();
    tcp.write_all(&burst).await.unwrap();
    tcp.shutdown().await.unwrap();
    drop(tcp);

    assert_eq!(&sub.message().await.payload[..], b"hi");
    sub.nothing_more().await;
}

/// A session that started clean ends with its connection: a persistent CONNECT under the
/// same id does not inherit it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clean_session_is_not_resumed() {
    let w = World::start().await;
    let mut clean = w.client("device", &w.a).await;
    clean.subscribe(&w.topic(&w.ch, ""), QoS::AtLeastOnce).await;
    let mut options = w.options("device", &w.a);
    options.set_clean_session(false);
    let persistent = Client::connect(options).await.expect("connects");
    assert!(!persistent.session_present);
    clean.closed().await;
}

/// A session holds at most 256 topic filters; the next is refused, a repeated one is not.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscriptions_per_session_are_bounded() {
    let w = World::start().await;
    let mut client = w.client("greedy", &w.a).await;
    for i in 0..256 {
        let filter = w.topic(&w.ch, &format!("s{i}"));
        assert_eq!(
            client.subscribe(&filter, QoS::AtMostOnce).await,
            rumqttc::SubscribeReasonCode::Success(QoS::AtMostOnce),
            "{i}"
        );
    }
    assert_eq!(
        client
            .subscribe(&w.topic(&w.ch, "one-more"), QoS::AtMostOnce)
            .await,
        rumqttc::SubscribeReasonCode::Failure
    );
    assert_eq!(
        client
            .subscribe(&w.topic(&w.ch, "s7"), QoS::AtLeastOnce)
            .await,
        rumqttc::SubscribeReasonCode::Success(QoS::AtLeastOnce),
        "a repeated filter replaces its subscription"
    );
}

/// A thing holds at most `FF_MQTT_MAX_SESSIONS_PER_THING` sessions: one more CONNECT under a
/// new client id is refused (v5 "quota exceeded", v3 "server unavailable") until one ends;
/// the same client id again takes its session over.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_per_thing_are_bounded() {
    let w = World::start_with(|config| config.mqtt_max_sessions_per_thing = 2).await;
    let first = w.client("one", &w.a).await;
    let _second = w.client("two", &w.a).await;
    let v3 = Client::connect(w.options("three", &w.a)).await;
    assert!(
        matches!(
            v3,
            Err(rumqttc::ConnectionError::ConnectionRefused(
                rumqttc::ConnectReturnCode::ServiceUnavailable
            ))
        ),
        "{:?}",
        v3.err()
    );
    let v5 = connect5(options5(&w, "three", &w.a, &w.a.key)).await;
    assert!(
        matches!(
            v5,
            Err(ConnectionError::ConnectionRefused(
                ConnectReturnCode::QuotaExceeded
            ))
        ),
        "{:?}",
        v5.err()
    );
    let _other_thing = w.client("three", &w.b).await;

    first.vanish();
    w.disconnects(1).await;
    let _fourth = w.client("four", &w.a).await;
    let _takeover = w.client("two", &w.a).await;
    assert!(matches!(
        Client::connect(w.options("five", &w.a)).await,
        Err(rumqttc::ConnectionError::ConnectionRefused(
            rumqttc::ConnectReturnCode::ServiceUnavailable
        ))
    ));
}
