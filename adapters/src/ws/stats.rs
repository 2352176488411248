//! Counters of the WebSocket adapter, readable at any time (tests, `/metrics`).

use std::sync::atomic::{AtomicU64, Ordering};

/// Live counters, updated with relaxed atomics (they are statistics, not synchronization).
#[derive(Debug, Default)]
pub struct WsStats {
    opened: AtomicU64,
    ended: AtomicU64,
    refused_full: AtomicU64,
    published: AtomicU64,
    delivered: AtomicU64,
    revoked: AtomicU64,
    dropped_slow: AtomicU64,
    dropped_no_pong: AtomicU64,
    refused_frames: AtomicU64,
}

/// A copy of the counters at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WsStatsSnapshot {
    /// Sessions upgraded (authorized handshakes).
    pub opened: u64,
    /// Sessions open now.
    pub live: u64,
    /// Handshakes answered 503 because `FF_WS_MAX_SESSIONS` were open.
    pub refused_full: u64,
    /// Frames published to the bus.
    pub published: u64,
    /// Messages written to a socket.
    pub delivered: u64,
    /// Sessions closed (1008) by a key change, a disconnect or a removal.
    pub revoked: u64,
    /// Sessions dropped (1013) because they did not take their messages: the bus queue
    /// (`FF_WS_MAX_QUEUE`) overflowed, or a write stalled for a keep-alive interval.
    pub dropped_slow: u64,
    /// Sessions dropped (1001) because a ping went unanswered for a keep-alive interval.
    pub dropped_no_pong: u64,
    /// Frames refused, each ending its session: a wildcard socket publishing, a thing no
    /// longer connected, a frame over `FF_MAX_PAYLOAD`, a bus that would not take it.
    pub refused_frames: u64,
}

fn bump(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

impl WsStats {
    pub fn snapshot(&self) -> WsStatsSnapshot {
        let get = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        let (opened, ended) = (get(&self.opened), get(&self.ended));
        WsStatsSnapshot {
            opened,
            live: opened.saturating_sub(ended),
            refused_full: get(&self.refused_full),
            published: get(&self.published),
            delivered: get(&self.delivered),
            revoked: get(&self.revoked),
            dropped_slow: get(&self.dropped_slow),
            dropped_no_pong: get(&self.dropped_no_pong),
            refused_frames: get(&self.refused_frames),
        }
    }

    pub(super) fn count_opened(&self) {
        bump(&self.opened);
    }
    pub(super) fn count_ended(&self) {
        bump(&self.ended);
    }
    pub(super) fn count_refused_full(&self) {
        bump(&self.refused_full);
    }
    pub(super) fn count_published(&self) {
        bump(&self.published);
    }
    pub(super) fn count_delivered(&self) {
        bump(&self.delivered);
    }
    pub(super) fn count_revoked(&self) {
        bump(&self.revoked);
    }
    pub(super) fn count_dropped_slow(&self) {
        bump(&self.dropped_slow);
    }
    pub(super) fn count_dropped_no_pong(&self) {
        bump(&self.dropped_no_pong);
    }
    pub(super) fn count_refused_frame(&self) {
        bump(&self.refused_frames);
    }
}
