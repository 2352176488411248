//! A subscriber's acknowledgements of what the broker delivered to it. PUBACK ends a QoS 1
//! delivery. A QoS 2 one is PUBLISH → PUBREC → PUBREL (ours) → PUBCOMP: after PUBREC the
//! message stays in flight as "released", so a reconnect sends its PUBREL again, never the
//! PUBLISH (the subscriber already has it: exactly once). An acknowledgement of the wrong
//! kind for the message in flight breaks the protocol; one for an id not in flight is a
//! late duplicate and changes nothing.

use std::num::NonZeroU16;

use rmqtt_codec::types::QoS;

use super::session::State;

/// Which acknowledgement a subscriber sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Acked {
    /// PUBACK.
    Ack,
    /// PUBREC.
    Received,
    /// A v5 PUBREC with a failure code: the delivery ends there, the id is free again.
    Refused,
    /// PUBCOMP.
    Completed,
}

/// What the connection answers.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Reply {
    Nothing,
    /// PUBREL, for a PUBREC (also a repeated one, or one for an id no longer in flight).
    Release,
    /// The acknowledgement does not fit the message: the connection is closed.
    ProtocolError,
}

impl State {
    /// Moves the delivery of the in-flight message `packet_id` along.
    pub fn acknowledged(&mut self, packet_id: NonZeroU16, acked: Acked) -> Reply {
        let Some(message) = self
            .inflight_index(packet_id)
            .and_then(|at| self.inflight.get_mut(at))
        else {
            return match acked {
                Acked::Received => Reply::Release,
                _ => Reply::Nothing,
            };
        };
        let exactly_once = message.qos == QoS::ExactlyOnce;
        match (acked, exactly_once, message.released) {
            (Acked::Ack, false, _) => {}
            (Acked::Received, true, _) => {
                message.released = true;
                return Reply::Release;
            }
            (Acked::Refused, true, false) | (Acked::Completed, true, true) => {}
            _ => return Reply::ProtocolError,
        }
        self.acknowledge(packet_id);
        Reply::Nothing
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mqtt::broker::session::tests::{connected, messages, outgoing};

    /// A connected session's state with one message of `qos` in flight; its packet id.
    fn in_flight(qos: QoS) -> (State, NonZeroU16) {
        let mut state = connected();
        state.push(outgoing(qos), messages(10));
        let id = state.next_to_send(10).unwrap().packet_id.unwrap();
        (state, id)
    }

    #[test]
    fn qos_2_is_pubrec_then_pubcomp_and_a_reconnect_resends_only_the_pubrel() {
        let (mut state, id) = in_flight(QoS::ExactlyOnce);
        assert_eq!(state.acknowledged(id, Acked::Received), Reply::Release);
        assert_eq!(
            state.acknowledged(id, Acked::Received),
            Reply::Release,
            "a repeated PUBREC gets PUBREL again"
        );
        state.resend_inflight();
        let again = state.next_to_send(10).unwrap();
        assert!(
            again.released,
            "after a reconnect, PUBREL goes, not the PUBLISH"
        );
        assert_eq!(again.packet_id, Some(id));
        assert_eq!(state.acknowledged(id, Acked::Completed), Reply::Nothing);
        assert!(state.inflight.is_empty(), "PUBCOMP ends the delivery");
    }

    #[test]
    fn acknowledgements_of_the_wrong_kind_break_the_protocol() {
        let cases = [
            (QoS::ExactlyOnce, &[Acked::Ack][..]),
            (QoS::ExactlyOnce, &[Acked::Completed]),
            (QoS::ExactlyOnce, &[Acked::Received, Acked::Ack]),
            (QoS::AtLeastOnce, &[Acked::Received]),
            (QoS::AtLeastOnce, &[Acked::Completed]),
        ];
        for (qos, acks) in cases {
            let (mut state, id) = in_flight(qos);
            let replies: Vec<_> = acks.iter().map(|a| state.acknowledged(id, *a)).collect();
            assert_eq!(
                replies.last(),
                Some(&Reply::ProtocolError),
                "{qos:?} {acks:?}"
            );
        }
    }

    #[test]
    fn a_refused_pubrec_ends_the_delivery() {
        let (mut state, id) = in_flight(QoS::ExactlyOnce);
        assert_eq!(state.acknowledged(id, Acked::Refused), Reply::Nothing);
        assert!(state.inflight.is_empty());
    }
}
