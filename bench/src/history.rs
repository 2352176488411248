//! The `as_of` fold (`GET /things/{id}?as_of=`): a thing with 10,000 events, folded from its
//! stream in the log up to the head, against reading that stream alone (the peer: what any
//! fold must pay before it applies an event).

use std::time::Instant;

use anyhow::ensure;
use commands::service::{AsOf, CommandMeta, NewThing};
use domain::envelope::PendingEvent;
use domain::event::{Event, SCHEMA_VERSION};
use domain::ids::ThingId;
use domain::ports::event_log::AppendBatch;
use ferroflux::App;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::provisioning::{self, Log};

/// Events appended per batch while the history is built.
const BATCH: u64 = 1_000;

pub async fn part(events: u64, rounds: usize) -> anyhow::Result<()> {
    let fixture = provisioning::fixture(Log::Fjall).await?;
    let (app, owner) = (&fixture.app, fixture.owner);
    let meta = CommandMeta::new(Some(owner), None);
    let created = app
        .service
        .create_things(&meta, owner, vec![NewThing::default()])
        .await?;
    let id = created[0].row.id;
    grow(app, id, events - 1).await?;
    let head = app.log.head().await?;
    println!(
        "as_of: one thing with {events} events (1 create, {} updates), fjall log, {rounds} rounds",
        events - 1
    );
    let (mut folds, mut reads) = (Vec::new(), Vec::new());
    for round in 1..=rounds {
        let started = Instant::now();
        let stream = app.log.read_stream(&id.stream()).await?;
        let read = started.elapsed();
        ensure!(
            stream.len() as u64 == events,
            "read {} events",
            stream.len()
        );
        let started = Instant::now();
        let thing = app
            .service
            .thing_as_of(owner, id, AsOf::Position(head))
            .await?;
        let fold = started.elapsed();
        ensure!(
            thing.row.name.as_deref() == Some("update"),
            "folded to the last update"
        );
        println!(
            "round {round}: as_of fold {:>8} µs | raw read of the stream {:>8} µs",
            fold.as_micros(),
            read.as_micros()
        );
        folds.push(fold.as_secs_f64());
        reads.push(read.as_secs_f64());
    }
    let ratios: Vec<f64> = reads.iter().zip(&folds).map(|(r, f)| r / f).collect();
    println!(
        "as_of fold vs raw read of the same stream (read time / fold time): {}",
        crate::stats::ratio_summary(&ratios)
    );
    Ok(())
}

/// Appends `updates` renames to the thing's stream, `BATCH` per append.
async fn grow(app: &App, id: ThingId, updates: u64) -> anyhow::Result<()> {
    let mut version = 1;
    while version <= updates {
        let count = BATCH.min(updates + 1 - version);
        let event = Event::ThingUpdated {
            id,
            name: Some("update".into()),
            metadata: None,
        };
        let pending = PendingEvent {
            id: Uuid::now_v7(),
            kind: event.kind().to_owned(),
            schema: SCHEMA_VERSION,
            occurred_at: OffsetDateTime::now_utc(),
            actor: None,
            correlation_id: Uuid::new_v4(),
            data: event.data(),
        };
        let batch = AppendBatch {
            stream: id.stream(),
            expected_version: version,
            command_id: Uuid::new_v4(),
            retryable: false,
            events: vec![pending; count as usize],
        };
        app.log.append(batch).await?;
        version += count;
    }
    Ok(())
}
