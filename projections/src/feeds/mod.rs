//! Redis-stream feeds in Mainflux's format (`FF_FEEDS`), so Mainflux's consumers (its
//! bootstrap service, scripts reading `mainflux.things`, `mainflux.bootstrap` or
//! `mainflux.mqtt`) keep working.
//!
//! Layout:
//! - `things`: the pure mapping event → `mainflux.things` entries (operations and fields).
//! - `bootstrap`: the same for `mainflux.bootstrap` (configs, fetches, activation).
//! - `owners`: owners' emails, which both mappings write as `owner`.
//! - `stream`: one Redis stream: atomic append with our own ids (exactly once) or live
//!   append with Redis' ids, its checkpoint (the last generated id), URL masking.
//! - `follower`: the writer of a history stream, generic over its mapping: follows the
//!   event log from the checkpoint Redis holds, retries with backoff when Redis goes away,
//!   catches up when it returns.
//! - `stats`: counters for `/metrics`.
//!
//! The presence feed (`mainflux.mqtt`) is written by the MQTT side through `Stream`.

pub mod bootstrap;
pub mod follower;
pub mod owners;
pub mod retry;
pub mod stats;
pub mod stream;
pub mod things;

pub use bootstrap::BootstrapMapping;
pub use follower::{BootstrapFeed, Feed, Mapping, ThingsFeed};
pub use retry::Outage;
pub use stats::FeedStats;
pub use stream::{Stream, check_url, connect};
pub use things::{Entry, EntryId, ThingsMapping};

use crate::ProjectionError;

/// The stream keys, as Mainflux names them (before `FF_FEEDS_PREFIX`).
pub const THINGS_STREAM: &str = "mainflux.things";
pub const BOOTSTRAP_STREAM: &str = "mainflux.bootstrap";
pub const MQTT_STREAM: &str = "mainflux.mqtt";

#[derive(Debug, thiserror::Error)]
pub enum FeedError {
    /// `FF_FEEDS` is not a Redis URL: fix the setting.
    #[error("not a Redis URL ({0})")]
    Url(String),
    /// Redis did not answer at start: start it, or unset `FF_FEEDS`.
    #[error("Redis is unreachable: {0}")]
    Unreachable(String),
    /// A command failed: the writers retry with backoff, nothing is lost or doubled.
    #[error("Redis: {0}")]
    Redis(#[from] redis::RedisError),
    /// The stream holds an id that is not `<number>-<number>`: not a stream we can follow.
    #[error("the stream's last id {0:?} is not <position>-<n>")]
    ForeignId(String),
    /// The event log failed or holds an unreadable event: the feed stops (a skipped event
    /// would be a gap), like the other projections.
    #[error(transparent)]
    Log(#[from] ProjectionError),
}

impl FeedError {
    /// Whether retrying later can help (Redis trouble), as opposed to a stop.
    pub fn is_transient(&self) -> bool {
        matches!(self, FeedError::Redis(_) | FeedError::Unreachable(_))
    }
}
