//! Counters of the feed writers, read by `/metrics`.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

#[derive(Debug, Default)]
pub struct FeedStats {
    /// `mainflux.things` entries this process wrote (not those another writer wrote first).
    pub things_written: AtomicU64,
    /// Event position the `mainflux.things` feed has reached.
    pub things_position: AtomicU64,
    /// `mainflux.bootstrap` entries this process wrote (not those another writer wrote first).
    pub bootstrap_written: AtomicU64,
    /// Event position the `mainflux.bootstrap` feed has reached.
    pub bootstrap_position: AtomicU64,
    /// `mainflux.mqtt` entries written.
    pub presence_written: AtomicU64,
    /// Presence events dropped because the buffer before Redis was full (slow or absent
    /// Redis); MQTT connects never wait for Redis.
    pub presence_dropped: AtomicU64,
    /// Redis commands that failed and were retried.
    pub redis_errors: AtomicU64,
}

impl FeedStats {
    pub fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Relaxed);
    }

    pub fn get(counter: &AtomicU64) -> u64 {
        counter.load(Relaxed)
    }
}
