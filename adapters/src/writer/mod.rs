//! The telemetry writer: follows the bus, turns each message into records (SenML resolved
//! into one record per measurement, anything else kept opaque) and saves them in batches.
//!
//! It never loses a message quietly: a SenML payload that does not parse (or that no store
//! keeps) is stored opaque (and counted), a lagging writer resubscribes (and counts the
//! gap), a failed save is retried before it is dropped (and counted).

mod records;
#[cfg(test)]
mod tests;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

pub use records::records_of;

use crate::bus::{BusError, BusSubscription, ChannelFilter, MessageBus};
use crate::message::Message;
use crate::telemetry::{TelemetryError, TelemetryRecord, TelemetryStore};

/// What a writer saves into: a telemetry store, which the reader reads, or an export that
/// only takes records (InfluxDB). Every telemetry store is one.
#[async_trait::async_trait]
pub trait RecordSink: Send + Sync + 'static {
    /// Stores every record of `records` or none of them; `TelemetryStore::save`'s errors.
    async fn save(&self, records: Vec<TelemetryRecord>) -> Result<(), TelemetryError>;

    /// Whether every node writes to this same sink, each saving only what it accepted.
    fn shared(&self) -> bool;
}

#[async_trait::async_trait]
impl<T: TelemetryStore + ?Sized> RecordSink for T {
    async fn save(&self, records: Vec<TelemetryRecord>) -> Result<(), TelemetryError> {
        TelemetryStore::save(self, records).await
    }

    fn shared(&self) -> bool {
        TelemetryStore::shared(self)
    }
}

/// Queue between the bus and the writer: large, so bursts are absorbed while a batch saves.
pub const QUEUE: usize = 65_536;
/// Most messages saved in one batch.
pub const MAX_BATCH: usize = 1024;
/// How long the writer waits, once a message has arrived, for more to join its batch
/// (unless the batch is full already). A save has a fixed cost per batch (a hop to a
/// blocking thread and back, one journal write, one commit) that a busy server would
/// otherwise pay every few messages; waiting a little lets it pay once per hundreds.
/// Messages become readable up to this much later; their acknowledgement (HTTP 202, MQTT
/// PUBACK) never waited for the store, and a crash loses at most this much more of what
/// the bus had accepted but the store had not yet written.
pub const LINGER: Duration = Duration::from_millis(2);
/// Attempts at a save that fails for another reason than an outage (a corrupt store).
const SAVE_ATTEMPTS: u32 = 3;
/// The longest wait between two attempts while the store is unavailable.
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// What the writer has done, for metrics and tests.
#[derive(Debug, Default)]
pub struct WriterStats {
    pub messages: AtomicU64,
    pub records: AtomicU64,
    /// SenML payloads stored opaque instead: they did not parse, or held a record no store
    /// keeps (`TelemetryRecord::check`).
    pub invalid_senml: AtomicU64,
    /// Times the writer fell behind the bus and lost messages (it resubscribes).
    pub lagged: AtomicU64,
    /// Batches dropped: refused by the store, or failing for another reason than an outage.
    pub failed_batches: AtomicU64,
    /// Save attempts repeated after a failure (mostly while the store was unavailable).
    pub save_retries: AtomicU64,
    /// Messages no store can keep, even opaque (a payload over `MAX_RECORD_BYTES`).
    pub unstorable: AtomicU64,
}

/// Subscribes to every channel: to the messages of every node, or only to this node's when
/// `store` is shared by all nodes (each node stores what it accepted). Call it before
/// anything may publish, then hand the subscription to `run`: a message published in
/// between would reach no writer.
pub async fn subscribe<S: RecordSink + ?Sized>(
    bus: &dyn MessageBus,
    store: &S,
) -> Result<Box<dyn BusSubscription>, BusError> {
    let filter = match store.shared() {
        true => ChannelFilter::all().local_only(),
        false => ChannelFilter::all(),
    };
    bus.subscribe(filter, QUEUE).await
}

/// Stores what `subscription` receives; resubscribes after falling behind; runs until the
/// bus closes.
pub async fn run<S: RecordSink + ?Sized>(
    mut subscription: Box<dyn BusSubscription>,
    bus: Arc<dyn MessageBus>,
    store: Arc<S>,
    stats: Arc<WriterStats>,
) -> Result<(), BusError> {
    loop {
        // Unconstrained: `take_ready` polls with a no-op waker, and once tokio's cooperative
        // budget (128 receives per poll) ran out, a full queue would look empty, capping
        // each batch, and with `LINGER` the writer's rate, until it lags. The writer still
        // yields whenever less than a full batch is queued (it lingers) or a save waits.
        let drained =
            tokio::task::unconstrained(drain(subscription.as_mut(), store.as_ref(), &stats));
        match drained.await {
            BusError::Lagged => {
                stats.lagged.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(
                    "telemetry writer fell behind the bus and lost messages; resubscribing"
                );
                subscription = subscribe(bus.as_ref(), store.as_ref()).await?;
            }
            other => return Err(other),
        }
    }
}

/// Saves batches until the subscription ends; returns why it ended.
async fn drain<S: RecordSink + ?Sized>(
    subscription: &mut (dyn BusSubscription + '_),
    store: &S,
    stats: &WriterStats,
) -> BusError {
    // Reused, so a batch costs no allocation of its own once the first one has grown it.
    let mut batch = Vec::with_capacity(MAX_BATCH);
    loop {
        match subscription.next().await {
            Ok(message) => batch.push(message),
            Err(end) => return end,
        }
        let mut ended = take_ready(subscription, &mut batch);
        if ended.is_none() && batch.len() < MAX_BATCH {
            tokio::time::sleep(LINGER).await;
            ended = take_ready(subscription, &mut batch);
        }
        stats
            .messages
            .fetch_add(batch.len() as u64, Ordering::Relaxed);
        save(store, &batch, stats).await;
        batch.clear();
        if let Some(end) = ended {
            return end;
        }
    }
}

/// Adds the messages already queued, until the batch is full, without waiting; returns
/// the end of the subscription if it ended meanwhile.
fn take_ready(
    subscription: &mut (dyn BusSubscription + '_),
    batch: &mut Vec<Arc<Message>>,
) -> Option<BusError> {
    let mut cx = Context::from_waker(Waker::noop());
    while batch.len() < MAX_BATCH {
        match subscription.poll_next(&mut cx) {
            Poll::Ready(Ok(message)) => batch.push(message),
            Poll::Ready(Err(end)) => return Some(end),
            Poll::Pending => break,
        }
    }
    None
}

/// Saves the records of `batch`. While the store is unavailable (a database restarting, a
/// network cut) it retries, backing off up to `MAX_BACKOFF`, for as long as the outage
/// lasts: the bus queue (`QUEUE` messages) holds what arrives meanwhile, and only once it
/// overflows does the writer lag and lose messages (counted). Any other failure is retried
/// `SAVE_ATTEMPTS` times, then the batch is dropped (counted). Records are built anew for
/// each attempt, so the first one needs no copy of them.
async fn save<S: RecordSink + ?Sized>(store: &S, batch: &[Arc<Message>], stats: &WriterStats) {
    let mut records = records_of_batch(batch, stats);
    let count = records.len() as u64;
    let mut attempt = 1u32;
    loop {
        let error = match store.save(records).await {
            Ok(()) => {
                stats.records.fetch_add(count, Ordering::Relaxed);
                if attempt > 1 {
                    tracing::info!(attempt, "telemetry store is back; saving again");
                }
                return;
            }
            Err(error) => error,
        };
        let outage = matches!(error, TelemetryError::Unavailable(_));
        // A refused record would be refused again: it is not worth a retry.
        if matches!(error, TelemetryError::Invalid(_)) || (!outage && attempt >= SAVE_ATTEMPTS) {
            tracing::error!(%error, records = count, "telemetry batch dropped");
            stats.failed_batches.fetch_add(1, Ordering::Relaxed);
            return;
        }
        // The first failure, then every power of two: an outage is named without a flood.
        if attempt.is_power_of_two() {
            tracing::warn!(%error, attempt, "saving telemetry failed; retrying");
        }
        stats.save_retries.fetch_add(1, Ordering::Relaxed);
        tokio::time::sleep(backoff(attempt)).await;
        attempt += 1;
        // Invalid SenML was counted on the first build already.
        records = records_of_batch(batch, &WriterStats::default());
    }
}

/// 100 ms, 200 ms, 400 ms, … up to `MAX_BACKOFF`.
fn backoff(attempt: u32) -> Duration {
    let millis = 100u64.saturating_mul(1 << attempt.min(16).saturating_sub(1));
    Duration::from_millis(millis).min(MAX_BACKOFF)
}

fn records_of_batch(batch: &[Arc<Message>], stats: &WriterStats) -> Vec<TelemetryRecord> {
    let mut records = Vec::with_capacity(batch.len());
    for message in batch {
        records_of(message, stats, &mut records);
    }
    records
}
