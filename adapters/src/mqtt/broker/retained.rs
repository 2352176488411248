//! Retained messages, in memory: the last retained message of each topic, by channel, so
//! a removed channel's messages go with it and a SUBSCRIBE looks at one channel only.
//!
//! Not persisted: after a restart a device publishes again (its state, sent retained on
//! every change or connect, is what this is for).

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

use domain::ids::ChannelId;

use super::session::Routed;
use crate::subtopic::SubtopicFilter;

type Topics = HashMap<ChannelId, HashMap<Box<str>, Routed>>;

#[derive(Default)]
pub(super) struct Retained {
    topics: Mutex<Topics>,
}

impl Retained {
    fn lock(&self) -> MutexGuard<'_, Topics> {
        self.topics.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Keeps `message` as its topic's retained message; an empty payload clears the topic
    /// (MQTT's own rule).
    pub fn set(&self, message: &Routed) {
        let key: Box<str> = message.subtopic.as_ref().map_or("", |s| s.as_str()).into();
        let mut topics = self.lock();
        if message.payload.is_empty() {
            if let Some(channel) = topics.get_mut(&message.channel) {
                channel.remove(&key);
                if channel.is_empty() {
                    topics.remove(&message.channel);
                }
            }
            return;
        }
        let kept = Routed {
            channel: message.channel,
            subtopic: message.subtopic.clone(),
            topic: message.topic.clone(),
            payload: message.payload.clone(),
            qos: message.qos,
            retain: true,
        };
        topics.entry(message.channel).or_default().insert(key, kept);
    }

    /// The retained messages a new subscription to `filter` on `channel` gets.
    pub fn matching(&self, channel: ChannelId, filter: &SubtopicFilter) -> Vec<Routed> {
        let topics = self.lock();
        let Some(kept) = topics.get(&channel) else {
            return Vec::new();
        };
        kept.values()
            .filter(|m| filter.matches(m.subtopic.as_ref()))
            .map(|m| Routed {
                channel: m.channel,
                subtopic: m.subtopic.clone(),
                topic: m.topic.clone(),
                payload: m.payload.clone(),
                qos: m.qos,
                retain: true,
            })
            .collect()
    }

    /// Forgets every retained message of `channel`; how many.
    pub fn clear_channel(&self, channel: ChannelId) -> usize {
        self.lock().remove(&channel).map_or(0, |kept| kept.len())
    }

    pub fn count(&self) -> usize {
        self.lock().values().map(HashMap::len).sum()
    }
}
