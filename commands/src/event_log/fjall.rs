//! `FjallEventLog`: the embedded `EventLog` backend.
//!
//! Appends go to the writer thread (`writer.rs`) and wait for its answer; reads go straight
//! to fjall (`store.rs`), bounded by the durable head the writer publishes on a `watch`.

use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::{Arc, mpsc};
use std::thread::JoinHandle;

use async_trait::async_trait;
use domain::envelope::RecordedEvent;
use domain::ports::event_log::{AppendBatch, Appended, EventLog, EventSubscription, LogError};
use tokio::sync::{oneshot, watch};
use uuid::Uuid;

use super::codec;
use super::store::Store;
use super::subscription::FjallSubscription;
use super::writer::{Counters, Request, Writer};

/// Tuning of `FjallEventLog::open_with`; `Default` suits a single server.
#[derive(Debug, Clone)]
pub struct FjallOptions {
    /// Most appends that share one fsync. Bigger groups raise throughput under load and
    /// the latency of the group's last caller.
    pub max_group: usize,
    /// fjall's block cache, in bytes.
    pub cache_bytes: u64,
}

impl Default for FjallOptions {
    fn default() -> Self {
        Self {
            max_group: 1024,
            cache_bytes: 32 * 1024 * 1024,
        }
    }
}

/// How well group commit is doing: `events / groups` appends shared each fsync.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CommitStats {
    /// Groups committed, i.e. fsyncs of the journal since open.
    pub groups: u64,
    /// Events written since open.
    pub events: u64,
}

/// The event log in one fjall database directory, owned by this process.
///
/// Dropping it lets the writer finish what is queued, then joins it; the directory stays
/// locked until every subscription taken from it is dropped as well.
pub struct FjallEventLog {
    dir: PathBuf,
    store: Arc<Store>,
    head: watch::Receiver<u64>,
    counters: Arc<Counters>,
    requests: Option<mpsc::Sender<Request>>,
    writer: Option<JoinHandle<()>>,
}

impl FjallEventLog {
    /// Opens (creating if needed) the log in `dir` with default options.
    ///
    /// Fails with `Unavailable` when another process (or another handle in this one) holds
    /// the directory: fjall keeps an exclusive lock on `dir/lock` while open.
    pub fn open(dir: &Path) -> Result<Self, LogError> {
        Self::open_with(dir, FjallOptions::default())
    }

    pub fn open_with(dir: &Path, options: FjallOptions) -> Result<Self, LogError> {
        let store = Arc::new(Store::open(dir, options.cache_bytes)?);
        let (head_tx, head) = watch::channel(store.last_position()?);
        let counters = Arc::new(Counters::default());
        let writer = Writer::new(
            Arc::clone(&store),
            head_tx,
            Arc::clone(&counters),
            options.max_group,
        )?;
        let (requests, queue) = mpsc::channel();
        let writer = std::thread::Builder::new()
            .name("ff-event-log-writer".into())
            .spawn(move || writer.run(queue))
            .map_err(|e| LogError::Unavailable(format!("cannot start the log writer: {e}")))?;
        Ok(Self {
            dir: dir.to_owned(),
            store,
            head,
            counters,
            requests: Some(requests),
            writer: Some(writer),
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn commit_stats(&self) -> CommitStats {
        CommitStats {
            groups: self.counters.groups.load(Ordering::Relaxed),
            events: self.counters.appends.load(Ordering::Relaxed),
        }
    }

    fn durable_head(&self) -> u64 {
        *self.head.borrow()
    }
}

impl Drop for FjallEventLog {
    fn drop(&mut self) {
        // Closing the channel is the writer's signal to finish the queue and return.
        drop(self.requests.take());
        if let Some(writer) = self.writer.take()
            && writer.join().is_err()
        {
            tracing::error!("event log writer panicked");
        }
    }
}

fn closed() -> LogError {
    LogError::Unavailable("event log writer has stopped".into())
}

/// Runs a fjall read off the async worker threads: a catch-up batch may touch disk.
async fn blocking<T: Send + 'static>(
    read: impl FnOnce() -> Result<T, LogError> + Send + 'static,
) -> Result<T, LogError> {
    tokio::task::spawn_blocking(read)
        .await
        .map_err(|e| LogError::Unavailable(format!("event log read task failed: {e}")))?
}

#[async_trait]
impl EventLog for FjallEventLog {
    async fn append(&self, batch: AppendBatch) -> Result<Appended, LogError> {
        let mut appended = self.append_all(vec![batch]).await?;
        appended.pop().ok_or_else(closed)
    }

    async fn append_all(&self, batches: Vec<AppendBatch>) -> Result<Vec<Appended>, LogError> {
        let (reply, answer) = oneshot::channel();
        let requests = self.requests.as_ref().ok_or_else(closed)?;
        requests
            .send(Request { batches, reply })
            .map_err(|_| closed())?;
        answer.await.map_err(|_| closed())?
    }

    async fn read_stream(&self, stream: &str) -> Result<Vec<RecordedEvent>, LogError> {
        codec::check_stream(stream)?;
        let (store, stream, head) = (
            Arc::clone(&self.store),
            stream.to_owned(),
            self.durable_head(),
        );
        blocking(move || store.read_stream(&stream, head)).await
    }

    async fn read_after(&self, after: u64, limit: usize) -> Result<Vec<RecordedEvent>, LogError> {
        let (store, head) = (Arc::clone(&self.store), self.durable_head());
        blocking(move || store.read_range(after, head, limit)).await
    }

    async fn find_command(&self, command_id: Uuid) -> Result<Option<Appended>, LogError> {
        let head = self.durable_head();
        let found = self.store.find_command(command_id)?;
        // An outcome is visible once its events are, not a moment before.
        Ok(found.filter(|appended| appended.last_position <= head))
    }

    async fn head(&self) -> Result<u64, LogError> {
        Ok(self.durable_head())
    }

    async fn subscribe(&self, after: u64) -> Result<Box<dyn EventSubscription>, LogError> {
        Ok(Box::new(FjallSubscription::new(
            Arc::clone(&self.store),
            self.head.clone(),
            after,
        )))
    }
}
