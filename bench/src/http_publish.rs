//! HTTP publish: ferroflux's adapter (key check, authz, bus, writer) against a bare axum
//! handler that only answers 202, each a separate process so its CPU time is its own
//! (utime + stime from /proc). Loss is checked by reading the stored messages back.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, ensure};
use serde_json::{Value, json};

use crate::http_load::{Kind, Target, load};
use crate::server::{Server, sibling};
use crate::store_probe::Store;

pub struct Run {
    pub requests_per_second: f64,
    pub per_cpu_second: f64,
    /// How long the reader took to answer a first page with the total of everything stored:
    /// without filters (the stored count), then with a time filter (a walk of the records).
    pub read_back: Option<(Duration, Duration)>,
}

impl Run {
    fn of(requests: u64, seconds: f64, cpu_seconds: f64) -> Self {
        Self {
            requests_per_second: requests as f64 / seconds,
            per_cpu_second: requests as f64 / cpu_seconds.max(0.01),
            read_back: None,
        }
    }
}

/// Serves the bare peer: POST /channels/{id}/messages → 202, nothing else.
pub async fn serve_bare() -> anyhow::Result<()> {
    let app = axum::Router::new().route(
        "/channels/{id}/messages",
        axum::routing::post(|_body: axum::body::Bytes| async { axum::http::StatusCode::ACCEPTED }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    eprintln!("bare axum listening on http://{}", listener.local_addr()?);
    axum::serve(listener, app).await?;
    Ok(())
}

pub async fn bare(requests: u64, concurrency: usize) -> anyhow::Result<Run> {
    let exe = std::env::current_exe()?;
    let server = Server::spawn(&exe, &["--serve-bare"], &[], &["listening on http://"])?;
    let target = Target {
        addr: server.addrs[0].clone(),
        path: "/channels/00000000-0000-0000-0000-000000000000/messages".into(),
        authorization: "Thing k".into(),
        kind: Kind::Publish,
    };
    measure(&server, &target, requests, concurrency, None).await
}

/// What ferroflux prints once its REST API listens.
pub const HTTP: &str = "listening on http://";

/// Ferroflux publishing over HTTP: messaging only (`FF_NO_STORE`, as Mainflux's HTTP
/// adapter, whose writers are other services), or storing every message in the same
/// process, read back until all are there (its CPU counted until then).
pub async fn ferroflux(requests: u64, concurrency: usize, store: bool) -> anyhow::Result<Run> {
    let dir = tempfile::tempdir()?;
    let no_store = ("FF_NO_STORE", (!store).to_string());
    let (server, target, stored) = publishing(dir.path(), no_store).await?;
    let store = store.then_some(stored);
    let mut run = measure(&server, &target, requests, concurrency, store.as_ref()).await?;
    if let Some(store) = &store {
        let accepted = requests + requests / 10;
        let started = Instant::now();
        let counted = store.readable().await?;
        let middle = Instant::now();
        let walked = store.readable_walked().await?;
        run.read_back = Some((middle - started, middle.elapsed()));
        ensure!(
            counted == accepted && walked == accepted,
            "the reader serves {counted} (counted) and {walked} (walked) of {accepted}"
        );
    }
    Ok(run)
}

/// A ferroflux server on ephemeral ports, data in `data_dir`, with one more setting; where
/// to publish on it, and how to ask what it stored.
pub async fn publishing(
    data_dir: &Path,
    setting: (&str, String),
) -> anyhow::Result<(Server, Target, Store)> {
    let env = [
        ("FF_DATA_DIR", data_dir.display().to_string()),
        ("FF_HTTP_ADDR", "127.0.0.1:0".into()),
        ("FF_MQTT_ADDR", "127.0.0.1:0".into()),
        ("FF_COAP_ADDR", "127.0.0.1:0".into()),
        setting,
    ];
    let server = Server::spawn(&sibling("ferroflux")?, &["serve"], &env, &[HTTP])?;
    let base = format!("http://{}", server.addrs[0]);
    let p = provision(&base).await?;
    let target = Target {
        addr: server.addrs[0].clone(),
        path: format!("/channels/{}/messages", p.channel),
        authorization: format!("Thing {}", p.key),
        kind: Kind::Publish,
    };
    let store = Store {
        base,
        channel: p.channel,
        token: p.token,
    };
    Ok((server, target, store))
}

/// A warm-up (a tenth of `requests`, not counted), then the measured run. With a store, CPU
/// is read once the warm-up is saved, and again once the run is: storing is counted whole.
async fn measure(
    server: &Server,
    target: &Target,
    requests: u64,
    concurrency: usize,
    store: Option<&Store>,
) -> anyhow::Result<Run> {
    let warm_up = requests / 10;
    load(target, warm_up, concurrency).await?;
    if let Some(store) = store {
        all_saved(store, warm_up).await?;
    }
    let cpu = server.cpu_seconds()?;
    let seconds = load(target, requests, concurrency).await?;
    if let Some(store) = store {
        all_saved(store, warm_up + requests).await?;
    }
    Ok(Run::of(requests, seconds, server.cpu_seconds()? - cpu))
}

/// One user's thing connected to one channel: enough to publish and subscribe.
pub struct Provisioned {
    pub thing: String,
    pub channel: String,
    pub key: String,
    pub token: String,
}

/// Creates a user, a thing and a channel through the REST API and connects them.
pub async fn provision(base: &str) -> anyhow::Result<Provisioned> {
    let http = reqwest::Client::new();
    let credentials = json!({"email": "bench@example.com", "password": "bench-password"});
    http.post(format!("{base}/users"))
        .json(&credentials)
        .send()
        .await?
        .error_for_status()?;
    let token: Value = http
        .post(format!("{base}/tokens"))
        .json(&credentials)
        .send()
        .await?
        .json()
        .await?;
    let token = token["token"].as_str().context("token")?.to_owned();
    let created = |path: &'static str, body: Value| {
        let (http, token) = (http.clone(), token.clone());
        async move {
            let response = http
                .post(format!("{base}{path}"))
                .bearer_auth(&token)
                .json(&body)
                .send()
                .await?
                .error_for_status()?;
            let location = response
                .headers()
                .get("location")
                .context("location")?
                .to_str()?;
            anyhow::Ok(location.rsplit('/').next().unwrap_or_default().to_owned())
        }
    };
    let thing = created("/things", json!({"key": "bench-device-key"})).await?;
    let channel = created("/channels", json!({})).await?;
    http.put(format!("{base}/channels/{channel}/things/{thing}"))
        .bearer_auth(&token)
        .send()
        .await?
        .error_for_status()?;
    Ok(Provisioned {
        thing,
        channel,
        key: "bench-device-key".into(),
        token,
    })
}

/// Waits until `expected` messages are saved: none lost, nothing left to count.
pub async fn all_saved(store: &Store, expected: u64) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let saved = store.saved().await?;
        if saved == expected {
            return Ok(());
        }
        ensure!(
            Instant::now() < deadline,
            "saved {saved} of {expected} accepted messages"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
