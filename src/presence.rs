//! `GET /events/mqtt`: the MQTT presence feed (Mainflux's `mainflux.mqtt`) as live NDJSON,
//! one event per line, for operators on the host (`ferroflux events --feed mqtt`); with
//! `FF_FEEDS` the Redis stream carries it too. Live only: presence is not history.

use std::convert::Infallible;
use std::sync::Arc;

use adapters::mqtt::{Presence, PresenceFeed};
use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use commands::http::{ApiError, ErrorBody, bearer};
use commands::service::Service;
use futures::stream;
use tokio::sync::broadcast::{Receiver, error::RecvError};

#[derive(Clone)]
pub(crate) struct Feed {
    service: Arc<Service>,
    presence: PresenceFeed,
}

pub fn router(service: Arc<Service>, presence: PresenceFeed) -> Router {
    Router::new()
        .route("/events/mqtt", get(presence_events))
        .with_state(Feed { service, presence })
}

/// Needs the admin token from the data dir, like `GET /events`.
#[utoipa::path(get, path = "/events/mqtt", tag = "operations", security(("admin_token" = [])),
    responses((status = 200, content_type = "application/x-ndjson", description = "one presence event per line, live"),
        (status = 401, body = ErrorBody)))]
pub(crate) async fn presence_events(State(feed): State<Feed>, headers: HeaderMap) -> Response {
    if !bearer(&headers).is_some_and(|t| feed.service.is_admin(t)) {
        return ApiError::unauthenticated().into_response();
    }
    let lines = stream::unfold(feed.presence.subscribe(), |mut receiver| async move {
        let line = next_line(&mut receiver).await?;
        Some((Ok::<_, Infallible>(line), receiver))
    });
    (
        [(CONTENT_TYPE, "application/x-ndjson")],
        Body::from_stream(lines),
    )
        .into_response()
}

/// The next event as a JSON line; a reader too slow for the backlog is told how many it
/// missed, in a line of its own, and goes on.
async fn next_line(receiver: &mut Receiver<Presence>) -> Option<Vec<u8>> {
    let mut line = match receiver.recv().await {
        Ok(presence) => serde_json::to_vec(&presence).ok()?,
        Err(RecvError::Lagged(missed)) => format!("{{\"missed\":{missed}}}").into_bytes(),
        Err(RecvError::Closed) => return None,
    };
    line.push(b'\n');
    Some(line)
}
