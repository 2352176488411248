//! Bootstrap configs in PostgreSQL: written after the batch's things, channels and edges
//! (see `views::configs` for why the end-of-batch rows give the in-memory answer), and the
//! two queries the API asks.
//!
//! One statement per config event: a fleet's configs are few next to its messages, and
//! each is written once at onboarding; replaying a million of them is the case to batch.

use domain::Event;
use domain::config::{Activation, Certs, Config};
use domain::envelope::RecordedEvent;
use domain::ids::{ChannelId, KeyHash, KeyMaterial, SealedKey, ThingId, UserId};
use sqlx::postgres::PgRow;
use sqlx::{PgConnection, Row};
use uuid::Uuid;

use super::unknown::{trim_unknown, write_unknown};
use super::{PgViews, db_error};
use crate::views::{ConfigQuery, ConfigRow, Page, ViewError};

/// The channels of `$n` still live, in the order given.
fn live_channels(n: u8) -> String {
    format!(
        "ARRAY(SELECT u.c FROM unnest(${n}::uuid[]) WITH ORDINALITY AS u(c, i) \
         WHERE EXISTS (SELECT 1 FROM channels WHERE id = u.c) ORDER BY u.i)"
    )
}

/// Removals of whole things and channels in this batch, then the config events in order.
pub(super) async fn write_configs(
    tx: &mut PgConnection,
    removed_things: &[Uuid],
    removed_channels: &[Uuid],
    events: &[(&RecordedEvent, &Event)],
) -> Result<(), sqlx::Error> {
    if !removed_things.is_empty() {
        sqlx::query("DELETE FROM configs WHERE thing_id = ANY($1)")
            .bind(removed_things)
            .execute(&mut *tx)
            .await?;
    }
    if !removed_channels.is_empty() {
        sqlx::query(
            "UPDATE configs SET channels = ARRAY(SELECT u.c FROM unnest(channels) \
             WITH ORDINALITY AS u(c, i) WHERE u.c <> ALL($1) ORDER BY u.i) \
             WHERE channels && $1",
        )
        .bind(removed_channels)
        .execute(&mut *tx)
        .await?;
    }
    let mut attempts = false;
    for (recorded, event) in events {
        write_config_event(tx, event).await?;
        attempts |= write_unknown(tx, recorded, event).await?;
    }
    if attempts {
        trim_unknown(tx).await?;
    }
    Ok(())
}

async fn write_config_event(tx: &mut PgConnection, event: &Event) -> Result<(), sqlx::Error> {
    let query = match event {
        Event::ConfigCreated {
            thing_id,
            owner,
            external_id,
            external_key,
            name,
            content,
            channels,
            client_cert,
            client_key,
            ca_cert,
        } => sqlx::query(sqlx::AssertSqlSafe(format!(
            "INSERT INTO configs (thing_id, owner, external_id, external_key_hash, \
             external_key_sealed, name, content, channels, client_cert, client_key, ca_cert, \
             state) SELECT $1, $2, $3, $4, $5, $6, $7, {}, $9, $10, $11, 0 \
             WHERE EXISTS (SELECT 1 FROM things WHERE id = $1) \
             ON CONFLICT (thing_id) DO NOTHING",
            live_channels(8)
        )))
        .bind(thing_id.0)
        .bind(owner.0)
        .bind(external_id)
        .bind(external_key.key_hash.0.to_vec())
        .bind(&external_key.sealed_key.0)
        .bind(name)
        .bind(content)
        .bind(ids(channels))
        .bind(client_cert)
        .bind(client_key.as_ref().map(|k| &k.0))
        .bind(ca_cert),
        Event::ConfigUpdated {
            thing_id,
            name,
            content,
        } => sqlx::query("UPDATE configs SET name = $2, content = $3 WHERE thing_id = $1")
            .bind(thing_id.0)
            .bind(name)
            .bind(content),
        Event::ConfigCertsUpdated {
            thing_id,
            client_cert,
            client_key,
            ca_cert,
        } => sqlx::query(
            "UPDATE configs SET client_cert = $2, client_key = $3, ca_cert = $4 \
             WHERE thing_id = $1",
        )
        .bind(thing_id.0)
        .bind(client_cert)
        .bind(client_key.as_ref().map(|k| &k.0))
        .bind(ca_cert),
        Event::ThingConnectionsUpdated { thing_id, channels } => {
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "UPDATE configs SET channels = {} WHERE thing_id = $1",
                live_channels(2)
            )))
            .bind(thing_id.0)
            .bind(ids(channels))
        }
        Event::ThingStateChanged { thing_id, state } => {
            sqlx::query("UPDATE configs SET state = $2 WHERE thing_id = $1")
                .bind(thing_id.0)
                .bind(u8::from(*state) as i16)
        }
        Event::ConfigRemoved { thing_id } => {
            sqlx::query("DELETE FROM configs WHERE thing_id = $1").bind(thing_id.0)
        }
        _ => return Ok(()),
    };
    query.execute(&mut *tx).await?;
    Ok(())
}

/// Whether the config writer takes this event (after the batch's net row changes); unknown
/// devices are written in the same pass, in log order.
pub(super) fn is_config_event(event: &Event) -> bool {
    matches!(
        event,
        Event::ConfigCreated { .. }
            | Event::ConfigUpdated { .. }
            | Event::ConfigCertsUpdated { .. }
            | Event::ThingConnectionsUpdated { .. }
            | Event::ThingStateChanged { .. }
            | Event::ConfigRemoved { .. }
            | Event::ThingBootstrapped { unknown: true, .. }
    )
}

fn ids(channels: &[ChannelId]) -> Vec<Uuid> {
    channels.iter().map(|c| c.0).collect()
}

pub(super) const CONFIG_COLUMNS: &str = "cf.thing_id, cf.owner, cf.external_id, \
    cf.external_key_hash, cf.external_key_sealed, cf.name, cf.content, cf.channels, \
    cf.client_cert, cf.client_key, cf.ca_cert, cf.state";

pub(super) fn config(row: &PgRow) -> Result<Config, ViewError> {
    let hash: Vec<u8> = row.try_get("external_key_hash").map_err(db_error)?;
    let hash: [u8; 32] = hash
        .try_into()
        .map_err(|_| ViewError::Corrupt("external key hash: not 32 bytes".into()))?;
    let state: i16 = row.try_get("state").map_err(db_error)?;
    let state = u8::try_from(state)
        .ok()
        .and_then(|s| Activation::try_from(s).ok())
        .ok_or_else(|| ViewError::Corrupt(format!("config state {state}")))?;
    let channels: Vec<Uuid> = row.try_get("channels").map_err(db_error)?;
    let client_key: Option<String> = row.try_get("client_key").map_err(db_error)?;
    Ok(Config {
        thing_id: ThingId(row.try_get("thing_id").map_err(db_error)?),
        owner: UserId(row.try_get("owner").map_err(db_error)?),
        external_id: row.try_get("external_id").map_err(db_error)?,
        external_key: KeyMaterial {
            key_hash: KeyHash(hash),
            sealed_key: SealedKey(row.try_get("external_key_sealed").map_err(db_error)?),
        },
        name: row.try_get("name").map_err(db_error)?,
        content: row.try_get("content").map_err(db_error)?,
        channels: channels.into_iter().map(ChannelId).collect(),
        certs: Certs {
            client_cert: row.try_get("client_cert").map_err(db_error)?,
            client_key: client_key.map(SealedKey),
            ca_cert: row.try_get("ca_cert").map_err(db_error)?,
        },
        state,
    })
}

fn config_row(row: &PgRow) -> Result<ConfigRow, ViewError> {
    Ok(ConfigRow {
        config: config(row)?,
        thing_key: SealedKey(row.try_get("thing_key").map_err(db_error)?),
    })
}

const FROM: &str = "FROM configs cf JOIN things t ON t.id = cf.thing_id";

impl PgViews {
    pub(super) async fn list_configs(
        &self,
        owner: UserId,
        query: &ConfigQuery,
    ) -> Result<Page<ConfigRow>, ViewError> {
        let filter = "cf.owner = $1 AND ($2::int2 IS NULL OR cf.state = $2) \
             AND ($3::text IS NULL OR cf.external_id = $3) \
             AND ($4::uuid IS NULL OR cf.thing_id = $4) \
             AND ($5::text IS NULL OR cf.name ILIKE $5 ESCAPE '\\')";
        let sql = format!(
            "SELECT {CONFIG_COLUMNS}, t.sealed_key AS thing_key, count(*) OVER () AS total \
             {FROM} WHERE {filter} ORDER BY cf.thing_id LIMIT $6 OFFSET $7"
        );
        let name = query
            .name
            .as_deref()
            .map(|n| format!("%{}%", super::queries::escape_like(n)));
        let state = query.state.map(|s| u8::from(s) as i16);
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(owner.0)
            .bind(state)
            .bind(&query.external_id)
            .bind(query.thing_id.map(|t| t.0))
            .bind(&name)
            .bind(i64::try_from(query.limit).unwrap_or(i64::MAX))
            .bind(i64::try_from(query.offset).unwrap_or(i64::MAX))
            .fetch_all(&self.pool)
            .await
            .map_err(db_error)?;
        let total = match rows.first() {
            Some(first) => first.try_get::<i64, _>("total").map_err(db_error)? as u64,
            None => {
                let count = format!("SELECT count(*) {FROM} WHERE {filter}");
                let n: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(count))
                    .bind(owner.0)
                    .bind(state)
                    .bind(&query.external_id)
                    .bind(query.thing_id.map(|t| t.0))
                    .bind(&name)
                    .fetch_one(&self.pool)
                    .await
                    .map_err(db_error)?;
                n as u64
            }
        };
        Ok(Page {
            total,
            offset: query.offset,
            limit: query.limit,
            items: rows.iter().map(config_row).collect::<Result<_, _>>()?,
        })
    }

    pub(super) async fn config_by_external_id(
        &self,
        external_id: &str,
    ) -> Result<Option<ConfigRow>, ViewError> {
        let sql = format!(
            "SELECT {CONFIG_COLUMNS}, t.sealed_key AS thing_key {FROM} \
             WHERE cf.external_id = $1 LIMIT 1"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(external_id)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_error)?;
        row.as_ref().map(config_row).transpose()
    }
}
