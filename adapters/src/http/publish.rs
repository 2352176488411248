//! One handler for every publishing route: parse the raw path, then the pipeline.

use std::sync::Arc;

use std::convert::Infallible;

use axum::body::{Body, Bytes};
use axum::extract::{FromRequestParts, State};
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, Uri};
use http_body_util::{BodyExt, LengthLimitError, Limited};

use super::{AdapterError, ErrorBody, HttpAdapter, after_scheme};
use crate::device_certificate::DeviceCertificate;
use crate::message::{ContentType, Protocol};
use crate::pipeline::{Inbound, PublishError};
use crate::subtopic::{TopicError, parse_publish_topic};

/// 202 on success; 400 malformed channel or subtopic, 401 missing or unknown key, 403 not
/// connected, 413 payload over `FF_MAX_PAYLOAD`.
#[utoipa::path(post, path = "/channels/{id}/messages", tag = "messages", security(("thing_key" = [])),
    params(("id" = uuid::Uuid, Path, description = "the channel")),
    // A stand-in: `docs::openapi` replaces it with `params::payload` (any bytes, optional).
    request_body = String,
    responses((status = 202, description = "accepted for delivery"),
        (status = 400, body = ErrorBody, description = "malformed subtopic"),
        (status = 401, body = ErrorBody, description = "no key, or a key no thing has"),
        (status = 403, body = ErrorBody, description = "the thing is not connected to the channel"),
        (status = 413, body = ErrorBody, description = "payload over FF_MAX_PAYLOAD")))]
pub async fn publish(
    State(adapter): State<Arc<HttpAdapter>>,
    head: Head,
    body: Body,
) -> Result<StatusCode, AdapterError> {
    let payload = read_payload(body, adapter.max_payload).await?;
    // The raw path: Mainflux unescapes subtopics itself, so axum's decoded params won't do.
    let path = head.uri.path();
    let topic = path.strip_prefix("/http").unwrap_or(path);
    let parsed = match parse_publish_topic(topic) {
        Ok(parsed) => Some(parsed),
        Err(TopicError::UnknownChannel) => None,
        Err(malformed) => return Err(malformed.into()),
    };
    let sent = head.authorization.as_ref().and_then(thing_key);
    let key = DeviceCertificate::presented_key(head.device.as_ref(), sent)?;
    let Some((channel, subtopic)) = parsed else {
        // A well-formed id that no channel can have: a valid key is still only "forbidden".
        adapter.pipeline.authenticate(key)?;
        return Err(PublishError::Forbidden.into());
    };
    let content_type = head
        .content_type
        .as_ref()
        .and_then(|v| v.to_str().ok())
        .and_then(ContentType::parse);
    let inbound = Inbound {
        channel,
        subtopic,
        protocol: Protocol::Http,
        content_type,
        payload,
        properties: None,
    };
    adapter.pipeline.publish(key, inbound)?;
    Ok(StatusCode::ACCEPTED)
}

/// The whole body, at most `limit` bytes: 413 over it, 400 when it breaks off. Read here
/// rather than through axum's `DefaultBodyLimit` layer: axum applies a layer to each route
/// and clones the layered route for every request.
async fn read_payload(body: Body, limit: usize) -> Result<Bytes, AdapterError> {
    match Limited::new(body, limit).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e) if e.is::<LengthLimitError>() => Err(AdapterError(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("payload over the limit of {limit} bytes (FF_MAX_PAYLOAD)"),
        )),
        Err(e) => Err(AdapterError(
            StatusCode::BAD_REQUEST,
            format!("failed to read the request body: {e}"),
        )),
    }
}

/// `Authorization: Thing <key>`, or the whole header as the key, as Mainflux 0.10–0.12
/// devices send it (so a key may hold spaces). Bytes, not ASCII: any UTF-8 key the REST API
/// accepted must work here too.
fn thing_key(authorization: &HeaderValue) -> Option<&str> {
    let value = std::str::from_utf8(authorization.as_bytes()).ok()?.trim();
    let key = after_scheme(value, "thing ").unwrap_or(value);
    (!key.is_empty()).then_some(key)
}

/// The part of the request head a publish reads: the raw path, two headers and the device
/// certificate (HTTPS with mTLS). Cheaper than the `Uri` and `HeaderMap` extractors, which
/// would copy the whole header map per request; these clones only bump reference counts.
pub struct Head {
    uri: Uri,
    authorization: Option<HeaderValue>,
    content_type: Option<HeaderValue>,
    device: Option<DeviceCertificate>,
}

impl<S: Send + Sync> FromRequestParts<S> for Head {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Self {
            uri: parts.uri.clone(),
            authorization: parts.headers.get(AUTHORIZATION).cloned(),
            content_type: parts.headers.get(CONTENT_TYPE).cloned(),
            device: parts.extensions.get::<DeviceCertificate>().cloned(),
        })
    }
}
