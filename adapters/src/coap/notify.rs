//! One task per observer: subscribe to the bus, answer the registration, then turn each
//! message into a notification with an increasing Observe number.
//!
//! Notifications are confirmable when the registration was (RFC 7641 §4.5 lets the server
//! choose; following the client's choice lets a client pick reliability). A confirmable
//! notification is retransmitted after ACK_TIMEOUT × a random factor in [1, 1.5), doubling
//! each time, at most MAX_RETRANSMIT times (RFC 7252 §4.2); one never acknowledged drops the
//! observer. Messages published meanwhile wait in the bus subscription; if it overflows the
//! observer ends (5.03) and the client registers again. A payload over one block goes out as
//! its first Block2 block, with an ETag; the client fetches the rest (`continue_block`).

use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use super::block::Block;
use super::format::Formats;
use super::observers::{ObserverKey, Signal};
use super::refusal::code;
use super::reply::{Answer, Reply};
use super::server::{Shared, etag, lock};
use super::stats::CoapStats;
use super::wire::Kind;
use crate::bus::{BusSubscription, ChannelFilter};
use crate::message::Message;

/// Messages one observer may have waiting on the bus before it is dropped as too slow.
const QUEUE: usize = 256;

pub(super) struct Observation {
    pub key: ObserverKey,
    pub id: u64,
    pub signal: Arc<Signal>,
    pub filter: ChannelFilter,
    pub confirmable: bool,
    /// How to answer the registration request.
    pub answer: Answer,
    pub request_mid: u16,
    pub szx: u8,
}

enum Delivery {
    Acked,
    Ended,
    Unacknowledged,
}

pub(super) async fn observe(shared: Arc<Shared>, observation: Observation) {
    let mut out = Vec::with_capacity(1280);
    let (peer, token) = observation.key;
    let mut subscription = match shared
        .pipeline
        .bus()
        .subscribe(observation.filter.clone(), QUEUE)
        .await
    {
        Ok(subscription) => subscription,
        Err(error) => {
            tracing::warn!(%error, "CoAP observer cannot subscribe to the bus");
            lock(&shared.registry).remove(&observation.key, Some(observation.id));
            return answer_registration(
                &shared,
                &observation,
                &mut out,
                Reply::code(code::UNAVAILABLE),
            )
            .await;
        }
    };
    let mut observe = 1u32;
    let registered = Reply {
        observe: Some(observe),
        ..Reply::code(code::CONTENT)
    };
    answer_registration(&shared, &observation, &mut out, registered).await;
    loop {
        let next = tokio::select! {
            biased;
            () = observation.signal.notify.notified() => match observation.signal.is_ended() {
                true => return,
                false => continue,
            },
            next = next_message(&mut subscription) => next,
        };
        let Some(message) = next else {
            CoapStats::count(&shared.stats.observers_lagged);
            if lock(&shared.registry)
                .remove(&observation.key, Some(observation.id))
                .is_some()
            {
                shared.send_final(observation.key, code::UNAVAILABLE).await;
            }
            return;
        };
        observe = (observe + 1) & 0x00ff_ffff;
        let mid = shared.next_mid();
        if !lock(&shared.registry).sent(&observation.key, observation.id, mid, observe, &message) {
            return;
        }
        let kind = if observation.confirmable {
            Kind::Con
        } else {
            Kind::Non
        };
        encode(
            &mut out,
            &message,
            observe,
            observation.szx,
            &Answer { kind, mid, token },
        );
        CoapStats::count(&shared.stats.notifications);
        if !observation.confirmable {
            shared.send(&out, peer).await;
            continue;
        }
        match confirm(&shared, &observation, &out, mid).await {
            Delivery::Acked => {}
            Delivery::Ended => return,
            Delivery::Unacknowledged => {
                if lock(&shared.registry)
                    .remove(&observation.key, Some(observation.id))
                    .is_some()
                {
                    CoapStats::count(&shared.stats.observers_unacknowledged);
                    tracing::debug!(%peer, "CoAP observer dropped: notification never acknowledged");
                }
                return;
            }
        }
    }
}

async fn next_message(subscription: &mut Box<dyn BusSubscription>) -> Option<Arc<Message>> {
    subscription.next().await.ok()
}

async fn answer_registration(
    shared: &Shared,
    observation: &Observation,
    out: &mut Vec<u8>,
    reply: Reply<'_>,
) {
    reply.encode(out, &observation.answer);
    let (peer, _) = observation.key;
    lock(&shared.exchanges).answer(peer, observation.request_mid, out);
    shared.send(out, peer).await;
}

/// A notification: the whole payload, or its first block when it does not fit one.
fn encode(out: &mut Vec<u8>, message: &Message, observe: u32, szx: u8, answer: &Answer) {
    let payload = &message.payload[..];
    let first = Block {
        num: 0,
        more: true,
        szx,
    };
    let blockwise = payload.len() > first.size();
    let reply = Reply {
        observe: Some(observe),
        content_format: Formats::number(message.content_type.as_ref()),
        etag: blockwise.then(|| etag(observe)),
        block2: blockwise.then_some(first),
        size2: blockwise.then_some(payload.len() as u32),
        payload: if blockwise {
            &payload[..first.size()]
        } else {
            payload
        },
        ..Reply::code(code::CONTENT)
    };
    reply.encode(out, answer);
}

/// Sends a confirmable notification until acknowledged, with exponential backoff.
async fn confirm(shared: &Shared, observation: &Observation, out: &[u8], mid: u16) -> Delivery {
    let (peer, _) = observation.key;
    let signal = &observation.signal;
    let mut timeout = initial_timeout(shared.config.ack_timeout, mid);
    for attempt in 0..=shared.config.max_retransmit {
        if attempt > 0 {
            CoapStats::count(&shared.stats.retransmissions);
        }
        shared.send(out, peer).await;
        let deadline = Instant::now() + timeout;
        loop {
            if signal.is_acked(mid) {
                return Delivery::Acked;
            }
            if signal.is_ended() {
                return Delivery::Ended;
            }
            if tokio::time::timeout_at(deadline, signal.notify.notified())
                .await
                .is_err()
            {
                break;
            }
        }
        timeout *= 2;
    }
    Delivery::Unacknowledged
}

/// ACK_TIMEOUT × [1, ACK_RANDOM_FACTOR = 1.5), the randomness taken from the message id
/// (sequential ids spread evenly, which is all the jitter is for).
fn initial_timeout(ack_timeout: Duration, mid: u16) -> Duration {
    let spread = u32::from(mid.wrapping_mul(40_503)); // a multiplicative hash of the id
    ack_timeout + ack_timeout.mul_f64(f64::from(spread) / f64::from(u16::MAX) / 2.0)
}
