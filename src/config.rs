//! One typed configuration tree. Its `Default` is the embedded mode: everything in
//! `./data`, every listener on its standard port.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Args;
use clap::builder::BoolishValueParser;
use commands::service::DEFAULT_KEY_CLAIM_GRACE;

mod bus;
mod certs;
mod client_limits;
mod coap;
mod event_log;
mod feeds;
mod influx;
mod listen;
mod mqtt_timers;
mod telemetry;
mod tls;
mod websocket;

pub use bus::BusConfig;
pub use certs::CertsConfig;
pub use client_limits::{ClientLimits, open_files_limit};
pub use coap::CoapLimits;
pub use event_log::{EventLogBackend, EventLogConfig};
pub use feeds::FeedsConfig;
pub use influx::InfluxConfig;
pub use listen::ListenAddr;
pub use mqtt_timers::MqttTimers;
pub use projections::masked_url as masked;
pub use telemetry::TelemetryConfig;
pub use tls::TlsConfig;
pub use websocket::WebSocketConfig;

use crate::mail::MailConfig;

/// 64 MiB: a stuck subscriber of 256 KiB messages holds 256 of them, not 100,000.
const DEFAULT_MQTT_MAX_QUEUE_BYTES: usize = 64 * 1024 * 1024;
const DEFAULT_MQTT_MAX_QUEUE: usize = 100_000;
const DEFAULT_MQTT_MAX_INFLIGHT: u16 = 128;
/// Room for a gateway thing speaking for many devices, not for a leaked key's flood.
const DEFAULT_MQTT_MAX_SESSIONS_PER_THING: usize = 256;
/// 16 MiB per channel: the last state of many thousand small topics, or 64 of the largest.
const DEFAULT_MQTT_MAX_RETAINED_BYTES: usize = 16 * 1024 * 1024;

#[derive(Debug, Clone, Args)]
pub struct Config {
    /// Where the event log and generated secrets live.
    #[arg(long, env = "FF_DATA_DIR", default_value = "./data")]
    pub data_dir: PathBuf,
    /// The HTTP listener: REST API, health, OpenAPI; `off` with TLS on leaves HTTPS only.
    #[arg(long, env = "FF_HTTP_ADDR", default_value = "0.0.0.0:8080")]
    pub http_addr: ListenAddr,
    /// The MQTT listener (MQTT 3.1.1 and 5; username = thing id, password = thing key);
    /// `off` leaves MQTTS and MQTT over WebSocket.
    #[arg(long, env = "FF_MQTT_ADDR", default_value = "0.0.0.0:1883")]
    pub mqtt_addr: ListenAddr,
    /// The CoAP listener, UDP (`POST` publishes, `GET` with Observe subscribes; the key in
    /// `?auth=`); `off` turns CoAP off.
    #[arg(long, env = "FF_COAP_ADDR", default_value = "0.0.0.0:5683")]
    pub coap_addr: ListenAddr,
    /// Secret that signs user tokens; generated once into the data dir when absent.
    #[arg(long, env = "FF_JWT_SECRET", hide_env_values = true)]
    pub jwt_secret: Option<String>,
    /// 64 hex characters sealing thing keys at rest; generated once when absent.
    #[arg(long, env = "FF_MASTER_KEY", hide_env_values = true)]
    pub master_key: Option<String>,
    /// 64 hex characters: turns on `GET /things/bootstrap/secure/{id}`, whose external key
    /// and answer are sealed with AES-256-GCM under this key (the devices hold it too).
    #[arg(long, env = "FF_BOOTSTRAP_KEY", hide_env_values = true)]
    pub bootstrap_key: Option<String>,
    /// A JSON file: what `POST /mapping` makes for one device (see the README); Mainflux's
    /// layout (one thing, a `control` and a `data` channel) when absent.
    #[arg(long, env = "FF_PROVISION_TEMPLATE")]
    pub provision_template: Option<PathBuf>,
    /// Only logged-in users (or the operator's admin token) may create users.
    #[arg(long, env = "FF_CLOSED_REGISTRATION", value_parser = BoolishValueParser::new())]
    pub closed_registration: bool,
    /// Seconds a thing-key claim whose thing never came to use the key (its node died
    /// between claim and create) still blocks the key. Longer than the clock difference
    /// between nodes.
    #[arg(long, env = "FF_KEY_CLAIM_GRACE", default_value_t = DEFAULT_KEY_CLAIM_GRACE.as_secs())]
    pub key_claim_grace: u64,
    /// Messaging only: no message is stored (Mainflux without its writers); the reader
    /// serves what was stored before.
    #[arg(long, env = "FF_NO_STORE", value_parser = BoolishValueParser::new())]
    pub no_store: bool,
    /// Largest message payload a device may publish, in bytes.
    #[arg(long, env = "FF_MAX_PAYLOAD", default_value_t = adapters::http::DEFAULT_MAX_PAYLOAD)]
    pub max_payload: usize,
    /// QoS 1 messages in flight to one MQTT session, awaiting its PUBACK.
    #[arg(long, env = "FF_MQTT_MAX_INFLIGHT", default_value_t = DEFAULT_MQTT_MAX_INFLIGHT)]
    pub mqtt_max_inflight: u16,
    /// Messages queued for one slow or away MQTT subscriber; beyond it they are dropped.
    #[arg(long, env = "FF_MQTT_MAX_QUEUE", default_value_t = DEFAULT_MQTT_MAX_QUEUE)]
    pub mqtt_max_queue: usize,
    /// Bytes (topics and payloads) queued for or in flight to one MQTT subscriber; beyond
    /// them messages are dropped. At least `FF_MAX_PAYLOAD`.
    #[arg(long, env = "FF_MQTT_MAX_QUEUE_BYTES", default_value_t = DEFAULT_MQTT_MAX_QUEUE_BYTES)]
    pub mqtt_max_queue_bytes: usize,
    /// Bytes (topics and payloads) of retained MQTT messages one channel keeps; beyond
    /// them a retained message is delivered, not retained. At least `FF_MAX_PAYLOAD`.
    #[arg(long, env = "FF_MQTT_MAX_RETAINED_BYTES", default_value_t = DEFAULT_MQTT_MAX_RETAINED_BYTES)]
    pub mqtt_max_retained_bytes: usize,
    /// MQTT sessions (client ids) one thing may hold, connected or away.
    #[arg(long, env = "FF_MQTT_MAX_SESSIONS_PER_THING", default_value_t = DEFAULT_MQTT_MAX_SESSIONS_PER_THING)]
    pub mqtt_max_sessions_per_thing: usize,
    /// This server's name in presence events (`instance`, as Mainflux's
    /// `MF_MQTT_ADAPTER_INSTANCE`); empty by default, as there.
    #[arg(long, env = "FF_INSTANCE", default_value = "")]
    pub instance: String,
    /// Query views of the REST API: `memory`, or a `postgres://user:password@host/db` URL
    /// whose tables every node may share.
    #[arg(long, env = "FF_VIEWS", default_value = crate::views::MEMORY, hide_env_values = true)]
    pub views: String,
    #[command(flatten)]
    pub log: EventLogConfig,
    /// Where messages go: this process, or NATS shared with the other nodes.
    #[command(flatten)]
    pub bus: BusConfig,
    /// Where messages are stored: fjall in the data dir, or PostgreSQL.
    #[command(flatten)]
    pub telemetry: TelemetryConfig,
    /// An InfluxDB v2 that every message is also written to.
    #[command(flatten)]
    pub influx: InfluxConfig,
    #[command(flatten)]
    pub clients: ClientLimits,
    /// CoAP observer caps and retransmission.
    #[command(flatten)]
    pub coap: CoapLimits,
    /// Password-reset mail: SMTP server, sender, reset page.
    #[command(flatten)]
    pub mail: MailConfig,
    /// Redis-stream feeds in Mainflux's format.
    #[command(flatten)]
    pub feeds: FeedsConfig,
    /// TLS for the listeners.
    #[command(flatten)]
    pub tls: TlsConfig,
    /// The CA of device certificates (`POST /certs`).
    #[command(flatten)]
    pub certs: CertsConfig,
    /// The WebSocket adapter's limits.
    #[command(flatten)]
    pub ws: WebSocketConfig,
    /// The MQTT broker's keep-alive and session expiry caps.
    #[command(flatten)]
    pub mqtt_timers: MqttTimers,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            data_dir: PathBuf::from("./data"),
            http_addr: SocketAddr::from(([0, 0, 0, 0], 8080)).into(),
            mqtt_addr: SocketAddr::from(([0, 0, 0, 0], 1883)).into(),
            coap_addr: SocketAddr::from(([0, 0, 0, 0], 5683)).into(),
            jwt_secret: None,
            master_key: None,
            bootstrap_key: None,
            provision_template: None,
            closed_registration: false,
            key_claim_grace: DEFAULT_KEY_CLAIM_GRACE.as_secs(),
            no_store: false,
            max_payload: adapters::http::DEFAULT_MAX_PAYLOAD,
            mqtt_max_inflight: DEFAULT_MQTT_MAX_INFLIGHT,
            mqtt_max_queue: DEFAULT_MQTT_MAX_QUEUE,
            mqtt_max_queue_bytes: DEFAULT_MQTT_MAX_QUEUE_BYTES,
            mqtt_max_retained_bytes: DEFAULT_MQTT_MAX_RETAINED_BYTES,
            mqtt_max_sessions_per_thing: DEFAULT_MQTT_MAX_SESSIONS_PER_THING,
            instance: String::new(),
            log: EventLogConfig::default(),
            bus: BusConfig::default(),
            telemetry: TelemetryConfig::default(),
            influx: InfluxConfig::default(),
            views: crate::views::MEMORY.into(),
            clients: ClientLimits::default(),
            coap: CoapLimits::default(),
            mail: MailConfig::default(),
            feeds: FeedsConfig::default(),
            tls: TlsConfig::default(),
            certs: CertsConfig::default(),
            ws: WebSocketConfig::default(),
            mqtt_timers: MqttTimers::default(),
        }
    }
}

impl Config {
    /// Settings that are each valid but not together.
    pub fn check(&self) -> anyhow::Result<()> {
        let limits = [
            ("FF_MQTT_MAX_QUEUE_BYTES", self.mqtt_max_queue_bytes),
            ("FF_MQTT_MAX_RETAINED_BYTES", self.mqtt_max_retained_bytes),
        ];
        self.clients.check()?;
        self.coap.check()?;
        self.log.backend()?;
        self.bus.check()?;
        self.telemetry.check()?;
        self.influx.check()?;
        self.bootstrap_cipher()?;
        if self.log.is_shared() && (self.jwt_secret.is_none() || self.master_key.is_none()) {
            anyhow::bail!(
                "FF_EVENT_LOG={} is shared by several nodes: start every node with the same \
                 FF_JWT_SECRET and FF_MASTER_KEY (a secret generated per node would sign \
                 tokens and seal keys no other node can read)",
                masked(&self.log.event_log)
            );
        }
        crate::views::check(&self.views)?;
        self.mail.origins()?;
        self.feeds.check()?;
        self.tls.check()?;
        self.ws.check()?;
        self.mqtt_timers.check()?;
        if self.http_addr == ListenAddr::Off && self.tls.files().is_none() {
            anyhow::bail!(
                "FF_HTTP_ADDR=off needs FF_TLS_CERT and FF_TLS_KEY: without HTTPS nothing would \
                 serve the API"
            );
        }
        if self.mqtt_max_sessions_per_thing == 0 {
            anyhow::bail!("FF_MQTT_MAX_SESSIONS_PER_THING must be at least 1");
        }
        for (name, bytes) in limits {
            if bytes < self.max_payload {
                anyhow::bail!(
                    "{name} ({bytes}) must be at least FF_MAX_PAYLOAD ({}): it must hold \
                     a message of the largest size",
                    self.max_payload
                );
            }
        }
        Ok(())
    }

    /// The secure bootstrap cipher, when `FF_BOOTSTRAP_KEY` is set and well-formed.
    pub fn bootstrap_cipher(&self) -> anyhow::Result<Option<commands::auth::BootstrapCipher>> {
        self.bootstrap_key
            .as_deref()
            .map(commands::auth::BootstrapCipher::from_hex)
            .transpose()
            .map_err(Into::into)
    }

    /// The provisioning template: read and checked at start, so a bad file stops the
    /// server instead of failing every `POST /mapping`.
    pub fn mapping_template(&self) -> anyhow::Result<commands::service::MappingTemplate> {
        let Some(path) = &self.provision_template else {
            return Ok(commands::service::MappingTemplate::default());
        };
        let text = std::fs::read_to_string(path)
            .map_err(|e| anyhow::anyhow!("FF_PROVISION_TEMPLATE {}: {e}", path.display()))?;
        commands::service::MappingTemplate::from_json(&text)
            .map_err(|e| anyhow::anyhow!("FF_PROVISION_TEMPLATE {}: {e}", path.display()))
    }

    pub fn events_dir(&self) -> PathBuf {
        self.data_dir.join("events")
    }

    pub fn secrets_dir(&self) -> PathBuf {
        self.data_dir.join("secrets")
    }

    /// The effective configuration as `KEY=value` lines, secrets masked.
    pub fn render(&self) -> String {
        let secret = |s: &Option<String>| match s {
            Some(_) => "******** (set)".to_owned(),
            None => format!("(generated in {})", self.secrets_dir().display()),
        };
        [
            format!("FF_DATA_DIR={}", self.data_dir.display()),
            format!("FF_HTTP_ADDR={}", self.http_addr),
            format!("FF_MQTT_ADDR={}", self.mqtt_addr),
            format!("FF_COAP_ADDR={}", self.coap_addr),
            format!("FF_JWT_SECRET={}", secret(&self.jwt_secret)),
            format!("FF_MASTER_KEY={}", secret(&self.master_key)),
            format!(
                "FF_BOOTSTRAP_KEY={}",
                match self.bootstrap_key {
                    Some(_) => "******** (set)",
                    None => "(unset: secure bootstrap off)",
                }
            ),
            format!(
                "FF_PROVISION_TEMPLATE={}",
                self.provision_template
                    .as_ref()
                    .map_or("(unset: Mainflux's layout)".into(), |p| p
                        .display()
                        .to_string())
            ),
            format!("FF_CLOSED_REGISTRATION={}", self.closed_registration),
            format!("FF_KEY_CLAIM_GRACE={}", self.key_claim_grace),
            format!("FF_NO_STORE={}", self.no_store),
            format!("FF_MAX_PAYLOAD={}", self.max_payload),
            format!("FF_MQTT_MAX_INFLIGHT={}", self.mqtt_max_inflight),
            format!("FF_MQTT_MAX_QUEUE={}", self.mqtt_max_queue),
            format!("FF_MQTT_MAX_QUEUE_BYTES={}", self.mqtt_max_queue_bytes),
            format!(
                "FF_MQTT_MAX_RETAINED_BYTES={}",
                self.mqtt_max_retained_bytes
            ),
            format!(
                "FF_MQTT_MAX_SESSIONS_PER_THING={}",
                self.mqtt_max_sessions_per_thing
            ),
            format!("FF_INSTANCE={}", self.instance),
            format!("FF_VIEWS={}", masked(&self.views)),
        ]
        .into_iter()
        .chain(self.log.render())
        .chain(self.bus.render())
        .chain(self.telemetry.render())
        .chain(self.influx.render())
        .chain(self.clients.render())
        .chain(self.coap.render())
        .chain(self.mail.render())
        .chain(self.feeds.render())
        .chain(self.tls.render())
        .chain(self.ws.render())
        .chain(self.mqtt_timers.render())
        .collect::<Vec<_>>()
        .join("\n")
    }
}
