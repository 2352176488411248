//! What the broker tells an MQTT 5 client in words: the reason string of each refusing
//! CONNACK, DISCONNECT and SUBACK. Short on purpose: a property list of one reason stays
//! under 128 bytes, so its length is one byte.

use bytes::{BufMut, BytesMut};

use super::wire::{ConnackRefusal, Goodbye, SubscribeRefusal};

/// The v5 Reason String property.
pub(super) const REASON_STRING: u8 = 0x1F;

impl ConnackRefusal {
    /// What a v5 client is told (short: a CONNACK's length stays one byte). A client that
    /// asked for no problem information may still get one: CONNACK is allowed to carry it.
    pub(super) fn reason(self) -> &'static str {
        match self {
            Self::BadCredentials => "username must be the thing id and password its key",
            Self::NotAuthorized => {
                "the will's channel is not connected to the thing, or the client id is \
                 another thing's"
            }
            Self::IdentifierRejected => "a client id is needed to resume a session",
            Self::Unavailable => "revocations are being applied: retry",
            Self::QuotaExceeded => "the thing holds all the sessions it may",
        }
    }
}

impl Goodbye {
    pub(super) fn reason(self) -> &'static str {
        match self {
            Self::NotAuthorized => "a PUBLISH to a channel not connected to the thing",
            Self::SessionTakenOver => "another connection took this session over",
            Self::KeepAliveTimeout => "nothing received within 1.5 times the keep-alive",
            Self::ServerShuttingDown => "the server is shutting down",
            Self::AdministrativeAction => {
                "access revoked: the thing's key changed, or it or a channel was removed or disconnected"
            }
            Self::MalformedPacket => "a packet that does not parse as MQTT 5",
            Self::ProtocolError => "a packet MQTT 5 does not allow here",
            Self::PacketTooLarge => "a packet larger than the server's maximum packet size",
            Self::TopicAliasInvalid => "a topic alias of 0 or above the server's maximum",
            Self::ReceiveMaximumExceeded => "more QoS 2 messages awaiting PUBREL than allowed",
        }
    }
}

impl SubscribeRefusal {
    pub(super) fn reason(self) -> &'static str {
        match self {
            Self::NotAuthorized => {
                "a filter outside the channels connected to the thing, or one filter too many"
            }
        }
    }
}

/// A v5 property list holding the reason string `why`, or empty. Every reason is short, so
/// the list's length is one byte.
pub(super) fn put_reason_string(out: &mut BytesMut, why: Option<&str>) {
    match why {
        Some(why) => {
            out.put_u8((3 + why.len()) as u8);
            out.put_u8(REASON_STRING);
            out.put_u16(why.len() as u16);
            out.put_slice(why.as_bytes());
        }
        None => out.put_u8(0),
    }
}
