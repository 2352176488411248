//! What one event looks like as a JetStream message, and what the server answers to a
//! publish.
//!
//! Payload: the envelope's JSON (the bytes `ferroflux events` prints) with `position` 0; the
//! real position is the message's stream sequence, known only once stored. Headers carry what
//! the log itself needs without parsing the payload.

use async_nats::HeaderMap;
use bytes::Bytes;
use domain::envelope::RecordedEvent;
use domain::ports::event_log::LogError;
use serde::Deserialize;
use uuid::Uuid;

/// The command that appended the event.
pub const COMMAND: &str = "Ff-Command";
/// The event's version in its aggregate stream.
pub const VERSION: &str = "Ff-Version";
/// `<i>/<n>`: the event is the i-th (from 1) of the n its command appended.
pub const PART: &str = "Ff-Part";
/// Present (`1`) when the command may be retried (`AppendBatch::retryable`): the command index
/// remembers it. Absent on most events, so they cost no index write.
pub const RETRYABLE: &str = "Ff-Retryable";

/// JetStream's error code for a failed `Nats-Expected-Last-Subject-Sequence` check.
const WRONG_LAST_SEQUENCE: u64 = 10071;

/// The headers the log reads back from a stored event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    pub command: Uuid,
    pub version: u64,
    pub part: u64,
    pub parts: u64,
    pub retryable: bool,
}

impl Stamp {
    pub fn headers(&self) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(COMMAND, self.command.simple().to_string().as_str());
        headers.insert(VERSION, self.version.to_string().as_str());
        headers.insert(PART, format!("{}/{}", self.part, self.parts).as_str());
        if self.retryable {
            headers.insert(RETRYABLE, "1");
        }
        headers
    }

    pub fn read(headers: Option<&HeaderMap>) -> Result<Self, LogError> {
        let get = |name: &str| {
            headers
                .and_then(|h| h.get(name))
                .map(|v| v.as_str().to_owned())
                .ok_or_else(|| LogError::Corrupt(format!("stored event without {name}")))
        };
        let corrupt = |name: &str| LogError::Corrupt(format!("stored event with a bad {name}"));
        let command = Uuid::parse_str(&get(COMMAND)?).map_err(|_| corrupt(COMMAND))?;
        let version = get(VERSION)?.parse().map_err(|_| corrupt(VERSION))?;
        let part = get(PART)?;
        let (part, parts) = part
            .split_once('/')
            .and_then(|(i, n)| Some((i.parse().ok()?, n.parse().ok()?)))
            .ok_or_else(|| corrupt(PART))?;
        let retryable = headers.and_then(|h| h.get(RETRYABLE)).is_some();
        Ok(Self {
            command,
            version,
            part,
            parts,
            retryable,
        })
    }

    /// True for the last event of its command: the command's outcome is known there.
    pub fn is_last(&self) -> bool {
        self.part == self.parts
    }
}

pub fn encode(event: &RecordedEvent) -> Result<Bytes, LogError> {
    serde_json::to_vec(event)
        .map(Bytes::from)
        .map_err(|e| LogError::Invalid(format!("event not serializable: {e}")))
}

/// The stored event, placed at the position JetStream gave it.
pub fn decode(payload: &[u8], position: u64) -> Result<RecordedEvent, LogError> {
    let mut event: RecordedEvent = serde_json::from_slice(payload)
        .map_err(|e| LogError::Corrupt(format!("stored event at {position}: {e}")))?;
    event.position = position;
    Ok(event)
}

/// Publishes `payload` on `subject` only if the subject holds no message yet; the server's
/// answer says which (`Stored`, or `WrongLastSequence` when some message was there first).
pub async fn publish_if_absent(
    client: &async_nats::Client,
    subject: String,
    payload: Bytes,
    what: &str,
) -> Result<PubReply, LogError> {
    let mut headers = HeaderMap::new();
    headers.insert("Nats-Expected-Last-Subject-Sequence", "0");
    let reply = client
        .request_with_headers(subject, headers, payload)
        .await
        .map_err(|e| LogError::Unavailable(format!("{what}: {e}")))?;
    pub_reply(&reply.payload)
}

/// The server's answer to a publish that asked for one.
#[derive(Debug, PartialEq, Eq)]
pub enum PubReply {
    /// Stored (for a batch: the batch committed); the sequence of the last message.
    Stored(u64),
    /// The subject's last sequence was not the one expected.
    WrongLastSequence,
    /// An empty reply: the server accepted the start of a batch.
    Accepted,
}

#[derive(Deserialize)]
struct Reply {
    seq: Option<u64>,
    error: Option<ReplyError>,
}

#[derive(Deserialize)]
struct ReplyError {
    #[serde(default)]
    err_code: u64,
    #[serde(default)]
    description: String,
}

pub fn pub_reply(payload: &[u8]) -> Result<PubReply, LogError> {
    if payload.is_empty() {
        return Ok(PubReply::Accepted);
    }
    let reply: Reply = serde_json::from_slice(payload).map_err(|e| {
        LogError::Unavailable(format!(
            "unreadable JetStream reply ({e}): {}",
            String::from_utf8_lossy(payload)
        ))
    })?;
    match (reply.seq, reply.error) {
        (_, Some(error)) if error.err_code == WRONG_LAST_SEQUENCE => {
            Ok(PubReply::WrongLastSequence)
        }
        (_, Some(error)) => Err(LogError::Unavailable(format!(
            "JetStream refused the append: {} (code {})",
            error.description, error.err_code
        ))),
        (Some(seq), None) => Ok(PubReply::Stored(seq)),
        (None, None) => Err(LogError::Unavailable(
            "JetStream reply without a sequence".into(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamps_round_trip_through_headers() {
        let stamp = Stamp {
            command: Uuid::new_v4(),
            version: 7,
            part: 2,
            parts: 3,
            retryable: false,
        };
        assert_eq!(Stamp::read(Some(&stamp.headers())), Ok(stamp));
        assert!(!stamp.is_last());
        let retryable = Stamp {
            retryable: true,
            ..stamp
        };
        assert_eq!(Stamp::read(Some(&retryable.headers())), Ok(retryable));
        assert!(matches!(Stamp::read(None), Err(LogError::Corrupt(_))));
    }

    #[test]
    fn replies_are_told_apart() {
        assert_eq!(
            pub_reply(br#"{"stream":"S","seq":42}"#),
            Ok(PubReply::Stored(42))
        );
        assert_eq!(pub_reply(b""), Ok(PubReply::Accepted));
        let wrong =
            br#"{"error":{"code":400,"err_code":10071,"description":"wrong last sequence: 3"}}"#;
        assert_eq!(pub_reply(wrong), Ok(PubReply::WrongLastSequence));
        let other =
            br#"{"error":{"code":503,"err_code":10008,"description":"jetstream not enabled"}}"#;
        assert!(matches!(pub_reply(other), Err(LogError::Unavailable(_))));
    }
}
