//! The HTTP adapter: `POST /channels/{id}/messages[/{subtopic…}]`, also under `/http`
//! where Mainflux's standard deployment exposed it (parses, then calls the one pipeline),
//! and the reader API `GET /channels/{id}/messages`; and `identify`, the things auth API
//! other adapters call (the same checks, asked without publishing).

mod docs;
mod error;
pub mod identify;
mod params;
mod publish;
mod reader;

use std::sync::Arc;

use axum::Router;
use axum::routing::post;

pub use docs::{THING_KEY, openapi};
pub use error::{AdapterError, ErrorBody};
pub use reader::{Credential, ReadDenied, ReaderAuth};

use crate::pipeline::Pipeline;
use crate::telemetry::TelemetryStore;

/// Default `FF_MAX_PAYLOAD`: 256 KiB.
pub const DEFAULT_MAX_PAYLOAD: usize = 256 * 1024;

#[derive(Clone)]
pub struct HttpAdapter {
    pub pipeline: Pipeline,
    pub max_payload: usize,
    pub store: Arc<dyn TelemetryStore>,
    pub reader: Arc<dyn ReaderAuth>,
}

/// The publishing and reading routes; merge them into the server's router.
pub fn router(adapter: HttpAdapter) -> Router {
    let state = Arc::new(adapter);
    let mut router = Router::new().route(
        "/channels/{id}/messages",
        post(publish::publish).get(reader::read),
    );
    // A catch-all does not match an empty tail, so `/messages/` needs its own route.
    for path in [
        "/channels/{id}/messages/",
        "/channels/{id}/messages/{*subtopic}",
        "/http/channels/{id}/messages",
        "/http/channels/{id}/messages/",
        "/http/channels/{id}/messages/{*subtopic}",
    ] {
        router = router.route(path, post(publish::publish));
    }
    // No body-limit layer: `publish` reads at most `max_payload` itself.
    router.with_state(state)
}

/// What follows `scheme` (say `"thing "`, matched without regard to case) in an
/// `Authorization` value, if it starts with it.
fn after_scheme<'a>(value: &'a str, scheme: &str) -> Option<&'a str> {
    let head = value.get(..scheme.len())?;
    head.eq_ignore_ascii_case(scheme)
        .then(|| value[scheme.len()..].trim_start())
}
