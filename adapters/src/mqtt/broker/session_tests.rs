//! The session queue's rules, on a connected session's state.

use bytes::Bytes;

use super::*;

pub(in crate::mqtt::broker) fn routed(qos: QoS) -> Routed {
    Routed {
        channel: ChannelId(uuid::Uuid::nil()),
        subtopic: None,
        topic: ByteString::from_static("channels/x/messages"),
        payload: Bytes::from_static(b"m"),
        qos,
        retain: false,
        properties: None,
    }
}

/// `routed(qos)` as one session's copy at `qos`.
pub(in crate::mqtt::broker) fn outgoing(qos: QoS) -> Outgoing {
    routed(qos).to_session(qos, false, SubscriptionIds::None)
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
        state.push(outgoing(QoS::AtLeastOnce), messages(10));
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
    state.push(outgoing(QoS::AtLeastOnce), messages(10));
    state.push(outgoing(QoS::AtLeastOnce), messages(10));
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
    state.push(outgoing(QoS::AtLeastOnce), messages(10));
    let stuck = state.next_to_send(10).unwrap().packet_id.unwrap();
    for _ in 0..u16::MAX {
        state.push(outgoing(QoS::AtLeastOnce), messages(10));
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
        state.push(outgoing(QoS::AtMostOnce), messages(1)),
        Offer::Queued
    ));
    assert!(matches!(
        state.push(outgoing(QoS::AtMostOnce), messages(1)),
        Offer::Dropped
    ));
    state.link = None;
    state.clear();
    assert!(matches!(
        state.push(outgoing(QoS::AtMostOnce), messages(1)),
        Offer::Dropped
    ));
    assert!(matches!(
        state.push(outgoing(QoS::AtLeastOnce), messages(1)),
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
    let push = |state: &mut State, qos| matches!(state.push(outgoing(qos), limit), Offer::Queued);
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
        state.push(
            big.to_session(QoS::AtMostOnce, false, SubscriptionIds::None),
            limit
        ),
        Offer::Queued
    ));
    assert!(matches!(
        state.push(
            big.to_session(QoS::AtMostOnce, false, SubscriptionIds::None),
            limit
        ),
        Offer::Dropped
    ));
    state.next_to_send(10).unwrap();
    assert!(matches!(
        state.push(
            big.to_session(QoS::AtMostOnce, false, SubscriptionIds::None),
            limit
        ),
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
