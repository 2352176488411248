//! MQTT 3.1.1 and 5 on the wire: packets are read with rmqtt-codec and turned into the few
//! shapes the broker acts on, so the session logic is written once for both versions.
//! What the broker sends is small and fixed, so it is written here by hand (no packet
//! struct, no allocation per message); only the v5 CONNACK, with its properties, goes
//! through the codec.

use std::num::{NonZeroU16, NonZeroU32};

use bytes::{BufMut, Bytes, BytesMut};
use bytestring::ByteString;
use rmqtt_codec::error::DecodeError;
use rmqtt_codec::types::{Publish, QoS};
use rmqtt_codec::version::{ProtocolVersion, VersionCodec};
use rmqtt_codec::{v3, v5};
use tokio_util::codec::{Decoder, Encoder};

/// One client's protocol version and its packet reader.
pub(super) enum Wire {
    V3(v3::Codec),
    V5(v5::Codec),
}

/// A CONNECT, whatever the version.
pub(super) struct Connect {
    pub client_id: ByteString,
    pub username: Option<ByteString>,
    pub password: Option<Bytes>,
    pub clean_start: bool,
    pub keep_alive: u16,
    /// v5 only: how long the session outlives the connection (v3: persistent iff not clean).
    pub session_expiry: Option<u32>,
    /// v5 only: how many QoS 1 messages the client takes unacknowledged.
    pub receive_max: Option<NonZeroU16>,
    /// v5 only: the largest packet the client accepts.
    pub max_packet_size: Option<NonZeroU32>,
    pub will: Option<Will>,
}

#[derive(Clone)]
pub(super) struct Will {
    pub topic: ByteString,
    pub payload: Bytes,
    pub qos: QoS,
    pub retain: bool,
    pub content_type: Option<ByteString>,
}

impl Will {
    /// A copy that owns its bytes. What the codec decodes shares the read buffer the
    /// packet came in; a will lives as long as the connection and must not pin it.
    pub fn owned(&self) -> Will {
        Will {
            topic: ByteString::from(&*self.topic),
            payload: Bytes::copy_from_slice(&self.payload),
            qos: self.qos,
            retain: self.retain,
            content_type: self.content_type.as_deref().map(ByteString::from),
        }
    }
}

/// One SUBSCRIBE topic filter with its options (v3: QoS only).
pub(super) struct Filter {
    pub topic: ByteString,
    pub qos: QoS,
    pub no_local: bool,
    pub retain_as_published: bool,
    /// v5 retain handling 2: no retained messages at subscribe.
    pub skip_retained: bool,
}

/// What a client sent after CONNECT.
pub(super) enum Received {
    Publish(Box<Publish>),
    PubAck(NonZeroU16),
    PubRel(NonZeroU16),
    Subscribe {
        packet_id: NonZeroU16,
        filters: Vec<Filter>,
    },
    Unsubscribe {
        packet_id: NonZeroU16,
        filters: Vec<ByteString>,
    },
    Ping,
    Disconnect {
        keep_will: bool,
        session_expiry: Option<u32>,
    },
    /// PUBREC/PUBCOMP (the broker never sends QoS 2), AUTH, a second CONNECT, or a packet
    /// only a server sends: the connection is closed.
    Unexpected,
}

/// Why a CONNECT is refused, as CONNACK codes of each version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ConnackRefusal {
    BadCredentials,
    NotAuthorized,
    IdentifierRejected,
}

/// The broker's side of a CONNACK.
pub(super) struct Accepted {
    pub session_present: bool,
    pub assigned_client_id: Option<ByteString>,
    pub max_packet_size: u32,
    pub receive_max: NonZeroU16,
    pub session_expiry: Option<u32>,
}

/// v5 DISCONNECT reasons the broker sends before it closes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Goodbye {
    NotAuthorized = 0x87,
    SessionTakenOver = 0x8E,
    KeepAliveTimeout = 0x8D,
    ServerShuttingDown = 0x8B,
    AdministrativeAction = 0x98,
    MalformedPacket = 0x81,
    ProtocolError = 0x82,
    PacketTooLarge = 0x95,
}

/// The first packet of a connection.
pub(super) enum Hello {
    Connect(Wire, Box<Connect>),
    /// No client id and no clean start: no session could ever be resumed under it, so the
    /// codec refuses it and we answer "identifier rejected" (MQTT-3.1.3-8).
    NoClientId(Wire),
}

/// Reads the CONNECT at the start of `input`: `Ok(None)` until it is complete.
/// The codecs consume a partial packet's header, so nothing is decoded until the whole
/// CONNECT is in.
pub(super) fn read_connect(
    input: &mut BytesMut,
    max_packet_size: u32,
) -> Result<Option<Hello>, DecodeError> {
    match packet_length(input)? {
        Some(length) if length > max_packet_size as usize => {
            return Err(DecodeError::MaxSizeExceeded {
                size: length as u32,
                max: max_packet_size,
            });
        }
        Some(length) if input.len() >= length => {}
        _ => return Ok(None),
    }
    let Some(version) = VersionCodec.decode(input)? else {
        return Ok(None);
    };
    let mut wire = match version {
        ProtocolVersion::MQTT3 => Wire::V3(v3::Codec::new(max_packet_size)),
        ProtocolVersion::MQTT5 => Wire::V5(v5::Codec::new(max_packet_size, 0)),
    };
    let decoded = match &mut wire {
        Wire::V3(codec) => codec.decode(input).map(|p| match p {
            Some((v3::Packet::Connect(c), _)) => Some(from_v3(*c)),
            _ => None,
        }),
        Wire::V5(codec) => codec.decode(input).map(|p| match p {
            Some((v5::Packet::Connect(c), _)) => Some(from_v5(*c)),
            _ => None,
        }),
    };
    match decoded {
        Ok(Some(connect)) => Ok(Some(Hello::Connect(wire, Box::new(connect)))),
        // The whole packet was there: not a CONNECT.
        Ok(None) => Err(DecodeError::UnsupportedPacketType),
        Err(DecodeError::InvalidClientId) => Ok(Some(Hello::NoClientId(wire))),
        Err(e) => Err(e),
    }
}

fn from_v3(c: v3::Connect) -> Connect {
    Connect {
        client_id: c.client_id,
        username: c.username,
        password: c.password,
        clean_start: c.clean_session,
        keep_alive: c.keep_alive,
        session_expiry: None,
        receive_max: None,
        max_packet_size: None,
        will: c.last_will.map(|w| Will {
            topic: w.topic,
            payload: w.message,
            qos: w.qos,
            retain: w.retain,
            content_type: None,
        }),
    }
}

fn from_v5(c: v5::Connect) -> Connect {
    Connect {
        client_id: c.client_id,
        username: c.username,
        password: c.password,
        clean_start: c.clean_start,
        keep_alive: c.keep_alive,
        session_expiry: Some(c.session_expiry_interval_secs),
        receive_max: c.receive_max,
        max_packet_size: c.max_packet_size,
        will: c.last_will.map(|w| Will {
            topic: w.topic,
            payload: w.message,
            qos: w.qos,
            retain: w.retain,
            content_type: w.content_type,
        }),
    }
}

impl Wire {
    pub fn is_v5(&self) -> bool {
        matches!(self, Wire::V5(_))
    }

    /// The next complete packet in `input`, if any.
    pub fn read(&mut self, input: &mut BytesMut) -> Result<Option<Received>, DecodeError> {
        Ok(match self {
            Wire::V3(codec) => codec.decode(input)?.map(|(p, _)| from_v3_packet(p)),
            Wire::V5(codec) => codec.decode(input)?.map(|(p, _)| from_v5_packet(p)),
        })
    }

    pub fn connack_refused(&self, out: &mut BytesMut, refusal: ConnackRefusal) {
        let code = match (self, refusal) {
            (Wire::V3(_), ConnackRefusal::IdentifierRejected) => 2,
            (Wire::V3(_), ConnackRefusal::BadCredentials) => 4,
            (Wire::V3(_), ConnackRefusal::NotAuthorized) => 5,
            (Wire::V5(_), ConnackRefusal::IdentifierRejected) => 0x85,
            (Wire::V5(_), ConnackRefusal::BadCredentials) => 0x86,
            (Wire::V5(_), ConnackRefusal::NotAuthorized) => 0x87,
        };
        match self {
            Wire::V3(_) => out.put_slice(&[0x20, 2, 0, code]),
            // No properties: a refusal needs none.
            Wire::V5(_) => out.put_slice(&[0x20, 3, 0, code, 0]),
        }
    }

    pub fn connack(&mut self, out: &mut BytesMut, accepted: Accepted) {
        match self {
            Wire::V3(_) => out.put_slice(&[0x20, 2, u8::from(accepted.session_present), 0]),
            Wire::V5(codec) => {
                let ack = v5::ConnectAck {
                    session_present: accepted.session_present,
                    session_expiry_interval_secs: accepted.session_expiry,
                    receive_max: accepted.receive_max,
                    max_qos: QoS::AtLeastOnce,
                    max_packet_size: Some(accepted.max_packet_size),
                    assigned_client_id: accepted.assigned_client_id,
                    topic_alias_max: 0,
                    subscription_identifiers_available: false,
                    shared_subscription_available: false,
                    ..Default::default()
                };
                // Infallible for a CONNACK without a size limit on what we send.
                let _ = codec.encode(v5::Packet::ConnectAck(Box::new(ack)), out);
            }
        }
    }

    /// A PUBLISH to a subscriber. v5 gets an empty property list.
    pub fn publish(&self, out: &mut BytesMut, message: &OutgoingRef<'_>) {
        let id_len = if message.packet_id.is_some() { 2 } else { 0 };
        let properties = usize::from(self.is_v5());
        let remaining = 2 + message.topic.len() + id_len + properties + message.payload.len();
        out.reserve(5 + remaining);
        out.put_u8(
            0x30 | u8::from(message.dup) << 3
                | u8::from(message.qos) << 1
                | u8::from(message.retain),
        );
        put_length(out, remaining);
        // Topics are bounded far below 64 KiB by the topic parser.
        out.put_u16(message.topic.len() as u16);
        out.put_slice(message.topic.as_bytes());
        if let Some(id) = message.packet_id {
            out.put_u16(id.get());
        }
        if self.is_v5() {
            out.put_u8(0);
        }
        out.put_slice(message.payload);
    }

    /// The size of that PUBLISH on the wire, to respect a v5 client's maximum.
    pub fn publish_size(&self, message: &OutgoingRef<'_>) -> usize {
        let remaining = 2 + message.topic.len() + 2 + 1 + message.payload.len();
        remaining + 5
    }

    /// PUBACK, PUBREC and PUBCOMP with success: the same four bytes in both versions.
    pub fn ack(&self, out: &mut BytesMut, kind: Ack, packet_id: NonZeroU16) {
        out.put_u8(kind as u8);
        out.put_u8(2);
        out.put_u16(packet_id.get());
    }

    /// SUBACK: a granted QoS or a failure per filter.
    pub fn suback(&self, out: &mut BytesMut, packet_id: NonZeroU16, granted: &[Option<QoS>]) {
        let properties = usize::from(self.is_v5());
        out.put_u8(0x90);
        put_length(out, 2 + properties + granted.len());
        out.put_u16(packet_id.get());
        if self.is_v5() {
            out.put_u8(0);
        }
        for qos in granted {
            out.put_u8(match (qos, self) {
                (Some(qos), _) => u8::from(*qos),
                (None, Wire::V3(_)) => 0x80,
                (None, Wire::V5(_)) => 0x87,
            });
        }
    }

    /// UNSUBACK; v5 answers "success" for each filter.
    pub fn unsuback(&self, out: &mut BytesMut, packet_id: NonZeroU16, filters: usize) {
        out.put_u8(0xB0);
        match self {
            Wire::V3(_) => {
                out.put_u8(2);
                out.put_u16(packet_id.get());
            }
            Wire::V5(_) => {
                put_length(out, 3 + filters);
                out.put_u16(packet_id.get());
                out.put_u8(0);
                out.put_bytes(0, filters);
            }
        }
    }

    pub fn pingresp(&self, out: &mut BytesMut) {
        out.put_slice(&[0xD0, 0]);
    }

    /// A v5 DISCONNECT telling why; v3 has no such packet, the socket just closes.
    pub fn goodbye(&self, out: &mut BytesMut, reason: Goodbye) {
        if self.is_v5() {
            out.put_slice(&[0xE0, 1, reason as u8]);
        }
    }
}

/// The acknowledgements the broker sends, by their first byte.
#[derive(Debug, Clone, Copy)]
pub(super) enum Ack {
    /// PUBACK: a QoS 1 PUBLISH was taken.
    Received = 0x40,
    /// PUBREC: a QoS 2 PUBLISH was taken (and will not be delivered twice).
    Recorded = 0x50,
    /// PUBCOMP: the answer to PUBREL, ending a QoS 2 exchange.
    Completed = 0x70,
}

/// A PUBLISH about to be written, borrowed from the session's queue.
pub(super) struct OutgoingRef<'a> {
    pub topic: &'a str,
    pub payload: &'a [u8],
    pub qos: QoS,
    pub retain: bool,
    pub dup: bool,
    pub packet_id: Option<NonZeroU16>,
}

/// The whole length of the packet starting `input` (fixed header included), once its
/// header is in.
fn packet_length(input: &[u8]) -> Result<Option<usize>, DecodeError> {
    let mut remaining = 0usize;
    for (i, byte) in input.iter().skip(1).take(4).enumerate() {
        remaining |= usize::from(byte & 0x7F) << (7 * i);
        if byte & 0x80 == 0 {
            return Ok(Some(1 + (i + 1) + remaining));
        }
    }
    if input.len() > 4 {
        return Err(DecodeError::InvalidLength);
    }
    Ok(None)
}

/// MQTT's variable-length integer ("remaining length").
fn put_length(out: &mut BytesMut, mut length: usize) {
    loop {
        let mut byte = (length % 128) as u8;
        length /= 128;
        if length > 0 {
            byte |= 0x80;
        }
        out.put_u8(byte);
        if length == 0 {
            return;
        }
    }
}

fn from_v3_packet(packet: v3::Packet) -> Received {
    match packet {
        v3::Packet::Publish(publish) => Received::Publish(publish),
        v3::Packet::PublishAck { packet_id } => Received::PubAck(packet_id),
        v3::Packet::PublishRelease { packet_id } => Received::PubRel(packet_id),
        v3::Packet::Subscribe {
            packet_id,
            topic_filters,
        } => Received::Subscribe {
            packet_id,
            filters: topic_filters
                .into_iter()
                .map(|(topic, qos)| Filter {
                    topic,
                    qos,
                    no_local: false,
                    retain_as_published: false,
                    skip_retained: false,
                })
                .collect(),
        },
        v3::Packet::Unsubscribe {
            packet_id,
            topic_filters,
        } => Received::Unsubscribe {
            packet_id,
            filters: topic_filters,
        },
        v3::Packet::PingRequest => Received::Ping,
        v3::Packet::Disconnect => Received::Disconnect {
            keep_will: false,
            session_expiry: None,
        },
        _ => Received::Unexpected,
    }
}

fn from_v5_packet(packet: v5::Packet) -> Received {
    match packet {
        v5::Packet::Publish(publish) => Received::Publish(publish),
        v5::Packet::PublishAck(ack) => Received::PubAck(ack.packet_id),
        v5::Packet::PublishRelease(ack) => Received::PubRel(ack.packet_id),
        v5::Packet::Subscribe(subscribe) => Received::Subscribe {
            packet_id: subscribe.packet_id,
            filters: subscribe
                .topic_filters
                .into_iter()
                .map(|(topic, options)| Filter {
                    topic,
                    qos: options.qos,
                    no_local: options.no_local,
                    retain_as_published: options.retain_as_published,
                    skip_retained: options.retain_handling == v5::RetainHandling::NoAtSubscribe,
                })
                .collect(),
        },
        v5::Packet::Unsubscribe(unsubscribe) => Received::Unsubscribe {
            packet_id: unsubscribe.packet_id,
            filters: unsubscribe.topic_filters,
        },
        v5::Packet::PingRequest => Received::Ping,
        v5::Packet::Disconnect(disconnect) => Received::Disconnect {
            keep_will: disconnect.reason_code
                == v5::DisconnectReasonCode::DisconnectWithWillMessage,
            session_expiry: disconnect.session_expiry_interval_secs,
        },
        _ => Received::Unexpected,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remaining_lengths_use_mqtt_varints() {
        for (length, expected) in [
            (0, vec![0]),
            (127, vec![0x7F]),
            (128, vec![0x80, 0x01]),
            (16_383, vec![0xFF, 0x7F]),
            (16_384, vec![0x80, 0x80, 0x01]),
        ] {
            let mut out = BytesMut::new();
            put_length(&mut out, length);
            assert_eq!(&out[..], &expected[..], "{length}");
        }
    }

    /// What we write by hand, the codec reads back as the same PUBLISH, in both versions.
    #[test]
    fn a_written_publish_reads_back_with_the_codec() {
        let message = OutgoingRef {
            topic: "channels/x/messages/a",
            payload: b"hello",
            qos: QoS::AtLeastOnce,
            retain: true,
            dup: true,
            packet_id: NonZeroU16::new(7),
        };
        for mut wire in [Wire::V3(v3::Codec::new(0)), Wire::V5(v5::Codec::new(0, 0))] {
            let mut out = BytesMut::new();
            wire.publish(&mut out, &message);
            let Some(Received::Publish(read)) = wire.read(&mut out).unwrap() else {
                panic!("not a publish");
            };
            assert_eq!(&read.topic[..], message.topic);
            assert_eq!(&read.payload[..], message.payload);
            assert_eq!(
                (read.qos, read.retain, read.dup),
                (QoS::AtLeastOnce, true, true)
            );
            assert_eq!(read.packet_id, message.packet_id);
            assert!(out.is_empty());
        }
    }
}
