//! 401 as a table: every protected route refuses every kind of bad credential, and both
//! `Bearer <jwt>` and the raw JWT are accepted.

mod common;

use axum::http::StatusCode;
use common::tokens::{foreign_token, unsigned_token};
use common::{Failures, PASSWORD, TestApp, req, unknown_id};
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread")]
async fn bad_credentials_are_401() {
    let t = TestApp::start().await;
    let a = t.user("a@example.com").await;
    let thing = t.thing(&a.token, json!({})).await;
    let channel = t.channel(&a.token, json!({})).await;
    let head = t.head().await;

    // Sanity: the token tooling makes tokens this server accepts, so the refusals below are
    // about the signature, the algorithm and the subject, not a broken forgery.
    let own = t.token_for(&a.id);
    t.send(req("GET", "/users/profile").auth(&own))
        .await
        .expect(StatusCode::OK, "self-made token with the server's secret");

    let bad_auth: Vec<(&str, Option<String>)> = vec![
        ("no header", None),
        ("empty", Some(String::new())),
        ("Bearer and nothing", Some("Bearer ".into())),
        ("garbage, raw", Some("garbage".into())),
        ("garbage, Bearer", Some("Bearer garbage".into())),
        ("other scheme", Some(format!("Basic {}", a.token))),
        (
            "other secret, Bearer",
            Some(format!("Bearer {}", foreign_token(&a.id))),
        ),
        ("other secret, raw", Some(foreign_token(&a.id))),
        (
            "alg none, Bearer",
            Some(format!("Bearer {}", unsigned_token(&a.id))),
        ),
        ("alg none, raw", Some(unsigned_token(&a.id))),
        ("unknown user", Some(t.token_for(&unknown_id()))),
        ("truncated", Some(a.token[..a.token.len() - 2].to_owned())),
    ];
    let body = json!({"name": "x", "key": "some-new-key", "metadata": {}, "password": "long-enough-new",
        "old_password": PASSWORD, "channel_ids": [channel], "thing_ids": [thing]});
    let routes: Vec<(&str, String, Option<Value>)> = vec![
        ("GET", "/users/profile".into(), None),
        ("GET", "/users".into(), None),
        ("GET", format!("/users/{}", a.id), None),
        ("PUT", "/users".into(), Some(body.clone())),
        ("PATCH", "/password".into(), Some(body.clone())),
        ("POST", "/things".into(), Some(body.clone())),
        ("POST", "/things/bulk".into(), Some(json!([body]))),
        ("GET", "/things".into(), None),
        ("GET", format!("/things/{thing}"), None),
        ("PUT", format!("/things/{thing}"), Some(body.clone())),
        ("PATCH", format!("/things/{thing}/key"), Some(body.clone())),
        ("DELETE", format!("/things/{thing}"), None),
        ("GET", format!("/things/{thing}/channels"), None),
        ("POST", "/channels".into(), Some(body.clone())),
        ("POST", "/channels/bulk".into(), Some(json!([body]))),
        ("GET", "/channels".into(), None),
        ("GET", format!("/channels/{channel}"), None),
        ("PUT", format!("/channels/{channel}"), Some(body.clone())),
        ("DELETE", format!("/channels/{channel}"), None),
        ("GET", format!("/channels/{channel}/things"), None),
        ("POST", "/connect".into(), Some(body.clone())),
        ("PUT", format!("/channels/{channel}/things/{thing}"), None),
        (
            "DELETE",
            format!("/channels/{channel}/things/{thing}"),
            None,
        ),
    ];
    let mut failures = Failures::default();
    for (method, path, body) in &routes {
        for (what, auth) in &bad_auth {
            let mut r = req(method, path);
            if let Some(auth) = auth {
                r = r.auth(auth);
            }
            if let Some(body) = body {
                r = r.json(body.clone());
            }
            let case = format!("{method} {path} with {what}");
            failures.check(&case, &t.send(r).await, StatusCode::UNAUTHORIZED);
        }
    }
    let logins = [
        json!({"email": "a@example.com", "password": "wrong-password-1"}),
        json!({"email": "nobody@example.com", "password": PASSWORD}),
        json!({"email": "A@EXAMPLE.COM", "password": "wrong-password-1"}),
    ];
    for body in logins {
        let resp = t.send(req("POST", "/tokens").json(body.clone())).await;
        failures.check(
            &format!("POST /tokens {body}"),
            &resp,
            StatusCode::UNAUTHORIZED,
        );
    }
    failures.assert_none();
    assert_eq!(t.head().await, head, "a refused request appended events");

    // Both header forms are accepted, and the scheme is case-insensitive.
    for auth in [
        format!("Bearer {}", a.token),
        format!("bearer {}", a.token),
        a.token.clone(),
    ] {
        let profile = t
            .send(req("GET", "/users/profile").auth(&auth))
            .await
            .expect(StatusCode::OK, &format!("Authorization: {auth:.12}…"))
            .json();
        assert_eq!(profile["id"], a.id);
        assert_eq!(profile["email"], "a@example.com");
    }
    t.finish().await;
}
