//! Counters of the MQTT adapter, readable at any time (tests, `/metrics`).

use std::sync::atomic::{AtomicU64, Ordering};

/// Live counters, updated with relaxed atomics (they are statistics, not synchronization).
#[derive(Debug, Default)]
pub struct MqttStats {
    connects: AtomicU64,
    connects_refused: AtomicU64,
    disconnects: AtomicU64,
    publishes: AtomicU64,
    publishes_refused: AtomicU64,
    subscribes_refused: AtomicU64,
    injected: AtomicU64,
    inject_failures: AtomicU64,
    injector_lagged: AtomicU64,
    sessions_closed: AtomicU64,
    dropped: AtomicU64,
    retained_refused: AtomicU64,
}

/// A copy of the counters at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MqttStatsSnapshot {
    /// CONNECTs accepted (each is a presence "connect" event).
    pub connects: u64,
    /// CONNECTs refused: bad credentials or an unauthorized will.
    pub connects_refused: u64,
    /// Sessions of authenticated things that ended (each is a presence "disconnect").
    pub disconnects: u64,
    /// PUBLISHes authorized and handed to the bus.
    pub publishes: u64,
    /// PUBLISHes refused (malformed topic, not connected, bus down): connection closed.
    pub publishes_refused: u64,
    /// SUBSCRIBE filters refused with a SUBACK failure.
    pub subscribes_refused: u64,
    /// Messages from other protocols delivered into the broker.
    pub injected: u64,
    /// Messages from other protocols the broker did not take.
    pub inject_failures: u64,
    /// Times the bus dropped the injector for being slow (it resubscribes).
    pub injector_lagged: u64,
    /// Sessions ended by the adapter (revocation, shutdown), away ones included.
    pub sessions_closed: u64,
    /// Messages a subscriber could not take: its queue was full (`FF_MQTT_MAX_QUEUE`,
    /// `FF_MQTT_MAX_QUEUE_BYTES`), it was away (QoS 0), or the message exceeded its v5
    /// maximum packet size.
    pub dropped: u64,
    /// Retained messages delivered but not retained: their channel's retained messages
    /// were at `FF_MQTT_MAX_RETAINED_BYTES`.
    pub retained_refused: u64,
}

impl MqttStats {
    /// Sessions of authenticated things that have started and not ended yet.
    pub fn live_sessions(&self) -> u64 {
        let ended = self.disconnects.load(Ordering::Acquire);
        self.connects.load(Ordering::Acquire).saturating_sub(ended)
    }
}

macro_rules! counters {
    ($($method:ident => $field:ident),* $(,)?) => {
        impl MqttStats {
            $(
                pub fn $method(&self) {
                    self.$field.fetch_add(1, Ordering::Relaxed);
                }
            )*

            pub fn snapshot(&self) -> MqttStatsSnapshot {
                MqttStatsSnapshot {
                    $($field: self.$field.load(Ordering::Relaxed),)*
                }
            }
        }
    };
}

counters! {
    count_connect => connects,
    count_connect_refused => connects_refused,
    count_disconnect => disconnects,
    count_publish => publishes,
    count_publish_refused => publishes_refused,
    count_subscribe_refused => subscribes_refused,
    count_injected => injected,
    count_inject_failure => inject_failures,
    count_injector_lagged => injector_lagged,
    count_session_closed => sessions_closed,
    count_dropped => dropped,
    count_retained_refused => retained_refused,
}
