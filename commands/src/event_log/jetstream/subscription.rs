//! `subscribe`: one ordered consumer from the requested position, history then live.
//! It survives the server going away: it waits, then resumes after the last event it
//! delivered, so a projection sees no gap and no duplicate.

use std::time::Duration;

use async_nats::jetstream::consumer::pull;
use async_nats::jetstream::stream::Stream;
use async_trait::async_trait;
use domain::envelope::RecordedEvent;
use domain::ports::event_log::{EventSubscription, LogError};
use futures::{FutureExt, StreamExt};
use tokio::sync::watch;

use super::read::{self, into_raw};
use super::wire;

pub struct JetStreamSubscription {
    pub(super) events: Stream,
    pub(super) filter: String,
    /// The next position to deliver.
    pub(super) next: u64,
    pub(super) messages: Option<pull::Ordered>,
    /// Bumped on every (re)connection: the consumer is then recreated from `next`.
    pub(super) reconnected: watch::Receiver<u64>,
}

impl JetStreamSubscription {
    async fn next_raw(&mut self) -> Result<read::Raw, LogError> {
        let mut pause = Duration::from_millis(100);
        loop {
            let failure = match self.messages.as_mut() {
                None => match read::tail(&self.events, &self.filter, self.next).await {
                    Ok(messages) => {
                        self.reconnected.borrow_and_update();
                        self.messages = Some(messages);
                        continue;
                    }
                    Err(error) => error,
                },
                Some(messages) => match next_or_reconnect(messages, &mut self.reconnected).await {
                    Some(Ok(message)) => {
                        let raw = into_raw(message)?;
                        // The ordered consumer never skips; anything else is a server bug.
                        if raw.sequence != self.next {
                            return Err(LogError::Corrupt(format!(
                                "expected event {} from JetStream, got {}",
                                self.next, raw.sequence
                            )));
                        }
                        return Ok(raw);
                    }
                    Some(Err(error)) => error,
                    None => LogError::Unavailable("the event stream ended".into()),
                },
            };
            if matches!(&failure, LogError::Unavailable(why) if why == RECONNECTED) {
                self.messages = None;
                pause = Duration::from_millis(100);
                continue;
            }
            tracing::warn!(error = %failure, position = self.next, "event subscription interrupted; resuming");
            self.messages = None;
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_secs(5));
        }
    }
}

#[async_trait]
impl EventSubscription for JetStreamSubscription {
    async fn next(&mut self) -> Result<RecordedEvent, LogError> {
        let raw = self.next_raw().await?;
        let event = wire::decode(&raw.payload, raw.sequence)?;
        self.next = raw.sequence + 1;
        Ok(event)
    }

    /// `next` is cancel-safe (nothing moves before an event is returned), so the events
    /// already received are taken by polling it once each.
    async fn next_batch(&mut self, max: usize) -> Result<Vec<RecordedEvent>, LogError> {
        let mut batch = vec![self.next().await?];
        while batch.len() < max {
            match self.next().now_or_never() {
                Some(Ok(event)) => batch.push(event),
                // An error comes back on the next call, after this batch is delivered.
                Some(Err(_)) | None => break,
            }
        }
        Ok(batch)
    }
}

const RECONNECTED: &str = "reconnected to NATS";

/// The next message, or a `RECONNECTED` error as soon as the client has reconnected since the
/// consumer was created (it lived in memory on a server that may have restarted).
pub(super) async fn next_or_reconnect(
    messages: &mut pull::Ordered,
    reconnected: &mut watch::Receiver<u64>,
) -> Option<Result<async_nats::jetstream::Message, LogError>> {
    tokio::select! {
        message = messages.next() => {
            message.map(|m| m.map_err(|e| super::unavailable("following the event stream", e)))
        }
        _ = reconnected.changed() => Some(Err(LogError::Unavailable(RECONNECTED.into()))),
    }
}
