//! Password reset by mail (Mainflux 0.12 `POST /password/reset-request`, `PUT
//! /password/reset`) with the real SMTP mailer and a real SMTP server: the link in the mail
//! carries a recovery token that resets the password once, within 5 minutes, and nothing
//! else.

mod common;

use std::time::{Duration, SystemTime};

use axum::http::StatusCode;
use commands::auth::{Secrets, Tokens, password_fingerprint};
use common::smtp::SmtpSink;
use common::{Failures, PASSWORD, TestApp, req};
use domain::ids::UserId;
use serde_json::{Value, json};
use uuid::Uuid;

const UI: &str = "http://ui.example.com/";
const NEW_PASSWORD: &str = "a-brand-new-password";

fn reset_request(email: &str) -> common::Req {
    req("POST", "/password/reset-request")
        .header("referer", UI)
        .json(json!({ "email": email }))
}

/// Mail goes out by SMTP at `url`, with links only to the test's UI.
fn mailed(config: &mut ferroflux::Config, url: String) {
    config.mail.smtp_url = Some(url);
    config.mail.reset_origins = vec!["http://ui.example.com".into()];
}

fn reset(token: &str, password: &str, confirm: &str) -> common::Req {
    req("PUT", "/password/reset")
        .json(json!({"token": token, "password": password, "confirm_password": confirm}))
}

/// The token in the mail's link, which must be `<Referer><reset endpoint>?token=…`.
fn token_in(mail: &Value) -> String {
    let data = mail["data"].as_str().expect("mail text");
    let prefix = "http://ui.example.com/reset-request?token=";
    let start = data
        .find(prefix)
        .unwrap_or_else(|| panic!("no reset link in {data}"))
        + prefix.len();
    data[start..]
        .split_whitespace()
        .next()
        .expect("a token")
        .to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_mailed_link_resets_the_password_once() {
    let mut sink = SmtpSink::start(None).await;
    let url = sink.url();
    let t = TestApp::start_with(|c| mailed(c, url)).await;
    let user = t.user("reset@example.com").await;

    // An unknown email is answered as a known one, and no mail goes out for it: the next
    // mail the server receives is the known user's.
    let unknown = t.send(reset_request("nobody@example.com")).await;
    let known = t.send(reset_request(&user.email)).await;
    unknown.check(StatusCode::CREATED).unwrap();
    known.check(StatusCode::CREATED).unwrap();
    assert_eq!(unknown.body, known.body, "same answer for both");
    let mail = sink.next_mail().await;
    assert_eq!(mail["to"], json!([user.email]));
    let token = token_in(&mail);
    t.remember_secret(&token);

    let mut failures = Failures::default();
    let bad = [
        (
            "mismatched confirm",
            reset(&token, NEW_PASSWORD, "something-else"),
            StatusCode::BAD_REQUEST,
        ),
        (
            "short password",
            reset(&token, "short", "short"),
            StatusCode::BAD_REQUEST,
        ),
        (
            "empty token",
            reset("", NEW_PASSWORD, NEW_PASSWORD),
            StatusCode::BAD_REQUEST,
        ),
        (
            "garbage token",
            reset("garbage", NEW_PASSWORD, NEW_PASSWORD),
            StatusCode::UNAUTHORIZED,
        ),
        (
            "login token",
            reset(&user.token, NEW_PASSWORD, NEW_PASSWORD),
            StatusCode::UNAUTHORIZED,
        ),
        (
            "no content type",
            req("PUT", "/password/reset").raw(None, "{}"),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ),
        (
            "missing field",
            req("PUT", "/password/reset").json(json!({"token": token})),
            StatusCode::BAD_REQUEST,
        ),
    ];
    for (case, request, expected) in bad {
        failures.check(case, &t.send(request).await, expected);
    }
    // A recovery token opens nothing else.
    let as_login = t.send(req("GET", "/users/profile").token(&token)).await;
    failures.check(
        "recovery token as login",
        &as_login,
        StatusCode::UNAUTHORIZED,
    );
    failures.assert_none();

    // None of the refusals spent the token.
    let done = t.send(reset(&token, NEW_PASSWORD, NEW_PASSWORD)).await;
    done.expect(StatusCode::CREATED, "reset");
    t.login(&user.email, NEW_PASSWORD).await;
    let old = t
        .send(req("POST", "/tokens").json(json!({"email": user.email, "password": PASSWORD})))
        .await;
    old.expect(StatusCode::UNAUTHORIZED, "the old password");
    let again = t
        .send(reset(
            &token,
            "yet-another-password",
            "yet-another-password",
        ))
        .await;
    again.expect(StatusCode::UNAUTHORIZED, "the token a second time");
    t.login(&user.email, NEW_PASSWORD).await;
    t.finish().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn expired_and_foreign_recovery_tokens_are_refused() {
    let t = TestApp::start().await;
    let user = t.user("late@example.com").await;
    let id = UserId(Uuid::parse_str(&user.id).unwrap());
    let row = t
        .app
        .service
        .views()
        .user(id)
        .await
        .unwrap()
        .expect("user row");
    let fingerprint = password_fingerprint(&row.password_hash);
    let secrets = Secrets::load(&t.config.secrets_dir(), None, None).expect("secrets");
    let ours = Tokens::new(&secrets.jwt_secret, Duration::from_secs(3600));
    let six_minutes_ago = SystemTime::now() - Duration::from_secs(6 * 60);
    let cases = [
        (
            "expired",
            ours.issue_recovery_at(id, &fingerprint, six_minutes_ago),
            StatusCode::UNAUTHORIZED,
        ),
        (
            "other secret",
            Tokens::new(b"another-secret", Duration::from_secs(60))
                .issue_recovery(id, &fingerprint),
            StatusCode::UNAUTHORIZED,
        ),
        (
            "other password",
            ours.issue_recovery(id, "0123456789abcdef0123456789abcdef"),
            StatusCode::UNAUTHORIZED,
        ),
        (
            "unknown user",
            ours.issue_recovery(UserId(Uuid::new_v4()), &fingerprint),
            StatusCode::UNAUTHORIZED,
        ),
        // The control: the same construction, fresh, works (so the refusals above are real).
        (
            "fresh",
            ours.issue_recovery(id, &fingerprint),
            StatusCode::CREATED,
        ),
    ];
    let mut failures = Failures::default();
    for (case, token, expected) in cases {
        failures.check(
            case,
            &t.send(reset(&token, NEW_PASSWORD, NEW_PASSWORD)).await,
            expected,
        );
    }
    failures.assert_none();
    t.login(&user.email, NEW_PASSWORD).await;
    t.finish().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn reset_requests_need_a_referer_and_an_email() {
    let t = TestApp::start().await;
    let user = t.user("ref@example.com").await;
    let body = json!({ "email": user.email });
    let cases = [
        (
            "no referer",
            req("POST", "/password/reset-request").json(body.clone()),
            StatusCode::BAD_REQUEST,
        ),
        (
            "not a URL",
            req("POST", "/password/reset-request")
                .header("referer", "ui.example.com")
                .json(body.clone()),
            StatusCode::BAD_REQUEST,
        ),
        (
            "not an email",
            req("POST", "/password/reset-request")
                .header("referer", UI)
                .json(json!({"email": "nope"})),
            StatusCode::BAD_REQUEST,
        ),
        (
            "no email",
            req("POST", "/password/reset-request")
                .header("referer", UI)
                .json(json!({})),
            StatusCode::BAD_REQUEST,
        ),
        (
            "no content type",
            req("POST", "/password/reset-request")
                .header("referer", UI)
                .raw(None, body.to_string()),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ),
        // Without SMTP the link is logged; the answer is the same.
        (
            "logged, not mailed",
            reset_request(&user.email),
            StatusCode::CREATED,
        ),
    ];
    let mut failures = Failures::default();
    for (case, request, expected) in cases {
        failures.check(case, &t.send(request).await, expected);
    }
    failures.assert_none();
    t.finish().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_link_is_mailed_only_to_a_configured_origin() {
    let mut sink = SmtpSink::start(None).await;
    let url = sink.url();
    let t = TestApp::start_with(|c| mailed(c, url)).await;
    let user = t.user("phish@example.com").await;
    let body = json!({ "email": user.email });
    for evil in [
        "https://evil.example.com/",
        "http://ui.example.com.evil.example.com/",
    ] {
        let request = req("POST", "/password/reset-request")
            .header("referer", evil)
            .json(body.clone());
        let answer = t.send(request).await;
        answer.check(StatusCode::BAD_REQUEST).unwrap();
    }
    t.send(reset_request(&user.email))
        .await
        .check(StatusCode::CREATED)
        .unwrap();
    let mail = sink.next_mail().await;
    assert!(!mail["data"].as_str().unwrap().contains("evil"), "{mail}");
    token_in(&mail);
    t.finish().await;
}

#[tokio::test]
async fn reset_mails_are_rationed_alike_for_known_and_unknown_emails() {
    let t = TestApp::start().await;
    let user = t.user("flood@example.com").await;
    for email in [user.email.as_str(), "nobody@example.com"] {
        for _ in 0..3 {
            t.send(reset_request(email))
                .await
                .check(StatusCode::CREATED)
                .unwrap();
        }
        let fourth = t.send(reset_request(email)).await;
        fourth.check(StatusCode::TOO_MANY_REQUESTS).unwrap();
        assert_eq!(fourth.headers["retry-after"], "60", "{email}");
    }
    t.finish().await;
}
