//! The contract every `MessageBus` backend passes: one suite, run unchanged against the
//! in-process bus today and NATS later.
//!
//! A backend plugs in with a `BusFactory` (a fresh, private namespace per test) and the
//! `message_bus_contract_tests!` macro, which expands to one `#[tokio::test]` per case:
//!
//! ```text
//! mod memory { adapters::message_bus_contract_tests!(super::MemoryFactory::default()); }
//! ```
//!
//! Compiled in normal builds on purpose, like the event-log suite: a backend in another
//! crate must be able to call it, and a suite behind a feature flag rots. Every case
//! panics on failure, like any test, and every wait is bounded by `PATIENCE`, so a lost
//! message or a stalled publisher fails the test instead of hanging it. What only one
//! backend can promise (the in-process bus shares the payload's bytes) is tested next to
//! that backend, not here.

mod cases;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use domain::ids::{ChannelId, ThingId};
use uuid::Uuid;

use super::{BusSubscription, MessageBus};
use crate::message::{Message, Protocol};
use crate::subtopic::Subtopic;

pub use cases::*;

/// Opens buses for one test. Each factory value is used by exactly one test, so it owns a
/// namespace nobody else sees (a fresh in-process bus, a random NATS subject prefix, …).
#[async_trait]
pub trait BusFactory: Send + Sync + 'static {
    /// Another handle on this factory's bus: every handle sees what any handle publishes.
    /// A network backend opens a connection per call, so the suite also checks delivery
    /// between connections.
    async fn open(&self) -> Arc<dyn MessageBus>;
}

/// Expands to one `#[tokio::test]` per contract case, each with its own `$factory` value.
/// Wrap the call in a `mod` per backend so test names say which backend failed.
#[macro_export]
macro_rules! message_bus_contract_tests {
    ($factory:expr) => {
        $crate::message_bus_contract_tests!(@cases $factory;
            every_matching_subscriber_gets_each_message_once_in_order,
            subtopic_filters_select_what_they_match,
            other_channels_receive_nothing,
            an_excluded_protocol_is_not_delivered,
            every_channel_subscriptions_see_every_channel,
            only_messages_after_subscribing_arrive,
            message_fields_arrive_intact,
            slow_subscriber_is_disconnected_without_stalling_others,
            dropped_subscriptions_are_removed,
            stats_count_published_and_delivered,
            zero_capacity_is_refused,
        );
    };
    (@cases $factory:expr; $($case:ident),+ $(,)?) => {
        $(
            #[::tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $case() {
                let factory = $factory;
                $crate::bus::contract::$case(&factory).await;
            }
        )+
    };
}

/// Longest wait for anything in the suite: generous for a loaded CI machine, finite so a
/// lost message fails the test instead of hanging it.
pub const PATIENCE: Duration = Duration::from_secs(30);

/// How long a subscription must stay silent to count as having received nothing more.
pub const QUIET: Duration = Duration::from_millis(200);

/// A fresh channel id.
pub fn channel() -> ChannelId {
    ChannelId(Uuid::new_v4())
}

/// A fresh thing id.
pub fn thing() -> ThingId {
    ThingId(Uuid::new_v4())
}

/// Message number `n` from `publisher`: `created` is `n` and the payload is `n` in text,
/// so a failure message says which one went missing.
pub fn message(channel: ChannelId, publisher: ThingId, subtopic: Option<&str>, n: i64) -> Message {
    Message {
        channel,
        subtopic: subtopic.map(|raw| {
            Subtopic::parse(raw)
                .ok()
                .flatten()
                .unwrap_or_else(|| panic!("bad test subtopic {raw:?}"))
        }),
        publisher,
        protocol: Protocol::Http,
        content_type: None,
        payload: Bytes::from(n.to_string()),
        created: n,
        properties: None,
    }
}

/// Awaits `future` for at most `PATIENCE`.
pub async fn patiently<T>(what: &str, future: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(PATIENCE, future)
        .await
        .unwrap_or_else(|_| panic!("timed out: {what}"))
}

/// The next message of `subscription`, which must come within `PATIENCE`.
pub async fn receive(what: &str, subscription: &mut dyn BusSubscription) -> Arc<Message> {
    patiently(what, subscription.next())
        .await
        .unwrap_or_else(|error| panic!("{what}: subscription ended: {error}"))
}

/// Fails if `subscription` yields anything within `QUIET`.
pub async fn assert_quiet(what: &str, subscription: &mut dyn BusSubscription) {
    if let Ok(extra) = tokio::time::timeout(QUIET, subscription.next()).await {
        panic!("{what}: unexpected {extra:?}");
    }
}

/// Polls `condition` until it holds (nats-server's `checkFor`), failing after `PATIENCE`.
pub async fn check_for(what: &str, mut condition: impl FnMut() -> bool) {
    patiently(what, async {
        while !condition() {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
}
