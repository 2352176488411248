//! A corpus case turned into what it means against Ferroflux: Mosquitto's cases assume an
//! anonymous broker and free topics; ours authenticates things and keeps every topic under
//! `channels/<id>/messages/`. Only whole, structurally sound packets are rewritten (their
//! remaining length recomputed); a packet the rewriter cannot take apart is sent byte for
//! byte, since a broker must refuse it whatever its topic or credentials.
//!
//! - Default CONNECT: ours, with the thing's id and key, and any successful CONNACK (its
//!   v5 properties describe the broker's configuration, not the case).
//! - A case's own first CONNECT without username and password gets ours appended (the
//!   flags gain both bits, every other byte stays); with both, ours replace them; with one
//!   of the two, it is sent as is (the flag combination is what the case is about). Its
//!   will topic is mapped as any topic.
//! - Topics of PUBLISH, SUBSCRIBE and UNSUBSCRIBE (sent and expected) get the case's own
//!   prefix `channels/<ch>/messages/c<n>/`, so cases run side by side without hearing each
//!   other; `$share/<group>/<filter>` keeps its group; an empty topic stays empty.
//! - An expected CONNACK is compared on flags and return code (v5: properties ignored).

use super::corpus::{Case, Step};

/// Who a case connects as and where its topics live.
pub struct Identity {
    pub thing: String,
    pub key: String,
    /// `channels/<ch>/messages/c<n>/`.
    pub prefix: String,
}

pub enum Action {
    Send(Vec<u8>),
    Recv(Expect),
    Publish {
        topic: Vec<u8>,
        qos: u8,
        payload: Vec<u8>,
    },
}

pub enum Expect {
    Bytes(Vec<u8>),
    /// A v5 SUBACK or DISCONNECT, judged on everything but its properties (we may add a
    /// reason string Mosquitto does not send).
    V5Ack(Vec<u8>),
    /// A CONNACK with these flags and this return (reason) code.
    Connack {
        flags: u8,
        code: u8,
    },
}

/// The case as it is played here, and the protocol level of its connection.
pub fn plan(case: &Case, client_id: &str, id: &Identity) -> Vec<Action> {
    let mut version = case.version;
    let mut actions = Vec::new();
    if case.default_connect {
        actions.push(Action::Send(connect(version, client_id, id)));
        actions.push(Action::Recv(Expect::Connack { flags: 0, code: 0 }));
    }
    for (i, step) in case.steps.iter().enumerate() {
        actions.push(match step {
            Step::Send(bytes) if i == 0 && !case.default_connect && is_connect(bytes) => {
                version = connect_level(bytes).unwrap_or(version);
                Action::Send(with_credentials(bytes, id).unwrap_or_else(|| bytes.clone()))
            }
            Step::Send(bytes) => Action::Send(map_packets(bytes, version, &id.prefix)),
            Step::Recv(bytes) if bytes.first() == Some(&0x20) && bytes.len() >= 4 => {
                Action::Recv(Expect::Connack {
                    flags: bytes[2],
                    code: bytes[3],
                })
            }
            Step::Recv(bytes) if version == 5 && matches!(bytes.first(), Some(0x90 | 0xE0)) => {
                Action::Recv(Expect::V5Ack(map_packets(bytes, version, &id.prefix)))
            }
            Step::Recv(bytes) => {
                Action::Recv(Expect::Bytes(map_packets(bytes, version, &id.prefix)))
            }
            Step::Publish {
                topic,
                qos,
                payload,
            } => Action::Publish {
                topic: map_topic(topic.as_bytes(), &id.prefix),
                qos: *qos,
                payload: payload.clone(),
            },
        });
    }
    actions
}

/// A clean CONNECT with keep-alive 60, as Mosquitto's test helper writes it, plus our
/// credentials.
pub fn connect(version: u8, client_id: &str, id: &Identity) -> Vec<u8> {
    let mut body = Vec::new();
    let name: &[u8] = if version == 3 { b"MQIsdp" } else { b"MQTT" };
    put_str(&mut body, name);
    body.extend([version, 0xC2, 0, 60]);
    if version == 5 {
        body.push(0);
    }
    put_str(&mut body, client_id.as_bytes());
    put_str(&mut body, id.thing.as_bytes());
    put_str(&mut body, id.key.as_bytes());
    packet(0x10, &body)
}

fn is_connect(bytes: &[u8]) -> bool {
    bytes.first().is_some_and(|b| b >> 4 == 1)
}

/// The protocol level a CONNECT asks for (the byte after the protocol name).
fn connect_level(bytes: &[u8]) -> Option<u8> {
    let mut r = Reader(bytes.get(fixed_header_len(bytes)?..)?);
    r.string()?;
    r.byte()
}

/// The CONNECT with our credentials, when it is one whole, structurally sound CONNECT.
fn with_credentials(bytes: &[u8], id: &Identity) -> Option<Vec<u8>> {
    let header = fixed_header_len(bytes)?;
    let body = bytes.get(header..)?;
    if body.len() != remaining_length(bytes)? || header != 1 + varint_len(body.len()) {
        return None;
    }
    let mut r = Reader(body);
    r.string()?;
    let level = r.byte()?;
    let flags_at = body.len() - r.0.len();
    let flags = r.byte()?;
    r.take(2)?;
    if level == 5 {
        r.properties()?;
    }
    r.string()?;
    let mut will_topic = None;
    if flags & 0x04 != 0 {
        if level == 5 {
            r.properties()?;
        }
        let at = body.len() - r.0.len();
        will_topic = Some((at, r.string()?));
        r.string()?;
    }
    let credentials_at = body.len() - r.0.len();
    match flags & 0xC0 {
        0 | 0xC0 => {}
        _ => return None,
    }
    if flags & 0x80 != 0 {
        r.string()?;
    }
    if flags & 0x40 != 0 {
        r.string()?;
    }
    if !r.0.is_empty() {
        return None;
    }
    let mut new_body = body[..credentials_at].to_vec();
    if let Some((at, topic)) = will_topic {
        let mut mapped = body[..at].to_vec();
        put_str(&mut mapped, &map_topic(topic, &id.prefix));
        mapped.extend_from_slice(&body[at + 2 + topic.len()..credentials_at]);
        new_body = mapped;
    }
    new_body[flags_at] |= 0xC0;
    put_str(&mut new_body, id.thing.as_bytes());
    put_str(&mut new_body, id.key.as_bytes());
    Some(packet(bytes[0], &new_body))
}

/// Every whole packet in `bytes` with its topics mapped; from the first packet that is not
/// whole (or whose length is not minimally encoded), the rest as it is.
fn map_packets(bytes: &[u8], version: u8, prefix: &str) -> Vec<u8> {
    let mut out = Vec::new();
    let mut rest = bytes;
    while !rest.is_empty() {
        let whole = fixed_header_len(rest)
            .zip(remaining_length(rest))
            .filter(|(header, length)| rest.len() >= header + length)
            .filter(|(header, length)| *header == 1 + varint_len(*length));
        let Some((header, length)) = whole else {
            out.extend_from_slice(rest);
            break;
        };
        let (this, next) = rest.split_at(header + length);
        match map_body(this[0], &this[header..], version, prefix) {
            Some(body) => out.extend(packet(this[0], &body)),
            None => out.extend_from_slice(this),
        }
        rest = next;
    }
    out
}

fn map_body(first: u8, body: &[u8], version: u8, prefix: &str) -> Option<Vec<u8>> {
    let mut r = Reader(body);
    let mut out = Vec::new();
    match first >> 4 {
        3 => {
            put_str(&mut out, &map_topic(r.string()?, prefix));
            out.extend_from_slice(r.0);
        }
        8 | 10 => {
            out.extend_from_slice(r.take(2)?);
            if version == 5 {
                let before = r.0;
                r.properties()?;
                out.extend_from_slice(&before[..before.len() - r.0.len()]);
            }
            while !r.0.is_empty() {
                put_str(&mut out, &map_topic(r.string()?, prefix));
                if first >> 4 == 8 {
                    out.push(r.byte()?);
                }
            }
        }
        _ => return None,
    }
    Some(out)
}

pub fn map_topic(topic: &[u8], prefix: &str) -> Vec<u8> {
    if topic.is_empty() {
        return Vec::new();
    }
    if let Some(rest) = topic.strip_prefix(b"$share/")
        && let Some(slash) = rest.iter().position(|b| *b == b'/')
    {
        return [
            b"$share/",
            &rest[..=slash],
            prefix.as_bytes(),
            &rest[slash + 1..],
        ]
        .concat();
    }
    [prefix.as_bytes(), topic].concat()
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        (self.0.len() >= n).then(|| {
            let (head, tail) = self.0.split_at(n);
            self.0 = tail;
            head
        })
    }

    fn byte(&mut self) -> Option<u8> {
        self.take(1).map(|b| b[0])
    }

    fn string(&mut self) -> Option<&'a [u8]> {
        let len = self.take(2)?;
        self.take(usize::from(u16::from_be_bytes([len[0], len[1]])))
    }

    /// Skips a v5 property list (its length, then that many bytes).
    fn properties(&mut self) -> Option<()> {
        let (length, used) = varint(self.0)?;
        self.take(used)?;
        self.take(length).map(|_| ())
    }
}

/// A varint's value and its length in bytes (at most four).
fn varint(bytes: &[u8]) -> Option<(usize, usize)> {
    let mut value = 0usize;
    for (i, byte) in bytes.iter().take(4).enumerate() {
        value |= usize::from(byte & 0x7F) << (7 * i);
        if byte & 0x80 == 0 {
            return Some((value, i + 1));
        }
    }
    None
}

fn varint_len(value: usize) -> usize {
    match value {
        0..128 => 1,
        128..16_384 => 2,
        16_384..2_097_152 => 3,
        _ => 4,
    }
}

fn fixed_header_len(packet: &[u8]) -> Option<usize> {
    varint(packet.get(1..)?).map(|(_, used)| 1 + used)
}

fn remaining_length(packet: &[u8]) -> Option<usize> {
    varint(packet.get(1..)?).map(|(value, _)| value)
}

pub fn put_str(out: &mut Vec<u8>, s: &[u8]) {
    out.extend((s.len() as u16).to_be_bytes());
    out.extend_from_slice(s);
}

pub fn packet(first: u8, body: &[u8]) -> Vec<u8> {
    let mut out = vec![first];
    let mut length = body.len();
    loop {
        let byte = (length % 128) as u8;
        length /= 128;
        out.push(if length > 0 { byte | 0x80 } else { byte });
        if length == 0 {
            break;
        }
    }
    out.extend_from_slice(body);
    out
}
