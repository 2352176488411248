//! The one path every adapter takes: authenticate (thing key → thing) → authorize (thing
//! connected to channel) → publish (STYLE.md §11).
//!
//! Adapters parse their protocol at the edge (`subtopic` for paths and topics) and call
//! `Pipeline::publish`; nothing else decides who may publish where. Authorization is read
//! from the `AuthzCache` projection on every call, never cached here, so a disconnect, a
//! key change or a removal refuses the very next publish once the projection has applied
//! it. The path does no I/O, no await and no allocation beyond the message itself.

use std::sync::Arc;

use bytes::Bytes;
use domain::ids::{ChannelId, KeyHash, ThingId};
use projections::AuthzCache;

use crate::bus::{BusError, MessageBus};
use crate::message::{ContentType, Message, MessageProperties, Protocol, now_ns};
use crate::subtopic::Subtopic;

/// Turns a presented thing key into the hash the authz cache is keyed by.
/// `commands::auth::KeyVault` is the real one (keyed HMAC); tests use a fake.
pub trait KeyHasher: Send + Sync + 'static {
    fn hash(&self, key: &str) -> KeyHash;
}

/// Why a publish (or subscribe) was refused. Each transport maps these once.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PublishError {
    /// No key, or a key no thing has (any more): HTTP 401, MQTT CONNACK "bad user name or
    /// password". Mainflux 0.11 answered 403, or 503 for a missing key.
    #[error("missing or invalid thing key")]
    Unauthenticated,
    /// A valid key whose thing is not connected to the channel (or the channel is gone):
    /// HTTP 403, MQTT "not authorized" (a PUBLISH is dropped and the connection closed).
    #[error("thing is not connected to the channel")]
    Forbidden,
    /// Authorized, but the bus did not take the message: HTTP 503, MQTT QoS 1 not
    /// acknowledged. The cause is logged, not shown to the client.
    #[error("message bus: {0}")]
    Bus(#[from] BusError),
}

/// What an adapter parsed from a request, before anyone is authenticated.
#[derive(Debug, Clone)]
pub struct Inbound {
    pub channel: ChannelId,
    pub subtopic: Option<Subtopic>,
    pub protocol: Protocol,
    pub content_type: Option<ContentType>,
    pub payload: Bytes,
    /// What else the publisher said (MQTT 5 only, so far); `None` for most messages.
    pub properties: Option<Arc<MessageProperties>>,
}

/// The authenticate → authorize → publish path, shared by every adapter. Cheap to clone.
#[derive(Clone)]
pub struct Pipeline {
    authz: Arc<AuthzCache>,
    hasher: Arc<dyn KeyHasher>,
    bus: Arc<dyn MessageBus>,
}

impl Pipeline {
    pub fn new(
        authz: Arc<AuthzCache>,
        hasher: Arc<dyn KeyHasher>,
        bus: Arc<dyn MessageBus>,
    ) -> Self {
        Self { authz, hasher, bus }
    }

    /// The bus the pipeline publishes to, for adapters that also subscribe.
    pub fn bus(&self) -> &Arc<dyn MessageBus> {
        &self.bus
    }

    /// The thing whose key this is. An empty key is refused without hashing it.
    pub fn authenticate(&self, key: &str) -> Result<ThingId, PublishError> {
        if key.is_empty() {
            return Err(PublishError::Unauthenticated);
        }
        self.authz
            .identify(&self.hasher.hash(key))
            .ok_or(PublishError::Unauthenticated)
    }

    /// Authenticates `key`, checks its thing may use the channel, and publishes with the
    /// thing as publisher and the reception time as `created`. Returns the publisher.
    pub fn publish(&self, key: &str, inbound: Inbound) -> Result<ThingId, PublishError> {
        let thing = self.authorize(key, inbound.channel)?;
        self.send(thing, inbound)?;
        Ok(thing)
    }

    /// Publishes for a thing authenticated earlier (an MQTT session, at CONNECT): checks
    /// only the connection, so a disconnect or removal still refuses at once. A key change
    /// must end such sessions; the adapter does that, not this call.
    pub fn publish_as(&self, thing: ThingId, inbound: Inbound) -> Result<(), PublishError> {
        self.check_access(thing, inbound.channel)?;
        self.send(thing, inbound)
    }

    /// May a thing authenticated earlier (an MQTT session) use `channel`? For a will or a
    /// subscription: the same rule as publishing, without publishing.
    pub fn check_access(&self, thing: ThingId, channel: ChannelId) -> Result<(), PublishError> {
        match self.authz.can_access(thing, channel) {
            true => Ok(()),
            false => Err(PublishError::Forbidden),
        }
    }

    /// May the thing with `key` use `channel` (publish, subscribe, read its messages)? One
    /// cache lookup when allowed; on refusal a second one tells 401 from 403, so an unknown
    /// key learns nothing about channels.
    pub fn authorize(&self, key: &str, channel: ChannelId) -> Result<ThingId, PublishError> {
        if key.is_empty() {
            return Err(PublishError::Unauthenticated);
        }
        let hash = self.hasher.hash(key);
        match self.authz.access_by_key(&hash, channel) {
            Some(thing) => Ok(thing),
            None if self.authz.identify(&hash).is_some() => Err(PublishError::Forbidden),
            None => Err(PublishError::Unauthenticated),
        }
    }

    fn send(&self, thing: ThingId, inbound: Inbound) -> Result<(), PublishError> {
        self.bus.publish(Message {
            channel: inbound.channel,
            subtopic: inbound.subtopic,
            publisher: thing,
            protocol: inbound.protocol,
            content_type: inbound.content_type,
            payload: inbound.payload,
            created: now_ns(),
            properties: inbound.properties,
        })?;
        Ok(())
    }
}
