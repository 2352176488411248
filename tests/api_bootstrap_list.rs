//! `GET /things/configs` (filters, paging, owner isolation, bad parameters) and the record
//! of every device fetch (`thing.bootstrap`, success or not, never the key tried).

mod common;

use axum::http::StatusCode;
use common::{Failures, TestApp, User, req};
use serde_json::{Value, json};

const EXTERNAL_KEY: &str = "factory-secret-1";

/// A config named `name` for a new thing of `owner`; the thing's id and key.
async fn config(t: &TestApp, owner: &User, external_id: &str, name: &str) -> (String, String) {
    let (thing, key) = t.keyed_thing(owner).await;
    let body = json!({
        "thing_id": thing, "external_id": external_id, "external_key": EXTERNAL_KEY,
        "name": name, "client_key": "private-key-pem"
    });
    t.send(
        req("POST", "/things/configs")
            .token(&owner.token)
            .json(body),
    )
    .await
    .expect(StatusCode::CREATED, "create config");
    (thing, key)
}

fn external_ids(page: &Value) -> Vec<&str> {
    page["configs"]
        .as_array()
        .expect("configs")
        .iter()
        .map(|c| c["external_id"].as_str().expect("external_id"))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_list_filters_pages_and_shows_only_the_callers_configs() {
    let t = TestApp::start().await;
    let (a, b) = (t.user("a@example.com").await, t.user("b@example.com").await);
    let mut made = Vec::new();
    for (n, name) in ["Gateway north", "gateway south", "pump"]
        .iter()
        .enumerate()
    {
        made.push(config(&t, &a, &format!("serial-{n}"), name).await);
    }
    config(&t, &b, "serial-b", "gateway of b").await;
    let (active, active_key) = made[1].clone();
    t.expect(
        req("PUT", format!("/things/state/{active}"))
            .token(&a.token)
            .json(json!({"state": 1})),
        StatusCode::OK,
    )
    .await;

    let all = t.get(&a.token, "/things/configs").await;
    assert_eq!(
        (all["total"].as_u64(), all["limit"].as_u64()),
        (Some(3), Some(10))
    );
    let mut ids = external_ids(&all);
    ids.sort();
    assert_eq!(ids, ["serial-0", "serial-1", "serial-2"]);
    let shown = &all["configs"][0];
    assert_eq!(
        shown["external_key"], EXTERNAL_KEY,
        "the owner reads the key back"
    );
    assert_eq!(shown["client_key"], "private-key-pem");
    assert!(
        shown["mainflux_key"]
            .as_str()
            .is_some_and(|k| !k.is_empty())
    );

    let cases = [
        ("state=1", vec!["serial-1"]),
        ("state=0&name=GATEWAY", vec!["serial-0"]),
        ("external_id=serial-2", vec!["serial-2"]),
        ("external_id=serial-b", vec![]),
        (&format!("mainflux_id={active}") as &str, vec!["serial-1"]),
        (&format!("mainflux_key={active_key}"), vec!["serial-1"]),
        (
            &format!("mainflux_key={active_key}&mainflux_id={}", made[0].0),
            vec![],
        ),
        ("mainflux_key=no-such-key", vec![]),
    ];
    for (query, want) in cases {
        let page = t.get(&a.token, &format!("/things/configs?{query}")).await;
        assert_eq!(external_ids(&page), want, "{query}");
    }
    // Pages in thing-id order: two pages of one make the two gateways.
    let mut gateways: Vec<String> = Vec::new();
    for offset in [0, 1] {
        let path = format!("/things/configs?name=gateway&limit=1&offset={offset}");
        let page = t.get(&a.token, &path).await;
        assert_eq!(page["total"], 2);
        gateways.extend(external_ids(&page).into_iter().map(str::to_owned));
    }
    gateways.sort();
    assert_eq!(gateways, ["serial-0", "serial-1"]);
    let paged = t.get(&a.token, "/things/configs?offset=2&limit=2").await;
    assert_eq!(
        (paged["total"].as_u64(), external_ids(&paged).len()),
        (Some(3), 1)
    );
    let of_b = t.get(&b.token, "/things/configs").await;
    assert_eq!(external_ids(&of_b), ["serial-b"], "owner isolation");

    let mut failures = Failures::default();
    for (query, status) in [
        ("limit=0", StatusCode::BAD_REQUEST),
        ("limit=101", StatusCode::BAD_REQUEST),
        ("offset=-1", StatusCode::BAD_REQUEST),
        ("state=2", StatusCode::BAD_REQUEST),
        ("state=on", StatusCode::BAD_REQUEST),
        ("mainflux_id=nope", StatusCode::BAD_REQUEST),
        ("state=1&state=0", StatusCode::BAD_REQUEST),
    ] {
        let path = format!("/things/configs?{query}");
        let resp = t.send(req("GET", &path).token(&a.token)).await;
        failures.check(query, &resp, status);
    }
    let anonymous = t.send(req("GET", "/things/configs")).await;
    failures.check("no token", &anonymous, StatusCode::UNAUTHORIZED);
    failures.assert_none();
    t.remember_secret(EXTERNAL_KEY);
    t.remember_secret("private-key-pem");
    t.finish().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn every_fetch_is_recorded_with_its_outcome() {
    let t = TestApp::start().await;
    let a = t.user("a@example.com").await;
    config(&t, &a, "serial-9", "gw").await;
    let fetches = [
        ("serial-9", EXTERNAL_KEY, StatusCode::OK),
        ("serial-9", "wrong-key-guess", StatusCode::NOT_FOUND),
        ("serial-unknown", EXTERNAL_KEY, StatusCode::NOT_FOUND),
    ];
    for (external_id, key, status) in fetches {
        let path = format!("/things/bootstrap/{external_id}");
        t.expect(req("GET", &path).auth(key), status).await;
    }
    // Concurrent fetches share appends and each is still recorded once.
    let burst = (0..40).map(|_| {
        t.expect(
            req("GET", "/things/bootstrap/serial-9").auth(EXTERNAL_KEY),
            StatusCode::OK,
        )
    });
    futures::future::join_all(burst).await;

    let events = t.events_of("thing.bootstrap", 43).await;
    let records: Vec<(String, bool)> = events
        .iter()
        .map(|e| {
            let data: Value = serde_json::from_str(e.data.json()).expect("json");
            let id = data["external_id"]
                .as_str()
                .expect("external_id")
                .to_owned();
            (id, data["success"].as_bool().expect("success"))
        })
        .collect();
    assert_eq!(
        records[..3],
        [
            ("serial-9".to_owned(), true),
            ("serial-9".to_owned(), false),
            ("serial-unknown".to_owned(), false)
        ]
    );
    assert_eq!(records.len(), 43);
    let streams: std::collections::HashSet<_> = events.iter().map(|e| e.stream.clone()).collect();
    assert_eq!(streams.len(), 1, "one stream per node run: {streams:?}");
    t.remember_secret(EXTERNAL_KEY);
    t.remember_secret("wrong-key-guess");
    t.finish().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn unknown_devices_are_listed_by_id_until_a_config_takes_them() {
    let t = TestApp::start().await;
    let a = t.user("a@example.com").await;
    config(&t, &a, "serial-known", "gw").await;
    for (external_id, key) in [
        ("serial-new-1", "key-of-new-1"),
        ("serial-known", "wrong-key-guess"),
        ("serial-new-2", "key-of-new-2"),
        ("serial-new-1", "key-of-new-1"),
    ] {
        t.expect(
            req("GET", format!("/things/bootstrap/{external_id}")).auth(key),
            StatusCode::NOT_FOUND,
        )
        .await;
    }
    // Recorded right after the answers, then projected.
    t.events_of("thing.bootstrap", 4).await;
    let mut unknown = Value::Null;
    for _ in 0..1000 {
        unknown = t.get(&a.token, "/things/unknown/configs").await;
        if unknown["configs"][0]["attempts"] == 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let listed: Vec<(&str, u64)> = unknown["configs"]
        .as_array()
        .expect("configs")
        .iter()
        .map(|d| {
            (
                d["external_id"].as_str().unwrap(),
                d["attempts"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        listed,
        [("serial-new-1", 2), ("serial-new-2", 1)],
        "newest first"
    );
    assert!(
        !unknown.to_string().contains("key-of-new"),
        "the key tried is never shown: {unknown}"
    );
    let body = json!({"external_id": "serial-new-1", "external_key": "key-of-new-1"});
    t.send(req("POST", "/things/configs").token(&a.token).json(body))
        .await
        .expect(StatusCode::CREATED, "provision the unknown device");
    let unknown = t.get(&a.token, "/things/unknown/configs?limit=1").await;
    assert_eq!(unknown["total"], 1);
    assert_eq!(unknown["configs"][0]["external_id"], "serial-new-2");
    let anonymous = t.send(req("GET", "/things/unknown/configs")).await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
    t.remember_secret("key-of-new-1");
    t.remember_secret("key-of-new-2");
    t.finish().await;
}
