//! The device's side of bootstrap: `GET /things/bootstrap/{external_id}` with its external
//! key, and the secure variant whose key and answer are sealed under `FF_BOOTSTRAP_KEY`
//! (AES-256-GCM: `auth::BootstrapCipher` says how and why it differs from Mainflux).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::AppState;
use super::configs::ConfigChannel;
use super::error::{ApiError, ErrorBody};
use super::extract::meta;
use crate::service::{FetchedConfig, ServiceError};

/// What the device receives (Mainflux's bootstrap answer): its thing, key, channels,
/// certificates and content; not the external id and key it already holds, nor the state.
#[derive(Serialize, ToSchema)]
pub struct DeviceConfig {
    mainflux_id: Uuid,
    mainflux_key: String,
    mainflux_channels: Vec<ConfigChannel>,
    #[serde(skip_serializing_if = "Option::is_none")]
    content: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    client_cert: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    client_key: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ca_cert: Option<String>,
}

impl From<FetchedConfig> for DeviceConfig {
    fn from(c: FetchedConfig) -> Self {
        let config = c.config;
        Self {
            mainflux_id: config.thing_id.0,
            mainflux_key: c.thing_key,
            mainflux_channels: ConfigChannel::list(&config.channels),
            content: config.content,
            client_cert: config.certs.client_cert,
            client_key: c.client_key,
            ca_cert: config.certs.ca_cert,
        }
    }
}

/// The device's fetch: `Authorization` is its external key. An unknown id and a wrong key
/// are the same 404, and both are recorded as failed `thing.bootstrap` events.
#[utoipa::path(get, path = "/things/bootstrap/{external_id}", tag = "bootstrap", security(("external_key" = [])), params(("external_id" = String, Path)),
    responses((status = 200, body = DeviceConfig), (status = 401, body = ErrorBody, description = "no key"),
        (status = 404, body = ErrorBody, description = "unknown external id or wrong key")))]
pub async fn bootstrap(
    State(service): State<AppState>,
    Path(external_id): Path<String>,
    headers: HeaderMap,
) -> Result<Json<DeviceConfig>, ApiError> {
    let key = external_key(&headers)?;
    let found = service
        .bootstrap(&meta(&headers, None)?, &external_id, key)
        .await?;
    Ok(Json(found.into()))
}

/// The sealed fetch: `Authorization` is hex(nonce ‖ AES-256-GCM(external key) ‖ tag) with
/// the external id as associated data; the answer is the config's JSON sealed the same way.
/// A token that does not open is a wrong key: recorded, and the same 404.
#[utoipa::path(get, path = "/things/bootstrap/secure/{external_id}", tag = "bootstrap", security(("external_key" = [])), params(("external_id" = String, Path)),
    responses((status = 200, content_type = "application/octet-stream", body = Vec<u8>, description = "nonce (12) ‖ AES-256-GCM(config JSON) ‖ tag (16)"),
        (status = 401, body = ErrorBody, description = "no key"),
        (status = 404, body = ErrorBody, description = "unknown external id, wrong key, a token that does not open, or no FF_BOOTSTRAP_KEY")))]
pub async fn bootstrap_secure(
    State(service): State<AppState>,
    Path(external_id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let token = external_key(&headers)?;
    let cipher = service.bootstrap_cipher().cloned().ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "secure bootstrap is off: the server has no FF_BOOTSTRAP_KEY",
        )
    })?;
    // No external key is empty (the API refuses one), so "" never opens a config.
    let key = cipher.open_key(token, &external_id).unwrap_or_default();
    let found = service
        .bootstrap(&meta(&headers, None)?, &external_id, &key)
        .await?;
    let json = serde_json::to_vec(&DeviceConfig::from(found))
        .map_err(|e| ServiceError::Internal(e.to_string()))?;
    let sealed = cipher
        .seal(&json, &external_id)
        .map_err(|e| ServiceError::Internal(e.to_string()))?;
    Ok(([(CONTENT_TYPE, "application/octet-stream")], sealed).into_response())
}

fn external_key(headers: &HeaderMap) -> Result<&str, ApiError> {
    headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|k| !k.is_empty())
        .ok_or_else(|| ApiError::new(StatusCode::UNAUTHORIZED, "missing external key"))
}
