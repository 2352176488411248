//! The publish pipeline against a real `AuthzCache` fed by real domain events: who may
//! publish, what reaches the bus, and revocation taking effect on the very next publish.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use adapters::bus::contract::{patiently, receive};
use adapters::bus::{BusError, BusStats, BusSubscription, ChannelFilter, MemoryBus, MessageBus};
use adapters::message::{ContentType, Protocol, now_ns};
use adapters::pipeline::{Inbound, KeyHasher, Pipeline, PublishError};
use adapters::subtopic::Subtopic;
use async_trait::async_trait;
use bytes::Bytes;
use domain::Event;
use domain::envelope::RecordedEvent;
use domain::ids::{ChannelId, KeyHash, KeyMaterial, SealedKey, ThingId, UserId};
use projections::{AuthzCache, Projection};
use serde_json::json;
use uuid::Uuid;

/// A stand-in for `KeyVault::hash`: distinct short keys give distinct hashes. Counts
/// calls, so a test can see that an empty key is refused without hashing.
#[derive(Default)]
struct FakeHasher(AtomicUsize);

impl KeyHasher for FakeHasher {
    fn hash(&self, key: &str) -> KeyHash {
        self.0.fetch_add(1, Ordering::Relaxed);
        let mut hash = [0u8; 32];
        for (i, byte) in key.bytes().enumerate() {
            hash[i % 31] ^= byte.rotate_left(i as u32 / 31);
        }
        hash[31] = key.len() as u8;
        KeyHash(hash)
    }
}

/// A pipeline over an authz cache that the test drives with domain events.
struct World {
    authz: Arc<AuthzCache>,
    hasher: Arc<FakeHasher>,
    bus: MemoryBus,
    pipeline: Pipeline,
    owner: UserId,
    position: u64,
}

impl World {
    fn new() -> Self {
        Self::with_bus(MemoryBus::new(), None)
    }

    fn with_bus(bus: MemoryBus, other: Option<Arc<dyn MessageBus>>) -> Self {
        let authz = Arc::new(AuthzCache::default());
        let hasher = Arc::new(FakeHasher::default());
        let target = other.unwrap_or_else(|| Arc::new(bus.clone()));
        let pipeline = Pipeline::new(Arc::clone(&authz), hasher.clone(), target);
        let owner = UserId(Uuid::new_v4());
        Self {
            authz,
            hasher,
            bus,
            pipeline,
            owner,
            position: 0,
        }
    }

    /// Records `event` at the next position and applies it, as the projection runner does.
    fn apply(&mut self, event: Event) {
        self.position += 1;
        let recorded: RecordedEvent = serde_json::from_value(json!({
            "id": Uuid::now_v7(),
            "stream": "test",
            "version": self.position,
            "position": self.position,
            "type": event.kind(),
            "schema": 1,
            "occurred_at": "2024-05-01T12:00:00Z",
            "actor": self.owner.to_string(),
            "correlation_id": Uuid::new_v4(),
            "data": event.data(),
        }))
        .expect("a recorded event");
        self.authz.apply(&recorded, &event);
    }

    fn key_material(&self, key: &str) -> KeyMaterial {
        KeyMaterial {
            key_hash: self.hasher.hash(key),
            sealed_key: SealedKey("sealed".into()),
        }
    }

    fn thing(&mut self, key: &str) -> ThingId {
        let id = ThingId(Uuid::new_v4());
        let key = self.key_material(key);
        self.apply(Event::ThingCreated {
            id,
            owner: self.owner,
            name: None,
            metadata: None,
            key,
        });
        id
    }

    fn channel(&mut self) -> ChannelId {
        let id = ChannelId(Uuid::new_v4());
        self.apply(Event::ChannelCreated {
            id,
            owner: self.owner,
            name: None,
            metadata: None,
        });
        id
    }

    fn connected(&mut self, key: &str) -> (ThingId, ChannelId) {
        let (thing, channel) = (self.thing(key), self.channel());
        self.apply(Event::ThingConnected {
            channel_id: channel,
            thing_id: thing,
        });
        (thing, channel)
    }

    fn publish(&self, key: &str, channel: ChannelId) -> Result<ThingId, PublishError> {
        self.pipeline
            .publish(key, inbound(channel, Bytes::from_static(b"21.5")))
    }
}

fn inbound(channel: ChannelId, payload: Bytes) -> Inbound {
    Inbound {
        channel,
        subtopic: Subtopic::parse("room/1").ok().flatten(),
        protocol: Protocol::Http,
        content_type: Some(ContentType::SenmlJson),
        payload,
        properties: None,
    }
}

#[test]
fn unknown_or_missing_keys_are_unauthenticated() {
    let mut world = World::new();
    let (_, channel) = world.connected("right-key");
    assert_eq!(
        world.publish("wrong-key", channel),
        Err(PublishError::Unauthenticated)
    );
    let hashed = world.hasher.0.load(Ordering::Relaxed);
    assert_eq!(
        world.publish("", channel),
        Err(PublishError::Unauthenticated)
    );
    assert_eq!(
        world.hasher.0.load(Ordering::Relaxed),
        hashed,
        "empty key not hashed"
    );
    assert_eq!(
        world.pipeline.authenticate("wrong-key"),
        Err(PublishError::Unauthenticated)
    );
    assert_eq!(world.bus.stats().published, 0);
}

#[test]
fn a_thing_not_connected_is_forbidden() {
    let mut world = World::new();
    let thing = world.thing("key-1");
    let (_, other_channel) = world.connected("key-2");
    let unknown_channel = ChannelId(Uuid::new_v4());
    assert_eq!(world.pipeline.authenticate("key-1"), Ok(thing));
    for channel in [other_channel, unknown_channel] {
        assert_eq!(
            world.publish("key-1", channel),
            Err(PublishError::Forbidden)
        );
        assert_eq!(
            world.pipeline.authorize("key-1", channel),
            Err(PublishError::Forbidden)
        );
        let inbound = inbound(channel, Bytes::new());
        assert_eq!(
            world.pipeline.publish_as(thing, inbound),
            Err(PublishError::Forbidden)
        );
    }
    assert_eq!(world.bus.stats().published, 0);
}

#[tokio::test]
async fn a_connected_thing_publishes_as_itself() {
    let mut world = World::new();
    let (thing, channel) = world.connected("sensor-key");
    let mut subscription = world
        .bus
        .subscribe(ChannelFilter::channel(channel), 8)
        .await
        .expect("subscribe");
    let payload = Bytes::from(vec![1u8; 4096]);
    let before = now_ns();
    let publisher = world
        .pipeline
        .publish("sensor-key", inbound(channel, payload.clone()));
    let after = now_ns();
    assert_eq!(publisher, Ok(thing));
    let got = receive("published message", &mut *subscription).await;
    assert_eq!(
        (got.channel, got.publisher, got.protocol),
        (channel, thing, Protocol::Http)
    );
    assert_eq!(got.subtopic.as_ref().map(Subtopic::as_str), Some("room.1"));
    assert_eq!(got.content_type, Some(ContentType::SenmlJson));
    assert_eq!(got.payload.as_ptr(), payload.as_ptr(), "payload not copied");
    assert!(
        (before..=after).contains(&got.created),
        "created is the reception time"
    );
    assert_eq!(world.pipeline.authorize("sensor-key", channel), Ok(thing));
    let inbound = inbound(channel, Bytes::from_static(b"x"));
    assert_eq!(world.pipeline.publish_as(thing, inbound), Ok(()));
    assert_eq!(
        receive("publish_as", &mut *subscription).await.publisher,
        thing
    );
}

/// Each revoking event, applied after a successful publish, refuses the very next one.
#[test]
fn revocation_refuses_the_next_publish() {
    type Revoke = fn(&mut World, ThingId, ChannelId);
    let cases: [(&str, Revoke, PublishError); 4] = [
        (
            "disconnect",
            |w, thing, channel| {
                w.apply(Event::ThingDisconnected {
                    channel_id: channel,
                    thing_id: thing,
                })
            },
            PublishError::Forbidden,
        ),
        (
            "key change",
            |w, thing, _| {
                let key = w.key_material("new-key");
                w.apply(Event::ThingKeyUpdated { id: thing, key });
            },
            PublishError::Unauthenticated,
        ),
        (
            "thing removed",
            |w, thing, _| w.apply(Event::ThingRemoved { id: thing }),
            PublishError::Unauthenticated,
        ),
        (
            "channel removed",
            |w, _, channel| w.apply(Event::ChannelRemoved { id: channel }),
            PublishError::Forbidden,
        ),
    ];
    for (what, revoke, refusal) in cases {
        let mut world = World::new();
        let (thing, channel) = world.connected("old-key");
        assert_eq!(
            world.publish("old-key", channel),
            Ok(thing),
            "{what}: before"
        );
        revoke(&mut world, thing, channel);
        assert_eq!(
            world.publish("old-key", channel),
            Err(refusal.clone()),
            "{what}"
        );
        assert_eq!(
            world.pipeline.authorize("old-key", channel),
            Err(refusal),
            "{what}"
        );
        let inbound = inbound(channel, Bytes::new());
        let session = world.pipeline.publish_as(thing, inbound);
        let expected = if what == "key change" {
            Ok(())
        } else {
            Err(PublishError::Forbidden)
        };
        assert_eq!(session, expected, "{what}: an authenticated session");
        assert_eq!(
            world.bus.stats().published,
            1 + u64::from(what == "key change"),
            "{what}"
        );
    }
}

#[test]
fn a_changed_key_works_at_once() {
    let mut world = World::new();
    let (thing, channel) = world.connected("old-key");
    let key = world.key_material("new-key");
    world.apply(Event::ThingKeyUpdated { id: thing, key });
    assert_eq!(world.publish("new-key", channel), Ok(thing));
}

/// A bus that is down: the pipeline reports it as such, after authorizing.
struct DownBus;

#[async_trait]
impl MessageBus for DownBus {
    fn publish(&self, _: adapters::message::Message) -> Result<(), BusError> {
        Err(BusError::Unavailable("down".into()))
    }

    async fn subscribe(
        &self,
        _: ChannelFilter,
        _: usize,
    ) -> Result<Box<dyn BusSubscription>, BusError> {
        Err(BusError::Unavailable("down".into()))
    }

    fn stats(&self) -> BusStats {
        BusStats::default()
    }
}

#[tokio::test]
async fn bus_failures_are_reported_after_authorization() {
    let mut world = World::with_bus(MemoryBus::new(), Some(Arc::new(DownBus)));
    let (_, channel) = world.connected("key");
    let down = PublishError::Bus(BusError::Unavailable("down".into()));
    assert_eq!(world.publish("key", channel), Err(down));
    assert_eq!(
        world.publish("other", channel),
        Err(PublishError::Unauthenticated)
    );
    let subscribe = world.pipeline.bus().subscribe(ChannelFilter::all(), 1);
    assert!(patiently("subscribe", subscribe).await.is_err());
}
