//! The command index: command id → first outcome, for `find_command`, also long after
//! JetStream's duplicate window has passed.
//!
//! It is a projection of the events stream, written by a follower in every open log into a
//! second JetStream stream (one subject per command, written only if absent), never by the
//! append path: a process killed between its append and an index write would otherwise leave
//! a command unindexed forever. Followers on several nodes write the same entries; the first
//! write wins and the rest are refused, so entries are stored in event order and the last
//! one is the index's checkpoint.
//!
//! Only retryable commands (`AppendBatch::retryable`) are indexed, and besides them the
//! command whose events cover each multiple of `CHECKPOINT_EVERY`: the checkpoint then moves
//! on also where no command is retryable, and every node picks the same commands.

use std::time::Duration;

use async_nats::jetstream::stream::Stream;
use domain::ports::event_log::{Appended, LogError};
use futures::StreamExt;
use tokio::sync::watch;
use uuid::Uuid;

use super::super::codec::{decode_appended, encode_appended};
use super::read::{self, into_raw};
use super::subjects::Names;
use super::unavailable;
use super::wire::{self, PubReply, Stamp};

/// Most events indexed per round of writes.
const MAX_CHUNK: usize = 500;

/// Positions between two index entries at most, so a restarted follower re-reads little.
const CHECKPOINT_EVERY: u64 = 4096;

/// Where the follower is, and what it needs to write.
pub struct Indexer {
    pub client: async_nats::Client,
    pub events: Stream,
    pub commands: Stream,
    pub names: Names,
    pub indexed: watch::Sender<u64>,
    pub reconnected: watch::Receiver<u64>,
}

impl Indexer {
    /// Follows the events stream for as long as the log is open, starting again from the
    /// stored checkpoint after any failure (the server away, a restart).
    pub async fn run(self) {
        let mut pause = Duration::from_millis(100);
        loop {
            match self.follow().await {
                Ok(()) => pause = Duration::from_millis(100),
                Err(error) => {
                    tracing::warn!(%error, "command index: following the event log failed; retrying");
                    pause = (pause * 2).min(Duration::from_secs(5));
                }
            }
            tokio::time::sleep(pause).await;
        }
    }

    async fn follow(&self) -> Result<(), LogError> {
        let mut reconnected = self.reconnected.clone();
        reconnected.borrow_and_update();
        let checkpoint = self.checkpoint().await?;
        self.indexed.send_if_modified(|at| raise(at, checkpoint));
        let tail = read::tail(&self.events, &self.names.all_events(), checkpoint + 1).await?;
        // Whatever has arrived is indexed in one round of concurrent writes.
        let mut chunks = tail.ready_chunks(MAX_CHUNK);
        loop {
            // After a reconnection, start again from the stored checkpoint.
            let chunk = tokio::select! {
                chunk = chunks.next() => chunk,
                _ = reconnected.changed() => return Ok(()),
            };
            let Some(chunk) = chunk else { return Ok(()) };
            let mut outcomes = Vec::new();
            let mut last = 0;
            for message in chunk {
                let raw =
                    into_raw(message.map_err(|e| unavailable("following the event stream", e))?)?;
                let stamp = Stamp::read(raw.headers.as_ref())?;
                if stamp.is_last() {
                    let outcome = self.outcome(&raw, stamp)?;
                    if stamp.retryable || covers_checkpoint(&outcome) {
                        outcomes.push((stamp.command, outcome));
                    }
                }
                last = raw.sequence;
            }
            // A write in flight when the server went away would wait for its timeout.
            tokio::select! {
                written = self.write_all(&outcomes) => written?,
                _ = reconnected.changed() => return Ok(()),
            }
            self.indexed.send_if_modified(|at| raise(at, last));
        }
    }

    fn outcome(&self, raw: &read::Raw, stamp: Stamp) -> Result<Appended, LogError> {
        Ok(Appended {
            stream: self.names.stream_of(&raw.subject)?,
            first_position: raw.sequence + 1 - stamp.parts,
            last_position: raw.sequence,
            version: stamp.version,
            duplicate: false,
        })
    }

    /// The last position indexed by anyone: the outcome stored last.
    async fn checkpoint(&self) -> Result<u64, LogError> {
        let info = self
            .commands
            .get_info()
            .await
            .map_err(|e| unavailable("command index info", e))?;
        if info.state.last_sequence == 0 {
            return Ok(0);
        }
        let last = self
            .commands
            .direct_get(info.state.last_sequence)
            .await
            .map_err(|e| unavailable("reading the command index", e))?;
        Ok(decode_appended(&last.payload)?.last_position)
    }

    /// Stores the outcomes not stored yet, all requests in flight at once. The index stream
    /// acknowledges before its fsync (`persist_mode: async`): it is a projection of the
    /// events, and a tail lost in a crash is written again from the checkpoint it leaves.
    async fn write_all(&self, outcomes: &[(Uuid, Appended)]) -> Result<(), LogError> {
        let writes = outcomes.iter().map(|(command, outcome)| {
            let subject = self.names.command(*command);
            let payload = encode_appended(outcome).into();
            wire::publish_if_absent(&self.client, subject, payload, "writing the command index")
        });
        for reply in futures::future::join_all(writes).await {
            match reply? {
                PubReply::Stored(_) | PubReply::WrongLastSequence => {}
                PubReply::Accepted => {
                    return Err(LogError::Unavailable(
                        "empty reply from the command index".into(),
                    ));
                }
            }
        }
        Ok(())
    }
}

/// True when the command's events cover a multiple of `CHECKPOINT_EVERY`.
fn covers_checkpoint(outcome: &Appended) -> bool {
    outcome.last_position / CHECKPOINT_EVERY * CHECKPOINT_EVERY >= outcome.first_position
}

fn raise(at: &mut u64, to: u64) -> bool {
    let raised = to > *at;
    if raised {
        *at = to;
    }
    raised
}

/// The first outcome of a command, once the index has caught up with `head`.
pub async fn lookup(
    commands: &Stream,
    names: &Names,
    indexed: &watch::Receiver<u64>,
    head: u64,
    command_id: Uuid,
) -> Result<Option<Appended>, LogError> {
    let mut indexed = indexed.clone();
    let caught_up = indexed.wait_for(|at| *at >= head);
    match tokio::time::timeout(Duration::from_secs(10), caught_up).await {
        Ok(Ok(_)) => {}
        Ok(Err(_)) => {
            return Err(LogError::Unavailable(
                "the command index has stopped".into(),
            ));
        }
        Err(_) => {
            return Err(LogError::Unavailable(format!(
                "the command index did not reach position {head} in 10 s"
            )));
        }
    }
    match read::last_on(commands, &names.command(command_id)).await? {
        Some(raw) => decode_appended(&raw.payload).map(Some),
        None => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outcome(first_position: u64, last_position: u64) -> Appended {
        Appended {
            stream: "thing-1".into(),
            first_position,
            last_position,
            version: 1,
            duplicate: false,
        }
    }

    #[test]
    fn one_command_in_each_checkpoint_span_is_indexed() {
        assert!(!covers_checkpoint(&outcome(1, 1)));
        assert!(covers_checkpoint(&outcome(4096, 4096)));
        assert!(covers_checkpoint(&outcome(4090, 4100)));
        assert!(!covers_checkpoint(&outcome(4097, 8191)));
        assert!(covers_checkpoint(&outcome(8191, 8192)));
    }
}
