//! `/channels` and the channels of a thing.

use axum::Json;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header::LOCATION};
use axum::response::{IntoResponse, Response};
use domain::ids::ThingId;
use domain::values::Metadata;
use projections::views::{ChannelRow, Page};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::AppState;
use super::docs::{self, bulk};
use super::error::{ApiError, ErrorBody};
use super::extract::{Caller, JsonBody, JsonList, meta, path_id};
use super::history::{AsOfParam, as_of};
use super::paging::{Filters, Related, page_query};
use super::things::{MAX_BULK, UpdateRequest};
use crate::service::{NewChannel, ServiceError};

bulk!(ChannelsBulk, ChannelRequest);

#[derive(Deserialize, ToSchema)]
pub struct ChannelRequest {
    #[schema(schema_with = docs::name)]
    name: Option<String>,
    #[schema(schema_with = docs::metadata)]
    metadata: Option<Metadata>,
}

impl From<ChannelRequest> for NewChannel {
    fn from(req: ChannelRequest) -> Self {
        Self {
            name: req.name,
            metadata: req.metadata,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct ChannelResponse {
    id: Uuid,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    metadata: Option<Metadata>,
}

impl From<ChannelRow> for ChannelResponse {
    fn from(row: ChannelRow) -> Self {
        Self {
            id: row.id.0,
            name: row.name,
            metadata: row.metadata,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct ChannelsBulkResponse {
    channels: Vec<ChannelResponse>,
}

#[derive(Serialize, ToSchema)]
pub struct ChannelsPage {
    total: u64,
    offset: u64,
    limit: u64,
    channels: Vec<ChannelResponse>,
}

pub(super) fn channels_page(page: Page<ChannelRow>) -> ChannelsPage {
    ChannelsPage {
        total: page.total,
        offset: page.offset,
        limit: page.limit,
        channels: page.items.into_iter().map(Into::into).collect(),
    }
}

/// Creates a channel; `Location` names it.
#[utoipa::path(post, path = "/channels", tag = "channels", security(("user_token" = [])), request_body = ChannelRequest,
    responses((status = 201, description = "created", headers(("Location" = String, description = "the new channel: /channels/{id}"))),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 415, body = ErrorBody)))]
pub async fn create_channel(
    State(service): State<AppState>,
    Caller(me): Caller,
    headers: HeaderMap,
    JsonBody(req): JsonBody<ChannelRequest>,
) -> Result<Response, ApiError> {
    let meta = meta(&headers, Some(me))?;
    let created = service.create_channels(&meta, me, vec![req.into()]).await?;
    let location = created
        .first()
        .map(|c| format!("/channels/{}", c.id))
        .unwrap_or_default();
    Ok((StatusCode::CREATED, [(LOCATION, location)]).into_response())
}

/// Creates many channels at once.
#[utoipa::path(post, path = "/channels/bulk", tag = "channels", security(("user_token" = [])), request_body = ChannelsBulk,
    responses((status = 201, body = ChannelsBulkResponse), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 415, body = ErrorBody)))]
pub async fn create_channels(
    State(service): State<AppState>,
    Caller(me): Caller,
    headers: HeaderMap,
    JsonList(reqs): JsonList<ChannelRequest>,
) -> Result<(StatusCode, Json<ChannelsBulkResponse>), ApiError> {
    if reqs.is_empty() || reqs.len() > MAX_BULK {
        return Err(ApiError::bad_request(format!(
            "send between 1 and {MAX_BULK} channels"
        )));
    }
    let channels = reqs.into_iter().map(Into::into).collect();
    let created = service
        .create_channels(&meta(&headers, Some(me))?, me, channels)
        .await?;
    let channels = created.into_iter().map(Into::into).collect();
    Ok((StatusCode::CREATED, Json(ChannelsBulkResponse { channels })))
}

/// One of the caller's channels.
#[utoipa::path(get, path = "/channels/{id}", tag = "channels", security(("user_token" = [])), params(("id" = Uuid, Path), AsOfParam),
    responses((status = 200, body = ChannelResponse), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get_channel(
    State(service): State<AppState>,
    Caller(me): Caller,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Json<ChannelResponse>, ApiError> {
    let id = path_id(&id)?;
    let channel = match as_of(query.as_deref())? {
        Some(at) => service.channel_as_of(me, id, at).await?,
        None => service.channel(me, id).await?,
    };
    Ok(Json(channel.into()))
}

/// Replaces a channel's name and metadata.
#[utoipa::path(put, path = "/channels/{id}", tag = "channels", security(("user_token" = [])), params(("id" = Uuid, Path)), request_body = UpdateRequest,
    responses((status = 200), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 415, body = ErrorBody)))]
pub async fn update_channel(
    State(service): State<AppState>,
    Caller(me): Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    JsonBody(req): JsonBody<UpdateRequest>,
) -> Result<StatusCode, ApiError> {
    let meta = meta(&headers, Some(me))?;
    service
        .update_channel(&meta, me, path_id(&id)?, req.name, req.metadata)
        .await?;
    Ok(StatusCode::OK)
}

/// Removes a channel and all its connections. Repeating it is harmless (204).
#[utoipa::path(delete, path = "/channels/{id}", tag = "channels", security(("user_token" = [])), params(("id" = Uuid, Path)),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn remove_channel(
    State(service): State<AppState>,
    Caller(me): Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<StatusCode, ApiError> {
    service
        .remove_channel(&meta(&headers, Some(me))?, me, path_id(&id)?)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The caller's channels with `offset`, `limit`, `name` and `metadata` filters, sorted by
/// `order` (`id` or `name`) and `dir` (`desc` or `asc`), Mainflux 0.12's defaults `id desc`.
#[utoipa::path(get, path = "/channels", tag = "channels", security(("user_token" = [])),
    params(Filters),
    responses((status = 200, body = ChannelsPage), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn list_channels(
    State(service): State<AppState>,
    Caller(me): Caller,
    RawQuery(query): RawQuery,
) -> Result<Json<ChannelsPage>, ApiError> {
    let query = page_query(query.as_deref())?;
    Ok(Json(channels_page(
        service
            .views()
            .channels(me, &query)
            .await
            .map_err(ServiceError::from)?,
    )))
}

/// Channels one of the caller's things is connected to; with `connected=false` the
/// caller's channels it is not connected to. Sorted and filtered as `GET /channels`.
#[utoipa::path(get, path = "/things/{id}/channels", tag = "channels", security(("user_token" = [])),
    params(("id" = Uuid, Path), Related),
    responses((status = 200, body = ChannelsPage), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn channels_of_thing(
    State(service): State<AppState>,
    Caller(me): Caller,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Json<ChannelsPage>, ApiError> {
    let thing: ThingId = path_id(&id)?;
    let query = page_query(query.as_deref())?;
    Ok(Json(channels_page(
        service.channels_of_thing(me, thing, &query).await?,
    )))
}
