//! The handshake: every check happens before the upgrade, so a refused client gets a plain
//! HTTP status and `{"error": …}` body, as the HTTP adapter answers:
//! 400 malformed path, 401 missing or unknown key, 403 not connected (or a channel id no
//! channel can have), 503 `FF_WS_MAX_SESSIONS` sockets already open.
//!
//! The key is the `Authorization` header (`Thing <key>`, or the bare key as Mainflux 0.10
//! devices send it) or, because browsers cannot set headers on a WebSocket, the
//! `authorization` query parameter; the header wins when both are there. The content type
//! of the socket's publishes is the `content-type` query parameter or header, or none.
//! Over HTTPS with a device certificate (mTLS), the certificate's CN is the key, and a key
//! sent as well must be the same.

use axum::Json;
use axum::extract::FromRequestParts;
use axum::extract::ws::WebSocketUpgrade;
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE, RETRY_AFTER};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use super::WsAdapter;
use super::path::{self, WsPath};
use super::session::Session;
use crate::bus::ChannelFilter;
use crate::device_certificate::DeviceCertificate;
use crate::message::ContentType;
use crate::pipeline::PublishError;
use crate::subtopic::TopicError;

/// Checks the request and upgrades it into a session, or answers why not.
pub async fn accept(adapter: WsAdapter, request: axum::extract::Request) -> Response {
    let (mut parts, _body) = request.into_parts();
    let upgrade = match WebSocketUpgrade::from_request_parts(&mut parts, &()).await {
        Ok(upgrade) => upgrade,
        Err(rejection) => return rejection.into_response(),
    };
    let path = match path::parse(parts.uri.path()) {
        Ok(path) => Some(path),
        Err(TopicError::UnknownChannel) => None,
        Err(malformed) => return refuse(StatusCode::BAD_REQUEST, &malformed.to_string()),
    };
    let query = Query::read(&parts);
    let sent = header_key(&parts.headers).or(query.authorization.as_deref());
    // Over HTTPS with a device certificate (mTLS) its CN is the key; one sent too must match.
    let device = parts.extensions.get::<DeviceCertificate>();
    let key = match DeviceCertificate::presented_key(device, sent) {
        Ok(key) => key,
        Err(error) => return refused(error),
    };
    // Subscribed to revocations before the check: one that lands after it cannot be missed.
    let revocations = adapter.revocations.subscribe();
    let Some(path) = path else {
        // A well-formed id that no channel can have: a valid key is still only "forbidden".
        return match adapter.pipeline.authenticate(key) {
            Ok(_) => refused(PublishError::Forbidden),
            Err(error) => refused(error),
        };
    };
    let thing = match adapter.pipeline.authorize(key, path.channel) {
        Ok(thing) => thing,
        Err(error) => return refused(error),
    };
    let Ok(permit) = adapter.sessions.clone().try_acquire_owned() else {
        adapter.stats.count_refused_full();
        let mut response = refuse(
            StatusCode::SERVICE_UNAVAILABLE,
            "too many WebSocket sessions",
        );
        response.headers_mut().insert(RETRY_AFTER, 1.into());
        return response;
    };
    let WsPath {
        channel,
        filter,
        publish_to,
    } = path;
    let wanted = ChannelFilter::channel(channel).with_subtopic(filter);
    let bus = adapter.pipeline.bus().clone();
    // Subscribed before the 101 goes out: whatever is published once the client sees the
    // socket open reaches it.
    let subscription = match bus.subscribe(wanted, adapter.config.max_queue.max(1)).await {
        Ok(subscription) => subscription,
        Err(error) => {
            tracing::warn!(%error, "WebSocket: cannot subscribe to the bus");
            return refuse(StatusCode::SERVICE_UNAVAILABLE, "message bus unavailable");
        }
    };
    let session = Session {
        pipeline: adapter.pipeline.clone(),
        stats: adapter.stats.clone(),
        thing,
        channel,
        publish_to,
        content_type: query
            .content_type
            .or_else(|| header_content_type(&parts.headers)),
        ping_interval: adapter.config.ping_interval,
        stopping: adapter.stopping.subscribe(),
    };
    let max = adapter.config.max_payload;
    adapter.stats.count_opened();
    upgrade
        .max_message_size(max)
        .max_frame_size(max)
        .on_failed_upgrade({
            let stats = adapter.stats.clone();
            move |error| {
                tracing::debug!(%error, "WebSocket upgrade failed");
                stats.count_ended();
            }
        })
        .on_upgrade(move |socket| async move {
            session.run(socket, subscription, revocations).await;
            drop(permit);
        })
}

/// The query parameters the handshake reads; others are ignored.
#[derive(Default)]
struct Query {
    authorization: Option<String>,
    content_type: Option<ContentType>,
}

impl Query {
    fn read(parts: &Parts) -> Self {
        let mut query = Self::default();
        let raw = parts.uri.query().unwrap_or_default();
        for (name, value) in form_urlencoded::parse(raw.as_bytes()) {
            match &*name {
                "authorization" if query.authorization.is_none() => {
                    let key = thing_key(&value);
                    query.authorization = (!key.is_empty()).then(|| key.to_owned());
                }
                "content-type" if query.content_type.is_none() => {
                    query.content_type = ContentType::parse(&value);
                }
                _ => {}
            }
        }
        query
    }
}

/// The key in an `Authorization` header, read as the HTTP adapter reads it (bytes as
/// UTF-8, so a key may hold spaces and any character the REST API accepted).
fn header_key(headers: &HeaderMap) -> Option<&str> {
    let value = std::str::from_utf8(headers.get(AUTHORIZATION)?.as_bytes()).ok()?;
    let key = thing_key(value);
    (!key.is_empty()).then_some(key)
}

/// `Thing <key>` (scheme in any case) or the whole value, trimmed.
fn thing_key(value: &str) -> &str {
    let value = value.trim();
    const SCHEME: &str = "thing ";
    match value.get(..SCHEME.len()) {
        Some(head) if head.eq_ignore_ascii_case(SCHEME) => value[SCHEME.len()..].trim_start(),
        _ => value,
    }
}

fn header_content_type(headers: &HeaderMap) -> Option<ContentType> {
    let value = headers.get(CONTENT_TYPE)?.to_str().ok()?;
    ContentType::parse(value)
}

fn refused(error: PublishError) -> Response {
    let status = match &error {
        PublishError::Unauthenticated => StatusCode::UNAUTHORIZED,
        PublishError::Forbidden => StatusCode::FORBIDDEN,
        PublishError::Bus(_) => StatusCode::SERVICE_UNAVAILABLE,
    };
    refuse(status, &error.to_string())
}

fn refuse(status: StatusCode, error: &str) -> Response {
    let body = serde_json::json!({ "error": error });
    (status, Json(body)).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_read_with_or_without_the_thing_scheme() {
        let cases = [
            ("Thing abc", "abc"),
            ("thing   abc ", "abc"),
            ("THING a b", "a b"),
            ("abc", "abc"),
            (" key with spaces ", "key with spaces"),
            // Trimmed first, as the HTTP adapter does: a lone scheme is taken as a bare key.
            ("Thing ", "Thing"),
            ("", ""),
        ];
        for (value, key) in cases {
            assert_eq!(thing_key(value), key, "{value:?}");
        }
    }

    #[test]
    fn the_query_gives_a_key_and_a_content_type() {
        let (parts, ()) = axum::http::Request::builder()
            .uri("/channels/x/messages?authorization=Thing%20k%2B1&content-type=application%2Fsenml%2Bjson&x=1")
            .body(())
            .unwrap()
            .into_parts();
        let query = Query::read(&parts);
        assert_eq!(query.authorization.as_deref(), Some("k+1"));
        assert_eq!(query.content_type, Some(ContentType::SenmlJson));
        let (parts, ()) = axum::http::Request::builder()
            .uri("/channels/x/messages?authorization=")
            .body(())
            .unwrap()
            .into_parts();
        assert_eq!(Query::read(&parts).authorization, None);
    }
}
