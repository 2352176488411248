//! The few MQTT 3.1.1 packets the bench sends and reads, hand-rolled so the generator costs
//! the same against every broker and spends its time on the wire, not in a client library's
//! session machinery (no retries, no keep-alive timer, no reconnects: runs are short).

use anyhow::{bail, ensure};

pub const CONNACK: u8 = 0x20;
pub const PUBLISH: u8 = 0x30;
pub const PUBACK: u8 = 0x40;
pub const PUBREC: u8 = 0x50;
/// PUBREL's first byte: its fixed-header flags must be 0b0010.
pub const PUBREL: u8 = 0x62;
pub const PUBCOMP: u8 = 0x70;
pub const SUBACK: u8 = 0x90;

/// Appends the remaining-length varint (at most 4 bytes, MQTT's limit).
fn put_len(out: &mut Vec<u8>, mut len: usize) {
    loop {
        let mut byte = (len % 128) as u8;
        len /= 128;
        if len > 0 {
            byte |= 0x80;
        }
        out.push(byte);
        if len == 0 {
            return;
        }
    }
}

fn put_str(out: &mut Vec<u8>, s: &[u8]) {
    out.extend_from_slice(&(s.len() as u16).to_be_bytes());
    out.extend_from_slice(s);
}

/// CONNECT with a clean session; credentials are optional (Mosquitto runs anonymous).
pub fn connect(client_id: &str, credentials: Option<(&str, &str)>, keep_alive: u16) -> Vec<u8> {
    let mut body = Vec::with_capacity(64);
    put_str(&mut body, b"MQTT");
    body.push(4); // protocol level 3.1.1
    body.push(if credentials.is_some() { 0xC2 } else { 0x02 });
    body.extend_from_slice(&keep_alive.to_be_bytes());
    put_str(&mut body, client_id.as_bytes());
    if let Some((user, password)) = credentials {
        put_str(&mut body, user.as_bytes());
        put_str(&mut body, password.as_bytes());
    }
    frame(0x10, &body)
}

pub fn subscribe(packet_id: u16, filter: &str, qos: u8) -> Vec<u8> {
    let mut body = packet_id.to_be_bytes().to_vec();
    put_str(&mut body, filter.as_bytes());
    body.push(qos);
    frame(0x82, &body)
}

/// Appends one PUBLISH (no DUP, no RETAIN); `packet_id` is only written at QoS 1.
pub fn publish(out: &mut Vec<u8>, topic: &str, qos: u8, packet_id: u16, payload: &[u8]) {
    let id_len = if qos > 0 { 2 } else { 0 };
    out.push(PUBLISH | (qos << 1));
    put_len(out, 2 + topic.len() + id_len + payload.len());
    put_str(out, topic.as_bytes());
    if qos > 0 {
        out.extend_from_slice(&packet_id.to_be_bytes());
    }
    out.extend_from_slice(payload);
}

/// A PUBACK, PUBREC, PUBREL or PUBCOMP (`header` is the packet's first byte).
pub fn ack(out: &mut Vec<u8>, header: u8, packet_id: u16) {
    out.extend_from_slice(&[header, 2]);
    out.extend_from_slice(&packet_id.to_be_bytes());
}

fn frame(header: u8, body: &[u8]) -> Vec<u8> {
    let mut out = vec![header];
    put_len(&mut out, body.len());
    out.extend_from_slice(body);
    out
}

/// One packet read from a buffer: its first header byte and its body.
pub struct Packet<'a> {
    pub header: u8,
    pub body: &'a [u8],
}

impl Packet<'_> {
    pub fn kind(&self) -> u8 {
        self.header & 0xF0
    }

    /// The packet id an acknowledgement (PUBACK, PUBREC, PUBREL, PUBCOMP) starts with.
    pub fn ack_id(&self) -> anyhow::Result<u16> {
        ensure!(self.body.len() >= 2, "acknowledgement too short");
        Ok(u16::from_be_bytes([self.body[0], self.body[1]]))
    }

    /// A PUBLISH's QoS, packet id (0 at QoS 0) and payload.
    pub fn publish(&self) -> anyhow::Result<(u8, u16, &[u8])> {
        let qos = (self.header >> 1) & 3;
        ensure!(self.body.len() >= 2, "PUBLISH too short");
        let mut at = 2 + u16::from_be_bytes([self.body[0], self.body[1]]) as usize;
        let mut id = 0;
        if qos > 0 {
            ensure!(self.body.len() >= at + 2, "PUBLISH too short");
            id = u16::from_be_bytes([self.body[at], self.body[at + 1]]);
            at += 2;
        }
        ensure!(self.body.len() >= at, "PUBLISH too short");
        Ok((qos, id, &self.body[at..]))
    }
}

/// The next complete packet at the start of `buf` and its length on the wire, or `None`
/// until more bytes arrive.
pub fn next_packet(buf: &[u8]) -> anyhow::Result<Option<(Packet<'_>, usize)>> {
    let mut len = 0usize;
    for i in 0..4 {
        let Some(&byte) = buf.get(1 + i) else {
            return Ok(None);
        };
        len |= ((byte & 0x7F) as usize) << (7 * i);
        if byte & 0x80 == 0 {
            let start = 2 + i;
            if buf.len() < start + len {
                return Ok(None);
            }
            let packet = Packet {
                header: buf[0],
                body: &buf[start..start + len],
            };
            return Ok(Some((packet, start + len)));
        }
    }
    bail!("malformed remaining length")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_publish_reads_back_as_written() {
        let mut buf = Vec::new();
        publish(&mut buf, "channels/c/messages", 1, 7, &[9u8; 200]);
        buf.extend_from_slice(&[PUBACK, 2, 0]); // an incomplete packet after it
        let (packet, used) = next_packet(&buf).unwrap().unwrap();
        assert_eq!(packet.kind(), PUBLISH);
        let (qos, id, payload) = packet.publish().unwrap();
        assert_eq!((qos, id, payload), (1, 7, &[9u8; 200][..]));
        assert!(next_packet(&buf[used..]).unwrap().is_none());
    }

    #[test]
    fn connect_carries_credentials_only_when_given() {
        assert_eq!(connect("a", None, 60)[9], 0x02);
        assert_eq!(connect("a", Some(("u", "p")), 60)[9], 0xC2);
    }
}
