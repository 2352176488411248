//! The CoAP adapter (RFC 7252, Observe RFC 7641, block-wise RFC 7959) on `FF_COAP_ADDR`,
//! UDP. It serves the `Pipeline` (publish) and the `MessageBus` (observe), like Mainflux's
//! CoAP adapter:
//!
//! - `POST /channels/{id}/messages[/{subtopic…}]?auth=<key>` (or `authorization=`): publish,
//!   2.04 Changed. Content-Format 110, 112, 50 are SenML JSON, SenML CBOR, JSON.
//! - `GET` with Observe 0: observe the channel (subtopic wildcards `*`, `>` allowed),
//!   receiving every protocol's messages; Observe 1 or a RST ends it. Observers are keyed
//!   by (endpoint, token) and capped per thing, per endpoint and in all (4.29, counted).
//! - Errors: 4.00 malformed, 4.01 key, 4.03 not connected, 4.04 path, 4.05 method,
//!   4.13 over `FF_MAX_PAYLOAD`, 4.08 broken Block1 sequence, 4.15 unknown format.
//!
//! Layout:
//! - this file: `CoapConfig`, `start`, the running `CoapAdapter`.
//! - `wire`: the message format, read in place; `reply`: responses and notifications.
//! - `request`: options → path, key, Observe, blocks; `refusal`: causes → response codes.
//! - `server`: the UDP loop and the per-datagram path; `get`: observe registration and
//!   notification blocks.
//! - `exchanges`: duplicate detection; `block`: block-wise transfer; `format`: formats.
//! - `observers`: the registry; `notify`: one task per observer; `revoke`: revocations.
//! - `stats`: counters.

mod block;
mod exchanges;
mod format;
mod get;
mod notify;
mod observers;
mod refusal;
mod reply;
mod request;
mod revoke;
mod server;
mod stats;
mod wire;
#[cfg(test)]
mod wire_tests;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::UdpSocket;
use tokio::sync::broadcast;
use tokio::task::JoinHandle;

pub use observers::Caps;
pub use stats::{CoapStats, CoapStatsSnapshot};

use crate::pipeline::Pipeline;
use crate::revocation::Revocation;
use refusal::code;
use server::{Shared, lock};

/// RFC 7252 §4.8 defaults.
pub const ACK_TIMEOUT: Duration = Duration::from_secs(2);
pub const MAX_RETRANSMIT: u32 = 4;
pub const EXCHANGE_LIFETIME: Duration = Duration::from_secs(247);

#[derive(Debug, Clone)]
pub struct CoapConfig {
    pub addr: SocketAddr,
    /// Largest body accepted, whole or reassembled from Block1 pieces (`FF_MAX_PAYLOAD`).
    pub max_payload: usize,
    pub caps: Caps,
    /// First wait for the ACK of a confirmable notification; doubled on each retry.
    pub ack_timeout: Duration,
    /// Retransmissions of a confirmable notification before the observer is dropped.
    pub max_retransmit: u32,
    /// How long a request's (endpoint, message id) is remembered to catch duplicates, and
    /// how long an unfinished Block1 transfer is kept.
    pub exchange_lifetime: Duration,
    /// Requests remembered at most (oldest forgotten first).
    pub max_exchanges: usize,
    /// Block1 transfers in progress at most.
    pub max_transfers: usize,
    /// Block size exponent of notifications (6: 1024 bytes), unless the client asks less.
    pub block_szx: u8,
}

impl CoapConfig {
    /// RFC defaults and generous caps; the server sets the caps from its settings.
    pub fn new(addr: SocketAddr, max_payload: usize) -> Self {
        Self {
            addr,
            max_payload,
            caps: Caps {
                per_thing: 64,
                per_endpoint: 64,
                total: 100_000,
            },
            ack_timeout: ACK_TIMEOUT,
            max_retransmit: MAX_RETRANSMIT,
            exchange_lifetime: EXCHANGE_LIFETIME,
            max_exchanges: 1 << 18,
            max_transfers: 1024,
            block_szx: block::SZX_1024,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CoapError {
    /// The address is taken or not ours: free it or set another `FF_COAP_ADDR`.
    #[error("cannot listen for CoAP on udp {0}: {1}")]
    Bind(SocketAddr, std::io::Error),
}

/// A running CoAP adapter. Dropping it stops the loop and ends every observer silently;
/// `shutdown` tells observers first.
pub struct CoapAdapter {
    local_addr: SocketAddr,
    shared: Arc<Shared>,
    tasks: Vec<JoinHandle<()>>,
}

/// Binds `config.addr` and starts the loop and the revoker. When this returns, datagrams
/// are being received.
pub async fn start(
    config: CoapConfig,
    pipeline: Pipeline,
    revocations: broadcast::Receiver<Revocation>,
) -> Result<CoapAdapter, CoapError> {
    let socket = bind(config.addr).map_err(|e| CoapError::Bind(config.addr, e))?;
    let local_addr = socket
        .local_addr()
        .map_err(|e| CoapError::Bind(config.addr, e))?;
    let stats = Arc::new(CoapStats::default());
    let shared = Arc::new(Shared::new(socket, pipeline, config, stats));
    let tasks = vec![
        tokio::spawn(server::run(shared.clone())),
        tokio::spawn(revoke::revoke(shared.clone(), revocations)),
    ];
    Ok(CoapAdapter {
        local_addr,
        shared,
        tasks,
    })
}

/// Bytes of datagrams the kernel may hold for the loop: room for thousands of requests
/// arriving at once (the default, ~200 KiB, drops a burst of ~200 small ones). The kernel
/// caps it at `net.core.rmem_max`.
const RECEIVE_BUFFER: usize = 4 << 20;

fn bind(addr: SocketAddr) -> std::io::Result<UdpSocket> {
    use socket2::{Domain, Protocol, Socket, Type};
    let socket = Socket::new(Domain::for_address(addr), Type::DGRAM, Some(Protocol::UDP))?;
    if let Err(error) = socket.set_recv_buffer_size(RECEIVE_BUFFER) {
        tracing::warn!(%error, "CoAP: cannot enlarge the UDP receive buffer");
    }
    socket.set_nonblocking(true)?;
    socket.bind(&addr.into())?;
    UdpSocket::from_std(socket.into())
}

impl CoapAdapter {
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    pub fn stats(&self) -> CoapStatsSnapshot {
        self.shared.stats.snapshot()
    }

    /// The live counters, shared with `/metrics`.
    pub fn counters(&self) -> Arc<CoapStats> {
        self.shared.stats.clone()
    }

    /// Stops receiving, then ends every observer with a last 5.03 notification (RFC 7641
    /// §3.2), so clients know to register again once the server is back.
    pub async fn shutdown(mut self) {
        for task in self.tasks.drain(..) {
            task.abort();
        }
        let observers = lock(&self.shared.registry).clear();
        for observer in observers {
            self.shared.send_final(observer, code::UNAVAILABLE).await;
        }
    }
}

impl Drop for CoapAdapter {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
        lock(&self.shared.registry).clear();
    }
}
