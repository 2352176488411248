//! Mainflux's provision service on our listener: `POST /mapping` makes one device's things,
//! channels, connections and bootstrap config from the operator's template, all or nothing;
//! `GET /mapping` shows that template (a UI makes configs that match it).

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::AppState;
use super::channels::ChannelResponse;
use super::docs;
use super::error::{ApiError, ErrorBody};
use super::extract::{Caller, JsonBody, meta};
use super::things::ThingResponse;
use crate::service::{Mapping, MappingTemplate, NewMapping};

#[derive(Deserialize, ToSchema)]
pub struct MappingRequest {
    /// Names the template's things; the template's own names when absent.
    #[schema(schema_with = docs::name)]
    name: Option<String>,
    /// The device's identity burned in at the factory (a MAC address, a serial).
    #[schema(min_length = 1)]
    external_id: String,
    /// The secret the device fetches its bootstrap config with.
    #[schema(min_length = 1)]
    external_key: String,
}

#[derive(Serialize, ToSchema)]
pub struct MappingResponse {
    things: Vec<ThingResponse>,
    channels: Vec<ChannelResponse>,
    /// Thing id → true for the thing whose config was activated.
    whitelisted: BTreeMap<Uuid, bool>,
}

impl From<Mapping> for MappingResponse {
    fn from(m: Mapping) -> Self {
        Self {
            things: m.things.into_iter().map(Into::into).collect(),
            channels: m.channels.into_iter().map(Into::into).collect(),
            whitelisted: m.whitelisted.map(|t| (t.0, true)).into_iter().collect(),
        }
    }
}

/// Provisions one device from the template: nothing is made unless everything is.
#[utoipa::path(post, path = "/mapping", tag = "provision", security(("user_token" = [])), request_body = MappingRequest,
    responses((status = 201, body = MappingResponse), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "external id in use: nothing was made"), (status = 415, body = ErrorBody)))]
pub async fn create_mapping(
    State(service): State<AppState>,
    Caller(me): Caller,
    headers: HeaderMap,
    JsonBody(req): JsonBody<MappingRequest>,
) -> Result<(StatusCode, Json<MappingResponse>), ApiError> {
    let new = NewMapping {
        name: req.name,
        external_id: req.external_id,
        external_key: req.external_key,
    };
    let made = service
        .create_mapping(&meta(&headers, Some(me))?, me, new)
        .await?;
    Ok((StatusCode::CREATED, Json(made.into())))
}

/// The template `POST /mapping` provisions from.
#[utoipa::path(get, path = "/mapping", tag = "provision", security(("user_token" = [])),
    responses((status = 200, body = MappingTemplate), (status = 401, body = ErrorBody)))]
pub async fn get_mapping(
    State(service): State<AppState>,
    Caller(_me): Caller,
) -> Json<MappingTemplate> {
    Json(service.settings().mapping_template.clone())
}
