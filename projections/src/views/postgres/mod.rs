//! Query views in PostgreSQL (`FF_VIEWS=postgres://…`), serving the `QueryViews` port.
//!
//! - `delta`: folds a batch of events into net row changes (pure).
//! - `apply`: writes a batch and the checkpoint in one transaction, under a row lock.
//! - `configs`: bootstrap configs, written after the batch's net rows, and their queries.
//! - `queries`: the owner-scoped queries (paging, filters, order) the REST API asks.
//! - `follow`: the task that feeds the tables from the event log, in batches.
//! - `dump`: every row in id order, compared with a rebuild by `replay --verify`.
//! - `rebuild`: fresh tables in a schema of their own, fed from position 0 (`replay`).
//! - `swap`: the fresh tables caught up and swapped in for the live ones, in one transaction.
//! - `scratch`: a database of its own for each test or bench run.
//!
//! Migrations are embedded (`projections/migrations`) and run at connect; several nodes
//! may share one database: the checkpoint row serializes them.

mod apply;
mod configs;
mod delta;
mod dump;
mod follow;
mod queries;
mod rebuild;
mod scratch;
mod swap;
mod unknown;

use async_trait::async_trait;
use domain::Event;
use domain::envelope::RecordedEvent;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{Connection, PgConnection, PgPool};

use std::time::Duration;
use tokio::sync::watch;

pub use follow::{BATCH, follow};
pub use rebuild::{REBUILD_SCHEMA, Rebuild, RebuildError};
pub use scratch::{ScratchDatabase, create_database};

use crate::views::{ViewError, ViewStore, ViewsDump};

/// How long a connection may take before the views count as unreachable.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// The checkpoint row's name in `view_checkpoints`.
const CHECKPOINT: &str = "views";

/// Why the views could not be opened; each names what the operator should check.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("not a PostgreSQL URL ({0})")]
    BadUrl(String),
    #[error("cannot connect to PostgreSQL: {0}")]
    Unreachable(String),
    #[error("cannot migrate the views' tables: {0}")]
    Migrate(String),
}

/// A pool on the views' database plus how far this node knows the tables have got.
pub struct PgViews {
    pool: PgPool,
    applied: watch::Sender<u64>,
}

impl PgViews {
    /// Connects, migrates and reads the checkpoint; fails fast (a few seconds) when the
    /// database is unreachable, so a misconfigured node stops at start.
    pub async fn connect(url: &str) -> Result<Self, ConnectError> {
        let options: PgConnectOptions = url
            .parse()
            .map_err(|e: sqlx::Error| ConnectError::BadUrl(e.to_string()))?;
        // A commit need not wait for its WAL flush: a database crash may lose the last
        // transactions, rows and checkpoint together, and the follower applies them again.
        let options = options.options([("synchronous_commit", "off")]);
        // One connection first: a pool reports only "timed out", this says why (refused,
        // unknown database, bad password).
        let probe = tokio::time::timeout(CONNECT_TIMEOUT, PgConnection::connect_with(&options))
            .await
            .map_err(|_| ConnectError::Unreachable("no answer in 5 s".into()))?
            .map_err(|e| ConnectError::Unreachable(e.to_string()))?;
        let _ = probe.close().await;
        Self::open(options).await
    }

    /// A pool with `options`, migrated, with its checkpoint row: the live views, or (with a
    /// `search_path` option) the fresh tables of a rebuild.
    async fn open(options: PgConnectOptions) -> Result<Self, ConnectError> {
        let pool = PgPoolOptions::new()
            .max_connections(8)
            .acquire_timeout(CONNECT_TIMEOUT)
            .connect_with(options)
            .await
            .map_err(|e| ConnectError::Unreachable(e.to_string()))?;
        sqlx::migrate!("./migrations")
            .run(&pool)
            .await
            .map_err(|e| ConnectError::Migrate(e.to_string()))?;
        sqlx::query(
            "INSERT INTO view_checkpoints (name, position) VALUES ($1, 0) ON CONFLICT DO NOTHING",
        )
        .bind(CHECKPOINT)
        .execute(&pool)
        .await
        .map_err(|e| ConnectError::Migrate(e.to_string()))?;
        let views = Self {
            pool,
            applied: watch::Sender::new(0),
        };
        let checkpoint = views
            .read_checkpoint()
            .await
            .map_err(|e| ConnectError::Unreachable(e.to_string()))?;
        views.applied.send_replace(checkpoint);
        Ok(views)
    }

    /// Follows the checkpoint this node has seen: commands wait on it (read-your-writes).
    pub fn applied(&self) -> watch::Receiver<u64> {
        self.applied.subscribe()
    }

    async fn read_checkpoint(&self) -> Result<u64, ViewError> {
        let position: i64 =
            sqlx::query_scalar("SELECT position FROM view_checkpoints WHERE name = $1")
                .bind(CHECKPOINT)
                .fetch_one(&self.pool)
                .await
                .map_err(db_error)?;
        Ok(position as u64)
    }

    /// Publishes a checkpoint read or written; never moves the watch backwards.
    fn seen(&self, checkpoint: u64) {
        self.applied.send_if_modified(|known| {
            let newer = checkpoint > *known;
            if newer {
                *known = checkpoint;
            }
            newer
        });
    }
}

#[async_trait]
impl ViewStore for PgViews {
    async fn apply_batch(&self, batch: &[(RecordedEvent, Event)]) -> Result<u64, ViewError> {
        let checkpoint = self.apply_events(batch).await?;
        self.seen(checkpoint);
        Ok(checkpoint)
    }

    async fn dump(&self) -> Result<ViewsDump, ViewError> {
        PgViews::dump(self).await
    }

    async fn checkpoint(&self) -> Result<u64, ViewError> {
        let checkpoint = self.read_checkpoint().await?;
        self.seen(checkpoint);
        Ok(checkpoint)
    }
}

pub(crate) fn db_error(error: sqlx::Error) -> ViewError {
    match error {
        sqlx::Error::ColumnDecode { .. } | sqlx::Error::Decode(_) => {
            ViewError::Corrupt(error.to_string())
        }
        other => ViewError::Unavailable(other.to_string()),
    }
}
