//! The rules of MQTT that rmqtt-codec leaves out, so that every packet the standard says
//! must end the connection does end it (Mosquitto's packet corpus, `tests/mqtt_corpus.rs`,
//! finds them). Raw checks run on a whole packet before the codec decodes it, string checks
//! on what it decoded. Nothing here allocates; only CONNECT and a v3 SUBSCRIBE are walked
//! field by field, and a topic of printable ASCII is checked in one pass.

use rmqtt_codec::error::DecodeError;

use self::fields::Fields;

mod fields;

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
        // The reserved type, and the types only a server sends (SUBACK and UNSUBACK with
        // flags are malformed first, as Mosquitto has it).
        9 | 11 if first & 0x0F != 0 => return Err(DecodeError::UnsupportedPacketType),
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
            let Ok(reason) = r.byte() else {
                return false;
            };
            // The reason codes each acknowledgement may carry.
            let known: &[u8] = match first >> 4 {
                4 | 5 => &[0x00, 0x10, 0x80, 0x83, 0x87, 0x90, 0x91, 0x97, 0x99],
                _ => &[0x00, 0x92],
            };
            if !known.contains(&reason) {
                return true;
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
    r.breaks_protocol(allowed, matches!(first >> 4, 8 | 10))
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

#[cfg(test)]
mod tests;
