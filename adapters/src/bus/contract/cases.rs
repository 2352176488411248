//! The contract cases, one public async function each (see `message_bus_contract_tests!`).

use std::collections::HashMap;
use std::sync::Arc;

use tokio::sync::watch;

use super::{BusFactory, assert_quiet, channel, check_for, message, patiently, receive, thing};
use crate::bus::{BusError, BusSubscription, ChannelFilter, MessageBus};
use crate::message::{ContentType, Message, Protocol};
use crate::subtopic::{Subtopic, SubtopicFilter};

async fn subscribe(
    bus: &Arc<dyn MessageBus>,
    filter: ChannelFilter,
    capacity: usize,
) -> Box<dyn BusSubscription> {
    patiently("subscribe", bus.subscribe(filter, capacity))
        .await
        .unwrap_or_else(|error| panic!("subscribe failed: {error}"))
}

fn publish(bus: &dyn MessageBus, message: Message) {
    bus.publish(message)
        .unwrap_or_else(|error| panic!("publish failed: {error}"));
}

fn filter(raw: &str) -> SubtopicFilter {
    SubtopicFilter::parse(raw).unwrap_or_else(|error| panic!("filter {raw:?}: {error}"))
}

pub async fn every_matching_subscriber_gets_each_message_once_in_order<F: BusFactory>(factory: &F) {
    const EACH: i64 = 200;
    let (publishing, receiving) = (factory.open().await, factory.open().await);
    let (chan, publishers) = (channel(), [thing(), thing()]);
    let mut subscriptions = [
        subscribe(&receiving, ChannelFilter::channel(chan), 1024).await,
        subscribe(&receiving, ChannelFilter::channel(chan), 1024).await,
        subscribe(&receiving, ChannelFilter::all(), 1024).await,
    ];
    let tasks: Vec<_> = publishers
        .into_iter()
        .map(|publisher| {
            let bus = Arc::clone(&publishing);
            tokio::spawn(async move {
                for n in 0..EACH {
                    publish(&*bus, message(chan, publisher, Some("a/b"), n));
                    tokio::task::yield_now().await;
                }
            })
        })
        .collect();
    for task in tasks {
        patiently("publisher", task).await.expect("publisher task");
    }
    publish(&*publishing, message(chan, publishers[0], None, EACH));
    for (i, subscription) in subscriptions.iter_mut().enumerate() {
        let mut next = HashMap::from(publishers.map(|publisher| (publisher, 0)));
        loop {
            let got = receive(&format!("subscriber {i}"), &mut **subscription).await;
            let expected = next.get_mut(&got.publisher).expect("a known publisher");
            assert_eq!(got.created, *expected, "subscriber {i}: order or duplicate");
            *expected += 1;
            if got.subtopic.is_none() {
                break;
            }
        }
        assert_eq!(next[&publishers[0]], EACH + 1, "subscriber {i}");
        assert_eq!(next[&publishers[1]], EACH, "subscriber {i}");
        assert_quiet(&format!("subscriber {i}"), &mut **subscription).await;
    }
}

pub async fn subtopic_filters_select_what_they_match<F: BusFactory>(factory: &F) {
    let (publishing, receiving) = (factory.open().await, factory.open().await);
    let (chan, publisher) = (channel(), thing());
    let sent = [
        None,
        Some("a"),
        Some("a.b"),
        Some("a.b.c"),
        Some("b"),
        Some("b.a"),
    ];
    // Each filter with the indices of `sent` it matches.
    let cases: [(Option<&str>, &[i64]); 8] = [
        (None, &[0, 1, 2, 3, 4, 5]),
        (Some(""), &[0]),
        (Some("a"), &[1]),
        (Some("a/+"), &[2]),
        (Some("a/#"), &[1, 2, 3]),
        (Some("a.>"), &[2, 3]),
        (Some("+/a"), &[5]),
        (Some("#"), &[0, 1, 2, 3, 4, 5]),
    ];
    let mut subscriptions = Vec::new();
    for (raw, _) in &cases {
        let mut wanted = ChannelFilter::channel(chan);
        wanted.subtopic = raw.map(filter);
        subscriptions.push(subscribe(&receiving, wanted, 64).await);
    }
    for (n, subtopic) in (0..).zip(sent) {
        publish(&*publishing, message(chan, publisher, subtopic, n));
    }
    for ((raw, expected), subscription) in cases.iter().zip(&mut subscriptions) {
        for &n in *expected {
            let got = receive(&format!("filter {raw:?}"), &mut **subscription).await;
            assert_eq!(got.created, n, "filter {raw:?}");
        }
        assert_quiet(&format!("filter {raw:?}"), &mut **subscription).await;
    }
}

pub async fn other_channels_receive_nothing<F: BusFactory>(factory: &F) {
    let (publishing, receiving) = (factory.open().await, factory.open().await);
    let (mine, other, publisher) = (channel(), channel(), thing());
    let mut exact = subscribe(&receiving, ChannelFilter::channel(mine), 64).await;
    let mut filtered = subscribe(
        &receiving,
        ChannelFilter::channel(mine).with_subtopic(filter("#")),
        64,
    )
    .await;
    for n in 0..20 {
        publish(&*publishing, message(other, publisher, Some("x"), n));
    }
    publish(&*publishing, message(mine, publisher, Some("x"), 20));
    for subscription in [&mut exact, &mut filtered] {
        let got = receive("own channel", &mut **subscription).await;
        assert_eq!((got.channel, got.created), (mine, 20));
        assert_quiet("own channel", &mut **subscription).await;
    }
}

/// On one handle: the exclusion is of what this node's adapters delivered themselves (a
/// network backend delivers what other nodes accepted to such subscriptions too).
pub async fn an_excluded_protocol_is_not_delivered<F: BusFactory>(factory: &F) {
    let bus = factory.open().await;
    let (publishing, receiving) = (&bus, &bus);
    let (mine, publisher) = (channel(), thing());
    let all = ChannelFilter::all().except(Protocol::Mqtt);
    let one = ChannelFilter::channel(mine).except(Protocol::Mqtt);
    let mut subscriptions = [
        subscribe(receiving, all, 64).await,
        subscribe(receiving, one, 64).await,
    ];
    for n in 0..5 {
        let mut over_mqtt = message(mine, publisher, None, n);
        over_mqtt.protocol = Protocol::Mqtt;
        publish(&**publishing, over_mqtt);
    }
    publish(&**publishing, message(mine, publisher, None, 5));
    for subscription in &mut subscriptions {
        let got = receive("other protocol", &mut **subscription).await;
        assert_eq!((got.protocol, got.created), (Protocol::Http, 5));
        assert_quiet("excluded protocol", &mut **subscription).await;
    }
}

pub async fn every_channel_subscriptions_see_every_channel<F: BusFactory>(factory: &F) {
    let (publishing, receiving) = (factory.open().await, factory.open().await);
    let channels = [channel(), channel(), channel()];
    let mut all = subscribe(&receiving, ChannelFilter::all(), 64).await;
    let only_b = ChannelFilter::all().with_subtopic(filter("b"));
    let mut b = subscribe(&receiving, only_b, 64).await;
    let publisher = thing();
    for (n, chan) in (0..).zip(channels) {
        publish(&*publishing, message(chan, publisher, Some("a"), 2 * n));
        publish(&*publishing, message(chan, publisher, Some("b"), 2 * n + 1));
    }
    for (n, chan) in (0..).zip(channels) {
        for m in [2 * n, 2 * n + 1] {
            let got = receive("all channels", &mut *all).await;
            assert_eq!((got.channel, got.created), (chan, m));
        }
        let got = receive("subtopic b, all channels", &mut *b).await;
        assert_eq!((got.channel, got.created), (chan, 2 * n + 1));
    }
    assert_quiet("all channels", &mut *all).await;
    assert_quiet("subtopic b, all channels", &mut *b).await;
}

pub async fn only_messages_after_subscribing_arrive<F: BusFactory>(factory: &F) {
    let bus = factory.open().await;
    let (chan, publisher) = (channel(), thing());
    publish(&*bus, message(chan, publisher, None, 0));
    let mut subscription = subscribe(&bus, ChannelFilter::channel(chan), 8).await;
    publish(&*bus, message(chan, publisher, None, 1));
    assert_eq!(
        receive("later message", &mut *subscription).await.created,
        1
    );
}

pub async fn message_fields_arrive_intact<F: BusFactory>(factory: &F) {
    let (publishing, receiving) = (factory.open().await, factory.open().await);
    let chan = channel();
    let mut subscription = subscribe(&receiving, ChannelFilter::channel(chan), 8).await;
    let sent = [
        (
            Protocol::Http,
            Some(ContentType::SenmlJson),
            &b"[{\"v\":1}]"[..],
        ),
        (
            Protocol::Mqtt,
            Some(ContentType::SenmlCbor),
            &[0x81, 0xa1, 0x02, 0x01][..],
        ),
        (
            Protocol::Ws,
            ContentType::parse("text/plain; charset=utf-8"),
            &[0, 255, 10][..],
        ),
        (Protocol::Coap, None, &[][..]),
    ];
    for (n, (protocol, content_type, payload)) in (0..).zip(sent) {
        let message = Message {
            channel: chan,
            subtopic: Subtopic::parse("/sensors/%C3%A9t%C3%A9").ok().flatten(),
            publisher: thing(),
            protocol,
            content_type,
            payload: bytes::Bytes::copy_from_slice(payload),
            created: 1_700_000_000_000_000_000 + n,
            // MQTT 5 properties travel with the message, on any backend.
            properties: (protocol == Protocol::Mqtt).then(|| {
                Arc::new(crate::message::MessageProperties {
                    utf8_payload: true,
                    response_topic: Some("channels/x/messages/reply".into()),
                    correlation_data: Some(bytes::Bytes::from_static(b"\x00id")),
                    user: vec![("k".into(), "v".into()), ("k".into(), "w".into())].into(),
                    expires_at: Some(1_800_000_000_000_000_000),
                    ..Default::default()
                })
            }),
        };
        publish(&*publishing, message.clone());
        assert_eq!(*receive("fields", &mut *subscription).await, message);
    }
}

pub async fn slow_subscriber_is_disconnected_without_stalling_others<F: BusFactory>(factory: &F) {
    const TOTAL: i64 = 2000;
    const SLOW_CAPACITY: usize = 8;
    let (publishing, receiving) = (factory.open().await, factory.open().await);
    let (chan, publisher) = (channel(), thing());
    let mut slow = subscribe(&receiving, ChannelFilter::channel(chan), SLOW_CAPACITY).await;
    let mut fast = subscribe(&receiving, ChannelFilter::channel(chan), 256).await;
    let (progress, mut seen) = watch::channel(0);
    let reader = tokio::spawn(async move {
        for n in 0..TOTAL {
            let got = receive("fast subscriber", &mut *fast).await;
            assert_eq!(got.created, n, "fast subscriber order");
            progress.send_replace(n + 1);
        }
    });
    // Publish in bursts the fast subscriber can absorb, while the slow one reads nothing:
    // the bus must neither wait for the slow one nor lose anything of the fast one's.
    for burst in (0..TOTAL).collect::<Vec<_>>().chunks(64) {
        for &n in burst {
            publish(&*publishing, message(chan, publisher, None, n));
        }
        let last = burst.last().copied().unwrap_or_default();
        patiently("fast subscriber catching up", seen.wait_for(|n| *n > last))
            .await
            .expect("fast reader alive");
    }
    patiently("fast subscriber", reader)
        .await
        .expect("fast reader");
    let mut drained = 0;
    let error = loop {
        match patiently("slow subscriber", slow.next()).await {
            Ok(got) => {
                assert_eq!(
                    got.created, drained,
                    "a lagged subscriber gets a gap-free prefix"
                );
                drained += 1;
            }
            Err(error) => break error,
        }
    };
    assert_eq!(error, BusError::Lagged);
    assert!(drained < TOTAL, "the slow subscriber cannot have kept up");
    check_for("slow subscriber counted", || {
        receiving.stats().dropped_slow_subscribers == 1
    })
    .await;
}

pub async fn dropped_subscriptions_are_removed<F: BusFactory>(factory: &F) {
    let bus = factory.open().await;
    let (chan, publisher) = (channel(), thing());
    let before = bus.stats().subscribers;
    let first = subscribe(&bus, ChannelFilter::channel(chan), 8).await;
    let mut second = subscribe(&bus, ChannelFilter::channel(chan), 8).await;
    let third = subscribe(&bus, ChannelFilter::all(), 8).await;
    assert_eq!(bus.stats().subscribers, before + 3);
    drop(first);
    check_for("one unsubscribed", || bus.stats().subscribers == before + 2).await;
    publish(&*bus, message(chan, publisher, None, 7));
    assert_eq!(
        receive("remaining subscriber", &mut *second).await.created,
        7
    );
    drop((second, third));
    check_for("all unsubscribed", || bus.stats().subscribers == before).await;
    publish(&*bus, message(chan, publisher, None, 8));
}

pub async fn stats_count_published_and_delivered<F: BusFactory>(factory: &F) {
    let bus = factory.open().await;
    let (chan, publisher) = (channel(), thing());
    let start = bus.stats();
    let mut one = subscribe(&bus, ChannelFilter::channel(chan), 8).await;
    let mut two = subscribe(
        &bus,
        ChannelFilter::channel(chan).with_subtopic(filter("a")),
        8,
    )
    .await;
    publish(&*bus, message(chan, publisher, Some("a"), 0));
    publish(&*bus, message(chan, publisher, Some("b"), 1));
    publish(&*bus, message(channel(), publisher, None, 2));
    receive("first", &mut *one).await;
    receive("first", &mut *one).await;
    receive("second", &mut *two).await;
    check_for("counters", || {
        let now = bus.stats();
        (
            now.published - start.published,
            now.delivered - start.delivered,
        ) == (3, 3)
    })
    .await;
}

pub async fn zero_capacity_is_refused<F: BusFactory>(factory: &F) {
    let bus = factory.open().await;
    let refused = patiently("subscribe", bus.subscribe(ChannelFilter::all(), 0)).await;
    assert!(
        matches!(refused, Err(BusError::Invalid(_))),
        "got {:?}",
        refused.err()
    );
}
