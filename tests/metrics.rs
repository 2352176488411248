//! `GET /metrics`: the data plane's counters in Prometheus' text format, as an operator's
//! scraper reads them, moving with real HTTP and MQTT traffic.

mod common;
mod mqtt_support;

use std::collections::HashMap;

use axum::http::StatusCode;
use common::data::publish;
use common::req;
use mqtt_support::{Client, Thing, World, poll_until};
use rumqttc::QoS;

/// Every sample, by name; panics unless each has its `# HELP` and `# TYPE` lines first.
async fn scrape(w: &World) -> HashMap<String, u64> {
    let response = w.t.send(req("GET", "/metrics")).await;
    assert_eq!(response.status, StatusCode::OK);
    assert!(
        response.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain"),
    );
    let text = String::from_utf8(response.body.to_vec()).expect("UTF-8");
    let lines: Vec<&str> = text.lines().collect();
    let mut samples = HashMap::new();
    for (i, line) in lines
        .iter()
        .enumerate()
        .filter(|(_, l)| !l.starts_with('#'))
    {
        let (name, value) = line.split_once(' ').expect("name value");
        assert!(i >= 2, "{name} has no HELP and TYPE");
        assert!(
            lines[i - 2].starts_with(&format!("# HELP {name} ")),
            "{text}"
        );
        assert!(
            lines[i - 1].starts_with(&format!("# TYPE {name} ")),
            "{text}"
        );
        samples.insert(name.to_owned(), value.parse().expect("an integer"));
    }
    samples
}

fn bad_key(thing: &Thing) -> Thing {
    Thing {
        id: thing.id.clone(),
        key: format!("{}-wrong", thing.key),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn counters_follow_http_and_mqtt_traffic() {
    let w = World::start().await;
    let before = scrape(&w).await;
    assert_eq!(before["ferroflux_bus_published_total"], 0);
    assert_eq!(before["ferroflux_telemetry_records_stored_total"], 0);
    assert_eq!(before["ferroflux_mqtt_connects_total"], 0);

    let mut subscriber = w.client("sub", &w.a).await;
    subscriber
        .subscribe(&w.topic(&w.ch, "#"), QoS::AtLeastOnce)
        .await;
    assert!(
        Client::connect(w.options("bad", &bad_key(&w.b)))
            .await
            .is_err()
    );
    for _ in 0..3 {
        w.t.send(publish(&format!("/channels/{}/messages", w.ch), &w.b.key))
            .await
            .expect(StatusCode::ACCEPTED, "publish");
        subscriber.message().await;
    }
    subscriber.nothing_more().await;

    let after = poll_until(
        async || scrape(&w).await,
        |m| m["ferroflux_telemetry_records_stored_total"] == 3,
    )
    .await;
    let expected = [
        ("ferroflux_bus_published_total", 3),
        ("ferroflux_telemetry_messages_total", 3),
        ("ferroflux_telemetry_records_stored_total", 3),
        ("ferroflux_telemetry_failed_batches_total", 0),
        ("ferroflux_telemetry_unstorable_total", 0),
        ("ferroflux_mqtt_connects_total", 1),
        ("ferroflux_mqtt_connects_refused_total", 1),
        ("ferroflux_mqtt_injected_total", 3),
        ("ferroflux_mqtt_dropped_total", 0),
    ];
    for (name, value) in expected {
        assert_eq!(after[name], value, "{name}");
    }
    // The telemetry writer and the MQTT injector.
    assert_eq!(after["ferroflux_bus_subscribers"], 2);
}

#[tokio::test]
async fn metrics_need_no_token_and_show_no_ids() {
    let w = World::start().await;
    let response = w.t.send(req("GET", "/metrics")).await;
    assert_eq!(response.status, StatusCode::OK);
    let text = String::from_utf8(response.body.to_vec()).unwrap();
    for id in [&w.ch, &w.a.id, &w.a.key] {
        assert!(!text.contains(id.as_str()));
    }
}
