//! `FF_COAP_*`: the CoAP adapter's bounds (its address is `FF_COAP_ADDR`, beside the other
//! listeners). Observers hold a bus subscription and a task each, so their number is
//! capped per thing, per client endpoint and in all; a registration beyond is answered
//! 4.29 and counted (`ferroflux_coap_observers_capped_total`).

use std::net::SocketAddr;
use std::time::Duration;

use adapters::coap::{self, Caps, CoapConfig};
use clap::Args;

/// Room for a gateway observing many channels, not for a leaked key's flood.
const DEFAULT_MAX_OBSERVERS_PER_THING: usize = 64;
const DEFAULT_MAX_OBSERVERS_PER_ENDPOINT: usize = 64;
const DEFAULT_MAX_OBSERVERS: usize = 100_000;

#[derive(Debug, Clone, Args)]
pub struct CoapLimits {
    /// CoAP observers one thing may hold (over every endpoint it observes from).
    #[arg(long, env = "FF_COAP_MAX_OBSERVERS_PER_THING", default_value_t = DEFAULT_MAX_OBSERVERS_PER_THING)]
    pub coap_max_observers_per_thing: usize,
    /// CoAP observers one client endpoint (address and port) may hold.
    #[arg(long, env = "FF_COAP_MAX_OBSERVERS_PER_ENDPOINT", default_value_t = DEFAULT_MAX_OBSERVERS_PER_ENDPOINT)]
    pub coap_max_observers_per_endpoint: usize,
    /// CoAP observers in all.
    #[arg(long, env = "FF_COAP_MAX_OBSERVERS", default_value_t = DEFAULT_MAX_OBSERVERS)]
    pub coap_max_observers: usize,
    /// Milliseconds to wait for the ACK of a confirmable notification before sending it
    /// again (RFC 7252 ACK_TIMEOUT; doubled at each retry).
    #[arg(long, env = "FF_COAP_ACK_TIMEOUT_MS", default_value_t = coap::ACK_TIMEOUT.as_millis() as u64)]
    pub coap_ack_timeout_ms: u64,
    /// Retransmissions of an unacknowledged confirmable notification before the observer
    /// is dropped (RFC 7252 MAX_RETRANSMIT).
    #[arg(long, env = "FF_COAP_MAX_RETRANSMIT", default_value_t = coap::MAX_RETRANSMIT)]
    pub coap_max_retransmit: u32,
}

impl Default for CoapLimits {
    fn default() -> Self {
        Self {
            coap_max_observers_per_thing: DEFAULT_MAX_OBSERVERS_PER_THING,
            coap_max_observers_per_endpoint: DEFAULT_MAX_OBSERVERS_PER_ENDPOINT,
            coap_max_observers: DEFAULT_MAX_OBSERVERS,
            coap_ack_timeout_ms: coap::ACK_TIMEOUT.as_millis() as u64,
            coap_max_retransmit: coap::MAX_RETRANSMIT,
        }
    }
}

impl CoapLimits {
    pub fn check(&self) -> anyhow::Result<()> {
        let caps = [
            (
                "FF_COAP_MAX_OBSERVERS_PER_THING",
                self.coap_max_observers_per_thing,
            ),
            (
                "FF_COAP_MAX_OBSERVERS_PER_ENDPOINT",
                self.coap_max_observers_per_endpoint,
            ),
            ("FF_COAP_MAX_OBSERVERS", self.coap_max_observers),
        ];
        for (name, value) in caps {
            if value == 0 {
                anyhow::bail!("{name} must be at least 1");
            }
        }
        if self.coap_ack_timeout_ms == 0 {
            anyhow::bail!("FF_COAP_ACK_TIMEOUT_MS must be at least 1");
        }
        Ok(())
    }

    /// The adapter's configuration on `addr`.
    pub fn adapter(&self, addr: SocketAddr, max_payload: usize) -> CoapConfig {
        CoapConfig {
            caps: Caps {
                per_thing: self.coap_max_observers_per_thing,
                per_endpoint: self.coap_max_observers_per_endpoint,
                total: self.coap_max_observers,
            },
            ack_timeout: Duration::from_millis(self.coap_ack_timeout_ms),
            max_retransmit: self.coap_max_retransmit,
            ..CoapConfig::new(addr, max_payload)
        }
    }

    pub fn render(&self) -> Vec<String> {
        vec![
            format!(
                "FF_COAP_MAX_OBSERVERS_PER_THING={}",
                self.coap_max_observers_per_thing
            ),
            format!(
                "FF_COAP_MAX_OBSERVERS_PER_ENDPOINT={}",
                self.coap_max_observers_per_endpoint
            ),
            format!("FF_COAP_MAX_OBSERVERS={}", self.coap_max_observers),
            format!("FF_COAP_ACK_TIMEOUT_MS={}", self.coap_ack_timeout_ms),
            format!("FF_COAP_MAX_RETRANSMIT={}", self.coap_max_retransmit),
        ]
    }
}
