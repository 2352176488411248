//! Feeds the PostgreSQL views from the event log, many events per transaction.
//!
//! It reads pages with `read_after` rather than holding a subscription: the local runner's
//! `Applied` says when the log has grown, and a page read then picks up everything new at
//! once, so a burst of commands (or a replay) becomes a few large transactions. A database
//! error is logged and retried: the transaction rolled back, so nothing is half applied.

use std::sync::Arc;
use std::time::Duration;

use domain::ports::event_log::EventLog;

use super::PgViews;
use crate::runner::{Applied, ProjectionError, decode};
use crate::views::{ViewError, ViewStore};

/// Events per transaction: large enough for replay speed, small enough that a command
/// waiting behind a replay is not held for long.
pub const BATCH: usize = 4096;

const RETRY: Duration = Duration::from_secs(1);

/// Applies every event after the stored checkpoint, then each new one `log_grew` reports,
/// until the log fails or the runner behind `log_grew` stops.
pub async fn follow(
    views: Arc<PgViews>,
    log: Arc<dyn EventLog>,
    log_grew: Applied,
) -> Result<(), ProjectionError> {
    let mut after = loop {
        match views.checkpoint().await {
            Ok(checkpoint) => break checkpoint,
            Err(error) => retry_later(&error).await,
        }
    };
    loop {
        let page = log.read_after(after, BATCH).await?;
        if page.is_empty() {
            match log_grew.wait_for(after + 1, Duration::from_secs(60)).await {
                Ok(()) | Err(ProjectionError::Timeout(_)) => continue,
                Err(other) => return Err(other),
            }
        }
        let batch = page
            .into_iter()
            .map(|recorded| decode(&recorded).map(|event| (recorded, event)))
            .collect::<Result<Vec<_>, _>>()?;
        loop {
            match views.apply_batch(&batch).await {
                // Another node may have applied further: continue from its checkpoint.
                Ok(checkpoint) => {
                    after = checkpoint.max(after);
                    break;
                }
                Err(error) => retry_later(&error).await,
            }
        }
    }
}

async fn retry_later(error: &ViewError) {
    tracing::warn!(%error, "PostgreSQL views: retrying");
    tokio::time::sleep(RETRY).await;
}
