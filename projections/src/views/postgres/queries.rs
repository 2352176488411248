//! The owner-scoped queries of the REST API, with the in-memory views' semantics: name is
//! a case-insensitive substring (`ILIKE`, wildcards escaped), metadata is `jsonb @>`
//! containment, order by id or by name (byte-wise, `COLLATE "C"`, ties by id), `desc` the
//! exact reverse of `asc`, and a total counted under the same filter.

use async_trait::async_trait;
use domain::ids::{ChannelId, KeyHash, PasswordHash, SealedKey, ThingId, UserId};
use domain::values::Metadata;
use sqlx::postgres::PgRow;
use sqlx::{AssertSqlSafe, Row};
use uuid::Uuid;

use super::{PgViews, db_error};
use crate::views::{
    ChannelRow, ConfigQuery, ConfigRow, Dir, Order, Page, PageQuery, QueryViews, ThingRow,
    UnknownDevice, UserRow, ViewError,
};

const THING_COLUMNS: &str = "r.id, r.owner, r.name, r.metadata, r.key_hash, r.sealed_key";
const CHANNEL_COLUMNS: &str = "r.id, r.owner, r.name, r.metadata";

/// Which rows of a table a list starts from; every scope is tied to the owner.
enum Scope {
    /// The owner's rows.
    Owned,
    /// Rows connected to `id` (the owner's channel or thing, checked beforehand) through
    /// `connections.<column>`.
    Connected { other: &'static str, id: Uuid },
    /// The owner's rows not connected to `id`.
    NotConnected { other: &'static str, id: Uuid },
}

impl Scope {
    fn of(connected: bool, other: &'static str, id: Uuid) -> Self {
        if connected {
            Scope::Connected { other, id }
        } else {
            Scope::NotConnected { other, id }
        }
    }
}

/// `table` holds rows; `mine` is the `connections` column naming them.
async fn list<T>(
    views: &PgViews,
    (table, mine, columns): (&str, &str, &str),
    owner: UserId,
    scope: Scope,
    query: &PageQuery,
    decode: fn(&PgRow) -> Result<T, ViewError>,
) -> Result<Page<T>, ViewError> {
    let (from, other_id) = match &scope {
        Scope::Owned => (format!("{table} r WHERE r.owner = $1"), None),
        Scope::Connected { other, id } => (
            format!(
                "{table} r JOIN connections c ON c.{mine} = r.id \
                 WHERE c.{other} = $6"
            ),
            Some(*id),
        ),
        Scope::NotConnected { other, id } => (
            format!(
                "{table} r WHERE r.owner = $1 AND NOT EXISTS \
                 (SELECT 1 FROM connections c WHERE c.{other} = $6 AND c.{mine} = r.id)"
            ),
            Some(*id),
        ),
    };
    let dir = match query.dir {
        Dir::Asc => "ASC",
        Dir::Desc => "DESC",
    };
    let order = match query.order {
        Order::Id => format!("r.id {dir}"),
        Order::Name => format!("coalesce(r.name, '') COLLATE \"C\" {dir}, r.id {dir}"),
    };
    let filter = "($2::text IS NULL OR r.name ILIKE $2 ESCAPE '\\') \
                  AND ($3::text IS NULL OR r.doc @> $3::text::jsonb)";
    let sql = format!(
        "SELECT {columns}, count(*) OVER () AS total FROM {from} AND {filter} \
         ORDER BY {order} LIMIT $4 OFFSET $5"
    );
    let name = query
        .name
        .as_deref()
        .map(|n| format!("%{}%", escape_like(n)));
    let metadata = query
        .metadata
        .as_ref()
        .map(|m| serde_json::Value::Object(m.clone()).to_string());
    // Built from constants only (tables, columns, order); every value is bound.
    let rows = sqlx::query(AssertSqlSafe(sql))
        .bind(owner.0)
        .bind(&name)
        .bind(&metadata)
        .bind(clamp(query.limit))
        .bind(clamp(query.offset))
        .bind(other_id)
        .fetch_all(&views.pool)
        .await
        .map_err(db_error)?;
    let total = match rows.first() {
        Some(first) => first.try_get::<i64, _>("total").map_err(db_error)? as u64,
        // An empty page past the end still reports how many rows match.
        None if query.offset > 0 || query.limit == 0 => {
            let count = format!("SELECT count(*) FROM {from} AND {filter}");
            let n: i64 = sqlx::query_scalar(AssertSqlSafe(count))
                .bind(owner.0)
                .bind(&name)
                .bind(&metadata)
                .bind(0_i64) // $4 and $5 (limit, offset) are unused in the count
                .bind(0_i64)
                .bind(other_id)
                .fetch_one(&views.pool)
                .await
                .map_err(db_error)?;
            n as u64
        }
        None => 0,
    };
    let items = rows.iter().map(decode).collect::<Result<Vec<_>, _>>()?;
    Ok(Page {
        total,
        offset: query.offset,
        limit: query.limit,
        items,
    })
}

fn clamp(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// `%`, `_` and the escape character itself match literally.
pub(super) fn escape_like(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

fn corrupt(what: &str, error: impl std::fmt::Display) -> ViewError {
    ViewError::Corrupt(format!("{what}: {error}"))
}

fn metadata(row: &PgRow) -> Result<Option<Metadata>, ViewError> {
    let text: Option<String> = row.try_get("metadata").map_err(db_error)?;
    text.map(|t| serde_json::from_str(&t).map_err(|e| corrupt("metadata", e)))
        .transpose()
}

pub(super) fn thing_row(row: &PgRow) -> Result<ThingRow, ViewError> {
    let hash: Vec<u8> = row.try_get("key_hash").map_err(db_error)?;
    let hash: [u8; 32] = hash
        .try_into()
        .map_err(|_| corrupt("key hash", "not 32 bytes"))?;
    Ok(ThingRow {
        id: ThingId(row.try_get("id").map_err(db_error)?),
        owner: UserId(row.try_get("owner").map_err(db_error)?),
        name: row.try_get("name").map_err(db_error)?,
        metadata: metadata(row)?,
        key_hash: KeyHash(hash),
        sealed_key: SealedKey(row.try_get("sealed_key").map_err(db_error)?),
    })
}

pub(super) fn channel_row(row: &PgRow) -> Result<ChannelRow, ViewError> {
    Ok(ChannelRow {
        id: ChannelId(row.try_get("id").map_err(db_error)?),
        owner: UserId(row.try_get("owner").map_err(db_error)?),
        name: row.try_get("name").map_err(db_error)?,
        metadata: metadata(row)?,
    })
}

pub(super) fn user_row(row: &PgRow) -> Result<UserRow, ViewError> {
    Ok(UserRow {
        id: UserId(row.try_get("id").map_err(db_error)?),
        email: row.try_get("email").map_err(db_error)?,
        password_hash: PasswordHash(row.try_get("password_hash").map_err(db_error)?),
        metadata: metadata(row)?,
    })
}

const THINGS: (&str, &str, &str) = ("things", "thing_id", THING_COLUMNS);
const CHANNELS: (&str, &str, &str) = ("channels", "channel_id", CHANNEL_COLUMNS);

impl PgViews {
    async fn one<T>(
        &self,
        sql: String,
        owner: UserId,
        id: Uuid,
        decode: fn(&PgRow) -> Result<T, ViewError>,
    ) -> Result<Option<T>, ViewError> {
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(id)
            .bind(owner.0)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_error)?;
        row.as_ref().map(decode).transpose()
    }

    async fn user_where(
        &self,
        condition: &str,
        bind: Uuid,
        email: &str,
    ) -> Result<Option<UserRow>, ViewError> {
        let sql = format!(
            "SELECT id, email, password_hash, metadata FROM users WHERE {condition} \
             ORDER BY registered_at DESC LIMIT 1"
        );
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(bind)
            .bind(email)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_error)?;
        row.as_ref().map(user_row).transpose()
    }
}

#[async_trait]
impl QueryViews for PgViews {
    async fn user(&self, id: UserId) -> Result<Option<UserRow>, ViewError> {
        self.user_where("id = $1", id.0, "").await
    }

    async fn user_by_email(&self, email: &str) -> Result<Option<UserRow>, ViewError> {
        self.user_where("email = $2", Uuid::nil(), email).await
    }

    async fn user_count(&self) -> Result<u64, ViewError> {
        let n: i64 = sqlx::query_scalar("SELECT count(*) FROM users")
            .fetch_one(&self.pool)
            .await
            .map_err(db_error)?;
        Ok(n as u64)
    }

    async fn thing(&self, owner: UserId, id: ThingId) -> Result<Option<ThingRow>, ViewError> {
        let sql = format!("SELECT {THING_COLUMNS} FROM things r WHERE r.id = $1 AND r.owner = $2");
        self.one(sql, owner, id.0, thing_row).await
    }

    async fn channel(&self, owner: UserId, id: ChannelId) -> Result<Option<ChannelRow>, ViewError> {
        let sql =
            format!("SELECT {CHANNEL_COLUMNS} FROM channels r WHERE r.id = $1 AND r.owner = $2");
        self.one(sql, owner, id.0, channel_row).await
    }

    async fn things(&self, owner: UserId, query: &PageQuery) -> Result<Page<ThingRow>, ViewError> {
        list(self, THINGS, owner, Scope::Owned, query, thing_row).await
    }

    async fn channels(
        &self,
        owner: UserId,
        query: &PageQuery,
    ) -> Result<Page<ChannelRow>, ViewError> {
        list(self, CHANNELS, owner, Scope::Owned, query, channel_row).await
    }

    async fn things_of_channel(
        &self,
        owner: UserId,
        channel: ChannelId,
        query: &PageQuery,
    ) -> Result<Option<Page<ThingRow>>, ViewError> {
        if QueryViews::channel(self, owner, channel).await?.is_none() {
            return Ok(None);
        }
        let scope = Scope::of(query.connected, "channel_id", channel.0);
        Ok(Some(
            list(self, THINGS, owner, scope, query, thing_row).await?,
        ))
    }

    async fn channels_of_thing(
        &self,
        owner: UserId,
        thing: ThingId,
        query: &PageQuery,
    ) -> Result<Option<Page<ChannelRow>>, ViewError> {
        if QueryViews::thing(self, owner, thing).await?.is_none() {
            return Ok(None);
        }
        let scope = Scope::of(query.connected, "thing_id", thing.0);
        Ok(Some(
            list(self, CHANNELS, owner, scope, query, channel_row).await?,
        ))
    }

    async fn configs(
        &self,
        owner: UserId,
        query: &ConfigQuery,
    ) -> Result<Page<ConfigRow>, ViewError> {
        self.list_configs(owner, query).await
    }

    async fn config_by_external_id(
        &self,
        external_id: &str,
    ) -> Result<Option<ConfigRow>, ViewError> {
        PgViews::config_by_external_id(self, external_id).await
    }

    async fn unknown_devices(
        &self,
        offset: u64,
        limit: u64,
    ) -> Result<Page<UnknownDevice>, ViewError> {
        self.list_unknown(offset, limit).await
    }
}
