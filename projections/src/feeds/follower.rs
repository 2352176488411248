//! A feed writer (`mainflux.things`, `mainflux.bootstrap`): a projection of the event log
//! whose state and checkpoint live in Redis, in the stream itself. One generic follower;
//! each stream brings only its `Mapping`.
//!
//! Where it is: the stream's last generated id `<position>-<k>` names the last event that
//! gave an entry. A restarted writer (or one after a Redis outage) reads it and re-maps
//! the events after it; those that give no entry (user events, key changes) are simply
//! mapped again, and an entry another writer wrote meanwhile is refused by Redis. So no
//! separate checkpoint key exists that could disagree with the data. Each stream has its
//! own writer and checkpoint, so one stream behind (or trimmed) never holds the other back.
//!
//! Several writers (one per node) may follow the same log into the same stream: each
//! writes every entry in order or finds it there, so a consumer sees each entry once, in
//! position order. The mappings need owners' emails, so each folds the log from the start
//! once per process (as the in-memory views do) and writes only past the checkpoint.

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use domain::Event;
use domain::envelope::RecordedEvent;
use domain::ports::event_log::EventLog;

use super::FeedError;
use super::bootstrap::BootstrapMapping;
use super::retry::Outage;
use super::stats::FeedStats;
use super::stream::Stream;
use super::things::{Entry, EntryId, ThingsMapping};
use crate::ProjectionError;
use crate::runner::decode;

/// Events read per catch-up page and written per script call.
const PAGE: usize = 1000;

/// What makes a stream of a feed writer: the entries of each event, in Mainflux's format,
/// with ids from the event's position (`<position>-<k>`, increasing), and its counters.
pub trait Mapping: Default + Send + 'static {
    /// Folds `event` (decoded from `recorded`) and returns its entries, possibly none.
    fn entries(&mut self, recorded: &RecordedEvent, event: &Event) -> Vec<Entry>;

    /// The stream's counters in `stats`: (entries written, event position reached).
    fn counters(stats: &FeedStats) -> (&AtomicU64, &AtomicU64);
}

impl Mapping for ThingsMapping {
    fn entries(&mut self, recorded: &RecordedEvent, event: &Event) -> Vec<Entry> {
        self.map(recorded.position, event)
    }

    fn counters(stats: &FeedStats) -> (&AtomicU64, &AtomicU64) {
        (&stats.things_written, &stats.things_position)
    }
}

impl Mapping for BootstrapMapping {
    fn entries(&mut self, recorded: &RecordedEvent, event: &Event) -> Vec<Entry> {
        self.map(recorded.position, recorded.occurred_at, event)
    }

    fn counters(stats: &FeedStats) -> (&AtomicU64, &AtomicU64) {
        (&stats.bootstrap_written, &stats.bootstrap_position)
    }
}

/// The `mainflux.things` writer.
pub type ThingsFeed = Feed<ThingsMapping>;
/// The `mainflux.bootstrap` writer.
pub type BootstrapFeed = Feed<BootstrapMapping>;

pub struct Feed<M> {
    log: Arc<dyn EventLog>,
    stream: Stream,
    stats: Arc<FeedStats>,
    mapping: M,
    /// The mapping has folded every event up to here.
    folded: u64,
    warned_ahead: bool,
}

impl<M: Mapping> Feed<M> {
    pub fn new(log: Arc<dyn EventLog>, stream: Stream, stats: Arc<FeedStats>) -> Self {
        Self {
            log,
            stream,
            stats,
            mapping: M::default(),
            folded: 0,
            warned_ahead: false,
        }
    }

    /// Follows the log for good. Redis failures are retried with backoff; only a failing
    /// log or an unreadable event (which would become a gap) ends it.
    pub async fn run(mut self) -> FeedError {
        let mut outage = Outage::new(self.stream.key());
        loop {
            match self.sync(&mut outage).await {
                Err(error) if error.is_transient() => outage.failed(&error, &self.stats).await,
                Err(error) => {
                    tracing::error!(stream = %self.stream.key(), %error, "Redis feed stopped");
                    return error;
                }
                Ok(never) => match never {},
            }
        }
    }

    /// From the checkpoint in Redis: catch up by pages, then follow live appends.
    async fn sync(&mut self, outage: &mut Outage) -> Result<Infallible, FeedError> {
        let top = self.stream.top().await?;
        self.warn_if_ahead(top).await?;
        let mut cursor = top.position.min(self.folded);
        loop {
            let page = self
                .log
                .read_after(cursor, PAGE)
                .await
                .map_err(log_failed)?;
            let full = page.len() == PAGE;
            cursor = self.write(&page, top).await?.unwrap_or(cursor);
            outage.succeeded();
            if !full {
                break;
            }
        }
        let mut live = self.log.subscribe(cursor).await.map_err(log_failed)?;
        loop {
            let recorded = live.next().await.map_err(log_failed)?;
            self.write(std::slice::from_ref(&recorded), top).await?;
            outage.succeeded();
        }
    }

    /// Maps `page` and appends its entries above `top` in one atomic call; returns the
    /// last position done.
    async fn write(
        &mut self,
        page: &[RecordedEvent],
        top: EntryId,
    ) -> Result<Option<u64>, FeedError> {
        let Some(last) = page.last().map(|r| r.position) else {
            return Ok(None);
        };
        let mut entries = Vec::new();
        for recorded in page {
            let event = decode(recorded)?;
            let mapped = self.mapping.entries(recorded, &event);
            entries.extend(mapped.into_iter().filter(|entry| entry.id > top));
        }
        let written = self.stream.append(&entries).await?;
        self.folded = self.folded.max(last);
        let (written_counter, position) = M::counters(&self.stats);
        FeedStats::add(written_counter, written);
        position.fetch_max(last, Relaxed);
        Ok(Some(last))
    }

    /// A stream ahead of the log was written from another history (a wiped data dir, a
    /// Mainflux stream with time-based ids): its entries up to `top` stay as they are.
    async fn warn_if_ahead(&mut self, top: EntryId) -> Result<(), FeedError> {
        if self.warned_ahead {
            return Ok(());
        }
        let head = self.log.head().await.map_err(log_failed)?;
        if top.position > head {
            tracing::warn!(stream = %self.stream.key(), top = %top, head,
                "the Redis stream is ahead of this event log (written from another history): \
                 events up to position {} get no entry; delete the stream to rewrite it", top.position);
        }
        self.warned_ahead = true;
        Ok(())
    }
}

/// The event log failed: the feed stops, like the other projections.
fn log_failed(error: domain::ports::event_log::LogError) -> FeedError {
    FeedError::Log(ProjectionError::Log(error))
}
