//! TLS for the listeners (rustls on the ring provider): the certificate and key read from
//! PEM files, checked against each other at start, and swapped in place when the operator
//! sends SIGHUP after renewing them. Connections already open keep the certificate they
//! were made with; new handshakes get the new one.
//!
//! Layout:
//! - this file: `Certificates`, the server certificate and the device CA.
//! - `accept`: one handshake on a listener, and the thing a device certificate names.
//! - `client_auth`: the device certificate verifier (`FF_TLS_CLIENT_CA`) and TLS counters.
//! - `device`: a certificate's CN and serial.
//!
//! Which device certificates are trusted: those chaining to `FF_TLS_CLIENT_CA`, and always
//! those of the CA behind `POST /certs` (`FF_CERTS_CA_CERT` or the one generated into the
//! data dir), so a certificate issued by the server logs its device in with no further
//! setting. Revocation is checked after the handshake against the live revoked set.

mod accept;
mod client_auth;
mod device;

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use rustls::{RootCertStore, ServerConfig};
use tokio_rustls::TlsAcceptor;

pub use accept::TlsAccept;
pub use client_auth::TlsStats;

/// Why a certificate could not be used; each names the file and the setting.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("FF_TLS_CERT={path}: {why}")]
    Cert { path: String, why: String },
    #[error("FF_TLS_KEY={path}: {why}")]
    Key { path: String, why: String },
    #[error("FF_TLS_CERT and FF_TLS_KEY do not belong together: {0}")]
    Mismatch(String),
    #[error("FF_TLS_CLIENT_CA={path}: {why}")]
    ClientCa { path: String, why: String },
    #[error("TLS cannot be set up: {0}")]
    Setup(String),
}

/// Who may present device certificates (mTLS): the CAs that sign them, and whether every
/// TLS client must.
#[derive(Debug, Clone)]
pub struct DeviceCa {
    pub file: PathBuf,
    pub required: bool,
}

/// The current certificate, replaced whole on reload, and the device CA (read at start).
#[derive(Debug)]
pub struct Certificates {
    cert: PathBuf,
    key: PathBuf,
    provider: Arc<CryptoProvider>,
    current: RwLock<Arc<CertifiedKey>>,
    devices: Option<(Arc<RootCertStore>, bool)>,
}

impl Certificates {
    /// Reads and checks the pair and the device CA; an error names the setting to fix.
    /// `issuing_ca` (DER) is the CA of `POST /certs`, trusted beside `devices`.
    pub fn load(
        cert: &Path,
        key: &Path,
        devices: Option<&DeviceCa>,
        issuing_ca: Option<&[u8]>,
    ) -> Result<Arc<Self>, TlsError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let current = read_pair(&provider, cert, key)?;
        let mut roots = match devices {
            Some(ca) => client_auth::read_client_ca(&ca.file)?,
            None => RootCertStore::empty(),
        };
        if let Some(der) = issuing_ca {
            roots.add(CertificateDer::from(der.to_vec())).map_err(|e| {
                TlsError::Setup(format!("the certificate authority of /certs: {e}"))
            })?;
        }
        let required = devices.is_some_and(|ca| ca.required);
        let devices = (!roots.is_empty()).then(|| (Arc::new(roots), required));
        Ok(Arc::new(Self {
            cert: cert.to_owned(),
            key: key.to_owned(),
            provider,
            current: RwLock::new(Arc::new(current)),
            devices,
        }))
    }

    /// Reads the files again; on any error the certificate in use stays.
    pub fn reload(&self) -> Result<(), TlsError> {
        let fresh = read_pair(&self.provider, &self.cert, &self.key)?;
        *self.current.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(fresh);
        Ok(())
    }

    /// An acceptor that always presents the current certificate, offering `alpn` (a client
    /// that asks for none of them is still served), and asks for a device certificate when
    /// a device CA is set (refusals counted in `stats`).
    pub fn acceptor(
        self: &Arc<Self>,
        alpn: &[&[u8]],
        stats: &Arc<TlsStats>,
    ) -> Result<TlsAcceptor, TlsError> {
        let builder = ServerConfig::builder_with_provider(self.provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| TlsError::Setup(e.to_string()))?;
        let builder = match &self.devices {
            None => builder.with_no_client_auth(),
            Some((roots, required)) => builder.with_client_cert_verifier(client_auth::verifier(
                roots.clone(),
                *required,
                self.provider.clone(),
                stats.clone(),
            )?),
        };
        let mut config = builder.with_cert_resolver(self.clone());
        config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
        Ok(TlsAcceptor::from(Arc::new(config)))
    }
}

impl ResolvesServerCert for Certificates {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(
            self.current
                .read()
                .unwrap_or_else(|p| p.into_inner())
                .clone(),
        )
    }
}

fn read_pair(provider: &CryptoProvider, cert: &Path, key: &Path) -> Result<CertifiedKey, TlsError> {
    let cert_error = |why: String| TlsError::Cert {
        path: cert.display().to_string(),
        why,
    };
    let key_error = |why: String| TlsError::Key {
        path: key.display().to_string(),
        why,
    };
    let chain = CertificateDer::pem_file_iter(cert)
        .map_err(|e| cert_error(e.to_string()))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| cert_error(e.to_string()))?;
    if chain.is_empty() {
        return Err(cert_error("no PEM certificate in the file".into()));
    }
    let private = PrivateKeyDer::from_pem_file(key).map_err(|e| match e {
        rustls::pki_types::pem::Error::NoItemsFound => {
            key_error("no PEM private key in the file".into())
        }
        other => key_error(other.to_string()),
    })?;
    let signing = provider
        .key_provider
        .load_private_key(private)
        .map_err(|e| key_error(e.to_string()))?;
    let pair = CertifiedKey::new(chain, signing);
    pair.keys_match()
        .map_err(|e| TlsError::Mismatch(e.to_string()))?;
    Ok(pair)
}
