//! The MQTT adapter: MQTT 3.1.1 and 5 on `FF_MQTT_ADDR`, on a broker of our own.
//!
//! - CONNECT: username = thing id, password = thing key; otherwise CONNACK "bad user name
//!   or password". A will must be on a topic the thing may publish to ("not authorized").
//! - SUBSCRIBE: `channels/<id>/messages[/…]` of a connected channel, wildcards only in
//!   the subtopic; otherwise a SUBACK failure.
//! - PUBLISH: to a connected channel, then to the bus with the thing as publisher and
//!   protocol `mqtt`; otherwise dropped and the connection closed (Mainflux), counted.
//! - Delivery: the broker delivers MQTT publishes to MQTT subscribers itself; the injector
//!   delivers every other bus message (not `mqtt`, Mainflux's forwarder rule) at QoS 1 on
//!   `channels/<id>/messages[/<a/b>]`. So no subscriber gets a message twice.
//! - MQTT 5: message properties travel with the message (`Message::properties`) to v5
//!   subscribers and the bus; shared subscriptions, topic aliases, subscription identifiers,
//!   will delay and the keep-alive and session expiry caps are the broker's (README table).
//!
//! Layout:
//! - this file: `MqttEngine` (what an engine must do), `start`, the running `MqttAdapter`.
//! - `gate`: the engine-independent rules (connect, subscribe, publish → bus).
//! - `broker`: the engine: sessions, routing, retained messages, the wire.
//! - `certified_login`: a device certificate's thing written into the CONNECT (mTLS relays).
//! - `presence`: connect/disconnect events (Mainflux's `mainflux.mqtt` feed).
//! - `stats`: counters.
//! - `websocket`: MQTT over WebSocket at `/mqtt` on the HTTP listener, bridged to it.

mod broker;
mod certified_login;
mod gate;
mod presence;
mod stats;
pub mod websocket;

use std::net::SocketAddr;
use std::sync::Arc;

use async_trait::async_trait;
use domain::ids::{ChannelId, ThingId};
use tokio::sync::broadcast;
use tokio::task::JoinHandle;

pub use crate::revocation::{Revocation, RevocationFeed};
pub use certified_login::CertifiedLogin;
pub use gate::{ConnectRefusal, Gate, Refusal};
pub use presence::{Presence, PresenceFeed, PresenceKind};
pub use stats::{MqttStats, MqttStatsSnapshot};

use crate::bus::{BusError, BusSubscription, ChannelFilter, MessageBus};
use crate::message::{Message, Protocol};
use crate::pipeline::Pipeline;

/// How many bus messages the injector may have waiting before the bus drops it (it then
/// resubscribes, and counts it).
const INJECTOR_QUEUE: usize = 4096;

#[derive(Debug, Clone)]
pub struct MqttConfig {
    pub addr: SocketAddr,
    /// Largest MQTT packet accepted, in bytes (payload plus headers).
    pub max_packet_size: u32,
    /// QoS 1 messages sent to one session and not yet acknowledged by it.
    pub max_inflight: u16,
    /// Messages queued for one session beyond those in flight (a slow or away subscriber).
    /// The engine drops what does not fit, after the publisher got its PUBACK: size it for
    /// the longest backlog a subscriber may build up.
    pub max_queue: usize,
    /// Bytes of topic and payload queued for or in flight to one session; beyond them
    /// messages are dropped as beyond `max_queue` (one message always fits an empty queue).
    pub max_queue_bytes: usize,
    /// Bytes of topics and payloads retained per channel; a retained message beyond them
    /// is delivered, not retained.
    pub max_retained_bytes: usize,
    /// Sessions one thing may hold, connected or away (each under its own client id); a
    /// CONNECT beyond them is refused ("quota exceeded", v3 "server unavailable").
    pub max_sessions_per_thing: usize,
    /// TCP connections open at once, CONNECTed or not; more clients wait in the kernel's
    /// accept queue until one closes, so MQTT cannot take every file descriptor.
    pub max_connections: usize,
    /// Seconds of keep-alive a client may ask for; an MQTT 5 client asking for more gets
    /// this one in CONNACK (Server Keep Alive). An MQTT 3.1.1 client cannot be told, so it
    /// keeps its own.
    pub max_keep_alive: u16,
    /// Seconds an away session is kept at most (v5 session expiry is capped to it; a v3
    /// persistent session lives this long).
    pub max_session_expiry: u32,
}

/// No cap on the keep-alive, as Mosquitto's `max_keepalive` default.
pub const DEFAULT_MAX_KEEP_ALIVE: u16 = u16::MAX;
/// Two hours: Mosquitto's order of magnitude for away sessions.
pub const DEFAULT_MAX_SESSION_EXPIRY: u32 = 2 * 3600;

#[derive(Debug, thiserror::Error)]
pub enum MqttError {
    #[error("cannot listen for MQTT on {0}: {1}")]
    Bind(SocketAddr, String),
    #[error("cannot subscribe the MQTT injector to the bus: {0}")]
    Bus(#[from] BusError),
}

/// What the adapter needs from an MQTT engine beyond asking the `Gate` from its hooks
/// (authenticate, authorize subscribe and publish, forward to the bus): the seam where a
/// clustered engine would plug in.
#[async_trait]
pub trait MqttEngine: Send + Sync + 'static {
    /// Delivers a message that arrived over another protocol to the engine's subscribers,
    /// at QoS 1, not retained. `false` when the engine did not take it.
    fn inject(&self, message: &Message) -> bool;
    /// Closes every live session of `thing` and forgets its subscriptions; how many.
    async fn close_sessions(&self, thing: ThingId) -> usize;
    /// Closes every live session subscribed to `channel`; how many.
    async fn close_channel(&self, channel: ChannelId) -> usize;
    /// Closes every session (shutdown).
    async fn close_all(&self) -> usize;
    /// How many retained messages the engine holds.
    async fn retained_messages(&self) -> usize;
}

/// How long a stop waits for the closed sessions to end.
const SESSIONS_END_LIMIT: std::time::Duration = std::time::Duration::from_secs(2);

/// A running MQTT adapter. Dropping it stops accepting and injecting; call `shutdown`
/// to close the open sessions too.
pub struct MqttAdapter {
    local_addr: SocketAddr,
    engine: Arc<dyn MqttEngine>,
    stats: Arc<MqttStats>,
    tasks: Vec<JoinHandle<()>>,
}

/// Binds `config.addr`, starts the engine, the bus → MQTT injector and the revoker. When
/// this returns, the listener accepts and the injector is subscribed.
pub async fn start(
    config: MqttConfig,
    pipeline: Pipeline,
    revocations: broadcast::Receiver<Revocation>,
    presence: PresenceFeed,
) -> Result<MqttAdapter, MqttError> {
    let stats = Arc::new(MqttStats::default());
    let bus = pipeline.bus().clone();
    let subscription = bus.subscribe(injected(), INJECTOR_QUEUE).await?;
    let gate = Gate::new(pipeline, stats.clone(), presence);
    let (engine, local_addr, mut tasks) = broker::start(&config, gate).await?;
    let engine: Arc<dyn MqttEngine> = engine;
    tasks.push(tokio::spawn(inject(
        subscription,
        bus,
        engine.clone(),
        stats.clone(),
    )));
    tasks.push(tokio::spawn(revoke(revocations, engine.clone())));
    Ok(MqttAdapter {
        local_addr,
        engine,
        stats,
        tasks,
    })
}

type Bus = Arc<dyn MessageBus>;

/// What the injector takes from the bus: every message that did not come over MQTT (the
/// broker delivers those itself; Mainflux's forwarder rule), filtered by the bus, so an
/// MQTT publish costs the injector nothing.
fn injected() -> ChannelFilter {
    ChannelFilter::all().except(Protocol::Mqtt)
}

/// Bus → engine, for every message that did not come over MQTT. A lagged subscription is
/// replaced (messages in the gap are lost to MQTT subscribers, and counted).
async fn inject(
    mut subscription: Box<dyn BusSubscription>,
    bus: Bus,
    engine: Arc<dyn MqttEngine>,
    stats: Arc<MqttStats>,
) {
    loop {
        match subscription.next().await {
            Ok(message) => match engine.inject(&message) {
                true => stats.count_injected(),
                false => stats.count_inject_failure(),
            },
            Err(BusError::Lagged) => {
                stats.count_injector_lagged();
                tracing::warn!("MQTT injector fell behind the bus: resubscribing");
                match bus.subscribe(injected(), INJECTOR_QUEUE).await {
                    Ok(fresh) => subscription = fresh,
                    Err(e) => {
                        tracing::error!(error = %e, "MQTT injector cannot resubscribe");
                        return;
                    }
                }
            }
            Err(_) => return,
        }
    }
}

/// Closes the sessions each revocation names. A revoker that fell behind cannot know
/// whom it missed, so it closes every session (clients reconnect and are checked afresh).
async fn revoke(mut revocations: broadcast::Receiver<Revocation>, engine: Arc<dyn MqttEngine>) {
    loop {
        let closed = match revocations.recv().await {
            Ok(Revocation::Thing(thing)) => engine.close_sessions(thing).await,
            Ok(Revocation::Channel(channel)) => engine.close_channel(channel).await,
            Err(broadcast::error::RecvError::Lagged(missed)) => {
                tracing::warn!(
                    missed,
                    "MQTT revocations fell behind: closing every session"
                );
                engine.close_all().await
            }
            Err(broadcast::error::RecvError::Closed) => return,
        };
        if closed > 0 {
            tracing::info!(closed, "MQTT sessions closed after a revocation");
        }
    }
}

impl MqttAdapter {
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    pub fn stats(&self) -> MqttStatsSnapshot {
        self.stats.snapshot()
    }

    /// The live counters, shared with `/metrics`.
    pub fn counters(&self) -> Arc<MqttStats> {
        self.stats.clone()
    }

    /// How many retained messages are held (one per topic at most).
    pub async fn retained_messages(&self) -> usize {
        self.engine.retained_messages().await
    }

    /// Stops accepting, closes every session, stops injecting; then waits (up to
    /// `SESSIONS_END_LIMIT`) for the sessions to end, so their disconnects are published
    /// (presence, the Redis feed) before the process goes.
    pub async fn shutdown(mut self) {
        for task in &self.tasks {
            task.abort();
        }
        self.engine.close_all().await;
        self.tasks.clear();
        let deadline = tokio::time::Instant::now() + SESSIONS_END_LIMIT;
        while self.stats.live_sessions() > 0 && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
    }
}

impl Drop for MqttAdapter {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}
