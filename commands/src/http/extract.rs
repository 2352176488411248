//! Request parsing at the edge: tokens, client addresses, ids, idempotency keys (bodies:
//! `json_body`).

use axum::extract::FromRequestParts;
use axum::http::HeaderMap;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use domain::ids::UserId;
use uuid::Uuid;

use super::AppState;
pub use super::client_ip::ClientIp;
use super::error::ApiError;
pub use super::json_body::{JsonBody, JsonList};
use crate::service::CommandMeta;

/// The token in `Authorization`: `Bearer <jwt>`, or the raw JWT as Mainflux 0.10–0.12 sent.
pub fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(AUTHORIZATION)?.to_str().ok()?.trim();
    let token = match value.split_once(' ') {
        Some((scheme, rest)) if scheme.eq_ignore_ascii_case("bearer") => rest.trim(),
        Some(_) => return None,
        None => value,
    };
    (!token.is_empty()).then_some(token)
}

/// The caller, authenticated by a user token (401 otherwise).
pub struct Caller(pub UserId);

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token = bearer(&parts.headers).ok_or_else(ApiError::unauthenticated)?;
        Ok(Caller(state.identify(token).await?))
    }
}

/// The command's identity: the client's `Idempotency-Key` (a UUID) or a fresh one.
pub fn meta(headers: &HeaderMap, actor: Option<UserId>) -> Result<CommandMeta, ApiError> {
    let key = match headers.get("idempotency-key") {
        None => None,
        Some(value) => Some(
            value
                .to_str()
                .ok()
                .and_then(|v| Uuid::parse_str(v.trim()).ok())
                .ok_or_else(|| ApiError::bad_request("Idempotency-Key must be a UUID"))?,
        ),
    };
    Ok(CommandMeta::new(actor, key))
}

/// An id from the path; anything that is not a UUID names nothing (404, as Mainflux).
pub fn path_id<T: From<Uuid>>(raw: &str) -> Result<T, ApiError> {
    Uuid::parse_str(raw)
        .map(T::from)
        .map_err(|_| ApiError::not_found())
}
