//! One TLS handshake on a listener: bounded in time, refusals counted, and a device
//! certificate turned into the thing it names before the protocol starts.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use adapters::device_certificate::DeviceCertificate;
use adapters::pipeline::Pipeline;
use rustls::pki_types::CertificateDer;
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
    /// Time a client has to finish its handshake.
    timeout: Duration,
}

impl TlsAccept {
    pub fn new(
        acceptor: TlsAcceptor,
        stats: Arc<TlsStats>,
        pipeline: Pipeline,
        timeout: Duration,
    ) -> Self {
        Self {
            acceptor,
            stats,
            pipeline,
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
        match self.device(certificate) {
            Some(device) => Some((stream, Some(device))),
            None => {
                TlsStats::count(&self.stats.unknown_device_keys);
                tracing::debug!(%peer, "device certificate refused: its CN is no thing key");
                None
            }
        }
    }

    fn device(&self, certificate: &CertificateDer<'_>) -> Option<DeviceCertificate> {
        let key = device::common_name(certificate)?;
        let thing = self.pipeline.authenticate(&key).ok()?;
        Some(DeviceCertificate {
            thing,
            key: key.into(),
        })
    }
}
