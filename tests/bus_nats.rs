//! The message-bus contract suite against `NatsBus` on the real nats-server of
//! `scripts/services` (each `open` is another node: its own connection, one subject prefix
//! per test), plus what only a bus of several nodes promises.

use std::sync::Arc;
use std::time::Duration;

use adapters::bus::contract::{
    BusFactory, PATIENCE, assert_quiet, channel, message, patiently, receive, thing,
};
use adapters::bus::{BusError, ChannelFilter, MessageBus, NatsBus, NatsBusOptions};
use adapters::message::Protocol;
use async_trait::async_trait;
use commands::test_services::{PrivateNats, nats_url};
use uuid::Uuid;

fn options(prefix: &str) -> NatsBusOptions {
    NatsBusOptions {
        prefix: prefix.into(),
        ..NatsBusOptions::default()
    }
}

async fn node(url: &str, prefix: &str) -> NatsBus {
    NatsBus::connect(url, options(prefix))
        .await
        .unwrap_or_else(|error| panic!("bus on {url}: {error}"))
}

struct NatsFactory(String);

impl Default for NatsFactory {
    fn default() -> Self {
        Self(format!("t{}", Uuid::new_v4().simple()))
    }
}

#[async_trait]
impl BusFactory for NatsFactory {
    async fn open(&self) -> Arc<dyn MessageBus> {
        Arc::new(node(&nats_url(), &self.0).await)
    }
}

mod nats {
    adapters::message_bus_contract_tests!(super::NatsFactory::default());
}

/// The MQTT adapter takes every message but MQTT ones from the bus, as its broker delivers
/// those itself: an MQTT message accepted by another node, which no local broker has seen,
/// must reach it all the same.
#[tokio::test]
async fn an_excluded_protocol_from_another_node_is_delivered() {
    let prefix = NatsFactory::default().0;
    let (one, two) = (
        node(&nats_url(), &prefix).await,
        node(&nats_url(), &prefix).await,
    );
    let chan = channel();
    let filter = ChannelFilter::channel(chan).except(Protocol::Mqtt);
    let mut on_two = two.subscribe(filter, 8).await.expect("subscribe");
    let mut over_mqtt = message(chan, thing(), None, 1);
    over_mqtt.protocol = Protocol::Mqtt;
    one.publish(over_mqtt).expect("publish");
    let got = receive("remote MQTT message", &mut *on_two).await;
    assert_eq!((got.protocol, got.created), (Protocol::Mqtt, 1));
}

/// A writer to a store every node shares subscribes `local_only`: it gets this node's
/// messages, and none relayed from another node (that node's writer stores those).
#[tokio::test]
async fn a_local_only_subscription_gets_no_other_nodes_messages() {
    let prefix = NatsFactory::default().0;
    let (one, two) = (
        node(&nats_url(), &prefix).await,
        node(&nats_url(), &prefix).await,
    );
    let chan = channel();
    let mut local_only = two
        .subscribe(ChannelFilter::all().local_only(), 8)
        .await
        .expect("subscribe");
    let mut everything = two
        .subscribe(ChannelFilter::all(), 8)
        .await
        .expect("subscribe");
    one.publish(message(chan, thing(), None, 1))
        .expect("publish");
    assert_eq!(receive("relayed", &mut *everything).await.created, 1);
    two.publish(message(chan, thing(), None, 2))
        .expect("publish");
    assert_eq!(receive("own", &mut *everything).await.created, 2);
    assert_eq!(receive("own", &mut *local_only).await.created, 2);
    assert_quiet("relayed to a local-only subscription", &mut *local_only).await;
}

/// Another prefix is another cluster; a body that is no message is dropped and counted,
/// and the bus goes on.
#[tokio::test]
async fn other_prefixes_and_foreign_bodies_are_kept_out() {
    let prefix = NatsFactory::default().0;
    let (one, two) = (
        node(&nats_url(), &prefix).await,
        node(&nats_url(), &prefix).await,
    );
    let elsewhere = node(&nats_url(), &NatsFactory::default().0).await;
    let chan = channel();
    let mut on_two = two
        .subscribe(ChannelFilter::all(), 8)
        .await
        .expect("subscribe");
    elsewhere
        .publish(message(chan, thing(), None, 0))
        .expect("publish");
    let foreign = async_nats::connect(nats_url()).await.expect("NATS client");
    foreign
        .publish(
            format!("{prefix}.channels.{}", chan.0),
            "not a message".into(),
        )
        .await
        .expect("foreign publish");
    foreign.flush().await.expect("flush");
    one.publish(message(chan, thing(), None, 1))
        .expect("publish");
    assert_eq!(
        receive("own cluster's message", &mut *on_two).await.created,
        1
    );
    assert_quiet("other cluster", &mut *on_two).await;
    assert_eq!(two.refused(), 1);
}

/// With NATS gone, a publish is refused at once (the client retries) instead of reaching
/// this node's subscribers only; once NATS is back, messages cross again by themselves.
#[tokio::test]
async fn while_nats_is_down_publishes_are_refused_and_the_bus_recovers() {
    let mut server = PrivateNats::start();
    let prefix = NatsFactory::default().0;
    let (one, two) = (
        node(&server.url(), &prefix).await,
        node(&server.url(), &prefix).await,
    );
    let chan = channel();
    let mut local = one
        .subscribe(ChannelFilter::channel(chan), 64)
        .await
        .expect("subscribe");
    let mut remote = two
        .subscribe(ChannelFilter::channel(chan), 64)
        .await
        .expect("subscribe");
    server.kill();
    let mut accepted = 0;
    patiently("a refusal", async {
        loop {
            match one.publish(message(chan, thing(), None, 0)) {
                Err(BusError::Unavailable(_)) => return,
                Ok(()) => accepted += 1,
                Err(other) => panic!("expected Unavailable, got {other}"),
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
    server.resume();
    // Until both clients are back, a publish may be refused, or accepted before the other
    // node's subscription is restored; the first one accepted after both are is delivered.
    let deadline = tokio::time::Instant::now() + PATIENCE;
    for n in 1.. {
        assert!(
            tokio::time::Instant::now() < deadline,
            "no message crossed after NATS came back"
        );
        if one.publish(message(chan, thing(), None, n)).is_ok() {
            accepted += 1;
            let next = tokio::time::timeout(Duration::from_millis(200), remote.next()).await;
            if let Ok(got) = next {
                got.expect("the remote subscription outlives the outage");
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // This node's subscriber got exactly the accepted messages: none of the refused.
    for _ in 0..accepted {
        receive("an accepted message", &mut *local).await;
    }
    assert_quiet("refused messages", &mut *local).await;
}
