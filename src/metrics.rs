//! `GET /metrics`: the data plane's counters in Prometheus' text format, unauthenticated
//! like Mainflux's `/metrics` (counts only: no ids, keys or payloads).
//!
//! Read on demand from the atomics the bus, the telemetry writer and the MQTT adapter keep
//! anyway, so serving metrics costs the hot path nothing.

use std::fmt::Write as _;
use std::sync::atomic::Ordering;
use std::sync::{Arc, OnceLock};

use adapters::bus::MessageBus;
use adapters::coap::CoapStats;
use adapters::mqtt::MqttStats;
use adapters::writer::WriterStats;
use adapters::ws::{WsStats, WsStatsSnapshot};
use axum::Router;
use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use axum::routing::get;
use commands::service::Service;
use projections::feeds::FeedStats;

use crate::tls::TlsStats;

/// The MQTT adapter's counters, once it has started (it starts after the router is built).
pub type MqttCounters = Arc<OnceLock<Arc<MqttStats>>>;
/// The CoAP adapter's counters, once it has started (when `FF_COAP_ADDR` is not `off`).
pub type CoapCounters = Arc<OnceLock<Arc<CoapStats>>>;

#[derive(Clone)]
pub struct Sources {
    pub bus: Arc<dyn MessageBus>,
    pub writer: Arc<WriterStats>,
    pub mqtt: MqttCounters,
    pub coap: CoapCounters,
    /// The WebSocket adapter's counters.
    pub ws: Arc<WsStats>,
    pub service: Arc<Service>,
    /// The Redis feeds' counters, when `FF_FEEDS` is set.
    pub feeds: Option<Arc<FeedStats>>,
    /// The InfluxDB export's writer, when `FF_INFLUX_URL` is set.
    pub influx: Option<Arc<WriterStats>>,
    pub tls: Arc<TlsStats>,
}

pub fn router(sources: Sources) -> Router {
    Router::new()
        .route("/metrics", get(metrics))
        .with_state(sources)
}

/// The data plane's counters, in Prometheus' text format.
#[utoipa::path(get, path = "/metrics", tag = "operations",
    responses((status = 200, content_type = "text/plain", body = String)))]
pub(crate) async fn metrics(State(sources): State<Sources>) -> impl IntoResponse {
    (
        [(CONTENT_TYPE, "text/plain; version=0.0.4")],
        exposition(&sources),
    )
}

/// One `# HELP`, `# TYPE` and sample per metric.
fn exposition(sources: &Sources) -> String {
    let mut text = String::with_capacity(4096);
    let mut metric = |name: &str, kind: &str, help: &str, value: u64| {
        let _ = writeln!(
            text,
            "# HELP ferroflux_{name} {help}\n# TYPE ferroflux_{name} {kind}\nferroflux_{name} {value}"
        );
    };
    let bus = sources.bus.stats();
    metric(
        "bus_published_total",
        "counter",
        "Messages published on the bus.",
        bus.published,
    );
    metric(
        "bus_delivered_total",
        "counter",
        "Messages queued for a subscriber, one per matching subscriber.",
        bus.delivered,
    );
    metric(
        "bus_dropped_slow_subscribers_total",
        "counter",
        "Subscriptions disconnected because their queue was full.",
        bus.dropped_slow_subscribers,
    );
    metric(
        "bus_subscribers",
        "gauge",
        "Live bus subscriptions.",
        bus.subscribers,
    );
    for (name, help, value) in writer_counters(&sources.writer) {
        metric(name, "counter", help, value);
    }
    metric(
        "password_hashing_refused_total",
        "counter",
        "Logins and registrations refused (503) because every hashing thread was busy.",
        sources.service.passwords_refused(),
    );
    metric(
        "logins_throttled_total",
        "counter",
        "Logins refused (429) because their client or email was backing off after failures.",
        sources.service.logins_throttled(),
    );
    metric(
        "registrations_throttled_total",
        "counter",
        "Anonymous registrations refused (429) because their client address was pacing.",
        sources.service.registrations_throttled(),
    );
    if let Some(mqtt) = sources.mqtt.get() {
        for (name, help, value) in mqtt_counters(mqtt) {
            metric(name, "counter", help, value);
        }
    }
    if let Some(coap) = sources.coap.get() {
        for (name, kind, help, value) in coap.metrics() {
            metric(name, kind, help, value);
        }
    }
    for (name, kind, help, value) in ws_counters(&sources.ws.snapshot()) {
        metric(name, kind, help, value);
    }
    if let Some(influx) = &sources.influx {
        for (name, help, value) in influx_counters(influx) {
            metric(name, "counter", help, value);
        }
    }
    if let Some(feeds) = &sources.feeds {
        for (name, kind, help, value) in feed_counters(feeds) {
            metric(name, kind, help, value);
        }
    }
    for (name, help, value) in tls_counters(&sources.tls) {
        metric(name, "counter", help, value);
    }
    text
}

fn ws_counters(ws: &WsStatsSnapshot) -> [(&'static str, &'static str, &'static str, u64); 9] {
    [
        (
            "ws_sessions_opened_total",
            "counter",
            "WebSocket sessions opened.",
            ws.opened,
        ),
        (
            "ws_sessions",
            "gauge",
            "WebSocket sessions open now.",
            ws.live,
        ),
        (
            "ws_sessions_refused_total",
            "counter",
            "WebSocket handshakes refused (503) because FF_WS_MAX_SESSIONS were open.",
            ws.refused_full,
        ),
        (
            "ws_published_total",
            "counter",
            "WebSocket frames published.",
            ws.published,
        ),
        (
            "ws_delivered_total",
            "counter",
            "Messages written to WebSockets.",
            ws.delivered,
        ),
        (
            "ws_revoked_total",
            "counter",
            "WebSocket sessions closed by a key change, a disconnect or a removal.",
            ws.revoked,
        ),
        (
            "ws_dropped_slow_total",
            "counter",
            "WebSocket sessions dropped for not taking their messages (FF_WS_MAX_QUEUE).",
            ws.dropped_slow,
        ),
        (
            "ws_dropped_no_pong_total",
            "counter",
            "WebSocket sessions dropped for not answering a ping (FF_WS_PING_INTERVAL).",
            ws.dropped_no_pong,
        ),
        (
            "ws_frames_refused_total",
            "counter",
            "WebSocket frames refused (wildcard socket, not connected, too large), each ending its session.",
            ws.refused_frames,
        ),
    ]
}

fn tls_counters(tls: &TlsStats) -> [(&'static str, &'static str, u64); 3] {
    let get = |counter: &std::sync::atomic::AtomicU64| counter.load(Ordering::Relaxed);
    [
        (
            "tls_handshakes_refused_total",
            "TLS handshakes that failed or timed out (HTTPS, MQTTS).",
            get(&tls.handshakes_refused),
        ),
        (
            "tls_client_certificates_refused_total",
            "Client certificates refused: not from FF_TLS_CLIENT_CA, expired, or malformed.",
            get(&tls.certificates_refused),
        ),
        (
            "tls_device_keys_unknown_total",
            "Valid client certificates whose CN is no thing key (connection closed).",
            get(&tls.unknown_device_keys),
        ),
    ]
}

fn feed_counters(feeds: &FeedStats) -> [(&'static str, &'static str, &'static str, u64); 7] {
    [
        (
            "feeds_things_written_total",
            "counter",
            "mainflux.things entries this node wrote (not those another writer wrote first).",
            FeedStats::get(&feeds.things_written),
        ),
        (
            "feeds_things_position",
            "gauge",
            "Event position the mainflux.things feed has reached.",
            FeedStats::get(&feeds.things_position),
        ),
        (
            "feeds_bootstrap_written_total",
            "counter",
            "mainflux.bootstrap entries this node wrote (not those another writer wrote first).",
            FeedStats::get(&feeds.bootstrap_written),
        ),
        (
            "feeds_bootstrap_position",
            "gauge",
            "Event position the mainflux.bootstrap feed has reached.",
            FeedStats::get(&feeds.bootstrap_position),
        ),
        (
            "feeds_presence_written_total",
            "counter",
            "mainflux.mqtt entries written.",
            FeedStats::get(&feeds.presence_written),
        ),
        (
            "feeds_presence_dropped_total",
            "counter",
            "Presence events dropped because Redis was too slow or away (MQTT never waits).",
            FeedStats::get(&feeds.presence_dropped),
        ),
        (
            "feeds_redis_errors_total",
            "counter",
            "Redis feed writes that failed and were retried.",
            FeedStats::get(&feeds.redis_errors),
        ),
    ]
}

fn writer_counters(writer: &WriterStats) -> [(&'static str, &'static str, u64); 7] {
    use std::sync::atomic::Ordering::Relaxed;
    [
        (
            "telemetry_messages_total",
            "Messages the telemetry writer took from the bus.",
            writer.messages.load(Relaxed),
        ),
        (
            "telemetry_records_stored_total",
            "Records saved in the telemetry store.",
            writer.records.load(Relaxed),
        ),
        (
            "telemetry_invalid_senml_total",
            "SenML payloads stored opaque: they did not parse, or held a record no store keeps.",
            writer.invalid_senml.load(Relaxed),
        ),
        (
            "telemetry_writer_lagged_total",
            "Times the writer fell behind the bus and lost messages.",
            writer.lagged.load(Relaxed),
        ),
        (
            "telemetry_failed_batches_total",
            "Batches dropped: refused by the store, or failing for another reason than an outage.",
            writer.failed_batches.load(Relaxed),
        ),
        (
            "telemetry_save_retries_total",
            "Saves attempted again after a failure, mostly while the store was unavailable.",
            writer.save_retries.load(Relaxed),
        ),
        (
            "telemetry_unstorable_total",
            "Messages no store keeps, even opaque (payload too large).",
            writer.unstorable.load(Relaxed),
        ),
    ]
}

fn influx_counters(export: &WriterStats) -> [(&'static str, &'static str, u64); 4] {
    use std::sync::atomic::Ordering::Relaxed;
    [
        (
            "influx_records_written_total",
            "Records written to InfluxDB.",
            export.records.load(Relaxed),
        ),
        (
            "influx_failed_batches_total",
            "Batches InfluxDB refused (400, 413, 422).",
            export.failed_batches.load(Relaxed),
        ),
        (
            "influx_save_retries_total",
            "Writes attempted again, mostly while InfluxDB was unavailable.",
            export.save_retries.load(Relaxed),
        ),
        (
            "influx_lagged_total",
            "Times the export fell behind the bus and lost messages.",
            export.lagged.load(Relaxed),
        ),
    ]
}

fn mqtt_counters(mqtt: &MqttStats) -> [(&'static str, &'static str, u64); 12] {
    let s = mqtt.snapshot();
    [
        ("mqtt_connects_total", "CONNECTs accepted.", s.connects),
        (
            "mqtt_connects_refused_total",
            "CONNECTs refused.",
            s.connects_refused,
        ),
        (
            "mqtt_disconnects_total",
            "Sessions of things that ended.",
            s.disconnects,
        ),
        (
            "mqtt_publishes_total",
            "PUBLISHes authorized and published.",
            s.publishes,
        ),
        (
            "mqtt_publishes_refused_total",
            "PUBLISHes refused (the connection was closed).",
            s.publishes_refused,
        ),
        (
            "mqtt_subscribes_refused_total",
            "SUBSCRIBE filters refused.",
            s.subscribes_refused,
        ),
        (
            "mqtt_injected_total",
            "Messages from other protocols delivered into the broker.",
            s.injected,
        ),
        (
            "mqtt_inject_failures_total",
            "Messages from other protocols the broker did not take.",
            s.inject_failures,
        ),
        (
            "mqtt_injector_lagged_total",
            "Times the bus dropped the MQTT injector for being slow.",
            s.injector_lagged,
        ),
        (
            "mqtt_sessions_closed_total",
            "Sessions ended by the server (revocation, shutdown).",
            s.sessions_closed,
        ),
        (
            "mqtt_dropped_total",
            "Messages a subscriber could not take (queue full in messages or bytes, away at QoS 0, too large).",
            s.dropped,
        ),
        (
            "mqtt_retained_refused_total",
            "Retained messages delivered but not retained: their channel was at its limit.",
            s.retained_refused,
        ),
    ]
}
