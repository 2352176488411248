//! The single writer: group commit, with the fsync before anyone hears "appended".
//!
//! Every append goes over a channel to one OS thread. It blocks for the first request,
//! drains what queued up meanwhile (up to `max_group`), validates the requests in arrival
//! order against its own picture of the log, writes every accepted one into ONE fjall write
//! batch (log, stream index and command index together, so a crash keeps all or none of
//! them), commits it with `PersistMode::SyncData` (one fsync for the whole group; fjall
//! publishes the batch to readers only after that fsync) and only then answers each caller.
//! One writer means validation needs no locks and positions cannot interleave.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::Receiver;

use domain::envelope::RecordedEvent;
use domain::ports::event_log::{AppendBatch, Appended, LogError};
use fjall::{OwnedWriteBatch, PersistMode};
use tokio::sync::{oneshot, watch};
use uuid::Uuid;

use super::codec::{self, storage_error};
use super::store::Store;

/// One caller waiting for its append: one batch, or several stored all or none.
pub(super) struct Request {
    pub(super) batches: Vec<AppendBatch>,
    pub(super) reply: oneshot::Sender<Result<Vec<Appended>, LogError>>,
}

/// Counters the writer keeps; see `FjallEventLog::commit_stats`.
#[derive(Default)]
pub(super) struct Counters {
    pub(super) groups: AtomicU64,
    pub(super) appends: AtomicU64,
}

pub(super) struct Writer {
    store: Arc<Store>,
    head: watch::Sender<u64>,
    counters: Arc<Counters>,
    max_group: usize,
    /// Position the next accepted event gets: durable head + 1.
    next_position: u64,
    /// Every stream's durable version (absent: the stream does not exist).
    versions: HashMap<Box<str>, u64>,
}

/// What a group has accepted but not yet made durable: later requests of the same group
/// validate against it, and it becomes the writer's state only if the commit succeeds.
struct Staged {
    next_position: u64,
    versions: HashMap<Box<str>, u64>,
    commands: HashMap<Uuid, Appended>,
    batch: OwnedWriteBatch,
    /// The group's events, for `Store::recent` once durable.
    events: Vec<RecordedEvent>,
}

impl Writer {
    pub(super) fn new(
        store: Arc<Store>,
        head: watch::Sender<u64>,
        counters: Arc<Counters>,
        max_group: usize,
    ) -> Result<Self, LogError> {
        let next_position = *head.borrow() + 1;
        let versions = store.stream_versions()?;
        Ok(Self {
            store,
            head,
            counters,
            max_group: max_group.max(1),
            next_position,
            versions,
        })
    }

    /// Serves requests until every sender is gone, finishing what was queued before that.
    pub(super) fn run(mut self, requests: Receiver<Request>) {
        while let Ok(first) = requests.recv() {
            let mut group = Vec::with_capacity(self.max_group.min(64));
            group.push(first);
            while group.len() < self.max_group {
                match requests.try_recv() {
                    Ok(request) => group.push(request),
                    Err(_) => break,
                }
            }
            self.commit_group(group);
        }
    }

    /// Validates, writes and fsyncs one group, then answers its callers.
    pub(super) fn commit_group(&mut self, group: Vec<Request>) {
        let mut staged = Staged {
            next_position: self.next_position,
            versions: HashMap::new(),
            commands: HashMap::new(),
            batch: self
                .store
                .db
                .batch()
                .durability(Some(PersistMode::SyncData)),
            events: Vec::new(),
        };
        let (batches, replies): (Vec<_>, Vec<_>) = group
            .into_iter()
            .map(|request| (request.batches, request.reply))
            .unzip();
        let mut outcomes: Vec<_> = batches
            .into_iter()
            .map(|batches| self.stage_all(batches, &mut staged))
            .collect();

        let appended_events = staged.next_position - self.next_position;
        let Staged {
            next_position,
            batch,
            versions,
            events,
            ..
        } = staged;
        let committed = if batch.is_empty() {
            Ok(())
        } else {
            batch.commit().map_err(storage_error)
        };
        match committed {
            Ok(()) => {
                self.next_position = next_position;
                self.versions.extend(versions);
                self.store.recent.push(events);
                self.counters.groups.fetch_add(1, Ordering::Relaxed);
                self.counters
                    .appends
                    .fetch_add(appended_events, Ordering::Relaxed);
                // Readers only wait on this; none left just means nobody is subscribed.
                self.head.send_replace(next_position - 1);
            }
            Err(error) => {
                // Nothing of the group counts: its validations may rest on each other.
                tracing::error!(%error, "event log group commit failed");
                outcomes.iter_mut().for_each(|o| *o = Err(error.clone()));
            }
        }
        for (reply, outcome) in replies.into_iter().zip(outcomes) {
            // A caller that gave up waiting is no reason to stop serving the others.
            let _ = reply.send(outcome);
        }
    }

    /// Decides one request (all its batches or none) against the durable state plus what
    /// the group staged before it.
    fn stage_all(
        &mut self,
        batches: Vec<AppendBatch>,
        staged: &mut Staged,
    ) -> Result<Vec<Appended>, LogError> {
        if batches.len() != 1 {
            domain::ports::event_log::check_append_all(&batches)?;
        }
        let mut done = Vec::new();
        let mut fresh = Vec::new();
        for batch in &batches {
            match self.check(batch, staged)? {
                Check::Done(first) => done.push(first),
                Check::Fresh(current) => fresh.push(current),
            }
        }
        if fresh.is_empty() {
            return Ok(done);
        }
        if !done.is_empty() {
            return Err(LogError::Invalid(
                "append_all of commands appended before and new ones".into(),
            ));
        }
        // Encode everything first, so a failure leaves nothing of this request in the batch.
        let mut next = staged.next_position;
        let mut prepared = Vec::with_capacity(batches.len());
        for (batch, current) in batches.into_iter().zip(fresh) {
            let batch = prepare(batch, current, next)?;
            next = batch.appended.last_position + 1;
            prepared.push(batch);
        }
        let mut outcomes = Vec::with_capacity(prepared.len());
        for batch in prepared {
            outcomes.push(self.stage(batch, staged));
        }
        Ok(outcomes)
    }

    /// Whether one batch was appended before, or else the version it goes on from.
    fn check(&self, batch: &AppendBatch, staged: &Staged) -> Result<Check, LogError> {
        check_batch(batch)?;
        // Dedupe comes before the version check: a retry finds its stream moved on by itself.
        if batch.retryable {
            if let Some(first) = staged.commands.get(&batch.command_id) {
                return Ok(Check::Done(duplicate(first.clone())));
            }
            if let Some(first) = self.store.find_command(batch.command_id)? {
                return Ok(Check::Done(duplicate(first)));
            }
        }
        let current = staged
            .versions
            .get(batch.stream.as_str())
            .or_else(|| self.versions.get(batch.stream.as_str()))
            .copied()
            .unwrap_or(0);
        if batch.expected_version != current {
            return Err(LogError::Conflict {
                stream: batch.stream.clone(),
                expected: batch.expected_version,
                actual: current,
            });
        }
        Ok(Check::Fresh(current))
    }

    /// Puts one prepared batch into the group's write batch.
    fn stage(&self, prepared: Prepared, staged: &mut Staged) -> Appended {
        let Prepared {
            appended,
            command_id,
            rows,
            events,
        } = prepared;
        let store = &self.store;
        staged.events.extend(events);
        for (version, position, json) in rows {
            let position_key = codec::position_key(position);
            staged.batch.insert(&store.log, position_key, json);
            let stream_key = codec::stream_key(&appended.stream, version);
            staged
                .batch
                .insert(&store.streams, stream_key, position_key);
        }
        if let Some(command_id) = command_id {
            let outcome = codec::encode_appended(&appended);
            staged
                .batch
                .insert(&store.commands, *command_id.as_bytes(), outcome);
            staged.commands.insert(command_id, appended.clone());
        }

        staged.next_position = appended.last_position + 1;
        staged
            .versions
            .insert(appended.stream.as_str().into(), appended.version);
        appended
    }
}

/// A batch checked against the log: appended before (its first outcome), or new on top of
/// the stream's current version.
enum Check {
    Done(Appended),
    Fresh(u64),
}

/// A batch encoded, ready to stage: its outcome and its events as (version, position, bytes).
struct Prepared {
    appended: Appended,
    /// Set when the command is remembered (`AppendBatch::retryable`).
    command_id: Option<Uuid>,
    rows: Vec<(u64, u64, Vec<u8>)>,
    events: Vec<RecordedEvent>,
}

/// Encodes a batch at `first_position`, on top of stream version `current`.
fn prepare(batch: AppendBatch, current: u64, first_position: u64) -> Result<Prepared, LogError> {
    let command_id = batch.retry_id();
    let mut rows = Vec::with_capacity(batch.events.len());
    let mut events = Vec::with_capacity(batch.events.len());
    let mut version = current;
    let mut position = first_position;
    for pending in batch.events {
        version += 1;
        let event = RecordedEvent::record(pending, &batch.stream, version, position);
        rows.push((version, position, codec::encode_event(&event)?));
        events.push(event);
        position += 1;
    }
    let appended = Appended {
        stream: batch.stream,
        first_position,
        last_position: position - 1,
        version,
        duplicate: false,
    };
    Ok(Prepared {
        appended,
        command_id,
        rows,
        events,
    })
}

/// A batch no storage could hold is the caller's bug, whatever the log contains.
fn check_batch(batch: &AppendBatch) -> Result<(), LogError> {
    codec::check_stream(&batch.stream)?;
    if batch.events.is_empty() {
        return Err(LogError::Invalid(format!(
            "append of no events to {}",
            batch.stream
        )));
    }
    Ok(())
}

fn duplicate(first: Appended) -> Appended {
    Appended {
        duplicate: true,
        ..first
    }
}

#[cfg(test)]
#[path = "writer_tests.rs"]
mod tests;
