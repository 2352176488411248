//! Several `ferroflux serve` processes on one JetStream log and one NATS message bus:
//! settings, requests, waiting.
#![allow(dead_code)]

use std::time::{Duration, Instant};

use rumqttc::MqttOptions;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::process::Server;

/// How long a change made through one node may take to be usable through another. The
/// measured delay is a few milliseconds; this only bounds a loaded CI machine.
pub const PROPAGATION: Duration = Duration::from_secs(10);

/// One cluster's settings: a fresh JetStream prefix and bus prefix, shared secrets.
pub struct Cluster {
    pub env: Vec<(String, String)>,
    pub dirs: tempfile::TempDir,
}

impl Cluster {
    pub fn new() -> Self {
        let hex = |n: usize| {
            (0..n)
                .map(|_| format!("{:02x}", rand_byte()))
                .collect::<String>()
        };
        let env = vec![
            ("FF_EVENT_LOG".into(), commands::test_services::nats_url()),
            (
                "FF_EVENT_LOG_PREFIX".into(),
                format!("c{}", Uuid::new_v4().simple()),
            ),
            ("FF_BUS".into(), commands::test_services::nats_url()),
            (
                "FF_BUS_PREFIX".into(),
                format!("b{}", Uuid::new_v4().simple()),
            ),
            ("FF_JWT_SECRET".into(), hex(32)),
            ("FF_MASTER_KEY".into(), hex(32)),
        ];
        Self {
            env,
            dirs: tempfile::tempdir().expect("tempdir"),
        }
    }

    pub fn start(&self, node: &str) -> Server {
        let env: Vec<(&str, &str)> = self
            .env
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let mut with_instance = env.clone();
        with_instance.push(("FF_INSTANCE", node));
        Server::start_with(&self.dirs.path().join(node), &with_instance)
    }
}

pub fn rand_byte() -> u8 {
    Uuid::new_v4().as_bytes()[0]
}

/// `(status, JSON body or Null, Location)` of one request.
pub async fn call(
    method: &str,
    url: String,
    auth: Option<&str>,
    body: Option<Value>,
) -> (u16, Value, String) {
    let http = reqwest::Client::new();
    let mut request = http.request(method.parse().expect("method"), url);
    if let Some(auth) = auth {
        request = request.header("authorization", auth);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.expect("request");
    let status = response.status().as_u16();
    let location = response
        .headers()
        .get("location")
        .map(|v| v.to_str().unwrap().rsplit('/').next().unwrap().to_owned())
        .unwrap_or_default();
    let body = response.json().await.unwrap_or(Value::Null);
    (status, body, location)
}

/// Retries `probe` until it answers `Some`; panics after `PROPAGATION`.
pub async fn eventually<T, F, Fut>(what: &str, mut probe: F) -> (T, Duration)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let start = Instant::now();
    loop {
        if let Some(done) = probe().await {
            return (done, start.elapsed());
        }
        assert!(
            start.elapsed() < PROPAGATION,
            "{what}: not after {PROPAGATION:?}"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Retries `probe` until it answers `want`; returns how long that took.
pub async fn until<F, Fut>(what: &str, want: u16, mut probe: F) -> Duration
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = u16>,
{
    let probe = || {
        let status = probe();
        async move { (status.await == want).then_some(()) }
    };
    eventually(what, probe).await.1
}

pub async fn publish(base: &str, channel: &str, key: &str) -> u16 {
    let url = format!("{base}/channels/{channel}/messages");
    let auth = format!("Thing {key}");
    call("POST", url, Some(&auth), Some(json!([{"n": "t", "v": 1}])))
        .await
        .0
}

/// Registers a user through `base` and logs in through `login_base`; returns the token.
pub async fn user(base: &str, login_base: &str) -> String {
    let credentials =
        json!({"email": format!("{}@example.com", Uuid::new_v4()), "password": "correct-horse"});
    let (status, _, _) = call(
        "POST",
        format!("{base}/users"),
        None,
        Some(credentials.clone()),
    )
    .await;
    assert_eq!(status, 201);
    let login = || {
        let credentials = credentials.clone();
        async move {
            let url = format!("{login_base}/tokens");
            let (_, body, _) = call("POST", url, None, Some(credentials)).await;
            body["token"].as_str().map(str::to_owned)
        }
    };
    eventually("login through the other node", login).await.0
}

pub fn mqtt_options(server: &Server, client_id: &str, thing: &str, key: &str) -> MqttOptions {
    let (host, port) = server.mqtt.rsplit_once(':').expect("host:port");
    let mut options = MqttOptions::new(client_id, host, port.parse().expect("port"));
    options.set_credentials(thing, key);
    options
}
