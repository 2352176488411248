//! One socket's life, in one task: frames in → pipeline, bus → frames out, pings, and the
//! revocations that end it.
//!
//! - Every text or binary frame is a publish as the socket's thing, checked on each frame
//!   (`Pipeline::publish_as`), so a disconnect refuses the next frame even before its
//!   revocation arrives.
//! - The socket receives every matching message of the channel from every protocol, its
//!   own publishes included (once), as Mainflux's adapter and MQTT 3.1.1 deliver them:
//!   the bus knows subscriptions, not sockets.
//! - Slow sockets: the bus queues at most `max_queue` messages for the socket and drops it
//!   when that overflows (`BusError::Lagged`); a write that cannot finish within a ping
//!   interval drops it too. Either way the bus and the other sockets never wait for it,
//!   and it is closed with 1013 after what it was sent.
//! - Keep-alive: a ping every interval; a socket that sent nothing (pong or frame) in the
//!   interval after a ping is dropped (1001).
//! - Nothing is held across an await but the socket's own state; no lock at all.

use std::time::Duration;

use axum::extract::ws::{Message as Frame, WebSocket};
use bytes::Bytes;
use domain::ids::{ChannelId, ThingId};
use tokio::sync::broadcast::{self, error::RecvError};
use tokio::sync::watch;
use tokio::time::{Instant, MissedTickBehavior, timeout};

use super::frames::{self, close_code};
use super::path::WildcardPath;
use super::stats::WsStats;
use crate::bus::{BusError, BusSubscription};
use crate::message::{ContentType, Protocol};
use crate::pipeline::{Inbound, Pipeline, PublishError};
use crate::revocation::Revocation;
use crate::subtopic::Subtopic;

/// How long a closing socket gets to take what it was sent and the close frame.
const CLOSE_GRACE: Duration = Duration::from_secs(5);

/// An authorized socket, about to run.
pub struct Session {
    pub pipeline: Pipeline,
    pub stats: std::sync::Arc<WsStats>,
    pub thing: ThingId,
    pub channel: ChannelId,
    pub publish_to: Result<Option<Subtopic>, WildcardPath>,
    pub content_type: Option<ContentType>,
    pub ping_interval: Duration,
    /// Turns true when the server stops.
    pub stopping: watch::Receiver<bool>,
}

/// Why a session ended, and so how it is closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum End {
    /// The client closed, or the connection is gone: nothing to send.
    Left,
    Closed(u16, &'static str),
}

impl Session {
    pub async fn run(
        self,
        mut socket: WebSocket,
        mut subscription: Box<dyn BusSubscription>,
        mut revocations: broadcast::Receiver<Revocation>,
    ) {
        let interval = self.ping_interval.max(Duration::from_millis(10));
        let mut ping = tokio::time::interval_at(Instant::now() + interval, interval);
        ping.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let mut heard_since_ping = true;
        let mut stopping = self.stopping.clone();
        let end = loop {
            tokio::select! {
                // The guard `wait_for` returns is not `Send`: dropped inside.
                () = async { drop(stopping.wait_for(|stopping| *stopping).await) } => {
                    break End::Closed(close_code::GOING_AWAY, "server stopping");
                }
                revocation = revocations.recv() => match revocation {
                    Ok(revocation) if self.ended_by(revocation) => {
                        self.stats.count_revoked();
                        break End::Closed(close_code::POLICY, "access revoked");
                    }
                    Ok(_) => {}
                    // Which revocations were missed is unknown: close, the client
                    // reconnects and is checked afresh (as MQTT does).
                    Err(RecvError::Lagged(_)) => {
                        self.stats.count_revoked();
                        break End::Closed(close_code::POLICY, "access revoked");
                    }
                    Err(RecvError::Closed) => break End::Closed(close_code::GOING_AWAY, "server stopping"),
                },
                frame = socket.recv() => {
                    heard_since_ping = true;
                    match frame {
                        Some(Ok(Frame::Text(text))) => {
                            if let Err(end) = self.publish(Bytes::from(text)) {
                                break end;
                            }
                        }
                        Some(Ok(Frame::Binary(bytes))) => {
                            if let Err(end) = self.publish(bytes) {
                                break end;
                            }
                        }
                        // Pings are answered by the WebSocket layer; a pong is proof of life.
                        Some(Ok(Frame::Ping(_) | Frame::Pong(_))) => {}
                        Some(Ok(Frame::Close(_))) | None => break End::Left,
                        Some(Err(error)) => {
                            self.stats.count_refused_frame();
                            let code = frames::read_error_code(&error);
                            tracing::debug!(%error, code, "WebSocket: unreadable frame");
                            break End::Closed(code, "unreadable frame");
                        }
                    }
                },
                message = subscription.next() => match message {
                    Ok(message) => {
                        let sent = timeout(interval, socket.send(frames::delivery(&message))).await;
                        match sent {
                            Ok(Ok(())) => self.stats.count_delivered(),
                            Ok(Err(_)) => break End::Left,
                            Err(_stalled) => break self.too_slow(),
                        }
                    }
                    Err(BusError::Lagged) => break self.too_slow(),
                    Err(_) => break End::Closed(close_code::TRY_AGAIN, "message bus closed"),
                },
                _ = ping.tick() => {
                    if !heard_since_ping {
                        self.stats.count_dropped_no_pong();
                        break End::Closed(close_code::NO_PONG, "no pong");
                    }
                    heard_since_ping = false;
                    match timeout(interval, socket.send(Frame::Ping(Bytes::new()))).await {
                        Ok(Ok(())) => {}
                        Ok(Err(_)) => break End::Left,
                        Err(_stalled) => break self.too_slow(),
                    }
                },
            }
        };
        // Stop receiving at once: the bus need not queue for a closing socket.
        drop(subscription);
        if let End::Closed(code, reason) = end {
            let _ = timeout(CLOSE_GRACE, socket.send(frames::close(code, reason))).await;
        }
        self.stats.count_ended();
    }

    fn ended_by(&self, revocation: Revocation) -> bool {
        match revocation {
            Revocation::Thing(thing) => thing == self.thing,
            Revocation::Channel(channel) => channel == self.channel,
        }
    }

    fn too_slow(&self) -> End {
        self.stats.count_dropped_slow();
        End::Closed(close_code::TRY_AGAIN, "too slow: messages were dropped")
    }

    /// One frame through the pipeline, as this socket's thing; a refusal ends the socket.
    fn publish(&self, payload: Bytes) -> Result<(), End> {
        let Ok(subtopic) = &self.publish_to else {
            self.stats.count_refused_frame();
            return Err(End::Closed(
                close_code::POLICY,
                "a wildcard subscription cannot publish",
            ));
        };
        let inbound = Inbound {
            channel: self.channel,
            subtopic: subtopic.clone(),
            protocol: Protocol::Ws,
            content_type: self.content_type.clone(),
            payload,
            properties: None,
        };
        match self.pipeline.publish_as(self.thing, inbound) {
            Ok(()) => {
                self.stats.count_published();
                Ok(())
            }
            Err(error) => {
                self.stats.count_refused_frame();
                Err(match error {
                    PublishError::Unauthenticated | PublishError::Forbidden => {
                        End::Closed(close_code::POLICY, "not connected to the channel")
                    }
                    PublishError::Bus(BusError::Invalid(cause)) => {
                        tracing::error!(%cause, "WebSocket publish rejected as invalid by the bus");
                        End::Closed(close_code::ERROR, "publish failed")
                    }
                    PublishError::Bus(cause) => {
                        tracing::warn!(%cause, "WebSocket publish refused by the bus");
                        End::Closed(close_code::TRY_AGAIN, "message bus unavailable")
                    }
                })
            }
        }
    }
}
