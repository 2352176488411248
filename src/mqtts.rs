//! MQTTS (`FF_MQTTS_ADDR`): MQTT 3.1.1 and 5 over TLS. Each connection's TLS ends here and
//! its bytes go over loopback to the MQTT listener, as MQTT over WebSocket's do: the broker
//! sees one more client and every rule (CONNECT, ACL, limits, revocation, presence) applies
//! unchanged, for one local hop per connection (the broker's connections work on a
//! `TcpStream` directly, readiness-driven and without buffers while idle). A client with a
//! device certificate has its CONNECT signed in with it on the way (`CertifiedLogin`).

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use adapters::mqtt::CertifiedLogin;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;

use crate::tls::TlsAccept;

/// Accepts until `shutdown`; at most `max_connections` open at once (the broker's own cap
/// applies to the relayed connections as well). Open relays end when the broker closes
/// their sessions.
pub async fn serve(
    listener: TcpListener,
    tls: TlsAccept,
    broker: SocketAddr,
    max_connections: usize,
    max_packet: usize,
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
            relay(stream, peer, tls, broker, max_packet).await;
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

async fn relay(
    stream: TcpStream,
    peer: SocketAddr,
    tls: TlsAccept,
    broker: SocketAddr,
    max_packet: usize,
) {
    let _ = stream.set_nodelay(true);
    let Some((mut client, device)) = tls.accept(stream, peer).await else {
        return;
    };
    let mut upstream = match TcpStream::connect(broker).await {
        Ok(upstream) => upstream,
        Err(error) => return tracing::warn!(%error, "MQTTS: cannot reach the MQTT listener"),
    };
    let _ = upstream.set_nodelay(true);
    if let Some(device) = device {
        let login = CertifiedLogin::new(device, max_packet);
        if sign_in(&mut client, &mut upstream, login).await.is_err() {
            return;
        }
    }
    let _ = crate::relay::relay(&mut client, &mut upstream).await;
}

/// Reads until the client's first packet is whole and sends it on signed in.
async fn sign_in(
    client: &mut (impl AsyncRead + Unpin),
    upstream: &mut TcpStream,
    mut login: CertifiedLogin,
) -> std::io::Result<()> {
    // On the heap: an array here would be part of every connection's task for its life.
    let mut chunk = vec![0u8; 1024];
    loop {
        let read = client.read(&mut chunk).await?;
        if read == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        if let Some(signed_in) = login.feed(&chunk[..read]) {
            return upstream.write_all(&signed_in).await;
        }
    }
}
