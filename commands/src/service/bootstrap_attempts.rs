//! Records device fetches (`thing.bootstrap`) in batches: a fleet coming online fetches
//! thousands of configs a second, and one durable append per fetch would cost more than
//! the fetch itself (issue 12's target is 0.8× a `GET /things/{id}`).
//!
//! Every fetch waits for its record to be durable, as a command waits for its events, so
//! an answered fetch is always in the log. The records go to a stream of this process's
//! own (`bootstrap-<uuid>`): no other writer, so no read before an append and no conflict
//! between nodes; a conflict would mean a bug, and the recorder moves to a fresh stream.

use std::sync::Arc;

use domain::envelope::PendingEvent;
use domain::ports::event_log::{AppendBatch, EventLog, LogError};
use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

/// Records appended together at most; a batch is whatever queued while the last append ran.
const MAX_BATCH: usize = 512;
/// Fetches waiting for the recorder at most; beyond, a fetch waits for room.
const QUEUE: usize = 4096;

type Reply = oneshot::Sender<Result<(), LogError>>;

pub struct AttemptRecorder {
    queue: mpsc::Sender<(PendingEvent, Reply)>,
}

impl AttemptRecorder {
    /// Starts the recorder task; it ends when the recorder is dropped.
    pub fn start(log: Arc<dyn EventLog>) -> Self {
        let (queue, rx) = mpsc::channel(QUEUE);
        tokio::spawn(run(log, rx));
        Self { queue }
    }

    /// Appends `event` (with its own id and time) and waits until it is durable.
    pub async fn record(&self, event: PendingEvent) -> Result<(), LogError> {
        let (reply, done) = oneshot::channel();
        self.queue
            .send((event, reply))
            .await
            .map_err(|_| LogError::Unavailable("bootstrap recorder stopped".into()))?;
        done.await
            .map_err(|_| LogError::Unavailable("bootstrap recorder stopped".into()))?
    }
}

async fn run(log: Arc<dyn EventLog>, mut rx: mpsc::Receiver<(PendingEvent, Reply)>) {
    let mut stream = fresh_stream();
    let mut version = 0;
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while rx.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let (events, replies): (Vec<_>, Vec<_>) = batch.drain(..).unzip();
        let append = AppendBatch {
            stream: stream.clone(),
            expected_version: version,
            command_id: Uuid::now_v7(),
            events,
        };
        let outcome = match log.append(append).await {
            Ok(appended) => {
                version = appended.version;
                Ok(())
            }
            Err(error) => {
                if matches!(error, LogError::Conflict { .. }) {
                    (stream, version) = (fresh_stream(), 0);
                }
                Err(error)
            }
        };
        for reply in replies {
            let _ = reply.send(outcome.clone());
        }
    }
}

fn fresh_stream() -> String {
    format!("bootstrap-{}", Uuid::new_v4())
}
