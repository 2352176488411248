//! `FF_TLS_*`, `FF_HTTPS_ADDR`, `FF_MQTTS_ADDR`: TLS for the listeners. Off unless a
//! certificate and its key are given; the plain listeners stay on beside it.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Args;

#[derive(Debug, Clone, Args)]
pub struct TlsConfig {
    /// PEM certificate chain (the server's certificate first) for the TLS listeners;
    /// reread on SIGHUP, so a renewed certificate needs no restart.
    #[arg(long, env = "FF_TLS_CERT")]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key of that certificate (PKCS#8, PKCS#1 or SEC1).
    #[arg(long, env = "FF_TLS_KEY")]
    pub tls_key: Option<PathBuf>,
    /// The HTTPS listener (REST API, HTTP adapter, reader), on when a certificate is set.
    #[arg(long, env = "FF_HTTPS_ADDR", default_value = "0.0.0.0:8443")]
    pub https_addr: SocketAddr,
    /// The MQTTS listener (MQTT 3.1.1 and 5 over TLS), on when a certificate is set.
    #[arg(long, env = "FF_MQTTS_ADDR", default_value = "0.0.0.0:8883")]
    pub mqtts_addr: SocketAddr,
}

impl Default for TlsConfig {
    fn default() -> Self {
        Self {
            tls_cert: None,
            tls_key: None,
            https_addr: ([0, 0, 0, 0], 8443).into(),
            mqtts_addr: ([0, 0, 0, 0], 8883).into(),
        }
    }
}

impl TlsConfig {
    /// The certificate and key files when TLS is on.
    pub fn files(&self) -> Option<(PathBuf, PathBuf)> {
        Some((self.tls_cert.clone()?, self.tls_key.clone()?))
    }

    pub fn check(&self) -> anyhow::Result<()> {
        if self.tls_cert.is_some() != self.tls_key.is_some() {
            anyhow::bail!(
                "FF_TLS_CERT and FF_TLS_KEY go together: set both (TLS on) or neither (off)"
            );
        }
        Ok(())
    }

    pub fn render(&self) -> Vec<String> {
        let path = |p: &Option<PathBuf>| {
            p.as_ref()
                .map_or("(off)".to_owned(), |p| p.display().to_string())
        };
        vec![
            format!("FF_TLS_CERT={}", path(&self.tls_cert)),
            format!("FF_TLS_KEY={}", path(&self.tls_key)),
            format!("FF_HTTPS_ADDR={}", self.https_addr),
            format!("FF_MQTTS_ADDR={}", self.mqtts_addr),
        ]
    }
}
