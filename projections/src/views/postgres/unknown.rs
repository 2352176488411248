//! Unknown devices in PostgreSQL (see `views::unknown`): written in log order with the
//! config events, so a config created for an id removes it exactly where memory does.

use domain::Event;
use domain::envelope::RecordedEvent;
use sqlx::postgres::PgRow;
use sqlx::{PgConnection, Row};

use super::{PgViews, db_error};
use crate::views::{MAX_UNKNOWN, Page, UnknownDevice, ViewError};

/// Applies one event if it concerns unknown devices; returns whether it added an attempt.
pub(super) async fn write_unknown(
    tx: &mut PgConnection,
    recorded: &RecordedEvent,
    event: &Event,
) -> Result<bool, sqlx::Error> {
    match event {
        Event::ThingBootstrapped {
            external_id,
            unknown: true,
            ..
        } => {
            sqlx::query(
                "INSERT INTO unknown_configs (external_id, attempts, last_attempt, last_position) \
                 VALUES ($1, 1, $2, $3) ON CONFLICT (external_id) DO UPDATE SET \
                 attempts = unknown_configs.attempts + 1, \
                 last_attempt = excluded.last_attempt, last_position = excluded.last_position",
            )
            .bind(external_id)
            .bind(recorded.occurred_at.unix_timestamp())
            .bind(recorded.position as i64)
            .execute(&mut *tx)
            .await?;
            Ok(true)
        }
        Event::ConfigCreated { external_id, .. } => {
            sqlx::query("DELETE FROM unknown_configs WHERE external_id = $1")
                .bind(external_id)
                .execute(&mut *tx)
                .await?;
            Ok(false)
        }
        _ => Ok(false),
    }
}

/// Keeps the `MAX_UNKNOWN` most recently seen ids.
pub(super) async fn trim_unknown(tx: &mut PgConnection) -> Result<(), sqlx::Error> {
    sqlx::query(
        "DELETE FROM unknown_configs WHERE last_position <= (SELECT last_position \
         FROM unknown_configs ORDER BY last_position DESC OFFSET $1 LIMIT 1)",
    )
    .bind(MAX_UNKNOWN as i64)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

pub(super) fn unknown_device(row: &PgRow) -> Result<UnknownDevice, ViewError> {
    let attempts: i64 = row.try_get("attempts").map_err(db_error)?;
    let position: i64 = row.try_get("last_position").map_err(db_error)?;
    Ok(UnknownDevice {
        external_id: row.try_get("external_id").map_err(db_error)?,
        attempts: attempts as u64,
        last_attempt: row.try_get("last_attempt").map_err(db_error)?,
        last_position: position as u64,
    })
}

impl PgViews {
    pub(super) async fn list_unknown(
        &self,
        offset: u64,
        limit: u64,
    ) -> Result<Page<UnknownDevice>, ViewError> {
        let rows = sqlx::query(
            "SELECT external_id, attempts, last_attempt, last_position FROM unknown_configs \
             ORDER BY last_position DESC LIMIT $1 OFFSET $2",
        )
        .bind(i64::try_from(limit).unwrap_or(i64::MAX))
        .bind(i64::try_from(offset).unwrap_or(i64::MAX))
        .fetch_all(&self.pool)
        .await
        .map_err(db_error)?;
        let total: i64 = sqlx::query_scalar("SELECT count(*) FROM unknown_configs")
            .fetch_one(&self.pool)
            .await
            .map_err(db_error)?;
        Ok(Page {
            total: total as u64,
            offset,
            limit,
            items: rows.iter().map(unknown_device).collect::<Result<_, _>>()?,
        })
    }
}
