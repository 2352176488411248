//! Plays one mapped case over a real TCP connection and judges it as Mosquitto's
//! `msg_sequence_test.py` does: each expected packet must arrive byte for byte; at the end
//! a must-disconnect case must find the connection closed (EOF or reset, not one more
//! byte, not silence), any other case must still get PINGRESP for a PINGREQ.

use std::io::ErrorKind;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::timeout;

use super::mapping::{Action, Expect, Identity, connect, packet, put_str};

/// How long any one expected packet or the close may take (Mosquitto's socket timeout).
pub const STEP: Duration = Duration::from_secs(2);

/// Plays `actions`; `Err` says which step failed and how.
pub async fn play(
    addr: SocketAddr,
    actions: &[Action],
    expect_disconnect: bool,
    helper: &Identity,
) -> Result<(), String> {
    let mut socket = TcpStream::connect(addr).await.map_err(|e| e.to_string())?;
    for (i, action) in actions.iter().enumerate() {
        let step = match action {
            // A write into a socket the broker already closed is not the case's failure:
            // what is read next decides.
            Action::Send(bytes) => {
                let _ = socket.write_all(bytes).await;
                Ok(())
            }
            Action::Recv(Expect::Bytes(expected)) => recv_exact(&mut socket, expected).await,
            Action::Recv(Expect::V5Ack(expected)) => recv_v5_ack(&mut socket, expected).await,
            Action::Recv(Expect::Connack { flags, code }) => {
                recv_connack(&mut socket, *flags, *code).await
            }
            Action::Publish {
                topic,
                qos,
                payload,
            } => publish(addr, helper, topic, *qos, payload).await,
        };
        step.map_err(|e| format!("step {}: {e}", i + 1))?;
    }
    if expect_disconnect {
        closed(&mut socket).await
    } else {
        let _ = socket.write_all(&[0xC0, 0]).await;
        recv_exact(&mut socket, &[0xD0, 0])
            .await
            .map_err(|e| format!("connected check: {e}"))
    }
}

async fn read_exact(socket: &mut TcpStream, n: usize) -> Result<Vec<u8>, String> {
    let mut got = vec![0; n];
    match timeout(STEP, socket.read_exact(&mut got)).await {
        Err(_) => Err(format!("nothing (or not all {n} bytes) within {STEP:?}")),
        Ok(Err(e)) if e.kind() == ErrorKind::UnexpectedEof => Err("connection closed".into()),
        Ok(Err(e)) => Err(format!("connection failed: {e}")),
        Ok(Ok(_)) => Ok(got),
    }
}

async fn recv_exact(socket: &mut TcpStream, expected: &[u8]) -> Result<(), String> {
    let got = read_exact(socket, expected.len()).await?;
    if got != expected {
        return Err(format!("got {} expected {}", hex(&got), hex(expected)));
    }
    Ok(())
}

/// A v5 SUBACK or DISCONNECT, read whole, equal to the first packet of `expected` but for
/// its properties; then the rest of `expected` byte for byte.
async fn recv_v5_ack(socket: &mut TcpStream, expected: &[u8]) -> Result<(), String> {
    let (first, rest) = expected.split_at(packet_len(expected).unwrap_or(expected.len()));
    let got = read_packet(socket).await?;
    if got != first && without_properties(&got) != without_properties(first) {
        return Err(format!("got {} expected {}", hex(&got), hex(first)));
    }
    recv_exact(socket, rest).await
}

/// The length of the packet `bytes` begins with.
fn packet_len(bytes: &[u8]) -> Option<usize> {
    let (mut length, mut at) = (0usize, 1);
    loop {
        let byte = *bytes.get(at)?;
        length |= usize::from(byte & 0x7F) << (7 * (at - 1));
        at += 1;
        if byte & 0x80 == 0 {
            return Some(at + length).filter(|end| *end <= bytes.len());
        }
    }
}

const SUBACK: u8 = 0x90;
const DISCONNECT: u8 = 0xE0;

/// One whole packet: its first byte, remaining length and body.
async fn read_packet(socket: &mut TcpStream) -> Result<Vec<u8>, String> {
    let mut packet = read_exact(socket, 1).await?;
    let (mut length, mut shift) = (0usize, 0);
    loop {
        let byte = read_exact(socket, 1).await?[0];
        packet.push(byte);
        length |= usize::from(byte & 0x7F) << shift;
        shift += 7;
        if byte & 0x80 == 0 || shift > 21 {
            break;
        }
    }
    packet.extend(read_exact(socket, length).await?);
    Ok(packet)
}

/// A v5 SUBACK's packet id and codes, or a DISCONNECT's code, with the property list left
/// out; `None` for anything else or a packet too short to be one. Mosquitto's expected
/// packets hold empty property lists or none (a DISCONNECT of one byte).
fn without_properties(packet: &[u8]) -> Option<(u8, Vec<u8>)> {
    let (&kind, rest) = packet.split_first()?;
    let body = skip_varint(rest)?;
    let (head, rest) = match kind {
        SUBACK if body.len() >= 3 => body.split_at(2),
        DISCONNECT if !body.is_empty() => body.split_at(1),
        _ => return None,
    };
    let rest = match rest.is_empty() {
        true => rest,
        false => {
            let length = usize::from(*rest.first()?);
            // Short property lists only: a one-byte length.
            (length < 0x80).then_some(())?;
            rest.get(1 + length..)?
        }
    };
    Some((kind, [head, rest].concat()))
}

fn skip_varint(bytes: &[u8]) -> Option<&[u8]> {
    let end = bytes.iter().position(|b| b & 0x80 == 0)?;
    bytes.get(end + 1..)
}

/// A whole CONNACK, judged on its flags and code only.
async fn recv_connack(socket: &mut TcpStream, flags: u8, code: u8) -> Result<(), String> {
    let head = read_exact(socket, 2).await?;
    if head[0] != 0x20 || head[1] & 0x80 != 0 || head[1] < 2 {
        return Err(format!("got {} expected a CONNACK", hex(&head)));
    }
    let body = read_exact(socket, usize::from(head[1])).await?;
    if (body[0], body[1]) != (flags, code) {
        return Err(format!(
            "got CONNACK {} expected flags {flags:02X} code {code:02X}",
            hex(&[&head[..], &body[..]].concat())
        ));
    }
    Ok(())
}

async fn closed(socket: &mut TcpStream) -> Result<(), String> {
    let mut byte = [0u8; 1];
    match timeout(STEP, socket.read(&mut byte)).await {
        Err(_) => Err(format!("still open after {STEP:?}")),
        Ok(Ok(0)) => Ok(()),
        Ok(Ok(_)) => Err(format!("still connected: got byte {:02X}", byte[0])),
        Ok(Err(_)) => Ok(()),
    }
}

/// Mosquitto's helper: another client publishes once and leaves. Our helper is the
/// second thing on the channel (MQTT 3.1.1, clean session).
async fn publish(
    addr: SocketAddr,
    helper: &Identity,
    topic: &[u8],
    qos: u8,
    payload: &[u8],
) -> Result<(), String> {
    let mut socket = TcpStream::connect(addr).await.map_err(|e| e.to_string())?;
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let client_id = format!("helper-{}", NEXT.fetch_add(1, Ordering::Relaxed));
    let fail = |e: String| format!("helper: {e}");
    socket
        .write_all(&connect(4, &client_id, helper))
        .await
        .map_err(|e| fail(e.to_string()))?;
    recv_connack(&mut socket, 0, 0).await.map_err(fail)?;
    let mut body = Vec::new();
    put_str(&mut body, topic);
    if qos > 0 {
        body.extend([0, 1]);
    }
    body.extend_from_slice(payload);
    socket
        .write_all(&packet(0x30 | qos << 1, &body))
        .await
        .map_err(|e| fail(e.to_string()))?;
    match qos {
        1 => recv_exact(&mut socket, &[0x40, 2, 0, 1])
            .await
            .map_err(fail)?,
        2 => {
            recv_exact(&mut socket, &[0x50, 2, 0, 1])
                .await
                .map_err(fail)?;
            let _ = socket.write_all(&[0x62, 2, 0, 1]).await;
            recv_exact(&mut socket, &[0x70, 2, 0, 1])
                .await
                .map_err(fail)?;
        }
        _ => {}
    }
    let _ = socket.write_all(&[0xE0, 0]).await;
    Ok(())
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect()
}
