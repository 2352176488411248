//! Thing keys over HTTP: any key the REST API accepts (`domain::values::check_key`: any
//! non-empty string) must authenticate a publish, sent raw or after `Thing `.

mod common;

use axum::http::StatusCode;
use common::data::{next_message, on_channel, thing_id};
use common::{Failures, TestApp, fresh_key, req};
use serde_json::json;

/// Sets `key` on a connected thing, then publishes with it in both forms on both routes;
/// every publish must be 202 and reach the bus as that thing.
async fn publishes_with_key(key: &str) {
    let t = TestApp::start().await;
    let a = t.user("a@example.com").await;
    let dev = t.device(&a).await;
    t.send(
        req("PATCH", format!("/things/{}/key", dev.thing))
            .token(&a.token)
            .json(json!({ "key": key })),
    )
    .await
    .expect(StatusCode::OK, "set the key");
    let mut sub = t.subscribe(on_channel(&dev.channel)).await;
    let mut failures = Failures::default();
    for prefix in ["", "/http"] {
        let path = format!("{prefix}{}", dev.path(""));
        for (form, auth) in [("Thing", format!("Thing {key}")), ("raw", key.to_owned())] {
            let case = format!("{path}: {form} key {key:?}");
            let resp = t.send(req("POST", &path).auth(&auth).raw(None, "x")).await;
            failures.check(&case, &resp, StatusCode::ACCEPTED);
            if resp.status == StatusCode::ACCEPTED {
                let message = next_message(&mut sub, &case).await;
                assert_eq!(message.publisher, thing_id(&dev.thing), "{case}");
            }
        }
    }
    failures.assert_none();
    t.finish().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_ordinary_key_is_accepted() {
    publishes_with_key(&fresh_key()).await;
}

/// Mainflux 0.10–0.12 took the whole `Authorization` value as the thing key (reference
/// §1 and §2.2), so a key containing a space worked sent raw.
#[tokio::test(flavor = "multi_thread")]
async fn a_raw_key_containing_a_space_is_accepted() {
    publishes_with_key(&format!("my key {}", fresh_key())).await;
}

/// HTTP carries non-ASCII header bytes (obs-text), Go's `Header.Get` (Mainflux) returned
/// them as sent, and the same key works as an MQTT password: a UTF-8 key must work here too.
#[tokio::test(flavor = "multi_thread")]
async fn a_non_ascii_key_is_accepted() {
    publishes_with_key(&format!("clé-{}", fresh_key())).await;
}
