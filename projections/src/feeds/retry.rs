//! Backoff and "log once" for a feed writer whose Redis went away: one warning when
//! writes start failing, one line when they work again, quiet retries in between.

use std::time::{Duration, Instant};

use super::FeedError;
use super::stats::FeedStats;

const FIRST_DELAY: Duration = Duration::from_millis(100);
/// The longest pause between attempts: Redis back means the feed catches up within it.
const MAX_DELAY: Duration = Duration::from_secs(5);

pub struct Outage {
    stream: String,
    since: Option<Instant>,
    delay: Duration,
}

impl Outage {
    pub fn new(stream: &str) -> Self {
        Self {
            stream: stream.to_owned(),
            since: None,
            delay: FIRST_DELAY,
        }
    }

    /// Counts and (the first time) logs the failure, then waits before the next attempt.
    pub async fn failed(&mut self, error: &FeedError, stats: &FeedStats) {
        FeedStats::add(&stats.redis_errors, 1);
        if self.since.is_none() {
            self.since = Some(Instant::now());
            tracing::warn!(stream = %self.stream, %error,
                "cannot write the Redis feed; retrying with backoff until Redis answers");
        } else {
            tracing::debug!(stream = %self.stream, %error, "Redis feed still failing");
        }
        tokio::time::sleep(self.delay).await;
        self.delay = (self.delay * 2).min(MAX_DELAY);
    }

    /// A write worked: ends the outage, if any, with one line.
    pub fn succeeded(&mut self) {
        self.delay = FIRST_DELAY;
        if let Some(since) = self.since.take() {
            tracing::info!(stream = %self.stream, down_ms = since.elapsed().as_millis() as u64,
                "Redis feed writing again");
        }
    }
}
