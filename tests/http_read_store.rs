//! End to end: what the telemetry writer stores besides SenML (opaque payloads, invalid
//! SenML), that a channel's read never shows another channel's messages, and that the
//! telemetry survives a restart and starts being written at once after one.

mod common;

use std::sync::atomic::Ordering;

use axum::http::StatusCode;
use common::data::Device;
use common::reading::{
    in_own_runtime, messages, now_secs, on_current_thread, send_as, senml_json, time_of,
};
use common::{TestApp, User};
use serde_json::{Value, json};

/// Float seconds from two clocks (the test's, the server's `created`) may differ by rounding.
const EPS: f64 = 1e-3;

async fn owner_and_device(t: &TestApp, email: &str) -> (User, Device) {
    let owner = t.user(email).await;
    let device = t.device(&owner).await;
    (owner, device)
}

/// A small pack of every value kind, at absolute times.
fn pack() -> Value {
    json!([
        {"bn": "dev:", "bt": 1.7e9, "bu": "Cel", "n": "temp", "v": 21.5, "s": 3},
        {"n": "label", "t": 1, "vs": "kitchen"},
        {"n": "open", "t": 2, "vb": false},
        {"n": "blob", "t": 3, "vd": "aGk"}
    ])
}

/// One opaque publish: where, with which content type and body, the base64 the reader
/// shows, and whether the writer counts it as invalid SenML.
struct Opaque {
    subtopic: &'static str,
    content_type: Option<&'static str>,
    body: &'static [u8],
    base64: &'static str,
    invalid_senml: bool,
}

const fn opaque(
    subtopic: &'static str,
    content_type: Option<&'static str>,
    body: &'static [u8],
    base64: &'static str,
    invalid_senml: bool,
) -> Opaque {
    Opaque {
        subtopic,
        content_type,
        body,
        base64,
        invalid_senml,
    }
}

const OPAQUE: [Opaque; 7] = [
    opaque(
        "text",
        Some("text/plain"),
        b"hello world",
        "aGVsbG8gd29ybGQ=",
        false,
    ),
    opaque("none", None, &[0, 1, 2, 255], "AAEC/w==", false),
    opaque(
        "json",
        Some("application/json"),
        br#"{"v":1}"#,
        "eyJ2IjoxfQ==",
        false,
    ),
    opaque(
        "charset",
        Some("text/plain; charset=utf-8"),
        b"hello world",
        "aGVsbG8gd29ybGQ=",
        false,
    ),
    // SenML content types with payloads that are not SenML: kept, and counted.
    opaque(
        "notarray",
        Some("application/senml+json"),
        br#"{"not":"an array"}"#,
        "eyJub3QiOiJhbiBhcnJheSJ9",
        true,
    ),
    opaque(
        "novalue",
        Some("application/senml+json"),
        br#"[{"n":"x"}]"#,
        "W3sibiI6IngifV0=",
        true,
    ),
    opaque(
        "badcbor",
        Some("application/senml+cbor"),
        &[0xff],
        "/w==",
        true,
    ),
];

#[tokio::test(flavor = "multi_thread")]
async fn non_senml_and_invalid_senml_payloads_are_stored_opaque() {
    let t = TestApp::start().await;
    let (owner, d) = owner_and_device(&t, "opaque@example.com").await;
    let mut windows = Vec::new();
    for case in &OPAQUE {
        let before = now_secs();
        let path = d.path(&format!("/{}", case.subtopic));
        t.publish_ok(send_as(&path, &d.key, case.content_type, case.body))
            .await;
        windows.push((before, now_secs()));
    }
    t.written(OPAQUE.len() as u64).await;
    let invalid = OPAQUE.iter().filter(|c| c.invalid_senml).count() as u64;
    let counted = t.app.writer_stats.invalid_senml.load(Ordering::Relaxed);
    assert_eq!(counted, invalid);

    for (case, (before, after)) in OPAQUE.iter().zip(windows) {
        let query = format!("subtopic={}", case.subtopic);
        let page = t.read_until(&d.channel, &query, &owner.token, 1).await;
        let message = &messages(&page)[0];
        let time = time_of(message);
        let context = case.subtopic;
        assert!(
            before - EPS <= time && time <= after + EPS,
            "{context}: {message}"
        );
        let mut expected = json!({
            "channel": d.channel,
            "subtopic": case.subtopic,
            "publisher": d.thing,
            "protocol": "http",
            "time": time,
            "payload": case.base64,
        });
        if let Some(content_type) = case.content_type {
            expected["content_type"] = json!(content_type);
        }
        assert_eq!(message, &expected, "{context}");
    }
    t.finish().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_channel_never_shows_another_channels_messages() {
    let t = TestApp::start().await;
    let (owner, a) = owner_and_device(&t, "iso@example.com").await;
    let b = t.device(&owner).await;
    let (other, c) = owner_and_device(&t, "iso-other@example.com").await;
    // A thing connected to both A and B publishes to A only.
    t.connect(&owner.token, &b.channel, &a.thing).await;
    let empty = t.channel(&owner.token, json!({"name": "empty"})).await;

    for i in 0..5 {
        let pack = json!([{"n": format!("a-{i}"), "v": i}]);
        t.publish_ok(senml_json(&a.path(""), &a.key, &pack)).await;
    }
    for i in 0..3 {
        let pack = json!([{"n": format!("b-{i}"), "v": i}]);
        t.publish_ok(senml_json(&b.path("/same/topic"), &b.key, &pack))
            .await;
        t.publish_ok(senml_json(&c.path("/same/topic"), &c.key, &pack))
            .await;
    }
    t.written(11).await;

    let checks = [
        (&a.channel, &owner.token, "a-", 5),
        (&b.channel, &owner.token, "b-", 3),
        (&c.channel, &other.token, "b-", 3),
    ];
    for (channel, token, prefix, total) in checks {
        let page = t.read_until(channel, "limit=100", token, total).await;
        for m in messages(&page) {
            assert_eq!(&m["channel"], channel.as_str(), "{m}");
            assert!(m["name"].as_str().unwrap().starts_with(prefix), "{m}");
        }
    }
    // B's thing sees only B's messages; A's publisher filter on B finds nothing.
    let page = t
        .read(&b.channel, "limit=100", &format!("Thing {}", b.key))
        .await;
    assert_eq!(page["total"], 3);
    let page = t
        .read(
            &b.channel,
            &format!("publisher={}", a.thing),
            &format!("Thing {}", a.key),
        )
        .await;
    assert_eq!(page["total"], 0);
    let page = t.read(&empty, "", &format!("Bearer {}", owner.token)).await;
    assert_eq!(
        page,
        json!({"total": 0, "offset": 0, "limit": 10, "messages": []})
    );
    t.finish().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn telemetry_survives_a_restart() {
    let (closed, owner, d, before) = in_own_runtime(|| async {
        let t = TestApp::start().await;
        let (owner, d) = owner_and_device(&t, "persist@example.com").await;
        t.publish_ok(senml_json(&d.path("/room/1"), &d.key, &pack()))
            .await;
        t.publish_ok(send_as(
            &d.path(""),
            &d.key,
            Some("text/plain"),
            "hello world",
        ))
        .await;
        t.written(5).await;
        let page = t.read_until(&d.channel, "limit=100", &owner.token, 5).await;
        t.finish().await;
        (t.close(), owner, d, page)
    })
    .await;

    let t = TestApp::reopen(closed).await;
    let after = t
        .read(&d.channel, "limit=100", &format!("Bearer {}", owner.token))
        .await;
    assert_eq!(after, before, "the same page after a restart");
    let thing_page = t.read(&d.channel, "limit=100", &d.key).await;
    assert_eq!(
        thing_page, before,
        "the thing key still reads after a restart"
    );

    // Writing goes on after the restart, newest first across both lives.
    t.publish_ok(senml_json(
        &d.path(""),
        &d.key,
        &json!([{"n": "again", "v": 1}]),
    ))
    .await;
    let page = t.read_until(&d.channel, "limit=100", &owner.token, 6).await;
    assert_eq!(page["messages"][0]["name"], "again");
    assert_eq!(messages(&page)[1..], messages(&before)[..]);

    let unauthorized = t
        .try_read(&d.channel, "", Some("Thing unknown-key-123"))
        .await;
    assert_eq!(unauthorized.status, StatusCode::UNAUTHORIZED);
    t.finish().await;
}

/// A message accepted right after startup must be stored like any other. (The writer
/// subscribes to the bus from a task `App::open` spawns; on a runtime that has not run that
/// task yet, a publish answered 202 reaches no writer and is lost without a trace. A
/// current-thread runtime makes the window deterministic; on a multi-threaded one it is a
/// race that a restarted server's first publishes can lose.)
#[tokio::test(flavor = "multi_thread")]
async fn a_publish_right_after_startup_is_stored() {
    let (closed, owner, d) = in_own_runtime(|| async {
        let t = TestApp::start().await;
        let (owner, d) = owner_and_device(&t, "startup@example.com").await;
        t.finish().await;
        (t.close(), owner, d)
    })
    .await;
    on_current_thread(move || async move {
        let t = TestApp::reopen(closed).await;
        let first = json!([{"n": "first", "v": 1}]);
        t.publish_ok(senml_json(&d.path(""), &d.key, &first)).await;
        t.written(1).await;
        let page = t.read_until(&d.channel, "", &owner.token, 1).await;
        assert_eq!(page["messages"][0]["name"], "first");
        t.finish().await;
    })
    .await;
}

/// `FF_NO_STORE`: messaging only. A publish is accepted and delivered (here to a bus
/// subscriber, as MQTT subscribers get it) and nothing is stored.
#[tokio::test(flavor = "multi_thread")]
async fn with_no_store_messages_are_delivered_not_stored() {
    let t = TestApp::start_with(|c| c.no_store = true).await;
    let (owner, device) = owner_and_device(&t, "nostore@example.com").await;
    let mut bus = t
        .app
        .pipeline
        .bus()
        .subscribe(adapters::bus::ChannelFilter::all(), 16)
        .await
        .unwrap();
    t.publish_ok(senml_json(&device.path(""), &device.key, &pack()))
        .await;
    let delivered = tokio::time::timeout(std::time::Duration::from_secs(5), bus.next())
        .await
        .expect("delivered in time")
        .unwrap();
    assert_eq!(delivered.channel.to_string(), device.channel);
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let page = t
        .read(&device.channel, "", &format!("Bearer {}", owner.token))
        .await;
    assert_eq!(page["total"], 0);
    assert_eq!(t.app.writer_stats.messages.load(Ordering::Relaxed), 0);
    t.finish().await;
}
