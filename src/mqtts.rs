//! MQTTS (`FF_MQTTS_ADDR`): MQTT 3.1.1 and 5 over TLS. Each connection's TLS ends here and
//! its bytes go over loopback to the MQTT listener, as MQTT over WebSocket's do: the broker
//! sees one more client and every rule (CONNECT, ACL, limits, revocation, presence) applies
//! unchanged, for one local hop per connection (the broker's connections work on a
//! `TcpStream` directly, readiness-driven and without buffers while idle).

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio_rustls::TlsAcceptor;

/// Time a client has to finish its TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Accepts until `shutdown`; at most `max_connections` open at once (the broker's own cap
/// applies to the relayed connections as well). Open relays end when the broker closes
/// their sessions.
pub async fn serve(
    listener: TcpListener,
    tls: TlsAcceptor,
    broker: SocketAddr,
    max_connections: usize,
    shutdown: impl Future<Output = ()>,
) {
    let slots = Arc::new(Semaphore::new(max_connections.max(1)));
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            accepted = accept(&listener, &slots) => accepted,
            () = &mut shutdown => return,
        };
        let Some((stream, peer, slot)) = accepted else {
            continue;
        };
        let tls = tls.clone();
        tokio::spawn(async move {
            relay(stream, peer, tls, broker).await;
            drop(slot);
        });
    }
}

async fn accept(
    listener: &TcpListener,
    slots: &Arc<Semaphore>,
) -> Option<(TcpStream, SocketAddr, tokio::sync::OwnedSemaphorePermit)> {
    let slot = slots.clone().acquire_owned().await.ok()?;
    match listener.accept().await {
        Ok((stream, peer)) => Some((stream, peer, slot)),
        Err(error) => {
            // Out of file descriptors, or the peer left first: wait rather than spin.
            tracing::warn!(%error, "cannot accept an MQTTS connection");
            tokio::time::sleep(Duration::from_millis(100)).await;
            None
        }
    }
}

async fn relay(stream: TcpStream, peer: SocketAddr, tls: TlsAcceptor, broker: SocketAddr) {
    let _ = stream.set_nodelay(true);
    let mut client = match tokio::time::timeout(HANDSHAKE_TIMEOUT, tls.accept(stream)).await {
        Ok(Ok(client)) => client,
        Ok(Err(error)) => return tracing::debug!(%peer, %error, "MQTTS handshake refused"),
        Err(_) => return tracing::debug!(%peer, "MQTTS handshake too slow"),
    };
    let mut upstream = match TcpStream::connect(broker).await {
        Ok(upstream) => upstream,
        Err(error) => return tracing::warn!(%error, "MQTTS: cannot reach the MQTT listener"),
    };
    let _ = upstream.set_nodelay(true);
    let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
}
