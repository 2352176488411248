//! Revocation over MQTT: a key change, a disconnect, a thing or channel removal closes the
//! live sessions concerned at once, and what they were allowed before is refused after.

mod common;
mod mqtt_support;

use axum::http::StatusCode;
use common::{fresh_key, req};
use mqtt_support::{Client, World};
use rumqttc::{ConnectReturnCode, ConnectionError, QoS, SubscribeReasonCode};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_change_closes_live_sessions_and_the_old_key_is_refused() {
    let w = World::start().await;
    let mut persistent = {
        let mut options = w.options("persistent", &w.a);
        options.set_clean_session(false);
        Client::connect(options).await.expect("connects")
    };
    persistent
        .subscribe(&w.topic(&w.ch, "#"), QoS::AtLeastOnce)
        .await;
    let new_key = fresh_key();
    w.t.send(
        req("PATCH", format!("/things/{}/key", w.a.id))
            .token(&w.token)
            .json(json!({"key": new_key})),
    )
    .await
    .expect(StatusCode::OK, "key change");
    persistent.closed().await;
    w.sessions_closed(1).await;

    match Client::connect(w.options("again", &w.a)).await {
        Err(ConnectionError::ConnectionRefused(code)) => {
            assert_eq!(code, ConnectReturnCode::BadUserNamePassword)
        }
        other => panic!("the old key must be refused: {:?}", other.err()),
    }
    // The new key works; the persistent session's subscription did not survive.
    let mut options = w.options("persistent", &w.a);
    options.set_credentials(w.a.id.clone(), new_key);
    options.set_clean_session(false);
    let mut back = Client::connect(options).await.expect("new key connects");
    let publisher = w.client("pub", &w.b).await;
    publisher
        .publish(&w.topic(&w.ch, ""), QoS::AtLeastOnce, "after")
        .await;
    back.nothing_more().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_disconnect_closes_sessions_and_refuses_what_was_allowed() {
    let w = World::start().await;
    let mut sub = w.client("sub", &w.a).await;
    sub.subscribe(&w.topic(&w.ch, "#"), QoS::AtLeastOnce).await;
    w.t.send(req("DELETE", format!("/channels/{}/things/{}", w.ch, w.a.id)).token(&w.token))
        .await;
    assert!(!w.t.can_access(&w.a.id, &w.ch));
    sub.closed().await;
    // Until the kick is complete, the same client id is refused as "server unavailable".
    w.sessions_closed(1).await;

    let mut again = w.client("sub", &w.a).await;
    assert_eq!(
        again
            .subscribe(&w.topic(&w.ch, "#"), QoS::AtLeastOnce)
            .await,
        SubscribeReasonCode::Failure
    );
    again
        .publish(&w.topic(&w.ch, ""), QoS::AtLeastOnce, "no")
        .await;
    again.closed().await;
    assert_eq!(w.mqtt.stats().publishes, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn removing_a_thing_or_a_channel_closes_the_sessions_concerned() {
    let w = World::start().await;
    let mut b = w.client("b", &w.b).await;
    let mut a = w.client("a", &w.a).await;
    a.subscribe(&w.topic(&w.ch, "x"), QoS::AtMostOnce).await;
    let mut c = w.client("c", &w.c).await;

    w.t.send(req("DELETE", format!("/things/{}", w.b.id)).token(&w.token))
        .await
        .expect(StatusCode::NO_CONTENT, "remove thing");
    b.closed().await;

    w.t.send(req("DELETE", format!("/channels/{}", w.ch)).token(&w.token))
        .await
        .expect(StatusCode::NO_CONTENT, "remove channel");
    a.closed().await;
    // A session of a thing the removals do not concern stays.
    c.nothing_more().await;
    w.sessions_closed(2).await;
}
