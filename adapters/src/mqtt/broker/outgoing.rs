//! Messages on their way to subscribers: `Routed` once per publish, shared by every session
//! it reaches, and `Outgoing`, one session's copy in its queue or in flight. Both share
//! topic, payload and properties; a copy costs refcounts, not bytes.

use std::num::{NonZeroU16, NonZeroU32};
use std::sync::Arc;

use bytes::Bytes;
use bytestring::ByteString;
use domain::ids::ChannelId;
use rmqtt_codec::types::QoS;

use super::properties::Written;
use super::wire::OutgoingRef;
use crate::message::MessageProperties;
use crate::subtopic::Subtopic;

/// What may wait for one session: messages queued (`FF_MQTT_MAX_QUEUE`), and bytes of topic,
/// payload and properties queued or in flight (`FF_MQTT_MAX_QUEUE_BYTES`, at most
/// `u32::MAX`), so that a stuck subscriber of large messages cannot hold the server's memory.
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
    /// MQTT 5 properties as published; `None` for most messages.
    pub properties: Option<Arc<MessageProperties>>,
}

/// The identifiers of the subscriptions a delivery matched (MQTT 5 echoes them). Most
/// clients use none, and one is kept inline: only several allocate. A thin `Arc` keeps it
/// at 16 bytes in every queued message.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) enum SubscriptionIds {
    #[default]
    None,
    One(NonZeroU32),
    Many(Arc<Vec<NonZeroU32>>),
}

impl SubscriptionIds {
    pub fn add(&mut self, id: NonZeroU32) {
        *self = match std::mem::take(self) {
            Self::None => Self::One(id),
            Self::One(first) if first == id => Self::One(first),
            Self::One(first) => Self::Many(Arc::new(vec![first, id])),
            Self::Many(ids) if ids.contains(&id) => Self::Many(ids),
            Self::Many(ids) => Self::Many(Arc::new(ids.iter().copied().chain([id]).collect())),
        };
    }

    pub fn as_slice(&self) -> &[NonZeroU32] {
        match self {
            Self::None => &[],
            Self::One(id) => std::slice::from_ref(id),
            Self::Many(ids) => ids,
        }
    }
}

/// A message queued for, or in flight to, one session. Topic and payload are shared.
#[derive(Clone)]
pub(super) struct Outgoing {
    pub topic: ByteString,
    pub payload: Bytes,
    pub properties: Option<Arc<MessageProperties>>,
    pub subscription_ids: SubscriptionIds,
    pub qos: QoS,
    pub retain: bool,
    /// Given when first sent at QoS 1; a resend keeps it.
    pub packet_id: Option<NonZeroU16>,
    /// Sent before, to a connection that ended unacknowledged: resent with DUP.
    pub resent: bool,
    /// QoS 2: the subscriber sent PUBREC, so what goes (again, after a reconnect) is PUBREL.
    pub released: bool,
}

/// What a queued or retained copy of a message keeps alive, as the byte limits count it.
fn size(topic: &str, payload: &[u8], properties: Option<&Arc<MessageProperties>>) -> usize {
    topic.len() + payload.len() + properties.map_or(0, |p| p.size())
}

impl Routed {
    pub fn size(&self) -> usize {
        size(&self.topic, &self.payload, self.properties.as_ref())
    }

    /// One session's copy, at `qos`, flagged `retain`, echoing `subscription_ids`.
    pub fn to_session(&self, qos: QoS, retain: bool, ids: SubscriptionIds) -> Outgoing {
        Outgoing {
            topic: self.topic.clone(),
            payload: self.payload.clone(),
            properties: self.properties.clone(),
            subscription_ids: ids,
            qos,
            retain,
            packet_id: None,
            resent: false,
            released: false,
        }
    }

    /// Whether it expired before `now_ns` (never, without an expiry).
    pub fn is_expired(&self, now_ns: i64) -> bool {
        self.properties
            .as_ref()
            .is_some_and(|p| p.is_expired(now_ns))
    }
}

impl Outgoing {
    pub fn size(&self) -> usize {
        size(&self.topic, &self.payload, self.properties.as_ref())
    }

    /// Whether it may still go out: an expired message the client never saw is dropped
    /// (one in flight was partly delivered, so it is finished). Reads the clock only for a
    /// message that can expire.
    pub fn is_stale(&self) -> bool {
        !self.resent
            && self
                .properties
                .as_ref()
                .is_some_and(|p| p.expires_at.is_some() && p.is_expired(crate::message::now_ns()))
    }

    pub fn as_ref(&self) -> OutgoingRef<'_> {
        OutgoingRef {
            topic: &self.topic,
            payload: &self.payload,
            qos: self.qos,
            retain: self.retain,
            dup: self.resent,
            packet_id: self.packet_id,
            properties: Written {
                properties: self.properties.as_deref(),
                expiry_secs: self.remaining_secs(),
                subscription_ids: self.subscription_ids.as_slice(),
                topic_alias: None,
            },
        }
    }

    /// The lifetime left to send on, for a message that expires: at least 1 s, as one in
    /// flight goes out even past its deadline.
    fn remaining_secs(&self) -> Option<u32> {
        let properties = self.properties.as_ref()?;
        properties.expires_at?;
        let left = properties.remaining_secs(crate::message::now_ns())?;
        Some(left.unwrap_or(1).max(1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subscription_ids_are_kept_once_each_in_order() {
        let id = |n| NonZeroU32::new(n).unwrap();
        let mut ids = SubscriptionIds::default();
        assert!(ids.as_slice().is_empty());
        for n in [3, 3, 2, 3, 7] {
            ids.add(id(n));
        }
        assert_eq!(ids.as_slice(), &[id(3), id(2), id(7)]);
    }

    /// Every queued message holds one.
    #[test]
    #[cfg(target_pointer_width = "64")]
    fn subscription_ids_take_16_bytes() {
        assert_eq!(std::mem::size_of::<SubscriptionIds>(), 16);
    }
}
