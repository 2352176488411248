//! The telemetry store: where normalized measurements land and where the reader API reads.
//!
//! Layout:
//! - `record`: `TelemetryRecord`, one stored measurement (or one opaque message), with the
//!   field names Mainflux's readers answer with.
//! - `query`: `ReadQuery`, the reader's filters and paging, parsed from a raw query string.
//! - `fjall`, `codec`, `value_codec`, `counts`: `FjallTelemetryStore`, the embedded backend,
//!   its key and value layouts, and its per-channel record counts.
//! - `postgres`: `PgTelemetryStore`, Mainflux's `messages` table, shared by several nodes.
//! - `memory`: `MemoryTelemetryStore`, the in-memory double for tests of code above the port.
//! - `contract`: the backend-agnostic suite (`telemetry_contract_tests!`) every backend passes.
//!
//! The port is deliberately dumb (STYLE.md §6): it stores records and answers one filtered,
//! paged, newest-first read. Turning bus messages into records and batching them is the
//! writer's job; authorizing the reader is the HTTP layer's.

mod codec;
pub mod contract;
mod counts;
mod fjall;
mod memory;
mod postgres;
mod query;
#[cfg(test)]
mod query_tests;
mod record;
mod value_codec;

use async_trait::async_trait;
use domain::ids::ChannelId;
use serde::{Deserialize, Serialize};

pub use self::fjall::{Durability, ExportBatch, FjallTelemetryOptions, FjallTelemetryStore};
pub use self::memory::MemoryTelemetryStore;
pub use self::postgres::{ImportPosition, PgTelemetryStore};
pub use self::query::{Comparator, DEFAULT_LIMIT, MAX_LIMIT, QueryError, ReadQuery};
pub use self::record::{MAX_TIME, TelemetryRecord};

/// One page of a read, serialized exactly as Mainflux's readers answer:
/// `{"total","offset","limit","messages":[…]}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ReadPage {
    /// Every record of the channel that matches the query's filters, not only this page.
    pub total: u64,
    /// The query's offset, echoed.
    pub offset: u64,
    /// The query's limit, echoed.
    pub limit: u64,
    /// At most `limit` records, newest first.
    pub messages: Vec<TelemetryRecord>,
}

impl ReadPage {
    /// The page of a query that matched nothing.
    pub fn empty(query: &ReadQuery) -> Self {
        Self {
            total: 0,
            offset: query.offset,
            limit: query.limit,
            messages: Vec::new(),
        }
    }
}

/// What can go wrong behind the port; each variant says how the caller should react.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TelemetryError {
    /// A record cannot be stored (its time is negative, not finite or past year 2554, a
    /// value is not finite, or it holds over 1 GiB of text and payload). Nothing of the batch was written. Retrying it unchanged fails
    /// again: drop the records `TelemetryRecord::check` refuses, log them, save the rest.
    #[error("invalid telemetry record: {0}")]
    Invalid(String),
    /// The query is out of range. `ReadQuery::parse` never yields such a query, so this is
    /// a bug in a caller that built one by hand; the HTTP layer answers 400 anyway.
    #[error(transparent)]
    Query(#[from] QueryError),
    /// Storage failed or is closed: nothing of a save was acknowledged, a read has no
    /// answer. Retry later; the reader answers 503.
    #[error("telemetry store unavailable: {0}")]
    Unavailable(String),
    /// Stored bytes do not read back: operator attention needed.
    #[error("telemetry store corrupt: {0}")]
    Corrupt(String),
}

/// The port. Backends: fjall (embedded, one per node) and PostgreSQL (one for all nodes),
/// both running the same contract suite.
#[async_trait]
pub trait TelemetryStore: Send + Sync + 'static {
    /// Stores every record of `records`, or none of them (one batch, one transaction).
    /// Records of the same channel and time are all kept; a later save sorts after an
    /// earlier one of the same time.
    async fn save(&self, records: Vec<TelemetryRecord>) -> Result<(), TelemetryError>;

    /// The records of `channel` matching `query`, newest first (by `time`, ties by arrival,
    /// the latest first), skipping `offset` matches and keeping at most `limit`.
    async fn read(&self, channel: ChannelId, query: &ReadQuery)
    -> Result<ReadPage, TelemetryError>;

    /// Whether other nodes write to this same store. Then each node's writer saves only
    /// the messages published on that node; otherwise a message relayed to every node
    /// would be stored once per node.
    fn shared(&self) -> bool {
        false
    }
}
