//! The OpenAPI document: served, OpenAPI 3, and naming every route the API must serve; and
//! every route it names is really served.

mod common;

use std::collections::BTreeSet;

use axum::http::StatusCode;
use common::{TestApp, req, unknown_id};
use serde_json::Value;

/// Every (method, path) the server serves, bar `GET /mqtt` (a WebSocket upgrade) and
/// `/openapi.json` itself: the REST API, operations and the data plane.
const REQUIRED: &[(&str, &str)] = &[
    ("post", "/users"),
    ("get", "/users"),
    ("put", "/users"),
    ("get", "/users/profile"),
    ("get", "/users/{id}"),
    ("post", "/tokens"),
    ("patch", "/password"),
    ("post", "/password/reset-request"),
    ("put", "/password/reset"),
    ("post", "/things/search"),
    ("post", "/channels/search"),
    ("post", "/identify"),
    ("post", "/identify/channels/{id}/access-by-key"),
    ("post", "/identify/channels/{id}/access-by-id"),
    ("post", "/things"),
    ("get", "/things"),
    ("post", "/things/bulk"),
    ("get", "/things/{id}"),
    ("put", "/things/{id}"),
    ("delete", "/things/{id}"),
    ("patch", "/things/{id}/key"),
    ("get", "/things/{id}/channels"),
    ("post", "/channels"),
    ("get", "/channels"),
    ("post", "/channels/bulk"),
    ("get", "/channels/{id}"),
    ("put", "/channels/{id}"),
    ("delete", "/channels/{id}"),
    ("get", "/channels/{id}/things"),
    ("post", "/connect"),
    ("put", "/channels/{id}/things/{id}"),
    ("delete", "/channels/{id}/things/{id}"),
    ("get", "/health"),
    ("get", "/ready"),
    ("get", "/version"),
    ("get", "/events"),
    ("get", "/events/mqtt"),
    ("get", "/metrics"),
    // Mainflux 0.12's search, password reset and things auth API.
    ("post", "/things/search"),
    ("post", "/channels/search"),
    ("post", "/password/reset-request"),
    ("put", "/password/reset"),
    ("post", "/identify"),
    ("post", "/identify/channels/{id}/access-by-key"),
    ("post", "/identify/channels/{id}/access-by-id"),
    // The data plane (adapters), merged into the same document.
    ("post", "/channels/{id}/messages"),
    ("post", "/channels/{id}/messages/{subtopic}"),
    ("post", "/http/channels/{id}/messages"),
    ("post", "/http/channels/{id}/messages/{subtopic}"),
    ("get", "/channels/{id}/messages"),
];

const METHODS: &[&str] = &[
    "get", "put", "post", "delete", "patch", "head", "options", "trace",
];

/// `/channels/{chanId}/things/{thing_id}` → `/channels/{id}/things/{id}`.
fn normalize(path: &str) -> String {
    path.split('/')
        .map(|seg| {
            if seg.starts_with('{') && seg.ends_with('}') {
                "{id}"
            } else {
                seg
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// The (method, normalized path) pairs a document describes.
fn documented(doc: &Value) -> BTreeSet<(String, String)> {
    let paths = doc["paths"].as_object().expect("paths object");
    let mut ops = BTreeSet::new();
    for (path, item) in paths {
        for method in METHODS {
            if item.get(*method).is_some_and(Value::is_object) {
                ops.insert((method.to_string(), normalize(path)));
            }
        }
    }
    ops
}

async fn document(t: &TestApp) -> Value {
    let resp = t
        .send(req("GET", "/openapi.json"))
        .await
        .expect(StatusCode::OK, "GET /openapi.json");
    let ct = resp
        .headers
        .get("content-type")
        .and_then(|v| v.to_str().ok());
    assert!(
        ct.is_some_and(|ct| ct.starts_with("application/json")),
        "{ct:?}"
    );
    resp.json()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_document_is_openapi_3_and_names_every_route() {
    let t = TestApp::start().await;
    let doc = document(&t).await;
    let version = doc["openapi"].as_str().expect("an \"openapi\" field");
    assert!(version.starts_with("3."), "OpenAPI 3, not {version}");
    assert!(doc["info"]["title"].is_string());

    let have = documented(&doc);
    let missing: Vec<String> = REQUIRED
        .iter()
        .filter(|(m, p)| !have.contains(&(m.to_string(), normalize(p))))
        .map(|(m, p)| format!("{} {p}", m.to_uppercase()))
        .collect();
    assert!(
        missing.is_empty(),
        "routes missing from /openapi.json: {missing:?}"
    );

    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in METHODS {
            if let Some(op) = item.get(*method) {
                let responses = op["responses"].as_object();
                assert!(
                    responses.is_some_and(|r| !r.is_empty()),
                    "{method} {path} documents no response"
                );
            }
        }
    }
    t.finish().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn every_documented_route_is_served() {
    let t = TestApp::start().await;
    let doc = document(&t).await;
    let mut unserved = Vec::new();
    for (method, path) in documented(&doc) {
        let concrete = path.replace("{id}", &unknown_id());
        let resp = t.send(req(&method.to_uppercase(), &concrete)).await;
        // With no token and no body a served route answers 200, 401 or 415; an unrouted
        // one 404 or 405.
        if matches!(
            resp.status,
            StatusCode::NOT_FOUND | StatusCode::METHOD_NOT_ALLOWED
        ) {
            unserved.push(format!("{method} {path}: {}", resp.status));
        }
    }
    assert!(
        unserved.is_empty(),
        "documented but not served: {unserved:?}"
    );

    // And the check is not vacuous: a route that does not exist is told apart.
    let resp = t.send(req("GET", "/no-such-route")).await;
    assert_eq!(resp.status, StatusCode::NOT_FOUND);
    t.finish().await;
}

#[test]
fn normalizing_parameter_names() {
    assert_eq!(
        normalize("/channels/{chanId}/things/{thing_id}"),
        "/channels/{id}/things/{id}"
    );
    assert_eq!(normalize("/users/profile"), "/users/profile");
}
