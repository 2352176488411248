//! What clients send, decoded: rmqtt-codec reads MQTT 3.1.1 and 5 packets, and they are
//! turned here into the few shapes the broker acts on, the same for both versions.

use std::num::{NonZeroU16, NonZeroU32};

use bytes::{Buf, Bytes, BytesMut};
use bytestring::ByteString;
use rmqtt_codec::error::DecodeError;
use rmqtt_codec::types::{Publish, QoS};
use rmqtt_codec::v5::RetainHandling;
use rmqtt_codec::version::{ProtocolVersion, VersionCodec};
use rmqtt_codec::{v3, v5};
use tokio_util::codec::Decoder;

use super::checks::{self, Level, Verdict};
use super::delivery::Acked;
use super::properties::Carried;
use super::wire::Wire;

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
    /// v5 only: how many topic aliases the client takes from us (0: none).
    pub topic_alias_max: u16,
    /// v5 only: whether the client takes reason strings beyond CONNACK and DISCONNECT.
    pub problem_info: bool,
    pub will: Option<Will>,
}

pub(super) struct Will {
    pub topic: ByteString,
    pub payload: Bytes,
    pub qos: QoS,
    pub retain: bool,
    /// v5: its message properties, owned already.
    pub carried: Carried,
    /// v5: seconds between the connection's end and the will's publication.
    pub delay_secs: u32,
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
            carried: self.carried.clone(),
            delay_secs: self.delay_secs,
        }
    }
}

/// One SUBSCRIBE topic filter with its options (v3: QoS only).
pub(super) struct Filter {
    /// v5: the SUBSCRIBE's subscription identifier (one for all its filters).
    pub id: Option<NonZeroU32>,
    pub topic: ByteString,
    pub qos: QoS,
    pub no_local: bool,
    pub retain_as_published: bool,
    /// v5 retain handling: retained messages at subscribe always (v3), only for a new
    /// subscription, or never.
    pub retain_handling: RetainHandling,
}

/// What a client sent after CONNECT (well formed: `checks` and the codec passed it).
pub(super) enum Received {
    Publish(Box<Publish>),
    /// PUBACK, PUBREC or PUBCOMP: a subscriber acknowledging a delivery (`delivery`).
    Acked(NonZeroU16, Acked),
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
    /// AUTH, a second CONNECT, a packet
    /// only a server sends, or one breaking a protocol rule (`checks::Verdict`): the
    /// connection is closed ("protocol error").
    Unexpected,
}

/// The first packet of a connection.
pub(super) enum Hello {
    Connect(Wire, Box<Connect>),
    /// No client id and no clean start: no session could ever be resumed under it, so the
    /// codec refuses it and we answer "identifier rejected" (MQTT-3.1.3-8).
    NoClientId(Wire),
    /// An MQTT CONNECT at a level we do not speak: "unacceptable protocol version".
    UnacceptableVersion,
}

/// Reads the CONNECT at the start of `input`: `Ok(None)` until it is complete.
/// The codecs consume a partial packet's header, so nothing is decoded until the whole
/// CONNECT is in.
pub(super) fn read_connect(
    input: &mut BytesMut,
    max_packet_size: u32,
) -> Result<Option<Hello>, DecodeError> {
    let (header, remaining) = match fixed_header(input)? {
        Some((header, remaining)) if header + remaining > max_packet_size as usize => {
            return Err(DecodeError::MaxSizeExceeded {
                size: (header + remaining) as u32,
                max: max_packet_size,
            });
        }
        Some((header, remaining)) if input.len() >= header + remaining => (header, remaining),
        _ => return Ok(None),
    };
    if input[0] == 0x10
        && checks::connect(&input[header..header + remaining])? == Level::Unacceptable
    {
        return Ok(Some(Hello::UnacceptableVersion));
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
        Ok(Some(connect)) => {
            checks::string(&connect.client_id)?;
            if let Some(will) = &connect.will {
                checks::string(&will.topic)?;
            }
            if let Some(username) = &connect.username {
                checks::string(username)?;
            }
            Ok(Some(Hello::Connect(wire, Box::new(connect))))
        }
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
        topic_alias_max: 0,
        problem_info: false,
        will: c.last_will.map(|w| Will {
            topic: w.topic,
            payload: w.message,
            qos: w.qos,
            retain: w.retain,
            carried: Carried::default(),
            delay_secs: 0,
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
        topic_alias_max: c.topic_alias_max,
        problem_info: c.request_problem_info,
        will: c.last_will.map(|w| Will {
            carried: Carried::read(
                w.is_utf8_payload.unwrap_or(false),
                w.content_type.as_deref(),
                w.response_topic.as_deref(),
                w.correlation_data.as_ref(),
                &w.user_properties,
                w.message_expiry_interval,
            ),
            delay_secs: w.will_delay_interval_sec.unwrap_or(0),
            topic: w.topic,
            payload: w.message,
            qos: w.qos,
            retain: w.retain,
        }),
    }
}

/// The fixed header's length and the remaining length of the packet starting `input`,
/// once its header is in.
fn fixed_header(input: &[u8]) -> Result<Option<(usize, usize)>, DecodeError> {
    let mut remaining = 0usize;
    for (i, byte) in input.iter().skip(1).take(4).enumerate() {
        remaining |= usize::from(byte & 0x7F) << (7 * i);
        if byte & 0x80 == 0 {
            return Ok(Some((i + 2, remaining)));
        }
    }
    if input.len() > 4 {
        return Err(DecodeError::InvalidLength);
    }
    Ok(None)
}

fn from_v3_packet(packet: v3::Packet) -> Received {
    match packet {
        v3::Packet::Publish(publish) => Received::Publish(publish),
        v3::Packet::PublishAck { packet_id } => Received::Acked(packet_id, Acked::Ack),
        v3::Packet::PublishRelease { packet_id } => Received::PubRel(packet_id),
        v3::Packet::PublishReceived { packet_id } => Received::Acked(packet_id, Acked::Received),
        v3::Packet::PublishComplete { packet_id } => Received::Acked(packet_id, Acked::Completed),
        v3::Packet::Subscribe {
            packet_id,
            topic_filters,
        } => Received::Subscribe {
            packet_id,
            filters: topic_filters
                .into_iter()
                .map(|(topic, qos)| Filter {
                    id: None,
                    topic,
                    qos,
                    no_local: false,
                    retain_as_published: false,
                    retain_handling: RetainHandling::AtSubscribe,
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
        v5::Packet::PublishAck(ack) => Received::Acked(ack.packet_id, Acked::Ack),
        v5::Packet::PublishRelease(ack) => Received::PubRel(ack.packet_id),
        v5::Packet::PublishReceived(ack) => match ack.reason_code as u8 {
            0x80.. => Received::Acked(ack.packet_id, Acked::Refused),
            _ => Received::Acked(ack.packet_id, Acked::Received),
        },
        v5::Packet::PublishComplete(ack) => Received::Acked(ack.packet_id, Acked::Completed),
        v5::Packet::Subscribe(subscribe) => Received::Subscribe {
            packet_id: subscribe.packet_id,
            filters: subscribe
                .topic_filters
                .into_iter()
                .map(|(topic, options)| Filter {
                    id: subscribe.id,
                    topic,
                    qos: options.qos,
                    no_local: options.no_local,
                    retain_as_published: options.retain_as_published,
                    retain_handling: options.retain_handling,
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

impl Wire {
    /// The next complete packet in `input`, if any. The codec only ever sees whole
    /// packets, so the rules it leaves out (`checks`) can be applied to the raw bytes first.
    pub fn read(
        &mut self,
        input: &mut BytesMut,
        max_packet_size: u32,
    ) -> Result<Option<Received>, DecodeError> {
        let Some((header, remaining)) = fixed_header(input)? else {
            return Ok(None);
        };
        if max_packet_size != 0 && remaining > max_packet_size as usize {
            return Err(DecodeError::MaxSizeExceeded {
                size: remaining as u32,
                max: max_packet_size,
            });
        }
        if input.len() < header + remaining {
            input.reserve(header + remaining - input.len());
            return Ok(None);
        }
        let body = &input[header..header + remaining];
        if checks::packet(input[0], body, self.is_v5())? == Verdict::ProtocolError {
            input.advance(header + remaining);
            return Ok(Some(Received::Unexpected));
        }
        let received = match self {
            Wire::V3(codec) => codec.decode(input)?.map(|(p, _)| from_v3_packet(p)),
            Wire::V5(codec) => codec.decode(input)?.map(|(p, _)| from_v5_packet(p)),
        };
        match &received {
            Some(Received::Publish(publish)) => {
                let alias = publish.properties.as_ref().and_then(|p| p.topic_alias);
                checks::topic_name(&publish.topic, alias.is_some())?;
            }
            Some(Received::Subscribe { filters, .. }) => {
                for filter in filters {
                    checks::filter(&filter.topic)?;
                }
            }
            Some(Received::Unsubscribe { filters, .. }) => {
                for filter in filters {
                    checks::filter(filter)?;
                }
            }
            _ => {}
        }
        Ok(received)
    }
}
