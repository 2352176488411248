//! Wiring: event log → projections → service → HTTP.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use adapters::bus::MessageBus;
use adapters::coap::{CoapAdapter, CoapConfig};
use adapters::http::{Credential, HttpAdapter, ReadDenied, ReaderAuth};
use adapters::mqtt::websocket::{self, MqttTarget};
use adapters::mqtt::{MqttAdapter, MqttConfig, PresenceFeed, RevocationFeed};
use adapters::pipeline::{KeyHasher, Pipeline, PublishError};
use adapters::telemetry::TelemetryStore;
use adapters::writer::{self, RecordSink, WriterStats};
use adapters::ws::WsAdapter;
use anyhow::{Context, bail};
use axum::Router;
use commands::auth::{KeyVault, Secrets, Tokens};
use commands::service::{Service, ServiceParts, Settings};
use domain::ids::{ChannelId, KeyHash};
use domain::ports::event_log::EventLog;
use projections::feeds::FeedStats;
use projections::views::postgres::PgViews;
use projections::{Applied, AuthzCache, CertRegistry, Projection, ProjectionError, Projections};
use tokio::net::TcpListener;

use crate::Config;
use crate::config::CoapLimits;
use crate::config::masked;
use crate::http_server::{self, HttpLimits, Routes};
use crate::metrics::{self, CoapCounters, MqttCounters};
use crate::tls::{TlsAccept, TlsStats};

/// Thing keys are looked up by their keyed hash; the vault makes it.
struct VaultHasher(KeyVault);

impl KeyHasher for VaultHasher {
    fn hash(&self, key: &str) -> KeyHash {
        self.0.hash(key)
    }
}

/// Login tokens live as long as Mainflux's (10 hours).
const TOKEN_TTL: Duration = Duration::from_secs(10 * 3600);

pub struct App {
    pub service: Arc<Service>,
    /// Every adapter publishes through it; the data plane's one path.
    pub pipeline: Pipeline,
    pub max_payload: usize,
    /// Slow and numerous HTTP clients (`FF_HTTP_*`).
    http_limits: HttpLimits,
    mqtt_max_connections: usize,
    /// MQTT limits per session (`FF_MQTT_MAX_INFLIGHT`, `FF_MQTT_MAX_QUEUE`,
    /// `FF_MQTT_MAX_QUEUE_BYTES`), per channel (`FF_MQTT_MAX_RETAINED_BYTES`) and per thing
    /// (`FF_MQTT_MAX_SESSIONS_PER_THING`).
    mqtt_max_inflight: u16,
    mqtt_max_queue: usize,
    mqtt_max_queue_bytes: usize,
    mqtt_max_retained_bytes: usize,
    mqtt_max_sessions_per_thing: usize,
    mqtt_timers: crate::config::MqttTimers,
    pub telemetry: Arc<dyn TelemetryStore>,
    pub writer_stats: Arc<WriterStats>,
    /// The InfluxDB export's writer, when `FF_INFLUX_URL` is set.
    pub influx_stats: Option<Arc<WriterStats>>,
    authz: Arc<AuthzCache>,
    /// Issued device certificates and the revoked set, checked at every TLS handshake.
    certs: Arc<CertRegistry>,
    /// Key changes, removals and disconnects, for the MQTT adapter to close sessions.
    revocations: RevocationFeed,
    /// MQTT connects and disconnects (`GET /events/mqtt`, and `mainflux.mqtt` in Redis).
    pub presence: PresenceFeed,
    /// The Redis feeds' counters, when `FF_FEEDS` is set.
    feed_stats: Option<Arc<FeedStats>>,
    /// The WebSocket adapter, served on every HTTP listener (`/channels/…` upgrades).
    ws: WsAdapter,
    /// The MQTT listener's address once started, for MQTT over WebSocket at `/mqtt`.
    mqtt_target: MqttTarget,
    /// The MQTT adapter's counters once started, for `/metrics`.
    mqtt_counters: MqttCounters,
    /// CoAP observer caps and retransmission (`FF_COAP_*`).
    coap_limits: CoapLimits,
    /// The CoAP adapter's counters once started, for `/metrics`.
    coap_counters: CoapCounters,
    /// The TLS listeners' counters (handshakes and device certificates refused).
    pub tls_stats: Arc<TlsStats>,
    pub log: Arc<dyn EventLog>,
    /// The projections this process keeps live, for `replay --verify`.
    pub live: Vec<Arc<dyn Projection>>,
    /// The query views in PostgreSQL when `FF_VIEWS` names a database, for the same.
    pub postgres_views: Option<Arc<PgViews>>,
}

impl App {
    /// Opens the data dir, catches the projections up with the log, builds the service.
    pub async fn open(config: &Config) -> anyhow::Result<App> {
        let (log, secrets) = open_checked_log(config).await?;
        let backend = crate::views::Backend::open(&config.views).await?;
        let authz = Arc::new(AuthzCache::default());
        let certs = Arc::new(CertRegistry::default());
        let certs_ca = config.certs.authority(&config.data_dir)?;
        let mut live: Vec<Arc<dyn Projection>> = backend.local().into_iter().collect();
        live.push(authz.clone());
        live.push(certs.clone());
        let authz_for_pipeline = authz.clone();
        let started = Instant::now();
        let head = log.head().await?;
        // After the authz cache: a session closed on revocation reconnects into the new state.
        let revocations = RevocationFeed::default();
        let mut followers = live.clone();
        followers.push(Arc::new(revocations.clone()));
        let (applied, _task) = Projections::new(followers).spawn(log.clone());
        catch_up(&applied, head).await?;
        let started_views = backend.start(log.clone(), applied, head).await?;
        let (views, applied) = (started_views.views, started_views.applied);
        tracing::info!(
            events = head,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "projections caught up"
        );
        let presence = PresenceFeed::new(&config.instance);
        let feed_stats = crate::feeds::start(&config.feeds, log.clone(), &presence).await?;
        let service = Service::new(ServiceParts {
            log: log.clone(),
            views,
            authz,
            applied,
            vault: KeyVault::new(&secrets.master_key),
            tokens: Tokens::new(&secrets.jwt_secret, TOKEN_TTL),
            settings: config.clients.apply_to(Settings {
                open_registration: !config.closed_registration,
                key_claim_grace: Duration::from_secs(config.key_claim_grace),
                key_claims: config.log.is_shared(),
                reset_endpoint: config.mail.reset_endpoint.clone(),
                reset_origins: config.mail.origins()?,
                bootstrap_cipher: config.bootstrap_cipher()?,
                mapping_template: config.mapping_template()?,
                ..Settings::default()
            })?,
            admin_token: secrets.admin_token.clone(),
            certs: certs.clone(),
            certs_ca: Some(certs_ca),
        })
        .with_mailer(config.mail.mailer()?);
        let hasher = Arc::new(VaultHasher(service.vault().clone()));
        let bus = config.bus.open().await?;
        let pipeline = Pipeline::new(authz_for_pipeline.clone(), hasher, bus.clone());
        let telemetry = config
            .telemetry
            .open(&config.data_dir.join("telemetry"))
            .await?;
        let writer_stats = Arc::new(WriterStats::default());
        let mut influx_stats = None;
        if config.no_store {
            tracing::info!("FF_NO_STORE: messages are delivered, not stored");
        } else {
            start_writer(
                &bus,
                telemetry.clone(),
                writer_stats.clone(),
                "telemetry writer",
            )
            .await?;
            if let Some(export) = config.influx.open().await? {
                let stats = Arc::new(WriterStats::default());
                start_writer(&bus, Arc::new(export), stats.clone(), "InfluxDB export").await?;
                influx_stats = Some(stats);
            }
        }
        let ws = WsAdapter::new(
            pipeline.clone(),
            revocations.clone(),
            config.ws.adapter(config.max_payload),
        );
        Ok(App {
            service: Arc::new(service),
            pipeline,
            max_payload: config.max_payload,
            http_limits: config.clients.http(),
            mqtt_max_connections: config.clients.mqtt_max_connections,
            mqtt_max_inflight: config.mqtt_max_inflight,
            mqtt_max_queue: config.mqtt_max_queue,
            mqtt_max_queue_bytes: config.mqtt_max_queue_bytes,
            mqtt_max_retained_bytes: config.mqtt_max_retained_bytes,
            mqtt_max_sessions_per_thing: config.mqtt_max_sessions_per_thing,
            mqtt_timers: config.mqtt_timers.clone(),
            telemetry,
            writer_stats,
            influx_stats,
            authz: authz_for_pipeline,
            certs,
            revocations,
            presence,
            feed_stats,
            ws,
            mqtt_target: MqttTarget::default(),
            mqtt_counters: MqttCounters::default(),
            coap_limits: config.coap.clone(),
            coap_counters: CoapCounters::default(),
            tls_stats: Arc::default(),
            log,
            live,
            postgres_views: started_views.postgres,
        })
    }

    /// The REST API and the HTTP adapter on one listener (without WebSocket upgrades and
    /// body timeouts: the listener adds those, see `routes`).
    pub fn router(&self) -> Router {
        let reader = Readers {
            service: self.service.clone(),
            pipeline: self.pipeline.clone(),
            authz: self.authz.clone(),
        };
        let adapter = HttpAdapter {
            pipeline: self.pipeline.clone(),
            max_payload: self.max_payload,
            store: self.telemetry.clone(),
            reader: Arc::new(reader),
        };
        let (identify, identify_doc) =
            adapters::http::identify::api(self.pipeline.clone()).split_for_parts();
        commands::http::router(self.service.clone())
            .merge(adapters::http::router(adapter))
            .merge(identify)
            .merge(crate::presence::router(
                self.service.clone(),
                self.presence.clone(),
            ))
            .merge(crate::live::router(
                self.service.clone(),
                self.pipeline.bus().clone(),
            ))
            .merge(websocket::router(
                self.mqtt_target.clone(),
                self.max_mqtt_packet() as usize,
            ))
            .merge(crate::openapi::router(vec![identify_doc]))
            .merge(crate::ui::router())
            .merge(metrics::router(metrics::Sources {
                bus: self.pipeline.bus().clone(),
                writer: self.writer_stats.clone(),
                influx: self.influx_stats.clone(),
                mqtt: self.mqtt_counters.clone(),
                coap: self.coap_counters.clone(),
                ws: self.ws.stats(),
                service: self.service.clone(),
                feeds: self.feed_stats.clone(),
                tls: self.tls_stats.clone(),
            }))
            .fallback(not_found)
    }

    /// What the HTTP listeners serve: the router, with WebSocket upgrades on channel paths.
    pub fn routes(&self) -> Routes {
        Routes {
            router: self.router(),
            websocket: Some(self.ws.clone()),
        }
    }

    /// Starts the MQTT adapter on `addr` (port 0: any free port, see `local_addr`). It runs
    /// until the returned handle is shut down or dropped.
    pub async fn start_mqtt(&self, addr: std::net::SocketAddr) -> anyhow::Result<MqttAdapter> {
        let config = MqttConfig {
            addr,
            max_packet_size: self.max_mqtt_packet(),
            max_inflight: self.mqtt_max_inflight,
            max_queue: self.mqtt_max_queue,
            max_queue_bytes: self.mqtt_max_queue_bytes,
            max_retained_bytes: self.mqtt_max_retained_bytes,
            max_sessions_per_thing: self.mqtt_max_sessions_per_thing,
            max_keep_alive: self.mqtt_timers.mqtt_max_keep_alive,
            max_session_expiry: self.mqtt_timers.mqtt_max_session_expiry,
            max_connections: self.mqtt_max_connections,
        };
        let revocations = self.revocations.subscribe();
        let presence = self.presence.clone();
        let adapter = adapters::mqtt::start(config, self.pipeline.clone(), revocations, presence)
            .await
            .map_err(|e| anyhow::anyhow!("{e}; free the port or set FF_MQTT_ADDR"))?;
        let _ = self.mqtt_target.set(adapter.local_addr());
        let _ = self.mqtt_counters.set(adapter.counters());
        Ok(adapter)
    }

    /// The CoAP adapter's configuration on `addr` from the settings (`FF_COAP_*`,
    /// `FF_MAX_PAYLOAD`); tests shorten its timers before `start_coap`.
    pub fn coap_config(&self, addr: std::net::SocketAddr) -> CoapConfig {
        self.coap_limits.adapter(addr, self.max_payload)
    }

    /// Starts the CoAP adapter (port 0: any free port, see `local_addr`). It observes
    /// revocations like the MQTT adapter and runs until shut down or dropped.
    pub async fn start_coap(&self, config: CoapConfig) -> anyhow::Result<CoapAdapter> {
        let revocations = self.revocations.subscribe();
        let adapter = adapters::coap::start(config, self.pipeline.clone(), revocations)
            .await
            .map_err(|e| anyhow::anyhow!("{e}; free the port or set FF_COAP_ADDR (or off)"))?;
        let _ = self.coap_counters.set(adapter.counters());
        Ok(adapter)
    }

    /// At a stop: closes every WebSocket (1001) and waits, at most `limit`, for them to end.
    pub async fn close_websockets(&self, limit: Duration) {
        self.ws.shutdown(limit).await;
    }

    /// At a stop: lets the history feeds write what the log holds, for at most
    /// `limit` (see `feeds::settle`).
    pub async fn settle_feeds(&self, limit: Duration) {
        let Some(stats) = &self.feed_stats else {
            return;
        };
        if let Ok(head) = self.log.head().await {
            crate::feeds::settle(stats, head, self.presence.sent(), limit).await;
        }
    }

    /// The payload limit plus room for the longest topic and the headers.
    pub fn max_mqtt_packet(&self) -> u32 {
        u32::try_from(self.max_payload + 8 * 1024).unwrap_or(u32::MAX)
    }

    /// The API over TLS (HTTPS), on its own listener, until `shutdown` resolves.
    pub async fn serve_tls(
        &self,
        listener: TcpListener,
        tls: tokio_rustls::TlsAcceptor,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) {
        let tls = self.tls_accept(tls, self.http_limits.header_timeout);
        let (_, routes) = tokio::sync::watch::channel(self.routes());
        http_server::serve(&listener, routes, self.http_limits, Some(tls), shutdown).await;
    }

    /// Handshakes on a TLS listener: counted in `/metrics`, device certificates looked up.
    pub fn tls_accept(&self, acceptor: tokio_rustls::TlsAcceptor, timeout: Duration) -> TlsAccept {
        TlsAccept::new(
            acceptor,
            self.tls_stats.clone(),
            self.pipeline.clone(),
            self.certs.clone(),
            timeout,
        )
    }
}

/// Who may read a channel's messages: a thing connected to it, or its owner.
struct Readers {
    service: Arc<Service>,
    pipeline: Pipeline,
    authz: Arc<AuthzCache>,
}

impl Readers {
    fn thing(&self, key: &str, channel: ChannelId) -> Result<(), ReadDenied> {
        match self.pipeline.authorize(key, channel) {
            Ok(_) => Ok(()),
            Err(PublishError::Forbidden) => Err(ReadDenied::Forbidden),
            Err(_) => Err(ReadDenied::Unauthenticated),
        }
    }

    async fn user(&self, token: &str, channel: ChannelId) -> Result<(), ReadDenied> {
        let user = self
            .service
            .identify(token)
            .await
            .map_err(|_| ReadDenied::Unauthenticated)?;
        match self.authz.channel_owner(channel) == Some(user) {
            true => Ok(()),
            false => Err(ReadDenied::Forbidden),
        }
    }
}

#[async_trait::async_trait]
impl ReaderAuth for Readers {
    async fn may_read(
        &self,
        credential: Credential<'_>,
        channel: ChannelId,
    ) -> Result<(), ReadDenied> {
        match credential {
            Credential::Thing(key) => self.thing(key, channel),
            Credential::User(token) => self.user(token, channel).await,
            Credential::Raw(raw) => match self.user(raw, channel).await {
                Err(ReadDenied::Unauthenticated) => self.thing(raw, channel),
                other => other,
            },
        }
    }
}

/// Unknown routes answer like every other error: `{"error": …}`.
async fn not_found() -> (axum::http::StatusCode, axum::Json<serde_json::Value>) {
    let body = serde_json::json!({ "error": "no such route" });
    (axum::http::StatusCode::NOT_FOUND, axum::Json(body))
}

/// Waits until the local projections have applied the log up to `head`, saying every few
/// seconds how far they are: a node joining a cluster late may replay a long history.
async fn catch_up(applied: &Applied, head: u64) -> anyhow::Result<()> {
    let started = Instant::now();
    loop {
        match applied.wait_for(head, CATCH_UP_REPORT).await {
            Ok(()) => return Ok(()),
            Err(ProjectionError::Timeout(_)) => tracing::info!(
                applied = applied.position(),
                of = head,
                elapsed_s = started.elapsed().as_secs(),
                "catching up with the event log"
            ),
            Err(error) => {
                return Err(error).context("projections could not catch up with the event log");
            }
        }
    }
}

/// How often a catching-up node reports its progress.
const CATCH_UP_REPORT: Duration = Duration::from_secs(5);

/// Opens the configured event log; a locked data dir or an unreachable server is named
/// plainly.
pub async fn open_log(config: &Config) -> anyhow::Result<Arc<dyn EventLog>> {
    config.log.open(&config.events_dir(), None).await
}

pub async fn bind(
    addr: std::net::SocketAddr,
    what: &str,
    variable: &str,
) -> anyhow::Result<TcpListener> {
    TcpListener::bind(addr).await.with_context(|| {
        format!("cannot listen for {what} on {addr}; free the port or set {variable}")
    })
}

/// The event log with the checks `serve` makes first (settings, data dir, the cluster's
/// secrets), for `serve` and the operator commands that need the log alone.
pub async fn open_checked_log(config: &Config) -> anyhow::Result<(Arc<dyn EventLog>, Secrets)> {
    config.check()?;
    ensure_writable(config)?;
    let secrets = Secrets::load(
        &config.secrets_dir(),
        config.jwt_secret.as_deref(),
        config.master_key.as_deref(),
    )?;
    let log = config
        .log
        .open(&config.events_dir(), Some(&secrets.fingerprint()))
        .await?;
    tracing::info!(event_log = %masked(&config.log.event_log), "event log open");
    Ok((log, secrets))
}

fn ensure_writable(config: &Config) -> anyhow::Result<()> {
    let dir = &config.data_dir;
    let probe = dir.join(".write-test");
    let result = std::fs::create_dir_all(dir).and_then(|_| std::fs::write(&probe, b"ok"));
    if let Err(e) = result {
        bail!(
            "data dir {} is not writable ({e}); set FF_DATA_DIR",
            dir.display()
        );
    }
    let _ = std::fs::remove_file(probe);
    Ok(())
}

/// Subscribes a writer for `sink` to the bus now (before anything may publish) and runs it.
async fn start_writer<S: RecordSink + ?Sized>(
    bus: &Arc<dyn MessageBus>,
    sink: Arc<S>,
    stats: Arc<WriterStats>,
    what: &'static str,
) -> anyhow::Result<()> {
    let subscription = writer::subscribe(bus.as_ref(), sink.as_ref()).await?;
    let bus = bus.clone();
    tokio::spawn(async move {
        if let Err(error) = writer::run(subscription, bus, sink, stats).await {
            tracing::error!(%error, "{what} stopped: messages are no longer saved");
        }
    });
    Ok(())
}
