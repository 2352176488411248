//! Presence: MQTT connects and disconnects of authenticated things reach the
//! `mainflux.mqtt`-shaped feed, served live as NDJSON at `GET /events/mqtt` to the operator.

mod common;
mod mqtt_support;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::req;
use http_body_util::BodyExt;
use mqtt_support::{Client, World};
use serde_json::Value;
use tower::ServiceExt;

/// Reads the next NDJSON line of a streaming body.
async fn next_line(body: &mut Body, buffer: &mut Vec<u8>) -> Value {
    loop {
        if let Some(end) = buffer.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = buffer.drain(..=end).collect();
            return serde_json::from_slice(&line).expect("a JSON line");
        }
        let frame = tokio::time::timeout(mqtt_support::WAIT, body.frame())
            .await
            .expect("a presence line in time")
            .expect("the feed goes on")
            .expect("a frame");
        buffer.extend_from_slice(&frame.into_data().expect("data"));
    }
}

fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_operator_sees_connects_and_disconnects_live() {
    let w = World::start().await;
    for auth in [None, Some("not-the-admin-token")] {
        let mut request = req("GET", "/events/mqtt");
        if let Some(token) = auth {
            request = request.token(token);
        }
        w.t.send(request)
            .await
            .expect(StatusCode::UNAUTHORIZED, "presence without the admin token");
    }
    let admin = std::fs::read_to_string(w.t.config.secrets_dir().join("admin.token")).unwrap();
    let request = Request::get("/events/mqtt")
        .header("authorization", format!("Bearer {}", admin.trim()))
        .body(Body::empty())
        .unwrap();
    let response = w.t.router.clone().oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "application/x-ndjson");
    let (mut body, mut buffer) = (response.into_body(), Vec::new());

    // A refused CONNECT names no one: the first line is the accepted one.
    let mut impostor = w.options("impostor", &w.b);
    impostor.set_credentials(w.b.id.clone(), w.a.key.clone());
    assert!(Client::connect(impostor).await.is_err());
    let client = w.client("present", &w.a).await;
    let connect = next_line(&mut body, &mut buffer).await;
    assert_eq!(connect["event_type"], "connect");
    assert_eq!(connect["thing_id"], w.a.id.as_str());
    assert_eq!(connect["instance"], "");
    let timestamp = connect["timestamp"].as_u64().expect("Unix seconds");
    assert!(timestamp.abs_diff(now_secs()) < 60, "{timestamp}");

    client.vanish();
    let disconnect = next_line(&mut body, &mut buffer).await;
    assert_eq!(disconnect["event_type"], "disconnect");
    assert_eq!(disconnect["thing_id"], w.a.id.as_str());
    assert_eq!(w.mqtt.stats().connects, 1);
    assert_eq!(w.mqtt.stats().disconnects, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_session_is_reported_as_a_disconnect() {
    let w = World::start().await;
    let mut presence = w.t.app.presence.subscribe();
    let mut client = w.client("doomed", &w.b).await;
    let connect = presence.recv().await.unwrap();
    assert_eq!(connect.thing_id.to_string(), w.b.id);
    w.t.send(req("DELETE", format!("/things/{}", w.b.id)).token(&w.token))
        .await
        .expect(StatusCode::NO_CONTENT, "remove thing");
    client.closed().await;
    let disconnect = tokio::time::timeout(mqtt_support::WAIT, presence.recv())
        .await
        .expect("in time")
        .unwrap();
    assert_eq!(
        (disconnect.thing_id.to_string(), disconnect.event_type),
        (w.b.id.clone(), adapters::mqtt::PresenceKind::Disconnect)
    );
}

/// A takeover reports the old connection's disconnect before the new one's connect, once,
/// so whoever tracks presence by the last event sees the thing online.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_takeover_reports_the_disconnect_before_the_connect() {
    let w = World::start().await;
    let mut presence = w.t.app.presence.subscribe();
    let mut first = w.client("device", &w.a).await;
    let _second = w.client("device", &w.a).await;
    first.closed().await;
    let mut kinds = Vec::new();
    for _ in 0..3 {
        let event = tokio::time::timeout(mqtt_support::WAIT, presence.recv())
            .await
            .expect("in time")
            .unwrap();
        kinds.push(event.event_type);
    }
    use adapters::mqtt::PresenceKind::{Connect, Disconnect};
    assert_eq!(kinds, [Connect, Disconnect, Connect]);
    tokio::time::sleep(mqtt_support::QUIET).await;
    assert!(presence.try_recv().is_err(), "no second disconnect");
}
