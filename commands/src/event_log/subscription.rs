//! Catch-up then live, as one loop: read from the cursor up to the durable head in batches;
//! when caught up, wait for the writer to move the head.
//!
//! There is no hand-over between a "history" and a "live" phase, so there is no window in
//! which an event can be missed or delivered twice: the cursor is the only state, and it
//! moves one delivered event at a time.

use std::collections::VecDeque;
use std::sync::Arc;

use async_trait::async_trait;
use domain::envelope::RecordedEvent;
use domain::ports::event_log::{EventSubscription, LogError};
use tokio::sync::watch;

use super::store::Store;

/// Events read per trip to fjall: enough to amortize the blocking hop, small enough to keep
/// a slow consumer's memory bounded.
const BATCH: usize = 256;

pub(super) struct FjallSubscription {
    store: Arc<Store>,
    head: watch::Receiver<u64>,
    /// Position of the last event handed out.
    cursor: u64,
    buffer: VecDeque<RecordedEvent>,
}

impl FjallSubscription {
    pub(super) fn new(store: Arc<Store>, head: watch::Receiver<u64>, after: u64) -> Self {
        Self {
            store,
            head,
            cursor: after,
            buffer: VecDeque::new(),
        }
    }
}

#[async_trait]
impl EventSubscription for FjallSubscription {
    /// Cancel-safe: the cursor advances only when an event is returned, so a dropped call
    /// loses nothing.
    async fn next(&mut self) -> Result<RecordedEvent, LogError> {
        loop {
            if let Some(event) = self.buffer.pop_front() {
                self.cursor = event.position;
                return Ok(event);
            }
            // Marks the current head as seen, so `changed` below wakes for any later one.
            let head = *self.head.borrow_and_update();
            if head > self.cursor {
                let (store, after) = (Arc::clone(&self.store), self.cursor);
                // A follower that keeps up finds its events in memory, without the hop to a
                // blocking thread and back (two thread wake-ups for every group committed).
                let batch = match store.recent.after(after, head, BATCH) {
                    Some(events) => events,
                    None => {
                        tokio::task::spawn_blocking(move || store.read_range(after, head, BATCH))
                            .await
                            .map_err(|e| {
                                LogError::Unavailable(format!("subscription read failed: {e}"))
                            })??
                    }
                };
                self.buffer.extend(batch);
                continue;
            }
            if self.head.changed().await.is_err() && *self.head.borrow() <= self.cursor {
                return Err(LogError::Unavailable("event log closed".into()));
            }
        }
    }

    async fn next_batch(&mut self, max: usize) -> Result<Vec<RecordedEvent>, LogError> {
        let first = self.next().await?;
        let more = self.buffer.len().min(max.saturating_sub(1));
        let mut batch = Vec::with_capacity(1 + more);
        batch.push(first);
        batch.extend(self.buffer.drain(..more));
        if let Some(last) = batch.last() {
            self.cursor = last.position;
        }
        Ok(batch)
    }
}
