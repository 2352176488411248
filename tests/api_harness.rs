//! The harness checks itself: the end-of-test checks must be able to fail.

mod common;

use common::TestApp;
use serde_json::json;

/// An email is in every `user.register` event; declared a secret, `finish` must object.
#[tokio::test(flavor = "multi_thread")]
#[should_panic(expected = "contains the plaintext secret")]
async fn finish_refuses_a_secret_found_in_an_event() {
    let t = TestApp::start().await;
    let a = t.user("harness-check@example.com").await;
    t.thing(&a.token, json!({})).await;
    t.remember_secret("harness-check@example.com");
    t.finish().await;
}

/// The secrets the harness collects include generated thing keys seen in answers.
#[tokio::test(flavor = "multi_thread")]
async fn finish_passes_on_a_clean_log() {
    let t = TestApp::start().await;
    let a = t.user("a@example.com").await;
    let thing = t.thing(&a.token, json!({})).await;
    let key = t.key_of(&a.token, &thing).await;
    assert!(t.identify(&key).is_some());
    t.finish().await;
}
