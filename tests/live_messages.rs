//! `GET /channels/{id}/messages/live`: the owner's live tail of a channel as Server-Sent
//! Events. Messages published over HTTP (in process) and MQTT (a real server and
//! `mosquitto_pub`) arrive; the stream ends when the channel is removed or the token expires.

mod common;
mod process;

use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use commands::auth::{Secrets, Tokens};
use common::{TestApp, req};
use domain::ids::UserId;
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;
use uuid::Uuid;

/// How long a test waits for the next event or for the end of the stream.
const PATIENCE: Duration = Duration::from_secs(5);

/// Opens the live tail with `token`; the streaming body.
async fn open(t: &TestApp, channel: &str, token: &str) -> Body {
    let request = Request::get(format!("/channels/{channel}/messages/live"))
        .header("authorization", format!("Bearer {token}"))
        .body(Body::empty())
        .expect("request");
    let response = t.router.clone().oneshot(request).await.expect("infallible");
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    response.into_body()
}

/// A user with a thing connected to a channel: the user, the thing, the channel, its key.
async fn connected_pair(t: &TestApp) -> (common::User, String, String, String) {
    let a = t.user("a@example.com").await;
    let thing = t.thing(&a.token, json!({})).await;
    let channel = t.channel(&a.token, json!({})).await;
    t.connect(&a.token, &channel, &thing).await;
    let key = t.key_of(&a.token, &thing).await;
    (a, thing, channel, key)
}

/// The next event's name and data, skipping comments; `None` when the stream ended.
async fn next_event(body: &mut Body, pending: &mut String) -> Option<(String, Value)> {
    loop {
        if let Some(end) = pending.find("\n\n") {
            let block: String = pending.drain(..end + 2).collect();
            let mut name = None;
            let mut data = None;
            for line in block.lines() {
                if let Some(rest) = line.strip_prefix("event: ") {
                    name = Some(rest.to_owned());
                } else if let Some(rest) = line.strip_prefix("data: ") {
                    data = Some(serde_json::from_str(rest).expect("data is JSON"));
                }
            }
            match (name, data) {
                (Some(name), Some(data)) => return Some((name, data)),
                _ => continue,
            }
        }
        let frame = tokio::time::timeout(PATIENCE, body.frame())
            .await
            .expect("an event or the end in time")?
            .expect("body frame");
        if let Ok(bytes) = frame.into_data() {
            pending.push_str(std::str::from_utf8(&bytes).expect("UTF-8"));
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn http_messages_arrive_and_the_stream_ends_with_the_channel() {
    let t = TestApp::start().await;
    let (a, thing, channel, key) = connected_pair(&t).await;
    let mut body = open(&t, &channel, &a.token).await;
    let mut pending = String::new();

    let senml = r#"[{"bn":"room:","n":"temp","u":"Cel","v":21.5}]"#;
    let publish = |subtopic: &str, payload: Vec<u8>| {
        req("POST", format!("/channels/{channel}/messages{subtopic}"))
            .auth(&format!("Thing {key}"))
            .raw(Some("application/senml+json"), payload)
    };
    t.send(publish("/room", senml.as_bytes().to_vec()))
        .await
        .expect(StatusCode::ACCEPTED, "publish text");
    let (name, data) = next_event(&mut body, &mut pending).await.expect("an event");
    assert_eq!(name, "message");
    assert_eq!(data["channel"], channel.as_str());
    assert_eq!(data["publisher"], thing.as_str());
    assert_eq!(data["subtopic"], "room");
    assert_eq!(data["protocol"], "http");
    assert_eq!(
        (data["payload"].as_str(), data["payload_encoding"].as_str()),
        (Some(senml), Some("utf8"))
    );
    assert!(
        data["created"].as_f64().is_some_and(|s| s > 1.7e9),
        "{data}"
    );

    t.send(publish("", vec![0xff, 0x00, 0x80]))
        .await
        .expect(StatusCode::ACCEPTED, "publish bytes");
    let (_, data) = next_event(&mut body, &mut pending).await.expect("an event");
    assert_eq!(
        (data["payload"].as_str(), data["payload_encoding"].as_str()),
        (Some("/wCA"), Some("base64"))
    );

    t.send(req("DELETE", format!("/channels/{channel}")).token(&a.token))
        .await
        .expect(StatusCode::NO_CONTENT, "remove the channel");
    assert!(
        next_event(&mut body, &mut pending).await.is_none(),
        "the stream ended"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_stream_ends_when_the_token_expires() {
    let t = TestApp::start().await;
    let a = t.user("a@example.com").await;
    let channel = t.channel(&a.token, json!({})).await;
    let secrets = Secrets::load(&t.config.secrets_dir(), None, None).expect("secrets");
    let user = UserId(Uuid::parse_str(&a.id).expect("user id"));
    let short = Tokens::new(&secrets.jwt_secret, Duration::from_secs(1)).issue(user);
    let mut body = open(&t, &channel, &short).await;
    let mut pending = String::new();
    assert!(
        next_event(&mut body, &mut pending).await.is_none(),
        "the stream ended"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_mqtt_message_reaches_the_owners_live_tail() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = process::Server::start(dir.path());
    let owner = process::User::register(&server.base, "a@example.com").await;
    let thing = owner.create("/things", json!({})).await;
    let channel = owner.create("/channels", json!({})).await;
    owner.connect(&channel, &thing).await;
    let key =
        process::get_json(&format!("{}/things/{thing}", server.base), &owner.token).await["key"]
            .as_str()
            .expect("key")
            .to_owned();
    let mut live = owner
        .http
        .get(format!("{}/channels/{channel}/messages/live", server.base))
        .bearer_auth(&owner.token)
        .send()
        .await
        .expect("live tail");
    assert_eq!(live.status(), 200);
    let (host, port) = server.mqtt.rsplit_once(':').expect("host:port");
    let published = std::process::Command::new("mosquitto_pub")
        .args(["-h", host, "-p", port, "-u", &thing, "-P", &key, "-q", "1"])
        .args([
            "-t",
            &format!("channels/{channel}/messages/lab"),
            "-m",
            "hello",
        ])
        .status()
        .expect("mosquitto_pub runs");
    assert!(published.success());
    let mut seen = String::new();
    while !seen.contains("\n\n") {
        let chunk = tokio::time::timeout(PATIENCE, live.chunk())
            .await
            .expect("a message in time")
            .expect("chunk")
            .expect("the stream goes on");
        seen.push_str(std::str::from_utf8(&chunk).expect("UTF-8"));
    }
    let data = seen
        .lines()
        .find_map(|l| l.strip_prefix("data: "))
        .expect("a data line");
    let data: Value = serde_json::from_str(data).expect("JSON");
    assert_eq!(
        (data["protocol"].as_str(), data["payload"].as_str()),
        (Some("mqtt"), Some("hello"))
    );
    assert_eq!(data["subtopic"], "lab");
    server.terminate();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_reader_too_slow_is_told_it_lagged_and_goes_on() {
    let t = TestApp::start().await;
    let (a, _thing, channel, key) = connected_pair(&t).await;
    let mut body = open(&t, &channel, &a.token).await;
    let mut pending = String::new();
    let publish = |n: usize| {
        req("POST", format!("/channels/{channel}/messages"))
            .auth(&format!("Thing {key}"))
            .raw(Some("text/plain"), format!("message {n}"))
    };
    // More than the connection's queue holds, none read meanwhile.
    for n in 0..300 {
        t.send(publish(n))
            .await
            .expect(StatusCode::ACCEPTED, "publish");
    }
    let mut names = Vec::new();
    while let Some((name, _)) = next_event(&mut body, &mut pending).await {
        names.push(name);
        if names.last().is_some_and(|n| n == "lagged") {
            break;
        }
    }
    assert_eq!(names.last().map(String::as_str), Some("lagged"));
    assert!(names.len() <= 257, "{} events before the lag", names.len());
    t.send(publish(300))
        .await
        .expect(StatusCode::ACCEPTED, "publish after");
    let (name, data) = next_event(&mut body, &mut pending).await.expect("goes on");
    assert_eq!(
        (name.as_str(), data["payload"].as_str()),
        ("message", Some("message 300"))
    );
}
