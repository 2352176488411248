//! The rmqtt 0.24 engine, used as a library: one listener, our hooks, no plugins.
//!
//! rmqtt has no shutdown API (`run()` never returns), so the server runs in a task the
//! caller aborts; sessions already open are closed through `close_all` first.

mod hooks;
mod registry;
mod retained;

use std::net::SocketAddr;
use std::num::NonZeroU16;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use domain::ids::{ChannelId, ThingId};
use rmqtt::codec::types::{Publish as CodecPublish, QoS};
use rmqtt::context::ServerContext;
use rmqtt::hook::Type;
use rmqtt::net::Builder;
use rmqtt::retain::RetainStorage;
use rmqtt::server::MqttServer;
use rmqtt::session::SessionState;
use rmqtt::types::{From, Id, Publish};
use tokio::task::JoinHandle;

use self::hooks::Hooks;
use self::registry::Registry;
use self::retained::RetainedMessages;
use super::gate::Gate;
use super::{MqttConfig, MqttEngine, MqttError};
use crate::message::Message;
use crate::subtopic::{mqtt_topic, parse_subscribe_topic};

/// How long a persistent session whose client is away, and the messages queued for it, live.
const SESSION_EXPIRY: Duration = Duration::from_secs(2 * 3600);

/// A running rmqtt broker wired to the gate.
pub struct RmqttEngine {
    scx: ServerContext,
    registry: Registry,
    retained: RetainedMessages,
    /// Who injected messages come from: a bridge, so no hook sees them.
    bridge: From,
    gate: Gate,
}

/// Binds the listener (a port in use is an error here, not a process exit inside
/// rmqtt), registers the hooks and starts the server task.
pub(super) async fn start(
    config: &MqttConfig,
    gate: Gate,
) -> Result<(Arc<RmqttEngine>, SocketAddr, JoinHandle<()>), MqttError> {
    let scx = ServerContext::new()
        // On by default, and its CPU-load test refuses connections on a busy 2-core box.
        .busy_check_enable(false)
        .build()
        .await;
    let registry = Registry::default();
    let retained = RetainedMessages::default();
    *scx.extends.retain_mut().await = Box::new(retained.clone());
    let register = scx.extends.hook_mgr().register();
    let hooks = [
        Type::ClientAuthenticate,
        Type::ClientSubscribeCheckAcl,
        Type::MessagePublishCheckAcl,
        Type::MessagePublish,
        Type::ClientConnected,
        Type::ClientDisconnected,
        Type::SessionTerminated,
    ];
    for typ in hooks {
        let handler = Hooks {
            gate: gate.clone(),
            scx: scx.clone(),
            registry: registry.clone(),
        };
        register.add(typ, Box::new(handler)).await;
    }
    // Hooks do nothing until started.
    register.start().await;

    let listener = Builder::new()
        .name("ferroflux/mqtt")
        .laddr(config.addr)
        .reuseaddr(Some(true))
        .allow_anonymous(false)
        .max_qos_allowed(QoS::AtLeastOnce)
        .max_packet_size(config.max_packet_size)
        .max_inflight(NonZeroU16::new(config.max_inflight).unwrap_or(NonZeroU16::MIN))
        .max_mqueue_len(config.max_queue)
        // rmqtt's default expires queued messages after 5 minutes; keep them as long as the
        // session itself (2 hours), as Mosquitto does.
        .message_expiry_interval(SESSION_EXPIRY)
        .session_expiry_interval(SESSION_EXPIRY)
        .bind()
        .and_then(|listener| listener.tcp())
        .map_err(|e| MqttError::Bind(config.addr, e.to_string()))?;
    let local_addr = listener
        .local_addr()
        .map_err(|e| MqttError::Bind(config.addr, e.to_string()))?;
    let server = MqttServer::new(scx.clone())
        .listener_by_id(listener, 1)
        .build();
    let task = tokio::spawn(async move {
        if let Err(e) = server.run().await {
            tracing::error!(error = %e, "MQTT server stopped");
        }
    });
    let bridge = From::from_bridge(Id::from(scx.node.id(), "ferroflux-bus".into()));
    let engine = RmqttEngine {
        scx,
        registry,
        retained,
        bridge,
        gate,
    };
    Ok((Arc::new(engine), local_addr, task))
}

impl RmqttEngine {
    /// Ends these sessions and forgets them, subscriptions included (a persistent session
    /// of a revoked thing must not live on and keep receiving).
    async fn close(&self, ids: Vec<Id>) -> usize {
        let mut closed = 0;
        for id in ids {
            let entry = self.scx.extends.shared().await.entry(id.clone());
            let Ok(mut entry) = entry.try_lock().await else {
                continue;
            };
            if entry.session().is_some_and(|s| s.id == id) {
                // clean_start, clear subscriptions, as admin.
                if entry.kick(true, true, true).await.is_ok() {
                    closed += 1;
                    self.gate.stats().count_session_closed();
                }
            }
        }
        closed
    }
}

#[async_trait]
impl MqttEngine for RmqttEngine {
    async fn inject(&self, message: &Message) -> bool {
        let publish = CodecPublish {
            dup: false,
            retain: false,
            qos: QoS::AtLeastOnce,
            topic: mqtt_topic(message.channel, message.subtopic.as_ref()).into(),
            packet_id: None,
            payload: message.payload.clone(),
            properties: None,
        };
        let publish = Publish::from(publish).create_time(message.created / 1_000_000);
        SessionState::forwards(&self.scx, self.bridge.clone(), publish, false, None)
            .await
            .is_ok()
    }

    async fn close_sessions(&self, thing: ThingId) -> usize {
        let ids = self.registry.take(thing);
        self.close(ids).await
    }

    async fn close_channel(&self, channel: ChannelId) -> usize {
        let cleared = self.retained.clear_channel(channel).await;
        if cleared > 0 {
            tracing::info!(%channel, cleared, "retained messages of a removed channel dropped");
        }
        let mut subscribed = Vec::new();
        for id in self.registry.all() {
            let entry = self.scx.extends.shared().await.entry(id.clone());
            let subscriptions = entry.subscriptions().await.unwrap_or_default();
            let on_channel =
                |filter: &str| parse_subscribe_topic(filter).is_ok_and(|(c, _)| c == channel);
            if subscriptions.iter().any(|s| on_channel(&s.topic)) {
                subscribed.push(id);
            }
        }
        self.close(subscribed).await
    }

    async fn retained_messages(&self) -> usize {
        usize::try_from(RetainStorage::count(&self.retained).await).unwrap_or(0)
    }

    async fn close_all(&self) -> usize {
        let ids = self.registry.take_all();
        let closing = self.close(ids);
        tokio::time::timeout(Duration::from_secs(5), closing)
            .await
            .unwrap_or(0)
    }
}
