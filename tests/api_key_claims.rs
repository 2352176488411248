//! Thing-key claims in the log (`domain::key_claim`): a claim left behind by a node that
//! died before its `thing.create` blocks the key for the grace period only, a claim whose
//! thing uses the key blocks it for good, and a key change or removal gives the key up at
//! once.

mod common;

use std::time::{Duration, Instant};

use axum::http::StatusCode;
use common::{TestApp, fresh_key, req};
use domain::Event;
use domain::envelope::PendingEvent;
use domain::ids::{KeyHash, ThingId};
use domain::ports::event_log::AppendBatch;
use serde_json::json;
use time::OffsetDateTime;
use uuid::Uuid;

const GRACE: Duration = Duration::from_secs(2);

/// A node on a JetStream log of its own (claims are made on shared logs only).
async fn start_shared(grace_secs: u64) -> TestApp {
    TestApp::start_with(|c| {
        c.key_claim_grace = grace_secs;
        c.log.event_log = commands::test_services::nats_url();
        c.log.event_log_prefix = format!("claims{}", Uuid::new_v4().simple());
        c.jwt_secret = Some("key-claims-test-secret".into());
        c.master_key = Some("42".repeat(32));
    })
    .await
}

async fn start() -> TestApp {
    start_shared(GRACE.as_secs()).await
}

/// What a node writes when it claims `key` for `thing`, appended straight to the log with
/// no `thing.create` after it: the node died in between.
async fn crashed_claim(t: &TestApp, key: &str, thing: ThingId) -> KeyHash {
    let key_hash = t.app.service.vault().hash(key);
    let event = Event::ThingKeyClaimed {
        key_hash,
        thing_id: thing,
        claimed_at: OffsetDateTime::now_utc(),
    };
    let batch = AppendBatch {
        stream: key_hash.claim_stream(),
        expected_version: 0,
        command_id: Uuid::new_v4(),
        retryable: false,
        events: vec![PendingEvent {
            id: Uuid::now_v7(),
            kind: event.kind().into(),
            schema: domain::event::SCHEMA_VERSION,
            occurred_at: OffsetDateTime::now_utc(),
            actor: None,
            correlation_id: Uuid::new_v4(),
            data: event.data(),
        }],
    };
    t.app.log.append(batch).await.expect("claim appended");
    key_hash
}

async fn create_with(t: &TestApp, token: &str, key: &str) -> StatusCode {
    let body = json!({ "key": key });
    t.send(req("POST", "/things").token(token).json(body))
        .await
        .status
}

async fn set_key(t: &TestApp, token: &str, thing: &str, key: &str) -> StatusCode {
    let body = json!({ "key": key });
    t.send(
        req("PATCH", format!("/things/{thing}/key"))
            .token(token)
            .json(body),
    )
    .await
    .status
}

/// The thing holding the claim on `key_hash`, per the last claim event in its stream.
async fn claim_holder(t: &TestApp, key_hash: KeyHash) -> Option<ThingId> {
    let recorded = t.app.log.read_stream(&key_hash.claim_stream()).await;
    recorded.expect("claim stream").iter().rev().find_map(|r| {
        match projections::runner::decode(r).expect("decodes") {
            Event::ThingKeyClaimed { thing_id, .. } => Some(thing_id),
            _ => None,
        }
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn a_crashed_claim_blocks_its_key_within_the_grace_and_is_taken_over_after_it() {
    let t = start().await;
    let a = t.user("a@example.com").await;
    let other = t.thing(&a.token, json!({})).await;
    let (stale, used) = (fresh_key(), fresh_key());
    let started = Instant::now();
    let stale_hash = crashed_claim(&t, &stale, ThingId(Uuid::new_v4())).await;
    // A claim whose thing was created and uses the key: it never goes stale.
    let user = t.thing(&a.token, json!({ "key": used })).await;

    assert_eq!(
        create_with(&t, &a.token, &stale).await,
        StatusCode::CONFLICT
    );
    assert_eq!(
        set_key(&t, &a.token, &other, &stale).await,
        StatusCode::CONFLICT
    );
    assert!(
        started.elapsed() < GRACE,
        "the refusals must come within the grace period; the machine is too slow"
    );

    tokio::time::sleep(GRACE.saturating_sub(started.elapsed()) + Duration::from_millis(200)).await;
    assert_eq!(create_with(&t, &a.token, &used).await, StatusCode::CONFLICT);
    assert_eq!(set_key(&t, &a.token, &other, &stale).await, StatusCode::OK);
    assert_eq!(t.identify(&stale).as_deref(), Some(other.as_str()));
    assert_eq!(t.identify(&used).as_deref(), Some(user.as_str()));
    let other_id = ThingId(Uuid::parse_str(&other).unwrap());
    assert_eq!(claim_holder(&t, stale_hash).await, Some(other_id));
    // Now in use by `other`: blocked again, grace or not.
    assert_eq!(
        create_with(&t, &a.token, &stale).await,
        StatusCode::CONFLICT
    );
    t.finish().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_changed_or_removed_key_is_free_at_once() {
    // A long grace: only a written release can free the keys within this test.
    let t = start_shared(3600).await;
    let a = t.user("a@example.com").await;
    let b = t.user("b@example.com").await;
    let (first, second) = (fresh_key(), fresh_key());
    let thing = t.thing(&a.token, json!({ "key": first })).await;
    assert_eq!(set_key(&t, &a.token, &thing, &second).await, StatusCode::OK);
    assert_eq!(create_with(&t, &b.token, &first).await, StatusCode::CREATED);

    t.send(req("DELETE", format!("/things/{thing}")).token(&a.token))
        .await
        .expect(StatusCode::NO_CONTENT, "remove");
    assert_eq!(
        create_with(&t, &b.token, &second).await,
        StatusCode::CREATED
    );
    t.finish().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_retried_create_finds_its_own_claim() {
    let t = start_shared(3600).await;
    let a = t.user("a@example.com").await;
    let key = fresh_key();
    let idempotency = Uuid::new_v4().to_string();
    let create = || {
        req("POST", "/things")
            .token(&a.token)
            .header("Idempotency-Key", &idempotency)
            .json(json!({ "key": key }))
    };
    let first = t.send(create()).await.expect(StatusCode::CREATED, "create");
    let again = t.send(create()).await.expect(StatusCode::CREATED, "retry");
    assert_eq!(first.location(), again.location());
    t.finish().await;
}
