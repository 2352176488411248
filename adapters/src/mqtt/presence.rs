//! Presence: a thing's MQTT sessions starting and ending, in the shape of Mainflux's
//! `mainflux.mqtt` feed (`thing_id`, `timestamp` in Unix seconds, `event_type`
//! `connect`|`disconnect`, `instance`), for the Redis feed and for `ferroflux events --feed
//! mqtt`. Only authenticated things appear: Mainflux also reported the unverified username
//! of a refused CONNECT, which let anyone write any thing id into the feed.

use crate::message::now_ns;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use domain::ids::ThingId;
use serde::Serialize;
use tokio::sync::broadcast;

/// Presence events buffered for a slow reader; beyond that it misses the oldest, and
/// its receiver reports how many.
const BACKLOG: usize = 4096;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PresenceKind {
    Connect,
    Disconnect,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Presence {
    pub thing_id: ThingId,
    pub timestamp: u64,
    pub event_type: PresenceKind,
    pub instance: String,
}

/// Where presence events go. Cheap to clone; sending with no reader costs nothing.
#[derive(Clone)]
pub struct PresenceFeed {
    sender: broadcast::Sender<Presence>,
    instance: Arc<str>,
    /// Events some reader was there to receive: a stop waits until the Redis writer has
    /// written (or dropped) as many, so the last disconnects reach the feed.
    sent: Arc<AtomicU64>,
}

impl PresenceFeed {
    /// `instance` names this server in every event (Mainflux's `MF_MQTT_ADAPTER_INSTANCE`).
    pub fn new(instance: &str) -> Self {
        Self {
            sender: broadcast::Sender::new(BACKLOG),
            instance: instance.into(),
            sent: Arc::default(),
        }
    }

    /// How many events were sent while a reader listened.
    pub fn sent(&self) -> u64 {
        self.sent.load(Ordering::Acquire)
    }

    /// Events from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Presence> {
        self.sender.subscribe()
    }

    pub(crate) fn publish(&self, thing_id: ThingId, event_type: PresenceKind) {
        let timestamp = u64::try_from(now_ns() / 1_000_000_000).unwrap_or(0);
        let presence = Presence {
            thing_id,
            timestamp,
            event_type,
            instance: self.instance.to_string(),
        };
        // No reader is not an error: the event is for whoever listens.
        if self.sender.send(presence).is_ok() {
            self.sent.fetch_add(1, Ordering::Release);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_have_mainflux_field_names() {
        let feed = PresenceFeed::new("node-1");
        let mut reader = feed.subscribe();
        let thing = ThingId(uuid::Uuid::nil());
        feed.publish(thing, PresenceKind::Disconnect);
        let json = serde_json::to_value(reader.try_recv().unwrap()).unwrap();
        assert_eq!(json["thing_id"], thing.to_string());
        assert_eq!(json["event_type"], "disconnect");
        assert_eq!(json["instance"], "node-1");
        assert!(json["timestamp"].as_u64().unwrap() > 1_700_000_000);
    }
}
