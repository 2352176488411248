//! `mainflux.mqtt`: every MQTT connect and disconnect of a thing, as Mainflux's adapter
//! wrote them (`thing_id`, `timestamp` in Unix seconds, `event_type` `connect` |
//! `disconnect`, `instance`), with ids Redis makes: presence is live state, not history,
//! so a lost entry (Redis away too long) is counted, never replayed.
//!
//! The MQTT adapter publishes into the `PresenceFeed`'s bounded broadcast buffer and never
//! waits: when Redis is slow or away the buffer fills, the oldest events are dropped and
//! counted (`ferroflux_feeds_presence_dropped_total`), and CONNECTs go on at full speed.

use std::sync::Arc;

use projections::feeds::{FeedStats, Outage, Stream};
use tokio::sync::broadcast::{Receiver, error::RecvError, error::TryRecvError};

use crate::mqtt::{Presence, PresenceKind};

/// Presence events written per pipelined round trip.
const BATCH: usize = 256;

/// Writes presence events from `events` to `stream` until the feed closes.
pub async fn write_presence(mut events: Receiver<Presence>, stream: Stream, stats: Arc<FeedStats>) {
    let mut outage = Outage::new(stream.key());
    loop {
        let Some(batch) = next_batch(&mut events, &stats).await else {
            return;
        };
        loop {
            match stream.add_live(&batch).await {
                Ok(()) => {
                    FeedStats::add(&stats.presence_written, batch.len() as u64);
                    outage.succeeded();
                    break;
                }
                Err(error) => outage.failed(&error, &stats).await,
            }
        }
    }
}

/// Waits for one event, then takes what else is already buffered, up to `BATCH`; `None`
/// once the feed is closed.
async fn next_batch(
    events: &mut Receiver<Presence>,
    stats: &FeedStats,
) -> Option<Vec<Vec<(&'static str, String)>>> {
    let mut batch = Vec::new();
    while batch.is_empty() {
        match events.recv().await {
            Ok(presence) => batch.push(fields(&presence)),
            Err(RecvError::Lagged(missed)) => FeedStats::add(&stats.presence_dropped, missed),
            Err(RecvError::Closed) => return None,
        }
    }
    while batch.len() < BATCH {
        match events.try_recv() {
            Ok(presence) => batch.push(fields(&presence)),
            Err(TryRecvError::Lagged(missed)) => FeedStats::add(&stats.presence_dropped, missed),
            Err(TryRecvError::Empty | TryRecvError::Closed) => break,
        }
    }
    Some(batch)
}

/// Mainflux's field names and values; all strings, as Redis stores them.
pub fn fields(presence: &Presence) -> Vec<(&'static str, String)> {
    let event_type = match presence.event_type {
        PresenceKind::Connect => "connect",
        PresenceKind::Disconnect => "disconnect",
    };
    vec![
        ("thing_id", presence.thing_id.to_string()),
        ("timestamp", presence.timestamp.to_string()),
        ("event_type", event_type.to_owned()),
        ("instance", presence.instance.clone()),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use domain::ids::ThingId;

    #[test]
    fn fields_are_mainflux_names_as_strings() {
        let presence = Presence {
            thing_id: ThingId(uuid::Uuid::from_u128(1)),
            timestamp: 1_700_000_000,
            event_type: PresenceKind::Disconnect,
            instance: "node-1".into(),
        };
        let fields = fields(&presence);
        assert_eq!(
            fields,
            vec![
                (
                    "thing_id",
                    "00000000-0000-0000-0000-000000000001".to_owned()
                ),
                ("timestamp", "1700000000".to_owned()),
                ("event_type", "disconnect".to_owned()),
                ("instance", "node-1".to_owned()),
            ]
        );
    }
}
