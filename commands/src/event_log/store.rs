//! The read side of the fjall log: one `Database` with three keyspaces, and the synchronous
//! reads every async method and the writer share.
//!
//! Reads stop at a caller-given durable head: the writer publishes a group to fjall's
//! memtables only after its fsync, but it tells the world (`head`) a moment later, and
//! nothing past `head` should be visible to a reader.

use std::collections::HashMap;
use std::path::Path;

use domain::envelope::RecordedEvent;
use domain::ports::event_log::{Appended, LogError};
use fjall::{Database, Keyspace, KeyspaceCreateOptions};
use uuid::Uuid;

use super::codec::{self, storage_error};
use super::recent::Recent;

/// Keyspace of the global log: position (u64 BE) → envelope JSON.
const LOG: &str = "log";
/// Keyspace of the stream index: stream ++ 0x00 ++ version (u64 BE) → position (u64 BE).
const STREAMS: &str = "streams";
/// Keyspace of the idempotency index: command id (16 bytes) → `Appended` (see `codec`).
const COMMANDS: &str = "commands";

pub(super) struct Store {
    pub(super) db: Database,
    pub(super) log: Keyspace,
    pub(super) streams: Keyspace,
    pub(super) commands: Keyspace,
    /// The last groups committed, so a follower that keeps up reads neither fjall nor JSON.
    pub(super) recent: Recent,
}

impl Store {
    pub(super) fn open(dir: &Path, cache_bytes: u64) -> Result<Self, LogError> {
        let db = Database::builder(dir)
            .cache_size(cache_bytes)
            .open()
            .map_err(storage_error)?;
        let keyspace = |name| {
            db.keyspace(name, KeyspaceCreateOptions::default)
                .map_err(storage_error)
        };
        Ok(Self {
            log: keyspace(LOG)?,
            streams: keyspace(STREAMS)?,
            commands: keyspace(COMMANDS)?,
            recent: Recent::default(),
            db,
        })
    }

    /// Position of the last event in the log (0 when empty). Called once at open, when every
    /// stored event counts: a group whose fsync raced a crash is either wholly recovered
    /// (its callers were not answered and will retry into the command index) or wholly lost.
    pub(super) fn last_position(&self) -> Result<u64, LogError> {
        match self.log.last_key_value() {
            None => Ok(0),
            Some(guard) => codec::decode_u64(&guard.key().map_err(storage_error)?, "log key"),
        }
    }

    /// Every stream's stored version, from one pass over the stream index (sorted by stream,
    /// then version, so a stream's last key holds its version). The writer keeps this in
    /// memory: a lookup per append in fjall's memtable cost more than the rest of staging.
    pub(super) fn stream_versions(&self) -> Result<HashMap<Box<str>, u64>, LogError> {
        let mut versions = HashMap::new();
        for item in self.streams.iter() {
            let key = item.key().map_err(storage_error)?;
            let (stream, version) = codec::split_stream_key(&key)?;
            versions.insert(stream.into(), version);
        }
        Ok(versions)
    }

    pub(super) fn find_command(&self, command_id: Uuid) -> Result<Option<Appended>, LogError> {
        self.commands
            .get(command_id.as_bytes())
            .map_err(storage_error)?
            .map(|value| codec::decode_appended(&value))
            .transpose()
    }

    /// Up to `limit` events with `after < position <= head`. The positions are checked to
    /// be dense, so a gap in storage is reported instead of silently skipped.
    pub(super) fn read_range(
        &self,
        after: u64,
        head: u64,
        limit: usize,
    ) -> Result<Vec<RecordedEvent>, LogError> {
        if let Some(events) = self.recent.after(after, head, limit) {
            return Ok(events);
        }
        let limit = u64::try_from(limit).unwrap_or(u64::MAX);
        let last = head.min(after.saturating_add(limit));
        if last <= after {
            return Ok(Vec::new());
        }
        let wanted = last - after;
        let mut events = Vec::with_capacity(usize::try_from(wanted.min(1024)).unwrap_or(1024));
        let mut expected = after + 1;
        let range = codec::position_key(after + 1)..=codec::position_key(last);
        for item in self.log.range(range) {
            let (key, value) = item.into_inner().map_err(storage_error)?;
            let position = codec::decode_u64(&key, "log key")?;
            if position != expected {
                return Err(LogError::Corrupt(format!(
                    "log has position {position} where {expected} should be"
                )));
            }
            events.push(checked_event(&value, position)?);
            expected += 1;
        }
        if expected != last + 1 {
            return Err(LogError::Corrupt(format!(
                "log ends at position {} below the durable head {last}",
                expected - 1
            )));
        }
        Ok(events)
    }

    /// Every event of `stream` up to `head`, in version order, checking versions are dense.
    pub(super) fn read_stream(
        &self,
        stream: &str,
        head: u64,
    ) -> Result<Vec<RecordedEvent>, LogError> {
        let mut events = Vec::new();
        for item in self.streams.prefix(codec::stream_prefix(stream)) {
            let (key, value) = item.into_inner().map_err(storage_error)?;
            let version = codec::stream_key_version(&key)?;
            let position = codec::decode_u64(&value, "stream index value")?;
            if position > head {
                break;
            }
            let expected = events.len() as u64 + 1;
            if version != expected {
                return Err(LogError::Corrupt(format!(
                    "stream {stream} has version {version} where {expected} should be"
                )));
            }
            let value = self
                .log
                .get(codec::position_key(position))
                .map_err(storage_error)?
                .ok_or_else(|| {
                    LogError::Corrupt(format!(
                        "stream {stream} version {version} points at missing position {position}"
                    ))
                })?;
            events.push(checked_event(&value, position)?);
        }
        Ok(events)
    }
}

/// Decodes a log value and checks it sits where it says it does.
fn checked_event(value: &[u8], position: u64) -> Result<RecordedEvent, LogError> {
    let event = codec::decode_event(value)?;
    if event.position != position {
        return Err(LogError::Corrupt(format!(
            "event stored at position {position} says it is at {}",
            event.position
        )));
    }
    Ok(event)
}
