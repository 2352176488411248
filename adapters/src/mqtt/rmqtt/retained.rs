//! Retained messages, in memory. rmqtt 0.24 ships the `retain` feature with a storage that
//! stores nothing (it expects its `rmqtt-retainer` plugin); ours keeps the messages in its
//! topic tree and drops a removed channel's messages, so they cannot outlive the channel.
//!
//! Retained messages are not persisted: after a restart a device publishes again (its
//! state, sent retained on every change or connect, is what this is for).

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use domain::ids::ChannelId;
use rmqtt::retain::{DefaultRetainStorage, RetainStorage};
use rmqtt::types::{Retain, TopicFilter, TopicName};

use crate::subtopic::mqtt_topic;

/// Cheap to clone: the engine keeps one to clear channels, rmqtt owns another.
#[derive(Clone, Default)]
pub(super) struct RetainedMessages {
    tree: Arc<DefaultRetainStorage>,
}

impl RetainedMessages {
    /// Forgets every retained message of `channel`; how many.
    pub async fn clear_channel(&self, channel: ChannelId) -> usize {
        let filter = TopicFilter::from(format!("{}/#", mqtt_topic(channel, None)));
        let Ok(retained) = self.tree.get_message(&filter).await else {
            return 0;
        };
        let mut cleared = 0;
        for (topic, mut retain) in retained {
            // An empty payload clears a topic (MQTT's own rule).
            retain.publish.inner.payload = Bytes::new();
            if self
                .tree
                .set_with_timeout(&topic, retain, None)
                .await
                .is_ok()
            {
                cleared += 1;
            }
        }
        cleared
    }
}

#[async_trait]
impl RetainStorage for RetainedMessages {
    fn enable(&self) -> bool {
        true
    }

    async fn set(
        &self,
        topic: &TopicName,
        retain: Retain,
        expiry: Option<Duration>,
    ) -> rmqtt::Result<()> {
        self.tree.set_with_timeout(topic, retain, expiry).await
    }

    async fn get(&self, filter: &TopicFilter) -> rmqtt::Result<Vec<(TopicName, Retain)>> {
        self.tree.get_message(filter).await
    }

    async fn count(&self) -> isize {
        self.tree.count().await
    }

    async fn max(&self) -> isize {
        self.tree.max().await
    }
}
