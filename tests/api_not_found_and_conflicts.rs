//! Status codes as tables of cases: 404 for unknown ids, 409 for conflicts (and a refused
//! conflict appends nothing), 200/204 for updates and deletes.

mod common;

use axum::http::StatusCode;
use common::{Failures, PASSWORD, TestApp, fresh_key, req, unknown_id};
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread")]
async fn unknown_or_malformed_ids_are_404() {
    let t = TestApp::start().await;
    let a = t.user("a@example.com").await;
    let thing = t.thing(&a.token, json!({})).await;
    let channel = t.channel(&a.token, json!({})).await;
    let head = t.head().await;

    let body = json!({"name": "x", "metadata": {}});
    let key = json!({"key": fresh_key()});
    let mut cases: Vec<(&str, String, Option<Value>)> = Vec::new();
    for missing in [unknown_id(), "not-a-uuid".into(), "1".into()] {
        cases.extend([
            ("GET", format!("/users/{missing}"), None),
            ("GET", format!("/things/{missing}"), None),
            ("PUT", format!("/things/{missing}"), Some(body.clone())),
            ("DELETE", format!("/things/{missing}"), None),
            ("PATCH", format!("/things/{missing}/key"), Some(key.clone())),
            ("GET", format!("/things/{missing}/channels"), None),
            ("GET", format!("/channels/{missing}"), None),
            ("PUT", format!("/channels/{missing}"), Some(body.clone())),
            ("DELETE", format!("/channels/{missing}"), None),
            ("GET", format!("/channels/{missing}/things"), None),
            ("PUT", format!("/channels/{missing}/things/{thing}"), None),
            ("PUT", format!("/channels/{channel}/things/{missing}"), None),
            (
                "DELETE",
                format!("/channels/{missing}/things/{thing}"),
                None,
            ),
            (
                "DELETE",
                format!("/channels/{channel}/things/{missing}"),
                None,
            ),
        ]);
    }
    let unknown = unknown_id();
    let taken = t.key_of(&a.token, &thing).await;
    cases.extend([
        // The id is checked before the key's uniqueness: unknown id, taken key → 404.
        (
            "PATCH",
            format!("/things/{unknown}/key"),
            Some(json!({"key": taken})),
        ),
        // Not connected.
        (
            "DELETE",
            format!("/channels/{channel}/things/{thing}"),
            None,
        ),
        (
            "POST",
            "/connect".into(),
            Some(json!({"channel_ids": [unknown], "thing_ids": [thing]})),
        ),
        (
            "POST",
            "/connect".into(),
            Some(json!({"channel_ids": [channel], "thing_ids": [thing, unknown]})),
        ),
    ]);
    let mut failures = Failures::default();
    for (method, path, body) in cases {
        let mut r = req(method, &path).token(&a.token);
        if let Some(body) = body {
            r = r.json(body);
        }
        let case = format!("{method} {path}");
        failures.check(&case, &t.send(r).await, StatusCode::NOT_FOUND);
    }
    failures.assert_none();
    assert_eq!(t.head().await, head, "a refused request appended events");
    assert!(!t.can_access(&thing, &channel));
    t.finish().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn conflicts_are_409_and_append_nothing() {
    let t = TestApp::start().await;
    let a = t.user("a@example.com").await;
    let (k1, k2) = (fresh_key(), fresh_key());
    let t1 = t.thing(&a.token, json!({"key": k1})).await;
    let t2 = t.thing(&a.token, json!({"key": k2})).await;
    let c1 = t.channel(&a.token, json!({})).await;
    let c2 = t.channel(&a.token, json!({})).await;
    t.connect(&a.token, &c1, &t1).await;
    let head = t.head().await;

    let cases: Vec<(&str, String, Value)> = vec![
        (
            "POST",
            "/users".into(),
            json!({"email": "a@example.com", "password": PASSWORD}),
        ),
        ("POST", "/things".into(), json!({"key": k1})),
        (
            "POST",
            "/things/bulk".into(),
            json!([{"key": "same-key-twice"}, {"key": "same-key-twice"}]),
        ),
        ("PATCH", format!("/things/{t2}/key"), json!({"key": k1})),
        (
            "POST",
            "/connect".into(),
            json!({"channel_ids": [c1], "thing_ids": [t1]}),
        ),
        // One pair connected already: the whole request is refused, the other pairs too.
        (
            "POST",
            "/connect".into(),
            json!({"channel_ids": [c1, c2], "thing_ids": [t1, t2]}),
        ),
        (
            "POST",
            "/connect".into(),
            json!({"channel_ids": [c2, c1], "thing_ids": [t2, t1]}),
        ),
    ];
    let mut failures = Failures::default();
    for (method, path, body) in cases {
        let case = format!("{method} {path} {body}");
        let resp = t.send(req(method, &path).token(&a.token).json(body)).await;
        failures.check(&case, &resp, StatusCode::CONFLICT);
    }
    let resp = t
        .send(req("PUT", format!("/channels/{c1}/things/{t1}")).token(&a.token))
        .await;
    failures.check("PUT connected pair", &resp, StatusCode::CONFLICT);
    failures.assert_none();

    assert_eq!(t.head().await, head, "a refused request appended events");
    for (thing, channel, connected) in [(&t1, &c1, true), (&t2, &c1, false), (&t1, &c2, false)] {
        assert_eq!(
            t.can_access(thing, channel),
            connected,
            "{thing} on {channel}"
        );
    }
    assert_eq!(
        t.get(&a.token, &format!("/channels/{c2}/things")).await["total"],
        0
    );
    assert_eq!(
        t.get(&a.token, &format!("/things/{t2}/channels")).await["total"],
        0
    );
    assert_eq!(t.identify(&k1).as_deref(), Some(t1.as_str()));
    assert_eq!(t.identify(&k2).as_deref(), Some(t2.as_str()));
    assert_eq!(t.get(&a.token, "/things").await["total"], 2);
    t.finish().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn updates_are_200_and_deletes_204_even_twice() {
    let t = TestApp::start().await;
    let a = t.user("a@example.com").await;
    let thing = t.thing(&a.token, json!({"name": "t"})).await;
    let channel = t.channel(&a.token, json!({"name": "c"})).await;
    let key = fresh_key();

    let ok: Vec<(&str, String, Option<Value>, StatusCode)> = vec![
        (
            "PUT",
            format!("/things/{thing}"),
            Some(json!({"name": "t2"})),
            StatusCode::OK,
        ),
        (
            "PATCH",
            format!("/things/{thing}/key"),
            Some(json!({"key": key})),
            StatusCode::OK,
        ),
        // The same key again changes nothing and is not a conflict with itself.
        (
            "PATCH",
            format!("/things/{thing}/key"),
            Some(json!({"key": key})),
            StatusCode::OK,
        ),
        (
            "PUT",
            format!("/channels/{channel}"),
            Some(json!({"name": "c2"})),
            StatusCode::OK,
        ),
        (
            "PUT",
            "/users".into(),
            Some(json!({"metadata": {"a": 1}})),
            StatusCode::OK,
        ),
        (
            "PUT",
            format!("/channels/{channel}/things/{thing}"),
            None,
            StatusCode::OK,
        ),
        (
            "DELETE",
            format!("/channels/{channel}/things/{thing}"),
            None,
            StatusCode::NO_CONTENT,
        ),
        (
            "DELETE",
            format!("/channels/{channel}/things/{thing}"),
            None,
            StatusCode::NOT_FOUND,
        ),
        (
            "POST",
            "/connect".into(),
            Some(json!({"channel_ids": [channel], "thing_ids": [thing]})),
            StatusCode::OK,
        ),
        (
            "DELETE",
            format!("/things/{thing}"),
            None,
            StatusCode::NO_CONTENT,
        ),
        (
            "DELETE",
            format!("/things/{thing}"),
            None,
            StatusCode::NO_CONTENT,
        ),
        (
            "GET",
            format!("/things/{thing}"),
            None,
            StatusCode::NOT_FOUND,
        ),
        (
            "PUT",
            format!("/things/{thing}"),
            Some(json!({"name": "t3"})),
            StatusCode::NOT_FOUND,
        ),
        (
            "PATCH",
            format!("/things/{thing}/key"),
            Some(json!({"key": fresh_key()})),
            StatusCode::NOT_FOUND,
        ),
        (
            "GET",
            format!("/things/{thing}/channels"),
            None,
            StatusCode::NOT_FOUND,
        ),
        (
            "DELETE",
            format!("/channels/{channel}"),
            None,
            StatusCode::NO_CONTENT,
        ),
        (
            "DELETE",
            format!("/channels/{channel}"),
            None,
            StatusCode::NO_CONTENT,
        ),
        (
            "GET",
            format!("/channels/{channel}"),
            None,
            StatusCode::NOT_FOUND,
        ),
        (
            "PUT",
            format!("/channels/{channel}"),
            Some(json!({"name": "c3"})),
            StatusCode::NOT_FOUND,
        ),
        (
            "GET",
            format!("/channels/{channel}/things"),
            None,
            StatusCode::NOT_FOUND,
        ),
    ];
    let mut failures = Failures::default();
    for (method, path, body, expected) in ok {
        let mut r = req(method, &path).token(&a.token);
        if let Some(body) = &body {
            r = r.json(body.clone());
        }
        let resp = t.send(r).await;
        failures.check(&format!("{method} {path} {body:?}"), &resp, expected);
    }
    failures.assert_none();
    assert_eq!(t.identify(&key), None, "a removed thing's key still works");
    assert!(!t.can_access(&thing, &channel));
    let listed = t.get(&a.token, "/things").await;
    assert_eq!(listed["total"], 0, "{listed}");
    t.finish().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn removing_one_end_drops_its_connections() {
    let t = TestApp::start().await;
    let a = t.user("a@example.com").await;
    let t1 = t.thing(&a.token, json!({})).await;
    let t2 = t.thing(&a.token, json!({})).await;
    let c1 = t.channel(&a.token, json!({})).await;
    let c2 = t.channel(&a.token, json!({})).await;
    let connect = json!({"channel_ids": [c1, c2], "thing_ids": [t1, t2]});
    t.send(req("POST", "/connect").token(&a.token).json(connect))
        .await
        .expect(StatusCode::OK, "connect all");
    assert_eq!(
        t.get(&a.token, &format!("/channels/{c1}/things")).await["total"],
        2
    );

    t.send(req("DELETE", format!("/things/{t1}")).token(&a.token))
        .await
        .expect(StatusCode::NO_CONTENT, "remove t1");
    assert!(!t.can_access(&t1, &c1) && !t.can_access(&t1, &c2));
    for c in [&c1, &c2] {
        let things = t.get(&a.token, &format!("/channels/{c}/things")).await;
        assert_eq!(things["total"], 1, "{things}");
        assert_eq!(things["things"][0]["id"], t2.as_str());
    }

    t.send(req("DELETE", format!("/channels/{c1}")).token(&a.token))
        .await
        .expect(StatusCode::NO_CONTENT, "remove c1");
    assert!(!t.can_access(&t2, &c1) && t.can_access(&t2, &c2));
    let channels = t.get(&a.token, &format!("/things/{t2}/channels")).await;
    assert_eq!(channels["total"], 1, "{channels}");
    assert_eq!(channels["channels"][0]["id"], c2.as_str());
    t.finish().await;
}
