//! Device certificates (`FF_TLS_CLIENT_CA`, `FF_TLS_CLIENT_AUTH`): which client certificates
//! the TLS listeners accept, and how many they refused.
//!
//! rustls' WebPKI verifier checks the chain to the configured CA and the validity dates;
//! this wrapper only counts its refusals (a wrong CA, an expired certificate), which the
//! client otherwise sees as a failed handshake and the operator would not see at all.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use rustls::client::danger::HandshakeSignatureValid;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, UnixTime};
use rustls::server::WebPkiClientVerifier;
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{DigitallySignedStruct, DistinguishedName, RootCertStore, SignatureScheme};

use super::TlsError;

/// TLS counters for `/metrics`; zero while TLS is off.
#[derive(Debug, Default)]
pub struct TlsStats {
    /// Handshakes that failed or timed out, on any TLS listener.
    pub handshakes_refused: AtomicU64,
    /// Client certificates refused: not from the CA, expired, malformed (by the verifier),
    /// or revoked (right after the handshake).
    pub certificates_refused: AtomicU64,
    /// Valid client certificates whose CN is no thing's key (a removed thing, a changed
    /// key): the connection is closed right after the handshake.
    pub unknown_device_keys: AtomicU64,
}

impl TlsStats {
    pub fn count(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

/// The CA certificates device certificates must chain to, read at start.
pub fn read_client_ca(path: &Path) -> Result<RootCertStore, TlsError> {
    let error = |why: String| TlsError::ClientCa {
        path: path.display().to_string(),
        why,
    };
    let mut roots = RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(path).map_err(|e| error(e.to_string()))? {
        let cert = cert.map_err(|e| error(e.to_string()))?;
        roots.add(cert).map_err(|e| error(e.to_string()))?;
    }
    if roots.is_empty() {
        return Err(error("no PEM certificate in the file".into()));
    }
    Ok(roots)
}

/// The verifier for the listeners: `required` refuses a handshake without a certificate;
/// otherwise a client may come without one and authenticate with a key as before.
pub fn verifier(
    roots: Arc<RootCertStore>,
    required: bool,
    provider: Arc<CryptoProvider>,
    stats: Arc<TlsStats>,
) -> Result<Arc<dyn ClientCertVerifier>, TlsError> {
    let builder = WebPkiClientVerifier::builder_with_provider(roots, provider);
    let builder = match required {
        true => builder,
        false => builder.allow_unauthenticated(),
    };
    let inner = builder
        .build()
        .map_err(|e| TlsError::Setup(e.to_string()))?;
    Ok(Arc::new(Counted { inner, stats }))
}

#[derive(Debug)]
struct Counted {
    inner: Arc<dyn ClientCertVerifier>,
    stats: Arc<TlsStats>,
}

impl ClientCertVerifier for Counted {
    fn offer_client_auth(&self) -> bool {
        self.inner.offer_client_auth()
    }

    fn client_auth_mandatory(&self) -> bool {
        self.inner.client_auth_mandatory()
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        self.inner.root_hint_subjects()
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        let verdict = self
            .inner
            .verify_client_cert(end_entity, intermediates, now);
        if let Err(error) = &verdict {
            TlsStats::count(&self.stats.certificates_refused);
            tracing::debug!(%error, "client certificate refused");
        }
        verdict
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}
