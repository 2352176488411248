//! The event-log port: an append-only, durable, totally ordered log of streams.

use async_trait::async_trait;
use uuid::Uuid;

use crate::envelope::{PendingEvent, RecordedEvent};

/// One atomic append to one stream.
#[derive(Debug, Clone)]
pub struct AppendBatch {
    pub stream: String,
    /// The stream version the caller decided on; 0 means "the stream must not exist yet".
    pub expected_version: u64,
    /// Idempotency key: a batch whose command id was already appended appends nothing and
    /// answers with the first outcome.
    pub command_id: Uuid,
    /// False when the command id was made for this one attempt and never left the process
    /// (no `Idempotency-Key`): no retry can carry it, so the log need not remember it, and
    /// `find_command` may not know it. Remembering costs a lookup and an index write per
    /// append.
    pub retryable: bool,
    pub events: Vec<PendingEvent>,
}

impl AppendBatch {
    /// The command id when the log must remember it (`retryable`).
    pub fn retry_id(&self) -> Option<Uuid> {
        self.retryable.then_some(self.command_id)
    }
}

/// Where an append landed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Appended {
    pub stream: String,
    pub first_position: u64,
    pub last_position: u64,
    /// The stream's version after this append.
    pub version: u64,
    /// True when the command id had been appended before and nothing new was written.
    pub duplicate: bool,
}

#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum LogError {
    /// The stream moved on since the caller read it: reload, decide again, retry; after a few
    /// tries answer 409.
    #[error("stream {stream} is at version {actual}, not {expected}")]
    Conflict {
        stream: String,
        expected: u64,
        actual: u64,
    },
    /// The batch itself is unusable (empty, bad stream name): a bug in the caller.
    #[error("invalid append: {0}")]
    Invalid(String),
    /// Storage failed or is closed: nothing of the batch was acknowledged; retry later.
    #[error("event log unavailable: {0}")]
    Unavailable(String),
    /// Stored bytes could not be read back: operator attention needed.
    #[error("event log corrupt: {0}")]
    Corrupt(String),
}

/// The log. Appends are durable (fsynced, or replicated) before they return.
#[async_trait]
pub trait EventLog: Send + Sync + 'static {
    async fn append(&self, batch: AppendBatch) -> Result<Appended, LogError>;

    /// Several batches, each to a different stream, stored together or not at all: one
    /// command that makes several aggregates at once (a provisioning mapping) leaves
    /// nothing half-made. Every batch's expected version is checked; one `Conflict` refuses
    /// them all. Their events take consecutive positions, in the order given. When every
    /// command id was appended before, each batch's first outcome comes back as a duplicate.
    async fn append_all(&self, batches: Vec<AppendBatch>) -> Result<Vec<Appended>, LogError>;

    /// Every event of one stream, in version order (empty when the stream does not exist).
    async fn read_stream(&self, stream: &str) -> Result<Vec<RecordedEvent>, LogError>;

    /// Up to `limit` events with position > `after`, in position order.
    async fn read_after(&self, after: u64, limit: usize) -> Result<Vec<RecordedEvent>, LogError>;

    /// The outcome of an earlier append with this command id, if any.
    async fn find_command(&self, command_id: Uuid) -> Result<Option<Appended>, LogError>;

    /// Position of the last durable event (0 when empty).
    async fn head(&self) -> Result<u64, LogError>;

    /// Every event with position > `after`: history first, then live appends, in order,
    /// with no gap and no duplicate.
    async fn subscribe(&self, after: u64) -> Result<Box<dyn EventSubscription>, LogError>;
}

#[async_trait]
pub trait EventSubscription: Send {
    /// The next event; waits for a live append when history is exhausted.
    async fn next(&mut self) -> Result<RecordedEvent, LogError>;

    /// The next event and, up to `max` in all, those that follow it without waiting: a
    /// follower then announces its progress once per batch, not once per event.
    async fn next_batch(&mut self, max: usize) -> Result<Vec<RecordedEvent>, LogError> {
        let _ = max;
        Ok(vec![self.next().await?])
    }
}

/// What every backend refuses in `append_all`: no batch at all, or two batches to one
/// stream (the second could not name its expected version before the first is stored).
pub fn check_append_all(batches: &[AppendBatch]) -> Result<(), LogError> {
    if batches.is_empty() {
        return Err(LogError::Invalid("append_all of no batch".into()));
    }
    let mut streams: Vec<&str> = batches.iter().map(|b| b.stream.as_str()).collect();
    streams.sort_unstable();
    if let Some(pair) = streams.windows(2).find(|pair| pair[0] == pair[1]) {
        return Err(LogError::Invalid(format!(
            "two batches to stream {} in one append_all",
            pair[0]
        )));
    }
    Ok(())
}
