//! Feeds the PostgreSQL views from the event log, many events per transaction.
//!
//! It reads pages with `read_after` rather than holding a subscription: the local runner's
//! `Applied` says when the log has grown, and a page read then picks up everything new at
//! once, so a burst of commands (or a replay) becomes a few large transactions. Reading and
//! decoding the next page overlaps applying the current one (a replay is bound by the
//! slower of the two, not their sum). A database error is logged and retried: the
//! transaction rolled back, so nothing is half applied.

use std::sync::Arc;
use std::time::Duration;

use domain::Event;
use domain::envelope::RecordedEvent;
use domain::ports::event_log::EventLog;
use tokio::sync::mpsc;

use super::PgViews;
use crate::runner::{Applied, ProjectionError, decode};
use crate::views::{ViewError, ViewStore};

/// Events per transaction: large enough for replay speed, small enough that a command
/// waiting behind a replay is not held for long.
pub const BATCH: usize = 4096;

const RETRY: Duration = Duration::from_secs(1);

type Batch = Vec<(RecordedEvent, Event)>;

/// Applies every event after the stored checkpoint, then each new one `log_grew` reports,
/// until the log fails or the runner behind `log_grew` stops.
pub async fn follow(
    views: Arc<PgViews>,
    log: Arc<dyn EventLog>,
    log_grew: Applied,
) -> Result<(), ProjectionError> {
    let after = loop {
        match views.checkpoint().await {
            Ok(checkpoint) => break checkpoint,
            Err(error) => retry_later(&error).await,
        }
    };
    // One page in flight while one is applied.
    let (pages, mut next) = mpsc::channel::<Batch>(1);
    let mut reader = tokio::spawn(read(log, log_grew, after, pages));
    loop {
        tokio::select! {
            batch = next.recv() => match batch {
                Some(batch) => apply(&views, &batch).await,
                None => break,
            },
            // The reader stopped (log error, undecodable event, runner gone).
            ended = &mut reader => return ended.unwrap_or(Err(ProjectionError::Stopped)),
        }
    }
    reader.await.unwrap_or(Err(ProjectionError::Stopped))
}

/// Reads and decodes pages after `after`, waiting for the log to grow when there is none.
async fn read(
    log: Arc<dyn EventLog>,
    log_grew: Applied,
    mut after: u64,
    pages: mpsc::Sender<Batch>,
) -> Result<(), ProjectionError> {
    loop {
        let page = log.read_after(after, BATCH).await?;
        let Some(last) = page.last() else {
            match log_grew.wait_for(after + 1, Duration::from_secs(60)).await {
                Ok(()) | Err(ProjectionError::Timeout(_)) => continue,
                Err(other) => return Err(other),
            }
        };
        after = last.position;
        let batch = page
            .into_iter()
            .map(|recorded| decode(&recorded).map(|event| (recorded, event)))
            .collect::<Result<Vec<_>, _>>()?;
        if pages.send(batch).await.is_err() {
            return Ok(());
        }
    }
}

/// Applies one batch, retrying until the database takes it (events another node applied
/// meanwhile are skipped under the checkpoint lock).
async fn apply(views: &PgViews, batch: &[(RecordedEvent, Event)]) {
    while let Err(error) = views.apply_batch(batch).await {
        retry_later(&error).await;
    }
}

async fn retry_later(error: &ViewError) {
    tracing::warn!(%error, "PostgreSQL views: retrying");
    tokio::time::sleep(RETRY).await;
}
