//! A session's queue as it drains: the next message to write (within the client's receive
//! maximum, expired ones dropped), packet ids, acknowledgements, and resending what was in
//! flight when a client comes back.

use std::collections::VecDeque;
use std::num::NonZeroU16;

use rmqtt_codec::types::QoS;

use super::session::{Outgoing, State};

/// Queue capacity kept once a queue is empty again; beyond it the memory is returned.
const KEPT_CAPACITY: usize = 64;
/// In-flight windows up to this size are scanned for a free packet id (the default is 128).
const SCANNED_WINDOW: usize = 1024;

impl State {
    /// The next message to write, within `receive_max` unacknowledged QoS 1 and 2 messages.
    /// A QoS 1 or 2 message gets its packet id and moves to in-flight; `None` when nothing
    /// may go.
    pub fn next_to_send(&mut self, receive_max: usize) -> Option<Outgoing> {
        while self.queue.front()?.is_stale() {
            if let Some(expired) = self.queue.pop_front() {
                self.release(&expired);
            }
        }
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

    /// Where `packet_id` is in flight. Ids are handed out in order and in-flight keeps that
    /// order, so the id's distance from the front's id is its place unless an ack came out of
    /// order or ids wrapped around a gap: then, and only then, the window is scanned. (A scan
    /// per ack made QoS 2 quadratic: thousands of released messages await their PUBCOMP in
    /// front of the one a PUBREC names.)
    pub(super) fn inflight_index(&self, packet_id: NonZeroU16) -> Option<usize> {
        let id = packet_id.get();
        let guess = self
            .inflight
            .front()
            .and_then(|m| m.packet_id)
            .map(|front| {
                let front = front.get();
                usize::from(match id >= front {
                    true => id - front,
                    false => id + (u16::MAX - front),
                })
            });
        if let Some(at) = guess
            && self
                .inflight
                .get(at)
                .is_some_and(|m| m.packet_id == Some(packet_id))
        {
            return Some(at);
        }
        self.inflight
            .iter()
            .position(|m| m.packet_id == Some(packet_id))
    }

    /// A PUBACK or PUBCOMP: the message leaves in-flight.
    pub fn acknowledge(&mut self, packet_id: NonZeroU16) {
        if let Some(at) = self.inflight_index(packet_id)
            && let Some(acknowledged) = self.inflight.remove(at)
        {
            self.release(&acknowledged);
        }
        if self.inflight.is_empty() && self.inflight.capacity() > KEPT_CAPACITY {
            self.inflight = VecDeque::new();
        }
    }

    pub(super) fn release(&mut self, message: &Outgoing) {
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
}

fn next_id(last: u16) -> NonZeroU16 {
    NonZeroU16::new(last.wrapping_add(1)).unwrap_or(NonZeroU16::MIN)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mqtt::broker::session::tests::{connected, messages, outgoing};

    /// Every in-flight id is found where it is, across the wrap from 65535 to 1 and after an
    /// ack out of order has left a gap.
    #[test]
    fn in_flight_ids_are_found_across_a_wrap_and_a_gap() {
        let mut state = connected();
        state.last_packet_id = u16::MAX - 3;
        for _ in 0..8 {
            state.push(outgoing(QoS::ExactlyOnce), messages(100));
            state.next_to_send(100).expect("sent");
        }
        let ids: Vec<NonZeroU16> = state.inflight.iter().filter_map(|m| m.packet_id).collect();
        assert_eq!(
            ids.iter().map(|id| id.get()).collect::<Vec<_>>(),
            [65533, 65534, 65535, 1, 2, 3, 4, 5]
        );
        state.acknowledge(ids[2]);
        for id in ids.iter().filter(|&&id| id != ids[2]) {
            let at = state.inflight_index(*id).expect("in flight");
            assert_eq!(state.inflight[at].packet_id, Some(*id));
        }
        assert_eq!(state.inflight_index(ids[2]), None, "acknowledged");
    }
}
