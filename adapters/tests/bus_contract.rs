//! The message-bus contract suite against the in-process bus, plus what only it promises.

use std::sync::Arc;

use adapters::bus::contract::{BusFactory, channel, message, patiently, receive, thing};
use adapters::bus::{BusError, ChannelFilter, MemoryBus, MessageBus};
use async_trait::async_trait;
use bytes::Bytes;

/// One fresh bus per test; every `open` is another handle on it.
#[derive(Default)]
struct MemoryFactory(MemoryBus);

#[async_trait]
impl BusFactory for MemoryFactory {
    async fn open(&self) -> Arc<dyn MessageBus> {
        Arc::new(self.0.clone())
    }
}

mod memory {
    adapters::message_bus_contract_tests!(super::MemoryFactory::default());
}

#[tokio::test]
async fn fan_out_shares_the_payload_bytes() {
    let bus = MemoryBus::new();
    let chan = channel();
    let mut subscriptions = Vec::new();
    for _ in 0..3 {
        subscriptions.push(
            bus.subscribe(ChannelFilter::channel(chan), 4)
                .await
                .expect("sub"),
        );
    }
    subscriptions.push(bus.subscribe(ChannelFilter::all(), 4).await.expect("sub"));
    let mut sent = message(chan, thing(), Some("a"), 1);
    sent.payload = Bytes::from(vec![7u8; 64 * 1024]);
    let address = sent.payload.as_ptr();
    bus.publish(sent).expect("publish");
    let mut received = Vec::new();
    for subscription in &mut subscriptions {
        received.push(receive("fan-out", &mut **subscription).await);
    }
    for got in &received {
        assert_eq!(got.payload.as_ptr(), address, "payload copied");
    }
    assert!(
        received
            .windows(2)
            .all(|pair| Arc::ptr_eq(&pair[0], &pair[1])),
        "every subscriber shares one message"
    );
}

#[tokio::test]
async fn a_subscription_outliving_its_bus_ends_closed() {
    let bus = MemoryBus::new();
    let chan = channel();
    let mut subscription = bus
        .subscribe(ChannelFilter::channel(chan), 4)
        .await
        .expect("sub");
    bus.publish(message(chan, thing(), None, 1))
        .expect("publish");
    drop(bus);
    assert_eq!(
        receive("queued before drop", &mut *subscription)
            .await
            .created,
        1
    );
    let end = patiently("end", subscription.next()).await;
    assert_eq!(end.err(), Some(BusError::Closed));
}

#[tokio::test]
async fn a_lagged_subscriber_is_removed_from_the_index_at_once() {
    let bus = MemoryBus::new();
    let chan = channel();
    let mut slow = bus
        .subscribe(ChannelFilter::channel(chan), 2)
        .await
        .expect("sub");
    let publisher = thing();
    for n in 0..5 {
        bus.publish(message(chan, publisher, None, n))
            .expect("publish");
    }
    let stats = bus.stats();
    assert_eq!(stats.subscribers, 0, "evicted without waiting for its drop");
    assert_eq!(stats.dropped_slow_subscribers, 1, "counted once");
    assert_eq!((stats.published, stats.delivered), (5, 2));
    assert_eq!(receive("prefix", &mut *slow).await.created, 0);
    assert_eq!(receive("prefix", &mut *slow).await.created, 1);
    assert_eq!(slow.next().await.err(), Some(BusError::Lagged));
}

#[tokio::test]
async fn oversized_capacity_is_refused() {
    let bus = MemoryBus::new();
    let refused = bus
        .subscribe(ChannelFilter::all(), adapters::bus::MAX_CAPACITY + 1)
        .await;
    assert!(matches!(refused, Err(BusError::Invalid(_))));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_publishers_and_subscribers_on_many_channels() {
    let bus = MemoryBus::new();
    let channels: Vec<_> = (0..16).map(|_| channel()).collect();
    let mut subscriptions = Vec::new();
    for &chan in &channels {
        subscriptions.push(
            bus.subscribe(ChannelFilter::channel(chan), 4096)
                .await
                .expect("sub"),
        );
    }
    let tasks: Vec<_> = channels
        .iter()
        .map(|&chan| {
            let bus = bus.clone();
            tokio::spawn(async move {
                let publisher = thing();
                for n in 0..500 {
                    bus.publish(message(chan, publisher, None, n))
                        .expect("publish");
                }
            })
        })
        .collect();
    for task in tasks {
        patiently("publisher", task).await.expect("task");
    }
    for (chan, subscription) in channels.iter().zip(&mut subscriptions) {
        for n in 0..500 {
            let got = receive("per-channel subscriber", &mut **subscription).await;
            assert_eq!((got.channel, got.created), (*chan, n));
        }
    }
    let stats = bus.stats();
    assert_eq!((stats.published, stats.delivered), (16 * 500, 16 * 500));
}
