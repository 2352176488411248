//! The message bus: the port every adapter publishes to and every subscriber (MQTT
//! sessions, the telemetry writer) reads from.
//!
//! Layout:
//! - this file: the `MessageBus` and `BusSubscription` traits, `ChannelFilter`, `BusStats`,
//!   `BusError`.
//! - `memory`: `MemoryBus`, the in-process backend (bounded queue per subscriber).
//! - `nats`: `NatsBus`, the node's `MemoryBus` joined to the other nodes' over NATS core
//!   subjects; `nats_wire` is its message encoding.
//! - `contract`: the backend-agnostic suite (`message_bus_contract_tests!`) that both
//!   backends run unchanged.
//!
//! `publish` is synchronous and never waits, on purpose: it is on every message's hot
//! path, and an `async_trait` method would box a future per call (the issue allows no
//! allocation beyond the message itself). A backend hands the message to its subscribers'
//! queues (memory) or to its connection's bounded outbox (NATS) and returns; a full outbox
//! is `Unavailable`, never a stall. Subscribing is rare, so it is an ordinary async method.

pub mod contract;
mod memory;
mod nats;
mod nats_wire;

use std::sync::Arc;
use std::task::{Context, Poll};

use async_trait::async_trait;
use domain::ids::ChannelId;

use crate::message::{Message, Protocol};
use crate::subtopic::SubtopicFilter;

pub use memory::{MAX_CAPACITY, MemoryBus};
pub use nats::{NatsBus, NatsBusOptions};

/// What a subscription receives.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChannelFilter {
    /// `None`: every channel (the telemetry writer's `channels.>`).
    pub channel: Option<ChannelId>,
    /// `None`: every subtopic, and messages without one.
    pub subtopic: Option<SubtopicFilter>,
    /// Messages that arrived over this protocol *at this node* are not delivered: an adapter
    /// that delivers its own protocol's messages itself (MQTT) takes only the others, and
    /// every message from another node, which no local adapter has delivered.
    pub except_protocol: Option<Protocol>,
    /// Only messages accepted at this node, none from other nodes: a telemetry writer
    /// whose store every node shares saves only these, so each message is stored once.
    pub local_only: bool,
}

impl ChannelFilter {
    /// Every message of every channel.
    pub fn all() -> Self {
        Self::default()
    }

    /// Every message of one channel, whatever its subtopic.
    pub fn channel(channel: ChannelId) -> Self {
        Self {
            channel: Some(channel),
            ..Self::default()
        }
    }

    pub fn except(self, protocol: Protocol) -> Self {
        Self {
            except_protocol: Some(protocol),
            ..self
        }
    }

    pub fn local_only(self) -> Self {
        Self {
            local_only: true,
            ..self
        }
    }

    pub fn with_subtopic(self, subtopic: SubtopicFilter) -> Self {
        Self {
            subtopic: Some(subtopic),
            ..self
        }
    }
}

/// Counters since the bus started (`subscribers` is the current number).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BusStats {
    /// Messages accepted by `publish`, whether or not anyone wanted them (not those that
    /// came from other nodes).
    pub published: u64,
    /// Messages put in a subscriber's queue: one per matching subscriber.
    pub delivered: u64,
    /// Subscriptions disconnected because their queue was full.
    pub dropped_slow_subscribers: u64,
    /// Live subscriptions.
    pub subscribers: u64,
}

/// What can go wrong; each variant says how the caller reacts.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BusError {
    /// This subscription's queue filled up, so the bus disconnected it rather than stall
    /// publishers or drop messages silently. It received a gap-free prefix of what it
    /// matched; everything later is lost to it. Resubscribe (an MQTT adapter closes the
    /// session, and the client reconnects and knows it may have missed messages).
    #[error("subscriber too slow: disconnected")]
    Lagged,
    /// The bus shut down: no more messages will come.
    #[error("message bus closed")]
    Closed,
    /// The call itself is unusable (a zero capacity): a bug in the caller.
    #[error("invalid bus request: {0}")]
    Invalid(String),
    /// The backend is down or its outbox is full: nothing was published. Answer 503, or
    /// let the MQTT client retry (QoS 1 is not acknowledged).
    #[error("message bus unavailable: {0}")]
    Unavailable(String),
}

/// The bus port. Delivery contract (see `contract`): every subscription whose filter
/// matches gets each message exactly once, in publish order per publisher; a full
/// subscriber queue disconnects that subscriber only (`BusError::Lagged`).
#[async_trait]
pub trait MessageBus: Send + Sync + 'static {
    /// Hands `message` to every matching subscription without waiting for any of them.
    fn publish(&self, message: Message) -> Result<(), BusError>;

    /// A subscription receiving every message published after this returns that matches
    /// `filter`, buffering at most `capacity` (at least 1) unread messages.
    async fn subscribe(
        &self,
        filter: ChannelFilter,
        capacity: usize,
    ) -> Result<Box<dyn BusSubscription>, BusError>;

    fn stats(&self) -> BusStats;
}

/// One subscription. Dropping it unsubscribes.
pub trait BusSubscription: Send {
    /// Polls for the next message; `Err` (`Lagged`, `Closed`) is final. A poll method, not
    /// an `async_trait` one, so receiving allocates nothing per message: call `next`.
    fn poll_next(&mut self, cx: &mut Context<'_>) -> Poll<Result<Arc<Message>, BusError>>;
}

impl dyn BusSubscription + '_ {
    /// The next message, waiting for one; `Err` is final.
    pub async fn next(&mut self) -> Result<Arc<Message>, BusError> {
        std::future::poll_fn(|cx| self.poll_next(cx)).await
    }
}
