//! One MQTT session: its subscriptions, the messages waiting for it and those sent and not
//! yet acknowledged. It outlives its connection when it is persistent, so a client that
//! comes back gets what was published while it was away.
//!
//! Memory is what an idle fleet costs, so an idle session holds no buffer: empty queues
//! allocate nothing, and the connection is woken through one `Notify` it owns.

use std::collections::VecDeque;
use std::num::NonZeroU16;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use bytes::Bytes;
use bytestring::ByteString;
use domain::ids::{ChannelId, ThingId};
use rmqtt_codec::types::QoS;
use tokio::sync::Notify;

use super::wire::OutgoingRef;
use crate::subtopic::{Subtopic, SubtopicFilter};

/// Queue capacity kept once a queue is empty again; beyond it the memory is returned.
const KEPT_CAPACITY: usize = 64;
/// In-flight windows up to this size are scanned for a free packet id (the default is 128).
const SCANNED_WINDOW: usize = 1024;

/// What may wait for one session: messages queued (`FF_MQTT_MAX_QUEUE`), and bytes of topic
/// and payload queued or in flight (`FF_MQTT_MAX_QUEUE_BYTES`, at most `u32::MAX`), so that
/// a stuck subscriber of large messages cannot hold the server's memory.
#[derive(Debug, Clone, Copy)]
pub(super) struct QueueLimit {
    pub messages: usize,
    pub bytes: usize,
}

/// A message routed to subscribers: parsed once, shared by every session it reaches.
pub(super) struct Routed {
    pub channel: ChannelId,
    pub subtopic: Option<Subtopic>,
    /// The canonical topic, `channels/<id>/messages[/a/b]`.
    pub topic: ByteString,
    pub payload: Bytes,
    pub qos: QoS,
    pub retain: bool,
}

/// A message queued for, or in flight to, one session. Topic and payload are shared.
#[derive(Clone)]
pub(super) struct Outgoing {
    pub topic: ByteString,
    pub payload: Bytes,
    pub qos: QoS,
    pub retain: bool,
    /// Given when first sent at QoS 1; a resend keeps it.
    pub packet_id: Option<NonZeroU16>,
    /// Sent before, to a connection that ended unacknowledged: resent with DUP.
    pub resent: bool,
    /// QoS 2: the subscriber sent PUBREC, so what goes (again, after a reconnect) is PUBREL.
    pub released: bool,
}

impl Routed {
    /// What a queued copy of it keeps alive, as `QueueLimit::bytes` counts it.
    pub fn size(&self) -> usize {
        self.topic.len() + self.payload.len()
    }
}

impl Outgoing {
    /// What it keeps alive, as `QueueLimit::bytes` counts it.
    fn size(&self) -> usize {
        self.topic.len() + self.payload.len()
    }

    pub fn as_ref(&self) -> OutgoingRef<'_> {
        OutgoingRef {
            topic: &self.topic,
            payload: &self.payload,
            qos: self.qos,
            retain: self.retain,
            dup: self.resent,
            packet_id: self.packet_id,
        }
    }
}

/// One topic filter of a session, parsed once at SUBSCRIBE.
pub(super) struct Subscription {
    /// As the client wrote it: UNSUBSCRIBE names it the same way.
    pub raw: ByteString,
    pub channel: ChannelId,
    pub filter: SubtopicFilter,
    pub qos: QoS,
    pub no_local: bool,
    pub retain_as_published: bool,
}

/// Why the broker ends a connection on its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kick {
    /// Its thing was removed, disconnected or got a new key.
    Revoked,
    KeepAlive,
    Shutdown,
}

/// Where a session's messages go when its client is connected.
pub(super) struct Link {
    pub generation: u64,
    pub wake: Arc<Notify>,
    pub kick: Option<Kick>,
}

pub(super) struct State {
    /// The live connection, if any. A takeover replaces it with a newer generation.
    pub link: Option<Link>,
    pub generation: u64,
    /// False once the broker forgot the session: nothing is queued to it any more.
    pub alive: bool,
    /// Whether it outlives its connection: only then may another connection resume it.
    pub persistent: bool,
    /// QoS 2 PUBLISHes taken and awaiting PUBREL: a resend of one is not published again,
    /// also after a reconnect.
    pub awaiting_release: Vec<NonZeroU16>,
    pub subscriptions: Vec<Subscription>,
    pub queue: VecDeque<Outgoing>,
    pub inflight: VecDeque<Outgoing>,
    /// Topic and payload bytes in `queue` and `inflight`. A `u32` (at most the byte limit,
    /// clamped to it, or one message, which an MQTT packet's size bounds) fits the padding
    /// that was there: a wider field cost every idle session 0.14 KiB (measured).
    held_bytes: u32,
    pub last_packet_id: u16,
}

pub(super) struct Session {
    pub client_id: Box<str>,
    pub thing: ThingId,
    state: Mutex<State>,
    /// Milliseconds since the broker started, at the last packet from the client.
    pub last_seen: AtomicU64,
    /// The client's keep-alive in milliseconds, 0 for none or when away.
    pub keep_alive: AtomicU64,
    /// When the away session expires (ms since start), 0 while connected or not persistent.
    pub expires_at: AtomicU64,
}

/// What `offer` did with a message.
#[derive(Debug)]
pub(super) enum Offer {
    /// Not subscribed (or only with no-local, and it published the message).
    NotWanted,
    /// Queued, and its connection (if any) woken.
    Queued,
    /// Queue full, or QoS 0 for a client that is away.
    Dropped,
}

impl Session {
    pub fn new(client_id: Box<str>, thing: ThingId) -> Self {
        Self {
            client_id,
            thing,
            state: Mutex::new(State {
                link: None,
                generation: 0,
                alive: true,
                persistent: false,
                awaiting_release: Vec::new(),
                subscriptions: Vec::new(),
                queue: VecDeque::new(),
                inflight: VecDeque::new(),
                held_bytes: 0,
                last_packet_id: 0,
            }),
            last_seen: AtomicU64::new(0),
            keep_alive: AtomicU64::new(0),
            expires_at: AtomicU64::new(0),
        }
    }

    /// The state. A poisoned lock means a panic mid-update elsewhere; the data is plain
    /// collections, still consistent enough to deliver or drop.
    pub fn lock(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub fn touch(&self, now_ms: u64) {
        self.last_seen.store(now_ms, Ordering::Relaxed);
    }

    /// Connected and silent for 1.5 times its keep-alive (MQTT's rule).
    pub fn is_silent(&self, now_ms: u64) -> bool {
        let keep_alive = self.keep_alive.load(Ordering::Relaxed);
        keep_alive > 0 && now_ms > self.last_seen.load(Ordering::Relaxed) + keep_alive * 3 / 2
    }

    /// Queues `message` if a subscription wants it; `from` is the publishing session (for
    /// v5 no-local).
    pub fn offer(&self, message: &Routed, from: Option<&Session>, limit: QueueLimit) -> Offer {
        let own = from.is_some_and(|from| std::ptr::eq(from, self));
        let mut state = self.lock();
        let mut best: Option<(QoS, bool)> = None;
        for sub in &state.subscriptions {
            if sub.channel != message.channel
                || (own && sub.no_local)
                || !sub.filter.matches(message.subtopic.as_ref())
            {
                continue;
            }
            let retain = sub.retain_as_published && message.retain;
            best = Some(match best {
                Some((qos, kept)) => (qos.max(sub.qos), kept || retain),
                None => (sub.qos, retain),
            });
        }
        let Some((qos, retain)) = best else {
            return Offer::NotWanted;
        };
        let qos = qos.min(message.qos);
        state.push(message, qos, retain, limit)
    }
}

impl State {
    /// Queues one message for this session and wakes its connection. Waking under the
    /// lock costs no `Arc` clone per message; `Notify` has its own leaf lock. A message
    /// larger than the byte limit still goes to a session holding nothing else.
    pub fn push(&mut self, message: &Routed, qos: QoS, retain: bool, limit: QueueLimit) -> Offer {
        let away = self.link.is_none();
        let (held, size) = (self.held_bytes as usize, message.size());
        let full = self.queue.len() >= limit.messages || (held > 0 && held + size > limit.bytes);
        if !self.alive || (away && qos == QoS::AtMostOnce) || full {
            return Offer::Dropped;
        }
        self.held_bytes = u32::try_from(held + size).unwrap_or(u32::MAX);
        self.queue.push_back(Outgoing {
            topic: message.topic.clone(),
            payload: message.payload.clone(),
            qos,
            retain,
            packet_id: None,
            resent: false,
            released: false,
        });
        if let Some(link) = &self.link {
            link.wake.notify_one();
        }
        Offer::Queued
    }

    /// The next message to write, within `receive_max` unacknowledged QoS 1 and 2 messages.
    /// A QoS 1 or 2 message gets its packet id and moves to in-flight; `None` when nothing
    /// may go.
    pub fn next_to_send(&mut self, receive_max: usize) -> Option<Outgoing> {
        let front = self.queue.front()?;
        if front.qos != QoS::AtMostOnce {
            if self.inflight.len() >= receive_max {
                return None;
            }
            if front.packet_id.is_none() {
                let id = self.free_packet_id()?;
                self.last_packet_id = id.get();
                self.queue.front_mut()?.packet_id = Some(id);
            }
        }
        let message = self.queue.pop_front()?;
        if message.qos != QoS::AtMostOnce {
            self.inflight.push_back(message.clone());
        } else {
            self.release(&message);
        }
        if self.queue.is_empty() && self.queue.capacity() > KEPT_CAPACITY {
            // A burst's backlog must not stay allocated for the life of the session.
            self.queue = VecDeque::new();
        }
        Some(message)
    }

    /// The next packet id not in flight. Ids are handed out in order, so only one that a
    /// client never acknowledged can be in the way after a wrap-around: skipped when the
    /// window is small enough to scan, waited for otherwise.
    fn free_packet_id(&self) -> Option<NonZeroU16> {
        let in_flight = |id| self.inflight.iter().any(|m| m.packet_id == Some(id));
        let mut id = next_id(self.last_packet_id);
        if self.inflight.len() > SCANNED_WINDOW {
            return (self.inflight.front().and_then(|m| m.packet_id) != Some(id)).then_some(id);
        }
        while in_flight(id) {
            id = next_id(id.get());
        }
        Some(id)
    }

    /// A PUBACK or PUBCOMP: the message leaves in-flight. Acks come in order almost always, so the
    /// search ends at the front.
    pub fn acknowledge(&mut self, packet_id: NonZeroU16) {
        if let Some(at) = self
            .inflight
            .iter()
            .position(|m| m.packet_id == Some(packet_id))
            && let Some(acknowledged) = self.inflight.remove(at)
        {
            self.release(&acknowledged);
        }
        if self.inflight.is_empty() && self.inflight.capacity() > KEPT_CAPACITY {
            self.inflight = VecDeque::new();
        }
    }

    fn release(&mut self, message: &Outgoing) {
        let size = u32::try_from(message.size()).unwrap_or(u32::MAX);
        debug_assert!(self.held_bytes >= size, "held bytes out of step");
        self.held_bytes = self.held_bytes.saturating_sub(size);
    }

    /// A client came back: what was in flight is sent again first, flagged DUP.
    pub fn resend_inflight(&mut self) {
        while let Some(mut message) = self.inflight.pop_back() {
            message.resent = true;
            self.queue.push_front(message);
        }
    }

    /// Forgets everything queued and subscribed (a clean start, or the session ended).
    pub fn clear(&mut self) {
        self.subscriptions = Vec::new();
        self.queue = VecDeque::new();
        self.inflight = VecDeque::new();
        self.held_bytes = 0;
    }

    pub fn channels(&self) -> Vec<ChannelId> {
        let mut channels: Vec<_> = self.subscriptions.iter().map(|s| s.channel).collect();
        channels.sort_unstable_by_key(|c| c.0);
        channels.dedup();
        channels
    }
}

fn next_id(last: u16) -> NonZeroU16 {
    NonZeroU16::new(last.wrapping_add(1)).unwrap_or(NonZeroU16::MIN)
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    pub(in crate::mqtt::broker) fn routed(qos: QoS) -> Routed {
        Routed {
            channel: ChannelId(uuid::Uuid::nil()),
            subtopic: None,
            topic: ByteString::from_static("channels/x/messages"),
            payload: Bytes::from_static(b"m"),
            qos,
            retain: false,
        }
    }

    pub(in crate::mqtt::broker) fn messages(messages: usize) -> QueueLimit {
        QueueLimit {
            messages,
            bytes: usize::MAX,
        }
    }

    pub(in crate::mqtt::broker) fn connected() -> State {
        let session = Session::new("c".into(), ThingId(uuid::Uuid::nil()));
        let mut state = session.state.into_inner().unwrap();
        state.link = Some(Link {
            generation: 1,
            wake: Arc::new(Notify::new()),
            kick: None,
        });
        state
    }

    #[test]
    fn in_flight_is_bounded_and_acks_free_room() {
        let mut state = connected();
        for _ in 0..3 {
            state.push(
                &routed(QoS::AtLeastOnce),
                QoS::AtLeastOnce,
                false,
                messages(10),
            );
        }
        let first = state.next_to_send(2).unwrap();
        let second = state.next_to_send(2).unwrap();
        assert!(state.next_to_send(2).is_none(), "two in flight at most");
        assert_ne!(first.packet_id, second.packet_id);
        state.acknowledge(first.packet_id.unwrap());
        assert!(state.next_to_send(2).is_some());
    }

    #[test]
    fn a_resumed_session_resends_in_flight_first_with_the_same_ids() {
        let mut state = connected();
        state.push(
            &routed(QoS::AtLeastOnce),
            QoS::AtLeastOnce,
            false,
            messages(10),
        );
        state.push(
            &routed(QoS::AtLeastOnce),
            QoS::AtLeastOnce,
            false,
            messages(10),
        );
        let sent = state.next_to_send(1).unwrap();
        state.resend_inflight();
        let again = state.next_to_send(1).unwrap();
        assert!(!sent.as_ref().dup, "a first send is not a duplicate");
        assert_eq!(again.packet_id, sent.packet_id);
        assert!(again.as_ref().dup);
    }

    #[test]
    fn an_id_never_acknowledged_is_skipped_after_the_wrap_around() {
        let mut state = connected();
        state.push(
            &routed(QoS::AtLeastOnce),
            QoS::AtLeastOnce,
            false,
            messages(10),
        );
        let stuck = state.next_to_send(10).unwrap().packet_id.unwrap();
        for _ in 0..u16::MAX {
            state.push(
                &routed(QoS::AtLeastOnce),
                QoS::AtLeastOnce,
                false,
                messages(10),
            );
            let sent = state.next_to_send(10).expect("ids remain");
            assert_ne!(sent.packet_id, Some(stuck));
            state.acknowledge(sent.packet_id.unwrap());
        }
        assert_eq!(state.inflight.len(), 1);
    }

    #[test]
    fn a_full_queue_and_qos0_for_an_away_client_are_dropped() {
        let mut state = connected();
        assert!(matches!(
            state.push(
                &routed(QoS::AtMostOnce),
                QoS::AtMostOnce,
                false,
                messages(1)
            ),
            Offer::Queued
        ));
        assert!(matches!(
            state.push(
                &routed(QoS::AtMostOnce),
                QoS::AtMostOnce,
                false,
                messages(1)
            ),
            Offer::Dropped
        ));
        state.link = None;
        state.clear();
        assert!(matches!(
            state.push(
                &routed(QoS::AtMostOnce),
                QoS::AtMostOnce,
                false,
                messages(1)
            ),
            Offer::Dropped
        ));
        assert!(matches!(
            state.push(
                &routed(QoS::AtLeastOnce),
                QoS::AtLeastOnce,
                false,
                messages(1)
            ),
            Offer::Queued
        ));
    }

    #[test]
    fn bytes_queued_or_in_flight_are_bounded_and_freed_when_sent_or_acknowledged() {
        let mut state = connected();
        // Topic 19 bytes + payload 1: 20 bytes a message; room for three.
        let limit = QueueLimit {
            messages: 100,
            bytes: 60,
        };
        let push = |state: &mut State, qos| {
            matches!(state.push(&routed(qos), qos, false, limit), Offer::Queued)
        };
        assert!(push(&mut state, QoS::AtLeastOnce));
        assert!(push(&mut state, QoS::AtMostOnce));
        assert!(push(&mut state, QoS::AtLeastOnce));
        assert!(
            !push(&mut state, QoS::AtMostOnce),
            "a fourth is over the bytes"
        );
        let in_flight = state.next_to_send(10).unwrap();
        assert!(
            !push(&mut state, QoS::AtMostOnce),
            "in flight still holds its bytes"
        );
        state.next_to_send(10).unwrap();
        assert!(
            push(&mut state, QoS::AtMostOnce),
            "a QoS 0 message sent frees its bytes"
        );
        state.acknowledge(in_flight.packet_id.unwrap());
        assert!(
            push(&mut state, QoS::AtMostOnce),
            "an acknowledged one frees its bytes"
        );
        state.clear();
        assert_eq!(state.held_bytes, 0);
    }

    #[test]
    fn a_message_over_the_byte_limit_still_reaches_a_session_holding_nothing() {
        let mut state = connected();
        let limit = QueueLimit {
            messages: 100,
            bytes: 5,
        };
        let big = routed(QoS::AtMostOnce);
        assert!(matches!(
            state.push(&big, QoS::AtMostOnce, false, limit),
            Offer::Queued
        ));
        assert!(matches!(
            state.push(&big, QoS::AtMostOnce, false, limit),
            Offer::Dropped
        ));
        state.next_to_send(10).unwrap();
        assert!(matches!(
            state.push(&big, QoS::AtMostOnce, false, limit),
            Offer::Queued
        ));
    }

    /// Every idle connection holds one: 8 bytes more once cost 0.14 KiB per connection
    /// (a larger allocation no longer fit where the handshake's had been).
    #[test]
    #[cfg(target_pointer_width = "64")]
    fn a_session_stays_within_216_bytes() {
        assert!(std::mem::size_of::<Session>() <= 216);
    }
}
