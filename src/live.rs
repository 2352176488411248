//! `GET /channels/{id}/messages/live`: a channel's messages as Server-Sent Events, for its
//! owner (people, with a user token; devices have the thing-key WebSocket). Each connection
//! holds a bounded queue: a reader too slow for it is told with an `event: lagged` and goes
//! on with what comes next. The stream ends when the channel is removed or the token stops
//! being valid (expired, or its user gone), checked every second.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::{Duration, Instant};

use adapters::bus::{BusError, BusSubscription, ChannelFilter, MessageBus};
use adapters::message::Message;
use axum::Router;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use base64::Engine;
use commands::http::{ApiError, ErrorBody, bearer};
use commands::service::Service;
use domain::ids::{ChannelId, UserId};
use futures::stream;
use serde::Serialize;
use tokio::time::{Interval, MissedTickBehavior, interval};
use uuid::Uuid;

/// Messages one connection may hold unread before it is told it lagged.
const QUEUE: usize = 256;
/// How often the token and the channel are checked again.
const RECHECK: Duration = Duration::from_secs(1);
/// A comment line this often keeps proxies from closing an idle stream.
const HEARTBEAT: Duration = Duration::from_secs(15);

#[derive(Clone)]
pub(crate) struct Live {
    service: Arc<Service>,
    bus: Arc<dyn MessageBus>,
}

pub fn router(service: Arc<Service>, bus: Arc<dyn MessageBus>) -> Router {
    Router::new()
        .route("/channels/{id}/messages/live", get(live_messages))
        .with_state(Live { service, bus })
}

/// The channel's messages from now on, as `event: message` lines (`data`: channel,
/// subtopic, publisher, protocol, created in Unix seconds, payload as UTF-8 text or base64).
#[utoipa::path(get, path = "/channels/{id}/messages/live", tag = "history", security(("user_token" = [])),
    params(("id" = Uuid, Path)),
    responses((status = 200, content_type = "text/event-stream", description = "`event: message` per message, `event: lagged` when messages were dropped, `: keep-alive` comments"),
        (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub(crate) async fn live_messages(
    State(live): State<Live>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let token = bearer(&headers).ok_or_else(ApiError::unauthenticated)?;
    let me = live.service.identify(token).await?;
    let channel = Uuid::parse_str(&id)
        .map(ChannelId)
        .map_err(|_| ApiError::not_found())?;
    live.service.channel(me, channel).await?;
    let subscription = subscribe(&live.bus, channel).await?;
    let mut ticks = interval(RECHECK);
    ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let tail = Tail {
        live,
        token: token.to_owned(),
        me,
        channel,
        subscription,
        ticks,
        beat: Instant::now(),
    };
    let events = stream::unfold(tail, |mut tail| async move {
        let chunk = tail.next_chunk().await?;
        Some((Ok::<_, Infallible>(chunk), tail))
    });
    let headers = [
        (CONTENT_TYPE, "text/event-stream"),
        (CACHE_CONTROL, "no-cache"),
    ];
    Ok((headers, Body::from_stream(events)).into_response())
}

async fn subscribe(
    bus: &Arc<dyn MessageBus>,
    channel: ChannelId,
) -> Result<Box<dyn BusSubscription>, ApiError> {
    bus.subscribe(ChannelFilter::channel(channel), QUEUE)
        .await
        .map_err(|e| ApiError::new(StatusCode::SERVICE_UNAVAILABLE, format!("message bus: {e}")))
}

struct Tail {
    live: Live,
    token: String,
    me: UserId,
    channel: ChannelId,
    subscription: Box<dyn BusSubscription>,
    ticks: Interval,
    beat: Instant,
}

impl Tail {
    /// The next bytes to send; `None` ends the stream.
    async fn next_chunk(&mut self) -> Option<Vec<u8>> {
        loop {
            tokio::select! {
                message = self.subscription.next() => return match message {
                    Ok(message) => Some(event("message", &Shown::from(message.as_ref()))),
                    Err(BusError::Lagged) => {
                        self.subscription = subscribe(&self.live.bus, self.channel).await.ok()?;
                        Some(b"event: lagged\ndata: {}\n\n".to_vec())
                    }
                    Err(_) => None,
                },
                _ = self.ticks.tick() => {
                    if !allowed(&self.live, &self.token, self.me, self.channel).await {
                        return None;
                    }
                    if self.beat.elapsed() >= HEARTBEAT {
                        self.beat = Instant::now();
                        return Some(b": keep-alive\n\n".to_vec());
                    }
                }
            }
        }
    }
}

/// Whether the token still names `me` and `me` still has the channel.
async fn allowed(live: &Live, token: &str, me: UserId, channel: ChannelId) -> bool {
    live.service.identify(token).await.ok() == Some(me)
        && live.service.channel(me, channel).await.is_ok()
}

#[derive(Serialize)]
struct Shown {
    channel: Uuid,
    subtopic: Option<String>,
    publisher: Uuid,
    protocol: &'static str,
    created: f64,
    payload: String,
    payload_encoding: &'static str,
}

impl From<&Message> for Shown {
    fn from(message: &Message) -> Self {
        let (payload, payload_encoding) = match std::str::from_utf8(&message.payload) {
            Ok(text) => (text.to_owned(), "utf8"),
            Err(_) => (
                base64::engine::general_purpose::STANDARD.encode(&message.payload),
                "base64",
            ),
        };
        Self {
            channel: message.channel.0,
            subtopic: message.subtopic.as_ref().map(|s| s.as_str().to_owned()),
            publisher: message.publisher.0,
            protocol: message.protocol.as_str(),
            created: message.created as f64 / 1e9,
            payload,
            payload_encoding,
        }
    }
}

fn event(name: &str, data: &impl Serialize) -> Vec<u8> {
    let mut out = format!("event: {name}\ndata: ").into_bytes();
    // A serialization failure would be a bug in `Shown`; an empty object keeps the stream valid.
    if serde_json::to_writer(&mut out, data).is_err() {
        out.extend_from_slice(b"{}");
    }
    out.extend_from_slice(b"\n\n");
    out
}
