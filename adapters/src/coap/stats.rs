//! Counters of the CoAP adapter, readable at any time (tests, `/metrics`).

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// Live counters, updated with relaxed atomics (statistics, not synchronization).
#[derive(Debug, Default)]
pub struct CoapStats {
    pub(super) publishes: AtomicU64,
    pub(super) refused: AtomicU64,
    pub(super) duplicates: AtomicU64,
    pub(super) malformed: AtomicU64,
    pub(super) observers: AtomicU64,
    pub(super) observers_capped: AtomicU64,
    pub(super) transfers_capped: AtomicU64,
    pub(super) notifications: AtomicU64,
    pub(super) retransmissions: AtomicU64,
    pub(super) observers_unacknowledged: AtomicU64,
    pub(super) observers_reset: AtomicU64,
    pub(super) observers_revoked: AtomicU64,
    pub(super) observers_lagged: AtomicU64,
}

/// A copy of the counters at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CoapStatsSnapshot {
    /// Messages published (a duplicate is not published again).
    pub publishes: u64,
    /// Requests answered with a 4.xx or 5.xx code.
    pub refused: u64,
    /// Requests recognized as duplicates (answered from the cache, or ignored).
    pub duplicates: u64,
    /// Datagrams that were no CoAP message.
    pub malformed: u64,
    /// Observers registered now (a gauge).
    pub observers: u64,
    /// Registrations refused with 4.29 by a cap on observers.
    pub observers_capped: u64,
    /// Block1 transfers refused with 4.29: too many in progress.
    pub transfers_capped: u64,
    /// Notifications sent (first transmissions; blocks fetched later are not counted).
    pub notifications: u64,
    /// Confirmable notifications sent again for want of an ACK.
    pub retransmissions: u64,
    /// Observers dropped because a confirmable notification was never acknowledged.
    pub observers_unacknowledged: u64,
    /// Observers dropped because the client answered a notification with RST.
    pub observers_reset: u64,
    /// Observers ended by a revocation (key change, disconnect, removal).
    pub observers_revoked: u64,
    /// Observers ended because they fell behind the bus.
    pub observers_lagged: u64,
}

impl CoapStats {
    pub fn snapshot(&self) -> CoapStatsSnapshot {
        CoapStatsSnapshot {
            publishes: self.publishes.load(Relaxed),
            refused: self.refused.load(Relaxed),
            duplicates: self.duplicates.load(Relaxed),
            malformed: self.malformed.load(Relaxed),
            observers: self.observers.load(Relaxed),
            observers_capped: self.observers_capped.load(Relaxed),
            transfers_capped: self.transfers_capped.load(Relaxed),
            notifications: self.notifications.load(Relaxed),
            retransmissions: self.retransmissions.load(Relaxed),
            observers_unacknowledged: self.observers_unacknowledged.load(Relaxed),
            observers_reset: self.observers_reset.load(Relaxed),
            observers_revoked: self.observers_revoked.load(Relaxed),
            observers_lagged: self.observers_lagged.load(Relaxed),
        }
    }

    pub(super) fn count(counter: &AtomicU64) {
        counter.fetch_add(1, Relaxed);
    }

    /// Every counter as (metric name, kind, help, value), for `/metrics`.
    pub fn metrics(&self) -> [(&'static str, &'static str, &'static str, u64); 13] {
        let s = self.snapshot();
        [
            (
                "coap_publishes_total",
                "counter",
                "CoAP messages published.",
                s.publishes,
            ),
            (
                "coap_refused_total",
                "counter",
                "CoAP requests answered with an error code.",
                s.refused,
            ),
            (
                "coap_duplicates_total",
                "counter",
                "CoAP requests recognized as duplicates.",
                s.duplicates,
            ),
            (
                "coap_malformed_total",
                "counter",
                "Datagrams on the CoAP port that were no CoAP message.",
                s.malformed,
            ),
            (
                "coap_observers",
                "gauge",
                "CoAP observers registered.",
                s.observers,
            ),
            (
                "coap_observers_capped_total",
                "counter",
                "CoAP observe registrations refused by a cap (4.29).",
                s.observers_capped,
            ),
            (
                "coap_transfers_capped_total",
                "counter",
                "CoAP Block1 transfers refused: too many in progress (4.29).",
                s.transfers_capped,
            ),
            (
                "coap_notifications_total",
                "counter",
                "CoAP notifications sent.",
                s.notifications,
            ),
            (
                "coap_retransmissions_total",
                "counter",
                "Confirmable CoAP notifications sent again.",
                s.retransmissions,
            ),
            (
                "coap_observers_unacknowledged_total",
                "counter",
                "CoAP observers dropped: a confirmable notification was never acknowledged.",
                s.observers_unacknowledged,
            ),
            (
                "coap_observers_reset_total",
                "counter",
                "CoAP observers dropped on a RST.",
                s.observers_reset,
            ),
            (
                "coap_observers_revoked_total",
                "counter",
                "CoAP observers ended by a revocation.",
                s.observers_revoked,
            ),
            (
                "coap_observers_lagged_total",
                "counter",
                "CoAP observers ended for falling behind the bus.",
                s.observers_lagged,
            ),
        ]
    }
}
