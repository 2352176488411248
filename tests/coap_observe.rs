//! CoAP Observe over a real UDP socket: notifications from every protocol with increasing
//! Observe numbers, deregistration and RST, confirmable notifications retransmitted with
//! backoff until the observer is dropped, caps, Block2 notifications, and revocation.

mod coap_support;
mod common;

use std::time::{Duration, Instant};

use adapters::message::{ContentType, Protocol};
use adapters::pipeline::Inbound;
use axum::http::StatusCode;
use coap_lite::{CoapOption, MessageType, Packet, RequestType, ResponseType};
use coap_support::{
    Client, QUIET, World, block, block_value, code, empty, request, response, uint,
};
use common::{fresh_key, req};
use serde_json::json;

/// Publishes over HTTP as thing `a` (another protocol than the observers').
async fn http_publish(w: &World, subtopic: &str, body: &str) {
    w.t.send(
        req("POST", format!("/channels/{}/messages/{subtopic}", w.ch))
            .auth(&format!("Thing {}", w.a.key))
            .raw(Some("application/senml+json"), body),
    )
    .await
    .expect(StatusCode::ACCEPTED, "HTTP publish");
}

fn observe_number(packet: &Packet) -> u32 {
    uint(packet, CoapOption::Observe).expect("an Observe option")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_observer_gets_every_protocols_messages_with_increasing_numbers_until_it_deregisters() {
    let w = World::start().await;
    let mut observer = w.client().await;
    let path = w.path(&w.ch, "room/>", &w.b.key);
    let registered = observer
        .observe(MessageType::NonConfirmable, &path, &[0xab])
        .await;
    assert_eq!(code(&registered), response(ResponseType::Content));
    let mut last = observe_number(&registered);

    http_publish(&w, "room/1", r#"[{"n":"t","v":1}]"#).await;
    let mut publisher = w.client().await;
    publisher
        .post(&w.path(&w.ch, "room/2", &w.a.key), b"from coap")
        .await;
    // Another subtopic is not observed.
    publisher
        .post(&w.path(&w.ch, "hall", &w.a.key), b"elsewhere")
        .await;
    for expected in [&br#"[{"n":"t","v":1}]"#[..], b"from coap"] {
        let notification = observer.recv().await;
        assert_eq!(notification.header.get_type(), MessageType::NonConfirmable);
        assert_eq!(notification.get_token(), [0xab]);
        assert_eq!(code(&notification), response(ResponseType::Content));
        assert_eq!(notification.payload, expected);
        let number = observe_number(&notification);
        assert!(
            number > last,
            "Observe numbers increase: {number} after {last}"
        );
        last = number;
    }
    observer.nothing_more().await;
    assert_eq!(w.stats().notifications, 2);

    // Observe 1 with the same token ends it.
    let mut deregister = request(
        MessageType::Confirmable,
        RequestType::Get,
        &path,
        observer.mid(),
        &[0xab],
    );
    deregister.set_observe_value(1);
    let answer = observer.call(&deregister).await;
    assert_eq!(code(&answer), response(ResponseType::Content));
    assert_eq!(uint(&answer, CoapOption::Observe), None);
    assert_eq!(w.stats().observers, 0);
    http_publish(&w, "room/1", "[]").await;
    observer.nothing_more().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn content_formats_map_to_content_types_and_back() {
    let w = World::start().await;
    let mut observer = w.client().await;
    observer
        .observe(
            MessageType::NonConfirmable,
            &w.path(&w.ch, "", &w.b.key),
            &[1],
        )
        .await;
    let mut bus = w.bus().await;
    let mut publisher = w.client().await;
    for (format, content_type) in [
        (110u8, ContentType::SenmlJson),
        (112, ContentType::SenmlCbor),
        (50, ContentType::Json),
    ] {
        let mut packet = request(
            MessageType::Confirmable,
            RequestType::Post,
            &w.path(&w.ch, "", &w.a.key),
            publisher.mid(),
            &[],
        );
        packet.add_option(CoapOption::ContentFormat, vec![format]);
        packet.payload = b"{}".to_vec();
        publisher.call(&packet).await;
        assert_eq!(bus.next().await.unwrap().content_type, Some(content_type));
        let notification = observer.recv().await;
        assert_eq!(
            uint(&notification, CoapOption::ContentFormat),
            Some(u32::from(format))
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn confirmable_notifications_are_retransmitted_with_backoff_then_the_observer_is_dropped() {
    let w = World::start_with(
        |_| {},
        |c| {
            c.ack_timeout = Duration::from_millis(100);
            c.max_retransmit = 3;
        },
    )
    .await;
    let mut observer = w.client().await;
    observer
        .observe(MessageType::Confirmable, &w.path(&w.ch, "", &w.b.key), &[2])
        .await;

    // Acknowledged: sent once.
    http_publish(&w, "", "[1]").await;
    let notification = observer.recv().await;
    assert_eq!(notification.header.get_type(), MessageType::Confirmable);
    observer.ack(&notification).await;
    observer.nothing_more().await;

    // Never acknowledged: 1 + 3 transmissions, waits doubling from 100–150 ms, then dropped.
    http_publish(&w, "", "[2]").await;
    let mut arrivals = Vec::new();
    let mut mids = Vec::new();
    for _ in 0..4 {
        let notification = observer.recv().await;
        assert_eq!(notification.payload, b"[2]");
        arrivals.push(Instant::now());
        mids.push(notification.header.message_id);
    }
    assert!(
        mids.iter().all(|mid| *mid == mids[0]),
        "a retransmission keeps its message id"
    );
    let gaps: Vec<u128> = arrivals
        .windows(2)
        .map(|p| (p[1] - p[0]).as_millis())
        .collect();
    for (gap, base) in gaps.iter().zip([100u128, 200, 400]) {
        assert!(
            *gap >= base - 20 && *gap <= base * 3 / 2 + 80,
            "backoff gaps {gaps:?}"
        );
    }
    w.stats_until(|s| s.observers_unacknowledged == 1).await;
    assert_eq!((w.stats().retransmissions, w.stats().observers), (3, 0));
    http_publish(&w, "", "[3]").await;
    observer.nothing_more().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reset_to_a_notification_ends_the_observer() {
    let w = World::start().await;
    for kind in [MessageType::Confirmable, MessageType::NonConfirmable] {
        let mut observer = w.client().await;
        observer
            .observe(kind, &w.path(&w.ch, "", &w.b.key), &[3])
            .await;
        http_publish(&w, "", "[1]").await;
        let notification = observer.recv().await;
        observer
            .send(&empty(MessageType::Reset, notification.header.message_id))
            .await;
        w.stats_until(|s| s.observers == 0).await;
        http_publish(&w, "", "[2]").await;
        observer.nothing_more().await;
    }
    assert_eq!(w.stats().observers_reset, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn observers_are_capped_per_endpoint_and_per_thing_and_counted() {
    let w = World::start_with(
        |_| {},
        |c| {
            c.caps.per_endpoint = 2;
            c.caps.per_thing = 3;
        },
    )
    .await;
    let path = w.path(&w.ch, "", &w.b.key);
    let mut first = w.client().await;
    for token in [1u8, 2, 2] {
        let answer = first
            .observe(MessageType::Confirmable, &path, &[token])
            .await;
        assert_eq!(
            code(&answer),
            response(ResponseType::Content),
            "token {token} (again: replaces)"
        );
    }
    let refused = first.observe(MessageType::Confirmable, &path, &[3]).await;
    assert_eq!(
        code(&refused),
        response(ResponseType::TooManyRequests),
        "per endpoint"
    );
    let mut second = w.client().await;
    second.observe(MessageType::Confirmable, &path, &[1]).await;
    let refused = second.observe(MessageType::Confirmable, &path, &[2]).await;
    assert_eq!(
        code(&refused),
        response(ResponseType::TooManyRequests),
        "per thing"
    );
    // Another thing has room of its own.
    let other = second
        .observe(MessageType::Confirmable, &w.path(&w.ch, "", &w.a.key), &[2])
        .await;
    assert_eq!(code(&other), response(ResponseType::Content));
    let stats = w.stats();
    assert_eq!((stats.observers, stats.observers_capped), (4, 2));
    let metrics = w.t.send(req("GET", "/metrics")).await;
    let metrics = String::from_utf8_lossy(&metrics.body);
    assert!(
        metrics.contains("ferroflux_coap_observers_capped_total 2"),
        "{metrics}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_notification_goes_block_wise() {
    let w = World::start_with(|c| c.max_payload = 4096, |_| {}).await;
    let mut observer = w.client().await;
    let path = w.path(&w.ch, "", &w.b.key);
    observer
        .observe(MessageType::NonConfirmable, &path, &[4])
        .await;
    let body: Vec<u8> = (0..2500u32).map(|i| b'a' + (i % 26) as u8).collect();
    w.t.app
        .pipeline
        .publish(
            &w.a.key,
            Inbound {
                channel: w
                    .ch
                    .parse::<uuid::Uuid>()
                    .map(domain::ids::ChannelId)
                    .unwrap(),
                subtopic: None,
                protocol: Protocol::Http,
                content_type: None,
                payload: body.clone().into(),
                properties: None,
            },
        )
        .expect("published");
    let first = observer.recv().await;
    assert_eq!(block(&first, CoapOption::Block2), Some((0, true, 1024)));
    assert_eq!(uint(&first, CoapOption::Size2), Some(2500));
    let etag = first.get_first_option(CoapOption::ETag).cloned();
    let mut received = first.payload.clone();
    for num in 1.. {
        let mut fetch = request(
            MessageType::Confirmable,
            RequestType::Get,
            &path,
            observer.mid(),
            &[5],
        );
        fetch.add_option(CoapOption::Block2, block_value(num, false, 6));
        let answer = observer.call(&fetch).await;
        assert_eq!(code(&answer), response(ResponseType::Content));
        assert_eq!(
            answer.get_first_option(CoapOption::ETag).cloned(),
            etag,
            "one representation"
        );
        received.extend_from_slice(&answer.payload);
        let (_, more, _) = block(&answer, CoapOption::Block2).expect("Block2");
        if !more {
            break;
        }
    }
    assert_eq!(received, body);
}

/// Registers `thing`'s observer of channel `ch`.
async fn observer_of(w: &World, key: &str, token: u8) -> Client {
    let mut client = w.client().await;
    let answer = client
        .observe(
            MessageType::NonConfirmable,
            &w.path(&w.ch, "", key),
            &[token],
        )
        .await;
    assert_eq!(code(&answer), response(ResponseType::Content));
    client
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revocation_ends_observations_at_once_with_the_refusals_code() {
    let w = World::start().await;
    let a = observer_of(&w, &w.a.key, 1).await;
    let b = observer_of(&w, &w.b.key, 2).await;

    // A disconnect: 4.03 to a's observer; b's goes on.
    w.t.send(req("DELETE", format!("/channels/{}/things/{}", w.ch, w.a.id)).token(&w.token))
        .await;
    let last = a.recv().await;
    assert_eq!(
        (code(&last), last.get_token()),
        (response(ResponseType::Forbidden), &[1u8][..])
    );
    assert_eq!(
        uint(&last, CoapOption::Observe),
        None,
        "an error ends the observation"
    );
    w.stats_until(|s| s.observers_revoked == 1).await;

    // A key change: 4.01 to b's observer.
    w.t.send(
        req("PATCH", format!("/things/{}/key", w.b.id))
            .token(&w.token)
            .json(json!({"key": fresh_key()})),
    )
    .await
    .expect(StatusCode::OK, "key change");
    let last = b.recv().await;
    assert_eq!(code(&last), response(ResponseType::Unauthorized));
    w.stats_until(|s| s.observers_revoked == 2 && s.observers == 0)
        .await;
    let mut publisher = w.client().await;
    w.t.connect(&w.token, &w.ch, &w.a.id).await;
    publisher.post(&w.path(&w.ch, "", &w.a.key), b"after").await;
    a.nothing_more().await;
    b.nothing_more().await;
    tokio::time::sleep(QUIET).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_removed_thing_or_channel_ends_its_observations() {
    let w = World::start().await;
    let a = observer_of(&w, &w.a.key, 1).await;
    let b = observer_of(&w, &w.b.key, 2).await;
    w.t.send(req("DELETE", format!("/things/{}", w.a.id)).token(&w.token))
        .await;
    assert_eq!(code(&a.recv().await), response(ResponseType::Unauthorized));
    b.nothing_more().await;
    w.t.send(req("DELETE", format!("/channels/{}", w.ch)).token(&w.token))
        .await;
    assert_eq!(code(&b.recv().await), response(ResponseType::Forbidden));
    w.stats_until(|s| s.observers_revoked == 2 && s.observers == 0)
        .await;
}
