//! One read: the query's filters as a `WHERE` clause with bound values; the page and the
//! total of all matches in one statement, so one snapshot. Without any filter the total is
//! the channel's count (`message_counts`); with filters it is counted, as Mainflux's
//! `COUNT(*)`. The page itself is an index scan that stops at its end.

use std::borrow::Cow;

use bytes::Bytes;
use domain::ids::{ChannelId, ThingId};
use sqlx::postgres::PgRow;
use sqlx::{PgPool, Postgres, QueryBuilder, Row};

use super::unavailable;
use crate::telemetry::{Comparator, ReadPage, ReadQuery, TelemetryError, TelemetryRecord};

/// The columns of a record, in the order `record` reads them.
const COLUMNS: &str = "subtopic, publisher, protocol, name, unit, value, string_value, \
     bool_value, data_value, sum, time, update_time, payload, content_type";

pub(super) async fn page(
    pool: &PgPool,
    channel: ChannelId,
    query: &ReadQuery,
) -> Result<ReadPage, TelemetryError> {
    let mut sql = QueryBuilder::new("SELECT ");
    total(&mut sql, channel, query);
    sql.push(format!(" AS total, {COLUMNS}"));
    matching(&mut sql, channel, query);
    sql.push(" ORDER BY time DESC, seq DESC LIMIT ")
        .push_bind(query.limit as i64)
        .push(" OFFSET ")
        .push_bind(i64::try_from(query.offset).unwrap_or(i64::MAX));
    let rows = sql.build().fetch_all(pool).await.map_err(unavailable)?;
    let total = match rows.first() {
        Some(row) => row.try_get::<i64, _>("total").map_err(corrupt)?,
        None => count(pool, channel, query).await?,
    };
    let messages = rows
        .iter()
        .map(|row| record(row, channel))
        .collect::<Result<_, _>>()?;
    Ok(ReadPage {
        total: total as u64,
        offset: query.offset,
        limit: query.limit,
        messages,
    })
}

/// The total alone, for a page past the last match (which has no row to carry it).
async fn count(
    pool: &PgPool,
    channel: ChannelId,
    query: &ReadQuery,
) -> Result<i64, TelemetryError> {
    let mut sql = QueryBuilder::new("SELECT ");
    total(&mut sql, channel, query);
    sql.build_query_scalar()
        .fetch_one(pool)
        .await
        .map_err(unavailable)
}

/// A scalar subquery for the query's total: the channel's count without filters, else a
/// count of the matching rows.
fn total(sql: &mut QueryBuilder<Postgres>, channel: ChannelId, query: &ReadQuery) {
    if query.from.is_none() && query.to.is_none() && !query.filters_beyond_time() {
        sql.push("COALESCE((SELECT records FROM message_counts WHERE channel = ")
            .push_bind(channel.0)
            .push("), 0)");
    } else {
        sql.push("(SELECT count(*)");
        matching(sql, channel, query);
        sql.push(")");
    }
}

/// ` FROM messages WHERE …`: the channel and every filter the query sets, as
/// `ReadQuery::matches` reads them (a missing column matches no filter on it).
fn matching(sql: &mut QueryBuilder<Postgres>, channel: ChannelId, query: &ReadQuery) {
    sql.push(" FROM messages WHERE channel = ")
        .push_bind(channel.0);
    let texts = [
        ("subtopic", &query.subtopic),
        ("name", &query.name),
        ("protocol", &query.protocol),
        ("string_value", &query.vs),
        ("data_value", &query.vd),
    ];
    for (column, filter) in texts {
        if let Some(text) = filter {
            sql.push(format!(" AND {column} = "))
                .push_bind(text.clone());
        }
    }
    if let Some(publisher) = query.publisher {
        sql.push(" AND publisher = ").push_bind(publisher.0);
    }
    if let Some(v) = query.v {
        sql.push(format!(" AND value {} ", operator(query.comparator)))
            .push_bind(v);
    }
    if let Some(vb) = query.vb {
        sql.push(" AND bool_value = ").push_bind(vb);
    }
    if let Some(from) = query.from {
        sql.push(" AND time >= ").push_bind(from);
    }
    if let Some(to) = query.to {
        sql.push(" AND time < ").push_bind(to);
    }
}

fn operator(comparator: Comparator) -> &'static str {
    match comparator {
        Comparator::Eq => "=",
        Comparator::Lt => "<",
        Comparator::Le => "<=",
        Comparator::Gt => ">",
        Comparator::Ge => ">=",
    }
}

fn record(row: &PgRow, channel: ChannelId) -> Result<TelemetryRecord, TelemetryError> {
    let subtopic: Option<String> = row.try_get("subtopic").map_err(corrupt)?;
    let payload: Option<Vec<u8>> = row.try_get("payload").map_err(corrupt)?;
    Ok(TelemetryRecord {
        channel,
        subtopic: subtopic.map(Into::into),
        publisher: ThingId(row.try_get("publisher").map_err(corrupt)?),
        protocol: Cow::Owned(row.try_get("protocol").map_err(corrupt)?),
        name: row.try_get("name").map_err(corrupt)?,
        unit: row.try_get("unit").map_err(corrupt)?,
        time: row.try_get("time").map_err(corrupt)?,
        update_time: row.try_get("update_time").map_err(corrupt)?,
        value: row.try_get("value").map_err(corrupt)?,
        string_value: row.try_get("string_value").map_err(corrupt)?,
        bool_value: row.try_get("bool_value").map_err(corrupt)?,
        data_value: row.try_get("data_value").map_err(corrupt)?,
        sum: row.try_get("sum").map_err(corrupt)?,
        payload: payload.map(Bytes::from),
        content_type: row.try_get("content_type").map_err(corrupt)?,
    })
}

/// A column that does not decode as its type: the table was changed under us.
fn corrupt(error: sqlx::Error) -> TelemetryError {
    TelemetryError::Corrupt(error.to_string())
}
