//! The reader API: `GET /channels/{id}/messages`, Mainflux 0.12's readers contract.

use std::sync::Arc;

use axum::extract::{Path, RawQuery, State};
use axum::http::header::AUTHORIZATION;
use axum::http::{HeaderMap, StatusCode};
use axum::{Extension, Json};
use domain::DomainError;
use domain::ids::ChannelId;

use super::params::ReadParams;
use super::{AdapterError, ErrorBody, HttpAdapter, after_scheme};
use crate::device_certificate::DeviceCertificate;
use crate::subtopic::{Subtopic, parse_channel};
use crate::telemetry::{ReadPage, ReadQuery, TelemetryError};

/// A credential as presented, before anyone knows whose it is.
#[derive(Debug, Clone, Copy)]
pub enum Credential<'a> {
    /// `Thing <key>`
    Thing(&'a str),
    /// `Bearer <jwt>`
    User(&'a str),
    /// No scheme (Mainflux 0.10–0.12 clients): a user token or a thing key. Over a
    /// connection with a device certificate, a thing key (send user tokens as `Bearer`).
    Raw(&'a str),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadDenied {
    /// Nobody has this credential (401).
    Unauthenticated,
    /// A real thing or user that may not read this channel (403).
    Forbidden,
}

/// Who may read a channel: a thing connected to it, or the user who owns it. Implemented
/// where both the authz cache and user tokens are known (the binary's wiring). Async
/// because a user token is checked against the query views, which may be in PostgreSQL.
#[async_trait::async_trait]
pub trait ReaderAuth: Send + Sync + 'static {
    async fn may_read(
        &self,
        credential: Credential<'_>,
        channel: ChannelId,
    ) -> Result<(), ReadDenied>;
}

/// 200 `{"total","offset","limit","messages"}`, newest first; 400 bad query, 401 no or
/// unknown credential, 403 not this channel's thing or owner.
#[utoipa::path(get, path = "/channels/{id}/messages", tag = "messages",
    security(("thing_key" = []), ("user_token" = [])),
    params(("id" = uuid::Uuid, Path, description = "the channel"), ReadParams),
    responses((status = 200, body = ReadPage), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody, description = "the id is not a UUID"),
        (status = 503, body = ErrorBody, description = "the telemetry store is unreachable (a database outage); retry later")))]
pub async fn read(
    State(adapter): State<Arc<HttpAdapter>>,
    Path(channel): Path<String>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
    device: Option<Extension<DeviceCertificate>>,
) -> Result<Json<ReadPage>, AdapterError> {
    let channel = parse_channel(&channel).map_err(|_| not_found())?;
    let mut query = ReadQuery::parse(raw.as_deref()).map_err(|e| bad_request(e.to_string()))?;
    query.subtopic = match query.subtopic.take() {
        Some(raw) => Subtopic::parse(&raw)?.map(|s| s.as_str().to_owned()),
        None => None,
    };
    let credential = credential(&headers, device.as_ref().map(|d| &d.0))?;
    adapter
        .reader
        .may_read(credential, channel)
        .await
        .map_err(|denied| match denied {
            ReadDenied::Unauthenticated => unauthenticated(),
            ReadDenied::Forbidden => AdapterError(
                StatusCode::FORBIDDEN,
                "not allowed to read this channel".into(),
            ),
        })?;
    match adapter.store.read(channel, &query).await {
        Ok(page) => Ok(Json(page)),
        Err(TelemetryError::Query(e)) => Err(bad_request(e.to_string())),
        Err(TelemetryError::Unavailable(reason)) => {
            tracing::warn!(%reason, "reading telemetry failed: the store is unavailable");
            Err(AdapterError(
                StatusCode::SERVICE_UNAVAILABLE,
                "the telemetry store is unavailable; retry later".into(),
            ))
        }
        Err(error) => {
            tracing::error!(%error, "reading telemetry failed");
            Err(AdapterError(
                StatusCode::INTERNAL_SERVER_ERROR,
                "reading messages failed".into(),
            ))
        }
    }
}

/// `Thing <key>`, `Bearer <jwt>`, or the whole header (a key may hold spaces and any UTF-8).
/// With a device certificate, its key, and a key sent as well must be the same.
fn credential<'a>(
    headers: &'a HeaderMap,
    device: Option<&'a DeviceCertificate>,
) -> Result<Credential<'a>, AdapterError> {
    match (sent_credential(headers), device) {
        (Some(Credential::User(token)), _) => Ok(Credential::User(token)),
        // Without a certificate a bare value stays ambiguous: a user token or a thing key.
        (Some(Credential::Raw(raw)), None) => Ok(Credential::Raw(raw)),
        (Some(Credential::Thing(key) | Credential::Raw(key)), device) => {
            DeviceCertificate::presented_key(device, Some(key))
                .map(Credential::Thing)
                .map_err(|_| unauthenticated())
        }
        (None, Some(device)) => Ok(Credential::Thing(&device.key)),
        (None, None) => Err(unauthenticated()),
    }
}

fn sent_credential(headers: &HeaderMap) -> Option<Credential<'_>> {
    let value = std::str::from_utf8(headers.get(AUTHORIZATION)?.as_bytes())
        .ok()?
        .trim();
    let credential = if let Some(key) = after_scheme(value, "thing ") {
        Credential::Thing(key)
    } else if let Some(token) = after_scheme(value, "bearer ") {
        Credential::User(token)
    } else {
        Credential::Raw(value)
    };
    match credential {
        Credential::Thing(s) | Credential::User(s) | Credential::Raw(s) if s.is_empty() => None,
        credential => Some(credential),
    }
}

fn unauthenticated() -> AdapterError {
    AdapterError(
        StatusCode::UNAUTHORIZED,
        "missing or invalid credentials".into(),
    )
}

fn bad_request(message: String) -> AdapterError {
    AdapterError(StatusCode::BAD_REQUEST, message)
}

/// A path id that is no channel id: like the REST API, it names nothing.
fn not_found() -> AdapterError {
    AdapterError(StatusCode::NOT_FOUND, DomainError::NotFound.to_string())
}
