//! Writes a batch into PostgreSQL: checkpoint row locked, events at or below it skipped,
//! the batch's net effect (`delta`) written with multi-row `unnest` statements, checkpoint
//! moved, all in one transaction. Two nodes applying at once serialize on the checkpoint
//! row, so each event is applied once and the checkpoint never moves backwards.

use domain::Event;
use domain::envelope::RecordedEvent;
use domain::values::Metadata;
use sqlx::{AssertSqlSafe, PgConnection, Postgres, Transaction};
use uuid::Uuid;

use super::configs::{is_config_event, write_configs};
use super::delta::{Delta, Net};
use super::{CHECKPOINT, PgViews, db_error};
use crate::views::ViewError;

impl PgViews {
    /// Applies the events above the stored checkpoint; returns the checkpoint after.
    pub(super) async fn apply_events(
        &self,
        batch: &[(RecordedEvent, Event)],
    ) -> Result<u64, ViewError> {
        let mut tx: Transaction<'_, Postgres> = self.pool.begin().await.map_err(db_error)?;
        let stored: i64 =
            sqlx::query_scalar("SELECT position FROM view_checkpoints WHERE name = $1 FOR UPDATE")
                .bind(CHECKPOINT)
                .fetch_one(&mut *tx)
                .await
                .map_err(db_error)?;
        let stored = stored as u64;
        let mut delta = Delta::default();
        let mut config_events = Vec::new();
        let mut last = stored;
        for (recorded, event) in batch {
            if recorded.position > last {
                delta.fold(recorded.position, event);
                if is_config_event(event) {
                    config_events.push((recorded, event));
                }
                last = recorded.position;
            }
        }
        if last == stored {
            tx.rollback().await.map_err(db_error)?;
            return Ok(stored);
        }
        write(&mut tx, &delta, &config_events)
            .await
            .map_err(db_error)?;
        sqlx::query("UPDATE view_checkpoints SET position = $2 WHERE name = $1")
            .bind(CHECKPOINT)
            .bind(last as i64)
            .execute(&mut *tx)
            .await
            .map_err(db_error)?;
        tx.commit().await.map_err(db_error)?;
        Ok(last)
    }
}

fn text(metadata: &Option<Metadata>) -> Option<String> {
    metadata.as_ref().map(|m| m.as_str().to_owned())
}

/// Removals first (so a stray create after a removal wins, as in memory), then whole rows,
/// then column patches, then edges, then bootstrap configs; every statement skipped when it
/// has nothing to do.
async fn write(
    tx: &mut PgConnection,
    d: &Delta,
    configs: &[(&RecordedEvent, &Event)],
) -> Result<(), sqlx::Error> {
    let removed_things: Vec<Uuid> = d.removed_things.iter().map(|id| id.0).collect();
    let removed_channels: Vec<Uuid> = d.removed_channels.iter().map(|id| id.0).collect();
    if !removed_things.is_empty() || !removed_channels.is_empty() {
        let removed: Vec<Uuid> = removed_things
            .iter()
            .chain(&removed_channels)
            .copied()
            .collect();
        sqlx::query("INSERT INTO removed (id) SELECT unnest($1::uuid[]) ON CONFLICT DO NOTHING")
            .bind(&removed)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM things WHERE id = ANY($1)")
            .bind(&removed_things)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM channels WHERE id = ANY($1)")
            .bind(&removed_channels)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM connections WHERE thing_id = ANY($1) OR channel_id = ANY($2)")
            .bind(&removed_things)
            .bind(&removed_channels)
            .execute(&mut *tx)
            .await?;
    }
    write_users(tx, d).await?;
    write_things(tx, d).await?;
    write_channels(tx, d).await?;
    write_edges(tx, d).await?;
    write_configs(tx, &removed_things, &removed_channels, configs).await
}

async fn write_users(tx: &mut PgConnection, d: &Delta) -> Result<(), sqlx::Error> {
    let (mut ids, mut emails, mut hashes, mut metas, mut positions): UserColumns =
        Default::default();
    let (mut meta_ids, mut meta_values) = (Vec::new(), Vec::new());
    let (mut pw_ids, mut pw_values) = (Vec::new(), Vec::new());
    for (id, net) in &d.users {
        match net {
            Net::Upsert((row, position)) => {
                ids.push(id.0);
                emails.push(row.email.clone());
                hashes.push(row.password_hash.0.clone());
                metas.push(text(&row.metadata));
                positions.push(*position as i64);
            }
            Net::Patch(patch) => {
                if let Some(metadata) = &patch.metadata {
                    meta_ids.push(id.0);
                    meta_values.push(text(metadata));
                }
                if let Some(hash) = &patch.password {
                    pw_ids.push(id.0);
                    pw_values.push(hash.0.clone());
                }
            }
            Net::Delete => {}
        }
    }
    if !ids.is_empty() {
        sqlx::query(
            "INSERT INTO users (id, email, password_hash, metadata, registered_at) \
             SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::int8[]) \
             ON CONFLICT (id) DO UPDATE SET email = excluded.email, \
             password_hash = excluded.password_hash, metadata = excluded.metadata, \
             registered_at = excluded.registered_at",
        )
        .bind(&ids)
        .bind(&emails)
        .bind(&hashes)
        .bind(&metas)
        .bind(&positions)
        .execute(&mut *tx)
        .await?;
    }
    if !meta_ids.is_empty() {
        sqlx::query(
            "UPDATE users u SET metadata = p.metadata \
             FROM unnest($1::uuid[], $2::text[]) AS p(id, metadata) WHERE u.id = p.id",
        )
        .bind(&meta_ids)
        .bind(&meta_values)
        .execute(&mut *tx)
        .await?;
    }
    if !pw_ids.is_empty() {
        sqlx::query(
            "UPDATE users u SET password_hash = p.hash \
             FROM unnest($1::uuid[], $2::text[]) AS p(id, hash) WHERE u.id = p.id",
        )
        .bind(&pw_ids)
        .bind(&pw_values)
        .execute(&mut *tx)
        .await?;
    }
    Ok(())
}

/// id, email, password hash, metadata, registration position.
type UserColumns = (
    Vec<Uuid>,
    Vec<String>,
    Vec<String>,
    Vec<Option<String>>,
    Vec<i64>,
);

async fn write_things(tx: &mut PgConnection, d: &Delta) -> Result<(), sqlx::Error> {
    let mut rows = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut keys: (Vec<Vec<u8>>, Vec<String>) = (Vec::new(), Vec::new());
    let mut info = Info::default();
    let (mut key_ids, mut key_hashes, mut key_sealed) = (Vec::new(), Vec::new(), Vec::new());
    for (id, net) in &d.things {
        match net {
            Net::Upsert(row) => {
                rows.0.push(id.0);
                rows.1.push(row.owner.0);
                rows.2.push(row.name.clone());
                rows.3.push(text(&row.metadata));
                keys.0.push(row.key_hash.0.to_vec());
                keys.1.push(row.sealed_key.0.clone());
            }
            Net::Patch(patch) => {
                if let Some((name, metadata)) = &patch.info {
                    info.push(id.0, name, metadata);
                }
                if let Some((hash, sealed)) = &patch.key {
                    key_ids.push(id.0);
                    key_hashes.push(hash.0.to_vec());
                    key_sealed.push(sealed.0.clone());
                }
            }
            Net::Delete => {}
        }
    }
    if !rows.0.is_empty() {
        sqlx::query(
            "INSERT INTO things (id, owner, name, metadata, key_hash, sealed_key) \
             SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], \
             $5::bytea[], $6::text[]) \
             ON CONFLICT (id) DO UPDATE SET owner = excluded.owner, name = excluded.name, \
             metadata = excluded.metadata, key_hash = excluded.key_hash, \
             sealed_key = excluded.sealed_key",
        )
        .bind(&rows.0)
        .bind(&rows.1)
        .bind(&rows.2)
        .bind(&rows.3)
        .bind(&keys.0)
        .bind(&keys.1)
        .execute(&mut *tx)
        .await?;
    }
    info.write(tx, "things").await?;
    if !key_ids.is_empty() {
        sqlx::query(
            "UPDATE things t SET key_hash = p.hash, sealed_key = p.sealed \
             FROM unnest($1::uuid[], $2::bytea[], $3::text[]) AS p(id, hash, sealed) \
             WHERE t.id = p.id",
        )
        .bind(&key_ids)
        .bind(&key_hashes)
        .bind(&key_sealed)
        .execute(&mut *tx)
        .await?;
    }
    Ok(())
}

async fn write_channels(tx: &mut PgConnection, d: &Delta) -> Result<(), sqlx::Error> {
    let (mut ids, mut owners, mut names, mut metas) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut info = Info::default();
    for (id, net) in &d.channels {
        match net {
            Net::Upsert(row) => {
                ids.push(id.0);
                owners.push(row.owner.0);
                names.push(row.name.clone());
                metas.push(text(&row.metadata));
            }
            Net::Patch(Some((name, metadata))) => info.push(id.0, name, metadata),
            Net::Patch(None) | Net::Delete => {}
        }
    }
    if !ids.is_empty() {
        sqlx::query(
            "INSERT INTO channels (id, owner, name, metadata) \
             SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[]) \
             ON CONFLICT (id) DO UPDATE SET owner = excluded.owner, name = excluded.name, \
             metadata = excluded.metadata",
        )
        .bind(&ids)
        .bind(&owners)
        .bind(&names)
        .bind(&metas)
        .execute(&mut *tx)
        .await?;
    }
    info.write(tx, "channels").await
}

/// Name and metadata updates of things or channels.
#[derive(Default)]
struct Info {
    ids: Vec<Uuid>,
    names: Vec<Option<String>>,
    metas: Vec<Option<String>>,
}

impl Info {
    fn push(&mut self, id: Uuid, name: &Option<String>, metadata: &Option<Metadata>) {
        self.ids.push(id);
        self.names.push(name.clone());
        self.metas.push(text(metadata));
    }

    async fn write(&self, tx: &mut PgConnection, table: &str) -> Result<(), sqlx::Error> {
        if self.ids.is_empty() {
            return Ok(());
        }
        let sql = format!(
            "UPDATE {table} r SET name = p.name, metadata = p.metadata \
             FROM unnest($1::uuid[], $2::text[], $3::text[]) AS p(id, name, metadata) \
             WHERE r.id = p.id"
        );
        // `table` is one of two constants; values are bound.
        sqlx::query(AssertSqlSafe(sql))
            .bind(&self.ids)
            .bind(&self.names)
            .bind(&self.metas)
            .execute(&mut *tx)
            .await?;
        Ok(())
    }
}

async fn write_edges(tx: &mut PgConnection, d: &Delta) -> Result<(), sqlx::Error> {
    let (mut on, mut off) = ((Vec::new(), Vec::new()), (Vec::new(), Vec::new()));
    for ((channel, thing), connected) in &d.edges {
        let side = if *connected { &mut on } else { &mut off };
        side.0.push(channel.0);
        side.1.push(thing.0);
    }
    if !off.0.is_empty() {
        sqlx::query(
            "DELETE FROM connections c USING unnest($1::uuid[], $2::uuid[]) AS e(ch, th) \
             WHERE c.channel_id = e.ch AND c.thing_id = e.th",
        )
        .bind(&off.0)
        .bind(&off.1)
        .execute(&mut *tx)
        .await?;
    }
    if !on.0.is_empty() {
        // An edge needs both ends live (domain::graph).
        sqlx::query(
            "INSERT INTO connections (channel_id, thing_id) \
             SELECT e.ch, e.th FROM unnest($1::uuid[], $2::uuid[]) AS e(ch, th) \
             WHERE EXISTS (SELECT 1 FROM things WHERE id = e.th) \
             AND EXISTS (SELECT 1 FROM channels WHERE id = e.ch) \
             AND NOT EXISTS (SELECT 1 FROM removed WHERE id = e.th OR id = e.ch) \
             ON CONFLICT DO NOTHING",
        )
        .bind(&on.0)
        .bind(&on.1)
        .execute(&mut *tx)
        .await?;
    }
    Ok(())
}
