//! The bootstrap API (Mainflux 0.12's `/things/configs…`, `/things/state`, the device's
//! fetch): every route's status codes as a table, owner isolation, and activation showing
//! on the data plane (HTTP publish 202 once active, 403 once inactive again).

mod common;

use axum::http::StatusCode;
use common::data::publish;
use common::{Failures, TestApp, User, req, unknown_id};
use serde_json::{Value, json};

/// A config of `owner` for a new keyed thing and a new channel; its id, thing key, channel.
async fn config(t: &TestApp, owner: &User, external_id: &str) -> (String, String, String) {
    let (thing, key) = t.keyed_thing(owner).await;
    let channel = t.channel(&owner.token, json!({"name": "cfg"})).await;
    let body = json!({
        "thing_id": thing, "external_id": external_id, "external_key": "ext-key",
        "channels": [channel], "name": "gw", "content": "{\"a\":1}",
        "client_cert": "CERT", "client_key": "PRIVATE", "ca_cert": "CA"
    });
    let resp = t
        .send(
            req("POST", "/things/configs")
                .token(&owner.token)
                .json(body),
        )
        .await
        .expect(StatusCode::CREATED, "create config");
    assert_eq!(resp.location(), format!("/things/configs/{thing}"));
    (thing, key, channel)
}

#[tokio::test(flavor = "multi_thread")]
async fn status_table() {
    let t = TestApp::start().await;
    let a = t.user("a@example.com").await;
    let b = t.user("b@example.com").await;
    let (id, _, channel) = config(&t, &a, "ext-a").await;
    let foreign_channel = t.channel(&b.token, json!({})).await;
    let other = t.thing(&a.token, json!({})).await;
    let cfg = format!("/things/configs/{id}");
    let certs = format!("/things/configs/certs/{id}");
    let conns = format!("/things/configs/connections/{id}");
    let state = format!("/things/state/{id}");
    let missing = unknown_id();
    let create = |body: Value| req("POST", "/things/configs").token(&a.token).json(body);
    let cases = [
        (
            "create taken external id",
            create(json!({"thing_id": other, "external_id": "ext-a", "external_key": "k"})),
            StatusCode::CONFLICT,
        ),
        (
            "create second config of a thing",
            create(json!({"thing_id": id, "external_id": "ext-z", "external_key": "k"})),
            StatusCode::CONFLICT,
        ),
        (
            "create without external key",
            create(json!({"thing_id": other, "external_id": "ext-b", "external_key": ""})),
            StatusCode::BAD_REQUEST,
        ),
        (
            "create for unknown thing",
            create(json!({"thing_id": missing, "external_id": "ext-c", "external_key": "k"})),
            StatusCode::NOT_FOUND,
        ),
        (
            "create with foreign channel",
            create(
                json!({"thing_id": other, "external_id": "ext-d", "external_key": "k", "channels": [foreign_channel]}),
            ),
            StatusCode::NOT_FOUND,
        ),
        (
            "create without token",
            req("POST", "/things/configs").json(json!({"external_id": "x", "external_key": "k"})),
            StatusCode::UNAUTHORIZED,
        ),
        (
            "create as text",
            req("POST", "/things/configs")
                .token(&a.token)
                .raw(Some("text/plain"), "{}"),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ),
        ("get", req("GET", &cfg).token(&a.token), StatusCode::OK),
        (
            "get foreign",
            req("GET", &cfg).token(&b.token),
            StatusCode::NOT_FOUND,
        ),
        (
            "get unknown",
            req("GET", format!("/things/configs/{missing}")).token(&a.token),
            StatusCode::NOT_FOUND,
        ),
        (
            "get without token",
            req("GET", &cfg),
            StatusCode::UNAUTHORIZED,
        ),
        (
            "update",
            req("PUT", &cfg)
                .token(&a.token)
                .json(json!({"name": "n", "content": "c"})),
            StatusCode::OK,
        ),
        (
            "update foreign",
            req("PUT", &cfg).token(&b.token).json(json!({"name": "n"})),
            StatusCode::NOT_FOUND,
        ),
        (
            "update as text",
            req("PUT", &cfg)
                .token(&a.token)
                .raw(Some("text/plain"), "{}"),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ),
        (
            "certs",
            req("PATCH", &certs)
                .token(&a.token)
                .json(json!({"client_cert": "C2"})),
            StatusCode::OK,
        ),
        (
            "certs foreign",
            req("PATCH", &certs).token(&b.token).json(json!({})),
            StatusCode::NOT_FOUND,
        ),
        (
            "connections",
            req("PUT", &conns)
                .token(&a.token)
                .json(json!({"channels": [channel]})),
            StatusCode::OK,
        ),
        (
            "connections foreign channel",
            req("PUT", &conns)
                .token(&a.token)
                .json(json!({"channels": [foreign_channel]})),
            StatusCode::NOT_FOUND,
        ),
        (
            "connections foreign",
            req("PUT", &conns)
                .token(&b.token)
                .json(json!({"channels": []})),
            StatusCode::NOT_FOUND,
        ),
        (
            "state 2",
            req("PUT", &state).token(&a.token).json(json!({"state": 2})),
            StatusCode::BAD_REQUEST,
        ),
        (
            "state foreign",
            req("PUT", &state).token(&b.token).json(json!({"state": 1})),
            StatusCode::NOT_FOUND,
        ),
        (
            "state without token",
            req("PUT", &state).json(json!({"state": 1})),
            StatusCode::UNAUTHORIZED,
        ),
        (
            "bootstrap",
            req("GET", "/things/bootstrap/ext-a").auth("ext-key"),
            StatusCode::OK,
        ),
        (
            "bootstrap wrong key",
            req("GET", "/things/bootstrap/ext-a").auth("nope"),
            StatusCode::NOT_FOUND,
        ),
        (
            "bootstrap unknown id",
            req("GET", "/things/bootstrap/ext-nobody").auth("ext-key"),
            StatusCode::NOT_FOUND,
        ),
        (
            "bootstrap without key",
            req("GET", "/things/bootstrap/ext-a"),
            StatusCode::UNAUTHORIZED,
        ),
        (
            "remove foreign",
            req("DELETE", &cfg).token(&b.token),
            StatusCode::NOT_FOUND,
        ),
        (
            "remove",
            req("DELETE", &cfg).token(&a.token),
            StatusCode::NO_CONTENT,
        ),
        (
            "remove again",
            req("DELETE", &cfg).token(&a.token),
            StatusCode::NO_CONTENT,
        ),
        (
            "get removed",
            req("GET", &cfg).token(&a.token),
            StatusCode::NOT_FOUND,
        ),
        (
            "bootstrap removed",
            req("GET", "/things/bootstrap/ext-a").auth("ext-key"),
            StatusCode::NOT_FOUND,
        ),
        (
            "external id free again",
            create(json!({"thing_id": other, "external_id": "ext-a", "external_key": "k"})),
            StatusCode::CREATED,
        ),
    ];
    let mut failures = Failures::default();
    for (name, request, expected) in cases {
        let resp = t.send(request).await;
        failures.check(name, &resp, expected);
    }
    failures.assert_none();
    t.finish().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn owner_sees_the_config_and_the_device_fetches_it() {
    let t = TestApp::start().await;
    let a = t.user("a@example.com").await;
    let (id, key, channel) = config(&t, &a, "serial-1").await;
    let shown = t.get(&a.token, &format!("/things/configs/{id}")).await;
    assert_eq!(shown["mainflux_id"], id.as_str());
    assert_eq!(shown["mainflux_key"], key.as_str());
    assert_eq!(shown["external_key"], "ext-key");
    assert_eq!(shown["client_key"], "PRIVATE");
    assert_eq!(shown["state"], 0);
    assert_eq!(shown["mainflux_channels"][0]["id"], channel.as_str());
    let fetched = t
        .send(req("GET", "/things/bootstrap/serial-1").auth("ext-key"))
        .await
        .expect(StatusCode::OK, "bootstrap")
        .json();
    assert_eq!(fetched["content"], "{\"a\":1}");
    assert_eq!(fetched["mainflux_key"], key.as_str());
    t.remember_secret("PRIVATE");
    t.remember_secret("ext-key");
    t.finish().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_empty_thing_id_creates_the_thing() {
    let t = TestApp::start().await;
    let a = t.user("a@example.com").await;
    let body =
        json!({"thing_id": "", "external_id": "new-dev", "external_key": "k", "name": "made"});
    let resp = t
        .send(req("POST", "/things/configs").token(&a.token).json(body))
        .await
        .expect(StatusCode::CREATED, "create");
    let id = resp.location().rsplit('/').next().unwrap().to_owned();
    let thing = t.get(&a.token, &format!("/things/{id}")).await;
    assert_eq!(thing["name"], "made");
    // A taken external id makes no thing.
    let things = t.get(&a.token, "/things").await["total"].clone();
    let again = json!({"thing_id": "", "external_id": "new-dev", "external_key": "k"});
    t.expect(
        req("POST", "/things/configs").token(&a.token).json(again),
        StatusCode::CONFLICT,
    )
    .await;
    assert_eq!(t.get(&a.token, "/things").await["total"], things);
    t.finish().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn activation_connects_and_deactivation_disconnects_on_the_data_plane() {
    let t = TestApp::start().await;
    let a = t.user("a@example.com").await;
    let (id, key, channel) = config(&t, &a, "serial-2").await;
    let path = format!("/channels/{channel}/messages");
    let state = format!("/things/state/{id}");
    t.expect(publish(&path, &key), StatusCode::FORBIDDEN).await;
    for (to, publish_status) in [
        (json!(1), StatusCode::ACCEPTED),
        (json!(1.0), StatusCode::ACCEPTED),
        (json!(0), StatusCode::FORBIDDEN),
        (json!(0), StatusCode::FORBIDDEN),
    ] {
        let change = req("PUT", &state)
            .token(&a.token)
            .json(json!({"state": to}));
        t.expect(change, StatusCode::OK).await;
        t.expect(publish(&path, &key), publish_status).await;
    }
    // Changing the channels of an active config applies the difference.
    t.expect(
        req("PUT", &state).token(&a.token).json(json!({"state": 1})),
        StatusCode::OK,
    )
    .await;
    let second = t.channel(&a.token, json!({})).await;
    let conns = format!("/things/configs/connections/{id}");
    let update = req("PUT", &conns)
        .token(&a.token)
        .json(json!({"channels": [second]}));
    t.expect(update, StatusCode::OK).await;
    t.expect(publish(&path, &key), StatusCode::FORBIDDEN).await;
    let second_path = format!("/channels/{second}/messages");
    t.expect(publish(&second_path, &key), StatusCode::ACCEPTED)
        .await;
    t.finish().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn removing_the_thing_or_a_channel_follows_into_the_config() {
    let t = TestApp::start().await;
    let a = t.user("a@example.com").await;
    let (id, _, channel) = config(&t, &a, "serial-3").await;
    t.expect(
        req("DELETE", format!("/channels/{channel}")).token(&a.token),
        StatusCode::NO_CONTENT,
    )
    .await;
    let shown = t.get(&a.token, &format!("/things/configs/{id}")).await;
    assert_eq!(shown["mainflux_channels"], json!([]));
    t.expect(
        req("DELETE", format!("/things/{id}")).token(&a.token),
        StatusCode::NO_CONTENT,
    )
    .await;
    t.expect(
        req("GET", format!("/things/configs/{id}")).token(&a.token),
        StatusCode::NOT_FOUND,
    )
    .await;
    t.expect(
        req("GET", "/things/bootstrap/serial-3").auth("ext-key"),
        StatusCode::NOT_FOUND,
    )
    .await;
    t.finish().await;
}
