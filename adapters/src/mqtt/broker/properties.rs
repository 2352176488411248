//! MQTT 5 message properties through the broker: read off a PUBLISH or will into the
//! protocol-neutral `MessageProperties` (owned, so nothing pins the read buffer), and
//! written onto a PUBLISH to a v5 subscriber, by hand like the rest of `wire`.
//!
//! Only what a subscriber must get as published is carried (payload format, content
//! type, response topic, correlation data, user properties, expiry); topic aliases and
//! subscription identifiers belong to one connection and are written per delivery.

use std::num::{NonZeroU16, NonZeroU32};
use std::sync::Arc;

use bytes::{BufMut, Bytes, BytesMut};
use rmqtt_codec::v5::{PublishProperties, UserProperties};

use super::wire::put_length;
use crate::message::MessageProperties;
use crate::message_properties::expiry_deadline;

const PAYLOAD_FORMAT: u8 = 0x01;
const MESSAGE_EXPIRY: u8 = 0x02;
const CONTENT_TYPE: u8 = 0x03;
const RESPONSE_TOPIC: u8 = 0x08;
const CORRELATION_DATA: u8 = 0x09;
const SUBSCRIPTION_ID: u8 = 0x0B;
const TOPIC_ALIAS: u8 = 0x23;
const USER_PROPERTY: u8 = 0x26;

/// The parts of a publication's properties that travel with it, before its expiry is
/// known (a will's expiry counts from when it is published, not from CONNECT).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct Carried {
    pub properties: MessageProperties,
    pub expiry_secs: Option<NonZeroU32>,
}

impl Carried {
    /// A PUBLISH's properties, as the message carries them from now on (`now` is read only
    /// for a message that expires).
    pub fn of_publish(
        p: &PublishProperties,
        now: impl FnOnce() -> i64,
    ) -> Option<Arc<MessageProperties>> {
        Self::read(
            p.is_utf8_payload,
            p.content_type.as_deref(),
            p.response_topic.as_deref(),
            p.correlation_data.as_ref(),
            &p.user_properties,
            p.message_expiry_interval,
        )
        .at(now)
    }

    /// Owned copies of what the client sent. The content type is always kept as written:
    /// `Message::content_type` holds its parsed form, which may be spelled differently.
    pub fn read(
        utf8_payload: bool,
        content_type: Option<&str>,
        response_topic: Option<&str>,
        correlation_data: Option<&Bytes>,
        user: &UserProperties,
        expiry_secs: Option<NonZeroU32>,
    ) -> Self {
        Self {
            properties: MessageProperties {
                utf8_payload,
                content_type: content_type.map(Box::from),
                response_topic: response_topic.map(Box::from),
                correlation_data: correlation_data.map(|d| Bytes::copy_from_slice(d)),
                user: user
                    .iter()
                    .map(|(k, v)| (Box::from(&**k), Box::from(&**v)))
                    .collect(),
                expires_at: None,
            },
            expiry_secs,
        }
    }

    /// What the message carries when published now; `None` when there is nothing, so that
    /// a message without properties allocates nothing.
    pub fn at(self, now: impl FnOnce() -> i64) -> Option<Arc<MessageProperties>> {
        if self.properties.is_empty() && self.expiry_secs.is_none() {
            return None;
        }
        let mut properties = self.properties;
        properties.expires_at = self.expiry_secs.map(|s| expiry_deadline(now(), s.get()));
        Some(Arc::new(properties))
    }
}

/// What one delivery writes in its property list.
pub(super) struct Written<'a> {
    pub properties: Option<&'a MessageProperties>,
    /// The remaining lifetime, for a message that expires.
    pub expiry_secs: Option<u32>,
    pub subscription_ids: &'a [NonZeroU32],
    pub topic_alias: Option<NonZeroU16>,
}

impl Written<'_> {
    /// The property list's length, without its own length prefix.
    pub fn len(&self) -> usize {
        let string = |s: &str| 3 + s.len();
        let mut len = self
            .subscription_ids
            .iter()
            .map(|id| 1 + varint_len(id.get()))
            .sum();
        len += self.expiry_secs.map_or(0, |_| 5) + self.topic_alias.map_or(0, |_| 3);
        if let Some(p) = self.properties {
            len += usize::from(p.utf8_payload) * 2;
            len += p.content_type.as_deref().map_or(0, string);
            len += p.response_topic.as_deref().map_or(0, string);
            len += p.correlation_data.as_ref().map_or(0, |d| 3 + d.len());
            len += p
                .user
                .iter()
                .map(|(k, v)| 1 + 2 + k.len() + 2 + v.len())
                .sum::<usize>();
        }
        len
    }

    /// Writes the property list, length prefix first.
    pub fn put(&self, out: &mut BytesMut) {
        put_length(out, self.len());
        if let Some(alias) = self.topic_alias {
            out.put_u8(TOPIC_ALIAS);
            out.put_u16(alias.get());
        }
        if let Some(secs) = self.expiry_secs {
            out.put_u8(MESSAGE_EXPIRY);
            out.put_u32(secs);
        }
        for id in self.subscription_ids {
            out.put_u8(SUBSCRIPTION_ID);
            put_length(out, id.get() as usize);
        }
        let Some(p) = self.properties else {
            return;
        };
        if p.utf8_payload {
            out.put_slice(&[PAYLOAD_FORMAT, 1]);
        }
        put_string(out, CONTENT_TYPE, p.content_type.as_deref());
        put_string(out, RESPONSE_TOPIC, p.response_topic.as_deref());
        if let Some(data) = &p.correlation_data {
            out.put_u8(CORRELATION_DATA);
            put_bytes(out, data);
        }
        for (name, value) in &p.user {
            out.put_u8(USER_PROPERTY);
            put_bytes(out, name.as_bytes());
            put_bytes(out, value.as_bytes());
        }
    }
}

/// Lengths of MQTT strings and binaries are 16 bits: what we write came in as one, so it fits.
fn put_bytes(out: &mut BytesMut, bytes: &[u8]) {
    out.put_u16(bytes.len() as u16);
    out.put_slice(bytes);
}

fn put_string(out: &mut BytesMut, id: u8, text: Option<&str>) {
    if let Some(text) = text {
        out.put_u8(id);
        put_bytes(out, text.as_bytes());
    }
}

/// The bytes of MQTT's variable-length integer for `n`.
pub(super) fn varint_len(n: u32) -> usize {
    match n {
        0..=127 => 1,
        128..=16_383 => 2,
        16_384..=2_097_151 => 3,
        _ => 4,
    }
}

#[cfg(test)]
mod tests {
    use bytestring::ByteString;
    use rmqtt_codec::types::QoS;
    use rmqtt_codec::{v3, v5};
    use tokio_util::codec::Decoder;

    use super::super::inbound::Received;
    use super::super::wire::{OutgoingRef, Wire};
    use super::*;

    fn published() -> PublishProperties {
        PublishProperties {
            content_type: Some("application/senml+json; charset=utf-8".into()),
            response_topic: Some("channels/x/messages/reply".into()),
            correlation_data: Some(Bytes::from_static(b"\x00\xff")),
            user_properties: vec![
                (ByteString::from("a"), ByteString::from("2")),
                (ByteString::from("a"), ByteString::from("")),
            ],
            is_utf8_payload: true,
            message_expiry_interval: NonZeroU32::new(6),
            ..PublishProperties::default()
        }
    }

    /// What a publisher sets comes out of our hand-written PUBLISH as the codec reads it,
    /// with the lifetime left, this connection's alias and subscription ids.
    #[test]
    fn properties_read_off_a_publish_are_written_back_as_sent() {
        let carried = Carried::of_publish(&published(), || 0).unwrap();
        assert_eq!(carried.expires_at, Some(6_000_000_000));
        let ids = [
            NonZeroU32::new(1).unwrap(),
            NonZeroU32::new(300_000).unwrap(),
        ];
        let message = OutgoingRef {
            topic: "channels/x/messages/a",
            payload: b"[]",
            qos: QoS::AtLeastOnce,
            retain: false,
            dup: false,
            packet_id: NonZeroU16::new(9),
            properties: Written {
                properties: Some(&carried),
                expiry_secs: Some(4),
                subscription_ids: &ids,
                topic_alias: NonZeroU16::new(3),
            },
        };
        let wire = Wire::V5(v5::Codec::new(0, 0));
        let mut out = BytesMut::new();
        wire.publish(&mut out, &message);
        assert_eq!(out.len(), wire.publish_size(&message));
        // The codec itself: `Wire::read` refuses what only a server may send (ids).
        let Some((v5::Packet::Publish(read), _)) = v5::Codec::new(0, 0).decode(&mut out).unwrap()
        else {
            panic!("not a publish");
        };
        let expected = PublishProperties {
            message_expiry_interval: NonZeroU32::new(4),
            topic_alias: NonZeroU16::new(3),
            subscription_ids: ids.to_vec(),
            ..published()
        };
        assert_eq!(read.properties, Some(expected));
        assert_eq!(&read.payload[..], b"[]");

        let mut v3 = Wire::V3(v3::Codec::new(0));
        v3.publish(&mut out, &message);
        let Some(Received::Publish(read)) = v3.read(&mut out, 0).unwrap() else {
            panic!("not a publish");
        };
        assert_eq!(read.properties, None, "MQTT 3.1.1 has no properties");
        assert_eq!(&read.payload[..], b"[]");
    }

    #[test]
    fn a_publish_without_properties_carries_nothing() {
        let none = PublishProperties::default();
        assert_eq!(Carried::of_publish(&none, || panic!("no clock read")), None);
    }
}
