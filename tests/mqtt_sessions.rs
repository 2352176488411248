//! MQTT session features end to end with rumqttc: retained messages, persistent sessions
//! (and their end when the thing loses access while away), keep-alive.

mod common;
mod mqtt_support;

use std::time::Duration;

use axum::http::StatusCode;
use common::req;
use mqtt_support::{Client, World, poll_until};
use rumqttc::{QoS, SubscribeReasonCode};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Connects `client_id` as `thing` with a persistent session (clean session off).
async fn persistent(w: &World, client_id: &str, thing: &mqtt_support::Thing) -> Client {
    let mut options = w.options(client_id, thing);
    options.set_clean_session(false);
    Client::connect(options).await.expect("connects")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retained_message_reaches_later_subscribers_until_cleared() {
    let w = World::start().await;
    let publisher = w.client("pub", &w.b).await;
    publisher
        .publish_retained(&w.topic(&w.ch, "state"), "on")
        .await;
    // A non-canonical spelling is retained under the canonical topic (one per subtopic).
    publisher
        .publish_retained(&format!("/channels/{}/messages/mode?x=1", w.ch), "eco")
        .await;
    wait_retained(&w, 2).await;

    let mut late = w.client("late", &w.a).await;
    late.subscribe(&w.topic(&w.ch, "#"), QoS::AtLeastOnce).await;
    let mut got = Vec::new();
    for _ in 0..2 {
        let message = late.message().await;
        assert!(message.retain, "delivered with the retain flag");
        got.push((
            message.topic,
            String::from_utf8_lossy(&message.payload).into_owned(),
        ));
    }
    got.sort();
    assert_eq!(
        got,
        [
            (w.topic(&w.ch, "mode"), "eco".to_owned()),
            (w.topic(&w.ch, "state"), "on".to_owned())
        ]
    );
    late.nothing_more().await;

    // An empty retained payload clears the topic.
    publisher
        .publish_retained(&w.topic(&w.ch, "state"), "")
        .await;
    let cleared = late.message().await;
    assert!(cleared.payload.is_empty());
    let mut later = w.client("later", &w.a).await;
    later
        .subscribe(&w.topic(&w.ch, "state"), QoS::AtLeastOnce)
        .await;
    later.nothing_more().await;
    assert_eq!(w.mqtt.retained_messages().await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retained_publish_where_not_allowed_is_not_retained() {
    let w = World::start().await;
    let mut intruder = w.client("intruder", &w.b).await;
    intruder
        .publish_retained(&w.topic(&w.other, "state"), "forged")
        .await;
    intruder.closed().await;
    assert_eq!(w.mqtt.retained_messages().await, 0);

    // A thing allowed on `other` subscribes there and gets nothing.
    w.t.connect(&w.token, &w.other, &w.c.id).await;
    let mut c = w.client("c", &w.c).await;
    c.subscribe(&w.topic(&w.other, "#"), QoS::AtLeastOnce).await;
    c.nothing_more().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn removing_a_channel_drops_its_retained_messages() {
    let w = World::start().await;
    let publisher = w.client("pub", &w.b).await;
    publisher.publish_retained(&w.topic(&w.ch, "a"), "1").await;
    publisher
        .publish_retained(&w.topic(&w.ch, "b/c"), "2")
        .await;
    w.t.connect(&w.token, &w.other, &w.c.id).await;
    let mut kept = w.client("kept", &w.c).await;
    kept.publish_retained(&w.topic(&w.other, "x"), "3").await;
    wait_retained(&w, 3).await;

    w.t.send(req("DELETE", format!("/channels/{}", w.ch)).token(&w.token))
        .await
        .expect(StatusCode::NO_CONTENT, "remove channel");
    wait_retained(&w, 1).await;
    kept.nothing_more().await;
}

async fn wait_retained(w: &World, n: usize) {
    poll_until(async || w.mqtt.retained_messages().await, |&held| held == n).await;
}

/// A channel retains at most `FF_MQTT_MAX_RETAINED_BYTES`: a retained message beyond them
/// is delivered live but not retained, and counted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_channel_retains_at_most_its_byte_limit() {
    const PAYLOAD: usize = 1000;
    // Room for two messages of `PAYLOAD` bytes on subtopics `s0`…, not three (a channel id
    // is as long as any other).
    let one = "channels/00000000-0000-0000-0000-000000000000/messages/s0".len() + PAYLOAD;
    let w = World::start_with(|config| {
        config.max_payload = 1024;
        config.mqtt_max_retained_bytes = 2 * one + one / 2;
    })
    .await;
    let mut live = w.client("live", &w.a).await;
    live.subscribe(&w.topic(&w.ch, "#"), QoS::AtLeastOnce).await;
    let publisher = w.client("pub", &w.b).await;
    for n in 0..3 {
        publisher
            .publish_retained(&w.topic(&w.ch, &format!("s{n}")), &"x".repeat(PAYLOAD))
            .await;
        live.message().await;
    }
    wait_retained(&w, 2).await;
    assert_eq!(w.mqtt.stats().retained_refused, 1);

    let mut late = w.client("late", &w.a).await;
    late.subscribe(&w.topic(&w.ch, "#"), QoS::AtLeastOnce).await;
    let mut topics = vec![late.message().await.topic, late.message().await.topic];
    topics.sort();
    assert_eq!(topics, [w.topic(&w.ch, "s0"), w.topic(&w.ch, "s1")]);
    late.nothing_more().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_persistent_session_gets_what_was_published_while_away() {
    let w = World::start().await;
    let mut keeper = persistent(&w, "keeper", &w.a).await;
    assert!(!keeper.session_present);
    keeper
        .subscribe(&w.topic(&w.ch, "#"), QoS::AtLeastOnce)
        .await;
    keeper.vanish();
    w.disconnects(1).await;

    let publisher = w.client("pub", &w.b).await;
    publisher
        .publish(&w.topic(&w.ch, "m"), QoS::AtLeastOnce, "over mqtt")
        .await;
    w.t.send(
        req("POST", format!("/channels/{}/messages/h", w.ch))
            .auth(&format!("Thing {}", w.b.key))
            .raw(Some("text/plain"), "over http"),
    )
    .await
    .expect(StatusCode::ACCEPTED, "HTTP publish");
    tokio::time::sleep(Duration::from_millis(200)).await;

    let mut back = persistent(&w, "keeper", &w.a).await;
    assert!(back.session_present, "the session was resumed");
    let mut got = Vec::new();
    for _ in 0..2 {
        let message = back.message().await;
        assert_eq!(message.qos, QoS::AtLeastOnce);
        got.push(String::from_utf8_lossy(&message.payload).into_owned());
    }
    got.sort();
    assert_eq!(got, ["over http", "over mqtt"]);
    back.nothing_more().await;
    back.vanish();
    w.disconnects(2).await;

    // A clean session under the same client id discards it.
    let clean = w.client("keeper", &w.a).await;
    assert!(!clean.session_present);
}

/// A persistent subscriber `keeper` (thing a) to the whole channel goes away; thing b then
/// publishes `payloads` at QoS 1, each PUBACKed.
async fn publish_while_away(w: &World, payloads: impl Iterator<Item = String>) {
    let mut keeper = persistent(w, "keeper", &w.a).await;
    keeper
        .subscribe(&w.topic(&w.ch, "#"), QoS::AtLeastOnce)
        .await;
    keeper.vanish();
    w.disconnects(1).await;
    let publisher = w.client("pub", &w.b).await;
    let mut sent = 0;
    for payload in payloads {
        publisher
            .publish(&w.topic(&w.ch, ""), QoS::AtLeastOnce, &payload)
            .await;
        sent += 1;
    }
    poll_until(async || w.mqtt.stats(), |s| s.publishes >= sent).await;
}

/// Every message PUBACKed while the subscriber was away is delivered when it is back: more
/// than rmqtt's default queue (1,000), which dropped the rest silently.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_away_session_gets_every_acknowledged_message() {
    const SENT: usize = 2_500;
    let w = World::start().await;
    publish_while_away(&w, (0..SENT).map(|n| n.to_string())).await;

    let mut back = persistent(&w, "keeper", &w.a).await;
    assert!(back.session_present);
    for n in 0..SENT {
        let message = back.message().await;
        assert_eq!(
            &message.payload[..],
            n.to_string().as_bytes(),
            "in order, none lost"
        );
    }
    back.nothing_more().await;
}

/// A subscriber that is away holds at most `FF_MQTT_MAX_QUEUE_BYTES`: it gets the oldest
/// messages that fit, in order, and the rest are dropped and counted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_away_session_holds_at_most_its_byte_limit() {
    const SENT: usize = 40;
    const LIMIT: usize = 10 * 1024;
    let w = World::start_with(|config| {
        config.max_payload = 1024;
        config.mqtt_max_queue_bytes = LIMIT;
    })
    .await;
    publish_while_away(&w, (0..SENT).map(|n| format!("{n:0>1000}"))).await;

    let kept = LIMIT / (w.topic(&w.ch, "").len() + 1000);
    let mut back = persistent(&w, "keeper", &w.a).await;
    for n in 0..kept {
        assert_eq!(
            back.message().await.payload,
            format!("{n:0>1000}").as_bytes()
        );
    }
    back.nothing_more().await;
    assert_eq!(w.mqtt.stats().dropped, (SENT - kept) as u64);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_away_session_ends_when_its_thing_loses_the_channel() {
    let w = World::start().await;
    let mut keeper = persistent(&w, "keeper", &w.a).await;
    keeper
        .subscribe(&w.topic(&w.ch, "#"), QoS::AtLeastOnce)
        .await;
    keeper.vanish();
    w.disconnects(1).await;

    w.t.send(req("DELETE", format!("/channels/{}/things/{}", w.ch, w.a.id)).token(&w.token))
        .await
        .expect(StatusCode::NO_CONTENT, "disconnect");
    w.sessions_closed(1).await;
    let publisher = w.client("pub", &w.b).await;
    publisher
        .publish(&w.topic(&w.ch, ""), QoS::AtLeastOnce, "secret")
        .await;

    // The key is still valid, so it connects, but nothing of the old session is left.
    let mut back = persistent(&w, "keeper", &w.a).await;
    assert!(!back.session_present);
    back.nothing_more().await;
    assert_eq!(
        back.subscribe(&w.topic(&w.ch, "#"), QoS::AtLeastOnce).await,
        SubscribeReasonCode::Failure
    );
}

/// A client that stops talking is dropped after 1.5 × its keep-alive (MQTT 3.1.1 §3.1.2.10).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_client_is_dropped_after_its_keep_alive() {
    let w = World::start().await;
    let mut tcp = tokio::net::TcpStream::connect(w.mqtt.local_addr())
        .await
        .unwrap();
    tcp.write_all(&mqtt_support::connect_packet(
        "silent", &w.a.id, &w.a.key, 1, true,
    ))
    .await
    .unwrap();
    let mut connack = [0u8; 4];
    tcp.read_exact(&mut connack).await.unwrap();
    assert_eq!(connack, [0x20, 2, 0, 0], "CONNACK accepted");
    let started = tokio::time::Instant::now();
    let mut rest = [0u8; 16];
    let read = tokio::time::timeout(Duration::from_secs(5), tcp.read(&mut rest))
        .await
        .expect("closed within 5 s");
    assert!(matches!(read, Ok(0) | Err(_)), "closed, not {read:?}");
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "not before the keep-alive"
    );
}
