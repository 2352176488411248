//! The MQTT rules, independent of the engine: who may connect, subscribe and publish, and
//! what a publish becomes on the bus. The broker calls these; the rules live here, apart
//! from the protocol machinery.

use std::sync::Arc;

use bytes::Bytes;
use domain::ids::{ChannelId, ThingId};

use super::presence::{PresenceFeed, PresenceKind};
use super::stats::MqttStats;
use crate::message::{ContentType, MessageProperties, Protocol};
use crate::pipeline::{Inbound, Pipeline, PublishError};
use crate::subtopic::{
    Subtopic, SubtopicFilter, TopicError, parse_publish_topic, parse_subscribe_topic,
};

/// Why a CONNECT is refused; each maps to one CONNACK code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ConnectRefusal {
    /// No username or password, an unknown key, or a key of another thing than the
    /// username names: "bad user name or password" (3.1.1 code 4, 5.0 0x86).
    #[error("bad user name or password")]
    BadCredentials,
    /// Valid credentials, but the will is on a topic the thing may not publish to:
    /// "not authorized" (3.1.1 code 5, 5.0 0x87).
    #[error("not authorized")]
    NotAuthorized,
}

/// Why a PUBLISH or SUBSCRIBE is refused. A refused PUBLISH closes the connection
/// (Mainflux); a refused SUBSCRIBE gets a SUBACK failure.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error(transparent)]
    Topic(#[from] TopicError),
    #[error(transparent)]
    Publish(#[from] PublishError),
}

/// The rules. Cheap to clone; shared by every session of one server.
#[derive(Clone)]
pub struct Gate {
    pipeline: Pipeline,
    stats: std::sync::Arc<MqttStats>,
    presence: PresenceFeed,
}

impl Gate {
    pub fn new(
        pipeline: Pipeline,
        stats: std::sync::Arc<MqttStats>,
        presence: PresenceFeed,
    ) -> Self {
        Self {
            pipeline,
            stats,
            presence,
        }
    }

    pub fn stats(&self) -> &MqttStats {
        &self.stats
    }

    /// CONNECT: username = thing id, password = thing key (Mainflux 0.11: the key's thing
    /// must be the username). A will must be on a topic the thing may publish to, since
    /// the engine publishes it later without asking.
    pub fn connect(
        &self,
        username: Option<&str>,
        password: Option<&[u8]>,
        will_topic: Option<&str>,
    ) -> Result<ThingId, ConnectRefusal> {
        let result = self.check_connect(username, password, will_topic);
        if result.is_err() {
            self.stats.count_connect_refused();
        }
        result
    }

    fn check_connect(
        &self,
        username: Option<&str>,
        password: Option<&[u8]>,
        will_topic: Option<&str>,
    ) -> Result<ThingId, ConnectRefusal> {
        let key = password
            .and_then(|p| std::str::from_utf8(p).ok())
            .ok_or(ConnectRefusal::BadCredentials)?;
        let username = username.ok_or(ConnectRefusal::BadCredentials)?;
        let thing = self
            .pipeline
            .authenticate(key)
            .map_err(|_| ConnectRefusal::BadCredentials)?;
        let mut canonical = [0u8; 36];
        if thing.0.hyphenated().encode_lower(&mut canonical) != username {
            return Err(ConnectRefusal::BadCredentials);
        }
        if let Some(topic) = will_topic {
            let (channel, _) =
                parse_publish_topic(topic).map_err(|_| ConnectRefusal::NotAuthorized)?;
            self.pipeline
                .check_access(thing, channel)
                .map_err(|_| ConnectRefusal::NotAuthorized)?;
        }
        Ok(thing)
    }

    /// A session of an authenticated thing started.
    pub fn connected(&self, thing: ThingId) {
        self.stats.count_connect();
        self.presence.publish(thing, PresenceKind::Connect);
    }

    /// A session of an authenticated thing ended (its client left, was dropped or closed).
    pub fn disconnected(&self, thing: ThingId) {
        self.stats.count_disconnect();
        self.presence.publish(thing, PresenceKind::Disconnect);
    }

    /// SUBSCRIBE: `channels/<id>/messages[/…]` of a channel the thing is connected to,
    /// wildcards only inside the subtopic.
    pub fn subscribe(
        &self,
        thing: ThingId,
        filter: &str,
    ) -> Result<(ChannelId, SubtopicFilter), Refusal> {
        let result = parse_subscribe_topic(filter)
            .map_err(Refusal::from)
            .and_then(|(channel, filter)| {
                self.pipeline.check_access(thing, channel)?;
                Ok((channel, filter))
            });
        if result.is_err() {
            self.stats.count_subscribe_refused();
        }
        result
    }

    /// PUBLISH: parse, authorize and hand to the bus with the thing as publisher and
    /// protocol `mqtt`, its MQTT 5 properties along (their content type, parsed, is the
    /// message's: `application/senml+json` is stored as SenML); returns where it went. The engine delivers the message to its own
    /// subscribers itself.
    pub fn publish(
        &self,
        thing: ThingId,
        topic: &str,
        payload: Bytes,
        properties: Option<Arc<MessageProperties>>,
    ) -> Result<(ChannelId, Option<Subtopic>), Refusal> {
        let result =
            parse_publish_topic(topic)
                .map_err(Refusal::from)
                .and_then(|(channel, subtopic)| {
                    let inbound = Inbound {
                        channel,
                        subtopic: subtopic.clone(),
                        protocol: Protocol::Mqtt,
                        content_type: properties
                            .as_ref()
                            .and_then(|p| p.content_type.as_deref())
                            .and_then(ContentType::parse),
                        payload,
                        properties,
                    };
                    self.pipeline.publish_as(thing, inbound)?;
                    Ok((channel, subtopic))
                });
        match &result {
            Ok(_) => self.stats.count_publish(),
            Err(_) => self.stats.count_publish_refused(),
        }
        result
    }
}
