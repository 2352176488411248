//! One append: find the stream's tip, publish with an expected last subject sequence, and on
//! refusal tell a conflict from a retried command.
//!
//! A batch of one event is one request. A batch of several is a JetStream atomic batch
//! (nats-server ≥ 2.12): stored together or not at all, at consecutive sequences, with the
//! tip checked on its first message when the batch commits. Concurrent appends from many tasks
//! are in flight together on the one connection, so throughput does not fall to one append
//! per round trip.

use async_nats::HeaderMap;
use bytes::Bytes;
use domain::envelope::RecordedEvent;
use domain::ports::event_log::{AppendBatch, Appended, LogError};
use uuid::Uuid;

use super::JetStreamEventLog;
use super::read;
use super::wire::{self, PubReply, Stamp};

/// The most events one append may carry: JetStream's default atomic-batch limit.
pub const MAX_EVENTS: usize = 1000;

const EXPECTED_LAST_SUBJECT_SEQUENCE: &str = "Nats-Expected-Last-Subject-Sequence";

/// Where a stream ends: its version and the sequence of its last event (0, 0 when empty).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tip {
    pub version: u64,
    pub sequence: u64,
}

impl JetStreamEventLog {
    pub(super) async fn append_batch(&self, batch: AppendBatch) -> Result<Appended, LogError> {
        if batch.events.is_empty() {
            return Err(LogError::Invalid(
                "an append needs at least one event".into(),
            ));
        }
        if batch.events.len() > MAX_EVENTS {
            return Err(LogError::Invalid(format!(
                "{} events in one append (at most {MAX_EVENTS})",
                batch.events.len()
            )));
        }
        let subject = self.names.subject(&batch.stream)?;
        let tip = self
            .tip(&batch.stream, &subject, batch.expected_version)
            .await?;
        if tip.version != batch.expected_version {
            // A remembered tip may be stale (another node appended): then the caller's next
            // try at this version is refused by the server, and the tip read afresh.
            return self.refused(&batch, tip).await;
        }
        match self.publish(&subject, &batch, tip.sequence).await? {
            Some(last) => {
                let count = batch.events.len() as u64;
                let version = tip.version + count;
                self.remember(
                    &batch.stream,
                    Tip {
                        version,
                        sequence: last,
                    },
                );
                let retry_id = batch.retry_id();
                let appended = Appended {
                    stream: batch.stream,
                    first_position: last + 1 - count,
                    last_position: last,
                    version,
                    duplicate: false,
                };
                self.note_appended(retry_id, &appended);
                Ok(appended)
            }
            None => {
                let tip = self.fetch_tip(&subject).await?;
                self.remember(&batch.stream, tip);
                self.refused(&batch, tip).await
            }
        }
    }

    /// The stream's tip: remembered when it is the expected one (this node wrote or read it
    /// last; a stale memory only costs a refused publish), else read from the server.
    pub(super) async fn tip(
        &self,
        stream: &str,
        subject: &str,
        expected: u64,
    ) -> Result<Tip, LogError> {
        // A create needs no read: the server refuses it if the subject has any message.
        if expected == 0 {
            return Ok(Tip {
                version: 0,
                sequence: 0,
            });
        }
        if let Some(tip) = self
            .remembered(stream)
            .filter(|tip| tip.version == expected)
        {
            return Ok(tip);
        }
        let tip = self.fetch_tip(subject).await?;
        self.remember(stream, tip);
        Ok(tip)
    }

    pub(super) async fn fetch_tip(&self, subject: &str) -> Result<Tip, LogError> {
        match read::last_on(&self.events, subject).await? {
            None => Ok(Tip {
                version: 0,
                sequence: 0,
            }),
            Some(raw) => Ok(Tip {
                version: Stamp::read(raw.headers.as_ref())?.version,
                sequence: raw.sequence,
            }),
        }
    }

    /// Why an append at the wrong version was refused: the command was appended before (its
    /// first outcome, as a duplicate), or the stream is elsewhere (a conflict). This handle's
    /// own appends answer first; then the command index, once it has caught up with the
    /// stream's tip. A command the index did not know when this handle last looked, and that
    /// this handle has not appended since, is not looked up again: only this handle could
    /// have appended it (a retry through another node asks `find_command` first), so a writer
    /// that keeps losing a race pays one round trip per try.
    pub(super) async fn refused(
        &self,
        batch: &AppendBatch,
        tip: Tip,
    ) -> Result<Appended, LogError> {
        if !batch.retryable {
            return Err(conflict(batch, tip));
        }
        if let Some(first) = self.own_outcome(batch.command_id) {
            return Ok(Appended {
                duplicate: true,
                ..first
            });
        }
        if tip.version > 0 && !self.refused_before(batch.command_id) {
            match self.indexed_outcome(batch.command_id, tip.sequence).await? {
                Some(first) => {
                    return Ok(Appended {
                        duplicate: true,
                        ..first
                    });
                }
                None => self.note_refused(batch.command_id),
            }
        }
        Err(conflict(batch, tip))
    }

    /// Publishes the batch; `Some(last sequence)` once stored, `None` when the tip moved.
    async fn publish(
        &self,
        subject: &str,
        batch: &AppendBatch,
        tip: u64,
    ) -> Result<Option<u64>, LogError> {
        self.send(outgoing(subject, batch, tip)?).await
    }

    /// Publishes the messages of one append: one alone as a plain publish, several as one
    /// atomic batch. Only the last message asks for a reply: the server checks every
    /// expected sequence when the batch commits, so awaiting the start of the batch would
    /// only add a round trip. `Some(last sequence)` once stored, `None` when a tip moved.
    pub(super) async fn send(&self, messages: Vec<Outgoing>) -> Result<Option<u64>, LogError> {
        let total = messages.len() as u64;
        // The server keeps at most 50 batches open per stream and refuses the next one.
        let _open = match total {
            0 | 1 => None,
            _ => Some(
                self.open_batches
                    .acquire()
                    .await
                    .map_err(|_| LogError::Unavailable("the event log is closing".into()))?,
            ),
        };
        let batch_id = Uuid::new_v4().simple().to_string();
        let mut reply = None;
        for (n, mut message) in (1u64..).zip(messages) {
            if total > 1 {
                batch_headers(&mut message.headers, &batch_id, n, total);
            }
            if n < total {
                self.client
                    .publish_with_headers(message.subject, message.headers, message.payload)
                    .await
                    .map_err(|e| super::unavailable("publishing an event", e))?;
                continue;
            }
            reply = Some(
                self.client
                    .request_with_headers(message.subject, message.headers, message.payload)
                    .await
                    .map_err(|e| super::unavailable("appending an event", e))?,
            );
        }
        let Some(reply) = reply else {
            return Err(LogError::Invalid(
                "an append needs at least one event".into(),
            ));
        };
        match wire::pub_reply(&reply.payload)? {
            PubReply::Stored(sequence) => Ok(Some(sequence)),
            PubReply::WrongLastSequence => Ok(None),
            PubReply::Accepted => Err(LogError::Unavailable(format!(
                "JetStream did not commit the append of {total} events"
            ))),
        }
    }
}

/// One event of an append, ready to publish.
pub(super) struct Outgoing {
    subject: String,
    headers: HeaderMap,
    payload: Bytes,
}

/// The messages of `batch`: each stamped with its command and version, the first also with
/// the sequence the subject must end at (`tip`) for the append to be stored.
pub(super) fn outgoing(
    subject: &str,
    batch: &AppendBatch,
    tip: u64,
) -> Result<Vec<Outgoing>, LogError> {
    let parts = batch.events.len() as u64;
    let mut messages = Vec::with_capacity(batch.events.len());
    for (part, pending) in (1u64..).zip(&batch.events) {
        let version = batch.expected_version + part;
        let event = RecordedEvent::record(pending.clone(), &batch.stream, version, 0);
        let stamp = Stamp {
            command: batch.command_id,
            version,
            part,
            parts,
            retryable: batch.retryable,
        };
        let mut headers = stamp.headers();
        if part == 1 {
            headers.insert(EXPECTED_LAST_SUBJECT_SEQUENCE, tip.to_string().as_str());
        }
        messages.push(Outgoing {
            subject: subject.to_owned(),
            headers,
            payload: wire::encode(&event)?,
        });
    }
    Ok(messages)
}

fn conflict(batch: &AppendBatch, tip: Tip) -> LogError {
    LogError::Conflict {
        stream: batch.stream.clone(),
        expected: batch.expected_version,
        actual: tip.version,
    }
}

fn batch_headers(headers: &mut HeaderMap, batch_id: &str, part: u64, parts: u64) {
    headers.insert("Nats-Batch-Id", batch_id);
    headers.insert("Nats-Batch-Sequence", part.to_string().as_str());
    if part == parts {
        headers.insert("Nats-Batch-Commit", "1");
    }
}
