//! The telemetry writer: follows the bus, turns each message into records (SenML resolved
//! into one record per measurement, anything else kept opaque) and saves them in batches.
//!
//! It never loses a message quietly: a SenML payload that does not parse is stored opaque
//! (and counted), a lagging writer resubscribes (and counts the gap), a failed save is
//! retried before it is dropped (and counted).

mod records;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

pub use records::records_of;

use crate::bus::{BusError, BusSubscription, ChannelFilter, MessageBus};
use crate::telemetry::{TelemetryRecord, TelemetryStore};

/// Queue between the bus and the writer: large, so bursts are absorbed while a batch saves.
pub const QUEUE: usize = 65_536;
/// Most messages saved in one batch.
pub const MAX_BATCH: usize = 1024;
const SAVE_ATTEMPTS: u32 = 3;

/// What the writer has done, for metrics and tests.
#[derive(Debug, Default)]
pub struct WriterStats {
    pub messages: AtomicU64,
    pub records: AtomicU64,
    /// SenML payloads that did not parse and were stored opaque instead.
    pub invalid_senml: AtomicU64,
    /// Times the writer fell behind the bus and lost messages (it resubscribes).
    pub lagged: AtomicU64,
    /// Batches dropped after every save attempt failed.
    pub failed_batches: AtomicU64,
}

/// Runs until the bus closes.
pub async fn run(
    bus: Arc<dyn MessageBus>,
    store: Arc<dyn TelemetryStore>,
    stats: Arc<WriterStats>,
) -> Result<(), BusError> {
    loop {
        let mut subscription = bus.subscribe(ChannelFilter::all(), QUEUE).await?;
        match drain(subscription.as_mut(), store.as_ref(), &stats).await {
            BusError::Lagged => {
                stats.lagged.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(
                    "telemetry writer fell behind the bus and lost messages; resubscribing"
                );
            }
            other => return Err(other),
        }
    }
}

/// Saves batches until the subscription ends; returns why it ended.
async fn drain(
    subscription: &mut (dyn BusSubscription + '_),
    store: &dyn TelemetryStore,
    stats: &WriterStats,
) -> BusError {
    loop {
        let first = match subscription.next().await {
            Ok(message) => message,
            Err(end) => return end,
        };
        let mut records = records_of(&first, stats);
        let (taken, ended) = take_ready(subscription, &mut records, stats);
        stats
            .messages
            .fetch_add(1 + taken as u64, Ordering::Relaxed);
        save(store, records, stats).await;
        if let Some(end) = ended {
            return end;
        }
    }
}

/// Adds the messages already queued (up to a batch) without waiting; returns how many,
/// and the end of the subscription if it ended meanwhile.
fn take_ready(
    subscription: &mut (dyn BusSubscription + '_),
    records: &mut Vec<TelemetryRecord>,
    stats: &WriterStats,
) -> (usize, Option<BusError>) {
    let mut cx = Context::from_waker(Waker::noop());
    let mut taken = 0;
    while taken + 1 < MAX_BATCH {
        match subscription.poll_next(&mut cx) {
            Poll::Ready(Ok(message)) => {
                records.extend(records_of(&message, stats));
                taken += 1;
            }
            Poll::Ready(Err(end)) => return (taken, Some(end)),
            Poll::Pending => break,
        }
    }
    (taken, None)
}

async fn save(store: &dyn TelemetryStore, records: Vec<TelemetryRecord>, stats: &WriterStats) {
    let count = records.len() as u64;
    for attempt in 1..=SAVE_ATTEMPTS {
        match store.save(records.clone()).await {
            Ok(()) => {
                stats.records.fetch_add(count, Ordering::Relaxed);
                return;
            }
            Err(error) if attempt < SAVE_ATTEMPTS => {
                tracing::warn!(%error, attempt, "saving telemetry failed; retrying");
                tokio::time::sleep(Duration::from_millis(100 * u64::from(attempt))).await;
            }
            Err(error) => tracing::error!(%error, records = count, "telemetry batch dropped"),
        }
    }
    stats.failed_batches.fetch_add(1, Ordering::Relaxed);
}
