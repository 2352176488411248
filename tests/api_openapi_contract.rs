//! What `/openapi.json` promises, checked against what the server does: security schemes
//! and which operations take which, the bounds the server enforces, and `Location` on
//! every 201 that sends one.

mod common;

use axum::http::StatusCode;
use common::{TestApp, req};
use domain::values::{MAX_KEY_CHARS, MAX_NAME_CHARS, MIN_PASSWORD_CHARS};
use serde_json::{Value, json};

async fn document(t: &TestApp) -> Value {
    t.send(req("GET", "/openapi.json"))
        .await
        .expect(StatusCode::OK, "GET /openapi.json")
        .json()
}

fn operation<'a>(doc: &'a Value, method: &str, path: &str) -> &'a Value {
    let op = &doc["paths"][path][method];
    assert!(op.is_object(), "{method} {path} is not documented");
    op
}

/// The scheme names an operation accepts (any one of them), or none when it is public.
fn schemes(op: &Value) -> Vec<String> {
    let requirements = op["security"].as_array().cloned().unwrap_or_default();
    requirements
        .iter()
        .flat_map(|r| r.as_object().unwrap().keys().cloned())
        .collect()
}

fn param<'a>(op: &'a Value, name: &str) -> &'a Value {
    op["parameters"]
        .as_array()
        .and_then(|ps| ps.iter().find(|p| p["name"] == name))
        .unwrap_or_else(|| panic!("no parameter {name} in {op}"))
}

fn schema<'a>(doc: &'a Value, name: &str) -> &'a Value {
    &doc["components"]["schemas"][name]
}

#[tokio::test(flavor = "multi_thread")]
async fn security_schemes_are_declared_and_applied_per_operation() {
    let t = TestApp::start().await;
    let doc = document(&t).await;
    let declared = &doc["components"]["securitySchemes"];
    assert_eq!(declared["user_token"]["type"], "http");
    assert_eq!(declared["user_token"]["scheme"], "bearer");
    assert_eq!(declared["user_token"]["bearerFormat"], "JWT");
    assert_eq!(declared["thing_key"]["type"], "apiKey");
    assert_eq!(declared["thing_key"]["in"], "header");
    assert_eq!(declared["thing_key"]["name"], "Authorization");
    assert_eq!(declared["admin_token"]["scheme"], "bearer");
    assert_eq!(declared["external_key"]["type"], "apiKey");
    assert_eq!(declared["external_key"]["name"], "Authorization");

    let public = [
        ("get", "/health"),
        ("get", "/ready"),
        ("get", "/version"),
        ("get", "/metrics"),
        ("post", "/users"),
        ("post", "/tokens"),
        // The secret travels in the body: the mailed token, the thing key.
        ("post", "/password/reset-request"),
        ("put", "/password/reset"),
        // A CRL is public by nature: serials and times, signed.
        ("get", "/certs/crl"),
    ];
    let expected = |method: &str, path: &str| -> Vec<&str> {
        match (method, path) {
            _ if public.contains(&(method, path)) || path.starts_with("/identify") => vec![],
            (_, "/events" | "/events/mqtt") => vec!["admin_token"],
            // A device fetches its bootstrap config with its external key.
            (_, p) if p.starts_with("/things/bootstrap/") => vec!["external_key"],
            ("get", "/channels/{id}/messages") => vec!["thing_key", "user_token"],
            ("post", p) if p.contains("/messages") => vec!["thing_key"],
            _ => vec!["user_token"],
        }
    };
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let have = schemes(op);
            assert_eq!(have, expected(method, path), "{method} {path}");
            for name in &have {
                assert!(
                    declared[name].is_object(),
                    "{method} {path}: {name} undeclared"
                );
            }
        }
    }
    t.finish().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn bounds_are_the_ones_the_server_enforces() {
    let t = TestApp::start().await;
    let doc = document(&t).await;
    for path in ["/things", "/channels"] {
        let list = operation(&doc, "get", path);
        let limit = &param(list, "limit")["schema"];
        assert_eq!(
            (&limit["minimum"], &limit["maximum"]),
            (&json!(1), &json!(100))
        );
        let offset = &param(list, "offset")["schema"];
        assert_eq!(
            (&offset["minimum"], &offset["format"]),
            (&json!(0), &json!("uint64"))
        );
        assert_eq!(param(list, "name")["schema"]["maxLength"], MAX_NAME_CHARS);
        let metadata = &param(list, "metadata")["content"]["application/json"]["schema"];
        assert_eq!(metadata["type"], "object");

        let bulk = &operation(&doc, "post", &format!("{path}/bulk"))["requestBody"];
        let body = &bulk["content"]["application/json"]["schema"];
        let body = match body.get("$ref").and_then(Value::as_str) {
            Some(r) => schema(&doc, r.rsplit('/').next().unwrap()),
            None => body,
        };
        assert_eq!(
            (&body["minItems"], &body["maxItems"]),
            (&json!(1), &json!(1000))
        );
    }
    let reader = operation(&doc, "get", "/channels/{id}/messages");
    assert_eq!(param(reader, "limit")["schema"]["maximum"], 100);
    assert_eq!(
        param(reader, "publisher")["schema"]["oneOf"][0]["format"],
        "uuid"
    );
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            for p in op["parameters"].as_array().into_iter().flatten() {
                // `/identify/channels/{chan_id}` answers any text (401), as Mainflux's.
                // A bootstrap external id is whatever the device maker burned in.
                // `DELETE /certs/{id}` takes a certificate's serial (hex), not a UUID.
                let free = p["name"] == "subtopic"
                    || p["name"] == "external_id"
                    || path.starts_with("/identify")
                    || (method == "delete" && path == "/certs/{id}");
                if p["in"] == "path" && !free {
                    assert_eq!(
                        p["schema"]["format"], "uuid",
                        "{method} {path} {}",
                        p["name"]
                    );
                }
            }
        }
    }

    let thing = &schema(&doc, "ThingRequest")["properties"];
    assert_eq!(thing["name"]["maxLength"], MAX_NAME_CHARS);
    assert_eq!(thing["key"]["minLength"], 1);
    assert_eq!(thing["key"]["maxLength"], MAX_KEY_CHARS);
    assert_eq!(
        schema(&doc, "KeyRequest")["properties"]["key"]["minLength"],
        1
    );
    // Control characters are refused in names and keys (schemathesis found them undeclared).
    for text in [&thing["name"], &thing["key"]] {
        assert_eq!(text["pattern"], r"^[^\x00-\x1f\x7f-\x9f]*$");
    }
    // A publish takes any bytes, or none (schemathesis found a declared body schema and
    // "required" the server never enforced), and the reader's `publisher=` may be empty.
    let publish = &operation(&doc, "post", "/channels/{id}/messages")["requestBody"];
    assert_eq!(publish["required"], false);
    let publisher = &param(reader, "publisher")["schema"]["oneOf"][1];
    assert_eq!(publisher["maxLength"], 0);
    let register = &schema(&doc, "RegisterRequest")["properties"];
    assert_eq!(register["email"]["format"], "email");
    assert_eq!(register["password"]["minLength"], MIN_PASSWORD_CHARS);
    let change = &schema(&doc, "PasswordRequest")["properties"];
    assert_eq!(change["password"]["minLength"], MIN_PASSWORD_CHARS);
    t.finish().await;
}

/// Every 201 that carries `Location` declares it, and every declared one is sent.
#[tokio::test(flavor = "multi_thread")]
async fn every_201_declares_the_location_it_sends() {
    let t = TestApp::start().await;
    let doc = document(&t).await;
    let user = t.user("loc@example.com").await;
    let creates = [
        (
            "/users",
            json!({"email": "new@example.com", "password": common::PASSWORD}),
        ),
        (
            "/tokens",
            json!({"email": "loc@example.com", "password": common::PASSWORD}),
        ),
        ("/things", json!({"name": "t"})),
        ("/things/bulk", json!([{"name": "t"}])),
        ("/channels", json!({"name": "c"})),
        ("/channels/bulk", json!([{"name": "c"}])),
    ];
    for (path, body) in creates {
        let resp = t
            .send(req("POST", path).token(&user.token).json(body))
            .await;
        let resp = resp.expect(StatusCode::CREATED, path);
        let declared = &operation(&doc, "post", path)["responses"]["201"]["headers"]["Location"];
        let sent = resp.headers.contains_key("location");
        assert_eq!(
            declared.is_object(),
            sent,
            "POST {path}: Location sent {sent}"
        );
    }
    t.finish().await;
}

/// An empty bulk request is refused, as `minItems: 1` says.
#[tokio::test(flavor = "multi_thread")]
async fn an_empty_bulk_is_refused() {
    let t = TestApp::start().await;
    let user = t.user("bulk@example.com").await;
    for path in ["/things/bulk", "/channels/bulk"] {
        let resp = t
            .send(req("POST", path).token(&user.token).json(json!([])))
            .await;
        resp.expect(StatusCode::BAD_REQUEST, path);
    }
    t.finish().await;
}

/// A search body's integers are JSON Schema integers: `3.0` is 3 (schemathesis sent
/// `130679.0` and got a 400), while 2^64 and 1.5 are still refused.
#[tokio::test(flavor = "multi_thread")]
async fn search_integers_may_be_written_as_whole_floats() {
    let t = TestApp::start().await;
    let user = t.user("search@example.com").await;
    let search = |body: Value| req("POST", "/things/search").token(&user.token).json(body);
    let resp = t.send(search(json!({"offset": 3.0, "limit": 5.0}))).await;
    let page = resp.expect(StatusCode::OK, "whole floats").json();
    assert_eq!((&page["offset"], &page["limit"]), (&json!(3), &json!(5)));
    for bad in [r#"{"total": 18446744073709551616}"#, r#"{"offset": 1.5}"#] {
        let request = req("POST", "/things/search").token(&user.token);
        let resp = t.send(request.raw(Some("application/json"), bad)).await;
        resp.expect(StatusCode::BAD_REQUEST, bad);
    }
    t.finish().await;
}
