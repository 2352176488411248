//! One client connection after CONNACK, on one task: packets in and messages out.
//!
//! The task waits on two things only: the socket being ready and its session's `Notify`.
//! Reads and writes are non-blocking (`try_read`/`try_write`), so a client that stops
//! reading never blocks its own inbound acks, and a connection that sits idle holds no
//! buffer at all: both are dropped whenever they are empty.

use std::io::ErrorKind;
use std::num::NonZeroU16;
use std::sync::Arc;

use bytes::{Buf, BytesMut};
use bytestring::ByteString;
use domain::ids::ThingId;
use rmqtt_codec::error::DecodeError;
use rmqtt_codec::types::{Publish, QoS};
use tokio::io::Interest;
use tokio::net::TcpStream;
use tokio::sync::Notify;

use super::Broker;
use super::delivery::Reply;
use super::inbound::{Filter, Received, Will};
use super::session::{Kick, Offer, Session, Subscription};
use super::wire::{Ack, Goodbye, Wire};

/// Bytes read at a time.
const READ_CHUNK: usize = 4096;
/// Output waiting for a slow client beyond which the connection stops reading from it
/// and stops taking messages from its queue.
const HIGH_WATER: usize = 64 * 1024;
/// QoS 2 PUBLISHes awaiting their PUBREL, at most.
const MAX_AWAITING_RELEASE: usize = 1024;

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

/// A connection after CONNACK: built by `handshake`, then run until it ends.
pub(super) struct Connection {
    pub(super) broker: Arc<Broker>,
    pub(super) stream: TcpStream,
    pub(super) wire: Wire,
    pub(super) session: Arc<Session>,
    pub(super) generation: u64,
    pub(super) wake: Arc<Notify>,
    pub(super) thing: ThingId,
    pub(super) will: Option<Box<Will>>,
    pub(super) expiry_ms: u64,
    pub(super) input: BytesMut,
    pub(super) output: BytesMut,
    /// QoS 1 messages in flight to the client, at most.
    pub(super) receive_max: usize,
    /// The largest packet the client accepts (v5).
    pub(super) max_out_packet: usize,
    /// `finish` ran.
    pub(super) finished: bool,
}

impl Drop for Connection {
    /// A task that ends without `finish` (a panic while handling a packet) still leaves
    /// its session: otherwise the session would stay attached to nobody, queueing forever.
    fn drop(&mut self) {
        self.finish(End::Lost);
    }
}

impl Connection {
    pub(super) async fn run(&mut self) -> End {
        // A client may send packets right behind its CONNECT, in the same segment.
        if let Err(end) = self.decode() {
            return end;
        }
        loop {
            let more = match self.pull() {
                Ok(more) => more,
                Err(end) => return end,
            };
            if let Err(end) = self.flush() {
                return end;
            }
            if more && self.output.is_empty() {
                // The socket took it all and more is queued: nobody else will wake us.
                tokio::task::yield_now().await;
                continue;
            }
            self.release_idle_buffers();
            let interest = match self.output.len() {
                0 => Interest::READABLE,
                n if n < HIGH_WATER => Interest::READABLE | Interest::WRITABLE,
                _ => Interest::WRITABLE,
            };
            let ready = tokio::select! {
                () = self.wake.notified() => None,
                ready = self.stream.ready(interest) => Some(ready),
            };
            match ready {
                None => {}
                Some(Err(_)) => return End::Lost,
                Some(Ok(ready)) if ready.is_readable() || ready.is_read_closed() => {
                    if let Err(end) = self.read() {
                        return end;
                    }
                }
                Some(Ok(_)) => {}
            }
        }
    }

    /// An idle connection keeps no buffer: an idle fleet's memory is what this saves.
    fn release_idle_buffers(&mut self) {
        if self.output.is_empty() && self.output.capacity() > 0 {
            self.output = BytesMut::new();
        }
        if self.input.is_empty() && self.input.capacity() > 0 {
            self.input = BytesMut::new();
        }
    }

    /// Moves what the session may send now into the output, or ends if kicked. `true`
    /// when it stopped at `HIGH_WATER` with more to send.
    fn pull(&mut self) -> Result<bool, End> {
        let mut state = self.session.lock();
        match &state.link {
            Some(link) if link.generation == self.generation => {
                if let Some(kick) = link.kick {
                    return Err(End::Kicked(kick));
                }
            }
            _ => return Err(End::TakenOver),
        }
        loop {
            if self.output.len() >= HIGH_WATER {
                return Ok(!state.queue.is_empty());
            }
            let Some(message) = state.next_to_send(self.receive_max) else {
                return Ok(false);
            };
            if let (true, Some(id)) = (message.released, message.packet_id) {
                self.wire.ack(&mut self.output, Ack::Released, id);
                continue;
            }
            let outgoing = message.as_ref();
            if self.wire.publish_size(&outgoing) > self.max_out_packet {
                // MQTT 5: a message too large for the client is dropped, not sent.
                if let Some(id) = message.packet_id {
                    state.acknowledge(id);
                }
                self.broker.gate.stats().count_dropped();
                continue;
            }
            self.wire.publish(&mut self.output, &outgoing);
        }
    }

    /// Writes what the socket takes now.
    fn flush(&mut self) -> Result<(), End> {
        while !self.output.is_empty() {
            match self.stream.try_write(&self.output) {
                Ok(written) => {
                    self.output.advance(written);
                    // A client taking what we send is alive, even while we do not read its
                    // PINGREQs (past `HIGH_WATER`).
                    self.session.touch(self.broker.now_ms());
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(_) => return Err(End::Lost),
            }
        }
        Ok(())
    }

    fn read(&mut self) -> Result<(), End> {
        self.input.reserve(READ_CHUNK);
        match self.stream.try_read_buf(&mut self.input) {
            Ok(0) => return Err(End::Lost),
            Ok(_) => self.session.touch(self.broker.now_ms()),
            Err(e) if e.kind() == ErrorKind::WouldBlock => return Ok(()),
            Err(_) => return Err(End::Lost),
        }
        self.decode()
    }

    /// Handles every complete packet in the input.
    fn decode(&mut self) -> Result<(), End> {
        let max = self.broker.limits.max_packet_size;
        while let Some(packet) = self
            .wire
            .read(&mut self.input, max)
            .map_err(End::Malformed)?
        {
            self.handle(packet)?;
        }
        Ok(())
    }

    fn handle(&mut self, packet: Received) -> Result<(), End> {
        match packet {
            Received::Publish(publish) => return self.on_publish(*publish),
            Received::Acked(id, acked) => match self.session.lock().acknowledged(id, acked) {
                Reply::Nothing => {}
                Reply::Release => self.wire.ack(&mut self.output, Ack::Released, id),
                Reply::ProtocolError => return Err(End::Protocol),
            },
            Received::PubRel(id) => {
                self.session
                    .lock()
                    .awaiting_release
                    .retain(|waiting| *waiting != id);
                self.wire.ack(&mut self.output, Ack::Completed, id);
            }
            Received::Subscribe { packet_id, filters } => self.on_subscribe(packet_id, filters),
            Received::Unsubscribe { packet_id, filters } => {
                for filter in &filters {
                    self.broker.router.unsubscribe(&self.session, filter);
                }
                self.wire
                    .unsuback(&mut self.output, packet_id, filters.len());
            }
            Received::Ping => self.wire.pingresp(&mut self.output),
            Received::Disconnect {
                keep_will,
                session_expiry,
            } => {
                // A session that was to end with the connection cannot be kept now
                // [MQTT-3.14.2-2].
                if self.expiry_ms == 0 && session_expiry.is_some_and(|secs| secs > 0) {
                    return Err(End::Protocol);
                }
                if !keep_will {
                    self.will = None;
                }
                if session_expiry == Some(0) {
                    self.expiry_ms = 0;
                }
                return Err(End::Disconnect);
            }
            Received::Unexpected => return Err(End::Protocol),
        }
        Ok(())
    }

    fn on_publish(&mut self, publish: Publish) -> Result<(), End> {
        let Publish {
            topic,
            payload,
            qos,
            retain,
            packet_id,
            properties,
            ..
        } = publish;
        if qos == QoS::ExactlyOnce {
            let id = packet_id.ok_or(End::Protocol)?;
            let state = self.session.lock();
            if state.awaiting_release.contains(&id) {
                // A resend of one we already took: ack again, deliver once.
                drop(state);
                self.wire.ack(&mut self.output, Ack::Recorded, id);
                return Ok(());
            }
            if state.awaiting_release.len() >= MAX_AWAITING_RELEASE {
                return Err(End::Protocol);
            }
        }
        let content_type = properties.as_ref().and_then(|p| p.content_type.as_deref());
        let message = super::Inbound {
            topic: &topic,
            payload: &payload,
            qos,
            retain,
            content_type,
        };
        if let Err(refusal) = self
            .broker
            .publish(self.thing, Some(&self.session), message)
        {
            tracing::info!(thing = %self.thing, topic = %topic, %refusal, "MQTT publish refused: closing the connection");
            return Err(End::Refused);
        }
        match (qos, packet_id) {
            (QoS::AtMostOnce, _) => {}
            (QoS::AtLeastOnce, Some(id)) => self.wire.ack(&mut self.output, Ack::Received, id),
            (QoS::ExactlyOnce, Some(id)) => {
                self.session.lock().awaiting_release.push(id);
                self.wire.ack(&mut self.output, Ack::Recorded, id);
            }
            _ => return Err(End::Protocol),
        }
        Ok(())
    }

    /// SUBACK for every filter, then the retained messages the new subscriptions match.
    fn on_subscribe(&mut self, packet_id: NonZeroU16, filters: Vec<Filter>) {
        let mut granted = Vec::with_capacity(filters.len());
        let mut retained = Vec::new();
        for requested in filters {
            let Ok((channel, filter)) = self.broker.gate.subscribe(self.thing, &requested.topic)
            else {
                granted.push(None);
                continue;
            };
            let qos = requested.qos;
            // Subscribed before the retained messages are read: a retained publish in
            // between is then delivered live, not missed.
            let retained_wanted = (!requested.skip_retained).then(|| (channel, filter.clone()));
            let subscription = Subscription {
                // Copied: the decoded filter shares (and would pin) the read buffer.
                raw: ByteString::from(&*requested.topic),
                channel,
                filter,
                qos,
                no_local: requested.no_local,
                retain_as_published: requested.retain_as_published,
            };
            let subscribed = self.broker.router.subscribe(&self.session, subscription);
            granted.push(subscribed.then_some(qos));
            if let Some((channel, filter)) = retained_wanted.filter(|_| subscribed) {
                let matching = self.broker.retained.matching(channel, &filter);
                retained.extend(matching.into_iter().map(|m| (m, qos)));
            }
        }
        self.wire.suback(&mut self.output, packet_id, &granted);
        let mut state = self.session.lock();
        for (message, qos) in retained {
            let qos = qos.min(message.qos);
            if let Offer::Dropped = state.push(&message, qos, true, self.broker.limits.queue) {
                self.broker.gate.stats().count_dropped();
            }
        }
    }

    /// Says why (v5), publishes the will if due, detaches the session. Once.
    pub(super) fn finish(&mut self, end: End) {
        if std::mem::replace(&mut self.finished, true) {
            return;
        }
        if let Some(reason) = end.goodbye() {
            self.wire.goodbye(&mut self.output, reason);
        }
        let _ = self.flush();
        let broker = &self.broker;
        if end.publishes_will()
            && let Some(will) = self.will.take()
        {
            let message = super::Inbound {
                topic: &will.topic,
                payload: &will.payload,
                qos: will.qos,
                retain: will.retain,
                content_type: will.content_type.as_deref(),
            };
            if let Err(refusal) = broker.publish(self.thing, Some(&self.session), message) {
                tracing::info!(thing = %self.thing, %refusal, "MQTT will not published");
            }
        }
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
    }
}
