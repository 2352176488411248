//! The device's side of bootstrap: `GET /things/bootstrap/{external_id}` with its external
//! key, and the secure variant whose key and answer are sealed under `FF_BOOTSTRAP_KEY`
//! (AES-256-GCM: `auth::BootstrapCipher` says how and why it differs from Mainflux).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use super::AppState;
use super::configs::ConfigResponse;
use super::error::{ApiError, ErrorBody};
use super::extract::meta;
use crate::service::ServiceError;

/// The device's fetch: `Authorization` is its external key. An unknown id and a wrong key
/// are the same 404, and both are recorded as failed `thing.bootstrap` events.
#[utoipa::path(get, path = "/things/bootstrap/{external_id}", tag = "bootstrap", security(("external_key" = [])), params(("external_id" = String, Path)),
    responses((status = 200, body = ConfigResponse), (status = 401, body = ErrorBody, description = "no key"),
        (status = 404, body = ErrorBody, description = "unknown external id or wrong key")))]
pub async fn bootstrap(
    State(service): State<AppState>,
    Path(external_id): Path<String>,
    headers: HeaderMap,
) -> Result<Json<ConfigResponse>, ApiError> {
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
        (status = 404, body = ErrorBody, description = "unknown external id, wrong key or a token that does not open"),
        (status = 503, body = ErrorBody, description = "FF_BOOTSTRAP_KEY is not set")))]
pub async fn bootstrap_secure(
    State(service): State<AppState>,
    Path(external_id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let cipher = service.bootstrap_cipher().cloned().ok_or_else(|| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "secure bootstrap is off: the server has no FF_BOOTSTRAP_KEY",
        )
    })?;
    let token = external_key(&headers)?;
    // No external key is empty (the API refuses one), so "" never opens a config.
    let key = cipher.open_key(token, &external_id).unwrap_or_default();
    let found = service
        .bootstrap(&meta(&headers, None)?, &external_id, &key)
        .await?;
    let json = serde_json::to_vec(&ConfigResponse::from(found))
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
