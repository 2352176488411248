//! Rebuild: the log read in large batches, applied to projections with no subscription.

use std::sync::Arc;
use std::time::{Duration, Instant};

use domain::Event;
use domain::envelope::RecordedEvent;
use domain::ports::event_log::EventLog;
use projections::Projections;
use projections::runner::decode;
use tokio::sync::mpsc;

use crate::ReplayError;

/// Events read per batch: large enough to amortize the read, small enough to report often.
const BATCH: usize = 4096;

/// Told how far the rebuild has got; the CLI draws a progress bar with it.
pub trait Progress {
    fn start(&mut self, total: u64);
    fn advance(&mut self, done: u64);
    fn finish(&mut self);
}

impl Progress for () {
    fn start(&mut self, _: u64) {}
    fn advance(&mut self, _: u64) {}
    fn finish(&mut self) {}
}

#[derive(Debug, Clone, Copy)]
pub struct RebuildStats {
    pub events: u64,
    pub elapsed: Duration,
}

impl RebuildStats {
    pub fn events_per_second(&self) -> f64 {
        self.events as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// Applies every event up to the log's current head to `projections`.
///
/// A reader task reads and decodes the next batch while this one applies the current
/// batch, so storage and projection work run on two cores.
pub async fn rebuild(
    log: Arc<dyn EventLog>,
    projections: &Projections,
    progress: &mut dyn Progress,
) -> Result<RebuildStats, ReplayError> {
    let started = Instant::now();
    let head = log.head().await?;
    progress.start(head);
    let after = projections.applied().position();
    let (batches, mut decoded) = mpsc::channel(2);
    let reader = tokio::spawn(read_decoded(log, after, head, batches));
    let mut events = 0;
    while let Some(batch) = decoded.recv().await {
        projections.apply_batch(&batch);
        events += batch.len() as u64;
        progress.advance(batch.last().map_or(after, |(r, _)| r.position));
    }
    reader
        .await
        .map_err(|e| ReplayError::Reader(e.to_string()))??;
    progress.finish();
    Ok(RebuildStats {
        events,
        elapsed: started.elapsed(),
    })
}

/// Reads `(after, head]` in batches and sends them decoded; stops early if the receiver is
/// gone.
pub(crate) async fn read_decoded(
    log: Arc<dyn EventLog>,
    mut after: u64,
    head: u64,
    batches: mpsc::Sender<Vec<(RecordedEvent, Event)>>,
) -> Result<(), ReplayError> {
    while after < head {
        let batch = log.read_after(after, BATCH).await?;
        let Some(last) = batch.last() else { break };
        after = last.position;
        let decoded = batch
            .into_iter()
            .map(|recorded| decode(&recorded).map(|event| (recorded, event)))
            .collect::<Result<Vec<_>, _>>()?;
        if batches.send(decoded).await.is_err() {
            break;
        }
    }
    Ok(())
}
