//! Retained messages, in memory: the last retained message of each topic, by channel, so
//! a removed channel's messages go with it and a SUBSCRIBE looks at one channel only.
//!
//! Not persisted: after a restart a device publishes again (its state, sent retained on
//! every change or connect, is what this is for).
//!
//! Bounded per channel (`FF_MQTT_MAX_RETAINED_BYTES` of topics, payloads and properties): a device
//! retaining under ever new subtopics must not hold the server's memory.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

use domain::ids::ChannelId;

use super::session::Routed;
use crate::subtopic::SubtopicFilter;

type Topics = HashMap<ChannelId, Channel>;

/// One channel's retained messages, by subtopic, and their size.
#[derive(Default)]
struct Channel {
    topics: HashMap<Box<str>, Routed>,
    bytes: usize,
}

/// What one retained message costs: its topic and payload, its subtopic key, and the
/// `Routed` kept in the map, so many small messages cannot hide behind their payload sizes.
fn size(key: &str, message: &Routed) -> usize {
    std::mem::size_of::<Routed>() + key.len() + message.size()
}

/// What `set` did.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Kept {
    Retained,
    Cleared,
    /// Over the channel's limit: not retained, and the topic's older message forgotten
    /// (stale state would be worse than none).
    Refused,
}

#[derive(Default)]
pub(super) struct Retained {
    topics: Mutex<Topics>,
}

impl Retained {
    fn lock(&self) -> MutexGuard<'_, Topics> {
        self.topics.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Keeps `message` as its topic's retained message, if the channel's retained messages
    /// then stay within `limit` bytes (one always fits a channel retaining nothing); an empty
    /// payload clears the topic (MQTT's own rule).
    pub fn set(&self, message: &Routed, limit: usize) -> Kept {
        let key: Box<str> = message.subtopic.as_ref().map_or("", |s| s.as_str()).into();
        let mut topics = self.lock();
        let channel = topics.entry(message.channel).or_default();
        if let Some(old) = channel.topics.remove(&key) {
            channel.bytes -= size(&key, &old);
        }
        let added = size(&key, message);
        let outcome = if message.payload.is_empty() {
            Kept::Cleared
        } else if channel.bytes > 0 && channel.bytes + added > limit {
            Kept::Refused
        } else {
            channel.bytes += added;
            channel.topics.insert(key, retained(message));
            Kept::Retained
        };
        if channel.topics.is_empty() {
            topics.remove(&message.channel);
        }
        outcome
    }

    /// The retained messages a new subscription to `filter` on `channel` gets: not those
    /// whose expiry passed.
    pub fn matching(&self, channel: ChannelId, filter: &SubtopicFilter) -> Vec<Routed> {
        let topics = self.lock();
        let Some(kept) = topics.get(&channel) else {
            return Vec::new();
        };
        let now = crate::message::now_ns();
        kept.topics
            .values()
            .filter(|m| filter.matches(m.subtopic.as_ref()) && !m.is_expired(now))
            .map(retained)
            .collect()
    }

    /// Forgets every retained message of `channel`; how many.
    pub fn clear_channel(&self, channel: ChannelId) -> usize {
        self.lock()
            .remove(&channel)
            .map_or(0, |kept| kept.topics.len())
    }

    pub fn count(&self) -> usize {
        self.lock().values().map(|kept| kept.topics.len()).sum()
    }
}

/// A copy sharing topic and payload, flagged retained.
fn retained(message: &Routed) -> Routed {
    Routed {
        channel: message.channel,
        subtopic: message.subtopic.clone(),
        topic: message.topic.clone(),
        payload: message.payload.clone(),
        qos: message.qos,
        retain: true,
        properties: message.properties.clone(),
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;
    use bytestring::ByteString;
    use rmqtt_codec::types::QoS;
    use uuid::Uuid;

    use super::*;
    use crate::subtopic::Subtopic;

    /// A retained message on `t/<subtopic>` of channel `channel`.
    fn message(channel: u128, subtopic: &str, payload: &'static [u8]) -> Routed {
        Routed {
            channel: ChannelId(Uuid::from_u128(channel)),
            subtopic: Subtopic::parse(subtopic).ok().flatten(),
            topic: ByteString::from(format!("t/{subtopic:0>3}")),
            payload: Bytes::from_static(payload),
            qos: QoS::AtLeastOnce,
            retain: true,
            properties: None,
        }
    }

    /// Room for `n` messages like `message(_, "a", b"11111")`.
    fn room(n: usize) -> usize {
        n * size("a", &message(1, "a", b"11111"))
    }

    #[test]
    fn a_channel_retains_within_its_limit_and_replacing_a_topic_frees_its_bytes() {
        let retained = Retained::default();
        let steps: [(u128, &str, &'static [u8], Kept); 7] = [
            (1, "a", b"11111", Kept::Retained),
            (1, "b", b"22222", Kept::Retained),
            (1, "c", b"33333", Kept::Refused),
            (2, "c", b"33333", Kept::Retained),
            (1, "a", b"44444", Kept::Retained),
            (1, "b", b"", Kept::Cleared),
            (1, "c", b"33333", Kept::Retained),
        ];
        for (step, (channel, subtopic, payload, kept)) in steps.into_iter().enumerate() {
            let message = message(channel, subtopic, payload);
            assert_eq!(retained.set(&message, room(2)), kept, "step {step}");
        }
        assert_eq!(retained.count(), 3);
    }

    #[test]
    fn one_message_fits_a_channel_retaining_nothing() {
        let retained = Retained::default();
        assert_eq!(retained.set(&message(1, "a", b"11111"), 1), Kept::Retained);
        assert_eq!(retained.set(&message(1, "b", b"22222"), 1), Kept::Refused);
    }

    #[test]
    fn a_refused_update_forgets_the_topics_older_message() {
        let retained = Retained::default();
        let limit = room(2);
        assert_eq!(
            retained.set(&message(1, "b", b"11111"), limit),
            Kept::Retained
        );
        assert_eq!(
            retained.set(&message(1, "a", b"11111"), limit),
            Kept::Retained
        );
        let long: &'static [u8] = &[b'x'; 64];
        assert_eq!(retained.set(&message(1, "a", long), limit), Kept::Refused);
        assert_eq!(retained.count(), 1);
        let left = retained.matching(ChannelId(Uuid::from_u128(1)), &SubtopicFilter::everything());
        assert_eq!(left.len(), 1);
        assert_eq!(&left[0].payload[..], b"11111");
    }
}
