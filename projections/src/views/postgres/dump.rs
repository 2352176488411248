//! Reads every row back, in id order, for `replay --verify` and the contract suite.

use domain::ids::{ChannelId, ThingId};
use sqlx::{AssertSqlSafe, Row};

use super::configs::{CONFIG_COLUMNS, config};
use super::queries::{channel_row, thing_row, user_row};
use super::unknown::unknown_device;
use super::{PgViews, db_error};
use crate::views::{ViewError, ViewsDump};

impl PgViews {
    /// One snapshot (a repeatable-read transaction), so rows and edges agree.
    pub async fn dump(&self) -> Result<ViewsDump, ViewError> {
        let mut tx = self.pool.begin().await.map_err(db_error)?;
        sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
            .execute(&mut *tx)
            .await
            .map_err(db_error)?;
        let users = sqlx::query("SELECT id, email, password_hash, metadata FROM users ORDER BY id")
            .fetch_all(&mut *tx)
            .await
            .map_err(db_error)?;
        let things = sqlx::query(
            "SELECT id, owner, name, metadata, key_hash, sealed_key FROM things ORDER BY id",
        )
        .fetch_all(&mut *tx)
        .await
        .map_err(db_error)?;
        let channels = sqlx::query("SELECT id, owner, name, metadata FROM channels ORDER BY id")
            .fetch_all(&mut *tx)
            .await
            .map_err(db_error)?;
        let edges = sqlx::query(
            "SELECT channel_id, thing_id FROM connections ORDER BY channel_id, thing_id",
        )
        .fetch_all(&mut *tx)
        .await
        .map_err(db_error)?;
        let configs = sqlx::query(AssertSqlSafe(format!(
            "SELECT {CONFIG_COLUMNS} FROM configs cf ORDER BY cf.thing_id"
        )))
        .fetch_all(&mut *tx)
        .await
        .map_err(db_error)?;
        let unknown = sqlx::query(
            "SELECT external_id, attempts, last_attempt, last_position FROM unknown_configs \
             ORDER BY external_id COLLATE \"C\"",
        )
        .fetch_all(&mut *tx)
        .await
        .map_err(db_error)?;
        tx.commit().await.map_err(db_error)?;
        Ok(ViewsDump {
            users: users.iter().map(user_row).collect::<Result<_, _>>()?,
            things: things.iter().map(thing_row).collect::<Result<_, _>>()?,
            channels: channels.iter().map(channel_row).collect::<Result<_, _>>()?,
            edges: edges
                .iter()
                .map(|r| {
                    let channel = r.try_get("channel_id").map_err(db_error)?;
                    let thing = r.try_get("thing_id").map_err(db_error)?;
                    Ok((ChannelId(channel), ThingId(thing)))
                })
                .collect::<Result<_, ViewError>>()?,
            configs: configs.iter().map(config).collect::<Result<_, _>>()?,
            unknown: unknown
                .iter()
                .map(unknown_device)
                .collect::<Result<_, _>>()?,
        })
    }
}
