//! The events the writer committed last, kept decoded in memory.
//!
//! A follower that keeps up (the projections, a live feed) asks for events a moment after
//! their group was made durable. Answering from here spares it a read of fjall's memtable and
//! a JSON parse of every envelope: together they were a third of following the log.

use std::collections::VecDeque;
use std::sync::{Mutex, PoisonError};

use domain::envelope::RecordedEvent;

/// Events kept: several groups of the largest size the writer commits at 64 in flight.
pub(super) const CAPACITY: usize = 1024;

#[derive(Default)]
pub(super) struct Recent {
    /// Dense positions, oldest first.
    events: Mutex<VecDeque<RecordedEvent>>,
}

impl Recent {
    /// Adds a durable group, right after its events (which must follow the kept ones).
    pub(super) fn push(&self, group: Vec<RecordedEvent>) {
        let mut events = self.lock();
        let follows = match (events.back(), group.first()) {
            (Some(last), Some(first)) => first.position == last.position + 1,
            _ => true,
        };
        if !follows {
            events.clear();
        }
        events.extend(group);
        let excess = events.len().saturating_sub(CAPACITY);
        events.drain(..excess);
    }

    /// Up to `limit` events with `after < position <= head`, when every one of them is kept.
    pub(super) fn after(&self, after: u64, head: u64, limit: usize) -> Option<Vec<RecordedEvent>> {
        let events = self.lock();
        let first = events.front()?.position;
        let last = events.back()?.position;
        if after + 1 < first || head > last || head <= after {
            return None;
        }
        let start = usize::try_from(after + 1 - first).ok()?;
        let count = usize::try_from(head - after).ok()?.min(limit);
        Some(events.range(start..start + count).cloned().collect())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, VecDeque<RecordedEvent>> {
        self.events.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use domain::envelope::PendingEvent;

    use super::*;
    use crate::event_log::contract::pending;

    fn group(first: u64, count: u64) -> Vec<RecordedEvent> {
        (first..first + count)
            .map(|position| {
                let event: PendingEvent = pending(position);
                RecordedEvent::record(event, "thing-1", position, position)
            })
            .collect()
    }

    fn positions(events: Option<Vec<RecordedEvent>>) -> Option<Vec<u64>> {
        events.map(|events| events.iter().map(|e| e.position).collect())
    }

    #[test]
    fn answers_only_ranges_it_holds_whole() {
        let recent = Recent::default();
        assert_eq!(positions(recent.after(0, 1, 10)), None);
        recent.push(group(1, 3));
        recent.push(group(4, 2));
        assert_eq!(positions(recent.after(0, 5, 10)), Some(vec![1, 2, 3, 4, 5]));
        assert_eq!(positions(recent.after(2, 5, 2)), Some(vec![3, 4]));
        assert_eq!(
            positions(recent.after(2, 6, 10)),
            None,
            "past what it holds"
        );
        assert_eq!(positions(recent.after(5, 5, 10)), None, "nothing asked");
    }

    #[test]
    fn forgets_the_oldest_beyond_capacity_and_restarts_on_a_gap() {
        let recent = Recent::default();
        recent.push(group(1, CAPACITY as u64 + 10));
        assert_eq!(positions(recent.after(0, 5, 10)), None, "evicted");
        assert_eq!(positions(recent.after(10, 12, 10)), Some(vec![11, 12]));
        recent.push(group(5_000, 2));
        assert_eq!(
            positions(recent.after(10, 12, 10)),
            None,
            "cleared on a gap"
        );
        assert_eq!(
            positions(recent.after(4_999, 5_001, 10)),
            Some(vec![5_000, 5_001])
        );
    }
}
