//! The two MQTT brokers the bench drives identically: ferroflux (its own broker, every CONNECT
//! authenticated and every PUBLISH authorized) and Mosquitto (anonymous, no ACL), each a
//! pinned process on a free loopback port, never 1883.

use std::path::PathBuf;

use anyhow::{Context, ensure};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::http_publish::{HTTP, provision};
use crate::mqtt_wire;
use crate::server::{Server, free_port, sibling, wait_for_port};
use crate::store_probe::Store;

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Broker {
    /// Messaging only (`FF_NO_STORE`), the same work as Mosquitto plus authorization.
    Ferroflux,
    /// Also storing every message it can (the embedded telemetry writer on the same core).
    FerrofluxStoring,
    Mosquitto,
}

/// Queue limits, so an overloaded QoS 1 fan-in is not PUBACKed and then dropped by a default
/// per-client queue (Mosquitto 1,000; ferroflux 100,000): both brokers get the same
/// (1,000,000 queued, in flight unbounded for Mosquitto, 65,535 for ferroflux).
const MOSQUITTO_CONF: &str = "\
allow_anonymous true
max_queued_messages 1000000
max_queued_bytes 0
max_inflight_messages 0
persistence false
log_dest stderr
log_type error
log_type warning
";

/// A started broker, with what a client needs to use it.
pub struct Running {
    pub server: Server,
    pub addr: String,
    pub topic: String,
    credentials: Option<(String, String)>,
    /// Ferroflux stores what its telemetry writer keeps up with.
    pub store: Option<Store>,
    _dir: tempfile::TempDir,
}

impl Broker {
    pub fn name(self) -> &'static str {
        match self {
            Broker::Ferroflux => "ferroflux",
            Broker::FerrofluxStoring => "ferroflux+store",
            Broker::Mosquitto => "mosquitto",
        }
    }

    pub async fn start(self) -> anyhow::Result<Running> {
        match self {
            Broker::Ferroflux => ferroflux(false).await,
            Broker::FerrofluxStoring => ferroflux(true).await,
            Broker::Mosquitto => mosquitto().await,
        }
    }
}

async fn ferroflux(store: bool) -> anyhow::Result<Running> {
    let dir = tempfile::tempdir()?;
    let env = [
        ("FF_NO_STORE", (!store).to_string()),
        ("FF_DATA_DIR", dir.path().display().to_string()),
        ("FF_HTTP_ADDR", "127.0.0.1:0".into()),
        ("FF_MQTT_ADDR", "127.0.0.1:0".into()),
        ("FF_COAP_ADDR", "127.0.0.1:0".into()),
        ("FF_MQTT_MAX_QUEUE", "1000000".into()),
        ("FF_MQTT_MAX_QUEUE_BYTES", (1usize << 30).to_string()),
        // The idle test opens every session as one thing.
        ("FF_MQTT_MAX_SESSIONS_PER_THING", "1000000".into()),
        ("FF_MQTT_MAX_INFLIGHT", "65535".into()),
    ];
    let markers = [HTTP, "MQTT listening on mqtt://"];
    let server = Server::spawn(&sibling("ferroflux")?, &["serve"], &env, &markers)?;
    let base = format!("http://{}", server.addrs[0]);
    let p = provision(&base).await?;
    let probe = Store {
        base,
        channel: p.channel.clone(),
        token: p.token,
    };
    Ok(Running {
        addr: server.addrs[1].clone(),
        server,
        topic: format!("channels/{}/messages", p.channel),
        credentials: Some((p.thing, p.key)),
        store: store.then_some(probe),
        _dir: dir,
    })
}

async fn mosquitto() -> anyhow::Result<Running> {
    let dir = tempfile::tempdir()?;
    let port = free_port()?;
    let conf = dir.path().join("mosquitto.conf");
    let listener = format!("listener {port} 127.0.0.1\nmax_connections -1\n");
    std::fs::write(&conf, format!("{listener}{MOSQUITTO_CONF}"))?;
    let conf = conf.display().to_string();
    let server = Server::spawn(&mosquitto_path()?, &["-c", &conf], &[], &[])?;
    let addr = format!("127.0.0.1:{port}");
    wait_for_port(&addr).await?;
    Ok(Running {
        server,
        addr,
        topic: "channels/00000000-0000-0000-0000-000000000000/messages".into(),
        credentials: None,
        store: None,
        _dir: dir,
    })
}

/// Debian installs the broker in /usr/sbin, which is not on every user's PATH.
fn mosquitto_path() -> anyhow::Result<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin".into(), "/usr/local/sbin".into()])
        .map(|dir| dir.join("mosquitto"))
        .find(|candidate| candidate.is_file())
        .context("mosquitto not found (scripts/install-deps installs it)")
}

impl Running {
    /// How many messages the broker has saved (ferroflux's metric); `None` for a broker
    /// that stores nothing.
    pub async fn stored(&self) -> anyhow::Result<Option<u64>> {
        match &self.store {
            Some(store) => store.saved().await.map(Some),
            None => Ok(None),
        }
    }

    /// A connected session: CONNECT, then CONNACK accepted. TCP_NODELAY is set on every
    /// generator socket (Nagle off; the generator batches its own writes); brokers keep
    /// their defaults (Nagle on, both).
    pub async fn session(&self, client_id: &str, keep_alive: u16) -> anyhow::Result<TcpStream> {
        let mut stream = TcpStream::connect(&self.addr).await?;
        stream.set_nodelay(true)?;
        let credentials = self
            .credentials
            .as_ref()
            .map(|(user, password)| (user.as_str(), password.as_str()));
        let connect = mqtt_wire::connect(client_id, credentials, keep_alive);
        stream.write_all(&connect).await?;
        let mut connack = [0u8; 4];
        stream.read_exact(&mut connack).await?;
        ensure!(
            connack[0] == mqtt_wire::CONNACK && connack[3] == 0,
            "CONNACK refused {client_id}: {connack:?}"
        );
        Ok(stream)
    }
}
