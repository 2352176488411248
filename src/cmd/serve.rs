//! `ferroflux serve`: open, catch up, listen, drain on SIGTERM or Ctrl-C.

use std::time::Duration;

use axum::http::StatusCode;
use axum::http::header::CONNECTION;
use axum::routing::get;
use axum::{Json, Router};
use ferroflux::{App, Config, app, config, http_server};
use tokio::sync::watch;

/// How long in-flight requests may take to finish after SIGTERM. Live feeds (`/events`
/// with `follow`, `/events/mqtt`) never finish on their own; they are cut after this.
const DRAIN_LIMIT: Duration = Duration::from_secs(5);
/// How long a stop waits for the Redis feed to write the last events (it catches up at
/// the next start anyway).
const FEEDS_SETTLE_LIMIT: Duration = Duration::from_secs(2);
/// How long a stop waits for WebSockets to take their close frame.
const WEBSOCKETS_CLOSE_LIMIT: Duration = Duration::from_secs(2);

pub async fn run(config: Config) -> anyhow::Result<()> {
    tracing::info!(data_dir = %config.data_dir.display(), "starting ferroflux {}", env!("CARGO_PKG_VERSION"));
    if let Some(warning) = config
        .clients
        .descriptor_warning(config::open_files_limit())
    {
        tracing::warn!("{warning}");
    }
    let certs = super::tls_listeners::load(&config)?;
    let (stopping, mut stop_seen) = watch::channel(false);
    let (routes, current_routes) = watch::channel(http_server::Routes::plain(not_ready_router()));
    let http = match config.http_addr.addr() {
        Some(addr) => {
            let listener = app::bind(addr, "HTTP", "FF_HTTP_ADDR").await?;
            let local = listener.local_addr()?;
            tracing::info!(
                "HTTP on http://{local} answers /health now, /ready with 503 until the projections have caught up"
            );
            let (limits, stop) = (config.clients.http(), until_stopped(stopping.subscribe()));
            let serving = tokio::spawn(async move {
                http_server::serve(&listener, current_routes, limits, None, stop).await
            });
            Some((local, serving))
        }
        None => None,
    };
    let app = App::open(&config).await?;
    let _ = routes.send(app.routes());
    if let Some((local, _)) = &http {
        tracing::info!(
            "HTTP API listening on http://{local} (REST, /health, /ready, /metrics, /openapi.json; WebSocket at /channels/{{id}}/messages, MQTT over WebSocket at /mqtt)"
        );
    }
    let mqtt = start_mqtt(&app, &config).await?;
    let coap = start_coap(&app, &config).await?;
    let broker = adapters::mqtt::websocket::loopback(mqtt.local_addr());
    let https = match &certs {
        Some(certs) => {
            let (listener, acceptor) =
                super::tls_listeners::listen(&config.tls, certs, &app).await?;
            let (mqtts, mqtts_acceptor) =
                super::tls_listeners::listen_mqtts(&config.tls, certs, &app, broker).await?;
            let max = config.clients.mqtt_max_connections;
            let stop = until_stopped(stopping.subscribe());
            tokio::spawn(ferroflux::mqtts::serve(
                mqtts,
                mqtts_acceptor,
                broker,
                max,
                app.max_mqtt_packet() as usize,
                stop,
            ));
            Some((listener, acceptor))
        }
        None => None,
    };
    let serve_http = async {
        if let Some((_, serving)) = http {
            let _ = serving.await;
        }
    };
    let serve_https = {
        let stop = until_stopped(stopping.subscribe());
        async {
            if let Some((listener, acceptor)) = https {
                app.serve_tls(listener, acceptor, stop).await;
            }
        }
    };
    tokio::spawn(async move {
        shutdown_signal().await;
        let _ = stopping.send(true);
    });
    let drain_limit = async move {
        let _ = stop_seen.wait_for(|stopping| *stopping).await;
        tokio::time::sleep(DRAIN_LIMIT).await;
    };
    tokio::select! {
        ((), ()) = async { tokio::join!(serve_http, serve_https) } => {}
        () = drain_limit => tracing::warn!(
            "connections still open {} s after the stop request (live feeds): closing them",
            DRAIN_LIMIT.as_secs()
        ),
    }
    app.close_websockets(WEBSOCKETS_CLOSE_LIMIT).await;
    mqtt.shutdown().await;
    if let Some(coap) = coap {
        coap.shutdown().await;
    }
    app.service.flush_bootstrap_records().await;
    app.settle_feeds(FEEDS_SETTLE_LIMIT).await;
    tracing::info!("stopped cleanly");
    Ok(())
}

/// The MQTT broker: on `FF_MQTT_ADDR`, or with the plain listener off on loopback only,
/// where MQTTS and MQTT over WebSocket reach it.
async fn start_mqtt(app: &App, config: &Config) -> anyhow::Result<adapters::mqtt::MqttAdapter> {
    let addr = config.mqtt_addr.addr();
    let mqtt = app
        .start_mqtt(addr.unwrap_or_else(|| ([127, 0, 0, 1], 0).into()))
        .await?;
    match addr {
        Some(_) => tracing::info!(
            "MQTT listening on mqtt://{} (username = thing id, password = thing key)",
            mqtt.local_addr()
        ),
        None => tracing::info!(
            "MQTT: the plain listener is off (FF_MQTT_ADDR=off); the broker takes MQTTS and \
             MQTT over WebSocket on loopback {}",
            mqtt.local_addr()
        ),
    }
    Ok(mqtt)
}

/// The CoAP adapter on `FF_COAP_ADDR` (UDP), unless `off`.
async fn start_coap(
    app: &App,
    config: &Config,
) -> anyhow::Result<Option<adapters::coap::CoapAdapter>> {
    let Some(addr) = config.coap_addr.addr() else {
        tracing::info!("CoAP: off (FF_COAP_ADDR=off)");
        return Ok(None);
    };
    let coap = app.start_coap(app.coap_config(addr)).await?;
    tracing::info!(
        "CoAP listening on coap://{} (udp; POST publishes, GET with Observe subscribes, key in ?auth=)",
        coap.local_addr()
    );
    Ok(Some(coap))
}

async fn until_stopped(mut stopping: watch::Receiver<bool>) {
    let _ = stopping.wait_for(|stopping| *stopping).await;
}

/// What the HTTP port answers while the node catches up with the event log (that can take
/// long on a node joining a cluster): `/health` 200, `/ready` and everything else 503, so a
/// load balancer sees a node that is alive but not ready instead of a refused connection.
/// Every answer closes its connection, so that no client keeps one across the switch to the
/// API (a connection keeps the router it was accepted with).
fn not_ready_router() -> Router {
    let answer =
        |status: StatusCode, body: serde_json::Value| (status, [(CONNECTION, "close")], Json(body));
    Router::new()
        .route(
            "/health",
            get(move || async move { answer(StatusCode::OK, serde_json::json!({ "status": "pass" })) }),
        )
        .route(
            "/ready",
            get(move || async move {
                answer(StatusCode::SERVICE_UNAVAILABLE, serde_json::json!({ "status": "catching up" }))
            }),
        )
        .fallback(move || async move {
            let body = serde_json::json!({ "error": "catching up with the event log, retry shortly" });
            answer(StatusCode::SERVICE_UNAVAILABLE, body)
        })
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
