//! How messages and endings look on the wire.
//!
//! A delivered message is its payload alone, as Mainflux's adapter sent it: a text frame
//! when the payload is UTF-8 and its content type is not a CBOR one (JSON, SenML JSON,
//! plain text arrive as strings in a browser), a binary frame otherwise (CBOR, raw bytes).
//! Neither copies the payload: both frame types share its `Bytes`.
//!
//! Each way a session can end has its own close code, so a client can tell whether to
//! reconnect at once, later, or not with the same key (`close_code`).

use axum::extract::ws::{CloseFrame, Message as Frame, Utf8Bytes};

use crate::message::{ContentType, Message};

/// The close codes a session ends with (RFC 6455 §7.4.1).
pub mod close_code {
    use axum::extract::ws::close_code as rfc;

    /// Revoked (key changed, thing disconnected from the channel, thing or channel
    /// removed), or a frame refused by policy (a wildcard socket publishing; the thing no
    /// longer connected): reconnecting with the same key may well be refused.
    pub const POLICY: u16 = rfc::POLICY;
    /// A frame over `FF_MAX_PAYLOAD`.
    pub const TOO_BIG: u16 = rfc::SIZE;
    /// The socket did not take its messages fast enough, or the bus would not take a
    /// publish: reconnect (messages in between are lost to it).
    pub const TRY_AGAIN: u16 = rfc::AGAIN;
    /// A ping went unanswered for a keep-alive interval.
    pub const NO_PONG: u16 = rfc::AWAY;
    /// The server is stopping.
    pub const GOING_AWAY: u16 = rfc::AWAY;
    /// A frame that is not WebSocket (a protocol error reading it).
    pub const PROTOCOL: u16 = rfc::PROTOCOL;
    /// The server failed, not the client.
    pub const ERROR: u16 = rfc::ERROR;
}

/// The frame a subscriber receives for `message`.
pub fn delivery(message: &Message) -> Frame {
    let payload = message.payload.clone();
    if is_cbor(message.content_type.as_ref()) {
        return Frame::Binary(payload);
    }
    match Utf8Bytes::try_from(payload) {
        Ok(text) => Frame::Text(text),
        Err(_) => Frame::Binary(message.payload.clone()),
    }
}

fn is_cbor(content_type: Option<&ContentType>) -> bool {
    match content_type {
        Some(ContentType::SenmlCbor) => true,
        Some(ContentType::Other(text)) => {
            let essence = text.split(';').next().unwrap_or_default().trim();
            essence.eq_ignore_ascii_case("application/cbor")
                || essence.to_ascii_lowercase().ends_with("+cbor")
        }
        _ => false,
    }
}

/// A close frame with `code` and a short reason (at most 123 bytes by the RFC; ours are
/// fixed and short).
pub fn close(code: u16, reason: &'static str) -> Frame {
    Frame::Close(Some(CloseFrame {
        code,
        reason: Utf8Bytes::from_static(reason),
    }))
}

/// The close code for an error reading a frame: one over the size limit is 1009, anything
/// else a protocol error. tungstenite reports size as a capacity error ("Space limit
/// exceeded"), which axum passes on only as an opaque error, hence the text.
pub fn read_error_code(error: &axum::Error) -> u16 {
    let text = error.to_string();
    match text.contains("Space limit exceeded") || text.contains("too long") {
        true => close_code::TOO_BIG,
        false => close_code::PROTOCOL,
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;
    use domain::ids::{ChannelId, ThingId};

    use super::*;
    use crate::message::Protocol;

    fn message(payload: &'static [u8], content_type: Option<&str>) -> Message {
        Message {
            channel: ChannelId(uuid::Uuid::nil()),
            subtopic: None,
            publisher: ThingId(uuid::Uuid::nil()),
            protocol: Protocol::Http,
            content_type: content_type.and_then(ContentType::parse),
            payload: Bytes::from_static(payload),
            created: 0,
            properties: None,
        }
    }

    #[test]
    fn text_for_utf8_binary_for_cbor_and_other_bytes() {
        let cases: [(&[u8], Option<&str>, bool); 7] = [
            (
                b"[{\"n\":\"t\",\"v\":1}]",
                Some("application/senml+json"),
                true,
            ),
            (b"hello", None, true),
            ("h\u{e9}".as_bytes(), Some("text/plain"), true),
            (b"\xff\x00", None, false),
            (b"abc", Some("application/senml+cbor"), false),
            (b"abc", Some("application/cbor"), false),
            (b"abc", Some("application/foo+CBOR; x=1"), false),
        ];
        for (payload, content_type, text) in cases {
            let frame = delivery(&message(payload, content_type));
            assert_eq!(matches!(frame, Frame::Text(_)), text, "{content_type:?}");
            assert_eq!(frame.into_data(), Bytes::from_static(payload));
        }
    }
}
