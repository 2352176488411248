//! Copies of another store into the table (`ferroflux migrate --telemetry-to`): each batch
//! and the position it reached are one transaction, so a copy stopped anywhere resumes where
//! it stopped, with no record twice.

use uuid::Uuid;

use super::{PgTelemetryStore, insert, save_error, unavailable};
use crate::telemetry::{TelemetryError, TelemetryRecord};

/// Where a copy from one source got to: the source's key of the last record copied, and how
/// many records it has copied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportPosition {
    pub last_key: Vec<u8>,
    pub copied: u64,
}

impl PgTelemetryStore {
    /// How far the copy from `source` has got; `None` before its first batch.
    pub async fn import_position(
        &self,
        source: Uuid,
    ) -> Result<Option<ImportPosition>, TelemetryError> {
        let row: Option<(Vec<u8>, i64)> =
            sqlx::query_as("SELECT last_key, copied FROM telemetry_imports WHERE source = $1")
                .bind(source)
                .fetch_optional(&self.pool)
                .await
                .map_err(unavailable)?;
        Ok(row.map(|(last_key, copied)| ImportPosition {
            last_key,
            copied: copied as u64,
        }))
    }

    /// Saves `records`, the next of `source` after its position, and moves the position to
    /// `last_key`, all or nothing.
    pub async fn import(
        &self,
        source: Uuid,
        records: Vec<TelemetryRecord>,
        last_key: &[u8],
    ) -> Result<(), TelemetryError> {
        for record in &records {
            record.check()?;
        }
        let mut tx = self.pool.begin().await.map_err(unavailable)?;
        insert(&mut *tx, &records).await?;
        sqlx::query(
            "INSERT INTO telemetry_imports (source, last_key, copied) VALUES ($1, $2, $3) \
             ON CONFLICT (source) DO UPDATE SET last_key = EXCLUDED.last_key, \
             copied = telemetry_imports.copied + EXCLUDED.copied",
        )
        .bind(source)
        .bind(last_key)
        .bind(records.len() as i64)
        .execute(&mut *tx)
        .await
        .map_err(save_error)?;
        tx.commit().await.map_err(save_error)
    }
}
