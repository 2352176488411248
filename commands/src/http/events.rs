//! `GET /events`: the event history as NDJSON, for operators and third-party consumers on
//! the host (the embedded log is locked by the server, so `ferroflux events` reads here).

use axum::body::Body;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, header::CONTENT_TYPE};
use axum::response::{IntoResponse, Response};
use domain::envelope::RecordedEvent;
use domain::ports::event_log::{EventSubscription, LogError};
use futures::stream::{self, Stream};

use utoipa::IntoParams;
use utoipa::openapi::path::{Parameter, ParameterIn};

use super::AppState;
use super::docs;
use super::error::{ApiError, ErrorBody};
use super::extract::bearer;

const BATCH: usize = 1024;

/// History after `after` (default 0); with `follow=true` the response never ends and
/// carries each new event as it is appended. Needs the admin token from the data dir.
#[utoipa::path(get, path = "/events", tag = "operations", security(("admin_token" = [])),
    params(Position, ("follow" = Option<bool>, Query)),
    responses((status = 200, content_type = "application/x-ndjson", description = "one event envelope per line"),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn events(
    State(service): State<AppState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    if !bearer(&headers).is_some_and(|t| service.is_admin(t)) {
        return Err(ApiError::unauthenticated());
    }
    let (after, follow) = parse(query.as_deref())?;
    let log = service.log().clone();
    let body = if follow {
        let subscription = log.subscribe(after).await.map_err(internal)?;
        Body::from_stream(live(subscription))
    } else {
        let pages = stream::try_unfold(Some(after), move |cursor| {
            let log = log.clone();
            async move {
                let Some(cursor) = cursor else {
                    return Ok(None);
                };
                let batch = log.read_after(cursor, BATCH).await?;
                let next = batch.last().map(|e| e.position);
                Ok::<_, LogError>(next.map(|n| (lines(&batch), Some(n))))
            }
        });
        Body::from_stream(pages)
    };
    Ok(([(CONTENT_TYPE, "application/x-ndjson")], body).into_response())
}

fn live(subscription: Box<dyn EventSubscription>) -> impl Stream<Item = Result<Vec<u8>, LogError>> {
    stream::try_unfold(subscription, |mut subscription| async move {
        let event = subscription.next().await?;
        Ok(Some((lines(std::slice::from_ref(&event)), subscription)))
    })
}

fn lines(events: &[RecordedEvent]) -> Vec<u8> {
    let mut out = Vec::with_capacity(events.len() * 512);
    for event in events {
        if serde_json::to_writer(&mut out, event).is_ok() {
            out.push(b'\n');
        }
    }
    out
}

/// `after`, as `parse` reads it, for `/openapi.json`.
pub struct Position;

impl IntoParams for Position {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        vec![docs::query(
            "after",
            docs::unsigned().default(Some(0.into())),
        )]
    }
}

fn parse(query: Option<&str>) -> Result<(u64, bool), ApiError> {
    let mut after = 0;
    let mut follow = false;
    for (key, value) in form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
        match key.as_ref() {
            "after" => {
                after = value
                    .parse()
                    .map_err(|_| ApiError::bad_request("after must be a non-negative integer"))?
            }
            "follow" => {
                follow = value
                    .parse()
                    .map_err(|_| ApiError::bad_request("follow must be true or false"))?
            }
            _ => {}
        }
    }
    Ok((after, follow))
}

fn internal(error: LogError) -> ApiError {
    crate::service::ServiceError::from(error).into()
}
