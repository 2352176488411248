//! Status codes as tables of cases: 201 on create, 400 malformed, 401 bad credentials, 415
//! wrong content type. Every error answer must be `{"error": "..."}`.

mod common;

use axum::http::StatusCode;
use common::{Failures, PASSWORD, TestApp, req};
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread")]
async fn creates_answer_201_with_location() {
    let t = TestApp::start().await;
    let resp = t
        .send(req("POST", "/users").json(json!({"email": "a@example.com", "password": PASSWORD})))
        .await
        .expect(StatusCode::CREATED, "POST /users");
    let user = common::id_in(&resp.location(), "/users/");
    let resp = t
        .send(req("POST", "/tokens").json(json!({"email": "a@example.com", "password": PASSWORD})))
        .await
        .expect(StatusCode::CREATED, "POST /tokens");
    let body = resp.json();
    let token = body["token"].as_str().expect("token").to_owned();
    assert_eq!(body.as_object().unwrap().len(), 1, "only a token: {body}");
    assert_eq!(t.get(&token, &format!("/users/{user}")).await["id"], user);

    for (path, kind) in [("/things", "/things/"), ("/channels", "/channels/")] {
        let resp = t
            .send(req("POST", path).token(&token).json(json!({"name": "n"})))
            .await
            .expect(StatusCode::CREATED, path);
        let location = resp.location();
        common::id_in(&location, kind);
        assert_eq!(t.get(&token, &location).await["name"], "n");
    }
    // Names are limited in characters, not bytes: 1024 two-byte characters are fine.
    let wide = "é".repeat(1024);
    for path in ["/things", "/channels"] {
        let resp = t
            .send(req("POST", path).token(&token).json(json!({"name": wide})))
            .await
            .expect(
                StatusCode::CREATED,
                &format!("{path} with 1024 two-byte characters"),
            );
        assert_eq!(t.get(&token, &resp.location()).await["name"], wide.as_str());
    }
    for (path, field) in [("/things/bulk", "things"), ("/channels/bulk", "channels")] {
        let body = t
            .send(
                req("POST", path)
                    .token(&token)
                    .json(json!([{"name": "x"}, {}])),
            )
            .await
            .expect(StatusCode::CREATED, path)
            .json();
        let created = body[field].as_array().expect("created list");
        assert_eq!(created.len(), 2, "{path}: {body}");
        for item in created {
            let id = item["id"].as_str().expect("id");
            t.get(&token, &format!("/{field}/{id}")).await;
        }
    }
    t.finish().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn malformed_requests_are_400_and_append_nothing() {
    let t = TestApp::start().await;
    let a = t.user("a@example.com").await;
    let thing = t.thing(&a.token, json!({"name": "t"})).await;
    let channel = t.channel(&a.token, json!({"name": "c"})).await;
    let long = "n".repeat(1025);
    let head = t.head().await;

    let json_cases: Vec<(&str, String, Value)> = vec![
        (
            "POST",
            "/users".into(),
            json!({"email": "not-an-email", "password": PASSWORD}),
        ),
        (
            "POST",
            "/users".into(),
            json!({"email": "b@example", "password": PASSWORD}),
        ),
        (
            "POST",
            "/users".into(),
            json!({"email": "b@example.com", "password": "short"}),
        ),
        ("POST", "/users".into(), json!({"email": "b@example.com"})),
        (
            "POST",
            "/users".into(),
            json!({"email": "b@example.com", "password": PASSWORD, "metadata": 5}),
        ),
        ("POST", "/tokens".into(), json!({"email": "a@example.com"})),
        ("PUT", "/users".into(), json!({"metadata": "not an object"})),
        (
            "PATCH",
            "/password".into(),
            json!({"password": "short", "old_password": PASSWORD}),
        ),
        (
            "PATCH",
            "/password".into(),
            json!({"password": "long-enough-new"}),
        ),
        ("POST", "/things".into(), json!({"name": long})),
        ("POST", "/things".into(), json!({"metadata": [1, 2]})),
        ("POST", "/things".into(), json!({"key": ""})),
        (
            "POST",
            "/things".into(),
            json!([{"name": "array, not object"}]),
        ),
        ("POST", "/things/bulk".into(), json!([])),
        (
            "POST",
            "/things/bulk".into(),
            json!([{"name": "ok"}, {"name": long}]),
        ),
        (
            "POST",
            "/things/bulk".into(),
            json!({"name": "object, not array"}),
        ),
        (
            "POST",
            "/things/bulk".into(),
            Value::from(vec![json!({}); 1001]),
        ),
        (
            "POST",
            "/channels/bulk".into(),
            Value::from(vec![json!({}); 1001]),
        ),
        ("PUT", format!("/things/{thing}"), json!({"name": long})),
        ("PATCH", format!("/things/{thing}/key"), json!({"key": ""})),
        ("PATCH", format!("/things/{thing}/key"), json!({})),
        ("POST", "/channels".into(), json!({"name": long})),
        ("POST", "/channels/bulk".into(), json!([])),
        ("POST", "/channels/bulk".into(), json!([{"name": long}])),
        ("PUT", format!("/channels/{channel}"), json!({"name": long})),
        (
            "PUT",
            format!("/channels/{channel}"),
            json!({"metadata": "x"}),
        ),
        (
            "POST",
            "/connect".into(),
            json!({"channel_ids": [], "thing_ids": [thing]}),
        ),
        (
            "POST",
            "/connect".into(),
            json!({"channel_ids": [channel], "thing_ids": []}),
        ),
        (
            "POST",
            "/connect".into(),
            json!({"channel_ids": ["nope"], "thing_ids": [thing]}),
        ),
        (
            "POST",
            "/connect".into(),
            json!({"channel_ids": [channel], "thing_ids": [thing, "nope"]}),
        ),
        (
            "POST",
            "/connect".into(),
            json!({"channel_ids": [channel, ""], "thing_ids": [thing]}),
        ),
        ("POST", "/connect".into(), json!({"channel_ids": [channel]})),
    ];
    let mut failures = Failures::default();
    for (method, path, body) in json_cases {
        let case = format!("{method} {path} {body}");
        let resp = t.send(req(method, &path).token(&a.token).json(body)).await;
        failures.check(&case, &resp, StatusCode::BAD_REQUEST);
    }

    let json_routes = [
        ("POST", "/users".to_owned()),
        ("POST", "/tokens".into()),
        ("PUT", "/users".into()),
        ("PATCH", "/password".into()),
        ("POST", "/things".into()),
        ("POST", "/things/bulk".into()),
        ("PUT", format!("/things/{thing}")),
        ("PATCH", format!("/things/{thing}/key")),
        ("POST", "/channels".into()),
        ("POST", "/channels/bulk".into()),
        ("PUT", format!("/channels/{channel}")),
        ("POST", "/connect".into()),
    ];
    for (method, path) in &json_routes {
        for raw in ["", "{\"name\":", "not json", "{}}", "\u{0}"] {
            let case = format!("{method} {path} body {raw:?}");
            let r = req(method, path)
                .token(&a.token)
                .raw(Some("application/json"), raw);
            failures.check(&case, &t.send(r).await, StatusCode::BAD_REQUEST);
        }
    }

    let lists = [
        "/things".to_owned(),
        "/channels".into(),
        format!("/channels/{channel}/things"),
        format!("/things/{thing}/channels"),
    ];
    let long_name = format!("name={long}");
    let bad_queries = [
        "limit=0",
        "limit=101",
        "limit=-1",
        "limit=abc",
        "limit=",
        "limit=1.5",
        "limit=1&limit=2",
        "offset=-1",
        "offset=x",
        "offset=0&offset=1",
        "offset=99999999999999999999",
        "metadata=%7B",
        "metadata=%5B%5D",
        "metadata=1",
        "metadata=%22s%22",
        "name=a&name=b",
        &long_name,
    ];
    for list in &lists {
        for query in bad_queries {
            let path = format!("{list}?{query}");
            let resp = t.send(req("GET", &path).token(&a.token)).await;
            failures.check(&format!("GET {path:.80}"), &resp, StatusCode::BAD_REQUEST);
        }
    }
    failures.assert_none();
    assert_eq!(t.head().await, head, "a refused request appended events");
    t.finish().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn json_routes_refuse_other_content_types_with_415() {
    let t = TestApp::start().await;
    let a = t.user("a@example.com").await;
    let thing = t.thing(&a.token, json!({})).await;
    let channel = t.channel(&a.token, json!({})).await;
    let head = t.head().await;

    let routes: Vec<(&str, String, Value)> = vec![
        (
            "POST",
            "/users".into(),
            json!({"email": "b@example.com", "password": PASSWORD}),
        ),
        (
            "POST",
            "/tokens".into(),
            json!({"email": "a@example.com", "password": PASSWORD}),
        ),
        ("PUT", "/users".into(), json!({"metadata": {"a": 1}})),
        (
            "PATCH",
            "/password".into(),
            json!({"password": "long-enough-new", "old_password": PASSWORD}),
        ),
        ("POST", "/things".into(), json!({"name": "x"})),
        ("POST", "/things/bulk".into(), json!([{"name": "x"}])),
        ("PUT", format!("/things/{thing}"), json!({"name": "x"})),
        (
            "PATCH",
            format!("/things/{thing}/key"),
            json!({"key": "another-key-1"}),
        ),
        ("POST", "/channels".into(), json!({"name": "x"})),
        ("POST", "/channels/bulk".into(), json!([{"name": "x"}])),
        ("PUT", format!("/channels/{channel}"), json!({"name": "x"})),
        (
            "POST",
            "/connect".into(),
            json!({"channel_ids": [channel], "thing_ids": [thing]}),
        ),
    ];
    let content_types = [
        None,
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
        Some("application/xml"),
        Some("multipart/form-data; boundary=x"),
    ];
    let mut failures = Failures::default();
    for (method, path, body) in &routes {
        for ct in content_types {
            let r = req(method, path).token(&a.token).raw(ct, body.to_string());
            let case = format!("{method} {path} as {ct:?}");
            failures.check(&case, &t.send(r).await, StatusCode::UNSUPPORTED_MEDIA_TYPE);
        }
    }
    failures.assert_none();
    assert_eq!(t.head().await, head, "a refused request appended events");

    // A charset parameter is still JSON.
    let r = req("POST", "/things")
        .token(&a.token)
        .raw(Some("application/json; charset=utf-8"), r#"{"name":"cs"}"#);
    t.send(r)
        .await
        .expect(StatusCode::CREATED, "JSON with charset");
    t.finish().await;
}
