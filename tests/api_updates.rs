//! Update semantics: `PUT` replaces name and metadata wholesale (an omitted field becomes
//! absent), `PUT /users` replaces metadata, `PATCH /password` checks the old password.

mod common;

use axum::http::StatusCode;
use common::{PASSWORD, TestApp, req};
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread")]
async fn put_replaces_things_and_channels_wholesale() {
    let t = TestApp::start().await;
    let a = t.user("a@example.com").await;
    let start = json!({"name": "first", "metadata": {"a": 1, "nested": {"b": 2}}});
    let thing = t.thing(&a.token, start.clone()).await;
    let channel = t.channel(&a.token, start).await;
    let key = t.key_of(&a.token, &thing).await;

    // (body of the PUT, the name and metadata a GET shows afterwards)
    let steps = [
        (json!({"name": "second"}), Some("second"), None),
        (json!({"metadata": {"c": 3}}), None, Some(json!({"c": 3}))),
        (
            json!({"name": "third", "metadata": {"d": [1]}}),
            Some("third"),
            Some(json!({"d": [1]})),
        ),
        (json!({}), None, None),
        (json!({"name": null, "metadata": null}), None, None),
    ];
    for (path, field_names) in [
        (format!("/things/{thing}"), "thing"),
        (format!("/channels/{channel}"), "channel"),
    ] {
        for (body, name, metadata) in &steps {
            t.send(req("PUT", &path).token(&a.token).json(body.clone()))
                .await
                .expect(StatusCode::OK, &format!("PUT {path} {body}"));
            let shown = t.get(&a.token, &path).await;
            let fields = shown.as_object().unwrap();
            assert_eq!(
                shown.get("name").and_then(Value::as_str),
                *name,
                "{field_names} after {body}: {shown}"
            );
            assert_eq!(
                fields.get("metadata"),
                metadata.as_ref(),
                "{field_names} after {body}: {shown}"
            );
            if field_names == "thing" {
                assert_eq!(shown["key"], key.as_str(), "PUT must not touch the key");
            }
        }
    }
    t.finish().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn put_users_replaces_metadata() {
    let t = TestApp::start().await;
    let resp = t
        .send(
            req("POST", "/users").json(
                json!({"email": "a@example.com", "password": PASSWORD, "metadata": {"x": 1}}),
            ),
        )
        .await
        .expect(StatusCode::CREATED, "register with metadata");
    let id = common::id_in(&resp.location(), "/users/");
    let token = t.login("a@example.com", PASSWORD).await;
    assert_eq!(
        t.get(&token, "/users/profile").await["metadata"],
        json!({"x": 1})
    );

    let steps = [
        (
            json!({"metadata": {"y": {"z": true}}}),
            Some(json!({"y": {"z": true}})),
        ),
        (json!({"metadata": {"w": 2}}), Some(json!({"w": 2}))),
        (json!({}), None),
    ];
    for (body, metadata) in steps {
        t.send(req("PUT", "/users").token(&token).json(body.clone()))
            .await
            .expect(StatusCode::OK, &format!("PUT /users {body}"));
        for path in [
            "/users/profile".to_owned(),
            "/users".into(),
            format!("/users/{id}"),
        ] {
            let me = t.get(&token, &path).await;
            assert_eq!(
                me.get("metadata"),
                metadata.as_ref(),
                "{path} after {body}: {me}"
            );
            assert_eq!(
                (&me["id"], &me["email"]),
                (&json!(id), &json!("a@example.com"))
            );
            assert!(
                me.get("password").is_none(),
                "{path} shows a password field"
            );
        }
    }
    t.finish().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn patch_password_checks_the_old_one() {
    let t = TestApp::start().await;
    let a = t.user("a@example.com").await;
    let new = "a-brand-new-password";
    let change = |old: &str, new: &str| {
        req("PATCH", "/password")
            .token(&a.token)
            .json(json!({"old_password": old, "password": new}))
    };
    let head = t.head().await;
    t.send(change("not-the-old-password", new))
        .await
        .expect(StatusCode::UNAUTHORIZED, "wrong old password");
    t.send(change(PASSWORD, "short"))
        .await
        .expect(StatusCode::BAD_REQUEST, "short new password");
    assert_eq!(t.head().await, head, "a refused change appended events");

    t.send(change(PASSWORD, new))
        .await
        .expect(StatusCode::CREATED, "password change");
    let token = t.login("a@example.com", new).await;
    assert_eq!(t.get(&token, "/users/profile").await["id"], a.id);
    t.send(req("POST", "/tokens").json(json!({"email": "a@example.com", "password": PASSWORD})))
        .await
        .expect(StatusCode::UNAUTHORIZED, "login with the old password");
    t.finish().await;
}
