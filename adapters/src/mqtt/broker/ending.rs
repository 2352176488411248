//! How a connection ends: the reason told to a v5 client, the will published (at once or
//! after its delay), the session detached.

use std::time::Duration;

use domain::ids::ThingId;
use rmqtt_codec::error::DecodeError;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::connection::Connection;
use super::inbound::Will;
use super::session::{Kick, Session};
use super::wire::Goodbye;
use super::{Broker, Inbound};

/// How long, and how many bytes, a connection we closed is read from before it goes.
const LINGER: Duration = Duration::from_secs(2);
const LINGER_BYTES: usize = 256 * 1024;

/// Why a connection ended.
#[derive(Debug)]
pub(super) enum End {
    /// The client sent DISCONNECT.
    Disconnect,
    /// The socket closed or failed.
    Lost,
    Malformed(DecodeError),
    /// A packet the client may not send now.
    Protocol,
    /// A PUBLISH the thing may not make: Mainflux closes the connection.
    Refused,
    /// A PUBLISH with topic alias 0 or above our maximum.
    AliasInvalid,
    /// One QoS 2 PUBLISH more awaiting PUBREL than CONNACK's Receive Maximum allows.
    ReceiveMaxExceeded,
    /// A newer connection with the same client id took the session (or started clean).
    TakenOver,
    Kicked(Kick),
}

impl End {
    fn goodbye(&self) -> Option<Goodbye> {
        Some(match self {
            End::Disconnect | End::Lost => return None,
            End::Malformed(DecodeError::MaxSizeExceeded { .. }) => Goodbye::PacketTooLarge,
            End::Malformed(_) => Goodbye::MalformedPacket,
            End::Protocol => Goodbye::ProtocolError,
            End::Refused => Goodbye::NotAuthorized,
            End::AliasInvalid => Goodbye::TopicAliasInvalid,
            End::ReceiveMaxExceeded => Goodbye::ReceiveMaximumExceeded,
            End::Kicked(Kick::Revoked) => Goodbye::AdministrativeAction,
            End::Kicked(Kick::KeepAlive) => Goodbye::KeepAliveTimeout,
            End::Kicked(Kick::Shutdown) => Goodbye::ServerShuttingDown,
            End::TakenOver => Goodbye::SessionTakenOver,
        })
    }

    /// A will is published when the connection ends without DISCONNECT, but not for a
    /// thing whose rights were revoked nor at shutdown.
    fn publishes_will(&self) -> bool {
        !matches!(self, End::Kicked(Kick::Revoked | Kick::Shutdown))
    }
}

impl Connection {
    /// Says why (v5), publishes the will if due, detaches the session. Once.
    /// Whether a v5 DISCONNECT went out (then `linger` before closing).
    pub(super) fn finish(&mut self, end: End) -> bool {
        if std::mem::replace(&mut self.finished, true) {
            return false;
        }
        let goodbye = end.goodbye().filter(|_| self.wire.is_v5());
        if let Some(reason) = goodbye {
            self.wire.goodbye(&mut self.output, reason);
        }
        let _ = self.flush();
        if end.publishes_will()
            && let Some(will) = self.will.take()
        {
            self.publish_will(*will);
        }
        let broker = &self.broker;
        let now = broker.now_ms();
        let current = broker.registry.detach(
            &broker.router,
            &self.session,
            self.generation,
            self.expiry_ms,
            now,
        );
        if current {
            broker.gate.disconnected(self.thing);
        }
        tracing::info!(thing = %self.thing, client_id = %self.session.client_id, reason = ?end, "MQTT disconnect");
        goodbye.is_some()
    }

    /// After our DISCONNECT: stops writing and reads what the client still sends, for a
    /// moment, before closing. Closing with unread input resets the connection, and the
    /// client may then lose the DISCONNECT still in its receive buffer, or fail to write the
    /// acks it was sending meanwhile. Bounded in time and bytes.
    pub(super) async fn linger(&mut self) {
        let _ = self.stream.shutdown().await;
        let drain = async {
            let mut buffer = [0u8; 1024];
            let mut drained = 0;
            while drained < LINGER_BYTES {
                match self.stream.read(&mut buffer).await {
                    Ok(0) | Err(_) => break,
                    Ok(read) => drained += read,
                }
            }
        };
        let _ = tokio::time::timeout(LINGER, drain).await;
    }

    /// Publishes the will now, or after its delay when the session outlives the connection
    /// (at most for as long as it does): unless a client resumed the session by then.
    fn publish_will(&self, will: Will) {
        let delay_ms = (u64::from(will.delay_secs) * 1000).min(self.expiry_ms);
        let (broker, session, thing) = (self.broker.clone(), self.session.clone(), self.thing);
        if delay_ms == 0 {
            return publish_will(&broker, &session, thing, will);
        }
        let generation = self.generation;
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(delay_ms)).await;
            if session.lock().generation == generation {
                publish_will(&broker, &session, thing, will);
            }
        });
    }
}

fn publish_will(broker: &Broker, session: &Session, thing: ThingId, will: Will) {
    let Will {
        topic,
        payload,
        qos,
        retain,
        carried,
        ..
    } = will;
    let message = Inbound {
        topic: &topic,
        payload: &payload,
        qos,
        retain,
        properties: carried.at(crate::message::now_ns),
    };
    if let Err(refusal) = broker.publish(thing, Some(session), message) {
        tracing::info!(%thing, %refusal, "MQTT will not published");
    }
}
