//! CoAP test support: a provisioned app with the CoAP adapter on port 0, and a client over
//! a real UDP socket whose messages are built and read by coap-lite (an implementation
//! independent of the adapter's own wire code).
#![allow(dead_code)]

use std::time::Duration;

use adapters::bus::{BusSubscription, ChannelFilter};
use adapters::coap::{CoapAdapter, CoapConfig, CoapStatsSnapshot};
use coap_lite::{CoapOption, MessageClass, MessageType, Packet, RequestType, ResponseType};
use serde_json::json;
use tokio::net::UdpSocket;

use crate::common::TestApp;

pub const WAIT: Duration = Duration::from_secs(5);
/// How long to watch for a datagram that should not come.
pub const QUIET: Duration = Duration::from_millis(300);

pub struct Thing {
    pub id: String,
    pub key: String,
}

/// One user owning things `a` and `b` connected to channel `ch`, thing `c` connected to
/// nothing, and channel `other` nobody is connected to; CoAP on a free port.
pub struct World {
    pub t: TestApp,
    pub coap: CoapAdapter,
    pub token: String,
    pub ch: String,
    pub other: String,
    pub a: Thing,
    pub b: Thing,
    pub c: Thing,
}

impl World {
    pub async fn start() -> World {
        Self::start_with(|_| {}, |_| {}).await
    }

    /// Starts with tweaks of the server's settings and of the adapter's configuration.
    pub async fn start_with(
        settings: impl FnOnce(&mut ferroflux::Config),
        adapter: impl FnOnce(&mut CoapConfig),
    ) -> World {
        let t = TestApp::start_with(settings).await;
        let token = t.user("coap@example.com").await.token;
        let ch = t.channel(&token, json!({"name": "ch"})).await;
        let other = t.channel(&token, json!({"name": "other"})).await;
        let mut things = Vec::new();
        for name in ["a", "b", "c"] {
            let id = t.thing(&token, json!({"name": name})).await;
            let key = t.key_of(&token, &id).await;
            things.push(Thing { id, key });
        }
        let (c, b, a) = (
            things.pop().unwrap(),
            things.pop().unwrap(),
            things.pop().unwrap(),
        );
        t.connect(&token, &ch, &a.id).await;
        t.connect(&token, &ch, &b.id).await;
        let mut config = t.app.coap_config(([127, 0, 0, 1], 0).into());
        adapter(&mut config);
        let coap = t.app.start_coap(config).await.expect("CoAP starts");
        World {
            t,
            coap,
            token,
            ch,
            other,
            a,
            b,
            c,
        }
    }

    pub async fn client(&self) -> Client {
        Client::connect(self.coap.local_addr()).await
    }

    /// `channels/<ch>/messages[/<subtopic>]?auth=<key>`.
    pub fn path(&self, channel: &str, subtopic: &str, key: &str) -> String {
        let sub = if subtopic.is_empty() {
            String::new()
        } else {
            format!("/{subtopic}")
        };
        format!("channels/{channel}/messages{sub}?auth={key}")
    }

    /// A subscription to every message on the bus.
    pub async fn bus(&self) -> Box<dyn BusSubscription> {
        let bus = self.t.app.pipeline.bus();
        bus.subscribe(ChannelFilter::all(), 64)
            .await
            .expect("bus subscription")
    }

    pub fn stats(&self) -> CoapStatsSnapshot {
        self.coap.stats()
    }

    /// Waits until the adapter's counters satisfy `done`.
    pub async fn stats_until(
        &self,
        done: impl Fn(&CoapStatsSnapshot) -> bool,
    ) -> CoapStatsSnapshot {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let stats = self.stats();
            if done(&stats) {
                return stats;
            }
            assert!(tokio::time::Instant::now() < deadline, "{stats:?}");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

/// A CoAP client endpoint: one UDP socket (so one endpoint), connected to the adapter.
pub struct Client {
    pub socket: UdpSocket,
    next_mid: u16,
}

impl Client {
    pub async fn connect(server: std::net::SocketAddr) -> Client {
        let socket = UdpSocket::bind("127.0.0.1:0").await.expect("bind");
        socket.connect(server).await.expect("connect");
        Client {
            socket,
            next_mid: 1000,
        }
    }

    pub fn mid(&mut self) -> u16 {
        self.next_mid = self.next_mid.wrapping_add(1);
        self.next_mid
    }

    pub async fn send(&self, packet: &Packet) {
        let bytes = packet.to_bytes_with_limit(70_000).expect("encodes");
        self.socket.send(&bytes).await.expect("send");
    }

    pub async fn send_raw(&self, bytes: &[u8]) {
        self.socket.send(bytes).await.expect("send");
    }

    /// The next datagram, as a packet.
    pub async fn recv(&self) -> Packet {
        self.recv_within(WAIT).await.expect("a datagram in time")
    }

    pub async fn recv_within(&self, wait: Duration) -> Option<Packet> {
        let mut buffer = vec![0; 70_000];
        let len = tokio::time::timeout(wait, self.socket.recv(&mut buffer))
            .await
            .ok()?
            .expect("recv");
        Some(Packet::from_bytes(&buffer[..len]).expect("the adapter sends well-formed CoAP"))
    }

    /// Nothing arrives for `QUIET`.
    pub async fn nothing_more(&self) {
        if let Some(packet) = self.recv_within(QUIET).await {
            panic!("unexpected datagram: {packet:?}");
        }
    }

    /// Sends a request and returns the response (piggybacked, or NON).
    pub async fn call(&self, packet: &Packet) -> Packet {
        self.send(packet).await;
        self.recv().await
    }

    /// A confirmable POST of `payload` to `path`.
    pub async fn post(&mut self, path: &str, payload: &[u8]) -> Packet {
        let mut packet = request(
            MessageType::Confirmable,
            RequestType::Post,
            path,
            self.mid(),
            &[7],
        );
        packet.payload = payload.to_vec();
        self.call(&packet).await
    }

    /// Registers an observer with `token`; the registration response.
    pub async fn observe(&mut self, kind: MessageType, path: &str, token: &[u8]) -> Packet {
        let mut packet = request(kind, RequestType::Get, path, self.mid(), token);
        packet.set_observe_value(0);
        self.call(&packet).await
    }

    /// Acknowledges a confirmable notification.
    pub async fn ack(&self, notification: &Packet) {
        self.send(&empty(
            MessageType::Acknowledgement,
            notification.header.message_id,
        ))
        .await;
    }
}

/// A request to `path` (`a/b?x=y&z=w`): one Uri-Path option per segment, one Uri-Query per
/// parameter.
pub fn request(
    kind: MessageType,
    method: RequestType,
    path: &str,
    mid: u16,
    token: &[u8],
) -> Packet {
    let mut packet = Packet::new();
    packet.header.set_type(kind);
    packet.header.code = MessageClass::Request(method);
    packet.header.message_id = mid;
    packet.set_token(token.to_vec());
    let (path, query) = path.split_once('?').unwrap_or((path, ""));
    for segment in path.split('/').filter(|s| !s.is_empty()) {
        packet.add_option(CoapOption::UriPath, segment.as_bytes().to_vec());
    }
    for parameter in query.split('&').filter(|s| !s.is_empty()) {
        packet.add_option(CoapOption::UriQuery, parameter.as_bytes().to_vec());
    }
    packet
}

pub fn empty(kind: MessageType, mid: u16) -> Packet {
    let mut packet = Packet::new();
    packet.header.set_type(kind);
    packet.header.code = MessageClass::Empty;
    packet.header.message_id = mid;
    packet
}

pub fn code(packet: &Packet) -> MessageClass {
    packet.header.code
}

pub fn response(kind: ResponseType) -> MessageClass {
    MessageClass::Response(kind)
}

/// A uint option's value (Observe, Block, Content-Format, Size).
pub fn uint(packet: &Packet, option: CoapOption) -> Option<u32> {
    let value = packet.get_first_option(option)?;
    Some(
        value
            .iter()
            .fold(0u32, |acc, byte| acc << 8 | u32::from(*byte)),
    )
}

/// A Block option as (num, more, size).
pub fn block(packet: &Packet, option: CoapOption) -> Option<(u32, bool, usize)> {
    let value = uint(packet, option)?;
    Some((value >> 4, value & 8 != 0, 16 << (value & 7)))
}

/// A Block option value.
pub fn block_value(num: u32, more: bool, szx: u32) -> Vec<u8> {
    let value = num << 4 | u32::from(more) << 3 | szx;
    let bytes = value.to_be_bytes();
    let skip = (value.leading_zeros() / 8) as usize;
    bytes[skip.min(3)..].to_vec()
}
