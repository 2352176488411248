//! `ferroflux serve`: open, catch up, listen, drain on SIGTERM or Ctrl-C.

use std::time::Duration;

use ferroflux::{App, Config, app, config};
use tokio::sync::watch;

/// How long in-flight requests may take to finish after SIGTERM. Live feeds (`/events`
/// with `follow`, `/events/mqtt`) never finish on their own; they are cut after this.
const DRAIN_LIMIT: Duration = Duration::from_secs(5);
/// How long a stop waits for the Redis feed to write the last events (it catches up at
/// the next start anyway).
const FEEDS_SETTLE_LIMIT: Duration = Duration::from_secs(2);

pub async fn run(config: Config) -> anyhow::Result<()> {
    tracing::info!(data_dir = %config.data_dir.display(), "starting ferroflux {}", env!("CARGO_PKG_VERSION"));
    if let Some(warning) = config
        .clients
        .descriptor_warning(config::open_files_limit())
    {
        tracing::warn!("{warning}");
    }
    let app = App::open(&config).await?;
    let http = app::bind(config.http_addr, "HTTP", "FF_HTTP_ADDR").await?;
    tracing::info!(
        "HTTP API listening on http://{} (REST, /health, /ready, /metrics, /openapi.json; MQTT over WebSocket at /mqtt)",
        http.local_addr()?
    );
    let mqtt = app.start_mqtt(config.mqtt_addr).await?;
    tracing::info!(
        "MQTT listening on mqtt://{} (username = thing id, password = thing key)",
        mqtt.local_addr()
    );
    tracing::info!(coap = %config.coap_addr, "the CoAP adapter is not in this build yet");
    let (stopping, mut stop_seen) = watch::channel(false);
    let signal = async move {
        shutdown_signal().await;
        let _ = stopping.send(true);
    };
    let drain_limit = async move {
        let _ = stop_seen.wait_for(|stopping| *stopping).await;
        tokio::time::sleep(DRAIN_LIMIT).await;
    };
    tokio::select! {
        () = app.serve(http, signal) => {}
        () = drain_limit => tracing::warn!(
            "connections still open {} s after the stop request (live feeds): closing them",
            DRAIN_LIMIT.as_secs()
        ),
    }
    mqtt.shutdown().await;
    app.settle_feeds(FEEDS_SETTLE_LIMIT).await;
    tracing::info!("stopped cleanly");
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
    tracing::info!("shutdown requested: draining requests");
}
