//! `FjallTelemetryStore`: the embedded `TelemetryStore` backend.
//!
//! One database directory with two keyspaces: `records` (layouts in `codec` and
//! `value_codec`) and `meta`, which holds the next sequence number and each channel's record
//! count (`counts`). A save is one write batch (its records, the new sequence and counts,
//! so a crash keeps all or none) under a mutex that hands out sequence numbers, so arrival
//! order is commit order. A read is one reverse range scan of the channel's keys between
//! the query's time bounds, on a blocking thread; without any filter it stops at the end of
//! its page and takes `total` from the count.

use std::ops::Bound;
use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};

use async_trait::async_trait;
use domain::ids::ChannelId;
use fjall::config::FilterPolicy;
use fjall::{Database, Keyspace, KeyspaceCreateOptions, PersistMode, Readable};
use uuid::Uuid;

use super::codec::{self, storage_error};
use super::counts::{self, Counts};
use super::value_codec::{decode_record, encode_record};
use super::{ReadPage, ReadQuery, TelemetryError, TelemetryRecord, TelemetryStore};

/// Keyspace of the records: channel ++ time ns ++ sequence → record.
const RECORDS: &str = "records";
/// Keyspace of the store's own state.
const META: &str = "meta";
/// `meta` key of the next sequence number (u64 BE).
const NEXT_SEQ: &[u8] = b"next_seq";
/// `meta` key of this store's id (16 bytes): names it as the source of a copy.
const STORE_ID: &[u8] = b"store_id";

/// When `save` returns, how safe are its records?
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Durability {
    /// Written to the OS (fjall's `PersistMode::Buffer`): they survive a crash or a kill of
    /// this process, not an OS crash or a power cut, which may lose the last moments of
    /// telemetry. The default: telemetry is high-volume and an fsync per batch would cap
    /// ingestion at the disk's fsync rate, while provisioning (the event log) stays fsynced.
    #[default]
    Buffered,
    /// `fdatasync`ed before `save` returns: nothing acknowledged is ever lost.
    SyncData,
}

impl Durability {
    fn persist_mode(self) -> PersistMode {
        match self {
            Self::Buffered => PersistMode::Buffer,
            Self::SyncData => PersistMode::SyncData,
        }
    }
}

/// Tuning of `FjallTelemetryStore::open_with`; `Default` suits a single server.
#[derive(Debug, Clone)]
pub struct FjallTelemetryOptions {
    pub durability: Durability,
    /// fjall's block cache, in bytes.
    pub cache_bytes: u64,
}

impl Default for FjallTelemetryOptions {
    fn default() -> Self {
        Self {
            durability: Durability::default(),
            cache_bytes: 32 * 1024 * 1024,
        }
    }
}

/// The telemetry of one fjall database directory, owned by this process (fjall locks it).
pub struct FjallTelemetryStore {
    inner: Arc<Inner>,
    id: Uuid,
}

/// Records in key order (channel, time, arrival), as `FjallTelemetryStore::export_after`
/// hands them out, and the key of the last one: where the next call goes on.
pub struct ExportBatch {
    pub records: Vec<TelemetryRecord>,
    pub last_key: Option<Vec<u8>>,
}

struct Inner {
    db: Database,
    records: Keyspace,
    meta: Keyspace,
    persist: PersistMode,
    /// Held across a save's commit, so saves are serialized; the writer above batches, so
    /// there are few of them.
    written: Mutex<Written>,
}

/// What saves change besides the records.
struct Written {
    /// The sequence number the next record gets.
    next_seq: u64,
    /// Records per channel, as `meta` holds them.
    counts: Counts,
}

impl FjallTelemetryStore {
    /// Opens (creating if needed) the store in `dir` with default options.
    ///
    /// Fails with `Unavailable` when another process (or another handle in this one) holds
    /// the directory.
    pub fn open(dir: &Path) -> Result<Self, TelemetryError> {
        Self::open_with(dir, FjallTelemetryOptions::default())
    }

    pub fn open_with(dir: &Path, options: FjallTelemetryOptions) -> Result<Self, TelemetryError> {
        let db = Database::builder(dir)
            .cache_size(options.cache_bytes)
            .open()
            .map_err(storage_error)?;
        // Records are only ever range-scanned: a Bloom filter per table would be built on
        // every flush and compaction and never asked. (fjall keeps a keyspace's options from
        // its creation: stores created before this keep their filters, harmlessly.)
        let records = db
            .keyspace(RECORDS, || {
                KeyspaceCreateOptions::default().filter_policy(FilterPolicy::disabled())
            })
            .map_err(storage_error)?;
        let meta = db
            .keyspace(META, KeyspaceCreateOptions::default)
            .map_err(storage_error)?;
        let next_seq = match meta.get(NEXT_SEQ).map_err(storage_error)? {
            None => 0,
            Some(bytes) => codec::be_u64(&bytes, "next sequence")?,
        };
        let counts = counts::load(&db, &records, &meta)?;
        let id = store_id(&db, &meta)?;
        Ok(Self {
            id,
            inner: Arc::new(Inner {
                db,
                records,
                meta,
                persist: options.durability.persist_mode(),
                written: Mutex::new(Written { next_seq, counts }),
            }),
        })
    }
}

/// The store's id, made and kept the first time a store is opened without one.
fn store_id(db: &Database, meta: &Keyspace) -> Result<Uuid, TelemetryError> {
    if let Some(bytes) = meta.get(STORE_ID).map_err(storage_error)? {
        return Uuid::from_slice(&bytes).map_err(|_| TelemetryError::Corrupt("store id".into()));
    }
    let id = Uuid::new_v4();
    let mut batch = db.batch();
    batch.insert(meta, STORE_ID, &id.as_bytes()[..]);
    batch.commit().map_err(storage_error)?;
    Ok(id)
}

impl FjallTelemetryStore {
    /// This store's id, the same across restarts: `ferroflux migrate` keeps, per source
    /// store, how far it has copied.
    pub fn id(&self) -> Uuid {
        self.id
    }

    /// Every record stored, from the per-channel counts.
    pub fn record_count(&self) -> u64 {
        let written = self
            .inner
            .written
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        written.counts.values().sum()
    }

    /// At most `max` records after the key `after` (from the first when `None`), in key
    /// order: per channel oldest first, ties in arrival order, so a copy saved in this order
    /// keeps the reader's order. Blocking: call it off the async workers for big stores.
    pub fn export_after(
        &self,
        after: Option<&[u8]>,
        max: usize,
    ) -> Result<ExportBatch, TelemetryError> {
        let start = after.map_or(Bound::Unbounded, Bound::Excluded);
        let mut batch = ExportBatch {
            records: Vec::with_capacity(max.min(4096)),
            last_key: None,
        };
        for guard in self
            .inner
            .records
            .range::<&[u8], _>((start, Bound::Unbounded))
        {
            if batch.records.len() >= max {
                break;
            }
            let (key, value) = guard.into_inner().map_err(storage_error)?;
            let channel = codec::key_channel(&key)?;
            batch.records.push(decode_record(channel, &value)?);
            batch.last_key = Some(key.to_vec());
        }
        Ok(batch)
    }
}

impl Inner {
    fn save(&self, records: &[TelemetryRecord]) -> Result<(), TelemetryError> {
        if records.is_empty() {
            return Ok(());
        }
        // Only written after a successful commit, so a panic elsewhere cannot leave it
        // half-updated: a poisoned lock is still usable.
        let mut written = self.written.lock().unwrap_or_else(PoisonError::into_inner);
        let first = written.next_seq;
        let after = u64::try_from(records.len())
            .ok()
            .and_then(|count| first.checked_add(count))
            .ok_or_else(|| TelemetryError::Unavailable("sequence numbers exhausted".into()))?;
        let mut batch = self.db.batch().durability(Some(self.persist));
        // One buffer for every value: fjall copies what it is given, and a fresh buffer per
        // record cost more than the encoding (profiled).
        let mut value = Vec::new();
        for (index, (seq, record)) in (first..).zip(records).enumerate() {
            record.check().map_err(|error| match error {
                TelemetryError::Invalid(reason) => {
                    TelemetryError::Invalid(format!("record {index} of the batch: {reason}"))
                }
                other => other,
            })?;
            value.clear();
            encode_record(record, &mut value);
            let key = codec::record_key(record.channel, codec::time_ns(record.time), seq);
            batch.insert(&self.records, &key[..], &value[..]);
        }
        batch.insert(&self.meta, NEXT_SEQ, &after.to_be_bytes()[..]);
        let totals = counts::add(&mut batch, &self.meta, &written.counts, records);
        batch.commit().map_err(storage_error)?;
        written.next_seq = after;
        written.counts.extend(totals);
        Ok(())
    }

    /// Newest first over the keys of `channel` between the query's time bounds. Without
    /// filters beyond time, only the page's records and those in the boundary nanoseconds
    /// (where the key's rounded time cannot decide `from`/`to`) are decoded; `total` needs
    /// the whole range, like Mainflux's `COUNT(*)`, unless there is no filter at all.
    fn read(&self, channel: ChannelId, query: &ReadQuery) -> Result<ReadPage, TelemetryError> {
        query.check()?;
        if query.from.is_none() && query.to.is_none() && !query.filters_beyond_time() {
            return self.read_page(channel, query);
        }
        let mut page = ReadPage::empty(query);
        let from_ns = query.from.map(codec::time_ns);
        let to_ns = query.to.map(codec::time_ns);
        let (low, high) = (from_ns.unwrap_or(0), to_ns.unwrap_or(u64::MAX));
        if low > high {
            return Ok(page);
        }
        let by_key = !query.filters_beyond_time();
        let on_boundary = |key: &fjall::UserKey| {
            let ns = codec::key_ns(key).ok();
            ns.is_none() || ns == from_ns || ns == to_ns
        };
        let end = query.offset.saturating_add(query.limit);
        let (first, last) = codec::scan_bounds(channel, low, high);
        for guard in self.records.range(first..=last).rev() {
            // Were this record to match, it would be match number `total`.
            let wanted = page.total >= query.offset && page.total < end;
            let (_, value) = guard
                .into_inner_if(|key| wanted || !by_key || on_boundary(key))
                .map_err(storage_error)?;
            let record = value
                .map(|value| decode_record(channel, &value))
                .transpose()?;
            if record.as_ref().is_some_and(|record| !query.matches(record)) {
                continue;
            }
            if wanted {
                // Loaded, since `wanted` was part of the predicate.
                page.messages.extend(record);
            }
            page.total += 1;
        }
        Ok(page)
    }
}

impl Inner {
    /// A read without filters: `total` from the channel's count, then only the keys up to
    /// the page's end. One snapshot for both: a save writes a count and its records in one
    /// batch, so they agree, and no lock keeps saves waiting.
    fn read_page(&self, channel: ChannelId, query: &ReadQuery) -> Result<ReadPage, TelemetryError> {
        let mut page = ReadPage::empty(query);
        let snapshot = self.db.snapshot();
        page.total = snapshot
            .get(&self.meta, counts::key(channel))
            .map_err(storage_error)?
            .map(|value| counts::decode(&value))
            .transpose()?
            .unwrap_or(0);
        if query.offset >= page.total {
            return Ok(page);
        }
        let (first, last) = codec::scan_bounds(channel, 0, u64::MAX);
        let offset = usize::try_from(query.offset).unwrap_or(usize::MAX);
        let limit = usize::try_from(query.limit).unwrap_or(usize::MAX);
        let keys = snapshot.range(&self.records, first..=last).rev();
        for guard in keys.skip(offset).take(limit) {
            let (_, value) = guard.into_inner().map_err(storage_error)?;
            page.messages.push(decode_record(channel, &value)?);
        }
        Ok(page)
    }
}

/// Runs fjall work off the async worker threads: a scan may read a lot from disk, a save
/// may wait for an fsync.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, TelemetryError> + Send + 'static,
) -> Result<T, TelemetryError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| TelemetryError::Unavailable(format!("telemetry task failed: {e}")))?
}

#[async_trait]
impl TelemetryStore for FjallTelemetryStore {
    async fn save(&self, records: Vec<TelemetryRecord>) -> Result<(), TelemetryError> {
        if records.is_empty() {
            return Ok(());
        }
        let inner = Arc::clone(&self.inner);
        blocking(move || inner.save(&records)).await
    }

    async fn read(
        &self,
        channel: ChannelId,
        query: &ReadQuery,
    ) -> Result<ReadPage, TelemetryError> {
        let (inner, query) = (Arc::clone(&self.inner), query.clone());
        blocking(move || inner.read(channel, &query)).await
    }
}
