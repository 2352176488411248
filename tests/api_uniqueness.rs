//! Unique values (thing keys, emails) under concurrency and in bulk: exactly one claim
//! wins, and a refused bulk request leaves nothing behind.

mod common;

use axum::http::StatusCode;
use common::{Failures, PASSWORD, TestApp, fresh_key, req};
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread")]
async fn concurrent_claims_on_one_key_or_email_let_exactly_one_win() {
    let t = std::sync::Arc::new(TestApp::start().await);
    let a = t.user("a@example.com").await;
    let key = fresh_key();
    let things = (0..10).map(|_| {
        let (t, token, key) = (t.clone(), a.token.clone(), key.clone());
        tokio::spawn(async move {
            let body = json!({"key": key});
            t.send(req("POST", "/things").token(&token).json(body))
                .await
        })
    });
    let users = (0..4).map(|_| {
        let t = t.clone();
        tokio::spawn(async move {
            let body = json!({"email": "same@example.com", "password": PASSWORD});
            t.send(req("POST", "/users").json(body)).await
        })
    });
    let things = futures::future::join_all(things).await;
    let users = futures::future::join_all(users).await;
    for (what, results) in [("thing key", things), ("email", users)] {
        let mut created = 0;
        for resp in results {
            let resp = resp.expect("task");
            match resp.status {
                StatusCode::CREATED => created += 1,
                _ => resp
                    .check(StatusCode::CONFLICT)
                    .unwrap_or_else(|e| panic!("{what}: {e}")),
            }
        }
        assert_eq!(created, 1, "{what}: exactly one concurrent claim wins");
    }
    assert_eq!(t.get(&a.token, "/things").await["total"], 1);
    assert!(t.identify(&key).is_some());
    t.login("same@example.com", PASSWORD).await;
    t.finish().await;
}

/// A bulk create is all or none: one taken key refuses the whole request, and none of the
/// other things is created, not even after the answer.
#[tokio::test(flavor = "multi_thread")]
async fn bulk_create_with_one_taken_key_creates_nothing() {
    let t = TestApp::start().await;
    let a = t.user("a@example.com").await;
    let taken = fresh_key();
    t.thing(&a.token, json!({"key": taken})).await;
    let head = t.head().await;

    let mut failures = Failures::default();
    for position in [0, 15, 30] {
        let mut batch: Vec<Value> = (0..30).map(|_| json!({"key": fresh_key()})).collect();
        batch.insert(position, json!({"key": taken}));
        let resp = t
            .send(
                req("POST", "/things/bulk")
                    .token(&a.token)
                    .json(Value::from(batch)),
            )
            .await;
        failures.check(
            &format!("taken key at {position}"),
            &resp,
            StatusCode::CONFLICT,
        );
    }
    // One more command through the same log: any append still in flight from the refused
    // requests lands before it.
    t.send(
        req("PUT", "/users")
            .token(&a.token)
            .json(json!({"metadata": {}})),
    )
    .await
    .expect(StatusCode::OK, "a later command");
    let things = t.get(&a.token, "/things").await;
    if things["total"] != 1 {
        failures.push(format!(
            "refused bulk creates left things behind: total {}",
            things["total"]
        ));
    }
    let appended = t.head().await - head;
    if appended != 1 {
        failures.push(format!(
            "refused bulk creates appended {} events",
            appended - 1
        ));
    }
    failures.assert_none();
    t.finish().await;
}
