//! Telemetry in PostgreSQL (`FF_TELEMETRY=postgres://…`): Mainflux's `messages` table
//! (`adapters/migrations/telemetry`), shared by every node that names the same database.
//!
//! - `mod`: connect and migrate, and `save`: one batch is one `INSERT … SELECT FROM UNNEST`
//!   that also moves the channels' counts, so it is one statement, all or nothing, in
//!   arrival order.
//! - `read`: the reader's filters as a `WHERE` clause, a page and its total in one query.
//! - `import`: a copy of another store, each batch with its position in one transaction.
//!
//! Commits do not wait for the WAL flush (`synchronous_commit = off`), as the fjall store
//! writes buffered: publishers were acknowledged before the writer saved anything, and a
//! database crash loses at most its last fraction of a second, not a consistent state.

mod import;
mod read;

use std::time::Duration;

use async_trait::async_trait;
use domain::ids::ChannelId;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{Connection, PgConnection, PgExecutor, PgPool};

pub use import::ImportPosition;

use super::{ReadPage, ReadQuery, TelemetryError, TelemetryRecord, TelemetryStore};

/// How long a connection may take before the store counts as unreachable.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Its own migrations table, so the query views' migrations can share the database.
const MIGRATIONS_TABLE: &str = "_telemetry_migrations";

/// The batch in arrival order, and each channel's count moved by as many rows, in one
/// statement. Counts are locked in channel order, so two nodes writing the same channels at
/// once wait for each other instead of deadlocking.
const INSERT: &str = "WITH inserted AS (INSERT INTO messages (channel, subtopic, publisher, \
     protocol, name, unit, value, string_value, bool_value, data_value, sum, time, update_time, \
     payload, content_type) \
     SELECT channel, subtopic, publisher, protocol, name, unit, value, string_value, bool_value, \
     data_value, sum, time, update_time, payload, content_type \
     FROM UNNEST($1::uuid[], $2::text[], $3::uuid[], $4::text[], $5::text[], $6::text[], \
     $7::float8[], $8::text[], $9::bool[], $10::text[], $11::float8[], $12::float8[], \
     $13::float8[], $14::bytea[], $15::text[]) WITH ORDINALITY AS r(channel, subtopic, \
     publisher, protocol, name, unit, value, string_value, bool_value, data_value, sum, time, \
     update_time, payload, content_type, arrival) \
     ORDER BY arrival RETURNING channel) \
     INSERT INTO message_counts (channel, records) \
     SELECT channel, count(*) FROM inserted GROUP BY channel ORDER BY channel \
     ON CONFLICT (channel) DO UPDATE SET records = message_counts.records + EXCLUDED.records";

/// The `messages` table of one database, through a small pool.
pub struct PgTelemetryStore {
    pool: PgPool,
}

impl PgTelemetryStore {
    /// Connects and migrates; fails within seconds when the database is unreachable, so a
    /// misconfigured node stops at start with the reason (refused, unknown database, …).
    pub async fn connect(url: &str) -> Result<Self, TelemetryError> {
        let options: PgConnectOptions = url
            .parse()
            .map_err(|e: sqlx::Error| TelemetryError::Unavailable(e.to_string()))?;
        let options = options.options([("synchronous_commit", "off")]);
        // One connection first: a pool reports only "timed out", this says why.
        let probe = tokio::time::timeout(CONNECT_TIMEOUT, PgConnection::connect_with(&options))
            .await
            .map_err(|_| TelemetryError::Unavailable("no answer in 5 s".into()))?
            .map_err(unavailable)?;
        let _ = probe.close().await;
        let pool = PgPoolOptions::new()
            .max_connections(8)
            .acquire_timeout(CONNECT_TIMEOUT)
            .connect_with(options)
            .await
            .map_err(unavailable)?;
        let mut migrator = sqlx::migrate!("./migrations/telemetry");
        migrator.dangerous_set_table_name(MIGRATIONS_TABLE);
        migrator
            .run(&pool)
            .await
            .map_err(|e| TelemetryError::Unavailable(format!("cannot migrate: {e}")))?;
        Ok(Self { pool })
    }
}

#[async_trait]
impl TelemetryStore for PgTelemetryStore {
    async fn save(&self, records: Vec<TelemetryRecord>) -> Result<(), TelemetryError> {
        for record in &records {
            record.check()?;
        }
        insert(&self.pool, &records).await
    }

    async fn read(
        &self,
        channel: ChannelId,
        query: &ReadQuery,
    ) -> Result<ReadPage, TelemetryError> {
        query.check()?;
        read::page(&self.pool, channel, query).await
    }

    fn shared(&self) -> bool {
        true
    }
}

/// One statement for a whole batch, in arrival order; records checked by the caller.
async fn insert<'e>(
    executor: impl PgExecutor<'e>,
    records: &[TelemetryRecord],
) -> Result<(), TelemetryError> {
    if records.is_empty() {
        return Ok(());
    }
    let c = Columns::of(records);
    sqlx::query(INSERT)
        .bind(c.channel)
        .bind(c.subtopic)
        .bind(c.publisher)
        .bind(c.protocol)
        .bind(c.name)
        .bind(c.unit)
        .bind(c.value)
        .bind(c.string_value)
        .bind(c.bool_value)
        .bind(c.data_value)
        .bind(c.sum)
        .bind(c.time)
        .bind(c.update_time)
        .bind(c.payload)
        .bind(c.content_type)
        .execute(executor)
        .await
        .map_err(save_error)?;
    Ok(())
}

/// A batch turned inside out: one array per column, the shape `UNNEST` takes.
struct Columns<'a> {
    channel: Vec<uuid::Uuid>,
    subtopic: Vec<Option<&'a str>>,
    publisher: Vec<uuid::Uuid>,
    protocol: Vec<&'a str>,
    name: Vec<Option<&'a str>>,
    unit: Vec<Option<&'a str>>,
    value: Vec<Option<f64>>,
    string_value: Vec<Option<&'a str>>,
    bool_value: Vec<Option<bool>>,
    data_value: Vec<Option<&'a str>>,
    sum: Vec<Option<f64>>,
    time: Vec<f64>,
    update_time: Vec<Option<f64>>,
    payload: Vec<Option<&'a [u8]>>,
    content_type: Vec<Option<&'a str>>,
}

impl<'a> Columns<'a> {
    fn of(records: &'a [TelemetryRecord]) -> Self {
        let column = |f: fn(&'a TelemetryRecord) -> Option<&'a str>| -> Vec<Option<&'a str>> {
            records.iter().map(f).collect()
        };
        Self {
            channel: records.iter().map(|r| r.channel.0).collect(),
            subtopic: column(|r| r.subtopic.as_deref()),
            publisher: records.iter().map(|r| r.publisher.0).collect(),
            protocol: records.iter().map(|r| &*r.protocol).collect(),
            name: column(|r| r.name.as_deref()),
            unit: column(|r| r.unit.as_deref()),
            value: records.iter().map(|r| r.value).collect(),
            string_value: column(|r| r.string_value.as_deref()),
            bool_value: records.iter().map(|r| r.bool_value).collect(),
            data_value: column(|r| r.data_value.as_deref()),
            sum: records.iter().map(|r| r.sum).collect(),
            time: records.iter().map(|r| r.time).collect(),
            update_time: records.iter().map(|r| r.update_time).collect(),
            payload: records.iter().map(|r| r.payload.as_deref()).collect(),
            content_type: column(|r| r.content_type.as_deref()),
        }
    }
}

fn unavailable(error: sqlx::Error) -> TelemetryError {
    TelemetryError::Unavailable(error.to_string())
}

/// Why an insert failed, told apart by SQLSTATE class: a lost connection, a rolled-back
/// transaction, a server short of resources or being shut down passes (`Unavailable`: the
/// writer retries); any other refusal of the statement (a batch over a limit, say) would be
/// refused again (`Invalid`: the writer drops the batch and counts it, instead of retrying
/// it forever while everything behind it waits).
fn save_error(error: sqlx::Error) -> TelemetryError {
    const PASSING: [&str; 5] = ["08", "40", "53", "57", "58"];
    let refused = match &error {
        sqlx::Error::Database(db) => db
            .code()
            .is_some_and(|code| !PASSING.iter().any(|class| code.starts_with(class))),
        _ => false,
    };
    match refused {
        true => TelemetryError::Invalid(format!("PostgreSQL refused the batch: {error}")),
        false => unavailable(error),
    }
}
