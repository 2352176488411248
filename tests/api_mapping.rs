//! One-call provisioning (`POST /mapping`): the statuses as a table, what a mapping makes
//! (Mainflux's layout by default, or the operator's template), owner isolation, and
//! all-or-nothing: a backend that fails in the middle of the mapping's append leaves no
//! thing, channel, config or event behind, and the external id free.

mod common;

use axum::http::StatusCode;
use common::{Failures, TestApp, User, req};
use serde_json::{Value, json};
use uuid::Uuid;

fn mapping(user: &User, body: Value) -> common::Req {
    req("POST", "/mapping").token(&user.token).json(body)
}

/// How many of the caller's entities a list route reports.
async fn total(t: &TestApp, user: &User, path: &str) -> u64 {
    t.get(&user.token, path).await["total"]
        .as_u64()
        .expect("total")
}

async fn totals(t: &TestApp, user: &User) -> [u64; 3] {
    [
        total(t, user, "/things").await,
        total(t, user, "/channels").await,
        total(t, user, "/things/configs").await,
    ]
}

#[tokio::test(flavor = "multi_thread")]
async fn a_mapping_makes_mainflux_layout_connected_and_whitelisted() {
    let t = TestApp::start().await;
    let a = t.user("a@example.com").await;
    let body = json!({"name": "gw-1", "external_id": "aa:bb:cc", "external_key": "factory-secret"});
    let made = t
        .send(mapping(&a, body))
        .await
        .expect(StatusCode::CREATED, "mapping")
        .json();
    let things = made["things"].as_array().expect("things");
    let channels = made["channels"].as_array().expect("channels");
    assert_eq!(things.len(), 1, "{made}");
    let thing = things[0]["id"].as_str().expect("thing id");
    assert_eq!(things[0]["name"], "gw-1");
    let kinds: Vec<&Value> = channels.iter().map(|c| &c["metadata"]["type"]).collect();
    assert_eq!(kinds, [&json!("control"), &json!("data")]);
    assert_eq!(made["whitelisted"], json!({ thing: true }));
    for channel in channels {
        let channel = channel["id"].as_str().expect("channel id");
        assert!(t.can_access(thing, channel), "connected to {channel}");
    }
    // The config: the external id, the template's channels, active; the device fetches it.
    let config = t.get(&a.token, &format!("/things/configs/{thing}")).await;
    assert_eq!(config["external_id"], "aa:bb:cc");
    assert_eq!(config["state"], 1);
    let config_channels: Vec<&Value> = config["mainflux_channels"]
        .as_array()
        .expect("channels")
        .iter()
        .map(|c| &c["id"])
        .collect();
    let made_channels: Vec<&Value> = channels.iter().map(|c| &c["id"]).collect();
    assert_eq!(config_channels, made_channels);
    let fetched = t
        .send(req("GET", "/things/bootstrap/aa:bb:cc").auth("factory-secret"))
        .await
        .expect(StatusCode::OK, "device fetch")
        .json();
    assert_eq!(fetched["mainflux_id"], thing);
    assert_eq!(totals(&t, &a).await, [1, 2, 1]);
}

#[tokio::test(flavor = "multi_thread")]
async fn status_table_and_owner_isolation() {
    let t = TestApp::start().await;
    let a = t.user("a@example.com").await;
    let b = t.user("b@example.com").await;
    let ok = json!({"external_id": "ext-1", "external_key": "key-one-1"});
    t.send(mapping(&a, ok.clone()))
        .await
        .expect(StatusCode::CREATED, "first mapping");
    let cases = [
        (
            "same external id again",
            mapping(&a, ok.clone()),
            StatusCode::CONFLICT,
        ),
        (
            "another user's external id",
            mapping(&b, ok.clone()),
            StatusCode::CONFLICT,
        ),
        (
            "empty external key",
            mapping(&a, json!({"external_id": "ext-2", "external_key": ""})),
            StatusCode::BAD_REQUEST,
        ),
        (
            "empty external id",
            mapping(&a, json!({"external_id": "", "external_key": "k"})),
            StatusCode::BAD_REQUEST,
        ),
        (
            "no external key",
            mapping(&a, json!({"external_id": "ext-3"})),
            StatusCode::BAD_REQUEST,
        ),
        (
            "no token",
            req("POST", "/mapping").json(json!({"external_id": "ext-4", "external_key": "k"})),
            StatusCode::UNAUTHORIZED,
        ),
        (
            "bad token",
            req("POST", "/mapping")
                .token("not-a-token")
                .json(json!({"external_id": "ext-4", "external_key": "k"})),
            StatusCode::UNAUTHORIZED,
        ),
        (
            "not JSON",
            req("POST", "/mapping")
                .token(&a.token)
                .raw(Some("text/plain"), "x"),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ),
        (
            "template",
            req("GET", "/mapping").token(&a.token),
            StatusCode::OK,
        ),
        (
            "template without token",
            req("GET", "/mapping"),
            StatusCode::UNAUTHORIZED,
        ),
    ];
    let mut failures = Failures::default();
    for (case, request, expected) in cases {
        let resp = t.send(request).await;
        failures.check(case, &resp, expected);
    }
    failures.assert_none();
    // Refusals made nothing; b sees nothing of a's.
    assert_eq!(totals(&t, &a).await, [1, 2, 1]);
    assert_eq!(totals(&t, &b).await, [0, 0, 0]);
    // b may use an id of its own.
    let own = json!({"external_id": "ext-b", "external_key": "key-of-b"});
    t.send(mapping(&b, own))
        .await
        .expect(StatusCode::CREATED, "b's mapping");
    assert_eq!(totals(&t, &b).await, [1, 2, 1]);
    assert_eq!(totals(&t, &a).await, [1, 2, 1]);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_operator_template_decides_what_is_made() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("template.json");
    let template = json!({
        "things": [{"name": "sensor", "metadata": {}}, {"name": "actuator", "metadata": {"role": "valve"}}],
        "channels": [{"name": "telemetry", "metadata": {"type": "data"}}],
        "bootstrap": {"content": "{\"interval\":10}", "whitelist": false}
    });
    std::fs::write(&path, template.to_string()).expect("write template");
    let t = TestApp::start_with(|c| c.provision_template = Some(path.clone())).await;
    let a = t.user("a@example.com").await;
    assert_eq!(t.get(&a.token, "/mapping").await, template);
    let made = t
        .send(mapping(
            &a,
            json!({"external_id": "dev-9", "external_key": "key-nine-9"}),
        ))
        .await
        .expect(StatusCode::CREATED, "mapping")
        .json();
    let names: Vec<&Value> = made["things"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| &t["name"])
        .collect();
    assert_eq!(names, [&json!("sensor"), &json!("actuator")]);
    assert_eq!(made["whitelisted"], json!({}));
    let channel = made["channels"][0]["id"].as_str().expect("channel");
    for thing in made["things"].as_array().unwrap() {
        assert!(t.can_access(thing["id"].as_str().unwrap(), channel));
    }
    let first = made["things"][0]["id"].as_str().unwrap();
    let config = t.get(&a.token, &format!("/things/configs/{first}")).await;
    assert_eq!(config["state"], 0);
    assert_eq!(config["content"], "{\"interval\":10}");
    assert_eq!(totals(&t, &a).await, [2, 1, 1]);
}

/// The JetStream events stream of a test's own log, for the failure below.
async fn events_stream(prefix: &str) -> async_nats::jetstream::stream::Stream {
    let client = async_nats::connect(commands::test_services::nats_url())
        .await
        .expect("nats");
    let js = async_nats::jetstream::new(client);
    js.get_stream(format!("{}_EVENTS", prefix.to_ascii_uppercase()))
        .await
        .expect("events stream")
}

/// Sets the subjects the events stream stores.
async fn store_only(stream: &mut async_nats::jetstream::stream::Stream, subjects: Vec<String>) {
    let mut config = stream.info().await.expect("info").config.clone();
    config.subjects = subjects;
    let js = async_nats::jetstream::new(
        async_nats::connect(commands::test_services::nats_url())
            .await
            .expect("nats"),
    );
    js.update_stream(config).await.expect("update stream");
}

#[tokio::test(flavor = "multi_thread")]
async fn mapping_is_all_or_nothing() {
    let prefix = format!("mapping{}", Uuid::new_v4().simple());
    let t = TestApp::start_with(|c| {
        c.log.event_log = commands::test_services::nats_url();
        c.log.event_log_prefix = prefix.clone();
        c.jwt_secret = Some("mapping-test-secret".into());
        c.master_key = Some("42".repeat(32));
    })
    .await;
    let a = t.user("a@example.com").await;
    let before = t.head().await;
    // The backend fails in the middle of the append: the events stream stops taking the
    // config streams, so the mapping's thing, channels and claim reach the server inside
    // the atomic batch and its config does not; the batch never commits.
    let mut stream = events_stream(&prefix).await;
    let all = stream.info().await.expect("info").config.subjects.clone();
    let kinds = ["thing", "thingkey", "channel", "extid", "user"];
    store_only(
        &mut stream,
        kinds
            .iter()
            .map(|k| format!("{prefix}.events.{k}.>"))
            .collect(),
    )
    .await;
    let device = json!({"external_id": "half-made?", "external_key": "never-half"});
    let resp = t.send(mapping(&a, device.clone())).await;
    // 503: the log was unavailable for the config's subject, after the rest was sent.
    assert_eq!(
        resp.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        String::from_utf8_lossy(&resp.body)
    );
    store_only(&mut stream, all).await;

    // Nothing persisted: not in the log, not in any list.
    assert_eq!(t.head().await, before, "no event was appended");
    assert_eq!(totals(&t, &a).await, [0, 0, 0]);
    let events = t.app.log.read_after(before, 100).await.expect("read");
    assert!(events.is_empty(), "{events:?}");
    // The external id is free: the same device provisions now, once.
    t.send(mapping(&a, device.clone()))
        .await
        .expect(StatusCode::CREATED, "mapping after the failure");
    assert_eq!(totals(&t, &a).await, [1, 2, 1]);
    t.send(mapping(&a, device))
        .await
        .expect(StatusCode::CONFLICT, "the same device again");
    assert_eq!(totals(&t, &a).await, [1, 2, 1]);
}
