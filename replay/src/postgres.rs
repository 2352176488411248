//! `ferroflux replay` with PostgreSQL views: every event from position 0 into fresh tables
//! beside the live ones, then swapped in (`projections::views::postgres::Rebuild`).
//!
//! The fresh tables are fed as the live follower feeds its own: pages read and decoded on
//! one task while the previous page is written on another, in the follower's batches and
//! through the same batch writer, so a rebuild goes as fast as a node catching up.

use std::sync::Arc;
use std::time::{Duration, Instant};

use domain::ports::event_log::EventLog;
use projections::views::ViewStore;
use projections::views::postgres::{PgViews, Rebuild};
use tokio::sync::mpsc;

use crate::rebuild::read_decoded;
use crate::{Progress, ReplayError};

/// What a rebuild did.
#[derive(Debug, Clone, Copy)]
pub struct Swapped {
    /// Events written into the fresh tables before the final catch-up.
    pub events: u64,
    /// The time they took (the rate a progress bar shows).
    pub filled: Duration,
    /// The live checkpoint after the swap: where running nodes' followers continue.
    pub checkpoint: u64,
}

impl Swapped {
    pub fn events_per_second(&self) -> f64 {
        self.events as f64 / self.filled.as_secs_f64().max(1e-9)
    }
}

/// Rebuilds `live`'s tables from `log` into fresh tables and swaps them in. Nodes serving
/// from `live` keep doing so throughout; on any error the live tables are untouched.
pub async fn rebuild_postgres(
    log: Arc<dyn EventLog>,
    live: &PgViews,
    progress: &mut dyn Progress,
) -> Result<Swapped, ReplayError> {
    let rebuild = live.begin_rebuild().await?;
    let started = Instant::now();
    let events = match fill(log.clone(), &rebuild, progress).await {
        Ok(events) => events,
        Err(error) => {
            if let Err(cleanup) = rebuild.abandon().await {
                tracing::warn!(%cleanup, "the rebuild schema is left for the next replay to drop");
            }
            return Err(error);
        }
    };
    let filled = started.elapsed();
    let checkpoint = rebuild.swap_in(live, log.as_ref()).await?;
    Ok(Swapped {
        events,
        filled,
        checkpoint,
    })
}

/// Writes the log up to its current head into the fresh tables; returns how many events.
async fn fill(
    log: Arc<dyn EventLog>,
    rebuild: &Rebuild,
    progress: &mut dyn Progress,
) -> Result<u64, ReplayError> {
    let head = log.head().await?;
    progress.start(head);
    let (batches, mut decoded) = mpsc::channel(1);
    let reader = tokio::spawn(read_decoded(log, 0, head, batches));
    let mut events = 0;
    while let Some(batch) = decoded.recv().await {
        if let Err(error) = rebuild.views().apply_batch(&batch).await {
            reader.abort();
            return Err(projections::views::postgres::RebuildError::from(error).into());
        }
        events += batch.len() as u64;
        progress.advance(batch.last().map_or(0, |(r, _)| r.position));
    }
    reader
        .await
        .map_err(|e| ReplayError::Reader(e.to_string()))??;
    progress.finish();
    Ok(events)
}
