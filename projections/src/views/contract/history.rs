//! Builds event histories for the contract cases, with ids a test can name and order.

use domain::Event;
use domain::envelope::RecordedEvent;
use domain::ids::{ChannelId, KeyHash, KeyMaterial, PasswordHash, SealedKey, ThingId, UserId};
use domain::values::Metadata;
use time::OffsetDateTime;
use uuid::Uuid;

/// Events with dense positions from 1, as a log would record them.
#[derive(Debug, Clone, Default)]
pub struct History {
    pub events: Vec<(RecordedEvent, Event)>,
}

pub fn user(n: u128) -> UserId {
    UserId(Uuid::from_u128(0x1000_0000 + n))
}

/// Thing ids sort by `n`.
pub fn thing(n: u128) -> ThingId {
    ThingId(Uuid::from_u128(0x2000_0000 + n))
}

pub fn channel(n: u128) -> ChannelId {
    ChannelId(Uuid::from_u128(0x3000_0000 + n))
}

pub fn metadata(json: serde_json::Value) -> Metadata {
    serde_json::from_value(json).expect("metadata")
}

fn key(n: u8) -> KeyMaterial {
    KeyMaterial {
        key_hash: KeyHash([n; 32]),
        sealed_key: SealedKey(format!("sealed-{n}")),
    }
}

impl History {
    /// Appends an event; returns its position.
    pub fn push(&mut self, event: Event) -> u64 {
        let position = self.events.len() as u64 + 1;
        let recorded = RecordedEvent {
            id: Uuid::now_v7(),
            stream: "contract".into(),
            version: position,
            position,
            kind: event.kind().to_owned(),
            schema: domain::event::SCHEMA_VERSION,
            occurred_at: OffsetDateTime::UNIX_EPOCH,
            actor: None,
            correlation_id: Uuid::nil(),
            data: event.data(),
        };
        self.events.push((recorded, event));
        position
    }

    pub fn last(&self) -> u64 {
        self.events.len() as u64
    }

    pub fn register(&mut self, id: UserId, email: &str) -> u64 {
        self.push(Event::UserRegistered {
            id,
            email: email.into(),
            password_hash: PasswordHash(format!("hash-of-{email}")),
            metadata: None,
        })
    }

    pub fn thing(&mut self, owner: UserId, id: ThingId, name: Option<&str>) -> u64 {
        self.thing_with(owner, id, name, None)
    }

    pub fn thing_with(
        &mut self,
        owner: UserId,
        id: ThingId,
        name: Option<&str>,
        meta: Option<Metadata>,
    ) -> u64 {
        self.push(Event::ThingCreated {
            id,
            owner,
            name: name.map(str::to_owned),
            metadata: meta,
            key: key(id.0.as_u128() as u8),
        })
    }

    pub fn channel(&mut self, owner: UserId, id: ChannelId, name: Option<&str>) -> u64 {
        self.channel_with(owner, id, name, None)
    }

    pub fn channel_with(
        &mut self,
        owner: UserId,
        id: ChannelId,
        name: Option<&str>,
        meta: Option<Metadata>,
    ) -> u64 {
        self.push(Event::ChannelCreated {
            id,
            owner,
            name: name.map(str::to_owned),
            metadata: meta,
        })
    }

    pub fn connect(&mut self, channel_id: ChannelId, thing_id: ThingId) -> u64 {
        self.push(Event::ThingConnected {
            channel_id,
            thing_id,
        })
    }

    pub fn disconnect(&mut self, channel_id: ChannelId, thing_id: ThingId) -> u64 {
        self.push(Event::ThingDisconnected {
            channel_id,
            thing_id,
        })
    }

    pub fn rekey(&mut self, id: ThingId, n: u8) -> u64 {
        self.push(Event::ThingKeyUpdated { id, key: key(n) })
    }

    /// A device's fetch with `external_id`; `unknown` when no config had it.
    pub fn fetch(&mut self, external_id: &str, unknown: bool) -> u64 {
        self.push(Event::ThingBootstrapped {
            external_id: external_id.into(),
            success: false,
            unknown,
        })
    }

    /// A bootstrap config of `thing`; its external key material is `key(n)` for the
    /// thing's `n`, so a test can tell which config a lookup found.
    pub fn config(
        &mut self,
        owner: UserId,
        thing: ThingId,
        external_id: &str,
        channels: &[ChannelId],
    ) -> u64 {
        self.push(Event::ConfigCreated {
            thing_id: thing,
            owner,
            external_id: external_id.into(),
            external_key: key(thing.0.as_u128() as u8 ^ 0x80),
            name: Some(format!("config {external_id}")),
            content: Some("{}".into()),
            channels: channels.to_vec(),
            client_cert: None,
            client_key: None,
            ca_cert: None,
        })
    }
}
