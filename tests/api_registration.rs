//! Closed registration: only a logged-in user or the operator's admin token may add users.

mod common;

use axum::http::StatusCode;
use common::{PASSWORD, TestApp, req};
use serde_json::json;

fn register(email: &str) -> common::Req {
    req("POST", "/users").json(json!({"email": email, "password": PASSWORD}))
}

#[tokio::test(flavor = "multi_thread")]
async fn closed_registration_admits_only_the_operator_and_logged_in_users() {
    let t = TestApp::start_with(|c| c.closed_registration = true).await;
    let admin = std::fs::read_to_string(t.config.secrets_dir().join("admin.token")).unwrap();

    let anonymous = t.send(register("anon@example.com")).await;
    anonymous.check(StatusCode::UNAUTHORIZED).unwrap();
    let forged = t
        .send(register("anon@example.com").token("not-the-admin-token"))
        .await;
    forged.check(StatusCode::UNAUTHORIZED).unwrap();

    t.send(register("first@example.com").token(admin.trim()))
        .await
        .expect(StatusCode::CREATED, "the operator registers the first user");
    let first = t.login("first@example.com", PASSWORD).await;
    t.send(register("second@example.com").token(&first))
        .await
        .expect(StatusCode::CREATED, "a logged-in user registers another");

    assert_eq!(t.app.service.views().user_count().await.unwrap(), 2);
    t.finish().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn open_registration_needs_no_token() {
    let t = TestApp::start().await;
    t.send(register("open@example.com"))
        .await
        .expect(StatusCode::CREATED, "open registration");
    t.finish().await;
}
