//! MQTT over TLS for the bench: one throwaway CA and server certificate (EC P-256, made with
//! the openssl command line) that both brokers serve, a rustls client pinned to one cipher
//! suite (TLS 1.3, AES-128-GCM) so both brokers do the same cryptography, and the handshake
//! rate measurement.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, ensure};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

use crate::mqtt_brokers::Running;

/// A connection to a broker, plain or TLS: what the generators read and write.
pub trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}
pub type Stream = Box<dyn Io>;

/// The server certificate both brokers present, and the client that trusts it.
#[derive(Clone)]
pub struct Tls {
    pub cert: PathBuf,
    pub key: PathBuf,
    connector: TlsConnector,
}

impl Tls {
    /// A CA and a server certificate for 127.0.0.1, written into `dir`.
    pub fn make(dir: &Path) -> anyhow::Result<Tls> {
        let path = |name: &str| dir.join(name).display().to_string();
        let (ca, ca_key) = (path("ca.pem"), path("ca.key"));
        let (cert, key, csr, ext) = (
            path("server.pem"),
            path("server.key"),
            path("server.csr"),
            path("server.ext"),
        );
        let curve = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj /CN=bench";
        openssl(&format!(
            "req -x509 {curve} -days 2 -keyout {ca_key} -out {ca}"
        ))?;
        openssl(&format!("req {curve} -keyout {key} -out {csr}"))?;
        std::fs::write(&ext, "subjectAltName=IP:127.0.0.1\n")?;
        openssl(&format!(
            "x509 -req -in {csr} -CA {ca} -CAkey {ca_key} -CAcreateserial -days 2 \
             -extfile {ext} -out {cert}"
        ))?;
        Ok(Tls {
            cert: cert.into(),
            key: key.into(),
            connector: connector(Path::new(&ca))?,
        })
    }

    pub async fn connect(&self, tcp: TcpStream) -> anyhow::Result<Stream> {
        let name = ServerName::try_from("127.0.0.1")?.to_owned();
        Ok(Box::new(self.connector.connect(name, tcp).await?))
    }
}

/// Runs `openssl` with whitespace-separated `args` (the bench's paths have no spaces).
fn openssl(args: &str) -> anyhow::Result<()> {
    let output = Command::new("openssl")
        .args(args.split_whitespace())
        .output()
        .context("openssl (scripts/install-deps installs it)")?;
    ensure!(
        output.status.success(),
        "openssl {args}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    Ok(())
}

fn connector(ca: &Path) -> anyhow::Result<TlsConnector> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(ca)? {
        roots.add(cert?)?;
    }
    let mut provider = rustls::crypto::ring::default_provider();
    provider
        .cipher_suites
        .retain(|s| s.suite() == rustls::CipherSuite::TLS13_AES_128_GCM_SHA256);
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(provider))
        .with_protocol_versions(&[&rustls::version::TLS13])?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(TlsConnector::from(Arc::new(config)))
}

/// Full handshakes (no resumption), each followed by CONNECT/CONNACK and a close, from
/// `parallel` clients: per second and per server-CPU-second.
pub struct Handshakes {
    pub per_second: f64,
    pub per_cpu_second: f64,
}

pub async fn handshakes(
    running: &Running,
    count: usize,
    parallel: usize,
) -> anyhow::Result<Handshakes> {
    let cpu = running.server.cpu_seconds()?;
    let started = Instant::now();
    let per_client = count.div_ceil(parallel);
    let clients = (0..parallel).map(|client| async move {
        for i in 0..per_client {
            let id = format!("bench-hs-{client}-{i}");
            drop(running.session(&id, 60).await?);
        }
        anyhow::Ok(())
    });
    futures::future::try_join_all(clients).await?;
    let seconds = started.elapsed().as_secs_f64();
    let cpu = (running.server.cpu_seconds()? - cpu).max(0.01);
    let done = (per_client * parallel) as f64;
    Ok(Handshakes {
        per_second: done / seconds,
        per_cpu_second: done / cpu,
    })
}
