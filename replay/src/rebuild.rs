//! Rebuild: the log read in large batches, applied to projections with no subscription.

use std::time::{Duration, Instant};

use domain::ports::event_log::EventLog;
use projections::Projections;

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
pub async fn rebuild(
    log: &dyn EventLog,
    projections: &Projections,
    progress: &mut dyn Progress,
) -> Result<RebuildStats, ReplayError> {
    let started = Instant::now();
    let head = log.head().await?;
    progress.start(head);
    let mut after = projections.applied().position();
    let mut events = 0;
    while after < head {
        let batch = log.read_after(after, BATCH).await?;
        let Some(last) = batch.last() else { break };
        after = last.position;
        for recorded in &batch {
            projections.apply(recorded)?;
        }
        events += batch.len() as u64;
        progress.advance(after);
    }
    progress.finish();
    Ok(RebuildStats {
        events,
        elapsed: started.elapsed(),
    })
}
