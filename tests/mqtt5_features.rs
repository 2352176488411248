//! MQTT 5 features with a real v5 client (rumqttc): shared subscriptions across things,
//! subscription identifiers, server topic aliases, will delay, the keep-alive and session
//! expiry caps, and a CONNACK that says what the broker offers.

mod common;
mod mqtt5_support;
mod mqtt_support;

use std::collections::HashSet;
use std::time::{Duration, Instant};

use mqtt_support::{WAIT, World};
use mqtt5_support::{V5, options, topic_of};
use rumqttc::v5::mqttbytes::QoS;
use rumqttc::v5::mqttbytes::v5::{
    ConnectProperties, DisconnectReasonCode, LastWill, LastWillProperties, Packet,
    PublishProperties, SubscribeReasonCode,
};

/// One member of a group gets each message, in turn; the group spans two things; a thing
/// not connected to the channel cannot join; a malformed share name is refused.
#[tokio::test]
async fn a_shared_subscription_gives_each_message_to_one_member() {
    let w = World::start().await;
    let shared = format!("$share/workers/{}", w.topic(&w.ch, "jobs/#"));
    let mut first = V5::connect(options(&w, "worker-a", &w.a, 0)).await;
    let mut second = V5::connect(options(&w, "worker-b", &w.b, 0)).await;
    for worker in [&mut first, &mut second] {
        let granted = worker.subscribe(&shared, None).await;
        assert_eq!(granted, SubscribeReasonCode::Success(QoS::AtLeastOnce));
    }
    let mut outsider = V5::connect(options(&w, "outsider", &w.c, 0)).await;
    assert_eq!(
        outsider.subscribe(&shared, None).await,
        SubscribeReasonCode::NotAuthorized
    );

    let publisher = V5::connect(options(&w, "boss", &w.a, 0)).await;
    for n in 0..10 {
        let topic = w.topic(&w.ch, &format!("jobs/{n}"));
        publisher
            .publish(
                &topic,
                n.to_string().as_bytes(),
                PublishProperties::default(),
            )
            .await;
    }
    let mut seen = HashSet::new();
    let mut per_worker = [0, 0];
    while seen.len() < 10 {
        tokio::select! {
            got = first.message() => { per_worker[0] += 1; assert!(seen.insert(got.payload)); }
            got = second.message() => { per_worker[1] += 1; assert!(seen.insert(got.payload)); }
        }
    }
    assert_eq!(per_worker, [5, 5], "in turn");
    first.quiet().await;
    second.quiet().await;

    // A share without a name breaks the protocol: the connection is closed.
    let bad = format!("$share//{}", w.topic(&w.ch, "jobs"));
    first
        .client
        .subscribe(bad, QoS::AtLeastOnce)
        .await
        .expect("SUBSCRIBE queued");
    // (rumqttc may report the close before the DISCONNECT it came with.)
    match first.next_within(WAIT).await {
        Some(Ok(Packet::Disconnect(d))) => {
            assert_eq!(d.reason_code, DisconnectReasonCode::ProtocolError)
        }
        // Or it reports the DISCONNECT as the error that ended the connection.
        Some(Err(closed)) => assert!(
            closed.contains("closed") || closed.contains("ProtocolError"),
            "{closed}"
        ),
        other => panic!("expected the connection closed, got {other:?}"),
    }
}

/// Every matching subscription's identifier comes with the message, once.
#[tokio::test]
async fn subscription_identifiers_are_echoed_on_delivery() {
    let w = World::start().await;
    let mut client = V5::connect(options(&w, "ids", &w.a, 0)).await;
    client.subscribe(&w.topic(&w.ch, "room/#"), Some(7)).await;
    client
        .subscribe(&w.topic(&w.ch, "room/1"), Some(300_000))
        .await;
    client.subscribe(&w.topic(&w.ch, "hall"), None).await;
    let publisher = V5::connect(options(&w, "pub", &w.b, 0)).await;
    for subtopic in ["room/1", "hall"] {
        let topic = w.topic(&w.ch, subtopic);
        publisher
            .publish(&topic, b"m", PublishProperties::default())
            .await;
    }
    let ids = |p: rumqttc::v5::mqttbytes::v5::Publish| -> HashSet<usize> {
        p.properties
            .map(|p| p.subscription_identifiers.into_iter().collect())
            .unwrap_or_default()
    };
    assert_eq!(ids(client.message().await), HashSet::from([7, 300_000]));
    assert!(ids(client.message().await).is_empty(), "none asked for");
}

/// A client taking topic aliases gets one per topic, within its maximum (rumqttc checks
/// them: an alias used before it was set would fail its connection).
#[tokio::test]
async fn topics_go_out_as_aliases_within_the_clients_maximum() {
    let w = World::start().await;
    let mut asked = options(&w, "aliased", &w.a, 0);
    let mut properties = ConnectProperties::new();
    properties.topic_alias_max = Some(1);
    asked.set_connect_properties(properties);
    let mut client = V5::connect(asked).await;
    let offered = client
        .connack
        .properties
        .clone()
        .expect("CONNACK properties");
    assert_eq!(offered.topic_alias_max, Some(10), "CONNACK offers aliases");
    client.subscribe(&w.topic(&w.ch, "#"), None).await;
    let publisher = V5::connect(options(&w, "pub", &w.b, 0)).await;
    for subtopic in ["a", "a", "b", "a"] {
        let topic = w.topic(&w.ch, subtopic);
        publisher
            .publish(&topic, b"m", PublishProperties::default())
            .await;
    }
    let mut got = Vec::new();
    for _ in 0..4 {
        let message = client.message().await;
        let alias = message.properties.as_ref().and_then(|p| p.topic_alias);
        let subtopic = topic_of(&message).rsplit('/').next().unwrap().to_owned();
        got.push((subtopic, alias));
    }
    // As on the wire: the topic once with the alias, then the alias alone (an empty topic).
    let expected = [("a", Some(1)), ("", Some(1)), ("b", None), ("", Some(1))];
    let expected: Vec<_> = expected.iter().map(|(s, a)| (s.to_string(), *a)).collect();
    assert_eq!(got, expected, "one alias, for the first topic only");
}

fn delayed_will(w: &World, delay: u32) -> rumqttc::v5::MqttOptions {
    let mut asked = options(w, "mortal", &w.a, 60);
    let properties = LastWillProperties {
        delay_interval: Some(delay),
        payload_format_indicator: None,
        message_expiry_interval: None,
        content_type: None,
        response_topic: None,
        correlation_data: None,
        user_properties: vec![("cause".into(), "lost".into())],
    };
    let topic = w.topic(&w.ch, "wills");
    asked.set_last_will(LastWill::new(
        topic,
        "gone",
        QoS::AtLeastOnce,
        false,
        Some(properties),
    ));
    asked
}

/// A will waits its delay after the connection is lost, and a reconnect to the session
/// within the delay cancels it.
#[tokio::test]
async fn a_will_waits_its_delay_and_a_reconnect_cancels_it() {
    let w = World::start().await;
    let mut watcher = V5::connect(options(&w, "watcher", &w.b, 0)).await;
    watcher.subscribe(&w.topic(&w.ch, "wills"), None).await;

    V5::connect(delayed_will(&w, 2)).await.vanish();
    w.disconnects(1).await;
    let mut back = delayed_will(&w, 2);
    back.set_clean_start(false);
    let back = V5::connect(back).await;
    assert!(back.connack.session_present);
    let next = watcher.next_within(Duration::from_secs(3)).await;
    assert!(next.is_none(), "a reconnect cancels the will: {next:?}");

    back.vanish();
    let lost = Instant::now();
    let will = watcher.message().await;
    let waited = lost.elapsed();
    assert!(waited >= Duration::from_millis(1500), "waited {waited:?}");
    assert_eq!(&will.payload[..], b"gone");
    let user = will
        .properties
        .map(|p| p.user_properties)
        .unwrap_or_default();
    assert_eq!(user, [("cause".to_string(), "lost".to_string())]);
}

/// The broker offers what it does, holds a v5 client to its keep-alive cap, and keeps a
/// session no longer than its expiry cap.
#[tokio::test]
async fn connack_tells_the_caps_and_what_is_offered() {
    let w = World::start_with(|c| {
        c.mqtt_timers.mqtt_max_keep_alive = 10;
        c.mqtt_timers.mqtt_max_session_expiry = 1;
    })
    .await;
    let mut asked = options(&w, "capped", &w.a, 3600);
    asked.set_keep_alive(Duration::from_secs(60));
    let client = V5::connect(asked).await;
    let offered = client
        .connack
        .properties
        .clone()
        .expect("CONNACK properties");
    assert_eq!(offered.server_keep_alive, Some(10));
    assert_eq!(offered.session_expiry_interval, Some(1));
    assert_eq!(offered.receive_max, Some(1024));
    for available in [
        offered.shared_subscription_available,
        offered.subscription_identifiers_available,
        offered.wildcard_subscription_available,
        offered.retain_available,
    ] {
        assert_ne!(available, Some(0), "{offered:?}");
    }
    client.disconnect().await;
    w.disconnects(1).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let mut again = options(&w, "capped", &w.a, 3600);
    again.set_clean_start(false);
    again.set_keep_alive(Duration::from_secs(5));
    let again = V5::connect(again).await;
    assert!(!again.connack.session_present, "expired at the cap");
    let offered = again
        .connack
        .properties
        .clone()
        .expect("CONNACK properties");
    assert_eq!(offered.server_keep_alive, None, "within the cap");
}
