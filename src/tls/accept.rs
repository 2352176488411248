//! One TLS handshake on a listener: bounded in time, refusals counted, and a device
//! certificate turned into the thing it names before the protocol starts.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use adapters::device_certificate::DeviceCertificate;
use adapters::pipeline::Pipeline;
use projections::CertRegistry;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;

use super::client_auth::TlsStats;
use super::device;

/// What every TLS listener (HTTPS, MQTTS) runs on a new connection. Cheap to clone.
#[derive(Clone)]
pub struct TlsAccept {
    acceptor: TlsAcceptor,
    stats: Arc<TlsStats>,
    /// Finds the thing whose key a device certificate's CN is.
    pipeline: Pipeline,
    /// Certificates revoked through `DELETE /certs/{serial}` (or their thing's removal):
    /// checked at every handshake, so a revocation holds from the next connection on.
    certs: Arc<CertRegistry>,
    /// Time a client has to finish its handshake.
    timeout: Duration,
}

impl TlsAccept {
    pub fn new(
        acceptor: TlsAcceptor,
        stats: Arc<TlsStats>,
        pipeline: Pipeline,
        certs: Arc<CertRegistry>,
        timeout: Duration,
    ) -> Self {
        Self {
            acceptor,
            stats,
            pipeline,
            certs,
            timeout,
        }
    }

    /// The TLS stream and, when the client showed a certificate, its thing; `None` when
    /// the handshake failed, was too slow, or the certificate names no thing (then the
    /// connection is closed before the protocol starts).
    pub async fn accept<S>(
        &self,
        stream: S,
        peer: SocketAddr,
    ) -> Option<(TlsStream<S>, Option<DeviceCertificate>)>
    where
        S: AsyncRead + AsyncWrite + Unpin,
    {
        let stream = match tokio::time::timeout(self.timeout, self.acceptor.accept(stream)).await {
            Ok(Ok(stream)) => stream,
            Ok(Err(error)) => {
                TlsStats::count(&self.stats.handshakes_refused);
                tracing::debug!(%peer, %error, "TLS handshake refused");
                return None;
            }
            Err(_) => {
                TlsStats::count(&self.stats.handshakes_refused);
                tracing::debug!(%peer, "TLS handshake too slow");
                return None;
            }
        };
        let certificate = stream
            .get_ref()
            .1
            .peer_certificates()
            .and_then(|c| c.first());
        let Some(certificate) = certificate else {
            return Some((stream, None));
        };
        let presented = device::presented(certificate)?;
        if self.certs.is_revoked(&presented.serial) {
            TlsStats::count(&self.stats.certificates_refused);
            tracing::debug!(%peer, serial = %presented.serial, "device certificate refused: revoked");
            return None;
        }
        match self.device(presented) {
            Some(device) => Some((stream, Some(device))),
            None => {
                TlsStats::count(&self.stats.unknown_device_keys);
                tracing::debug!(%peer, "device certificate refused: its CN is no thing key");
                None
            }
        }
    }

    fn device(&self, presented: device::Presented) -> Option<DeviceCertificate> {
        let thing = self.pipeline.authenticate(&presented.key).ok()?;
        Some(DeviceCertificate {
            thing,
            key: presented.key.into(),
        })
    }
}
