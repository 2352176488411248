//! `MemoryBus`: the in-process backend, the embedded default.
//!
//! Subscribers are indexed by channel, next to a list of all-channel subscribers, so a
//! publish on channel X looks only at X's subscribers and the all-channel ones. Publishing
//! holds a read lock for one non-blocking `try_send` per matching subscriber and never
//! waits for a subscriber; the write lock is taken only to add or remove one.
//!
//! **Slow subscribers are disconnected**, not fed with gaps. Each has a bounded queue; a
//! publish that finds it full marks it lagged, stops delivering to it and removes it. It
//! then drains what it has and gets `BusError::Lagged`, so what it saw is a gap-free
//! prefix. Dropping single messages instead would leave a subscriber that cannot tell it
//! missed anything; the NATS server disconnects slow consumers for the same reason.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, RwLock, RwLockWriteGuard, Weak};
use std::task::{Context, Poll};

use async_trait::async_trait;
use domain::FastMap;
use domain::ids::ChannelId;
use tokio::sync::mpsc;
use tokio::sync::mpsc::error::TrySendError;

use super::{BusError, BusStats, BusSubscription, ChannelFilter, MessageBus};
use crate::message::{Message, Protocol};
use crate::subtopic::SubtopicFilter;

/// Largest queue a subscription may ask for: far above any sane need, and below what
/// tokio's channel accepts.
pub const MAX_CAPACITY: usize = 1 << 20;

/// The in-process bus. Clones share one bus.
#[derive(Clone, Default)]
pub struct MemoryBus {
    shared: Arc<Shared>,
}

#[derive(Default)]
struct Shared {
    index: RwLock<Index>,
    next_id: AtomicU64,
    published: AtomicU64,
    delivered: AtomicU64,
    dropped_slow: AtomicU64,
}

#[derive(Default)]
struct Index {
    by_channel: FastMap<ChannelId, Vec<Subscriber>>,
    every_channel: Vec<Subscriber>,
}

struct Subscriber {
    id: u64,
    subtopic: Option<SubtopicFilter>,
    except_protocol: Option<Protocol>,
    local_only: bool,
    queue: mpsc::Sender<Arc<Message>>,
    /// Set once, by the publish that found the queue full; shared with the subscription so
    /// it can tell `Lagged` from `Closed`.
    lagged: Arc<AtomicBool>,
}

impl MemoryBus {
    pub fn new() -> Self {
        Self::default()
    }

    /// Hands a message that another node accepted to the matching subscriptions. An
    /// excluded protocol does not exclude it: no adapter of this node has delivered it.
    pub fn deliver_remote(&self, message: Message) {
        self.shared.deliver(Arc::new(message), Origin::Remote);
    }
}

/// Where a message was accepted: the subscriptions' filters tell the two apart.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Origin {
    Local,
    Remote,
}

impl Subscriber {
    fn wants(&self, message: &Message, origin: Origin) -> bool {
        let origin_wanted = match origin {
            Origin::Local => self.except_protocol != Some(message.protocol),
            Origin::Remote => !self.local_only,
        };
        origin_wanted
            && self
                .subtopic
                .as_ref()
                .is_none_or(|filter| filter.matches(message.subtopic.as_ref()))
    }
}

impl Shared {
    fn write(&self) -> RwLockWriteGuard<'_, Index> {
        self.index
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Removes subscriber `id` (listed under `channel`) if it is still there.
    fn remove(&self, channel: Option<ChannelId>, id: u64) {
        let mut index = self.write();
        let list = match channel {
            Some(channel) => index.by_channel.get_mut(&channel),
            None => Some(&mut index.every_channel),
        };
        let Some(list) = list else { return };
        list.retain(|subscriber| subscriber.id != id);
        if let Some(channel) = channel.filter(|_| list.is_empty()) {
            index.by_channel.remove(&channel);
        }
    }

    /// One non-blocking `try_send` per matching subscriber, under the read lock.
    fn deliver(&self, message: Arc<Message>, origin: Origin) {
        let mut delivered = 0;
        // Allocated only when someone must go: the common path allocates nothing here.
        let mut evict: Vec<(Option<ChannelId>, u64)> = Vec::new();
        {
            let index = self
                .index
                .read()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            let own = index.by_channel.get(&message.channel);
            let lists = [
                (Some(message.channel), own.map_or(&[][..], Vec::as_slice)),
                (None, index.every_channel.as_slice()),
            ];
            for (listed_under, list) in lists {
                for subscriber in list {
                    if !subscriber.wants(&message, origin)
                        || subscriber.lagged.load(Ordering::Acquire)
                    {
                        continue;
                    }
                    match subscriber.queue.try_send(Arc::clone(&message)) {
                        Ok(()) => delivered += 1,
                        Err(TrySendError::Full(_)) => {
                            if !subscriber.lagged.swap(true, Ordering::AcqRel) {
                                self.dropped_slow.fetch_add(1, Ordering::Relaxed);
                            }
                            evict.push((listed_under, subscriber.id));
                        }
                        // Its subscription is being dropped; its `Drop` removes it.
                        Err(TrySendError::Closed(_)) => {}
                    }
                }
            }
        }
        if delivered > 0 {
            self.delivered.fetch_add(delivered, Ordering::Relaxed);
        }
        for (channel, id) in evict {
            self.remove(channel, id);
        }
    }

    /// Subscribers in the index, counted when asked (stats are rare; publishes are not).
    fn subscriber_count(&self) -> u64 {
        let index = self
            .index
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let by_channel: usize = index.by_channel.values().map(Vec::len).sum();
        (index.every_channel.len() + by_channel) as u64
    }
}

#[async_trait]
impl MessageBus for MemoryBus {
    fn publish(&self, message: Message) -> Result<(), BusError> {
        self.shared.published.fetch_add(1, Ordering::Relaxed);
        self.shared.deliver(Arc::new(message), Origin::Local);
        Ok(())
    }

    async fn subscribe(
        &self,
        filter: ChannelFilter,
        capacity: usize,
    ) -> Result<Box<dyn BusSubscription>, BusError> {
        if !(1..=MAX_CAPACITY).contains(&capacity) {
            return Err(BusError::Invalid(format!(
                "capacity {capacity} is not between 1 and {MAX_CAPACITY}"
            )));
        }
        let (queue, receiver) = mpsc::channel(capacity);
        let lagged = Arc::new(AtomicBool::new(false));
        let id = self.shared.next_id.fetch_add(1, Ordering::Relaxed);
        let subscriber = Subscriber {
            id,
            subtopic: filter.subtopic,
            except_protocol: filter.except_protocol,
            local_only: filter.local_only,
            queue,
            lagged: Arc::clone(&lagged),
        };
        {
            let mut index = self.shared.write();
            match filter.channel {
                Some(channel) => index
                    .by_channel
                    .entry(channel)
                    .or_default()
                    .push(subscriber),
                None => index.every_channel.push(subscriber),
            }
        }
        Ok(Box::new(MemorySubscription {
            id,
            channel: filter.channel,
            receiver,
            lagged,
            bus: Arc::downgrade(&self.shared),
        }))
    }

    fn stats(&self) -> BusStats {
        let shared = &*self.shared;
        BusStats {
            published: shared.published.load(Ordering::Relaxed),
            delivered: shared.delivered.load(Ordering::Relaxed),
            dropped_slow_subscribers: shared.dropped_slow.load(Ordering::Relaxed),
            subscribers: shared.subscriber_count(),
        }
    }
}

struct MemorySubscription {
    id: u64,
    channel: Option<ChannelId>,
    receiver: mpsc::Receiver<Arc<Message>>,
    lagged: Arc<AtomicBool>,
    /// Weak, so a forgotten subscription does not keep a dropped bus alive.
    bus: Weak<Shared>,
}

impl BusSubscription for MemorySubscription {
    fn poll_next(&mut self, cx: &mut Context<'_>) -> Poll<Result<Arc<Message>, BusError>> {
        self.receiver.poll_recv(cx).map(|received| {
            received.ok_or_else(|| {
                if self.lagged.load(Ordering::Acquire) {
                    BusError::Lagged
                } else {
                    BusError::Closed
                }
            })
        })
    }
}

impl Drop for MemorySubscription {
    fn drop(&mut self) {
        if let Some(bus) = self.bus.upgrade() {
            bus.remove(self.channel, self.id);
        }
    }
}
