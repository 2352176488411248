//! How a `Message` travels between nodes: one NATS message body, binary and versioned.
//!
//! Binary rather than JSON because every message of a cluster crosses it once per node: a
//! fixed layout is one allocation to write and a bounds-checked walk to read, and nothing
//! in it needs escaping. Layout (integers big-endian):
//!
//! ```text
//! version u8 (1) | channel [16] | publisher [16] | protocol u8 | created i64
//! | subtopic text16 (empty: none) | content type opt(text16)
//! | properties opt(utf8 u8, content type opt(text16), response topic opt(text16),
//!                  correlation opt(bytes32), expires opt(i64), count u16, count × (text16, text16))
//! | payload: the rest
//! ```
//!
//! `opt(x)` is a byte 0 (absent) or 1 followed by `x`; `text16` is a u16 length and UTF-8;
//! `bytes32` is a u32 length and bytes. A body that does not parse is refused whole: a node
//! running another version, or anything else publishing on our subjects, is no message.

use std::sync::Arc;

use bytes::{Buf, BufMut, Bytes, BytesMut};
use domain::ids::{ChannelId, ThingId};
use uuid::Uuid;

use crate::message::{ContentType, Message, MessageProperties, Protocol};
use crate::subtopic::Subtopic;

const VERSION: u8 = 1;

/// Why a body is no message; the inbound side counts and logs these.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    #[error("not a version {VERSION} message body")]
    Version,
    #[error("message body ends early")]
    Short,
    #[error("message body holds a bad {0}")]
    Bad(&'static str),
}

/// The body carrying `message` to the other nodes.
pub fn encode(message: &Message) -> Bytes {
    let properties = message.properties.as_deref();
    let mut out = BytesMut::with_capacity(
        64 + message.subtopic.as_ref().map_or(0, Subtopic::len)
            + properties.map_or(0, |p| 32 + 8 * p.user.len() + p.size())
            + message.payload.len(),
    );
    out.put_u8(VERSION);
    out.put_slice(message.channel.0.as_bytes());
    out.put_slice(message.publisher.0.as_bytes());
    out.put_u8(protocol_code(message.protocol));
    out.put_i64(message.created);
    put_text(
        &mut out,
        message.subtopic.as_ref().map_or("", Subtopic::as_str),
    );
    put_option(&mut out, message.content_type.as_ref(), |out, t| {
        put_text(out, t.as_str())
    });
    put_option(&mut out, properties, put_properties);
    out.put_slice(&message.payload);
    out.freeze()
}

/// The message `body` carries; its payload shares `body`'s bytes.
pub fn decode(mut body: Bytes) -> Result<Message, WireError> {
    if take_u8(&mut body)? != VERSION {
        return Err(WireError::Version);
    }
    let channel = ChannelId(take_uuid(&mut body)?);
    let publisher = ThingId(take_uuid(&mut body)?);
    let protocol = protocol_of(take_u8(&mut body)?)?;
    let created = take_i64(&mut body)?;
    let subtopic =
        Subtopic::parse(&take_text(&mut body)?).map_err(|_| WireError::Bad("subtopic"))?;
    let content_type = take_option(&mut body, |body| {
        ContentType::parse(&take_text(body)?).ok_or(WireError::Bad("content type"))
    })?;
    let properties = take_option(&mut body, take_properties)?.map(Arc::new);
    Ok(Message {
        channel,
        subtopic,
        publisher,
        protocol,
        content_type,
        payload: body,
        created,
        properties,
    })
}

fn protocol_code(protocol: Protocol) -> u8 {
    match protocol {
        Protocol::Http => 0,
        Protocol::Mqtt => 1,
        Protocol::Ws => 2,
        Protocol::Coap => 3,
    }
}

fn protocol_of(code: u8) -> Result<Protocol, WireError> {
    [Protocol::Http, Protocol::Mqtt, Protocol::Ws, Protocol::Coap]
        .into_iter()
        .find(|p| protocol_code(*p) == code)
        .ok_or(WireError::Bad("protocol"))
}

fn put_properties(out: &mut BytesMut, properties: &MessageProperties) {
    out.put_u8(u8::from(properties.utf8_payload));
    put_option(out, properties.content_type.as_deref(), put_text);
    put_option(out, properties.response_topic.as_deref(), put_text);
    put_option(out, properties.correlation_data.as_ref(), |out, data| {
        out.put_u32(len_u32(data.len()));
        out.put_slice(data);
    });
    put_option(out, properties.expires_at.as_ref(), |out, at| {
        out.put_i64(*at)
    });
    // MQTT bounds a packet, and so the pairs, far below these limits; the guards only keep
    // a bug from writing a body that reads back as something else.
    let pairs = &properties.user[..properties.user.len().min(usize::from(u16::MAX))];
    out.put_u16(len_u16(pairs.len()));
    for (name, value) in pairs {
        put_text(out, name);
        put_text(out, value);
    }
}

fn take_properties(body: &mut Bytes) -> Result<MessageProperties, WireError> {
    let utf8_payload = match take_u8(body)? {
        0 => false,
        1 => true,
        _ => return Err(WireError::Bad("payload format")),
    };
    let content_type = take_option(body, |body| Ok(take_text(body)?.into_boxed_str()))?;
    let response_topic = take_option(body, |body| Ok(take_text(body)?.into_boxed_str()))?;
    let correlation_data = take_option(body, |body| {
        let len = take_u32(body)? as usize;
        take_bytes(body, len)
    })?;
    let expires_at = take_option(body, take_i64)?;
    let count = take_u16(body)?;
    let user = (0..count)
        .map(|_| Ok((take_text(body)?.into(), take_text(body)?.into())))
        .collect::<Result<Box<[_]>, WireError>>()?;
    Ok(MessageProperties {
        utf8_payload,
        content_type,
        response_topic,
        correlation_data,
        user,
        expires_at,
    })
}

fn put_option<T>(out: &mut BytesMut, value: Option<T>, put: impl FnOnce(&mut BytesMut, T)) {
    match value {
        Some(value) => {
            out.put_u8(1);
            put(out, value);
        }
        None => out.put_u8(0),
    }
}

fn take_option<T>(
    body: &mut Bytes,
    take: impl FnOnce(&mut Bytes) -> Result<T, WireError>,
) -> Result<Option<T>, WireError> {
    match take_u8(body)? {
        0 => Ok(None),
        1 => take(body).map(Some),
        _ => Err(WireError::Bad("option tag")),
    }
}

/// Text longer than a u16 length can say is cut at a character boundary: nothing we carry
/// (topics, content types, user properties) may be that long in any protocol we speak.
fn put_text(out: &mut BytesMut, text: &str) {
    let mut end = text.len().min(usize::from(u16::MAX));
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    out.put_u16(len_u16(end));
    out.put_slice(&text.as_bytes()[..end]);
}

fn take_text(body: &mut Bytes) -> Result<String, WireError> {
    let len = usize::from(take_u16(body)?);
    let bytes = take_bytes(body, len)?;
    String::from_utf8(bytes.to_vec()).map_err(|_| WireError::Bad("text"))
}

fn take_bytes(body: &mut Bytes, len: usize) -> Result<Bytes, WireError> {
    if body.remaining() < len {
        return Err(WireError::Short);
    }
    Ok(body.split_to(len))
}

fn take_uuid(body: &mut Bytes) -> Result<Uuid, WireError> {
    let bytes = take_bytes(body, 16)?;
    Uuid::from_slice(&bytes).map_err(|_| WireError::Short)
}

fn take_u8(body: &mut Bytes) -> Result<u8, WireError> {
    body.try_get_u8().map_err(|_| WireError::Short)
}

fn take_u16(body: &mut Bytes) -> Result<u16, WireError> {
    body.try_get_u16().map_err(|_| WireError::Short)
}

fn take_u32(body: &mut Bytes) -> Result<u32, WireError> {
    body.try_get_u32().map_err(|_| WireError::Short)
}

fn take_i64(body: &mut Bytes) -> Result<i64, WireError> {
    body.try_get_i64().map_err(|_| WireError::Short)
}

fn len_u16(len: usize) -> u16 {
    u16::try_from(len).unwrap_or(u16::MAX)
}

fn len_u32(len: usize) -> u32 {
    u32::try_from(len).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn text() -> impl Strategy<Value = String> {
        "[a-zA-Z0-9 /é+;=-]{0,40}"
    }

    fn properties() -> impl Strategy<Value = MessageProperties> {
        (
            any::<bool>(),
            proptest::option::of(text()),
            proptest::option::of(text()),
            proptest::option::of(proptest::collection::vec(any::<u8>(), 0..40)),
            proptest::collection::vec((text(), text()), 0..5),
            proptest::option::of(any::<i64>()),
        )
            .prop_map(
                |(utf8, content_type, response, correlation, user, expires)| MessageProperties {
                    utf8_payload: utf8,
                    content_type: content_type.map(String::into_boxed_str),
                    response_topic: response.map(String::into_boxed_str),
                    correlation_data: correlation.map(Bytes::from),
                    user: user
                        .into_iter()
                        .map(|(k, v)| (k.into_boxed_str(), v.into_boxed_str()))
                        .collect(),
                    expires_at: expires,
                },
            )
    }

    fn message() -> impl Strategy<Value = Message> {
        (
            any::<u128>(),
            any::<u128>(),
            0..4u8,
            any::<i64>(),
            "([a-z0-9é]{1,8}/){0,3}",
            proptest::option::of("[a-z/+.;= -]{0,30}"),
            proptest::option::of(properties()),
            proptest::collection::vec(any::<u8>(), 0..200),
        )
            .prop_map(
                |(
                    channel,
                    publisher,
                    protocol,
                    created,
                    subtopic,
                    content_type,
                    props,
                    payload,
                )| {
                    Message {
                        channel: ChannelId(Uuid::from_u128(channel)),
                        subtopic: Subtopic::parse(&subtopic).expect("a valid subtopic"),
                        publisher: ThingId(Uuid::from_u128(publisher)),
                        protocol: protocol_of(protocol).expect("a protocol"),
                        content_type: content_type.as_deref().and_then(ContentType::parse),
                        payload: Bytes::from(payload),
                        created,
                        properties: props.map(Arc::new),
                    }
                },
            )
    }

    proptest! {
        #[test]
        fn every_message_reads_back_as_written(message in message()) {
            prop_assert_eq!(decode(encode(&message)), Ok(message));
        }

        #[test]
        fn any_body_reads_as_a_message_or_an_error(body in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = decode(Bytes::from(body));
        }

        #[test]
        fn a_body_cut_in_its_header_is_refused(message in message(), cut in 0usize..64) {
            let body = encode(&message);
            let header = body.len() - message.payload.len();
            let at = cut.min(header.saturating_sub(1));
            prop_assert!(decode(body.slice(..at)).is_err());
        }
    }

    #[test]
    fn another_version_is_refused() {
        let message = Message {
            channel: ChannelId(Uuid::nil()),
            subtopic: None,
            publisher: ThingId(Uuid::nil()),
            protocol: Protocol::Http,
            content_type: None,
            payload: Bytes::from_static(b"x"),
            created: 1,
            properties: None,
        };
        let mut body = encode(&message).to_vec();
        body[0] = 2;
        assert_eq!(decode(Bytes::from(body)), Err(WireError::Version));
    }
}
