//! `GET /things/{id}/events` and `GET /channels/{id}/events`: an entity's history, newest
//! first, for its owner. Event data is shown without its secrets: key hashes, sealed keys
//! and password hashes never leave the server. (`?as_of=` on the entity's own `GET` is in
//! `things.rs` and `channels.rs`.)

use axum::Json;
use axum::extract::{Path, RawQuery, State};
use domain::envelope::RecordedEvent;
use serde::Serialize;
use serde_json::Value;
use time::OffsetDateTime;
use utoipa::openapi::path::{Parameter, ParameterIn};
use utoipa::{IntoParams, ToSchema};

use super::AppState;
use super::docs::{self, query};
use super::error::{ApiError, ErrorBody};
use super::extract::{Caller, path_id};
use super::paging::{Window, page_query};
use crate::service::AsOf;

/// Fields of event data that hold secrets or their hashes.
const SECRET_FIELDS: [&str; 5] = [
    "key_hash",
    "sealed_key",
    "password_hash",
    "external_key",
    "client_key",
];

#[derive(Serialize, ToSchema)]
pub struct EventsPage {
    total: u64,
    offset: u64,
    limit: u64,
    events: Vec<ShownEvent>,
}

/// One event as its owner sees it.
#[derive(Serialize, ToSchema)]
pub struct ShownEvent {
    /// Global position in the log: pass it as `as_of` to see the entity right after it.
    position: u64,
    /// Version of the entity's stream, from 1.
    version: u64,
    #[serde(rename = "type")]
    kind: String,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    occurred_at: OffsetDateTime,
    actor: Option<String>,
    #[schema(value_type = Object)]
    data: Value,
}

impl From<&RecordedEvent> for ShownEvent {
    fn from(event: &RecordedEvent) -> Self {
        let mut data: Value = serde_json::from_str(event.data.json()).unwrap_or(Value::Null);
        if let Value::Object(fields) = &mut data {
            fields.retain(|name, _| !SECRET_FIELDS.contains(&name.as_str()));
        }
        Self {
            position: event.position,
            version: event.version,
            kind: event.kind.clone(),
            occurred_at: event.occurred_at,
            actor: event.actor.clone(),
            data,
        }
    }
}

/// The thing's events, newest first (its connections are on its channels' histories).
#[utoipa::path(get, path = "/things/{id}/events", tag = "history", security(("user_token" = [])),
    params(("id" = Uuid, Path), Window),
    responses((status = 200, body = EventsPage), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn thing_events(
    State(service): State<AppState>,
    Caller(me): Caller,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Json<EventsPage>, ApiError> {
    let id = path_id(&id)?;
    let events = service.thing_events(me, id).await?;
    Ok(Json(page(&events, query.as_deref())?))
}

/// The channel's events, newest first, connections and disconnections included.
#[utoipa::path(get, path = "/channels/{id}/events", tag = "history", security(("user_token" = [])),
    params(("id" = Uuid, Path), Window),
    responses((status = 200, body = EventsPage), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn channel_events(
    State(service): State<AppState>,
    Caller(me): Caller,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Json<EventsPage>, ApiError> {
    let id = path_id(&id)?;
    let events = service.channel_events(me, id).await?;
    Ok(Json(page(&events, query.as_deref())?))
}

fn page(events: &[RecordedEvent], query: Option<&str>) -> Result<EventsPage, ApiError> {
    let query = page_query(query)?;
    let shown = events
        .iter()
        .rev()
        .skip(usize::try_from(query.offset).unwrap_or(usize::MAX))
        .take(query.limit as usize)
        .map(ShownEvent::from)
        .collect();
    Ok(EventsPage {
        total: events.len() as u64,
        offset: query.offset,
        limit: query.limit,
        events: shown,
    })
}

/// The `as_of` parameter of an entity's `GET`, if given; 400 when it is neither a position
/// nor an RFC 3339 time.
pub fn as_of(query: Option<&str>) -> Result<Option<AsOf>, ApiError> {
    let raw = form_urlencoded::parse(query.unwrap_or_default().as_bytes())
        .find(|(key, _)| key == "as_of")
        .map(|(_, value)| value.into_owned());
    match raw {
        None => Ok(None),
        Some(raw) => AsOf::parse(&raw).map(Some).ok_or_else(|| {
            ApiError::bad_request("as_of must be a log position or an RFC 3339 time")
        }),
    }
}

/// `as_of` for `/openapi.json`. Documented as a position only: a time is accepted too (see the
/// description), but a schema allowing both would have fuzzers send strings that are neither.
pub struct AsOfParam;

impl IntoParams for AsOfParam {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        let schema = docs::unsigned().description(Some(
            "a log position (an event's `position`), or an RFC 3339 time: the entity as it \
             was then, folded from its events; 404 if it did not exist then",
        ));
        vec![query("as_of", schema)]
    }
}
