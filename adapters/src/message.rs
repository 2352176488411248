//! The message envelope every adapter produces and every subscriber receives.
//!
//! A `Message` is built once per publish and then shared: the bus hands subscribers an
//! `Arc<Message>`, and the payload is a refcounted `Bytes`, so fan-out to any number of
//! subscribers never copies the payload (or anything else).

use std::fmt;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use domain::ids::{ChannelId, ThingId};

use crate::subtopic::Subtopic;

pub use crate::message_properties::MessageProperties;

/// The protocol a message arrived over, stored with it and filterable in the reader API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Protocol {
    Http,
    Mqtt,
    Ws,
    Coap,
}

impl Protocol {
    /// Mainflux's protocol names, as stored in `Message.protocol` and read back by readers.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Http => "http",
            Self::Mqtt => "mqtt",
            Self::Ws => "websocket",
            Self::Coap => "coap",
        }
    }

    /// The protocol named `name` (exactly as `as_str` writes it), if any.
    pub fn from_name(name: &str) -> Option<Self> {
        [Self::Http, Self::Mqtt, Self::Ws, Self::Coap]
            .into_iter()
            .find(|p| p.as_str() == name)
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A payload's media type. The SenML types the writer dispatches on are variants, so the
/// common case costs no allocation; anything else keeps the client's text, shared.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ContentType {
    /// `application/senml+json`
    SenmlJson,
    /// `application/senml+cbor`
    SenmlCbor,
    /// `application/json`
    Json,
    /// Any other type, verbatim (trimmed) as the client sent it.
    Other(Arc<str>),
}

impl ContentType {
    /// Reads a `Content-Type` header (or protocol equivalent). Known types match
    /// case-insensitively with parameters (`; charset=…`) ignored; an empty value is no type.
    pub fn parse(text: &str) -> Option<Self> {
        let text = text.trim();
        let essence = text.split(';').next().unwrap_or_default().trim();
        let known = [Self::SenmlJson, Self::SenmlCbor, Self::Json]
            .into_iter()
            .find(|known| known.as_str().eq_ignore_ascii_case(essence));
        match known {
            Some(known) => Some(known),
            None if text.is_empty() => None,
            None => Some(Self::Other(Arc::from(text))),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            Self::SenmlJson => "application/senml+json",
            Self::SenmlCbor => "application/senml+cbor",
            Self::Json => "application/json",
            Self::Other(text) => text,
        }
    }
}

impl fmt::Display for ContentType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One published message. Cloning is cheap (refcounts only) but the bus does not even
/// clone: it shares one `Arc<Message>` among all subscribers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub channel: ChannelId,
    /// Normalized (`a.b`); `None` when published to the channel itself.
    pub subtopic: Option<Subtopic>,
    /// The thing whose key authenticated the publish: set by the pipeline, never by a client.
    pub publisher: ThingId,
    pub protocol: Protocol,
    pub content_type: Option<ContentType>,
    pub payload: Bytes,
    /// Reception time at the adapter, in nanoseconds since the Unix epoch (Mainflux's
    /// `created`); SenML relative times are resolved against it.
    pub created: i64,
    /// MQTT 5 properties (response topic, user properties, expiry…), if the publisher set
    /// any: shared, and no allocation at all for the many messages without.
    pub properties: Option<Arc<MessageProperties>>,
}

impl Message {
    /// The bus subject (DESIGN.md §5): `channels.<channel>[.<subtopic>]`. The NATS
    /// backend publishes on it; writers subscribe to `channels.>`.
    pub fn subject(&self) -> String {
        let mut subject = String::with_capacity(
            "channels.".len() + 36 + self.subtopic.as_ref().map_or(0, |s| 1 + s.len()),
        );
        subject.push_str("channels.");
        let mut id = [0u8; 36];
        subject.push_str(self.channel.0.hyphenated().encode_lower(&mut id));
        if let Some(subtopic) = &self.subtopic {
            subject.push('.');
            subject.push_str(subtopic.as_str());
        }
        subject
    }
}

/// Now, in nanoseconds since the Unix epoch: the `created` of a message received now.
/// A clock before 1970 gives 0 and one past year 2262 saturates, rather than panicking.
pub fn now_ns() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| {
            i64::try_from(since.as_nanos()).unwrap_or(i64::MAX)
        })
}
