//! HTTP publishing end to end, from the bus's side: the message a publish produces, exactly
//! once delivery with per-publisher order, revocation refusing the very next publish, and
//! channel isolation. No sleeps: the bus delivers during `publish`, so a message is queued
//! by the time the 202 is answered; waits are bounded timeouts only.

mod common;

use std::collections::HashMap;
use std::sync::Arc;

use adapters::bus::ChannelFilter;
use adapters::message::{ContentType, Protocol, now_ns};
use adapters::subtopic::SubtopicFilter;
use axum::http::StatusCode;
use common::data::{
    assert_nothing_queued, channel_id, next_message, on_channel, publish, thing_id,
};
use common::{TestApp, fresh_key, req};
use serde_json::json;

const PREFIXES: [&str; 2] = ["", "/http"];

#[tokio::test(flavor = "multi_thread")]
async fn the_bus_gets_publisher_protocol_content_type_payload_and_time() {
    let t = TestApp::start().await;
    let a = t.user("a@example.com").await;
    let dev = t.device(&a).await;
    let mut sub = t.subscribe(on_channel(&dev.channel)).await;
    // Every byte value, so nothing on the way may treat the payload as text.
    let payload: Vec<u8> = (0..=255u8).chain((0..=255u8).rev()).collect();
    let cases = [
        (Some("application/senml+json"), Some(ContentType::SenmlJson)),
        (Some("application/senml+cbor"), Some(ContentType::SenmlCbor)),
        (Some("application/json"), Some(ContentType::Json)),
        (
            Some("Application/SenML+JSON; charset=utf-8"),
            Some(ContentType::SenmlJson),
        ),
        (
            Some("text/plain"),
            Some(ContentType::Other("text/plain".into())),
        ),
        (None, None),
    ];
    for prefix in PREFIXES {
        for (header, expected) in &cases {
            let path = format!("{prefix}{}", dev.path("/sensors/t1"));
            let context = format!("{path} with content type {header:?}");
            let request = req("POST", &path)
                .auth(&dev.key)
                .raw(*header, payload.clone());
            let before = now_ns();
            t.send(request).await.expect(StatusCode::ACCEPTED, &context);
            let after = now_ns();
            let message = next_message(&mut sub, &context).await;
            assert_eq!(message.channel, channel_id(&dev.channel), "{context}");
            assert_eq!(message.publisher, thing_id(&dev.thing), "{context}");
            assert_eq!(message.protocol, Protocol::Http, "{context}");
            assert_eq!(message.protocol.as_str(), "http", "{context}");
            assert_eq!(&message.content_type, expected, "{context}");
            assert_eq!(&message.payload[..], &payload[..], "{context}");
            assert_eq!(
                message.subtopic.as_ref().map(|s| s.as_str()),
                Some("sensors.t1"),
                "{context}"
            );
            assert!(
                (before..=after).contains(&message.created),
                "{context}: created {} not within [{before}, {after}]",
                message.created
            );
        }
    }
    // An empty body is a message too (Mainflux forwards it).
    let path = dev.path("");
    t.send(publish(&path, &dev.key).raw(None, Vec::new()))
        .await
        .expect(StatusCode::ACCEPTED, "empty body");
    let message = next_message(&mut sub, "empty body").await;
    assert!(message.payload.is_empty(), "{message:?}");
    assert_nothing_queued(&mut sub, "one message per publish");
    t.finish().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn two_publishers_deliver_each_message_exactly_once_in_order() {
    const N: usize = 200;
    let t = Arc::new(TestApp::start().await);
    let a = t.user("a@example.com").await;
    let dev = t.device(&a).await;
    let (second, second_key) = t.keyed_thing(&a).await;
    t.connect(&a.token, &dev.channel, &second).await;
    let mut one = t.subscribe(on_channel(&dev.channel)).await;
    let mut every = t.subscribe(ChannelFilter::all()).await;
    let before = t.published();

    let publishers = [
        (dev.thing.clone(), dev.key.clone(), ""),
        (second, second_key, "/http"),
    ];
    let tasks = publishers.clone().map(|(thing, key, prefix)| {
        let t = Arc::clone(&t);
        let path = format!("{prefix}{}", dev.path("/seq"));
        tokio::spawn(async move {
            for i in 0..N {
                let body = format!("{thing} {i}");
                t.send(publish(&path, &key).raw(Some("text/plain"), body))
                    .await
                    .expect(StatusCode::ACCEPTED, &format!("publish {i} of {thing}"));
            }
        })
    });
    for task in tasks {
        task.await.expect("publisher task");
    }
    assert_eq!(
        t.published() - before,
        2 * N as u64,
        "bus accepted 2N messages"
    );

    for (name, sub) in [
        ("channel subscriber", &mut one),
        ("all-channel subscriber", &mut every),
    ] {
        let mut next: HashMap<String, usize> = HashMap::new();
        for received in 0..2 * N {
            let message = next_message(sub, &format!("{name}: message {received}")).await;
            let text = std::str::from_utf8(&message.payload).expect("UTF-8 payload");
            let (thing, seq) = text.split_once(' ').expect("\"<thing> <seq>\"");
            let seq: usize = seq.parse().expect("sequence number");
            assert_eq!(
                message.publisher,
                thing_id(thing),
                "{name}: publisher of {text}"
            );
            let expected = next.entry(thing.to_owned()).or_default();
            assert_eq!(
                seq, *expected,
                "{name}: {thing} out of order, lost or duplicated"
            );
            *expected += 1;
        }
        assert_nothing_queued(sub, &format!("{name}: after 2N messages"));
        for (thing, _, _) in &publishers {
            assert_eq!(next.get(thing), Some(&N), "{name}: all of {thing}");
        }
    }
    let stats = t.app.pipeline.bus().stats();
    assert_eq!(stats.dropped_slow_subscribers, 0, "{stats:?}");
    t.finish().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn revocation_refuses_the_very_next_publish() {
    let t = TestApp::start().await;
    let a = t.user("a@example.com").await;
    let dev = t.device(&a).await;
    let (thing, channel) = (&dev.thing, &dev.channel);
    let mut sub = t.subscribe(on_channel(channel)).await;
    let mut accepted = async |t: &TestApp, key: &str, context: &str| {
        for prefix in PREFIXES {
            let path = format!("{prefix}{}", dev.path("/r"));
            t.expect(publish(&path, key), StatusCode::ACCEPTED).await;
        }
        for _ in PREFIXES {
            next_message(&mut sub, context).await;
        }
    };
    let refused = async |t: &TestApp, key: &str, status: StatusCode| {
        let before = t.published();
        for prefix in PREFIXES {
            t.expect(publish(&format!("{prefix}{}", dev.path("/r")), key), status)
                .await;
        }
        assert_eq!(t.published(), before, "a refused publish reached the bus");
    };
    let ok = StatusCode::OK;
    let gone = StatusCode::NO_CONTENT;

    accepted(&t, &dev.key, "connected").await;
    // Disconnect: the key still names the thing, so 403.
    let link = format!("/channels/{channel}/things/{thing}");
    t.expect(req("DELETE", &link).token(&a.token), gone).await;
    refused(&t, &dev.key, StatusCode::FORBIDDEN).await;
    t.connect(&a.token, channel, thing).await;
    accepted(&t, &dev.key, "reconnected").await;

    // Key change: the old key names nothing any more.
    let new_key = fresh_key();
    let rekey = req("PATCH", format!("/things/{thing}/key"))
        .token(&a.token)
        .json(json!({ "key": new_key }));
    t.expect(rekey, ok).await;
    refused(&t, &dev.key, StatusCode::UNAUTHORIZED).await;
    accepted(&t, &new_key, "new key").await;

    // Thing removal: its key is gone with it.
    t.expect(
        req("DELETE", format!("/things/{thing}")).token(&a.token),
        gone,
    )
    .await;
    refused(&t, &new_key, StatusCode::UNAUTHORIZED).await;
    refused(&t, &dev.key, StatusCode::UNAUTHORIZED).await;

    // Channel removal: a thing that was connected is now forbidden.
    let (survivor, survivor_key) = t.keyed_thing(&a).await;
    t.connect(&a.token, channel, &survivor).await;
    accepted(&t, &survivor_key, "survivor").await;
    t.expect(
        req("DELETE", format!("/channels/{channel}")).token(&a.token),
        gone,
    )
    .await;
    refused(&t, &survivor_key, StatusCode::FORBIDDEN).await;

    assert_nothing_queued(&mut sub, "only accepted publishes reach the bus");
    t.finish().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_subscriber_never_sees_another_channels_messages() {
    let t = TestApp::start().await;
    let a = t.user("a@example.com").await;
    let b = t.user("b@example.com").await;
    let dev = t.device(&a).await;
    let channel_a = dev.channel.clone();
    // Channel B of the same user, used by the same thing and by one of its own.
    let channel_b = t.channel(&a.token, json!({"name": "b"})).await;
    t.connect(&a.token, &channel_b, &dev.thing).await;
    let (only_b, only_b_key) = t.keyed_thing(&a).await;
    t.connect(&a.token, &channel_b, &only_b).await;
    // And another user's channel altogether.
    let foreign = t.device(&b).await;

    let mut sub_a = t.subscribe(on_channel(&channel_a)).await;
    let x = SubtopicFilter::parse("x/#").expect("filter");
    let mut sub_a_x = t.subscribe(on_channel(&channel_a).with_subtopic(x)).await;
    let mut sub_b = t.subscribe(on_channel(&channel_b)).await;

    let mut sent_b = 0;
    for prefix in PREFIXES {
        for tail in ["", "/x", "/x/y", "/a/b"] {
            let on_b = format!("{prefix}/channels/{channel_b}/messages{tail}");
            for key in [&dev.key, &only_b_key] {
                t.expect(publish(&on_b, key), StatusCode::ACCEPTED).await;
                sent_b += 1;
            }
            let on_foreign = format!("{prefix}{}", foreign.path(tail));
            t.expect(publish(&on_foreign, &foreign.key), StatusCode::ACCEPTED)
                .await;
            // Refused attempts on A by things of B: nothing at all.
            let on_a = format!("{prefix}{}", dev.path(tail));
            t.expect(publish(&on_a, &only_b_key), StatusCode::FORBIDDEN)
                .await;
            t.expect(publish(&on_a, &foreign.key), StatusCode::FORBIDDEN)
                .await;
        }
    }
    assert_nothing_queued(&mut sub_a, "channel A after publishes to B");
    assert_nothing_queued(&mut sub_a_x, "channel A, x/#, after publishes to B");

    // One message to A: the first and only thing A's subscribers get.
    let sentinel = "only for A";
    t.expect(
        publish(&dev.path("/x"), &dev.key).raw(Some("text/plain"), sentinel),
        StatusCode::ACCEPTED,
    )
    .await;
    for (name, sub) in [("A", &mut sub_a), ("A x/#", &mut sub_a_x)] {
        let message = next_message(sub, name).await;
        assert_eq!(message.channel, channel_id(&channel_a), "{name}");
        assert_eq!(&message.payload[..], sentinel.as_bytes(), "{name}");
        assert_nothing_queued(sub, name);
    }

    for received in 0..sent_b {
        let message = next_message(&mut sub_b, &format!("B message {received}")).await;
        assert_eq!(message.channel, channel_id(&channel_b), "{message:?}");
    }
    assert_nothing_queued(&mut sub_b, "channel B: its own messages only");
    t.finish().await;
}
