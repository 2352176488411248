//! `/connect` and `/channels/{chanId}/things/{thingId}`.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::AppState;
use super::docs;
use super::error::{ApiError, ErrorBody};
use super::extract::{Caller, JsonBody, meta, path_id};

#[derive(Deserialize, ToSchema)]
pub struct ConnectRequest {
    #[schema(schema_with = docs::ids)]
    channel_ids: Vec<String>,
    #[schema(schema_with = docs::ids)]
    thing_ids: Vec<String>,
}

/// Ids in a body: an empty or non-UUID string is malformed (400), unlike a path id.
fn body_ids<T: From<Uuid>>(field: &str, raw: &[String]) -> Result<Vec<T>, ApiError> {
    if raw.is_empty() {
        return Err(ApiError::bad_request(format!("{field} must not be empty")));
    }
    raw.iter()
        .map(|id| {
            Uuid::parse_str(id)
                .map(T::from)
                .map_err(|_| ApiError::bad_request(format!("{field} holds an invalid id")))
        })
        .collect()
}

/// Connects every listed thing to every listed channel, or nothing at all.
#[utoipa::path(post, path = "/connect", tag = "connections", security(("user_token" = [])), request_body = ConnectRequest,
    responses((status = 200), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody, description = "a pair is already connected"),
        (status = 415, body = ErrorBody)))]
pub async fn connect_many(
    State(service): State<AppState>,
    Caller(me): Caller,
    headers: HeaderMap,
    JsonBody(req): JsonBody<ConnectRequest>,
) -> Result<StatusCode, ApiError> {
    let channels = body_ids("channel_ids", &req.channel_ids)?;
    let things = body_ids("thing_ids", &req.thing_ids)?;
    service
        .connect(&meta(&headers, Some(me))?, me, channels, things)
        .await?;
    Ok(StatusCode::OK)
}

/// Connects one thing to one channel.
#[utoipa::path(put, path = "/channels/{chan_id}/things/{thing_id}", tag = "connections", security(("user_token" = [])),
    params(("chan_id" = Uuid, Path), ("thing_id" = Uuid, Path)),
    responses((status = 200), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn connect_one(
    State(service): State<AppState>,
    Caller(me): Caller,
    Path((channel, thing)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<StatusCode, ApiError> {
    let (channel, thing) = (path_id(&channel)?, path_id(&thing)?);
    service
        .connect(&meta(&headers, Some(me))?, me, vec![channel], vec![thing])
        .await?;
    Ok(StatusCode::OK)
}

/// Disconnects one thing from one channel (404 when they are not connected).
#[utoipa::path(delete, path = "/channels/{chan_id}/things/{thing_id}", tag = "connections", security(("user_token" = [])),
    params(("chan_id" = Uuid, Path), ("thing_id" = Uuid, Path)),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn disconnect(
    State(service): State<AppState>,
    Caller(me): Caller,
    Path((channel, thing)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<StatusCode, ApiError> {
    let (channel, thing) = (path_id(&channel)?, path_id(&thing)?);
    service
        .disconnect(&meta(&headers, Some(me))?, me, channel, thing)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
