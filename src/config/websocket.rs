//! `FF_WS_*`: the WebSocket adapter's limits (sockets open, keep-alive, slow sockets).

use std::time::Duration;

use adapters::ws::{DEFAULT_MAX_QUEUE, DEFAULT_MAX_SESSIONS, DEFAULT_PING_INTERVAL, WsConfig};
use clap::Args;

#[derive(Debug, Clone, Args)]
pub struct WebSocketConfig {
    /// WebSocket sessions (`/channels/{id}/messages`, `/ws/…`) open at once, on the HTTP
    /// and HTTPS listeners together; a handshake beyond them is answered 503. An upgraded
    /// socket no longer counts against `FF_HTTP_MAX_CONNECTIONS`.
    #[arg(long, env = "FF_WS_MAX_SESSIONS", default_value_t = DEFAULT_MAX_SESSIONS)]
    pub ws_max_sessions: usize,
    /// Seconds between the server's pings; a socket silent for an interval after a ping,
    /// or unable to take a frame for that long, is dropped.
    #[arg(long, env = "FF_WS_PING_INTERVAL", default_value_t = DEFAULT_PING_INTERVAL.as_secs())]
    pub ws_ping_interval: u64,
    /// Messages waiting for one socket; a socket that falls further behind is dropped
    /// (close code 1013) instead of slowing anyone else.
    #[arg(long, env = "FF_WS_MAX_QUEUE", default_value_t = DEFAULT_MAX_QUEUE)]
    pub ws_max_queue: usize,
}

impl Default for WebSocketConfig {
    fn default() -> Self {
        Self {
            ws_max_sessions: DEFAULT_MAX_SESSIONS,
            ws_ping_interval: DEFAULT_PING_INTERVAL.as_secs(),
            ws_max_queue: DEFAULT_MAX_QUEUE,
        }
    }
}

impl WebSocketConfig {
    pub fn check(&self) -> anyhow::Result<()> {
        let positive = [
            ("FF_WS_MAX_SESSIONS", self.ws_max_sessions),
            ("FF_WS_PING_INTERVAL", self.ws_ping_interval as usize),
            ("FF_WS_MAX_QUEUE", self.ws_max_queue),
        ];
        for (name, value) in positive {
            if value == 0 {
                anyhow::bail!("{name} must be at least 1");
            }
        }
        if self.ws_max_queue > adapters::bus::MAX_CAPACITY {
            anyhow::bail!(
                "FF_WS_MAX_QUEUE must be at most {}",
                adapters::bus::MAX_CAPACITY
            );
        }
        Ok(())
    }

    /// The adapter's settings, with the payload limit every adapter shares.
    pub fn adapter(&self, max_payload: usize) -> WsConfig {
        WsConfig {
            max_sessions: self.ws_max_sessions,
            ping_interval: Duration::from_secs(self.ws_ping_interval),
            max_queue: self.ws_max_queue,
            max_payload,
        }
    }

    pub fn render(&self) -> Vec<String> {
        vec![
            format!("FF_WS_MAX_SESSIONS={}", self.ws_max_sessions),
            format!("FF_WS_PING_INTERVAL={}", self.ws_ping_interval),
            format!("FF_WS_MAX_QUEUE={}", self.ws_max_queue),
        ]
    }
}
