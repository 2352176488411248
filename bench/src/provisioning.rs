//! Ours: durable thing.create through the command layer and through HTTP.

use std::sync::Arc;
use std::time::Instant;

use anyhow::ensure;
use commands::service::{CommandMeta, NewThing, Service};
use domain::ids::UserId;
use ferroflux::{App, Config};
use projections::views::PageQuery;

use crate::http_load::{Kind, Target, load};

pub struct Fixture {
    _dir: tempfile::TempDir,
    pub app: App,
    pub owner: UserId,
}

/// Where the fixture's events go: the embedded fjall log, or JetStream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Log {
    Fjall,
    JetStream,
}

/// An app on `log` in a fresh data dir, with one registered user.
pub async fn fixture(log: Log) -> anyhow::Result<Fixture> {
    let dir = tempfile::tempdir()?;
    let mut config = Config {
        data_dir: dir.path().to_owned(),
        ..Config::default()
    };
    if log == Log::JetStream {
        config.log.event_log = commands::test_services::nats_url();
        config.log.event_log_prefix = format!("bench{}", uuid::Uuid::new_v4().simple());
        config.jwt_secret = Some("bench-jwt-secret".into());
        config.master_key = Some("42".repeat(32));
    }
    let app = App::open(&config).await?;
    let meta = CommandMeta::new(None, None);
    let owner = app
        .service
        .register(
            &meta,
            "bench@example.com".into(),
            "bench-password".into(),
            None,
            true,
        )
        .await?;
    Ok(Fixture {
        _dir: dir,
        app,
        owner,
    })
}

/// Splits `events` over `concurrency` workers; returns events per second.
async fn drive<F, Fut>(events: u64, concurrency: usize, one: F) -> anyhow::Result<f64>
where
    F: Fn() -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = anyhow::Result<()>> + Send,
{
    let started = Instant::now();
    let workers = (0..concurrency as u64).map(|w| {
        let share = events / concurrency as u64 + u64::from(w < events % concurrency as u64);
        let one = one.clone();
        tokio::spawn(async move {
            for _ in 0..share {
                one().await?;
            }
            anyhow::Ok(())
        })
    });
    for worker in futures::future::join_all(workers).await {
        worker??;
    }
    Ok(events as f64 / started.elapsed().as_secs_f64())
}

async fn check(f: &Fixture, events: u64) -> anyhow::Result<()> {
    let head = f.app.log.head().await?;
    // One append per create, also on a shared log: a generated key is claimed by no one.
    let expected = events + 1;
    ensure!(head == expected, "log head {head}, expected {expected}");
    let query = PageQuery {
        limit: 1,
        ..PageQuery::default()
    };
    let total = f.app.service.views().things(f.owner, &query).await?.total;
    ensure!(total == events, "{total} things visible, expected {events}");
    Ok(())
}

pub async fn through_commands(log: Log, events: u64, concurrency: usize) -> anyhow::Result<f64> {
    let f = fixture(log).await?;
    let (service, owner): (Arc<Service>, _) = (f.app.service.clone(), f.owner);
    let rate = drive(events, concurrency, move || {
        let service = service.clone();
        async move {
            let meta = CommandMeta::new(Some(owner), None);
            service
                .create_things(&meta, owner, vec![NewThing::default()])
                .await?;
            Ok(())
        }
    })
    .await?;
    check(&f, events).await?;
    Ok(rate)
}

/// One HTTP run: requests per second, and the CPU each request took in this process
/// (server and load generator together; steadier than the rate on a noisy machine, so
/// small changes show in it first).
pub struct HttpRun {
    pub rate: f64,
    pub cpu_us: f64,
}

pub async fn through_http(log: Log, events: u64, concurrency: usize) -> anyhow::Result<HttpRun> {
    let f = fixture(log).await?;
    let token = f
        .app
        .service
        .login("bench@example.com", "bench-password".into(), None)
        .await?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let target = Target {
        addr: listener.local_addr()?.to_string(),
        path: "/things".into(),
        authorization: format!("Bearer {token}"),
        kind: Kind::CreateThing,
    };
    // The server's own accept loop and limits (header and body timeouts), not axum::serve.
    let (_routes, routes) = tokio::sync::watch::channel(f.app.routes());
    let limits = Config::default().clients.http();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        let stopped = async move {
            let _ = stopped.await;
        };
        ferroflux::http_server::serve(&listener, routes, limits, None, stopped).await
    });
    let cpu_before = crate::server::cpu_seconds(std::process::id())?;
    let seconds = load(&target, events, concurrency).await?;
    let cpu = crate::server::cpu_seconds(std::process::id())? - cpu_before;
    let _ = stop.send(());
    server.await?;
    check(&f, events).await?;
    Ok(HttpRun {
        rate: events as f64 / seconds,
        cpu_us: cpu * 1e6 / events as f64,
    })
}
