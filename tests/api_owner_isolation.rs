//! The owner-isolation matrix: a second user gets 404 on every route and method for every
//! one of the first user's ids, changes nothing, and sees nothing of the first in lists.

mod common;

use axum::http::StatusCode;
use common::{Failures, TestApp, User, fresh_key, req};
use serde_json::{Value, json};

/// Everything A can see, to compare before and after B's attempts.
async fn snapshot(t: &TestApp, a: &User, things: &[String], channels: &[String]) -> Value {
    let mut views = vec![
        t.get(&a.token, "/users/profile").await,
        t.get(&a.token, "/things?limit=100").await,
        t.get(&a.token, "/channels?limit=100").await,
    ];
    for thing in things {
        views.push(t.get(&a.token, &format!("/things/{thing}")).await);
        views.push(t.get(&a.token, &format!("/things/{thing}/channels")).await);
    }
    for channel in channels {
        views.push(t.get(&a.token, &format!("/channels/{channel}")).await);
        views.push(
            t.get(&a.token, &format!("/channels/{channel}/things"))
                .await,
        );
    }
    Value::from(views)
}

/// Every request B could make about A's thing `thing`, given B's own channel and thing.
fn thing_routes(
    thing: &str,
    b_channel: &str,
    b_key: &str,
) -> Vec<(&'static str, String, Option<Value>)> {
    vec![
        ("GET", format!("/things/{thing}"), None),
        (
            "PUT",
            format!("/things/{thing}"),
            Some(json!({"name": "mine now"})),
        ),
        (
            "PATCH",
            format!("/things/{thing}/key"),
            Some(json!({"key": fresh_key()})),
        ),
        // A key already in use (B's own): ownership is checked before uniqueness.
        (
            "PATCH",
            format!("/things/{thing}/key"),
            Some(json!({"key": b_key})),
        ),
        ("GET", format!("/things/{thing}/channels"), None),
        ("PUT", format!("/channels/{b_channel}/things/{thing}"), None),
        (
            "DELETE",
            format!("/channels/{b_channel}/things/{thing}"),
            None,
        ),
        (
            "POST",
            "/connect".into(),
            Some(json!({"channel_ids": [b_channel], "thing_ids": [thing]})),
        ),
        ("DELETE", format!("/things/{thing}"), None),
    ]
}

/// Every request B could make about A's channel `channel`, given B's own thing.
fn channel_routes(channel: &str, b_thing: &str) -> Vec<(&'static str, String, Option<Value>)> {
    vec![
        ("GET", format!("/channels/{channel}"), None),
        (
            "PUT",
            format!("/channels/{channel}"),
            Some(json!({"name": "mine now"})),
        ),
        ("GET", format!("/channels/{channel}/things"), None),
        ("PUT", format!("/channels/{channel}/things/{b_thing}"), None),
        (
            "DELETE",
            format!("/channels/{channel}/things/{b_thing}"),
            None,
        ),
        (
            "POST",
            "/connect".into(),
            Some(json!({"channel_ids": [channel], "thing_ids": [b_thing]})),
        ),
        ("DELETE", format!("/channels/{channel}"), None),
    ]
}

#[tokio::test(flavor = "multi_thread")]
async fn a_second_user_gets_404_on_every_foreign_id_and_changes_nothing() {
    let t = TestApp::start().await;
    let a = t.user("a@example.com").await;
    let b = t.user("b@example.com").await;
    let a_key = fresh_key();
    let meta = json!({"secret-project": {"code": "falcon"}});
    let a_things = vec![
        t.thing(
            &a.token,
            json!({"name": "a-thing-one", "key": a_key, "metadata": meta}),
        )
        .await,
        t.thing(&a.token, json!({"name": "a-thing-two"})).await,
    ];
    let a_channels = vec![
        t.channel(&a.token, json!({"name": "a-channel-one", "metadata": meta}))
            .await,
        t.channel(&a.token, json!({"name": "a-channel-two"})).await,
    ];
    t.connect(&a.token, &a_channels[0], &a_things[0]).await;
    let b_key = fresh_key();
    let b_thing = t
        .thing(&b.token, json!({"name": "b-thing", "key": b_key}))
        .await;
    let b_channel = t.channel(&b.token, json!({"name": "b-channel"})).await;

    let before = snapshot(&t, &a, &a_things, &a_channels).await;
    let head = t.head().await;

    let mut routes = Vec::new();
    for thing in &a_things {
        routes.extend(thing_routes(thing, &b_channel, &b_key));
    }
    for channel in &a_channels {
        routes.extend(channel_routes(channel, &b_thing));
    }
    // A's own connected pair and A's ids together.
    let (c0, t0) = (&a_channels[0], &a_things[0]);
    routes.extend([
        ("PUT", format!("/channels/{c0}/things/{t0}"), None),
        ("DELETE", format!("/channels/{c0}/things/{t0}"), None),
        (
            "PUT",
            format!("/channels/{}/things/{}", a_channels[1], a_things[1]),
            None,
        ),
        (
            "POST",
            "/connect".into(),
            Some(json!({"channel_ids": a_channels, "thing_ids": a_things})),
        ),
        (
            "POST",
            "/connect".into(),
            Some(json!({"channel_ids": [b_channel, c0], "thing_ids": [b_thing]})),
        ),
        ("GET", format!("/users/{}", a.id), None),
    ]);

    let mut failures = Failures::default();
    for (method, path, body) in routes {
        let mut r = req(method, &path).token(&b.token);
        if let Some(body) = &body {
            r = r.json(body.clone());
        }
        let case = format!("B: {method} {path} {body:?}");
        failures.check(&case, &t.send(r).await, StatusCode::NOT_FOUND);
    }
    failures.assert_none();

    assert_eq!(t.head().await, head, "B's refused requests appended events");
    assert_eq!(
        snapshot(&t, &a, &a_things, &a_channels).await,
        before,
        "A's state changed"
    );
    assert_eq!(t.identify(&a_key).as_deref(), Some(a_things[0].as_str()));
    assert!(t.can_access(&a_things[0], &a_channels[0]));
    for thing in &a_things {
        assert!(!t.can_access(thing, &b_channel));
    }
    for channel in &a_channels {
        assert!(!t.can_access(&b_thing, channel));
    }
    t.finish().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn lists_show_only_the_callers_own_items() {
    let t = TestApp::start().await;
    let a = t.user("a@example.com").await;
    let b = t.user("b@example.com").await;
    let meta = json!({"shared": "value"});
    for n in 0..3 {
        t.thing(
            &a.token,
            json!({"name": format!("common-{n}"), "metadata": meta}),
        )
        .await;
        t.channel(
            &a.token,
            json!({"name": format!("common-{n}"), "metadata": meta}),
        )
        .await;
    }
    let b_thing = t
        .thing(&b.token, json!({"name": "common-b", "metadata": meta}))
        .await;
    let b_channel = t
        .channel(&b.token, json!({"name": "common-b", "metadata": meta}))
        .await;
    t.connect(&b.token, &b_channel, &b_thing).await;

    let queries = [
        "",
        "?limit=100",
        "?name=common",
        "?metadata=%7B%22shared%22%3A%22value%22%7D",
        "?offset=0&limit=1",
    ];
    for query in queries {
        for (list, own) in [("things", &b_thing), ("channels", &b_channel)] {
            let page = t.get(&b.token, &format!("/{list}{query}")).await;
            assert_eq!(page["total"], 1, "B: /{list}{query}: {page}");
            assert_eq!(page[list][0]["id"], own.as_str(), "B: /{list}{query}");
        }
        let page = t.get(&a.token, &format!("/things{query}")).await;
        assert_eq!(page["total"], 3, "A: /things{query}: {page}");
    }
    let page = t
        .get(&b.token, &format!("/channels/{b_channel}/things"))
        .await;
    assert_eq!(page["total"], 1, "{page}");
    let page = t
        .get(&b.token, &format!("/things/{b_thing}/channels"))
        .await;
    assert_eq!(page["total"], 1, "{page}");
    for path in ["/users/profile", "/users"] {
        let me = t.get(&b.token, path).await;
        assert_eq!(
            (&me["id"], &me["email"]),
            (&json!(b.id), &json!(b.email)),
            "{path}"
        );
    }
    assert_eq!(
        t.get(&b.token, &format!("/users/{}", b.id)).await["id"],
        b.id
    );
    t.finish().await;
}
