//! `NatsBus`: the bus of a node that shares its messages with other nodes over NATS core
//! subjects (DESIGN.md §1: messages are transient, so core NATS, not JetStream).
//!
//! Each node keeps a `MemoryBus` for its own subscribers. A publish goes to it at once, so
//! local delivery costs what it costs embedded, and to a bounded outbox that one task
//! drains into NATS on `<prefix>.channels.<channel>`, in publish order. One subscription on
//! `<prefix>.channels.>` brings the other nodes' messages in and hands them to the local bus
//! as remote (`MemoryBus::deliver_remote`). The connection is opened with `no_echo`, so a
//! node never receives its own messages back: each arrives once, whichever way it came.
//!
//! While the connection is down, or the outbox is full, `publish` is `Unavailable` and
//! nothing is delivered anywhere: a client is told to retry (HTTP 503, no PUBACK) rather
//! than have its message reach this node's subscribers only.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_nats::connection::State;
use async_trait::async_trait;
use bytes::Bytes;
use futures::StreamExt;
use tokio::sync::mpsc;
use tokio::sync::mpsc::error::TrySendError;
use tokio::task::JoinHandle;

use super::nats_wire::{decode, encode};
use super::{BusError, BusStats, BusSubscription, ChannelFilter, MemoryBus, MessageBus};
use crate::message::Message;

/// How a node joins the others' bus.
#[derive(Debug, Clone)]
pub struct NatsBusOptions {
    /// Subject prefix: nodes with the same prefix on one NATS share their messages.
    pub prefix: String,
    /// Messages that may wait for the connection before `publish` answers `Unavailable`.
    pub outbox: usize,
}

impl Default for NatsBusOptions {
    fn default() -> Self {
        Self {
            prefix: "ff".into(),
            outbox: 8192,
        }
    }
}

/// One node's bus, joined to every other node's with the same prefix.
pub struct NatsBus {
    local: MemoryBus,
    client: async_nats::Client,
    outbox: mpsc::Sender<(String, Bytes)>,
    subjects: String,
    refused: Arc<AtomicU64>,
    tasks: [JoinHandle<()>; 2],
}

impl NatsBus {
    /// Connects to `url` (cluster members comma-separated) and subscribes to the other
    /// nodes' messages; returns once NATS has that subscription, so nothing published
    /// elsewhere after this returns is missed.
    pub async fn connect(url: &str, options: NatsBusOptions) -> Result<Self, BusError> {
        let prefix = options.prefix.trim_end_matches('.');
        if prefix.is_empty() || prefix.contains(['*', '>', ' ']) || options.outbox == 0 {
            return Err(BusError::Invalid(format!(
                "bus prefix {:?} and outbox {}: a prefix without wildcards or spaces and an outbox of 1 or more",
                options.prefix, options.outbox
            )));
        }
        let servers = url
            .split(',')
            .map(|one| one.trim().parse::<async_nats::ServerAddr>())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| BusError::Invalid(format!("NATS URL {url}: {e}")))?;
        let client = async_nats::ConnectOptions::new()
            .connection_timeout(Duration::from_secs(5))
            .name("ferroflux-bus")
            .no_echo()
            .connect(servers)
            .await
            .map_err(|e| BusError::Unavailable(format!("cannot connect to NATS at {url}: {e}")))?;
        let subjects = format!("{prefix}.channels.");
        let inbound = client
            .subscribe(format!("{subjects}>"))
            .await
            .map_err(|e| BusError::Unavailable(format!("cannot subscribe on NATS: {e}")))?;
        confirm_subscribed(&client, prefix).await?;
        let local = MemoryBus::new();
        let refused = Arc::new(AtomicU64::new(0));
        let (outbox, pending) = mpsc::channel(options.outbox);
        let tasks = [
            tokio::spawn(send(client.clone(), pending)),
            tokio::spawn(receive(inbound, local.clone(), Arc::clone(&refused))),
        ];
        Ok(Self {
            local,
            client,
            outbox,
            subjects,
            refused,
            tasks,
        })
    }

    /// Bodies from the bus subjects that were no message of ours (another version, or
    /// something else publishing there), dropped.
    pub fn refused(&self) -> u64 {
        self.refused.load(Ordering::Relaxed)
    }
}

impl Drop for NatsBus {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

#[async_trait]
impl MessageBus for NatsBus {
    fn publish(&self, message: Message) -> Result<(), BusError> {
        if self.client.connection_state() != State::Connected {
            return Err(BusError::Unavailable(
                "the connection to NATS is down; reconnecting".into(),
            ));
        }
        let mut subject = String::with_capacity(self.subjects.len() + 36);
        subject.push_str(&self.subjects);
        subject.push_str(message.channel.0.hyphenated().encode_lower(&mut [0; 36]));
        match self.outbox.try_send((subject, encode(&message))) {
            Ok(()) => self.local.publish(message),
            Err(TrySendError::Full(_)) => Err(BusError::Unavailable(
                "the NATS outbox is full: NATS is slower than the publishers".into(),
            )),
            Err(TrySendError::Closed(_)) => Err(BusError::Closed),
        }
    }

    async fn subscribe(
        &self,
        filter: ChannelFilter,
        capacity: usize,
    ) -> Result<Box<dyn BusSubscription>, BusError> {
        self.local.subscribe(filter, capacity).await
    }

    fn stats(&self) -> BusStats {
        self.local.stats()
    }
}

/// Returns once the server has processed everything this connection sent so far, the
/// inbound subscription included: a request nobody answers gets the server's own "no
/// responders" reply, after the earlier commands. (`Client::flush` only empties the client's
/// write buffer; a message another node published right after it could still be missed.)
async fn confirm_subscribed(client: &async_nats::Client, prefix: &str) -> Result<(), BusError> {
    let nobody = format!("{prefix}.ready.{}", uuid::Uuid::new_v4().simple());
    match client.request(nobody, Bytes::new()).await {
        Ok(_) => Ok(()),
        Err(error) if error.kind() == async_nats::RequestErrorKind::NoResponders => Ok(()),
        Err(error) => Err(BusError::Unavailable(format!(
            "NATS did not confirm the subscription: {error}"
        ))),
    }
}

/// Drains the outbox into NATS, in order. The client buffers and reconnects by itself; a
/// publish fails only once the client is closed for good, and then so does the bus.
async fn send(client: async_nats::Client, mut pending: mpsc::Receiver<(String, Bytes)>) {
    while let Some((subject, body)) = pending.recv().await {
        if let Err(error) = client.publish(subject, body).await {
            tracing::error!(%error, "message bus: cannot publish on NATS any more");
            return;
        }
    }
}

/// Hands the other nodes' messages to the local subscribers.
async fn receive(mut inbound: async_nats::Subscriber, local: MemoryBus, refused: Arc<AtomicU64>) {
    while let Some(received) = inbound.next().await {
        match decode(received.payload) {
            Ok(message) => local.deliver_remote(message),
            Err(error) => {
                let count = refused.fetch_add(1, Ordering::Relaxed) + 1;
                // The first, then every power of two: a stream of foreign bodies is named
                // without flooding the log.
                if count.is_power_of_two() {
                    tracing::warn!(%error, subject = %received.subject, count, "message bus: dropped a body that is no message");
                }
            }
        }
    }
    tracing::error!(
        "message bus: the NATS subscription ended; other nodes' messages no longer arrive"
    );
}
