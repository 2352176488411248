//! Reading events back: the last event of a subject and ranges by direct gets, live tails by
//! ordered consumers (ephemeral, memory-only, recreated by the client on any gap).

use std::time::Duration;

use async_nats::jetstream::consumer::{AckPolicy, DeliverPolicy, pull};
use async_nats::jetstream::stream::{DirectGetErrorKind, Stream};
use async_nats::{Client, HeaderMap};
use bytes::Bytes;
use domain::ports::event_log::LogError;
use futures::StreamExt;

use super::unavailable;

/// One stored message, as the log needs it.
#[derive(Debug)]
pub struct Raw {
    pub sequence: u64,
    pub subject: String,
    pub headers: Option<HeaderMap>,
    pub payload: Bytes,
}

/// The last message on `subject`, if it has any.
pub async fn last_on(stream: &Stream, subject: &str) -> Result<Option<Raw>, LogError> {
    match stream.direct_get_last_for_subject(subject).await {
        Ok(message) => Ok(Some(Raw {
            sequence: message.sequence,
            subject: message.subject.to_string(),
            headers: Some(message.headers),
            payload: message.payload,
        })),
        Err(e) if matches!(e.kind(), DirectGetErrorKind::NotFound) => Ok(None),
        Err(e) => Err(unavailable("direct get", e)),
    }
}

/// An ordered consumer over `filter` from sequence `from` on.
pub async fn tail(stream: &Stream, filter: &str, from: u64) -> Result<pull::Ordered, LogError> {
    let config = pull::OrderedConfig {
        filter_subject: filter.to_owned(),
        deliver_policy: DeliverPolicy::ByStartSequence {
            start_sequence: from.max(1),
        },
        ..Default::default()
    };
    let consumer = stream
        .create_consumer(config)
        .await
        .map_err(|e| unavailable("creating an ordered consumer", e))?;
    consumer
        .messages()
        .await
        .map_err(|e| unavailable("reading the event stream", e))
}

/// Messages per direct-get batch request; the server may send fewer (it caps bytes too).
const BATCH: u64 = 1000;

/// Every message on `filter` with a sequence in `from..=to` (`to` must exist on `filter`),
/// by batched direct gets: no consumer to create, one round trip per thousand events.
pub async fn range(
    client: &Client,
    stream: &str,
    filter: &str,
    from: u64,
    to: u64,
) -> Result<Vec<Raw>, LogError> {
    let mut out = Vec::new();
    let mut next = from.max(1);
    while next <= to {
        let got = batch(client, stream, filter, next, (to - next + 1).min(BATCH)).await?;
        let Some(last) = got.last().map(|raw| raw.sequence) else {
            return Err(LogError::Unavailable(format!(
                "events {next}..={to} are missing from {stream}"
            )));
        };
        out.extend(got.into_iter().filter(|raw| raw.sequence <= to));
        next = last + 1;
    }
    Ok(out)
}

/// Ranges at least this long are read by `scan` rather than `range`.
pub const SCAN_FROM: u64 = 512;

/// Every message in `from..=to` of a stream whose subjects all match `filter` (so the
/// range holds exactly `to - from + 1` messages), through a consumer made for this read: the
/// server streams a long range about three times faster than it answers direct-get batches
/// (bench: raw JetStream reads), for two more round trips (create, delete).
pub async fn scan(stream: &Stream, filter: &str, from: u64, to: u64) -> Result<Vec<Raw>, LogError> {
    let name = format!("scan{}", uuid::Uuid::new_v4().simple());
    let consumer = stream
        .create_consumer(pull::Config {
            name: Some(name.clone()),
            filter_subject: filter.to_owned(),
            deliver_policy: DeliverPolicy::ByStartSequence {
                start_sequence: from.max(1),
            },
            ack_policy: AckPolicy::None,
            // Deleted below; should that fail, the server drops it once idle.
            inactive_threshold: Duration::from_secs(30),
            memory_storage: true,
            num_replicas: 1,
            ..Default::default()
        })
        .await
        .map_err(|e| unavailable("creating a reading consumer", e))?;
    let read = scan_with(&consumer, from.max(1), to).await;
    let _ = stream.delete_consumer(&name).await;
    read
}

async fn scan_with(
    consumer: &async_nats::jetstream::consumer::PullConsumer,
    from: u64,
    to: u64,
) -> Result<Vec<Raw>, LogError> {
    let want = (to + 1).saturating_sub(from) as usize;
    let mut out = Vec::with_capacity(want);
    while out.len() < want {
        let mut messages = consumer
            .fetch()
            .max_messages(want - out.len())
            .messages()
            .await
            .map_err(|e| unavailable("reading events", e))?;
        let before = out.len();
        while let Some(message) = messages.next().await {
            let message = message.map_err(|e| unavailable("reading events", e))?;
            let raw = into_raw(message)?;
            if raw.sequence != from + out.len() as u64 {
                return Err(LogError::Corrupt(format!(
                    "expected event {} from JetStream, got {}",
                    from + out.len() as u64,
                    raw.sequence
                )));
            }
            out.push(raw);
        }
        if out.len() == before {
            return Err(LogError::Unavailable(format!(
                "events {}..={to} are missing",
                from + before as u64
            )));
        }
    }
    Ok(out)
}

/// One direct-get batch (nats-server ≥ 2.11): up to `count` messages on `filter` from `from`,
/// each a reply of its own, then an end-of-batch status.
async fn batch(
    client: &Client,
    stream: &str,
    filter: &str,
    from: u64,
    count: u64,
) -> Result<Vec<Raw>, LogError> {
    let inbox = client.new_inbox();
    let mut replies = client
        .subscribe(inbox.clone())
        .await
        .map_err(|e| unavailable("direct get", e))?;
    let request = serde_json::json!({ "seq": from, "batch": count, "next_by_subj": filter });
    client
        .publish_with_reply(
            format!("$JS.API.DIRECT.GET.{stream}"),
            inbox,
            request.to_string().into(),
        )
        .await
        .map_err(|e| unavailable("direct get", e))?;
    let mut out = Vec::new();
    loop {
        let reply = tokio::time::timeout(REPLY_TIMEOUT, replies.next())
            .await
            .map_err(|_| {
                LogError::Unavailable(format!("no direct-get reply from {stream} in time"))
            })?
            .ok_or_else(|| {
                LogError::Unavailable("the connection closed during a direct get".into())
            })?;
        match reply.status {
            None => out.push(direct_raw(reply)?),
            // End of batch (204), or nothing at or after `from` (404).
            Some(status) if matches!(status.as_u16(), 204 | 404) => return Ok(out),
            Some(status) => {
                return Err(LogError::Unavailable(format!(
                    "direct get from {stream}: {status} {}",
                    reply.description.unwrap_or_default()
                )));
            }
        }
    }
}

const REPLY_TIMEOUT: Duration = Duration::from_secs(10);

fn direct_raw(reply: async_nats::Message) -> Result<Raw, LogError> {
    let header = |name: &str| {
        reply
            .headers
            .as_ref()
            .and_then(|h| h.get(name))
            .map(|v| v.as_str().to_owned())
    };
    let sequence = header("Nats-Sequence")
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| LogError::Corrupt("direct get reply without Nats-Sequence".into()))?;
    let subject = header("Nats-Subject")
        .ok_or_else(|| LogError::Corrupt("direct get reply without Nats-Subject".into()))?;
    Ok(Raw {
        sequence,
        subject,
        headers: reply.headers,
        payload: reply.payload,
    })
}

pub fn into_raw(message: async_nats::jetstream::Message) -> Result<Raw, LogError> {
    let sequence = message
        .info()
        .map_err(|e| LogError::Corrupt(format!("message without stream info: {e}")))?
        .stream_sequence;
    let message = message.split().0;
    Ok(Raw {
        sequence,
        subject: message.subject.to_string(),
        headers: message.headers,
        payload: message.payload,
    })
}
