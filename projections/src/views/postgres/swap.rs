//! The swap: the rebuild caught up with the log's head, then its tables moved into the live
//! schema in one transaction that holds the live checkpoint row.
//!
//! Holding that row is what makes the swap safe while nodes run: every follower's batch
//! takes it first (`apply`), so none writes between the last catch-up and the swap, and a
//! follower waiting for it reads, once the swap commits, the checkpoint the fresh tables
//! reached and skips the events they hold. No event is applied twice, none is lost, and the
//! checkpoint never moves backwards: the fresh tables reach at least the live checkpoint, or
//! the swap is refused. Most of the catch-up runs before the row is taken, so running nodes'
//! commands wait only for the last few events and the swap itself.
//!
//! The live tables are dropped in the same transaction (their index and constraint names
//! would clash with the moved ones otherwise). A query waiting for them looks the name up
//! again once the swap commits and reads the new table; a statement a pool connection has
//! prepared (sqlx caches them per connection) is re-analysed by PostgreSQL when a table it
//! names was replaced, so it finds the new one too (tested with a node running). The tables
//! are dropped in the order reads lock them (`users`, `things`, `channels` as `dump` reads
//! them, `connections` last as every join names it after the rows' table), so a reader holding
//! one and waiting for the next does not deadlock with the swap. Should PostgreSQL still
//! detect a deadlock, it aborts one side: if the swap, nothing changed and `replay` can run
//! again.

use domain::envelope::RecordedEvent;
use domain::ports::event_log::EventLog;
use sqlx::{AssertSqlSafe, PgConnection};

use super::rebuild::{REBUILD_SCHEMA, Rebuild, RebuildError};
use super::{BATCH, CHECKPOINT, PgViews, db_error};
use crate::ProjectionError;
use crate::runner::decode;

/// Tables of the rebuild schema that stay there: the rebuild's own checkpoint and migration
/// history (the live schema has its own).
const KEPT: [&str; 2] = ["view_checkpoints", "_sqlx_migrations"];

impl Rebuild {
    /// Applies every event the log holds after the fresh tables' checkpoint; returns the
    /// checkpoint reached.
    pub async fn catch_up(&self, log: &dyn EventLog) -> Result<u64, RebuildError> {
        let mut after = self.views.read_checkpoint().await?;
        loop {
            let page = log
                .read_after(after, BATCH)
                .await
                .map_err(ProjectionError::from)?;
            if page.is_empty() {
                return Ok(after);
            }
            let batch = page
                .into_iter()
                .map(|recorded: RecordedEvent| decode(&recorded).map(|event| (recorded, event)))
                .collect::<Result<Vec<_>, _>>()?;
            after = self.views.apply_events(&batch).await?;
        }
    }

    /// Catches up with `log` and replaces `live`'s tables with the fresh ones; returns the
    /// checkpoint after the swap. On any error the live tables are untouched and the fresh
    /// ones are dropped.
    pub async fn swap_in(self, live: &PgViews, log: &dyn EventLog) -> Result<u64, RebuildError> {
        let swapped = self.try_swap(live, log).await;
        // Afterwards the schema holds only the rebuild's checkpoint and migrations.
        let cleaned = self.abandon().await;
        let checkpoint = swapped?;
        if let Err(error) = cleaned {
            tracing::warn!(%error, "views swapped in; the rebuild schema is left for the next replay to drop");
        }
        live.seen(checkpoint);
        Ok(checkpoint)
    }

    async fn try_swap(&self, live: &PgViews, log: &dyn EventLog) -> Result<u64, RebuildError> {
        // What the log gained during the rebuild, while the nodes keep applying.
        self.catch_up(log).await?;
        let mut tx = live.pool.begin().await.map_err(db_error)?;
        let stored: i64 =
            sqlx::query_scalar("SELECT position FROM view_checkpoints WHERE name = $1 FOR UPDATE")
                .bind(CHECKPOINT)
                .fetch_one(&mut *tx)
                .await
                .map_err(db_error)?;
        // No follower applies now: the last events, then the swap.
        let reached = self.catch_up(log).await?;
        if reached < stored as u64 {
            return Err(RebuildError::LogBehind {
                views: stored as u64,
                log: reached,
            });
        }
        move_tables(&mut tx).await.map_err(db_error)?;
        sqlx::query("UPDATE view_checkpoints SET position = $2 WHERE name = $1")
            .bind(CHECKPOINT)
            .bind(reached as i64)
            .execute(&mut *tx)
            .await
            .map_err(db_error)?;
        tx.commit().await.map_err(db_error)?;
        Ok(reached)
    }
}

/// Drops the live tables the rebuild has fresh copies of and moves the copies in (with their
/// indexes and constraints), on the transaction's connection.
async fn move_tables(tx: &mut PgConnection) -> Result<(), sqlx::Error> {
    let live: String = sqlx::query_scalar("SELECT current_schema()")
        .fetch_one(&mut *tx)
        .await?;
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT tablename::text FROM pg_tables WHERE schemaname = $1 AND tablename <> ALL($2) \
         ORDER BY tablename = 'connections', \
         array_position(ARRAY['users', 'things', 'channels']::name[], tablename) NULLS LAST, \
         tablename",
    )
    .bind(REBUILD_SCHEMA)
    .bind(KEPT)
    .fetch_all(&mut *tx)
    .await?;
    let live = ident(&live);
    let statements = tables
        .iter()
        .map(|t| format!("DROP TABLE IF EXISTS {live}.{}", ident(t)))
        .chain(tables.iter().map(|t| {
            format!(
                "ALTER TABLE {REBUILD_SCHEMA}.{} SET SCHEMA {live}",
                ident(t)
            )
        }));
    for statement in statements {
        // Names read from the catalog, quoted; nothing else is interpolated.
        sqlx::query(AssertSqlSafe(statement))
            .execute(&mut *tx)
            .await?;
    }
    Ok(())
}

/// A quoted SQL identifier.
fn ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}
