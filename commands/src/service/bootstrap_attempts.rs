//! Records device fetches (`thing.bootstrap`) in batches: a fleet coming online fetches
//! thousands of configs a second, and one durable append per fetch would cost more than
//! the fetch itself (issue 12's target is 0.8× a `GET /things/{id}`).
//!
//! A fetch queues its record and is answered without waiting for the append: waiting for
//! the fsync made each connection latency-bound, and measured 0.65× instead of ~0.9×. The
//! record is an audit trail of a read, not an acknowledged command, so the trade is this: a
//! crash may lose the records of the fetches answered in the last moments (at most `QUEUE`),
//! and a log that fails an append loses that batch's records, with an error logged. When
//! the queue is full, fetches wait for room rather than go unrecorded.
//!
//! The records go to a stream of this process's own (`bootstrap-<uuid>`): no other writer,
//! so no read before an append and no conflict between nodes; a conflict would mean a bug,
//! and the recorder moves to a fresh stream.

use std::sync::Arc;

use domain::envelope::PendingEvent;
use domain::ports::event_log::{AppendBatch, EventLog, LogError};
use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

/// Records appended together at most; a batch is whatever queued while the last append ran.
const MAX_BATCH: usize = 512;
/// Records waiting for the recorder at most; beyond, a fetch waits for room.
const QUEUE: usize = 4096;

/// A record to append, or a caller waiting until everything queued before it is appended.
enum Item {
    Record(PendingEvent),
    Flush(oneshot::Sender<()>),
}

pub struct AttemptRecorder {
    queue: mpsc::Sender<Item>,
}

impl AttemptRecorder {
    /// Starts the recorder task; it ends when the recorder is dropped.
    pub fn start(log: Arc<dyn EventLog>) -> Self {
        let (queue, rx) = mpsc::channel(QUEUE);
        tokio::spawn(run(log, rx));
        Self { queue }
    }

    /// Queues `event` for the next batch; waits only while the queue is full.
    pub async fn record(&self, event: PendingEvent) {
        if let Err(mpsc::error::TrySendError::Full(item)) = self.queue.try_send(Item::Record(event))
        {
            // Closed only when the recorder task has died, which it does not while running.
            let _ = self.queue.send(item).await;
        }
    }

    /// Returns once every record queued before the call has been appended (or failed): a
    /// stopping server loses none of the fetches it answered.
    pub async fn flush(&self) {
        let (done, flushed) = oneshot::channel();
        if self.queue.send(Item::Flush(done)).await.is_ok() {
            let _ = flushed.await;
        }
    }
}

async fn run(log: Arc<dyn EventLog>, mut rx: mpsc::Receiver<Item>) {
    let mut stream = fresh_stream();
    let mut version = 0;
    let mut items = Vec::with_capacity(MAX_BATCH);
    while rx.recv_many(&mut items, MAX_BATCH).await > 0 {
        let mut events = Vec::with_capacity(items.len());
        let mut flushes = Vec::new();
        for item in items.drain(..) {
            match item {
                Item::Record(event) => events.push(event),
                Item::Flush(done) => flushes.push(done),
            }
        }
        if !events.is_empty() {
            append(log.as_ref(), &mut stream, &mut version, events).await;
        }
        for done in flushes {
            let _ = done.send(());
        }
    }
}

/// One batch, on the recorder's stream at its version.
async fn append(
    log: &dyn EventLog,
    stream: &mut String,
    version: &mut u64,
    events: Vec<PendingEvent>,
) {
    let count = events.len();
    let batch = AppendBatch {
        stream: stream.clone(),
        expected_version: *version,
        command_id: Uuid::now_v7(),
        retryable: false,
        events,
    };
    match log.append(batch).await {
        Ok(appended) => *version = appended.version,
        Err(error) => {
            tracing::error!(%error, count, "bootstrap fetch records lost");
            if matches!(error, LogError::Conflict { .. }) {
                (*stream, *version) = (fresh_stream(), 0);
            }
        }
    }
}

fn fresh_stream() -> String {
    format!("bootstrap-{}", Uuid::new_v4())
}
