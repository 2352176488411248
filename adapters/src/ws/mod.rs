//! The WebSocket adapter (plain WebSocket; MQTT over WebSocket is `mqtt::websocket`): a
//! device or a browser publishes and subscribes on one socket, upgraded on the HTTP
//! listeners at `GET [/ws]/channels/{id}/messages[/{subtopic…}]`. It serves the `Pipeline`
//! (every frame is a publish) and reads the `MessageBus` (the socket gets the channel's
//! messages from every protocol) and the `RevocationFeed`.
//!
//! The same path without an `Upgrade: websocket` header is the reader API's, so the HTTP
//! listener asks `wants_websocket` of each request before the router sees it, and gives the
//! upgrades on channel paths to `accept`.
//!
//! Layout:
//! - this file: `WsConfig`, `WsAdapter`, `wants_websocket` and `accept`.
//! - `path`: the path → channel, subscription filter, publish subtopic.
//! - `handshake`: key and content type, authorization and the session cap, before the
//!   upgrade (400, 401, 403, 503).
//! - `session`: one socket's loop: frames → pipeline, bus → frames, keep-alive,
//!   revocation, slow sockets.
//! - `frames`: how messages and endings look on the wire (frame types, close codes).
//! - `stats`: counters for `/metrics`.

mod frames;
mod handshake;
pub mod path;
mod session;
mod stats;

use std::sync::Arc;
use std::time::Duration;

use axum::extract::Request;
use axum::http::header::UPGRADE;
use tokio::sync::{Semaphore, watch};

pub use frames::close_code;
pub use handshake::accept;
pub use stats::{WsStats, WsStatsSnapshot};

use crate::pipeline::Pipeline;
use crate::revocation::RevocationFeed;

/// Default `FF_WS_MAX_SESSIONS`: as many sockets as the HTTP listener's connections.
pub const DEFAULT_MAX_SESSIONS: usize = 4096;
/// Default `FF_WS_PING_INTERVAL`.
pub const DEFAULT_PING_INTERVAL: Duration = Duration::from_secs(30);
/// Default `FF_WS_MAX_QUEUE`: messages waiting for one socket before it is dropped.
pub const DEFAULT_MAX_QUEUE: usize = 256;

#[derive(Debug, Clone, Copy)]
pub struct WsConfig {
    /// Sockets open at once; a handshake beyond them is answered 503.
    pub max_sessions: usize,
    /// The server pings this often; a socket that has sent nothing (pong or frame) for a
    /// whole interval after a ping is dropped, and so is one that cannot take a frame for
    /// that long.
    pub ping_interval: Duration,
    /// Messages the bus queues for one socket; a socket that falls this far behind is
    /// dropped (1013) rather than slow the bus or other sockets.
    pub max_queue: usize,
    /// Largest frame a client may send (`FF_MAX_PAYLOAD`); a larger one ends the socket
    /// (1009).
    pub max_payload: usize,
}

/// The adapter's shared state. Cheap to clone.
#[derive(Clone)]
pub struct WsAdapter {
    pipeline: Pipeline,
    revocations: RevocationFeed,
    config: WsConfig,
    sessions: Arc<Semaphore>,
    stats: Arc<WsStats>,
    /// Set once, at shutdown: every session closes with 1001.
    stopping: Arc<watch::Sender<bool>>,
}

impl WsAdapter {
    pub fn new(pipeline: Pipeline, revocations: RevocationFeed, config: WsConfig) -> Self {
        Self {
            pipeline,
            revocations,
            sessions: Arc::new(Semaphore::new(config.max_sessions.max(1))),
            config,
            stats: Arc::default(),
            stopping: Arc::new(watch::Sender::new(false)),
        }
    }

    /// Closes every session (1001, "server stopping") and waits, at most `limit`, for
    /// them to end; new handshakes are refused (503) from now on.
    pub async fn shutdown(&self, limit: Duration) {
        self.stopping.send_replace(true);
        self.sessions.close();
        let deadline = tokio::time::Instant::now() + limit;
        while self.stats.snapshot().live > 0 && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// The live counters, shared with `/metrics`.
    pub fn stats(&self) -> Arc<WsStats> {
        self.stats.clone()
    }
}

/// An `Upgrade: websocket` request on a path of this adapter. One header lookup for any
/// other request, so asking costs the REST API nothing to speak of.
pub fn wants_websocket(request: &Request) -> bool {
    let upgrade = request.headers().get(UPGRADE).map(|v| v.as_bytes());
    let Some(upgrade) = upgrade else {
        return false;
    };
    let path = request.uri().path();
    upgrade.eq_ignore_ascii_case(b"websocket")
        && (path.starts_with("/channels/") || path.starts_with("/ws/"))
}
