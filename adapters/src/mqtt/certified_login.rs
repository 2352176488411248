//! MQTT with a device certificate (MQTTS and MQTT over WSS with mTLS): the relay in front of
//! the broker writes the certificate's thing into the client's CONNECT, so a device may
//! connect with its certificate alone (`mosquitto_pub --cert --key`, no `-u`/`-P`).
//!
//! The broker still makes every decision. The relay fills in what the client left out
//! (username = the thing id, password = the certificate's key) and keeps what it sent; a
//! password that is not the certificate's key is replaced by an empty one, which the broker
//! refuses as any bad key (CONNACK "bad user name or password", counted). So a device
//! cannot use another thing's key behind its own certificate, and the refusal looks and
//! counts the same as every other.

use crate::device_certificate::DeviceCertificate;

const CONNECT: u8 = 0x10;
const USERNAME_FLAG: u8 = 0x80;
const PASSWORD_FLAG: u8 = 0x40;
const WILL_FLAG: u8 = 0x04;
const MQTT_5: u8 = 5;

/// Holds the client's bytes back until its first packet is whole, then lets them through
/// with that packet signed in; everything after it passes unchanged.
#[derive(Debug)]
pub struct CertifiedLogin {
    device: DeviceCertificate,
    /// A first packet larger than this is passed on untouched, not buffered: the broker
    /// refuses an oversized packet by itself.
    limit: usize,
    buffer: Vec<u8>,
}

impl CertifiedLogin {
    pub fn new(device: DeviceCertificate, limit: usize) -> Self {
        Self {
            device,
            limit,
            buffer: Vec::new(),
        }
    }

    /// Bytes from the client in; `None` while the first packet is incomplete, then the
    /// bytes to send the broker. After `Some`, this login is spent.
    pub fn feed(&mut self, bytes: &[u8]) -> Option<Vec<u8>> {
        self.buffer.extend_from_slice(bytes);
        let length = match packet_length(&self.buffer) {
            Length::Unknown => return None,
            Length::Known(total) if total > self.limit => {
                return Some(std::mem::take(&mut self.buffer));
            }
            Length::Known(total) if self.buffer.len() < total => return None,
            Length::Known(total) => total,
            Length::Malformed => return Some(std::mem::take(&mut self.buffer)),
        };
        let rest = self.buffer.split_off(length);
        let mut out = sign_in(&self.buffer, &self.device).unwrap_or_else(|| self.buffer.clone());
        out.extend_from_slice(&rest);
        self.buffer = Vec::new();
        Some(out)
    }
}

enum Length {
    /// The fixed header is not in yet.
    Unknown,
    /// The whole packet's length, fixed header included.
    Known(usize),
    /// A remaining length of more than four bytes.
    Malformed,
}

fn packet_length(buffer: &[u8]) -> Length {
    let mut remaining = 0usize;
    for (i, byte) in buffer.iter().skip(1).take(4).enumerate() {
        remaining |= usize::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            return Length::Known(1 + (i + 1) + remaining);
        }
    }
    match buffer.len() >= 5 {
        true => Length::Malformed,
        false => Length::Unknown,
    }
}

/// `packet` (a whole CONNECT) with the certificate's credentials; `None` when it is not a
/// well-formed CONNECT (passed on as it is, for the broker to refuse).
fn sign_in(packet: &[u8], device: &DeviceCertificate) -> Option<Vec<u8>> {
    let fields = ConnectFields::parse(packet)?;
    let mut thing = [0u8; 36];
    let thing = device.thing.0.hyphenated().encode_lower(&mut thing);
    let username = fields.username.unwrap_or(thing.as_bytes());
    let password = match fields.password {
        Some(sent) if !std::str::from_utf8(sent).is_ok_and(|s| device.matches(s)) => &[][..],
        _ => device.key.as_bytes(),
    };
    let mut body = packet[fields.body_start..fields.credentials_start].to_vec();
    body[fields.flags_at - fields.body_start] |= USERNAME_FLAG | PASSWORD_FLAG;
    for field in [username, password] {
        body.extend_from_slice(&u16::try_from(field.len()).ok()?.to_be_bytes());
        body.extend_from_slice(field);
    }
    let mut out = Vec::with_capacity(body.len() + 5);
    out.push(packet[0]);
    put_remaining_length(&mut out, body.len())?;
    out.extend_from_slice(&body);
    Some(out)
}

/// Where a CONNECT's parts are (offsets into the packet) and its credentials.
struct ConnectFields<'a> {
    body_start: usize,
    flags_at: usize,
    credentials_start: usize,
    username: Option<&'a [u8]>,
    password: Option<&'a [u8]>,
}

impl<'a> ConnectFields<'a> {
    fn parse(packet: &'a [u8]) -> Option<Self> {
        if packet.first()? & 0xf0 != CONNECT {
            return None;
        }
        let mut reader = Reader {
            bytes: packet,
            at: 1,
        };
        reader.varint()?;
        let body_start = reader.at;
        reader.string()?; // protocol name
        let level = reader.byte()?;
        let flags_at = reader.at;
        let flags = reader.byte()?;
        reader.take(2)?; // keep alive
        if level == MQTT_5 {
            reader.properties()?;
        }
        reader.string()?; // client id
        if flags & WILL_FLAG != 0 {
            if level == MQTT_5 {
                reader.properties()?;
            }
            reader.string()?;
            reader.string()?;
        }
        let credentials_start = reader.at;
        let username = match flags & USERNAME_FLAG {
            0 => None,
            _ => Some(reader.string()?),
        };
        let password = match flags & PASSWORD_FLAG {
            0 => None,
            _ => Some(reader.string()?),
        };
        (reader.at == packet.len()).then_some(Self {
            body_start,
            flags_at,
            credentials_start,
            username,
            password,
        })
    }
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let slice = self.bytes.get(self.at..self.at.checked_add(n)?)?;
        self.at += n;
        Some(slice)
    }

    fn byte(&mut self) -> Option<u8> {
        Some(self.take(1)?[0])
    }

    /// A two-byte length and that many bytes (MQTT strings and binary data).
    fn string(&mut self) -> Option<&'a [u8]> {
        let length = u16::from_be_bytes(self.take(2)?.try_into().ok()?);
        self.take(usize::from(length))
    }

    fn varint(&mut self) -> Option<usize> {
        let mut value = 0usize;
        for shift in [0, 7, 14, 21] {
            let byte = self.byte()?;
            value |= usize::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Some(value);
            }
        }
        None
    }

    /// MQTT 5 properties, skipped whole.
    fn properties(&mut self) -> Option<()> {
        let length = self.varint()?;
        self.take(length).map(drop)
    }
}

fn put_remaining_length(out: &mut Vec<u8>, mut length: usize) -> Option<()> {
    if length > 268_435_455 {
        return None;
    }
    loop {
        let byte = (length % 128) as u8;
        length /= 128;
        if length == 0 {
            out.push(byte);
            return Some(());
        }
        out.push(byte | 0x80);
    }
}

#[cfg(test)]
#[path = "certified_login_tests.rs"]
mod tests;
