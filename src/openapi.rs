//! `GET /openapi.json`: one document for every route the server answers: the REST API's
//! (commands), the data plane's (adapters) and the binary's own (`/metrics`,
//! `/events/mqtt`, `/channels/{id}/messages/live`). Each part documents itself; this only merges them.
//!
//! Not in it: `GET /mqtt` (a WebSocket upgrade, not a REST operation) and
//! `/openapi.json` itself.

use std::sync::Arc;

use axum::routing::get;
use axum::{Json, Router};
use utoipa::OpenApi;
use utoipa::openapi::OpenApi as OpenApiDoc;

#[derive(OpenApi)]
#[openapi(paths(
    crate::metrics::metrics,
    crate::presence::presence_events,
    crate::live::live_messages
))]
struct Operations;

/// The whole document, as served; `others` are the documents of routers built with their
/// state (the things auth API's `/identify`).
pub fn document(others: Vec<OpenApiDoc>) -> OpenApiDoc {
    let mut doc = commands::http::openapi();
    doc.merge(adapters::http::openapi());
    doc.merge(Operations::openapi());
    for other in others {
        doc.merge(other);
    }
    doc
}

pub fn router(others: Vec<OpenApiDoc>) -> Router {
    let doc = Arc::new(document(others));
    Router::new().route(
        "/openapi.json",
        get(move || async move { Json(doc.as_ref().clone()) }),
    )
}
