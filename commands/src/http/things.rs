//! `/things` and the things of a channel.

use axum::Json;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header::LOCATION};
use axum::response::{IntoResponse, Response};
use domain::ids::ChannelId;
use domain::values::Metadata;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::AppState;
use super::docs::{self, bulk};
use super::error::{ApiError, ErrorBody};
use super::extract::{Caller, JsonBody, JsonList, meta, path_id};
use super::history::{AsOfParam, as_of};
use super::paging::{Filters, Related, page_query};
use crate::service::{NewThing, ThingWithKey};

bulk!(ThingsBulk, ThingRequest);

/// Most things one bulk request may create.
pub const MAX_BULK: usize = 1000;

#[derive(Deserialize, ToSchema)]
pub struct ThingRequest {
    #[schema(schema_with = docs::name)]
    name: Option<String>,
    /// Secret the thing authenticates with; generated when absent.
    #[schema(schema_with = docs::optional_key)]
    key: Option<String>,
    #[schema(schema_with = docs::metadata)]
    metadata: Option<Metadata>,
}

impl From<ThingRequest> for NewThing {
    fn from(req: ThingRequest) -> Self {
        Self {
            name: req.name,
            key: req.key,
            metadata: req.metadata,
        }
    }
}

#[derive(Deserialize, ToSchema)]
pub struct UpdateRequest {
    #[schema(schema_with = docs::name)]
    pub name: Option<String>,
    #[schema(schema_with = docs::metadata)]
    pub metadata: Option<Metadata>,
}

#[derive(Deserialize, ToSchema)]
pub struct KeyRequest {
    #[schema(schema_with = docs::key)]
    key: String,
}

#[derive(Serialize, ToSchema)]
pub struct ThingResponse {
    id: Uuid,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    key: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    metadata: Option<Metadata>,
}

impl From<ThingWithKey> for ThingResponse {
    fn from(t: ThingWithKey) -> Self {
        Self {
            id: t.row.id.0,
            name: t.row.name,
            key: t.key,
            metadata: t.row.metadata,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct ThingsBulkResponse {
    things: Vec<ThingResponse>,
}

#[derive(Serialize, ToSchema)]
pub struct ThingsPage {
    total: u64,
    offset: u64,
    limit: u64,
    things: Vec<ThingResponse>,
}

pub(super) fn things_page(page: projections::views::Page<ThingWithKey>) -> ThingsPage {
    ThingsPage {
        total: page.total,
        offset: page.offset,
        limit: page.limit,
        things: page.items.into_iter().map(Into::into).collect(),
    }
}

/// Creates a thing; `Location` names it.
#[utoipa::path(post, path = "/things", tag = "things", security(("user_token" = [])), request_body = ThingRequest,
    responses((status = 201, description = "created", headers(("Location" = String, description = "the new thing: /things/{id}"))),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "key in use"), (status = 415, body = ErrorBody)))]
pub async fn create_thing(
    State(service): State<AppState>,
    Caller(me): Caller,
    headers: HeaderMap,
    JsonBody(req): JsonBody<ThingRequest>,
) -> Result<Response, ApiError> {
    let created = service
        .create_things(&meta(&headers, Some(me))?, me, vec![req.into()])
        .await?;
    let location = created
        .first()
        .map(|t| format!("/things/{}", t.row.id))
        .unwrap_or_default();
    Ok((StatusCode::CREATED, [(LOCATION, location)]).into_response())
}

/// Creates many things at once, all or none.
#[utoipa::path(post, path = "/things/bulk", tag = "things", security(("user_token" = [])), request_body = ThingsBulk,
    responses((status = 201, body = ThingsBulkResponse), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 409, body = ErrorBody), (status = 415, body = ErrorBody)))]
pub async fn create_things(
    State(service): State<AppState>,
    Caller(me): Caller,
    headers: HeaderMap,
    JsonList(reqs): JsonList<ThingRequest>,
) -> Result<(StatusCode, Json<ThingsBulkResponse>), ApiError> {
    if reqs.is_empty() || reqs.len() > MAX_BULK {
        return Err(ApiError::bad_request(format!(
            "send between 1 and {MAX_BULK} things"
        )));
    }
    let things = reqs.into_iter().map(Into::into).collect();
    let created = service
        .create_things(&meta(&headers, Some(me))?, me, things)
        .await?;
    let things = created.into_iter().map(Into::into).collect();
    Ok((StatusCode::CREATED, Json(ThingsBulkResponse { things })))
}

/// One of the caller's things, key included.
#[utoipa::path(get, path = "/things/{id}", tag = "things", security(("user_token" = [])), params(("id" = Uuid, Path), AsOfParam),
    responses((status = 200, body = ThingResponse), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get_thing(
    State(service): State<AppState>,
    Caller(me): Caller,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Json<ThingResponse>, ApiError> {
    let id = path_id(&id)?;
    let thing = match as_of(query.as_deref())? {
        Some(at) => service.thing_as_of(me, id, at).await?,
        None => service.thing(me, id).await?,
    };
    Ok(Json(thing.into()))
}

/// Replaces a thing's name and metadata (an omitted field becomes empty).
#[utoipa::path(put, path = "/things/{id}", tag = "things", security(("user_token" = [])), params(("id" = Uuid, Path)), request_body = UpdateRequest,
    responses((status = 200), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 415, body = ErrorBody)))]
pub async fn update_thing(
    State(service): State<AppState>,
    Caller(me): Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    JsonBody(req): JsonBody<UpdateRequest>,
) -> Result<StatusCode, ApiError> {
    let meta = meta(&headers, Some(me))?;
    service
        .update_thing(&meta, me, path_id(&id)?, req.name, req.metadata)
        .await?;
    Ok(StatusCode::OK)
}

/// Rotates a thing's key; the old key stops working at once.
#[utoipa::path(patch, path = "/things/{id}/key", tag = "things", security(("user_token" = [])), params(("id" = Uuid, Path)), request_body = KeyRequest,
    responses((status = 200), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 415, body = ErrorBody)))]
pub async fn update_key(
    State(service): State<AppState>,
    Caller(me): Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    JsonBody(req): JsonBody<KeyRequest>,
) -> Result<StatusCode, ApiError> {
    let meta = meta(&headers, Some(me))?;
    service
        .update_thing_key(&meta, me, path_id(&id)?, req.key)
        .await?;
    Ok(StatusCode::OK)
}

/// Removes a thing and all its connections. Repeating it is harmless (204).
#[utoipa::path(delete, path = "/things/{id}", tag = "things", security(("user_token" = [])), params(("id" = Uuid, Path)),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn remove_thing(
    State(service): State<AppState>,
    Caller(me): Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<StatusCode, ApiError> {
    service
        .remove_thing(&meta(&headers, Some(me))?, me, path_id(&id)?)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The caller's things with `offset`, `limit`, `name` and `metadata` filters, sorted by
/// `order` (`id` or `name`) and `dir` (`desc` or `asc`), Mainflux 0.12's defaults `id desc`.
#[utoipa::path(get, path = "/things", tag = "things", security(("user_token" = [])),
    params(Filters),
    responses((status = 200, body = ThingsPage), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn list_things(
    State(service): State<AppState>,
    Caller(me): Caller,
    RawQuery(query): RawQuery,
) -> Result<Json<ThingsPage>, ApiError> {
    let query = page_query(query.as_deref())?;
    Ok(Json(things_page(service.things(me, &query).await?)))
}

/// Things connected to one of the caller's channels; with `connected=false` the caller's
/// things not connected to it. Sorted and filtered as `GET /things`.
#[utoipa::path(get, path = "/channels/{id}/things", tag = "things", security(("user_token" = [])),
    params(("id" = Uuid, Path), Related),
    responses((status = 200, body = ThingsPage), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn things_of_channel(
    State(service): State<AppState>,
    Caller(me): Caller,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Json<ThingsPage>, ApiError> {
    let channel: ChannelId = path_id(&id)?;
    let query = page_query(query.as_deref())?;
    Ok(Json(things_page(
        service.things_of_channel(me, channel, &query).await?,
    )))
}
