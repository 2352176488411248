//! MQTT test support: a provisioned app with the MQTT adapter on port 0, and a rumqttc
//! client driven by a task that reports every incoming packet, or the error that ended it.
#![allow(dead_code)]

use std::time::Duration;

use adapters::bus::{BusSubscription, ChannelFilter};
use adapters::mqtt::MqttAdapter;
use rumqttc::{
    AsyncClient, ConnectionError, Event, LastWill, MqttOptions, Packet, Publish, QoS,
    SubscribeReasonCode,
};
use serde_json::json;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::common::TestApp;

pub const WAIT: Duration = Duration::from_secs(5);
/// How long to watch for a duplicate that should not come.
pub const QUIET: Duration = Duration::from_millis(400);

pub struct Thing {
    pub id: String,
    pub key: String,
}

/// One user owning things `a` and `b` connected to channel `ch`, thing `c` connected to
/// nothing, and channel `other` that nobody is connected to.
pub struct World {
    pub t: TestApp,
    pub mqtt: MqttAdapter,
    pub token: String,
    pub ch: String,
    pub other: String,
    pub a: Thing,
    pub b: Thing,
    pub c: Thing,
}

impl World {
    pub async fn start() -> World {
        Self::start_with(|_| {}).await
    }

    /// Starts with a configuration tweak (e.g. smaller MQTT limits).
    pub async fn start_with(tweak: impl FnOnce(&mut ferroflux::Config)) -> World {
        let t = TestApp::start_with(tweak).await;
        let user = t.user("mqtt@example.com").await;
        let token = user.token;
        let ch = t.channel(&token, json!({"name": "ch"})).await;
        let other = t.channel(&token, json!({"name": "other"})).await;
        let mut things = Vec::new();
        for name in ["a", "b", "c"] {
            let id = t.thing(&token, json!({"name": name})).await;
            let key = t.key_of(&token, &id).await;
            things.push(Thing { id, key });
        }
        let c = things.pop().expect("c");
        let b = things.pop().expect("b");
        let a = things.pop().expect("a");
        t.connect(&token, &ch, &a.id).await;
        t.connect(&token, &ch, &b.id).await;
        let mqtt = t
            .app
            .start_mqtt(([127, 0, 0, 1], 0).into())
            .await
            .expect("MQTT starts");
        World {
            t,
            mqtt,
            token,
            ch,
            other,
            a,
            b,
            c,
        }
    }

    /// A subscription to every message on the bus: what the store and other protocols get.
    pub async fn bus(&self) -> Box<dyn BusSubscription> {
        self.t
            .app
            .pipeline
            .bus()
            .subscribe(ChannelFilter::all(), 16)
            .await
            .expect("bus subscription")
    }

    /// Waits until the adapter has counted `n` sessions closed by revocation.
    pub async fn sessions_closed(&self, n: u64) {
        poll_until(async || self.mqtt.stats(), |s| s.sessions_closed >= n).await;
        assert_eq!(self.mqtt.stats().sessions_closed, n);
    }

    /// Waits until the adapter has seen `n` sessions end.
    pub async fn disconnects(&self, n: u64) {
        poll_until(async || self.mqtt.stats(), |s| s.disconnects >= n).await;
    }

    pub fn topic(&self, channel: &str, subtopic: &str) -> String {
        match subtopic {
            "" => format!("channels/{channel}/messages"),
            _ => format!("channels/{channel}/messages/{subtopic}"),
        }
    }

    pub fn options(&self, client_id: &str, thing: &Thing) -> MqttOptions {
        let addr = self.mqtt.local_addr();
        let mut options = MqttOptions::new(client_id, addr.ip().to_string(), addr.port());
        options.set_credentials(thing.id.clone(), thing.key.clone());
        options.set_keep_alive(Duration::from_secs(30));
        options
    }

    /// Connects as `thing`, expecting CONNACK success.
    pub async fn client(&self, client_id: &str, thing: &Thing) -> Client {
        Client::connect(self.options(client_id, thing))
            .await
            .unwrap_or_else(|e| panic!("{client_id} connects: {e}"))
    }

    /// A will on `topic` for a client of `thing`.
    pub fn with_will(&self, mut options: MqttOptions, topic: &str, payload: &str) -> MqttOptions {
        options.set_last_will(LastWill::new(
            topic,
            payload.as_bytes().to_vec(),
            QoS::AtLeastOnce,
            false,
        ));
        options
    }
}

/// Probes every 20 ms until `done` holds for what `probe` returns; panics with the last
/// probe after `WAIT`.
pub async fn poll_until<T: std::fmt::Debug>(
    mut probe: impl AsyncFnMut() -> T,
    done: impl Fn(&T) -> bool,
) -> T {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let value = probe().await;
        if done(&value) {
            return value;
        }
        assert!(tokio::time::Instant::now() < deadline, "{value:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A connected rumqttc client and the packets it receives.
pub struct Client {
    pub client: AsyncClient,
    /// CONNACK's "session present": a persistent session was resumed.
    pub session_present: bool,
    incoming: mpsc::UnboundedReceiver<Result<Packet, String>>,
    driver: JoinHandle<()>,
}

impl Client {
    /// Connects; `Err` is the error that ended the connection attempt (a refused CONNACK).
    pub async fn connect(options: MqttOptions) -> Result<Client, ConnectionError> {
        let (client, mut eventloop) = AsyncClient::new(options, 64);
        let first: Result<bool, ConnectionError> = tokio::time::timeout(WAIT, async {
            loop {
                match eventloop.poll().await? {
                    Event::Incoming(Packet::ConnAck(ack)) => return Ok(ack.session_present),
                    _ => continue,
                }
            }
        })
        .await
        .expect("CONNACK or an error in time");
        let session_present = first?;
        let (tx, incoming) = mpsc::unbounded_channel();
        let driver = tokio::spawn(async move {
            loop {
                match eventloop.poll().await {
                    Ok(Event::Incoming(packet)) => {
                        if tx.send(Ok(packet)).is_err() {
                            return;
                        }
                    }
                    Ok(Event::Outgoing(_)) => {}
                    Err(e) => {
                        let _ = tx.send(Err(e.to_string()));
                        return;
                    }
                }
            }
        });
        Ok(Client {
            client,
            session_present,
            incoming,
            driver,
        })
    }

    /// The next incoming packet other than acknowledgements and pings; `Err` when the
    /// connection ended; panics after `WAIT`.
    pub async fn next(&mut self) -> Result<Packet, String> {
        self.next_within(WAIT).await.expect("a packet in time")
    }

    async fn next_within(&mut self, limit: Duration) -> Option<Result<Packet, String>> {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let packet = tokio::time::timeout_at(deadline, self.incoming.recv())
                .await
                .ok()?;
            match packet {
                None => return Some(Err("client task ended".into())),
                Some(Ok(
                    Packet::PubAck(_)
                    | Packet::PubRec(_)
                    | Packet::PubRel(_)
                    | Packet::PubComp(_)
                    | Packet::PingResp
                    | Packet::UnsubAck(_),
                )) => continue,
                Some(other) => return Some(other),
            }
        }
    }

    /// Subscribes and returns the SUBACK's code for the one filter.
    pub async fn subscribe(&mut self, filter: &str, qos: QoS) -> SubscribeReasonCode {
        self.client
            .subscribe(filter, qos)
            .await
            .expect("SUBSCRIBE queued");
        match self.next().await {
            Ok(Packet::SubAck(ack)) => ack.return_codes[0],
            other => panic!("expected a SUBACK for {filter}, got {other:?}"),
        }
    }

    pub async fn publish(&self, topic: &str, qos: QoS, payload: &str) {
        self.client
            .publish(topic, qos, false, payload.as_bytes().to_vec())
            .await
            .expect("PUBLISH queued");
    }

    pub async fn publish_retained(&self, topic: &str, payload: &str) {
        self.client
            .publish(topic, QoS::AtLeastOnce, true, payload.as_bytes().to_vec())
            .await
            .expect("PUBLISH queued");
    }

    /// The next PUBLISH received.
    pub async fn message(&mut self) -> Publish {
        match self.next().await {
            Ok(Packet::Publish(publish)) => publish,
            other => panic!("expected a PUBLISH, got {other:?}"),
        }
    }

    /// Asserts nothing but acknowledgements arrives for `QUIET`.
    pub async fn nothing_more(&mut self) {
        if let Some(packet) = self.next_within(QUIET).await {
            panic!("expected nothing more, got {packet:?}");
        }
    }

    /// Waits for the connection to be closed by the server.
    pub async fn closed(&mut self) -> String {
        loop {
            match self.next().await {
                Err(e) => return e,
                Ok(Packet::Disconnect) => return "DISCONNECT".into(),
                Ok(_) => continue,
            }
        }
    }

    /// Drops the TCP connection without a DISCONNECT (so the will is published).
    pub fn vanish(self) {
        self.driver.abort();
    }
}

/// A raw MQTT 3.1.1 CONNECT with username and password, clean or persistent.
pub fn connect_packet(
    client_id: &str,
    username: &str,
    password: &str,
    keep_alive: u16,
    clean: bool,
) -> Vec<u8> {
    let field = |s: &str| {
        let mut out = (s.len() as u16).to_be_bytes().to_vec();
        out.extend_from_slice(s.as_bytes());
        out
    };
    let mut body = field("MQTT");
    body.extend([4, 0b1100_0000 | u8::from(clean) << 1]);
    body.extend(keep_alive.to_be_bytes());
    for part in [client_id, username, password] {
        body.extend(field(part));
    }
    assert!(body.len() < 128, "one-byte remaining length");
    let mut packet = vec![0x10, body.len() as u8];
    packet.extend(body);
    packet
}
