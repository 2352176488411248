//! Mainflux 0.12's bootstrap API for owners: `/things/configs…` and `/things/state/{id}`
//! (the device's fetch is in `bootstrap`). A config is named by its thing's id.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::header::LOCATION;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::AppState;
use super::error::{ApiError, ErrorBody};
use super::extract::{Caller, JsonBody, meta, path_id};
use super::{docs, paging};
use crate::service::{ConfigWithKeys, NewConfig, PlainCerts, activation};

#[derive(Deserialize, ToSchema)]
pub struct ConfigRequest {
    /// The thing to configure; empty or absent creates one.
    thing_id: Option<String>,
    #[schema(min_length = 1)]
    external_id: String,
    /// The secret the device fetches its config with.
    #[schema(min_length = 1)]
    external_key: String,
    #[serde(default)]
    channels: Vec<Uuid>,
    #[schema(schema_with = docs::name)]
    name: Option<String>,
    content: Option<String>,
    client_cert: Option<String>,
    client_key: Option<String>,
    ca_cert: Option<String>,
}

#[derive(Deserialize, ToSchema)]
pub struct ConfigUpdate {
    #[schema(schema_with = docs::name)]
    name: Option<String>,
    content: Option<String>,
}

#[derive(Deserialize, ToSchema)]
pub struct CertsUpdate {
    client_cert: Option<String>,
    client_key: Option<String>,
    ca_cert: Option<String>,
}

#[derive(Deserialize, ToSchema)]
pub struct ConnectionsUpdate {
    channels: Vec<Uuid>,
}

#[derive(Deserialize, ToSchema)]
pub struct StateUpdate {
    /// 0 inactive (disconnected), 1 active (connected to every config channel).
    #[schema(minimum = 0, maximum = 1, value_type = u8)]
    #[serde(deserialize_with = "paging::whole_number")]
    state: Option<u64>,
}

#[derive(Serialize, ToSchema)]
pub struct ConfigChannel {
    id: Uuid,
}

impl ConfigChannel {
    pub fn list(channels: &[domain::ids::ChannelId]) -> Vec<Self> {
        channels.iter().map(|c| Self { id: c.0 }).collect()
    }
}

#[derive(Serialize, ToSchema)]
pub struct ConfigResponse {
    mainflux_id: Uuid,
    mainflux_key: String,
    mainflux_channels: Vec<ConfigChannel>,
    external_id: String,
    external_key: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    content: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    client_cert: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    client_key: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ca_cert: Option<String>,
    state: u8,
}

impl From<ConfigWithKeys> for ConfigResponse {
    fn from(c: ConfigWithKeys) -> Self {
        let config = c.config;
        Self {
            mainflux_id: config.thing_id.0,
            mainflux_key: c.thing_key,
            mainflux_channels: ConfigChannel::list(&config.channels),
            external_id: config.external_id,
            external_key: c.external_key,
            name: config.name,
            content: config.content,
            client_cert: config.certs.client_cert,
            client_key: c.client_key,
            ca_cert: config.certs.ca_cert,
            state: config.state.into(),
        }
    }
}

/// Creates a bootstrap config (inactive); `Location` names it by its thing's id.
#[utoipa::path(post, path = "/things/configs", tag = "bootstrap", security(("user_token" = [])), request_body = ConfigRequest,
    responses((status = 201, description = "created", headers(("Location" = String, description = "/things/configs/{thing_id}"))),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody, description = "thing or channel unknown or foreign"),
        (status = 409, body = ErrorBody, description = "external id in use or config exists"), (status = 415, body = ErrorBody)))]
pub async fn create_config(
    State(service): State<AppState>,
    Caller(me): Caller,
    headers: HeaderMap,
    JsonBody(req): JsonBody<ConfigRequest>,
) -> Result<Response, ApiError> {
    let thing_id = match req.thing_id.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(id) => Some(path_id(id)?),
    };
    let new = NewConfig {
        thing_id,
        external_id: req.external_id,
        external_key: req.external_key,
        name: req.name,
        content: req.content,
        channels: req.channels.into_iter().map(Into::into).collect(),
        certs: PlainCerts {
            client_cert: req.client_cert,
            client_key: req.client_key,
            ca_cert: req.ca_cert,
        },
    };
    let id = service
        .create_config(&meta(&headers, Some(me))?, me, new)
        .await?;
    let location = format!("/things/configs/{id}");
    Ok((StatusCode::CREATED, [(LOCATION, location)]).into_response())
}

/// One of the caller's configs, keys opened.
#[utoipa::path(get, path = "/things/configs/{id}", tag = "bootstrap", security(("user_token" = [])), params(("id" = Uuid, Path)),
    responses((status = 200, body = ConfigResponse), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get_config(
    State(service): State<AppState>,
    Caller(me): Caller,
    Path(id): Path<String>,
) -> Result<Json<ConfigResponse>, ApiError> {
    Ok(Json(service.config(me, path_id(&id)?).await?.into()))
}

/// Replaces a config's name and content.
#[utoipa::path(put, path = "/things/configs/{id}", tag = "bootstrap", security(("user_token" = [])), params(("id" = Uuid, Path)), request_body = ConfigUpdate,
    responses((status = 200), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 415, body = ErrorBody)))]
pub async fn update_config(
    State(service): State<AppState>,
    Caller(me): Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    JsonBody(req): JsonBody<ConfigUpdate>,
) -> Result<StatusCode, ApiError> {
    let meta = meta(&headers, Some(me))?;
    service
        .update_config(&meta, me, path_id(&id)?, req.name, req.content)
        .await?;
    Ok(StatusCode::OK)
}

/// Removes a config and frees its external id; the thing stays. Repeating it is harmless.
#[utoipa::path(delete, path = "/things/configs/{id}", tag = "bootstrap", security(("user_token" = [])), params(("id" = Uuid, Path)),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn remove_config(
    State(service): State<AppState>,
    Caller(me): Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<StatusCode, ApiError> {
    service
        .remove_config(&meta(&headers, Some(me))?, me, path_id(&id)?)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Replaces a config's certificates; the private key is sealed at rest.
#[utoipa::path(patch, path = "/things/configs/certs/{id}", tag = "bootstrap", security(("user_token" = [])), params(("id" = Uuid, Path)), request_body = CertsUpdate,
    responses((status = 200), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 415, body = ErrorBody)))]
pub async fn update_certs(
    State(service): State<AppState>,
    Caller(me): Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    JsonBody(req): JsonBody<CertsUpdate>,
) -> Result<StatusCode, ApiError> {
    let certs = PlainCerts {
        client_cert: req.client_cert,
        client_key: req.client_key,
        ca_cert: req.ca_cert,
    };
    let meta = meta(&headers, Some(me))?;
    service
        .update_config_certs(&meta, me, path_id(&id)?, certs)
        .await?;
    Ok(StatusCode::OK)
}

/// Replaces a config's channels; an active config connects the added, disconnects the rest.
#[utoipa::path(put, path = "/things/configs/connections/{id}", tag = "bootstrap", security(("user_token" = [])), params(("id" = Uuid, Path)), request_body = ConnectionsUpdate,
    responses((status = 200), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 415, body = ErrorBody)))]
pub async fn update_connections(
    State(service): State<AppState>,
    Caller(me): Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    JsonBody(req): JsonBody<ConnectionsUpdate>,
) -> Result<StatusCode, ApiError> {
    let channels = req.channels.into_iter().map(Into::into).collect();
    let meta = meta(&headers, Some(me))?;
    service
        .update_config_connections(&meta, me, path_id(&id)?, channels)
        .await?;
    Ok(StatusCode::OK)
}

/// Activates (1: connects the thing to every config channel) or deactivates (0) a config.
#[utoipa::path(put, path = "/things/state/{id}", tag = "bootstrap", security(("user_token" = [])), params(("id" = Uuid, Path)), request_body = StateUpdate,
    responses((status = 200), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 415, body = ErrorBody)))]
pub async fn change_state(
    State(service): State<AppState>,
    Caller(me): Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    JsonBody(req): JsonBody<StateUpdate>,
) -> Result<StatusCode, ApiError> {
    let state = req
        .state
        .and_then(|s| u8::try_from(s).ok())
        .ok_or_else(|| ApiError::bad_request("state must be 0 or 1"))
        .and_then(|s| Ok(activation(s)?))?;
    let meta = meta(&headers, Some(me))?;
    service
        .change_config_state(&meta, me, path_id(&id)?, state)
        .await?;
    Ok(StatusCode::OK)
}
