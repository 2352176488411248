//! `/ui/`: the admin web UI (the `ui/` folder), served from files embedded at build time
//! (`build.rs`). It is one more client of the public REST API, so it is not in the OpenAPI
//! document: nothing here is an API.
//!
//! Built files carry a content hash in their names (`assets/index-<hash>.js`), so browsers
//! may keep them forever; `index.html` names the current ones and is revalidated every time.
//! The build ships a gzipped copy of each text file, sent to clients that accept gzip.

use axum::Router;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::http::header::{
    ACCEPT_ENCODING, CACHE_CONTROL, CONTENT_ENCODING, CONTENT_SECURITY_POLICY, CONTENT_TYPE,
    HeaderMap, HeaderName, HeaderValue, REFERRER_POLICY, VARY, X_CONTENT_TYPE_OPTIONS,
    X_FRAME_OPTIONS,
};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;

struct Asset {
    /// Relative to `ui/dist`, `/`-separated.
    path: &'static str,
    body: &'static [u8],
    gzip: Option<&'static [u8]>,
}

static ASSETS: &[Asset] = include!(concat!(env!("OUT_DIR"), "/ui_assets.rs"));

/// The UI's own scripts and styles only, talking to this server only; uPlot sets element
/// styles from script, which `style-src` does not govern.
const POLICY: &str = "default-src 'self'; img-src 'self' data:; connect-src 'self'; \
                      frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

pub fn router() -> Router {
    Router::new()
        .route("/ui", get(|| async { Redirect::permanent("/ui/") }))
        .route("/ui/", get(index))
        .route("/ui/{*path}", get(file))
}

async fn index(headers: HeaderMap) -> Response {
    serve("index.html", &headers)
}

async fn file(Path(path): Path<String>, headers: HeaderMap) -> Response {
    serve(&path, &headers)
}

fn serve(path: &str, request: &HeaderMap) -> Response {
    let Some(asset) = ASSETS.iter().find(|a| a.path == path) else {
        return missing(path);
    };
    let cache = match path.starts_with("assets/") {
        true => "public, max-age=31536000, immutable",
        false => "no-cache",
    };
    let mut headers = vec![
        (CONTENT_TYPE, content_type(path)),
        (CACHE_CONTROL, cache),
        (VARY, "Accept-Encoding"),
        (X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (X_FRAME_OPTIONS, "DENY"),
        (REFERRER_POLICY, "no-referrer"),
        (CONTENT_SECURITY_POLICY, POLICY),
    ];
    let body = match asset.gzip.filter(|_| accepts_gzip(request)) {
        Some(gzip) => {
            headers.push((CONTENT_ENCODING, "gzip"));
            gzip
        }
        None => asset.body,
    };
    (StatusCode::OK, header_map(headers), body).into_response()
}

fn missing(path: &str) -> Response {
    let error = match ASSETS.is_empty() {
        true => "the UI was not built into this binary: run scripts/ui-build, then cargo build"
            .to_owned(),
        false => format!("no UI file {path}"),
    };
    let body = axum::Json(serde_json::json!({ "error": error }));
    (StatusCode::NOT_FOUND, body).into_response()
}

fn header_map(pairs: Vec<(HeaderName, &'static str)>) -> HeaderMap {
    pairs
        .into_iter()
        .map(|(name, value)| (name, HeaderValue::from_static(value)))
        .collect()
}

fn content_type(path: &str) -> &'static str {
    match path.rsplit_once('.').map(|(_, ext)| ext) {
        Some("html") => "text/html; charset=utf-8",
        Some("js") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("ico") => "image/x-icon",
        Some("json") => "application/json",
        _ => "application/octet-stream",
    }
}

/// `gzip` listed in `Accept-Encoding` and not refused with `q=0`.
fn accepts_gzip(request: &HeaderMap) -> bool {
    let Some(accepted) = request.get(ACCEPT_ENCODING).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    accepted.split(',').any(|coding| {
        let mut parts = coding.split(';').map(str::trim);
        let name = parts.next().unwrap_or_default();
        let refused =
            parts.any(|p| p.strip_prefix("q=").and_then(|q| q.parse::<f32>().ok()) == Some(0.0));
        (name.eq_ignore_ascii_case("gzip") || name == "*") && !refused
    })
}
