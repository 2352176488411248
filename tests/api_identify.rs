//! The things auth API third-party adapters call (Mainflux 0.12): `POST /identify`,
//! `POST /identify/channels/{id}/access-by-key`, `…/access-by-id`, answered from the authz
//! projection with 0.12's status codes (401 for every failed check, 400 for a malformed
//! body, 415 without JSON).

mod common;

use axum::http::StatusCode;
use common::{Failures, TestApp, fresh_key, req, unknown_id};
use serde_json::{Value, json};

fn post(path: &str, body: Value) -> common::Req {
    req("POST", path).json(body)
}

#[tokio::test(flavor = "multi_thread")]
async fn identify_and_access_checks_follow_the_connections() {
    let t = TestApp::start().await;
    let a = t.user("adapter@example.com").await;
    let key = fresh_key();
    let loose_key = fresh_key();
    let thing = t.thing(&a.token, json!({ "key": key })).await;
    let loose = t.thing(&a.token, json!({ "key": loose_key })).await;
    let channel = t.channel(&a.token, json!({})).await;
    let other_channel = t.channel(&a.token, json!({})).await;
    t.connect(&a.token, &channel, &thing).await;

    let by_key = |c: &str| format!("/identify/channels/{c}/access-by-key");
    let by_id = |c: &str| format!("/identify/channels/{c}/access-by-id");
    let ok = [
        (post("/identify", json!({ "token": key })), Some(&thing)),
        (
            post("/identify", json!({ "token": loose_key })),
            Some(&loose),
        ),
        (
            post(&by_key(&channel), json!({ "token": key })),
            Some(&thing),
        ),
        (post(&by_id(&channel), json!({ "thing_id": thing })), None),
    ];
    for (request, id) in ok {
        let case = request.describe();
        let resp = t.send(request).await.expect(StatusCode::OK, &case);
        if let Some(id) = id {
            assert_eq!(resp.json(), json!({ "id": id }), "{case}");
        }
    }

    let (u, s) = (StatusCode::UNAUTHORIZED, StatusCode::BAD_REQUEST);
    let cases = [
        (
            "identify: bad key",
            post("/identify", json!({"token": "no-such-key"})),
            u,
        ),
        (
            "identify: empty key",
            post("/identify", json!({"token": ""})),
            s,
        ),
        ("identify: no key", post("/identify", json!({})), s),
        (
            "identify: key as an array",
            post("/identify", json!(["key"])),
            s,
        ),
        (
            "identify: not JSON",
            req("POST", "/identify").raw(Some("application/json"), "key"),
            s,
        ),
        (
            "identify: no content type",
            req("POST", "/identify").raw(None, json!({"token": key}).to_string()),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ),
        (
            "by key: not connected",
            post(&by_key(&channel), json!({"token": loose_key})),
            u,
        ),
        (
            "by key: other channel",
            post(&by_key(&other_channel), json!({"token": key})),
            u,
        ),
        (
            "by key: bad key",
            post(&by_key(&channel), json!({"token": "no-such-key"})),
            u,
        ),
        (
            "by key: empty key",
            post(&by_key(&channel), json!({"token": ""})),
            s,
        ),
        (
            "by key: unknown channel",
            post(&by_key(&unknown_id()), json!({"token": key})),
            u,
        ),
        (
            "by key: channel not a UUID",
            post(&by_key("not-a-uuid"), json!({"token": key})),
            u,
        ),
        (
            "by key: no content type",
            req("POST", by_key(&channel)).raw(None, json!({"token": key}).to_string()),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ),
        (
            "by id: not connected",
            post(&by_id(&channel), json!({"thing_id": loose})),
            u,
        ),
        (
            "by id: unknown thing",
            post(&by_id(&channel), json!({"thing_id": unknown_id()})),
            u,
        ),
        (
            "by id: unknown channel",
            post(&by_id(&unknown_id()), json!({"thing_id": thing})),
            u,
        ),
        (
            "by id: empty id",
            post(&by_id(&channel), json!({"thing_id": ""})),
            s,
        ),
        (
            "by id: id not a UUID",
            post(&by_id(&channel), json!({"thing_id": "nope"})),
            s,
        ),
        ("by id: no id", post(&by_id(&channel), json!({})), s),
    ];
    let mut failures = Failures::default();
    for (case, request, expected) in cases {
        failures.check(case, &t.send(request).await, expected);
    }
    failures.assert_none();

    // The answers follow the projection: a disconnect and a key rotation count at once.
    t.send(req("DELETE", format!("/channels/{channel}/things/{thing}")).token(&a.token))
        .await
        .expect(StatusCode::NO_CONTENT, "disconnect");
    let resp = t.send(post(&by_key(&channel), json!({"token": key}))).await;
    resp.expect(u, "by key after disconnect");
    let resp = t
        .send(post(&by_id(&channel), json!({"thing_id": thing})))
        .await;
    resp.expect(u, "by id after disconnect");
    let new_key = fresh_key();
    t.send(
        req("PATCH", format!("/things/{thing}/key"))
            .token(&a.token)
            .json(json!({"key": new_key})),
    )
    .await
    .expect(StatusCode::OK, "rotate key");
    t.send(post("/identify", json!({"token": key})))
        .await
        .expect(u, "old key");
    let resp = t.send(post("/identify", json!({"token": new_key}))).await;
    assert_eq!(
        resp.expect(StatusCode::OK, "new key").json(),
        json!({ "id": thing })
    );
    t.finish().await;
}
