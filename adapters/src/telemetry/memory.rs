//! `MemoryTelemetryStore`: the in-memory double of the port (STYLE.md §6), for tests of the
//! writer and the reader API that do not want a directory. It passes the contract suite,
//! so code tested against it behaves the same on fjall.

use std::collections::BTreeMap;
use std::sync::{Mutex, PoisonError};

use async_trait::async_trait;
use domain::ids::ChannelId;

use super::codec::time_ns;
use super::{ReadPage, ReadQuery, TelemetryError, TelemetryRecord, TelemetryStore};

/// Records keyed as fjall keys them: (channel, time in ns, arrival sequence).
#[derive(Default)]
pub struct MemoryTelemetryStore {
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    next_seq: u64,
    records: BTreeMap<(ChannelId, u64, u64), TelemetryRecord>,
}

impl MemoryTelemetryStore {
    pub fn new() -> Self {
        Self::default()
    }
}

#[async_trait]
impl TelemetryStore for MemoryTelemetryStore {
    async fn save(&self, records: Vec<TelemetryRecord>) -> Result<(), TelemetryError> {
        // All or nothing, like a backend's batch.
        for record in &records {
            record.check()?;
        }
        // Every change completes under the lock without panicking, so poison is harmless.
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        for record in records {
            let key = (record.channel, time_ns(record.time), state.next_seq);
            state.next_seq += 1;
            state.records.insert(key, record);
        }
        Ok(())
    }

    async fn read(
        &self,
        channel: ChannelId,
        query: &ReadQuery,
    ) -> Result<ReadPage, TelemetryError> {
        query.check()?;
        let state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let range = (channel, 0, 0)..=(channel, u64::MAX, u64::MAX);
        let matches = state
            .records
            .range(range)
            .rev()
            .map(|(_, record)| record)
            .filter(|record| query.matches(record));
        let mut page = ReadPage::empty(query);
        let end = query.offset.saturating_add(query.limit);
        for record in matches {
            if (query.offset..end).contains(&page.total) {
                page.messages.push(record.clone());
            }
            page.total += 1;
        }
        Ok(page)
    }
}
