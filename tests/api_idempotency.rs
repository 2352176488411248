//! `Idempotency-Key`: a retried request answers as the first did and appends nothing; a key
//! that is not a UUID is malformed.

mod common;

use axum::http::StatusCode;
use common::{Failures, PASSWORD, TestApp, fresh_key, req};
use serde_json::{Value, json};
use uuid::Uuid;

fn idem() -> String {
    Uuid::new_v4().to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn retried_creates_answer_the_same_and_append_nothing() {
    let t = TestApp::start().await;
    let a = t.user("a@example.com").await;
    let cases = [
        ("/things", json!({"name": "t", "key": fresh_key()})),
        ("/things", json!({"name": "generated key"})),
        ("/channels", json!({"name": "c"})),
    ];
    for (path, body) in cases {
        let key = idem();
        let send = || {
            req("POST", path)
                .token(&a.token)
                .header("Idempotency-Key", &key)
                .json(body.clone())
        };
        let first = t.send(send()).await.expect(StatusCode::CREATED, path);
        let head = t.head().await;
        for attempt in 0..2 {
            let again = t.send(send()).await.expect(StatusCode::CREATED, path);
            assert_eq!(again.location(), first.location(), "{path} retry {attempt}");
        }
        assert_eq!(t.head().await, head, "{path}: a retry appended events");
        let created = t.get(&a.token, &first.location()).await;
        assert_eq!(created["name"], body["name"]);
    }
    assert_eq!(t.get(&a.token, "/things").await["total"], 2);
    assert_eq!(t.get(&a.token, "/channels").await["total"], 1);

    for (path, list) in [("/things/bulk", "things"), ("/channels/bulk", "channels")] {
        let key = idem();
        let send = || {
            req("POST", path)
                .token(&a.token)
                .header("Idempotency-Key", &key)
                .json(json!([{"name": "b1"}, {"name": "b2"}]))
        };
        let first = t
            .send(send())
            .await
            .expect(StatusCode::CREATED, path)
            .json();
        let head = t.head().await;
        let again = t
            .send(send())
            .await
            .expect(StatusCode::CREATED, path)
            .json();
        assert_eq!(
            again[list], first[list],
            "{path}: retry answers differently"
        );
        assert_eq!(t.head().await, head, "{path}: a retry appended events");
    }

    let key = idem();
    let register = || {
        req("POST", "/users")
            .header("Idempotency-Key", &key)
            .json(json!({"email": "b@example.com", "password": PASSWORD}))
    };
    let first = t
        .send(register())
        .await
        .expect(StatusCode::CREATED, "register");
    let head = t.head().await;
    let again = t
        .send(register())
        .await
        .expect(StatusCode::CREATED, "register retry");
    assert_eq!(again.location(), first.location());
    assert_eq!(
        t.head().await,
        head,
        "a retried registration appended events"
    );
    t.finish().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn retried_connects_answer_200_not_409() {
    let t = TestApp::start().await;
    let a = t.user("a@example.com").await;
    let (t1, t2) = (
        t.thing(&a.token, json!({})).await,
        t.thing(&a.token, json!({})).await,
    );
    let (c1, c2) = (
        t.channel(&a.token, json!({})).await,
        t.channel(&a.token, json!({})).await,
    );

    let key = idem();
    let body = json!({"channel_ids": [c1, c2], "thing_ids": [t1, t2]});
    let send = || {
        req("POST", "/connect")
            .token(&a.token)
            .header("Idempotency-Key", &key)
            .json(body.clone())
    };
    t.send(send()).await.expect(StatusCode::OK, "connect");
    let head = t.head().await;
    t.send(send()).await.expect(StatusCode::OK, "connect retry");
    assert_eq!(t.head().await, head, "a retried connect appended events");
    // Without the key, the same request is a conflict.
    t.send(req("POST", "/connect").token(&a.token).json(body.clone()))
        .await
        .expect(StatusCode::CONFLICT, "connect again, new request");

    let t3 = t.thing(&a.token, json!({})).await;
    let key = idem();
    let put = || {
        req("PUT", format!("/channels/{c1}/things/{t3}"))
            .token(&a.token)
            .header("Idempotency-Key", &key)
    };
    t.send(put()).await.expect(StatusCode::OK, "PUT connect");
    let head = t.head().await;
    t.send(put())
        .await
        .expect(StatusCode::OK, "PUT connect retry");
    assert_eq!(
        t.head().await,
        head,
        "a retried PUT connect appended events"
    );
    assert!(t.can_access(&t3, &c1));
    t.finish().await;
}

/// A new request (fresh key) that hits an already connected pair is refused whole, exactly
/// as without a key: the key only makes retries safe, it does not skip the check.
#[tokio::test(flavor = "multi_thread")]
async fn a_fresh_key_does_not_bypass_the_conflict_check() {
    let t = TestApp::start().await;
    let a = t.user("a@example.com").await;
    let mut things = vec![
        t.thing(&a.token, json!({})).await,
        t.thing(&a.token, json!({})).await,
    ];
    things.sort();
    let channel = t.channel(&a.token, json!({})).await;
    // Pairs are connected in id order: the free pair comes first, the connected one last.
    t.connect(&a.token, &channel, &things[1]).await;
    let head = t.head().await;

    let body = json!({"channel_ids": [channel], "thing_ids": things});
    t.send(
        req("POST", "/connect")
            .token(&a.token)
            .header("Idempotency-Key", &idem())
            .json(body),
    )
    .await
    .expect(
        StatusCode::CONFLICT,
        "connect with a connected pair, fresh key",
    );
    assert_eq!(t.head().await, head, "a refused connect appended events");
    assert!(
        !t.can_access(&things[0], &channel),
        "the free pair was connected"
    );
    t.finish().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_key_that_is_not_a_uuid_is_400() {
    let t = TestApp::start().await;
    let a = t.user("a@example.com").await;
    let thing = t.thing(&a.token, json!({})).await;
    let channel = t.channel(&a.token, json!({})).await;
    let head = t.head().await;

    let routes: Vec<(&str, String, Option<Value>)> = vec![
        (
            "POST",
            "/users".into(),
            Some(json!({"email": "b@example.com", "password": PASSWORD})),
        ),
        ("POST", "/things".into(), Some(json!({}))),
        ("POST", "/things/bulk".into(), Some(json!([{}]))),
        (
            "PUT",
            format!("/things/{thing}"),
            Some(json!({"name": "x"})),
        ),
        (
            "PATCH",
            format!("/things/{thing}/key"),
            Some(json!({"key": fresh_key()})),
        ),
        ("POST", "/channels".into(), Some(json!({}))),
        (
            "PUT",
            format!("/channels/{channel}"),
            Some(json!({"name": "x"})),
        ),
        (
            "POST",
            "/connect".into(),
            Some(json!({"channel_ids": [channel], "thing_ids": [thing]})),
        ),
        ("PUT", format!("/channels/{channel}/things/{thing}"), None),
        ("PUT", "/users".into(), Some(json!({"metadata": {}}))),
        ("DELETE", format!("/things/{thing}"), None),
    ];
    let mut failures = Failures::default();
    for (method, path, body) in &routes {
        for bad in ["not-a-uuid", "", "12345", "{}"] {
            let mut r = req(method, path)
                .token(&a.token)
                .header("Idempotency-Key", bad);
            if let Some(body) = body {
                r = r.json(body.clone());
            }
            let case = format!("{method} {path} with Idempotency-Key {bad:?}");
            failures.check(&case, &t.send(r).await, StatusCode::BAD_REQUEST);
        }
    }
    failures.assert_none();
    assert_eq!(t.head().await, head, "a refused request appended events");
    t.finish().await;
}
