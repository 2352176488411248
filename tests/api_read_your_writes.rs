//! Read-your-writes: the moment a command is answered, the views and the authz cache show
//! its effect. No sleeps, no polling.

mod common;

use std::sync::Arc;

use axum::http::StatusCode;
use common::{TestApp, fresh_key, id_in, req};
use serde_json::json;

#[tokio::test(flavor = "multi_thread")]
async fn every_change_is_visible_the_moment_it_is_answered() {
    let t = TestApp::start().await;
    let a = t.user("a@example.com").await;

    let key = fresh_key();
    let thing = t.thing(&a.token, json!({"name": "dev", "key": key})).await;
    assert_eq!(
        t.identify(&key).as_deref(),
        Some(thing.as_str()),
        "key at once"
    );
    let shown = t.get(&a.token, &format!("/things/{thing}")).await;
    assert_eq!((&shown["id"], &shown["key"]), (&json!(thing), &json!(key)));

    let generated = t.thing(&a.token, json!({})).await;
    let generated_key = t.key_of(&a.token, &generated).await;
    assert_eq!(
        t.identify(&generated_key).as_deref(),
        Some(generated.as_str())
    );

    let channel = t.channel(&a.token, json!({})).await;
    t.get(&a.token, &format!("/channels/{channel}")).await;
    t.connect(&a.token, &channel, &thing).await;
    assert!(t.can_access(&thing, &channel), "connection at once");
    let things = t
        .get(&a.token, &format!("/channels/{channel}/things"))
        .await;
    assert_eq!(things["things"][0]["id"], thing.as_str());

    t.send(req("DELETE", format!("/channels/{channel}/things/{thing}")).token(&a.token))
        .await
        .expect(StatusCode::NO_CONTENT, "disconnect");
    assert!(!t.can_access(&thing, &channel), "disconnection at once");
    let body = json!({"channel_ids": [channel], "thing_ids": [thing, generated]});
    t.send(req("POST", "/connect").token(&a.token).json(body))
        .await
        .expect(StatusCode::OK, "connect many");
    assert!(t.can_access(&thing, &channel) && t.can_access(&generated, &channel));

    let new_key = fresh_key();
    t.send(
        req("PATCH", format!("/things/{thing}/key"))
            .token(&a.token)
            .json(json!({"key": new_key})),
    )
    .await
    .expect(StatusCode::OK, "rotate key");
    assert_eq!(t.identify(&key), None, "old key still identifies");
    assert_eq!(t.identify(&new_key).as_deref(), Some(thing.as_str()));
    assert_eq!(t.key_of(&a.token, &thing).await, new_key);
    // The freed key may be taken at once by another thing.
    let reuser = t.thing(&a.token, json!({"key": key})).await;
    assert_eq!(t.identify(&key).as_deref(), Some(reuser.as_str()));

    t.send(
        req("PUT", format!("/things/{thing}"))
            .token(&a.token)
            .json(json!({"name": "renamed"})),
    )
    .await
    .expect(StatusCode::OK, "rename");
    assert_eq!(
        t.get(&a.token, &format!("/things/{thing}")).await["name"],
        "renamed"
    );

    t.send(req("DELETE", format!("/things/{thing}")).token(&a.token))
        .await
        .expect(StatusCode::NO_CONTENT, "remove thing");
    assert_eq!(
        t.identify(&new_key),
        None,
        "removed thing's key still identifies"
    );
    assert!(!t.can_access(&thing, &channel));
    t.send(req("GET", format!("/things/{thing}")).token(&a.token))
        .await
        .expect(StatusCode::NOT_FOUND, "removed thing");
    // A removed thing's key is free again at once.
    let successor = t.thing(&a.token, json!({"key": new_key})).await;
    assert_eq!(t.identify(&new_key).as_deref(), Some(successor.as_str()));

    t.send(req("DELETE", format!("/channels/{channel}")).token(&a.token))
        .await
        .expect(StatusCode::NO_CONTENT, "remove channel");
    assert!(
        !t.can_access(&generated, &channel),
        "removed channel still grants"
    );
    assert_eq!(
        t.app
            .service
            .authz()
            .channel_owner(channel.parse().unwrap()),
        None
    );

    let bulk = t
        .send(
            req("POST", "/things/bulk")
                .token(&a.token)
                .json(json!([{}, {"key": fresh_key()}, {}])),
        )
        .await
        .expect(StatusCode::CREATED, "bulk")
        .json();
    for item in bulk["things"].as_array().unwrap() {
        let key = item["key"].as_str().unwrap();
        assert_eq!(
            t.identify(key).as_deref(),
            item["id"].as_str(),
            "bulk key at once"
        );
    }
    t.finish().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_new_user_can_log_in_and_work_at_once() {
    let t = TestApp::start().await;
    let resp = t
        .send(
            req("POST", "/users")
                .json(json!({"email": "new@example.com", "password": common::PASSWORD})),
        )
        .await
        .expect(StatusCode::CREATED, "register");
    let id = id_in(&resp.location(), "/users/");
    let token = t.login("new@example.com", common::PASSWORD).await;
    assert_eq!(t.get(&token, "/users/profile").await["id"], id);
    t.thing(&token, json!({})).await;
    t.finish().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn fifty_concurrent_creates_are_each_visible_at_once() {
    let t = Arc::new(TestApp::start().await);
    let a = t.user("a@example.com").await;

    let tasks = (0..50).map(|n| {
        let (t, token) = (t.clone(), a.token.clone());
        tokio::spawn(async move {
            let key = fresh_key();
            let thing = t
                .thing(&token, json!({"name": format!("t{n}"), "key": key}))
                .await;
            assert_eq!(
                t.identify(&key).as_deref(),
                Some(thing.as_str()),
                "task {n}"
            );
            let shown = t.get(&token, &format!("/things/{thing}")).await;
            assert_eq!(shown["key"], key.as_str(), "task {n}");
            thing
        })
    });
    let mut things = Vec::new();
    for task in futures::future::join_all(tasks).await {
        things.push(task.expect("task panicked"));
    }
    things.sort();
    things.dedup();
    assert_eq!(things.len(), 50, "ids are distinct");
    let listed = t.get(&a.token, "/things?limit=100").await;
    assert_eq!(listed["total"], 50, "{listed}");
    t.finish().await;
}

/// Provisioning scripts connect many things to one channel in parallel: every connect
/// must succeed (contention on the channel's stream is the server's to resolve, not a 409).
#[tokio::test(flavor = "multi_thread")]
async fn fifty_concurrent_connects_to_one_channel_all_succeed() {
    let t = Arc::new(TestApp::start().await);
    let a = t.user("a@example.com").await;
    let channel = t.channel(&a.token, json!({})).await;
    let things = t
        .send(
            req("POST", "/things/bulk")
                .token(&a.token)
                .json(json!(vec![json!({}); 50])),
        )
        .await
        .expect(StatusCode::CREATED, "bulk")
        .json();
    let things: Vec<String> = things["things"]
        .as_array()
        .unwrap()
        .iter()
        .map(|th| th["id"].as_str().unwrap().to_owned())
        .collect();

    let tasks = things.iter().map(|thing| {
        let (t, token) = (t.clone(), a.token.clone());
        let (channel, thing) = (channel.clone(), thing.clone());
        tokio::spawn(async move {
            let path = format!("/channels/{channel}/things/{thing}");
            let resp = t.send(req("PUT", &path).token(&token)).await;
            let connected = t.can_access(&thing, &channel);
            (resp.check(StatusCode::OK), connected)
        })
    });
    let mut failures = common::Failures::default();
    for (n, task) in futures::future::join_all(tasks)
        .await
        .into_iter()
        .enumerate()
    {
        let (status, connected) = task.expect("task panicked");
        if let Err(e) = status {
            failures.push(format!("connect {n}: {e}"));
        } else if !connected {
            failures.push(format!(
                "connect {n}: answered 200 but authz does not show it"
            ));
        }
    }
    failures.assert_none();
    let connected = t
        .get(&a.token, &format!("/channels/{channel}/things?limit=100"))
        .await;
    assert_eq!(connected["total"], 50);
    t.finish().await;
}
