//! `FF_CERTS_CA_CERT`, `FF_CERTS_CA_KEY`: the CA that issues device certificates
//! (`POST /certs`) and signs the CRL. Without them a CA is generated once into
//! `<data dir>/certs/` and reused on every restart.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use clap::Args;
use commands::pki::CertAuthority;

#[derive(Debug, Clone, Default, Args)]
pub struct CertsConfig {
    /// PEM certificate of the CA that issues device certificates (`POST /certs`); with
    /// FF_CERTS_CA_KEY. Unset: a CA generated into the data dir. The TLS listeners trust it
    /// for device logins.
    #[arg(long, env = "FF_CERTS_CA_CERT")]
    pub certs_ca_cert: Option<PathBuf>,
    /// PEM private key of FF_CERTS_CA_CERT.
    #[arg(long, env = "FF_CERTS_CA_KEY")]
    pub certs_ca_key: Option<PathBuf>,
}

impl CertsConfig {
    /// Reads (or, the first time without settings, generates) the CA.
    pub fn authority(&self, data_dir: &Path) -> anyhow::Result<Arc<CertAuthority>> {
        Ok(Arc::new(CertAuthority::open(
            self.certs_ca_cert.as_deref(),
            self.certs_ca_key.as_deref(),
            data_dir,
        )?))
    }
}
