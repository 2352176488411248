//! A rebuild of the views into fresh tables beside the live ones (`ferroflux replay`).
//!
//! The fresh tables live in a schema of their own, [`REBUILD_SCHEMA`], created empty and
//! migrated with the same embedded migrations as the live tables, through a pool whose
//! `search_path` is that schema: the batch writer (`apply`), its checkpoint row and the
//! migrator's `_sqlx_migrations` all land there unchanged. A schema rather than
//! `<table>_rebuild` names because the writer, the migrations and the indexes name
//! everything unqualified; a schema gives all of them a namespace with no second copy of any
//! SQL, and a migration that adds a table is rebuilt and swapped with no change here.
//!
//! Nothing touches the live tables before the swap (`swap`), one transaction: a failed or
//! interrupted rebuild leaves them as they were, and the next rebuild drops the leftover
//! schema first. A session advisory lock keeps two rebuilds of one database apart; it goes
//! with the session when the process dies.

use sqlx::{AssertSqlSafe, Connection, PgConnection};

use super::{ConnectError, PgViews, db_error};
use crate::ProjectionError;
use crate::views::ViewError;

/// Where the fresh tables are built; one per database, like the views' checkpoint row.
pub const REBUILD_SCHEMA: &str = "ff_views_rebuild";

/// The advisory lock key a rebuild holds ("ffviews!").
const REBUILD_LOCK: i64 = 0x6666_7669_6577_7321;

/// Why a rebuild stopped. In every case the live tables are as they were.
#[derive(Debug, thiserror::Error)]
pub enum RebuildError {
    /// Another `replay` is rebuilding this database: wait for it, or stop it.
    #[error("another `ferroflux replay` is rebuilding these views")]
    Busy,
    /// The database refused or went away: run the replay again.
    #[error(transparent)]
    Views(#[from] ViewError),
    /// The fresh tables could not be created or migrated.
    #[error("cannot prepare the fresh tables: {0}")]
    Prepare(#[from] ConnectError),
    /// The log could not be read, or holds an event no schema reads.
    #[error(transparent)]
    Log(#[from] ProjectionError),
    /// The live views have applied events this log does not hold: they were built from
    /// another log (a wrong `FF_EVENT_LOG` or `FF_VIEWS`); the swap would lose them.
    #[error(
        "the live views have applied {views} events but the log holds {log}: they were \
         built from another log"
    )]
    LogBehind { views: u64, log: u64 },
}

/// Fresh, empty view tables in [`REBUILD_SCHEMA`], fed through [`Rebuild::views`] and then
/// swapped in (`Rebuild::swap_in`) or dropped (`Rebuild::abandon`).
pub struct Rebuild {
    pub(super) views: PgViews,
    /// Holds the advisory lock for as long as the rebuild lives.
    pub(super) guard: PgConnection,
}

impl PgViews {
    /// Creates the fresh tables, dropping the leftover of an interrupted rebuild first.
    pub async fn begin_rebuild(&self) -> Result<Rebuild, RebuildError> {
        let options = (*self.pool.connect_options()).clone();
        let mut guard = PgConnection::connect_with(&options)
            .await
            .map_err(db_error)?;
        let locked: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
            .bind(REBUILD_LOCK)
            .fetch_one(&mut guard)
            .await
            .map_err(db_error)?;
        if !locked {
            return Err(RebuildError::Busy);
        }
        for statement in [
            format!("DROP SCHEMA IF EXISTS {REBUILD_SCHEMA} CASCADE"),
            format!("CREATE SCHEMA {REBUILD_SCHEMA}"),
        ] {
            // A constant schema name; nothing is bound.
            sqlx::query(AssertSqlSafe(statement))
                .execute(&mut guard)
                .await
                .map_err(db_error)?;
        }
        let views = PgViews::open(options.options([("search_path", REBUILD_SCHEMA)])).await?;
        Ok(Rebuild { views, guard })
    }
}

impl Rebuild {
    /// The fresh tables, fed with `ViewStore::apply_batch` as the live follower feeds its own.
    pub fn views(&self) -> &PgViews {
        &self.views
    }

    /// Drops the fresh tables (and whatever the swap left in their schema); the live tables
    /// are not touched.
    pub async fn abandon(mut self) -> Result<(), ViewError> {
        self.views.pool.close().await;
        let drop = format!("DROP SCHEMA IF EXISTS {REBUILD_SCHEMA} CASCADE");
        sqlx::query(AssertSqlSafe(drop))
            .execute(&mut self.guard)
            .await
            .map_err(db_error)?;
        let _ = self.guard.close().await;
        Ok(())
    }
}
