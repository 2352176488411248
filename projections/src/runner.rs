//! Follows the event log and feeds every projection, in position order.

use std::sync::Arc;
use std::time::Duration;

use domain::Event;
use domain::envelope::RecordedEvent;
use domain::ports::event_log::{EventLog, LogError};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::Projection;

#[derive(Debug, thiserror::Error)]
pub enum ProjectionError {
    #[error(transparent)]
    Log(#[from] LogError),
    /// A stored event no known schema reads: the projections stop rather than skip it,
    /// because a skipped event makes every later answer wrong.
    #[error("event at position {position} cannot be read: {reason}")]
    Undecodable { position: u64, reason: String },
    /// The runner has stopped; the read side is stale until restart.
    #[error("projections are not running")]
    Stopped,
    /// The projections did not reach a position in time (overload, or a stopped runner).
    #[error("projections did not reach position {0} in time")]
    Timeout(u64),
}

/// Most events applied together while following: a command waiting for its events is woken
/// once per batch, not once per event before its own.
const FOLLOW_BATCH: usize = 256;

/// The set of local projections, applied together.
pub struct Projections {
    list: Vec<Arc<dyn Projection>>,
    applied: watch::Sender<u64>,
}

/// How far the local projections have got; cheap to clone into every request handler.
///
/// The sync runner's position, plus any projection that follows the log on its own (the
/// PostgreSQL views): a command waits until all of them show its events.
#[derive(Clone)]
pub struct Applied(Vec<watch::Receiver<u64>>);

impl Applied {
    /// Also waits for `other` (a position that only moves forward).
    pub fn and(mut self, other: watch::Receiver<u64>) -> Self {
        self.0.push(other);
        self
    }

    /// The lowest position every watched projection has applied.
    pub fn position(&self) -> u64 {
        self.0.iter().map(|rx| *rx.borrow()).min().unwrap_or(0)
    }

    /// Waits until every local projection has applied `position` (read-your-writes).
    pub async fn wait_for(&self, position: u64, timeout: Duration) -> Result<(), ProjectionError> {
        let all = async {
            for rx in &self.0 {
                let mut rx = rx.clone();
                rx.wait_for(|applied| *applied >= position).await?;
            }
            Ok::<_, watch::error::RecvError>(())
        };
        match tokio::time::timeout(timeout, all).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(_)) => Err(ProjectionError::Stopped),
            Err(_) => Err(ProjectionError::Timeout(position)),
        }
    }
}

impl Projections {
    pub fn new(list: Vec<Arc<dyn Projection>>) -> Self {
        let start = list.iter().map(|p| p.checkpoint()).min().unwrap_or(0);
        Self {
            list,
            applied: watch::Sender::new(start),
        }
    }

    pub fn applied(&self) -> Applied {
        Applied(vec![self.applied.subscribe()])
    }

    /// Applies decoded events, in position order, to every projection.
    pub fn apply_batch(&self, batch: &[(RecordedEvent, Event)]) {
        let Some((last, _)) = batch.last() else {
            return;
        };
        for projection in &self.list {
            projection.apply_batch(batch);
        }
        self.applied.send_replace(last.position);
    }

    /// Follows the log from the lowest checkpoint until the log fails or closes.
    pub async fn follow(self, log: Arc<dyn EventLog>) -> Result<(), ProjectionError> {
        let after = *self.applied.borrow();
        let mut subscription = log.subscribe(after).await?;
        loop {
            let recorded = subscription.next_batch(FOLLOW_BATCH).await?;
            let batch = recorded
                .into_iter()
                .map(|r| decode(&r).map(|event| (r, event)))
                .collect::<Result<Vec<_>, _>>()?;
            self.apply_batch(&batch);
        }
    }

    /// Starts following in a task; the caller waits on `Applied` for catch-up.
    pub fn spawn(
        self,
        log: Arc<dyn EventLog>,
    ) -> (Applied, JoinHandle<Result<(), ProjectionError>>) {
        let applied = self.applied();
        let handle = tokio::spawn(async move {
            let result = self.follow(log).await;
            if let Err(error) = &result {
                tracing::error!(%error, "projections stopped");
            }
            result
        });
        (applied, handle)
    }
}

pub fn decode(recorded: &RecordedEvent) -> Result<Event, ProjectionError> {
    Event::from_parts(&recorded.kind, recorded.schema, &recorded.data).map_err(|e| {
        ProjectionError::Undecodable {
            position: recorded.position,
            reason: e.to_string(),
        }
    })
}
