//! `FF_TLS_*`, `FF_HTTPS_ADDR`, `FF_MQTTS_ADDR`: TLS for the listeners. Off unless a
//! certificate and its key are given; the plain listeners stay on beside it.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Args;

use crate::tls::DeviceCa;

#[derive(Debug, Clone, Args)]
pub struct TlsConfig {
    /// PEM certificate chain (the server's certificate first) for the TLS listeners;
    /// reread on SIGHUP, so a renewed certificate needs no restart.
    #[arg(long, env = "FF_TLS_CERT")]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key of that certificate (PKCS#8, PKCS#1 or SEC1).
    #[arg(long, env = "FF_TLS_KEY")]
    pub tls_key: Option<PathBuf>,
    /// PEM file of the CA(s) that sign device certificates. Turns on mTLS on HTTPS, MQTTS
    /// and WSS: a client certificate chaining to it authenticates the thing whose key its
    /// subject CN is. Read at start.
    #[arg(long, env = "FF_TLS_CLIENT_CA")]
    pub tls_client_ca: Option<PathBuf>,
    /// With FF_TLS_CLIENT_CA: `optional` (a device certificate or a key, as before) or
    /// `required` (every TLS client, REST API users included, shows a certificate).
    #[arg(
        long,
        env = "FF_TLS_CLIENT_AUTH",
        value_enum,
        default_value = "optional"
    )]
    pub tls_client_auth: ClientAuth,
    /// The HTTPS listener (REST API, HTTP adapter, reader), on when a certificate is set.
    #[arg(long, env = "FF_HTTPS_ADDR", default_value = "0.0.0.0:8443")]
    pub https_addr: SocketAddr,
    /// The MQTTS listener (MQTT 3.1.1 and 5 over TLS), on when a certificate is set.
    #[arg(long, env = "FF_MQTTS_ADDR", default_value = "0.0.0.0:8883")]
    pub mqtts_addr: SocketAddr,
}

/// `FF_TLS_CLIENT_AUTH`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ClientAuth {
    Optional,
    Required,
}

impl Default for TlsConfig {
    fn default() -> Self {
        Self {
            tls_cert: None,
            tls_key: None,
            tls_client_ca: None,
            tls_client_auth: ClientAuth::Optional,
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

    /// Who may present device certificates, when mTLS is on.
    pub fn device_ca(&self) -> Option<DeviceCa> {
        Some(DeviceCa {
            file: self.tls_client_ca.clone()?,
            required: self.tls_client_auth == ClientAuth::Required,
        })
    }

    pub fn check(&self) -> anyhow::Result<()> {
        if self.tls_cert.is_some() != self.tls_key.is_some() {
            anyhow::bail!(
                "FF_TLS_CERT and FF_TLS_KEY go together: set both (TLS on) or neither (off)"
            );
        }
        if self.tls_client_ca.is_some() && self.tls_cert.is_none() {
            anyhow::bail!("FF_TLS_CLIENT_CA needs TLS on: set FF_TLS_CERT and FF_TLS_KEY too");
        }
        if self.tls_client_auth == ClientAuth::Required && self.tls_client_ca.is_none() {
            anyhow::bail!(
                "FF_TLS_CLIENT_AUTH=required needs FF_TLS_CLIENT_CA, the CA device certificates chain to"
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
            format!("FF_TLS_CLIENT_CA={}", path(&self.tls_client_ca)),
            format!(
                "FF_TLS_CLIENT_AUTH={}",
                match self.tls_client_auth {
                    ClientAuth::Optional => "optional",
                    ClientAuth::Required => "required",
                }
            ),
            format!("FF_HTTPS_ADDR={}", self.https_addr),
            format!("FF_MQTTS_ADDR={}", self.mqtts_addr),
        ]
    }
}
