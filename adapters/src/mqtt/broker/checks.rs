//! The rules of MQTT that rmqtt-codec leaves out, so that every packet the standard says
//! must end the connection does end it (Mosquitto's packet corpus, `tests/mqtt_corpus.rs`,
//! finds them). Raw checks run on a whole packet before the codec decodes it, string checks
//! on what it decoded. Nothing here allocates; only CONNECT and a v3 SUBSCRIBE are walked
//! field by field, and a topic of printable ASCII is checked in one pass.

use rmqtt_codec::error::DecodeError;

/// What a CONNECT's protocol name and level ask for.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Level {
    Supported,
    /// A protocol we do not speak: answered "unacceptable protocol version", then closed.
    Unacceptable,
}

/// Checks a whole CONNECT body: name and level agree, the payload holds exactly the fields
/// its flags announce [MQTT-3.1.2-18..22] (the codec ignores what follows them), and a
/// v3.1.1 password comes with a user name [MQTT-3.1.2-22].
pub(super) fn connect(body: &[u8]) -> Result<Level, DecodeError> {
    let mut r = Fields(body);
    let name = r.string()?;
    let level = r.byte()?;
    match (name, level) {
        (b"MQTT", 4 | 5) | (b"MQIsdp", 3) => {}
        (b"MQTT" | b"MQIsdp", _) => return Ok(Level::Unacceptable),
        _ => return Err(DecodeError::InvalidProtocol),
    }
    let flags = r.byte()?;
    r.take(2)?;
    if level == 5 {
        r.properties()?;
    }
    r.string()?;
    if flags & 0x04 != 0 {
        if level == 5 {
            r.properties()?;
        }
        r.string()?;
        r.string()?;
    }
    match flags & 0xC0 {
        0x40 if level != 5 => return Err(DecodeError::InvalidConnectFlags),
        _ => {}
    }
    if flags & 0x80 != 0 {
        r.string()?;
    }
    if flags & 0x40 != 0 {
        r.string()?;
    }
    if !r.0.is_empty() {
        return Err(DecodeError::InvalidLength);
    }
    Ok(Level::Supported)
}

/// What the raw checks make of a packet.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Verdict {
    /// Well formed as far as they look: the codec decodes it.
    Decode,
    /// A packet the client may not send (a type only a server sends, packet id 0, a
    /// property the packet may not carry): v5 answers "protocol error" and closes.
    ProtocolError,
}

/// Checks one whole packet after CONNECT, by its first byte and body.
pub(super) fn packet(first: u8, body: &[u8], v5: bool) -> Result<Verdict, DecodeError> {
    match first >> 4 {
        // The reserved type, and the types only a server sends.
        0 | 2 | 9 | 11 | 13 => return Ok(Verdict::ProtocolError),
        15 if first != 0xF0 => return Ok(Verdict::ProtocolError),
        // PUBLISH with DUP set at QoS 0 [MQTT-3.3.1-2].
        3 if first & 0x0E == 0x08 => return Err(DecodeError::MalformedPacket),
        // PINGREQ has no body; nor has a v3 DISCONNECT.
        12 if !body.is_empty() => return Err(DecodeError::InvalidLength),
        14 if !v5 && !body.is_empty() => return Err(DecodeError::InvalidLength),
        // v3 SUBSCRIBE: the bits above the QoS are reserved [MQTT-3.8.3-4] (the codec masks
        // them away). v5 options are checked by the codec.
        8 if !v5 => v3_subscribe_options(body)?,
        _ => {}
    }
    if v5 && v5_breaks_protocol(first, body) {
        return Ok(Verdict::ProtocolError);
    }
    Ok(Verdict::Decode)
}

/// v5: a packet id 0 where one is needed, or a property the packet may not carry. What
/// cannot be read is left to the codec (a malformed packet).
fn v5_breaks_protocol(first: u8, body: &[u8]) -> bool {
    let mut r = Fields(body);
    let zero_id = |r: &mut Fields<'_>| r.take(2).is_ok_and(|id| id == [0, 0]);
    let allowed: &[u8] = match first >> 4 {
        3 => {
            if r.string().is_err() {
                return false;
            }
            if first & 0x06 != 0 {
                match r.take(2) {
                    Ok([0, 0]) => return true,
                    Ok(_) => {}
                    Err(_) => return false,
                }
            }
            // No subscription identifier from a client [MQTT-3.3.4-6].
            &[0x01, 0x02, 0x03, 0x08, 0x09, 0x23, 0x26]
        }
        4..=7 => {
            if zero_id(&mut r) {
                return true;
            }
            if r.byte().is_err() {
                return false;
            }
            &[0x1F, 0x26]
        }
        8 | 10 => {
            if zero_id(&mut r) {
                return true;
            }
            if first >> 4 == 8 {
                &[0x0B, 0x26]
            } else {
                &[0x26]
            }
        }
        14 => {
            if r.byte().is_err() {
                return false;
            }
            &[0x11, 0x1C, 0x1F, 0x26]
        }
        _ => return false,
    };
    r.disallowed_property(allowed)
}

fn v3_subscribe_options(body: &[u8]) -> Result<(), DecodeError> {
    let mut r = Fields(body);
    r.take(2)?;
    while !r.0.is_empty() {
        r.string()?;
        if r.byte()? & 0xFC != 0 {
            return Err(DecodeError::MalformedPacket);
        }
    }
    Ok(())
}

/// A PUBLISH topic: a string without wildcards [MQTT-3.3.2-2], empty only when a v5
/// topic alias stands for it.
pub(super) fn topic_name(topic: &str, alias: bool) -> Result<(), DecodeError> {
    if topic.is_empty() && !alias {
        return Err(DecodeError::InvalidTopicName);
    }
    let plain = |b: u8| (0x20..0x7F).contains(&b) && b != b'+' && b != b'#';
    if topic.bytes().all(plain) {
        return Ok(());
    }
    if topic.bytes().any(|b| b == b'+' || b == b'#') {
        return Err(DecodeError::InvalidTopicName);
    }
    string(topic)
}

/// A SUBSCRIBE or UNSUBSCRIBE filter: a string of at least one character [MQTT-4.7.3-1]
/// (the v5 codec lets an empty one through).
pub(super) fn filter(filter: &str) -> Result<(), DecodeError> {
    if filter.is_empty() {
        return Err(DecodeError::InvalidTopicFilter);
    }
    string(filter)
}

/// A client id, user name, topic or filter: no U+0000 [MQTT-1.5.3-2], no control
/// characters and no noncharacters (as Mosquitto, whose corpus closes on them).
pub(super) fn string(s: &str) -> Result<(), DecodeError> {
    if s.bytes().all(|b| (0x20..0x7F).contains(&b)) {
        return Ok(());
    }
    let refused = |c: char| {
        let code = u32::from(c);
        code <= 0x1F
            || (0x7F..=0x9F).contains(&code)
            || (0xFDD0..=0xFDEF).contains(&code)
            || code & 0xFFFE == 0xFFFE
    };
    match s.chars().any(refused) {
        true => Err(DecodeError::Utf8Error),
        false => Ok(()),
    }
}

/// A cursor over a packet's fields; running short is a length error.
struct Fields<'a>(&'a [u8]);

impl<'a> Fields<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        if self.0.len() < n {
            return Err(DecodeError::InvalidLength);
        }
        let (head, tail) = self.0.split_at(n);
        self.0 = tail;
        Ok(head)
    }

    fn byte(&mut self) -> Result<u8, DecodeError> {
        Ok(self.take(1)?[0])
    }

    fn string(&mut self) -> Result<&'a [u8], DecodeError> {
        let len = self.take(2)?;
        self.take(usize::from(u16::from_be_bytes([len[0], len[1]])))
    }

    /// Whether the v5 property list here holds a known property not in `allowed`
    /// (unknown ones, and lists that cannot be read, are the codec's to refuse).
    fn disallowed_property(&mut self, allowed: &[u8]) -> bool {
        let Ok(length) = self.varint() else {
            return false;
        };
        let Ok(list) = self.take(length) else {
            return false;
        };
        let mut r = Fields(list);
        while let Ok(id) = r.byte() {
            let size = match id {
                0x01 | 0x17 | 0x19 | 0x24 | 0x25 | 0x28 | 0x29 | 0x2A => r.take(1).map(|_| ()),
                0x13 | 0x21 | 0x22 | 0x23 => r.take(2).map(|_| ()),
                0x02 | 0x11 | 0x18 | 0x27 => r.take(4).map(|_| ()),
                0x0B => r.varint().map(|_| ()),
                0x03 | 0x08 | 0x09 | 0x12 | 0x15 | 0x16 | 0x1A | 0x1C | 0x1F => {
                    r.string().map(|_| ())
                }
                0x26 => r.string().and_then(|_| r.string()).map(|_| ()),
                _ => return false,
            };
            if size.is_err() {
                return false;
            }
            if !allowed.contains(&id) {
                return true;
            }
        }
        false
    }

    fn varint(&mut self) -> Result<usize, DecodeError> {
        let mut value = 0usize;
        for i in 0..4 {
            let byte = self.byte()?;
            value |= usize::from(byte & 0x7F) << (7 * i);
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(DecodeError::MalformedPacket)
    }

    /// Skips a v5 property list: its varint length, then that many bytes.
    fn properties(&mut self) -> Result<(), DecodeError> {
        let length = self.varint()?;
        self.take(length).map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        let digits: Vec<u8> = s.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
        digits
            .chunks(2)
            .map(|p| u8::from_str_radix(std::str::from_utf8(p).unwrap(), 16).unwrap())
            .collect()
    }

    #[test]
    fn connect_bodies() {
        let cases = [
            ("0004 4D515454 04 02 000A 0001 70", Ok(Level::Supported)),
            ("0006 4D5149736470 03 02 000A 0001 70", Ok(Level::Supported)),
            ("0004 4D515454 05 02 000A 00 0001 70", Ok(Level::Supported)),
            (
                "0004 4D515454 04 C2 000A 0001 70 0001 75 0001 70",
                Ok(Level::Supported),
            ),
            ("0004 4D515454 02 02 000A 0001 70", Ok(Level::Unacceptable)),
            ("0004 4D515454 03 02 000A 0001 70", Ok(Level::Unacceptable)),
            ("0004 4D515455 04 02 000A 0001 70", Err(())),
            // A user name the flags do not announce.
            ("0004 4D515454 04 02 000A 0001 70 0001 70", Err(())),
            // A password without a user name (allowed in v5 only).
            ("0004 4D515454 04 42 000A 0001 70 0001 70", Err(())),
            (
                "0004 4D515454 05 42 000A 00 0001 70 0001 70",
                Ok(Level::Supported),
            ),
            // Missing client id.
            ("0004 4D515454 04 02 000A", Err(())),
        ];
        for (body, expected) in cases {
            assert_eq!(connect(&hex(body)).map_err(|_| ()), expected, "{body}");
        }
    }

    #[test]
    fn packets_the_codec_would_take() {
        use Verdict::{Decode, ProtocolError};
        let cases = [
            (0x38, "0001 70", false, Err(()), "QoS 0 with DUP"),
            (0x3A, "0001 70 0001", false, Ok(Decode), "QoS 1 with DUP"),
            (0xC0, "00", false, Err(()), "PINGREQ with a body"),
            (0xC0, "", true, Ok(Decode), "PINGREQ"),
            (0xE0, "00", false, Err(()), "v3 DISCONNECT with a body"),
            (0xE0, "00", true, Ok(Decode), "v5 DISCONNECT with a reason"),
            (0x82, "1234 0001 70 01", false, Ok(Decode), "SUBSCRIBE"),
            (
                0x82,
                "1234 0001 70 01 0001 71 04",
                false,
                Err(()),
                "reserved option bits",
            ),
            (
                0x20,
                "0000",
                true,
                Ok(ProtocolError),
                "CONNACK from a client",
            ),
            (0xF1, "", true, Ok(ProtocolError), "AUTH with flags"),
            (
                0x40,
                "0000",
                true,
                Ok(ProtocolError),
                "PUBACK of packet id 0",
            ),
            (
                0x32,
                "0001 70 0000 00",
                true,
                Ok(ProtocolError),
                "PUBLISH with packet id 0",
            ),
            (
                0x30,
                "0001 70 03 23 0001",
                true,
                Ok(Decode),
                "PUBLISH with a topic alias",
            ),
            (
                0x30,
                "0001 70 02 0B 01",
                true,
                Ok(ProtocolError),
                "PUBLISH with a subscription id",
            ),
            (
                0x40,
                "0001 00 03 11 0000",
                true,
                Ok(Decode),
                "a short property list: the codec's",
            ),
            (
                0x40,
                "0001 00 05 11 00000000",
                true,
                Ok(ProtocolError),
                "PUBACK with a session expiry",
            ),
            (
                0x40,
                "0001 00 05 1F 0001 78",
                true,
                Ok(Decode),
                "PUBACK with a reason string",
            ),
            (
                0xA2,
                "0001 02 0B 01 0001 70",
                true,
                Ok(ProtocolError),
                "UNSUBSCRIBE with a subscription id",
            ),
        ];
        for (first, body, v5, expected, what) in cases {
            assert_eq!(
                packet(first, &hex(body), v5).map_err(|_| ()),
                expected,
                "{what}"
            );
        }
    }

    #[test]
    fn strings() {
        for good in [
            "channels/a/messages/t",
            "",
            "A\u{2A6D4}",
            "caf\u{E9}",
            "\u{A0}",
        ] {
            assert!(string(good).is_ok(), "{good:?}");
        }
        for bad in [
            "to\0", "t\u{1}", "t\u{1F}", "t\u{7F}", "t\u{9F}", "\u{FFFF}", "\u{FDD0}",
        ] {
            assert!(string(bad).is_err(), "{bad:?}");
        }
    }
}
