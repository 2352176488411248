//! `POST /things/search` and `POST /channels/search` (Mainflux 0.12): the list parameters in
//! a JSON body instead of the query string, checked by the same rules (`paging`) and
//! answered by the same owner-scoped views, so a search and a `GET` list with the same
//! parameters return the same page.

use axum::Json;
use axum::extract::State;
use projections::views::PageQuery;
use serde::Deserialize;
use serde_json::{Map, Value};
use utoipa::ToSchema;

use super::AppState;
use super::channels::{ChannelsPage, channels_page};
use super::docs;
use super::error::{ApiError, ErrorBody};
use super::extract::{Caller, JsonBody};
use super::paging::{self, DEFAULT_LIMIT};
use super::things::{ThingsPage, things_page};
use crate::service::ServiceError;

/// Search parameters; every field is optional, with the `GET` list's defaults.
#[derive(Deserialize, ToSchema)]
pub struct SearchRequest {
    #[serde(default, deserialize_with = "paging::whole_number")]
    #[schema(schema_with = docs::optional_unsigned)]
    offset: Option<u64>,
    #[serde(default, deserialize_with = "paging::whole_number")]
    #[schema(minimum = 1, maximum = 100)]
    limit: Option<u64>,
    /// Case-insensitive substring of the name.
    #[schema(max_length = 1024)]
    name: Option<String>,
    /// JSON containment on metadata.
    #[schema(value_type = Option<Object>)]
    metadata: Option<Map<String, Value>>,
    /// `id` (default) or `name`.
    #[schema(pattern = "^(id|name)$")]
    order: Option<String>,
    /// `desc` (default) or `asc`.
    #[schema(pattern = "^(asc|desc)$")]
    dir: Option<String>,
    /// Listed by Mainflux 0.12's request schema; accepted and ignored.
    #[allow(dead_code)]
    #[serde(default, deserialize_with = "paging::whole_number")]
    #[schema(schema_with = docs::optional_unsigned)]
    total: Option<u64>,
}

impl SearchRequest {
    fn query(self) -> Result<PageQuery, ApiError> {
        let mut query = PageQuery {
            offset: self.offset.unwrap_or(0),
            limit: paging::limit(self.limit.unwrap_or(DEFAULT_LIMIT))?,
            metadata: self.metadata,
            ..PageQuery::default()
        };
        if let Some(name) = self.name {
            query.name = Some(paging::name(&name)?);
        }
        if let Some(order) = self.order {
            query.order = paging::order(&order)?;
        }
        if let Some(dir) = self.dir {
            query.dir = paging::dir(&dir)?;
        }
        Ok(query)
    }
}

/// The caller's things matching the parameters in the body (as `GET /things`).
#[utoipa::path(post, path = "/things/search", tag = "things", security(("user_token" = [])), request_body = SearchRequest,
    responses((status = 200, body = ThingsPage), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 415, body = ErrorBody)))]
pub async fn search_things(
    State(service): State<AppState>,
    Caller(me): Caller,
    JsonBody(req): JsonBody<SearchRequest>,
) -> Result<Json<ThingsPage>, ApiError> {
    Ok(Json(things_page(service.things(me, &req.query()?).await?)))
}

/// The caller's channels matching the parameters in the body (as `GET /channels`).
#[utoipa::path(post, path = "/channels/search", tag = "channels", security(("user_token" = [])), request_body = SearchRequest,
    responses((status = 200, body = ChannelsPage), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 415, body = ErrorBody)))]
pub async fn search_channels(
    State(service): State<AppState>,
    Caller(me): Caller,
    JsonBody(req): JsonBody<SearchRequest>,
) -> Result<Json<ChannelsPage>, ApiError> {
    let query = req.query()?;
    Ok(Json(channels_page(
        service
            .views()
            .channels(me, &query)
            .await
            .map_err(ServiceError::from)?,
    )))
}
