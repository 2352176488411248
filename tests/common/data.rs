//! Data-plane helpers: provisioned devices, publishing through the HTTP adapter, and
//! watching the in-process bus the pipeline publishes to.

use std::sync::Arc;
use std::time::Duration;

use adapters::bus::{BusSubscription, ChannelFilter};
use adapters::message::Message;
use axum::http::StatusCode;
use domain::ids::{ChannelId, ThingId};
use futures::FutureExt;
use serde_json::json;
use uuid::Uuid;

use super::{Req, TestApp, User, fresh_key, req};

/// How long a test waits for a message the bus should already hold: a bound, not a delay.
pub const WAIT: Duration = Duration::from_secs(10);

/// Room for every message a test publishes, so no subscriber is dropped as slow.
pub const CAPACITY: usize = 4096;

/// A thing (with a known key) connected to a channel, both owned by one user.
#[derive(Debug, Clone)]
pub struct Device {
    pub thing: String,
    pub key: String,
    pub channel: String,
}

impl Device {
    /// `/channels/<channel>/messages` followed by `tail`.
    pub fn path(&self, tail: &str) -> String {
        format!("/channels/{}/messages{tail}", self.channel)
    }
}

impl TestApp {
    /// A thing with a fresh key of `owner`; its id and key.
    pub async fn keyed_thing(&self, owner: &User) -> (String, String) {
        let key = fresh_key();
        let thing = self
            .thing(&owner.token, json!({"name": "dev", "key": key}))
            .await;
        (thing, key)
    }

    /// A new thing and a new channel of `owner`, connected.
    pub async fn device(&self, owner: &User) -> Device {
        let (thing, key) = self.keyed_thing(owner).await;
        let channel = self.channel(&owner.token, json!({"name": "ch"})).await;
        self.connect(&owner.token, &channel, &thing).await;
        Device {
            thing,
            key,
            channel,
        }
    }

    /// A bus subscription, made before publishing so it misses nothing.
    pub async fn subscribe(&self, filter: ChannelFilter) -> Box<dyn BusSubscription> {
        self.app
            .pipeline
            .bus()
            .subscribe(filter, CAPACITY)
            .await
            .expect("subscribe to the bus")
    }

    /// Messages the bus has accepted since it started.
    pub fn published(&self) -> u64 {
        self.app.pipeline.bus().stats().published
    }

    /// Sends `request`, expecting `status` and an `{"error": …}` body for an error.
    pub async fn expect(&self, request: Req, status: StatusCode) {
        let context = request.describe();
        self.send(request).await.expect(status, &context);
    }
}

/// `POST path` with `Authorization: Thing <key>` and a small JSON body.
pub fn publish(path: &str, key: &str) -> Req {
    req("POST", path)
        .auth(&format!("Thing {key}"))
        .raw(Some("application/json"), r#"{"v":1}"#)
}

pub fn channel_id(id: &str) -> ChannelId {
    ChannelId(Uuid::parse_str(id).expect("channel id"))
}

pub fn thing_id(id: &str) -> ThingId {
    ThingId(Uuid::parse_str(id).expect("thing id"))
}

/// Every message of one channel.
pub fn on_channel(id: &str) -> ChannelFilter {
    ChannelFilter::channel(channel_id(id))
}

/// The next message; the bus delivers during `publish`, so it is normally already queued.
pub async fn next_message(sub: &mut Box<dyn BusSubscription>, context: &str) -> Arc<Message> {
    match tokio::time::timeout(WAIT, sub.next()).await {
        Ok(Ok(message)) => message,
        Ok(Err(e)) => panic!("{context}: subscription ended: {e}"),
        Err(_) => panic!("{context}: no message within {WAIT:?}"),
    }
}

/// A message already queued, without waiting: `None` when there is none.
pub fn queued(sub: &mut Box<dyn BusSubscription>) -> Option<Arc<Message>> {
    match sub.next().now_or_never() {
        None => None,
        Some(Ok(message)) => Some(message),
        Some(Err(e)) => panic!("subscription ended: {e}"),
    }
}

/// Panics if a message is queued.
pub fn assert_nothing_queued(sub: &mut Box<dyn BusSubscription>, context: &str) {
    if let Some(message) = queued(sub) {
        panic!("{context}: unexpected message {message:?}");
    }
}
