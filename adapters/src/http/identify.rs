//! The things auth API that third-party adapters call (Mainflux 0.12's `/identify` routes):
//! key → thing, and "may this thing use this channel?". Answered by the same `Pipeline`
//! checks a publish makes, from the authz projection, so a call costs what a publish check
//! costs and can never disagree with what the data plane enforces.
//!
//! Status codes follow 0.12's OpenAPI: 200, 401 for a bad key, an unknown thing, a
//! thing not connected to the channel or an unknown channel (also a channel id that is not
//! a UUID: it names no channel), 415 without a JSON content type. 0.12 does not list 400; we
//! answer it for a body that is not JSON or has an empty or missing field (a malformed
//! request, not a failed check), as its gRPC twin answers `InvalidArgument`.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderMap, StatusCode};
use domain::ids::{ChannelId, ThingId};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::AdapterError;
use crate::pipeline::Pipeline;

/// The routes and their OpenAPI description; merge both into the server's.
pub fn api(pipeline: Pipeline) -> OpenApiRouter {
    OpenApiRouter::new()
        .routes(routes!(identify))
        .routes(routes!(access_by_key))
        .routes(routes!(access_by_id))
        .with_state(pipeline)
}

#[derive(Deserialize, ToSchema)]
pub struct IdentifyRequest {
    /// A thing key.
    #[schema(min_length = 1)]
    token: String,
}

#[derive(Deserialize, ToSchema)]
pub struct AccessByIdRequest {
    #[schema(format = Uuid)]
    thing_id: String,
}

#[derive(Serialize, ToSchema)]
pub struct Identity {
    id: Uuid,
}

/// The error body, as everywhere: `{"error": "…"}`.
#[derive(Serialize, ToSchema)]
pub struct IdentifyError {
    error: String,
}

fn unauthorized() -> AdapterError {
    AdapterError(
        StatusCode::UNAUTHORIZED,
        "unknown thing, or not connected to the channel".into(),
    )
}

fn bad_request(message: &str) -> AdapterError {
    AdapterError(StatusCode::BAD_REQUEST, message.into())
}

/// A JSON body: 415 unless the content type names JSON, 400 unless it parses.
fn body<T: DeserializeOwned>(headers: &HeaderMap, bytes: &[u8]) -> Result<T, AdapterError> {
    let is_json = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().contains("application/json"));
    if !is_json {
        return Err(AdapterError(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "content type must be application/json".into(),
        ));
    }
    // An object only: serde would also take the struct's fields as an array, `["key"]`.
    if bytes.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err(bad_request("body must be a JSON object"));
    }
    serde_json::from_slice(bytes).map_err(|e| {
        AdapterError(
            StatusCode::BAD_REQUEST,
            format!("malformed request body: {e}"),
        )
    })
}

fn key(headers: &HeaderMap, bytes: &[u8]) -> Result<String, AdapterError> {
    let req: IdentifyRequest = body(headers, bytes)?;
    match req.token.is_empty() {
        true => Err(bad_request("token must not be empty")),
        false => Ok(req.token),
    }
}

/// A channel id from the path; one that is not a UUID names no channel (401 below).
fn channel(raw: &str) -> Result<ChannelId, AdapterError> {
    Uuid::parse_str(raw)
        .map(ChannelId)
        .map_err(|_| unauthorized())
}

/// The id of the thing a key belongs to.
#[utoipa::path(post, path = "/identify", tag = "things auth", request_body = IdentifyRequest,
    responses((status = 200, body = Identity), (status = 400, body = IdentifyError),
        (status = 401, body = IdentifyError), (status = 415, body = IdentifyError)))]
pub async fn identify(
    State(pipeline): State<Pipeline>,
    headers: HeaderMap,
    bytes: Bytes,
) -> Result<Json<Identity>, AdapterError> {
    let key = key(&headers, &bytes)?;
    let thing = pipeline.authenticate(&key).map_err(|_| unauthorized())?;
    Ok(Json(Identity { id: thing.0 }))
}

/// The id of the thing a key belongs to, if it is connected to the channel.
#[utoipa::path(post, path = "/identify/channels/{chan_id}/access-by-key", tag = "things auth",
    params(("chan_id" = String, Path)), request_body = IdentifyRequest,
    responses((status = 200, body = Identity), (status = 400, body = IdentifyError),
        (status = 401, body = IdentifyError), (status = 415, body = IdentifyError)))]
pub async fn access_by_key(
    State(pipeline): State<Pipeline>,
    Path(chan_id): Path<String>,
    headers: HeaderMap,
    bytes: Bytes,
) -> Result<Json<Identity>, AdapterError> {
    let key = key(&headers, &bytes)?;
    let channel = channel(&chan_id)?;
    let thing = pipeline
        .authorize(&key, channel)
        .map_err(|_| unauthorized())?;
    Ok(Json(Identity { id: thing.0 }))
}

/// 200 when the thing is connected to the channel.
#[utoipa::path(post, path = "/identify/channels/{chan_id}/access-by-id", tag = "things auth",
    params(("chan_id" = String, Path)), request_body = AccessByIdRequest,
    responses((status = 200), (status = 400, body = IdentifyError),
        (status = 401, body = IdentifyError), (status = 415, body = IdentifyError)))]
pub async fn access_by_id(
    State(pipeline): State<Pipeline>,
    Path(chan_id): Path<String>,
    headers: HeaderMap,
    bytes: Bytes,
) -> Result<StatusCode, AdapterError> {
    let req: AccessByIdRequest = body(&headers, &bytes)?;
    if req.thing_id.is_empty() {
        return Err(bad_request("thing_id must not be empty"));
    }
    let thing = Uuid::parse_str(&req.thing_id)
        .map(ThingId)
        .map_err(|_| bad_request("thing_id must be a UUID"))?;
    let channel = channel(&chan_id)?;
    pipeline
        .check_access(thing, channel)
        .map_err(|_| unauthorized())?;
    Ok(StatusCode::OK)
}
