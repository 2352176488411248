//! The API test harness: a fresh `App` on a tempdir per test, driven through
//! `router().oneshot()` with no network.
//!
//! Every test ends with `TestApp::finish`, which reads the whole event log back, validates
//! each event against the JSON Schemas and checks that no secret the test sent or received
//! (passwords, thing keys) appears in any event.
#![allow(dead_code)]

pub mod data;
pub mod reading;
pub mod smtp;
pub mod tokens;

use std::sync::Mutex;
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, Method, Request, StatusCode};
use commands::auth::{Secrets, Tokens};
use domain::ids::{ChannelId, ThingId, UserId};
use ferroflux::{App, Config};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tempfile::TempDir;
use tower::ServiceExt;
use uuid::Uuid;

/// The password every test user registers with (long enough, and never in an event).
pub const PASSWORD: &str = "correct-horse-battery";

pub struct TestApp {
    pub app: App,
    pub router: Router,
    pub config: Config,
    secrets: Mutex<Vec<String>>,
    _dir: TempDir,
}

/// A registered, logged-in user.
#[derive(Debug, Clone)]
pub struct User {
    pub id: String,
    pub email: String,
    pub token: String,
}

/// One request, built fluently: `req("GET", "/things").token(&t)`.
pub struct Req {
    method: Method,
    path: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

pub fn req(method: &str, path: impl Into<String>) -> Req {
    Req {
        method: Method::from_bytes(method.as_bytes()).expect("HTTP method"),
        path: path.into(),
        headers: Vec::new(),
        body: Vec::new(),
    }
}

impl Req {
    /// `Authorization: Bearer <token>`.
    pub fn token(self, token: &str) -> Self {
        self.header("authorization", &format!("Bearer {token}"))
    }

    /// `Authorization: <value>` exactly as given (raw JWT, other schemes).
    pub fn auth(self, value: &str) -> Self {
        self.header("authorization", value)
    }

    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    /// A JSON body with `Content-Type: application/json`.
    pub fn json(self, body: Value) -> Self {
        self.raw(Some("application/json"), body.to_string())
    }

    /// Any body with any (or no) content type.
    pub fn raw(mut self, content_type: Option<&str>, body: impl Into<Vec<u8>>) -> Self {
        if let Some(ct) = content_type {
            self.headers.push(("content-type".into(), ct.into()));
        }
        self.body = body.into();
        self
    }

    pub fn describe(&self) -> String {
        format!("{} {}", self.method, self.path)
    }
}

#[derive(Debug)]
pub struct Resp {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Resp {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "body is not JSON ({e}): {:?}",
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    pub fn location(&self) -> String {
        self.headers
            .get("location")
            .and_then(|v| v.to_str().ok())
            .expect("a Location header")
            .to_owned()
    }

    /// `Err` describing the mismatch when the status differs, or when an error status
    /// comes without a `{"error": "..."}` JSON body.
    pub fn check(&self, expected: StatusCode) -> Result<(), String> {
        let body = String::from_utf8_lossy(&self.body);
        if self.status != expected {
            return Err(format!("got {} (body {body:?})", self.status));
        }
        if expected.is_client_error() || expected.is_server_error() {
            let parsed: Option<Value> = serde_json::from_slice(&self.body).ok();
            let error = parsed.as_ref().and_then(|v| v.get("error"));
            let is_only_error = parsed
                .as_ref()
                .and_then(Value::as_object)
                .is_some_and(|o| o.len() == 1);
            if !error.is_some_and(Value::is_string) || !is_only_error {
                return Err(format!(
                    "error body is not {{\"error\": \"...\"}}: {body:?}"
                ));
            }
        }
        Ok(())
    }

    /// Panics with `context` unless the status (and error body shape) is as expected.
    pub fn expect(self, expected: StatusCode, context: &str) -> Self {
        if let Err(e) = self.check(expected) {
            panic!("{context}: expected {expected}, {e}");
        }
        self
    }
}

/// Collects table-case mismatches so one run reports every failing case at once.
#[derive(Default)]
pub struct Failures(Vec<String>);

impl Failures {
    pub fn check(&mut self, case: &str, resp: &Resp, expected: StatusCode) {
        if let Err(e) = resp.check(expected) {
            self.0.push(format!("{case}: expected {expected}, {e}"));
        }
    }

    pub fn push(&mut self, failure: String) {
        self.0.push(failure);
    }

    pub fn assert_none(self) {
        assert!(
            self.0.is_empty(),
            "{} failing case(s):\n{}",
            self.0.len(),
            self.0.join("\n")
        );
    }
}

impl TestApp {
    pub async fn start() -> TestApp {
        Self::start_with(|_| {}).await
    }

    /// Starts with a configuration tweak (e.g. closed registration).
    pub async fn start_with(tweak: impl FnOnce(&mut Config)) -> TestApp {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut config = Config {
            data_dir: dir.path().to_path_buf(),
            jwt_secret: None,
            master_key: None,
            ..Config::default()
        };
        tweak(&mut config);
        let app = App::open(&config).await.expect("app opens");
        let router = app.router();
        TestApp {
            app,
            router,
            config,
            secrets: Mutex::new(Vec::new()),
            _dir: dir,
        }
    }

    /// Sends one request; every password and key in the request or the answer is remembered
    /// as a secret that no event may contain.
    pub async fn send(&self, req: Req) -> Resp {
        if let Ok(body) = serde_json::from_slice::<Value>(&req.body) {
            self.remember_secrets_in(&body);
        }
        let mut builder = Request::builder().method(req.method).uri(req.path);
        for (name, value) in &req.headers {
            builder = builder.header(name, value);
        }
        let request = builder.body(Body::from(req.body)).expect("request");
        let response = self
            .router
            .clone()
            .oneshot(request)
            .await
            .expect("infallible");
        let (parts, body) = response.into_parts();
        let body = body.collect().await.expect("body").to_bytes();
        if let Ok(body) = serde_json::from_slice::<Value>(&body) {
            self.remember_secrets_in(&body);
        }
        Resp {
            status: parts.status,
            headers: parts.headers,
            body,
        }
    }

    pub fn remember_secret(&self, secret: &str) {
        // Short strings could turn up in hashes or base64 by chance; tests use long secrets.
        if secret.len() >= 8 {
            self.secrets.lock().unwrap().push(secret.to_owned());
        }
    }

    fn remember_secrets_in(&self, value: &Value) {
        match value {
            Value::Object(map) => {
                for (k, v) in map {
                    match (k.as_str(), v) {
                        (
                            "password" | "old_password" | "key" | "external_key" | "client_key",
                            Value::String(s),
                        ) => self.remember_secret(s),
                        _ => self.remember_secrets_in(v),
                    }
                }
            }
            Value::Array(items) => items.iter().for_each(|v| self.remember_secrets_in(v)),
            _ => {}
        }
    }

    /// Registers `email` with `PASSWORD` and logs in.
    pub async fn user(&self, email: &str) -> User {
        let resp = self
            .send(req("POST", "/users").json(json!({"email": email, "password": PASSWORD})))
            .await
            .expect(StatusCode::CREATED, "register");
        let id = id_in(&resp.location(), "/users/");
        let token = self.login(email, PASSWORD).await;
        User {
            id,
            email: email.to_owned(),
            token,
        }
    }

    pub async fn login(&self, email: &str, password: &str) -> String {
        let resp = self
            .send(req("POST", "/tokens").json(json!({"email": email, "password": password})))
            .await
            .expect(StatusCode::CREATED, "login");
        resp.json()["token"]
            .as_str()
            .expect("token string")
            .to_owned()
    }

    /// Creates a thing from `body`; returns its id.
    pub async fn thing(&self, token: &str, body: Value) -> String {
        let resp = self
            .send(req("POST", "/things").token(token).json(body))
            .await
            .expect(StatusCode::CREATED, "create thing");
        id_in(&resp.location(), "/things/")
    }

    /// Creates a channel from `body`; returns its id.
    pub async fn channel(&self, token: &str, body: Value) -> String {
        let resp = self
            .send(req("POST", "/channels").token(token).json(body))
            .await
            .expect(StatusCode::CREATED, "create channel");
        id_in(&resp.location(), "/channels/")
    }

    /// Connects through `PUT /channels/{c}/things/{t}`, expecting 200.
    pub async fn connect(&self, token: &str, channel: &str, thing: &str) {
        self.send(req("PUT", format!("/channels/{channel}/things/{thing}")).token(token))
            .await
            .expect(StatusCode::OK, "connect");
    }

    /// GET expecting 200; the JSON body.
    pub async fn get(&self, token: &str, path: &str) -> Value {
        self.send(req("GET", path).token(token))
            .await
            .expect(StatusCode::OK, &format!("GET {path}"))
            .json()
    }

    /// The key `GET /things/{id}` shows.
    pub async fn key_of(&self, token: &str, thing: &str) -> String {
        let thing = self.get(token, &format!("/things/{thing}")).await;
        thing["key"].as_str().expect("key").to_owned()
    }

    /// The `kind` events of the log once there are at least `n`: for records appended after
    /// the answer (`thing.bootstrap`). Fails after 10 s.
    pub async fn events_of(&self, kind: &str, n: usize) -> Vec<domain::envelope::RecordedEvent> {
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        loop {
            let events: Vec<_> = self
                .app
                .log
                .read_after(0, 100_000)
                .await
                .expect("read log")
                .into_iter()
                .filter(|e| e.kind == kind)
                .collect();
            if events.len() >= n {
                return events;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "{} {kind} events, not {n}",
                events.len()
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Position of the last event in the log.
    pub async fn head(&self) -> u64 {
        self.app.log.head().await.expect("head")
    }

    /// The thing a plaintext key authenticates as, per the authz cache.
    pub fn identify(&self, key: &str) -> Option<String> {
        let service = &self.app.service;
        let hash = service.vault().hash(key);
        service.authz().identify(&hash).map(|t| t.0.to_string())
    }

    pub fn can_access(&self, thing: &str, channel: &str) -> bool {
        let thing = ThingId(Uuid::parse_str(thing).expect("thing id"));
        let channel = ChannelId(Uuid::parse_str(channel).expect("channel id"));
        self.app.service.authz().can_access(thing, channel)
    }

    /// A token this server would accept, for any user id (even an unknown one).
    pub fn token_for(&self, user: &str) -> String {
        let secrets = Secrets::load(&self.config.secrets_dir(), None, None).expect("secrets");
        let user = UserId(Uuid::parse_str(user).expect("user id"));
        Tokens::new(&secrets.jwt_secret, Duration::from_secs(3600)).issue(user)
    }

    /// Reads every event back: each must validate against the JSON Schemas and none may
    /// contain a secret this test sent or received.
    pub async fn finish(&self) {
        // Device fetches are recorded right after their answer: wait for them first.
        self.app.service.flush_bootstrap_records().await;
        let events = self.app.log.read_after(0, 100_000).await.expect("read log");
        assert_eq!(events.len() as u64, self.head().await, "read the whole log");
        let secrets = self.secrets.lock().unwrap().clone();
        assert!(
            secrets.iter().any(|s| s == PASSWORD) || events.is_empty(),
            "the harness saw the test's passwords"
        );
        for event in &events {
            let value = serde_json::to_value(event).expect("event serializes");
            if let Err(e) = schemas::validate_event(&value) {
                panic!("event {} fails its schema: {e}\n{value:#}", event.position);
            }
            let text = value.to_string();
            for secret in &secrets {
                assert!(
                    !text.contains(secret.as_str()),
                    "event {} ({}) contains the plaintext secret {secret:?}",
                    event.position,
                    event.kind
                );
            }
        }
    }
}

/// The id at the end of a `Location` such as `/things/<uuid>`; asserts its shape.
pub fn id_in(location: &str, prefix: &str) -> String {
    let id = location
        .strip_prefix(prefix)
        .unwrap_or_else(|| panic!("Location {location:?} does not start with {prefix}"));
    Uuid::parse_str(id).unwrap_or_else(|_| panic!("Location {location:?} does not end in a UUID"));
    id.to_owned()
}

/// A random UUID that names nothing.
pub fn unknown_id() -> String {
    Uuid::new_v4().to_string()
}

/// A fresh thing key, long enough to be checked against the log.
pub fn fresh_key() -> String {
    format!("key-{}", Uuid::new_v4())
}

/// The `id` of every item in a page's list `field` (`things`, `channels`), in page order.
pub fn ids(page: &Value, field: &str) -> Vec<String> {
    page[field]
        .as_array()
        .unwrap_or_else(|| panic!("no {field} in {page}"))
        .iter()
        .map(|item| item["id"].as_str().unwrap().to_owned())
        .collect()
}
