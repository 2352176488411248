//! The two MQTT brokers the bench drives identically: ferroflux (its own broker, every CONNECT
//! authenticated and every PUBLISH authorized) and Mosquitto (anonymous, no ACL), each a
//! pinned process on a free loopback port, never 1883.

use std::path::PathBuf;

use anyhow::{Context, ensure};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::http_publish::{HTTP, provision};
use crate::mqtt_tls::{Stream, Tls};
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
    /// `Ferroflux` on its MQTTS listener (TLS ends in the process, relayed to the broker).
    FerrofluxTls,
    /// `Mosquitto` on a TLS listener with the same certificate.
    MosquittoTls,
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
    /// Set for the TLS brokers: how clients connect.
    tls: Option<Tls>,
    _dir: tempfile::TempDir,
}

impl Broker {
    pub fn name(self) -> &'static str {
        match self {
            Broker::Ferroflux => "ferroflux",
            Broker::FerrofluxStoring => "ferroflux+store",
            Broker::Mosquitto => "mosquitto",
            Broker::FerrofluxTls => "ferroflux TLS",
            Broker::MosquittoTls => "mosquitto TLS",
        }
    }

    pub async fn start(self) -> anyhow::Result<Running> {
        let dir = tempfile::tempdir()?;
        let tls = match self {
            Broker::FerrofluxTls | Broker::MosquittoTls => Some(Tls::make(dir.path())?),
            _ => None,
        };
        match self {
            Broker::Ferroflux | Broker::FerrofluxTls => ferroflux(dir, false, tls).await,
            Broker::FerrofluxStoring => ferroflux(dir, true, None).await,
            Broker::Mosquitto | Broker::MosquittoTls => mosquitto(dir, tls).await,
        }
    }
}

async fn ferroflux(
    dir: tempfile::TempDir,
    store: bool,
    tls: Option<Tls>,
) -> anyhow::Result<Running> {
    let mut env = vec![
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
    let mut markers = vec![HTTP, "MQTT listening on mqtt://"];
    if let Some(tls) = &tls {
        env.extend([
            ("FF_TLS_CERT", tls.cert.display().to_string()),
            ("FF_TLS_KEY", tls.key.display().to_string()),
            ("FF_HTTPS_ADDR", "127.0.0.1:0".into()),
            ("FF_MQTTS_ADDR", "127.0.0.1:0".into()),
        ]);
        markers.push("MQTTS listening on mqtts://");
    }
    let server = Server::spawn(&sibling("ferroflux")?, &["serve"], &env, &markers)?;
    let base = format!("http://{}", server.addrs[0]);
    let p = provision(&base).await?;
    let probe = Store {
        base,
        channel: p.channel.clone(),
        token: p.token,
    };
    Ok(Running {
        addr: server.addrs.last().cloned().unwrap_or_default(),
        server,
        topic: format!("channels/{}/messages", p.channel),
        credentials: Some((p.thing, p.key)),
        store: store.then_some(probe),
        tls,
        _dir: dir,
    })
}

async fn mosquitto(dir: tempfile::TempDir, tls: Option<Tls>) -> anyhow::Result<Running> {
    let port = free_port()?;
    let conf = dir.path().join("mosquitto.conf");
    let mut listener = format!("listener {port} 127.0.0.1\nmax_connections -1\n");
    if let Some(tls) = &tls {
        let (cert, key) = (tls.cert.display(), tls.key.display());
        // Started as root, Mosquitto reads its certificate after dropping to its own user,
        // who cannot enter the bench's private temporary folder.
        listener.push_str(&format!("certfile {cert}\nkeyfile {key}\nuser root\n"));
    }
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
        tls,
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

    /// A connected session (over TLS for the TLS brokers): CONNECT, then CONNACK accepted.
    /// TCP_NODELAY is set on every
    /// generator socket (Nagle off; the generator batches its own writes); brokers keep
    /// their defaults (Nagle on, both).
    pub async fn session(&self, client_id: &str, keep_alive: u16) -> anyhow::Result<Stream> {
        let tcp = TcpStream::connect(&self.addr).await?;
        tcp.set_nodelay(true)?;
        let mut stream: Stream = match &self.tls {
            Some(tls) => tls.connect(tcp).await?,
            None => Box::new(tcp),
        };
        let credentials = self
            .credentials
            .as_ref()
            .map(|(user, password)| (user.as_str(), password.as_str()));
        let connect = mqtt_wire::connect(client_id, credentials, keep_alive);
        stream.write_all(&connect).await?;
        // A TLS stream may keep written records until flushed (a no-op on plain TCP).
        stream.flush().await?;
        let mut connack = [0u8; 4];
        stream.read_exact(&mut connack).await?;
        ensure!(
            connack[0] == mqtt_wire::CONNACK && connack[3] == 0,
            "CONNACK refused {client_id}: {connack:?}"
        );
        Ok(stream)
    }
}
