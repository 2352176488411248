//! Replay into the in-memory projections: from the log (read + decode + apply) and from
//! events already in memory (decode + apply), to separate storage from projection cost.

use std::fmt;
use std::sync::Arc;
use std::time::Instant;

use anyhow::ensure;
use commands::event_log::FjallEventLog;
use domain::Event;
use domain::envelope::PendingEvent;
use domain::event::SCHEMA_VERSION;
use domain::ids::{ChannelId, KeyHash, KeyMaterial, SealedKey, ThingId, UserId};
use domain::ports::event_log::{AppendBatch, EventLog};
use projections::{AuthzCache, Projection, Projections, Views};
use uuid::Uuid;

pub struct ReplaySpeed {
    events: u64,
    from_log: f64,
    in_memory: f64,
    decode_only: f64,
    read_only: f64,
}

impl fmt::Display for ReplaySpeed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "replay of {} events into views + authz:\n  rebuild from the fjall log  {:>9.0}/s (pipelined: read+decode | apply)\n  \
             from memory, decode+apply {:>9.0}/s\n  parts: read alone {:.0}/s, decode alone {:.0}/s",
            self.events, self.from_log, self.in_memory, self.read_only, self.decode_only
        )
    }
}

pub fn fresh() -> Projections {
    let list: Vec<Arc<dyn Projection>> =
        vec![Arc::new(Views::default()), Arc::new(AuthzCache::default())];
    Projections::new(list)
}

/// A realistic mix in groups of 21 events: a channel, 10 things created and connected to it.
/// Groups are independent, so setup can append them concurrently.
pub fn group(owner: UserId) -> Vec<(String, Event)> {
    let channel = ChannelId(Uuid::new_v4());
    let mut out = vec![(
        channel.stream(),
        Event::ChannelCreated {
            id: channel,
            owner,
            name: Some("c".into()),
            metadata: None,
        },
    )];
    for _ in 0..10 {
        let id = ThingId(Uuid::new_v4());
        let key = KeyMaterial {
            key_hash: KeyHash(
                [*id.0.as_bytes(), *id.0.as_bytes()]
                    .concat()
                    .try_into()
                    .unwrap_or([0; 32]),
            ),
            sealed_key: SealedKey("s".into()),
        };
        out.push((
            id.stream(),
            Event::ThingCreated {
                id,
                owner,
                name: Some("t".into()),
                metadata: None,
                key,
            },
        ));
        out.push((
            channel.stream(),
            Event::ThingConnected {
                channel_id: channel,
                thing_id: id,
            },
        ));
    }
    out
}

/// Fills `log` with about `events` events of `owner`'s provisioning (groups of 21, ten
/// things each), 256 groups at a time so that concurrent appends share fsyncs; setup, not
/// measured. Returns the log's head.
pub async fn history(log: &dyn EventLog, owner: UserId, events: u64) -> anyhow::Result<u64> {
    let groups = events.div_ceil(21);
    for chunk in (0..groups).collect::<Vec<_>>().chunks(256) {
        let appends = chunk.iter().map(|_| append_group(log, group(owner)));
        futures::future::try_join_all(appends).await?;
    }
    Ok(log.head().await?)
}

async fn append_group(log: &dyn EventLog, events: Vec<(String, Event)>) -> anyhow::Result<()> {
    let mut versions = std::collections::HashMap::<String, u64>::new();
    for (stream, event) in events {
        let version = versions.entry(stream.clone()).or_default();
        let pending = PendingEvent {
            id: Uuid::now_v7(),
            kind: event.kind().into(),
            schema: SCHEMA_VERSION,
            occurred_at: time::OffsetDateTime::now_utc(),
            actor: None,
            correlation_id: Uuid::new_v4(),
            data: event.data(),
        };
        let batch = AppendBatch {
            stream,
            expected_version: *version,
            command_id: Uuid::new_v4(),
            retryable: false,
            events: vec![pending],
        };
        log.append(batch).await?;
        *version += 1;
    }
    Ok(())
}

pub async fn measure(events: u64) -> anyhow::Result<ReplaySpeed> {
    let dir = tempfile::tempdir()?;
    let log = Arc::new(FjallEventLog::open(dir.path())?);
    let events = history(log.as_ref(), UserId(Uuid::new_v4()), events).await?;
    let projections = fresh();
    let stats = replay::rebuild(log.clone(), &projections, &mut ()).await?;
    ensure!(
        stats.events == events,
        "rebuilt {} of {events} events",
        stats.events
    );

    let started = Instant::now();
    let recorded = log.read_after(0, events as usize).await?;
    let read_only = events as f64 / started.elapsed().as_secs_f64();
    let projections = fresh();
    let started = Instant::now();
    for chunk in recorded.chunks(4096) {
        let decoded = chunk
            .iter()
            .map(|r| projections::runner::decode(r).map(|e| (r.clone(), e)))
            .collect::<Result<Vec<_>, _>>()?;
        projections.apply_batch(&decoded);
    }
    let in_memory = events as f64 / started.elapsed().as_secs_f64();
    let started = Instant::now();
    for r in &recorded {
        std::hint::black_box(projections::runner::decode(r)?);
    }
    let decode_only = events as f64 / started.elapsed().as_secs_f64();
    Ok(ReplaySpeed {
        events,
        from_log: stats.events_per_second(),
        in_memory,
        decode_only,
        read_only,
    })
}
