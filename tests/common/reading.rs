//! Reader-API helpers: publishing any payload over HTTP, waiting (boundedly) for the
//! asynchronous telemetry writer, reading `GET /channels/{id}/messages`, and restarting an
//! app on the same data dir.

use std::future::Future;
use std::sync::atomic::Ordering;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::http::StatusCode;
use ferroflux::{App, Config};
use serde_json::Value;
use tempfile::TempDir;

use super::{Req, Resp, TestApp, req};

/// The longest a test waits for the writer: a bound, not a delay.
pub const WRITER_WAIT: Duration = Duration::from_secs(5);
/// How often a bounded wait looks again.
pub const POLL_EVERY: Duration = Duration::from_millis(10);

/// Polls `probe` every `every` until it returns `Ok`, for at most `timeout` (never a fixed
/// sleep); `Err` with the last probe's description when it never does.
pub async fn check_for<T>(
    timeout: Duration,
    every: Duration,
    mut probe: impl AsyncFnMut() -> Result<T, String>,
) -> Result<T, String> {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        match probe().await {
            Ok(found) => return Ok(found),
            Err(last) if tokio::time::Instant::now() >= deadline => {
                return Err(format!("not within {timeout:?}: {last}"));
            }
            Err(_) => tokio::time::sleep(every).await,
        }
    }
}

/// `POST path` with `Authorization: Thing <key>`, `content_type` (or none) and `body`.
pub fn send_as(path: &str, key: &str, content_type: Option<&str>, body: impl Into<Vec<u8>>) -> Req {
    req("POST", path)
        .auth(&format!("Thing {key}"))
        .raw(content_type, body)
}

/// A SenML JSON pack published by `key` to `path`.
pub fn senml_json(path: &str, key: &str, pack: &Value) -> Req {
    send_as(path, key, Some("application/senml+json"), pack.to_string())
}

/// Seconds since the Unix epoch, as the store's `time`.
pub fn now_secs() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs_f64()
}

/// `GET /channels/{channel}/messages?{query}` with `Authorization: {auth}` (none when `None`).
pub fn read_req(channel: &str, query: &str, auth: Option<&str>) -> Req {
    let path = match query {
        "" => format!("/channels/{channel}/messages"),
        query => format!("/channels/{channel}/messages?{query}"),
    };
    let request = req("GET", path);
    match auth {
        Some(auth) => request.auth(auth),
        None => request,
    }
}

impl TestApp {
    /// Publishes, expecting 202.
    pub async fn publish_ok(&self, request: Req) {
        let context = request.describe();
        self.send(request)
            .await
            .expect(StatusCode::ACCEPTED, &format!("publish {context}"));
    }

    /// Waits until the writer has taken every message the bus accepted and saved at least
    /// `records` records in all. (`WriterStats::messages` counts a batch before saving it,
    /// so `records`, counted after the commit, is what says "readable now".)
    pub async fn written(&self, records: u64) {
        let stats = &self.app.writer_stats;
        let bus = self.app.pipeline.bus().clone();
        let outcome = check_for(WRITER_WAIT, POLL_EVERY, async || {
            let published = bus.stats().published;
            let messages = stats.messages.load(Ordering::Relaxed);
            let saved = stats.records.load(Ordering::Relaxed);
            if messages >= published && saved >= records {
                Ok(())
            } else {
                Err(format!(
                    "writer took {messages} of {published} messages, saved {saved} of \
                     {records} records (lagged {}, failed batches {}, invalid SenML {})",
                    stats.lagged.load(Ordering::Relaxed),
                    stats.failed_batches.load(Ordering::Relaxed),
                    stats.invalid_senml.load(Ordering::Relaxed),
                ))
            }
        })
        .await;
        if let Err(e) = outcome {
            panic!("telemetry writer: {e}");
        }
    }

    /// Reads `channel` with `query` as `auth` (an `Authorization` value), expecting 200;
    /// the `{"total","offset","limit","messages"}` page.
    pub async fn read(&self, channel: &str, query: &str, auth: &str) -> Value {
        let request = read_req(channel, query, Some(auth));
        let context = request.describe();
        self.send(request)
            .await
            .expect(StatusCode::OK, &format!("read {context}"))
            .json()
    }

    /// Reads `channel` as its owner's token until the page's `total` is `total`, within
    /// `WRITER_WAIT`; that page.
    pub async fn read_until(&self, channel: &str, query: &str, token: &str, total: u64) -> Value {
        let auth = format!("Bearer {token}");
        let outcome = check_for(WRITER_WAIT, POLL_EVERY, async || {
            let page = self.read(channel, query, &auth).await;
            match page["total"].as_u64() {
                Some(n) if n == total => Ok(page),
                _ => Err(format!("expected total {total}, last page {page}")),
            }
        })
        .await;
        outcome.unwrap_or_else(|e| panic!("reading {channel}?{query}: {e}"))
    }

    /// Sends a read, whatever it answers.
    pub async fn try_read(&self, channel: &str, query: &str, auth: Option<&str>) -> Resp {
        self.send(read_req(channel, query, auth)).await
    }

    /// Ends this app as a process exit would and keeps what a restart needs: the data dir,
    /// the configuration and the secrets seen so far. Call it on an app started inside
    /// `in_own_runtime`, whose runtime shutdown then ends the app's background tasks (the
    /// writer, the projections), which hold the stores open until they end.
    pub fn close(self) -> Closed {
        let TestApp {
            app,
            router,
            config,
            secrets,
            _dir,
        } = self;
        drop(router);
        drop(app);
        Closed {
            config,
            secrets: secrets.into_inner().expect("secrets lock"),
            dir: _dir,
        }
    }

    /// Opens a new app on a closed one's data dir and configuration.
    pub async fn reopen(closed: Closed) -> TestApp {
        let app = App::open(&closed.config)
            .await
            .expect("app reopens on the same data dir");
        let router = app.router();
        TestApp {
            app,
            router,
            config: closed.config,
            secrets: std::sync::Mutex::new(closed.secrets),
            _dir: closed.dir,
        }
    }
}

/// An app's data dir (still alive), configuration and the secrets its test saw.
pub struct Closed {
    pub config: Config,
    secrets: Vec<String>,
    dir: TempDir,
}

/// Runs `make()` to completion on a multi-threaded runtime of its own (on its own thread),
/// then shuts that runtime down, ending every task it spawned: what a process exit does to
/// an app.
pub async fn in_own_runtime<T, F>(make: impl FnOnce() -> F + Send + 'static) -> T
where
    T: Send + 'static,
    F: Future<Output = T>,
{
    own_runtime(false, make).await
}

/// As `in_own_runtime`, on a current-thread runtime: a spawned task runs only when `make`'s
/// future waits, which makes "before a background task has started" reproducible.
pub async fn on_current_thread<T, F>(make: impl FnOnce() -> F + Send + 'static) -> T
where
    T: Send + 'static,
    F: Future<Output = T>,
{
    own_runtime(true, make).await
}

async fn own_runtime<T, F>(current_thread: bool, make: impl FnOnce() -> F + Send + 'static) -> T
where
    T: Send + 'static,
    F: Future<Output = T>,
{
    tokio::task::spawn_blocking(move || {
        let mut builder = match current_thread {
            true => tokio::runtime::Builder::new_current_thread(),
            false => {
                let mut builder = tokio::runtime::Builder::new_multi_thread();
                builder.worker_threads(2);
                builder
            }
        };
        let runtime = builder.enable_all().build().expect("a runtime");
        let out = runtime.block_on(make());
        runtime.shutdown_timeout(Duration::from_secs(5));
        out
    })
    .await
    .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()))
}

/// The `messages` of a page.
pub fn messages(page: &Value) -> Vec<Value> {
    page["messages"].as_array().expect("messages array").clone()
}

/// A message's `time`.
pub fn time_of(message: &Value) -> f64 {
    message["time"].as_f64().expect("numeric time")
}
