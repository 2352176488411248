//! History and time travel: `GET /things/{id}/events`, `GET /channels/{id}/events` and
//! `?as_of=` on an entity's `GET`. Owner only, no secret shown, and the entity as of any
//! position is what the live `GET` answered right after that position was written.

mod common;

use axum::http::StatusCode;
use common::{Failures, TestApp, fresh_key, req, unknown_id};
use proptest::prelude::*;
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread")]
async fn another_user_finds_neither_history_nor_past() {
    let t = TestApp::start().await;
    let (a, b) = (t.user("a@example.com").await, t.user("b@example.com").await);
    let thing = t.thing(&a.token, json!({"name": "mine"})).await;
    let channel = t.channel(&a.token, json!({"name": "mine"})).await;
    let head = t.head().await;
    let mut failures = Failures::default();
    for path in [
        format!("/things/{thing}/events"),
        format!("/channels/{channel}/events"),
        format!("/things/{thing}?as_of={head}"),
        format!("/channels/{channel}?as_of={head}"),
        format!("/channels/{channel}/messages/live"),
        format!("/things/{}/events", unknown_id()),
        format!("/channels/{}/events", unknown_id()),
    ] {
        let resp = t.send(req("GET", &path).token(&b.token)).await;
        failures.check(&format!("b: GET {path}"), &resp, StatusCode::NOT_FOUND);
    }
    for path in [
        format!("/things/{thing}/events"),
        format!("/channels/{channel}/messages/live"),
    ] {
        let resp = t.send(req("GET", &path)).await;
        failures.check(
            &format!("anonymous: GET {path}"),
            &resp,
            StatusCode::UNAUTHORIZED,
        );
    }
    let bad = [
        format!("/things/{thing}?as_of=yesterday"),
        format!("/things/{thing}?as_of=-1"),
        format!("/channels/{channel}?as_of=2026-13-01T00:00:00Z"),
        format!("/things/{thing}/events?limit=0"),
        format!("/things/{thing}/events?limit=101"),
        format!("/channels/{channel}/events?offset=x"),
    ];
    for path in bad {
        let resp = t.send(req("GET", &path).token(&a.token)).await;
        failures.check(&format!("a: GET {path}"), &resp, StatusCode::BAD_REQUEST);
    }
    let before = t.send(req("GET", format!("/things/{thing}?as_of=1")).token(&a.token));
    failures.check(
        "a thing before it existed",
        &before.await,
        StatusCode::NOT_FOUND,
    );
    failures.assert_none();
    t.finish().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn history_is_newest_first_paged_and_shows_no_secret() {
    let t = TestApp::start().await;
    let a = t.user("a@example.com").await;
    let first_key = fresh_key();
    let thing = t
        .thing(&a.token, json!({"name": "v1", "key": first_key}))
        .await;
    t.send(
        req("PUT", format!("/things/{thing}"))
            .token(&a.token)
            .json(json!({"name": "v2"})),
    )
    .await
    .expect(StatusCode::OK, "rename");
    let second_key = fresh_key();
    let rotate = req("PATCH", format!("/things/{thing}/key")).token(&a.token);
    t.send(rotate.json(json!({"key": second_key})))
        .await
        .expect(StatusCode::OK, "rotate");

    let page = t.get(&a.token, &format!("/things/{thing}/events")).await;
    let kinds: Vec<&str> = page["events"]
        .as_array()
        .expect("events")
        .iter()
        .map(|e| e["type"].as_str().expect("type"))
        .collect();
    assert_eq!(kinds, ["thing.update_key", "thing.update", "thing.create"]);
    assert_eq!(page["total"], 3);
    let text = page.to_string();
    for secret in [&first_key, &second_key] {
        assert!(!text.contains(secret.as_str()), "a key in {text}");
    }
    for field in ["key_hash", "sealed_key"] {
        assert!(!text.contains(field), "{field} in {text}");
    }
    let second = t
        .get(
            &a.token,
            &format!("/things/{thing}/events?offset=1&limit=1"),
        )
        .await;
    assert_eq!(second["events"][0]["type"], "thing.update");
    assert_eq!(second["events"][0]["data"]["name"], "v2");

    // Just before the rotation: the first name change, the first key.
    let rotation = page["events"][0]["position"].as_u64().expect("position");
    let then = t
        .get(&a.token, &format!("/things/{thing}?as_of={}", rotation - 1))
        .await;
    assert_eq!(
        (then["name"].as_str(), then["key"].as_str()),
        (Some("v2"), Some(first_key.as_str()))
    );

    // A removed thing keeps its history for its owner, and its past.
    t.send(req("DELETE", format!("/things/{thing}")).token(&a.token))
        .await
        .expect(StatusCode::NO_CONTENT, "remove");
    let after = t
        .get(&a.token, &format!("/things/{thing}/events?limit=1"))
        .await;
    assert_eq!(after["events"][0]["type"], "thing.remove");
    let now = t.head().await;
    let gone = t.send(req("GET", format!("/things/{thing}?as_of={now}")).token(&a.token));
    gone.await
        .expect(StatusCode::NOT_FOUND, "as of after the removal");
    t.get(&a.token, &format!("/things/{thing}?as_of={rotation}"))
        .await;
    t.finish().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_channel_history_shows_its_connections_and_as_of_takes_a_time() {
    let t = TestApp::start().await;
    let a = t.user("a@example.com").await;
    let thing = t.thing(&a.token, json!({})).await;
    let channel = t.channel(&a.token, json!({"name": "before"})).await;
    let before = time::OffsetDateTime::now_utc();
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    t.connect(&a.token, &channel, &thing).await;
    let rename = req("PUT", format!("/channels/{channel}")).token(&a.token);
    t.send(rename.json(json!({"name": "after"})))
        .await
        .expect(StatusCode::OK, "rename");
    let page = t
        .get(&a.token, &format!("/channels/{channel}/events"))
        .await;
    assert_eq!(page["events"][1]["type"], "thing.connect");
    assert_eq!(page["events"][1]["data"]["thing_id"], thing.as_str());
    let stamp = before
        .format(&time::format_description::well_known::Rfc3339)
        .expect("formats");
    let path = format!("/channels/{channel}?as_of={}", stamp.replace('+', "%2B"));
    assert_eq!(t.get(&a.token, &path).await["name"], "before");
    t.finish().await;
}

/// One change made through the API.
#[derive(Debug, Clone)]
enum Change {
    RenameThing(String),
    ThingMetadata(u8),
    RotateKey,
    RenameChannel(String),
    ToggleConnection,
}

fn change() -> impl Strategy<Value = Change> {
    prop_oneof![
        "[a-z]{1,8}".prop_map(Change::RenameThing),
        any::<u8>().prop_map(Change::ThingMetadata),
        Just(Change::RotateKey),
        "[a-z]{1,8}".prop_map(Change::RenameChannel),
        Just(Change::ToggleConnection),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

    /// After any changes, the entity as of each position is what its live `GET` answered
    /// right after that position was written, and as of the head it is the live entity.
    #[test]
    fn as_of_any_position_is_what_was_live_then(changes in prop::collection::vec(change(), 1..10)) {
        let runtime = tokio::runtime::Runtime::new().expect("runtime");
        runtime.block_on(replay_equals_live(changes));
    }
}

async fn replay_equals_live(changes: Vec<Change>) {
    let t = TestApp::start().await;
    let a = t.user("a@example.com").await;
    let thing = t.thing(&a.token, json!({"name": "start"})).await;
    let channel = t.channel(&a.token, json!({"name": "start"})).await;
    let (thing_path, channel_path) = (format!("/things/{thing}"), format!("/channels/{channel}"));
    let mut seen = vec![snapshot(&t, &a.token, &thing_path, &channel_path).await];
    let mut connected = false;
    for change in changes {
        apply(&t, &a.token, &thing, &channel, &change, &mut connected).await;
        seen.push(snapshot(&t, &a.token, &thing_path, &channel_path).await);
    }
    for (position, thing_then, channel_then) in &seen {
        let thing_as_of = t
            .get(&a.token, &format!("{thing_path}?as_of={position}"))
            .await;
        assert_eq!(&thing_as_of, thing_then, "thing as of {position}");
        let channel_as_of = t
            .get(&a.token, &format!("{channel_path}?as_of={position}"))
            .await;
        assert_eq!(&channel_as_of, channel_then, "channel as of {position}");
    }
}

/// The log's head and both entities as the live `GET`s show them.
async fn snapshot(t: &TestApp, token: &str, thing: &str, channel: &str) -> (u64, Value, Value) {
    (
        t.head().await,
        t.get(token, thing).await,
        t.get(token, channel).await,
    )
}

async fn apply(
    t: &TestApp,
    token: &str,
    thing: &str,
    channel: &str,
    change: &Change,
    connected: &mut bool,
) {
    let (method, path, body) = match change {
        Change::RenameThing(name) => ("PUT", format!("/things/{thing}"), json!({"name": name})),
        Change::ThingMetadata(n) => (
            "PUT",
            format!("/things/{thing}"),
            json!({"metadata": {"n": n}}),
        ),
        Change::RotateKey => (
            "PATCH",
            format!("/things/{thing}/key"),
            json!({"key": fresh_key()}),
        ),
        Change::RenameChannel(name) => {
            ("PUT", format!("/channels/{channel}"), json!({"name": name}))
        }
        Change::ToggleConnection => {
            let method = if *connected { "DELETE" } else { "PUT" };
            *connected = !*connected;
            (
                method,
                format!("/channels/{channel}/things/{thing}"),
                Value::Null,
            )
        }
    };
    let request = req(method, &path).token(token);
    let request = if body.is_null() {
        request
    } else {
        request.json(body)
    };
    let resp = t.send(request).await;
    assert!(resp.status.is_success(), "{method} {path}: {}", resp.status);
}
