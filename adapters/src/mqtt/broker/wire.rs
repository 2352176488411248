//! What the broker sends, for MQTT 3.1.1 and 5 (reading is in `inbound`). It is small and
//! fixed, so it is written here by hand (no packet struct, no allocation per message); only
//! the v5 CONNACK, with its properties, goes through the codec.

use std::num::NonZeroU16;

use bytes::{BufMut, BytesMut};
use bytestring::ByteString;
use rmqtt_codec::types::QoS;
use rmqtt_codec::{v3, v5};
use tokio_util::codec::Encoder;

use super::properties::{Written, varint_len};
use super::reasons::{REASON_STRING, put_reason_string};

/// One client's protocol version and its packet reader.
pub(super) enum Wire {
    V3(v3::Codec),
    V5(v5::Codec),
}

/// Why a CONNECT is refused, as CONNACK codes of each version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ConnackRefusal {
    BadCredentials,
    NotAuthorized,
    IdentifierRejected,
    /// "Server unavailable": retry later.
    Unavailable,
    /// The thing holds all the sessions it may: v5 "quota exceeded", v3 "server unavailable".
    QuotaExceeded,
}

/// The broker's side of a CONNACK.
pub(super) struct Accepted {
    pub session_present: bool,
    pub assigned_client_id: Option<ByteString>,
    pub max_packet_size: u32,
    pub receive_max: NonZeroU16,
    pub session_expiry: Option<u32>,
    /// The keep-alive the client must keep, when not the one it asked for.
    pub server_keep_alive: Option<u16>,
    pub topic_alias_max: u16,
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
    TopicAliasInvalid = 0x94,
    ReceiveMaximumExceeded = 0x93,
}

impl Wire {
    pub fn is_v5(&self) -> bool {
        matches!(self, Wire::V5(_))
    }

    pub fn connack_refused(&self, out: &mut BytesMut, refusal: ConnackRefusal) {
        let code = match (self, refusal) {
            (Wire::V3(_), ConnackRefusal::IdentifierRejected) => 2,
            (Wire::V3(_), ConnackRefusal::Unavailable | ConnackRefusal::QuotaExceeded) => 3,
            (Wire::V5(_), ConnackRefusal::QuotaExceeded) => 0x97,
            (Wire::V5(_), ConnackRefusal::Unavailable) => 0x88,
            (Wire::V3(_), ConnackRefusal::BadCredentials) => 4,
            (Wire::V3(_), ConnackRefusal::NotAuthorized) => 5,
            (Wire::V5(_), ConnackRefusal::IdentifierRejected) => 0x85,
            (Wire::V5(_), ConnackRefusal::BadCredentials) => 0x86,
            (Wire::V5(_), ConnackRefusal::NotAuthorized) => 0x87,
        };
        match self {
            Wire::V3(_) => out.put_slice(&[0x20, 2, 0, code]),
            Wire::V5(_) => {
                // One property, the reason string: says why, the code says what.
                let why = refusal.reason().as_bytes();
                out.put_slice(&[0x20, (6 + why.len()) as u8, 0, code]);
                out.put_slice(&[(3 + why.len()) as u8, REASON_STRING]);
                out.put_u16(why.len() as u16);
                out.put_slice(why);
            }
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
                    max_qos: QoS::ExactlyOnce,
                    max_packet_size: Some(accepted.max_packet_size),
                    assigned_client_id: accepted.assigned_client_id,
                    topic_alias_max: accepted.topic_alias_max,
                    server_keepalive_sec: accepted.server_keep_alive,
                    // Retained messages, wildcards and subscription identifiers are
                    // offered, and shared subscriptions.
                    retain_available: true,
                    wildcard_subscription_available: true,
                    subscription_identifiers_available: true,
                    shared_subscription_available: true,
                    ..Default::default()
                };
                // Infallible for a CONNACK without a size limit on what we send.
                let _ = codec.encode(v5::Packet::ConnectAck(Box::new(ack)), out);
            }
        }
    }

    /// A PUBLISH to a subscriber; v5 gets the message's properties, v3 none.
    pub fn publish(&self, out: &mut BytesMut, message: &OutgoingRef<'_>) {
        let remaining = self.publish_remaining(message);
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
            message.properties.put(out);
        }
        out.put_slice(message.payload);
    }

    /// The PUBLISH's remaining length: what follows its fixed header.
    fn publish_remaining(&self, message: &OutgoingRef<'_>) -> usize {
        let id_len = if message.packet_id.is_some() { 2 } else { 0 };
        let properties = match self.is_v5() {
            true => {
                let len = message.properties.len();
                len + varint_len(len as u32)
            }
            false => 0,
        };
        2 + message.topic.len() + id_len + properties + message.payload.len()
    }

    /// The size of that PUBLISH on the wire, to respect a v5 client's maximum.
    pub fn publish_size(&self, message: &OutgoingRef<'_>) -> usize {
        let remaining = self.publish_remaining(message);
        1 + varint_len(remaining as u32) + remaining
    }

    /// PUBACK, PUBREC, PUBREL and PUBCOMP with success: the same four bytes in both versions.
    pub fn ack(&self, out: &mut BytesMut, kind: Ack, packet_id: NonZeroU16) {
        out.put_u8(kind as u8);
        out.put_u8(2);
        out.put_u16(packet_id.get());
    }

    /// SUBACK: a granted QoS or a failure per filter (v3 has one failure code, 0x80). A v5
    /// client that takes problem information is told why a filter was refused.
    pub fn suback(
        &self,
        out: &mut BytesMut,
        packet_id: NonZeroU16,
        granted: &[Granted],
        problem_info: bool,
    ) {
        let why = match self {
            Wire::V5(_) if problem_info => granted.iter().find_map(|g| g.err()).map(|r| r.reason()),
            _ => None,
        };
        let properties = match (self, why) {
            (Wire::V3(_), _) => 0,
            (Wire::V5(_), None) => 1,
            (Wire::V5(_), Some(why)) => 4 + why.len(),
        };
        out.put_u8(0x90);
        put_length(out, 2 + properties + granted.len());
        out.put_u16(packet_id.get());
        if self.is_v5() {
            put_reason_string(out, why);
        }
        for qos in granted {
            out.put_u8(match (qos, self) {
                (Ok(qos), _) => u8::from(*qos),
                (Err(_), Wire::V3(_)) => 0x80,
                (Err(refused), Wire::V5(_)) => *refused as u8,
            });
        }
    }

    /// UNSUBACK; v5 says per filter whether there was such a subscription (0x00) or not
    /// (0x11 "no subscription existed").
    pub fn unsuback(&self, out: &mut BytesMut, packet_id: NonZeroU16, existed: &[bool]) {
        out.put_u8(0xB0);
        match self {
            Wire::V3(_) => {
                out.put_u8(2);
                out.put_u16(packet_id.get());
            }
            Wire::V5(_) => {
                put_length(out, 3 + existed.len());
                out.put_u16(packet_id.get());
                out.put_u8(0);
                for existed in existed {
                    out.put_u8(if *existed { 0 } else { 0x11 });
                }
            }
        }
    }

    pub fn pingresp(&self, out: &mut BytesMut) {
        out.put_slice(&[0xD0, 0]);
    }

    /// A v5 DISCONNECT telling why, in a code and in words (a server's DISCONNECT may carry
    /// a reason string whatever the client asked); v3 has no such packet, the socket just
    /// closes.
    pub fn goodbye(&self, out: &mut BytesMut, reason: Goodbye) {
        if self.is_v5() {
            let why = reason.reason();
            out.put_u8(0xE0);
            put_length(out, 1 + 4 + why.len());
            out.put_u8(reason as u8);
            put_reason_string(out, Some(why));
        }
    }
}

/// What SUBACK says of one filter.
pub(super) type Granted = Result<QoS, SubscribeRefusal>;

/// Why a filter is refused, as v5 SUBACK codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum SubscribeRefusal {
    /// Outside the thing's channels, or too many filters.
    NotAuthorized = 0x87,
}

/// The acknowledgements the broker sends, by their first byte.
#[derive(Debug, Clone, Copy)]
pub(super) enum Ack {
    /// PUBACK: a QoS 1 PUBLISH was taken.
    Received = 0x40,
    /// PUBREC: a QoS 2 PUBLISH was taken (and will not be delivered twice).
    Recorded = 0x50,
    /// PUBREL: the answer to a subscriber's PUBREC (flags 0b0010, as MQTT requires).
    Released = 0x62,
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
    /// v5 only: what its property list holds.
    pub properties: Written<'a>,
}

/// MQTT's variable-length integer ("remaining length").
pub(super) fn put_length(out: &mut BytesMut, mut length: usize) {
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

#[cfg(test)]
mod tests {
    use super::super::inbound::Received;
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
            properties: Written {
                properties: None,
                expiry_secs: None,
                subscription_ids: &[],
                topic_alias: None,
            },
        };
        for mut wire in [Wire::V3(v3::Codec::new(0)), Wire::V5(v5::Codec::new(0, 0))] {
            let mut out = BytesMut::new();
            wire.publish(&mut out, &message);
            let Some(Received::Publish(read)) = wire.read(&mut out, 0).unwrap() else {
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

    /// A v5 refusal says why in a reason string the codec reads back; v3 has the code only.
    #[test]
    fn a_v5_connack_refusal_carries_its_reason() {
        use tokio_util::codec::Decoder;
        for refusal in [
            ConnackRefusal::BadCredentials,
            ConnackRefusal::NotAuthorized,
            ConnackRefusal::IdentifierRejected,
            ConnackRefusal::Unavailable,
            ConnackRefusal::QuotaExceeded,
        ] {
            let mut out = BytesMut::new();
            Wire::V5(v5::Codec::new(0, 0)).connack_refused(&mut out, refusal);
            let decoded = v5::Codec::new(0, 0).decode(&mut out).unwrap();
            let Some((v5::Packet::ConnectAck(ack), _)) = decoded else {
                panic!("not a CONNACK: {decoded:?}");
            };
            assert_eq!(ack.reason_string.as_deref(), Some(refusal.reason()));
            assert!(out.is_empty());
        }
        let mut out = BytesMut::new();
        Wire::V3(v3::Codec::new(0)).connack_refused(&mut out, ConnackRefusal::BadCredentials);
        assert_eq!(&out[..], &[0x20, 2, 0, 4]);
    }

    /// Server DISCONNECTs and refusing SUBACKs say why, read back by the codec; a SUBACK
    /// to a client that asked for no problem information, and a granting one, carry nothing.
    #[test]
    fn v5_disconnects_and_refusing_subacks_carry_their_reason() {
        use tokio_util::codec::Decoder;
        let v5 = || Wire::V5(v5::Codec::new(0, 0));
        let read = |out: &mut BytesMut| match v5::Codec::new(0, 0).decode(out) {
            Ok(Some((packet, _))) => packet,
            other => panic!("not a packet: {other:?}"),
        };
        for reason in [
            Goodbye::NotAuthorized,
            Goodbye::AdministrativeAction,
            Goodbye::ProtocolError,
        ] {
            let mut out = BytesMut::new();
            v5().goodbye(&mut out, reason);
            let v5::Packet::Disconnect(goodbye) = read(&mut out) else {
                panic!("not a DISCONNECT");
            };
            assert_eq!(goodbye.reason_string.as_deref(), Some(reason.reason()));
            assert_eq!(u8::from(goodbye.reason_code), reason as u8);
        }
        let id = NonZeroU16::MIN;
        let refused = [Ok(QoS::AtLeastOnce), Err(SubscribeRefusal::NotAuthorized)];
        for (problem_info, granted, says) in [
            (
                true,
                &refused[..],
                Some(SubscribeRefusal::NotAuthorized.reason()),
            ),
            (false, &refused[..], None),
            (true, &refused[..1], None),
        ] {
            let mut out = BytesMut::new();
            v5().suback(&mut out, id, granted, problem_info);
            let v5::Packet::SubscribeAck(ack) = read(&mut out) else {
                panic!("not a SUBACK");
            };
            assert_eq!(
                (ack.reason_string.as_deref(), ack.status.len()),
                (says, granted.len())
            );
        }
    }
}
