//! Ferroflux's own MQTT broker: MQTT 3.1.1 and 5 on rmqtt-codec, built for what the
//! adapter needs and nothing more.
//!
//! It replaced rmqtt as the engine by measurement (README, "MQTT"): an idle session cost
//! 16 KiB there, and every rule already lived in the `Gate`. Here a connection is one task
//! that holds no buffer while idle, a session is a small struct with empty queues, and
//! every topic names one channel, so subscriptions are indexed by channel.
//!
//! - `handshake`: a new connection up to CONNACK.
//! - `connection`: one client's task after it (packets in, messages out); `packets` acts
//!   on what the client sends, `ending` closes (reason, will), `aliases` are its topic
//!   aliases.
//! - `registry`: sessions by client id (resume, takeover, expiry, revocation).
//! - `router`: subscriptions by channel; a message reaches each session once; `shared`:
//!   shared subscriptions, one member of a group per message.
//! - `session`: one session's queue, in-flight window and subscriptions; `queue` drains it.
//! - `outgoing`: a message on its way to subscribers, shared, and one session's copy.
//! - `properties`: MQTT 5 message properties read off PUBLISHes and written onto them.
//! - `retained`: the last retained message per topic.
//! - `inbound`: what clients send, read through rmqtt-codec, one shape for both versions.
//! - `checks`: the rules of MQTT the codec leaves out (malformed packets end the connection).
//! - `wire`: what the broker sends, written by hand; `reasons`: what it says in words (v5).

mod aliases;
mod checks;
mod connection;
mod delivery;
mod ending;
mod handshake;
mod inbound;
mod outgoing;
mod packets;
mod properties;
mod queue;
#[cfg(test)]
mod reader_props;
mod reasons;
mod registry;
mod retained;
mod router;
mod session;
mod shared;
mod wire;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use bytes::{Bytes, BytesMut};
use bytestring::ByteString;
use domain::ids::{ChannelId, ThingId};
use rmqtt_codec::types::QoS;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio::task::JoinHandle;

use self::registry::Registry;
use self::retained::{Kept, Retained};
use self::router::Router;
use self::session::{Kick, QueueLimit, Routed, Session};
use super::gate::{Gate, Refusal};
use super::{MqttConfig, MqttEngine, MqttError};
use crate::message::{Message, MessageProperties};
use crate::subtopic::{Subtopic, mqtt_topic};

/// How often keep-alives and away sessions are checked.
const SWEEP_EVERY: Duration = Duration::from_millis(250);

struct Limits {
    max_packet_size: u32,
    max_inflight: usize,
    queue: QueueLimit,
    /// Bytes of retained messages one channel may hold.
    max_retained_bytes: usize,
    /// Sessions one thing may hold, connected or away.
    max_sessions_per_thing: usize,
    /// Keep-alive seconds a client may ask for (v5 clients asking more are told this one).
    max_keep_alive: u16,
    /// How long an away session is kept, at most.
    max_session_expiry_ms: u64,
}

pub(super) struct Broker {
    gate: Gate,
    limits: Limits,
    registry: Registry,
    router: Router,
    retained: Retained,
    started: Instant,
}

/// A PUBLISH (or will) as the client sent it.
struct Inbound<'a> {
    topic: &'a ByteString,
    payload: &'a [u8],
    qos: QoS,
    retain: bool,
    /// Its MQTT 5 properties, owned already; `None` for most messages.
    properties: Option<Arc<MessageProperties>>,
}

/// Binds the listener and starts accepting; the tasks are the acceptor and the sweeper.
pub(super) async fn start(
    config: &MqttConfig,
    gate: Gate,
) -> Result<(Arc<Broker>, SocketAddr, Vec<JoinHandle<()>>), MqttError> {
    let listener = TcpListener::bind(config.addr)
        .await
        .map_err(|e| MqttError::Bind(config.addr, e.to_string()))?;
    let local_addr = listener
        .local_addr()
        .map_err(|e| MqttError::Bind(config.addr, e.to_string()))?;
    let broker = Arc::new(Broker {
        gate,
        limits: Limits {
            max_packet_size: config.max_packet_size,
            max_inflight: usize::from(config.max_inflight.max(1)),
            queue: QueueLimit {
                messages: config.max_queue,
                bytes: config.max_queue_bytes.min(u32::MAX as usize),
            },
            max_retained_bytes: config.max_retained_bytes,
            max_sessions_per_thing: config.max_sessions_per_thing,
            max_keep_alive: config.max_keep_alive.max(1),
            max_session_expiry_ms: u64::from(config.max_session_expiry) * 1000,
        },
        registry: Registry::default(),
        router: Router::default(),
        retained: Retained::default(),
        started: Instant::now(),
    });
    let slots = Arc::new(Semaphore::new(config.max_connections.max(1)));
    let acceptor = tokio::spawn(accept(listener, broker.clone(), slots));
    let sweeper = tokio::spawn(sweep(Arc::downgrade(&broker)));
    Ok((broker, local_addr, vec![acceptor, sweeper]))
}

/// A full connection table is logged at most this often.
const LIMIT_LOG_INTERVAL: Duration = Duration::from_secs(60);

async fn accept(listener: TcpListener, broker: Arc<Broker>, slots: Arc<Semaphore>) {
    let mut last_full_log: Option<Instant> = None;
    loop {
        if slots.available_permits() == 0
            && last_full_log.is_none_or(|t| t.elapsed() >= LIMIT_LOG_INTERVAL)
        {
            tracing::warn!(
                "MQTT connection limit reached: new clients wait until one closes \
                 (raise FF_MQTT_MAX_CONNECTIONS if this is legitimate load)"
            );
            last_full_log = Some(Instant::now());
        }
        let Ok(slot) = slots.clone().acquire_owned().await else {
            return;
        };
        match listener.accept().await {
            Ok((stream, _)) => {
                let broker = broker.clone();
                tokio::spawn(async move {
                    handshake::serve(broker, stream).await;
                    drop(slot);
                });
            }
            Err(e) => {
                // Out of file descriptors, typically: wait instead of spinning.
                tracing::warn!(error = %e, "MQTT accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

/// Closes connections silent past 1.5 keep-alives and forgets away sessions that expired.
async fn sweep(broker: std::sync::Weak<Broker>) {
    let mut tick = tokio::time::interval(SWEEP_EVERY);
    loop {
        tick.tick().await;
        let Some(broker) = broker.upgrade() else {
            return;
        };
        let now = broker.now_ms();
        let (silent, ended) = broker.registry.expired(now);
        for session in silent {
            kick_if_silent(&session, now);
        }
        for session in ended {
            broker.registry.end_expired(&broker.router, &session, now);
        }
    }
}

/// Tells the live connection of `session` to close if it is still silent: checked again
/// under the state lock, as a new connection may have taken the session over since.
fn kick_if_silent(session: &Session, now_ms: u64) {
    let mut state = session.lock();
    if !session.is_silent(now_ms) {
        return;
    }
    if let Some(link) = &mut state.link {
        link.kick = Some(Kick::KeepAlive);
        link.wake.notify_one();
    }
    // Checked once: a connection that lingers is not kicked again every sweep.
    session.keep_alive.store(0, Ordering::Relaxed);
}

impl Broker {
    fn now_ms(&self) -> u64 {
        self.started.elapsed().as_millis() as u64
    }

    /// How long a session whose client asked for `secs` outlives its connection: as asked,
    /// within the configured cap.
    fn session_expiry_ms(&self, secs: u32) -> u64 {
        (u64::from(secs) * 1000).min(self.limits.max_session_expiry_ms)
    }

    /// An MQTT publish or will of `thing`: authorized and on the bus (the gate), then to
    /// this broker's subscribers on its canonical topic, and retained if asked.
    fn publish(
        &self,
        thing: ThingId,
        from: Option<&Session>,
        inbound: Inbound<'_>,
    ) -> Result<(), Refusal> {
        let (topic, payload) = owned(inbound.topic, inbound.payload);
        let properties = inbound.properties;
        let (channel, subtopic) =
            self.gate
                .publish(thing, &topic, payload.clone(), properties.clone())?;
        let topic = match is_canonical(&topic, subtopic.as_ref()) {
            true => topic,
            false => ByteString::from(mqtt_topic(channel, subtopic.as_ref())),
        };
        let message = Routed {
            channel,
            subtopic,
            topic,
            payload,
            qos: inbound.qos,
            retain: inbound.retain,
            properties,
        };
        if message.retain
            && self.retained.set(&message, self.limits.max_retained_bytes) == Kept::Refused
        {
            self.gate.stats().count_retained_refused();
        }
        self.route(&message, from);
        Ok(())
    }

    fn route(&self, message: &Routed, from: Option<&Session>) {
        let dropped = self.router.route(message, from, self.limits.queue);
        for _ in 0..dropped {
            self.gate.stats().count_dropped();
        }
    }

    /// Forgets the sessions `select` picks and closes their connections; how many.
    fn close_where(&self, why: Kick, select: impl Fn(&Session) -> bool) -> usize {
        let closed = self.registry.kick_where(&self.router, why, select);
        for _ in 0..closed {
            self.gate.stats().count_session_closed();
        }
        closed
    }
}

/// Topic and payload copied out of the read buffer, in one allocation: decoded, they share
/// the publisher's whole read buffer, which every queued copy (an away subscriber's
/// backlog) would keep alive.
fn owned(topic: &str, payload: &[u8]) -> (ByteString, Bytes) {
    let mut both = BytesMut::with_capacity(topic.len() + payload.len());
    both.extend_from_slice(topic.as_bytes());
    both.extend_from_slice(payload);
    let mut payload = both.freeze();
    let topic = payload.split_to(topic.len());
    // The bytes of a `str`: valid UTF-8.
    let topic = ByteString::try_from(topic).unwrap_or_default();
    (topic, payload)
}

/// Whether `topic` is already written as `channels/<id>/messages[/a/b]`, the spelling every
/// subscriber sees. `topic` parsed, so its channel id is canonical when it starts that way.
fn is_canonical(topic: &str, subtopic: Option<&Subtopic>) -> bool {
    let tail = topic
        .strip_prefix("channels/")
        .and_then(|rest| rest.get(36..))
        .and_then(|rest| rest.strip_prefix("/messages"));
    match (tail, subtopic) {
        (Some(tail), None) => tail.is_empty(),
        (Some(tail), Some(subtopic)) => tail.strip_prefix('/').is_some_and(|tail| {
            tail.len() == subtopic.len()
                && tail
                    .bytes()
                    .zip(subtopic.as_str().bytes())
                    .all(|(t, s)| (t == s && t != b'.') || (t == b'/' && s == b'.'))
        }),
        (None, _) => false,
    }
}

#[async_trait]
impl MqttEngine for Broker {
    fn inject(&self, message: &Message) -> bool {
        // Most channels have no MQTT subscriber: no topic to build then.
        if !self.router.has_subscribers(message.channel) {
            return true;
        }
        let routed = Routed {
            channel: message.channel,
            subtopic: message.subtopic.clone(),
            topic: ByteString::from(mqtt_topic(message.channel, message.subtopic.as_ref())),
            payload: message.payload.clone(),
            qos: QoS::AtLeastOnce,
            retain: false,
            properties: message.properties.clone(),
        };
        self.route(&routed, None);
        true
    }

    async fn close_sessions(&self, thing: ThingId) -> usize {
        self.close_where(Kick::Revoked, |session| session.thing == thing)
    }

    async fn close_channel(&self, channel: ChannelId) -> usize {
        let cleared = self.retained.clear_channel(channel);
        if cleared > 0 {
            tracing::info!(%channel, cleared, "retained messages of a removed channel dropped");
        }
        let subscribed = self.router.subscribers(channel);
        self.close_where(Kick::Revoked, |session| {
            subscribed.iter().any(|s| std::ptr::eq(&**s, session))
        })
    }

    async fn close_all(&self) -> usize {
        self.close_where(Kick::Shutdown, |_| true)
    }

    async fn retained_messages(&self) -> usize {
        self.retained.count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owned_topic_and_payload_share_one_allocation_and_keep_their_bytes() {
        let (topic, payload) = owned("channels/é/messages", b"\x00\xffdata");
        assert_eq!(&*topic, "channels/é/messages");
        assert_eq!(&payload[..], b"\x00\xffdata");
        let (topic_end, payload_start) = (topic.as_bytes().as_ptr_range().end, payload.as_ptr());
        assert_eq!(topic_end, payload_start, "one buffer, split");
    }

    #[test]
    fn canonical_topics_are_recognized_without_rebuilding_them() {
        let id = "0b8a3c4e-7f6d-4a1b-9c2d-3e4f5a6b7c8d";
        let sub = |s: &str| Subtopic::parse(s).unwrap();
        let topic = |tail: &str| format!("channels/{id}/messages{tail}");
        assert!(is_canonical(&topic(""), None));
        assert!(is_canonical(&topic("/a/b"), sub("a/b").as_ref()));
        for (tail, subtopic) in [
            ("/a.b", "a.b"),
            ("/a//b", "a/b"),
            ("/a/b/", "a/b"),
            ("/a?x=1", "a"),
            ("/%61", "a"),
        ] {
            assert!(
                !is_canonical(&topic(tail), sub(subtopic).as_ref()),
                "{tail}"
            );
        }
        assert!(!is_canonical(&format!("/channels/{id}/messages"), None));
        assert!(!is_canonical(&topic("?x"), None));
    }
}
