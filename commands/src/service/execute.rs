//! The one path every command takes: load → decide → append → wait for projections.

use domain::envelope::PendingEvent;
use domain::event::SCHEMA_VERSION;
use domain::ports::event_log::{AppendBatch, Appended, LogError};
use domain::{DomainError, Event};
use time::OffsetDateTime;
use uuid::Uuid;

use super::{CommandMeta, Service, ServiceError};

/// How often a command is re-decided after losing an optimistic-concurrency race (only
/// another node can cause one: this node serializes commands per stream).
const MAX_ATTEMPTS: usize = 5;

impl Service {
    /// Folds one stream into its aggregate state; returns the state and the stream version.
    pub(super) async fn load<S: Default>(
        &self,
        stream: &str,
        apply: fn(S, &Event) -> S,
    ) -> Result<(S, u64), ServiceError> {
        self.load_from(stream, S::default(), apply).await
    }

    /// `load` for an aggregate whose empty state knows its own id (a bootstrap config).
    pub(super) async fn load_from<S>(
        &self,
        stream: &str,
        empty: S,
        apply: fn(S, &Event) -> S,
    ) -> Result<(S, u64), ServiceError> {
        let recorded = self.log.read_stream(stream).await?;
        let version = recorded.last().map_or(0, |r| r.version);
        let mut state = empty;
        for r in &recorded {
            let event = projections::runner::decode(r)?;
            state = apply(state, &event);
        }
        Ok((state, version))
    }

    /// Runs a decision against the freshest state of `stream` and appends its events.
    /// Returns `None` when the decision produced no event (an idempotent no-op).
    pub(super) async fn execute<S: Default>(
        &self,
        meta: &CommandMeta,
        stream: String,
        apply: fn(S, &Event) -> S,
        decide: impl Fn(&S) -> Result<Vec<Event>, DomainError>,
    ) -> Result<Option<Appended>, ServiceError> {
        self.run(meta, stream, S::default, apply, decide, false)
            .await
    }

    /// `execute` for an aggregate whose empty state knows its own id (a bootstrap config).
    pub(super) async fn execute_from<S>(
        &self,
        meta: &CommandMeta,
        stream: String,
        empty: impl Fn() -> S,
        apply: fn(S, &Event) -> S,
        decide: impl Fn(&S) -> Result<Vec<Event>, DomainError>,
    ) -> Result<Option<Appended>, ServiceError> {
        self.run(meta, stream, empty, apply, decide, false).await
    }

    /// `execute` for a stream named after an id this command has just made up (a create):
    /// the first try decides on the empty state and appends at version 0 without reading
    /// the stream, one round trip less on a remote log. Should the stream exist after all,
    /// the log refuses the append and the next try reads it like `execute`.
    pub(super) async fn execute_new<S: Default>(
        &self,
        meta: &CommandMeta,
        stream: String,
        apply: fn(S, &Event) -> S,
        decide: impl Fn(&S) -> Result<Vec<Event>, DomainError>,
    ) -> Result<Option<Appended>, ServiceError> {
        self.run(meta, stream, S::default, apply, decide, true)
            .await
    }

    async fn run<S>(
        &self,
        meta: &CommandMeta,
        stream: String,
        empty: impl Fn() -> S,
        apply: fn(S, &Event) -> S,
        decide: impl Fn(&S) -> Result<Vec<Event>, DomainError>,
        assume_new: bool,
    ) -> Result<Option<Appended>, ServiceError> {
        if let Some(done) = self.replayed(meta).await? {
            return Ok(Some(done));
        }
        let stream_guard = self.stream_locks.lock(&stream).await;
        for attempt in 0..MAX_ATTEMPTS {
            let (state, version) = if assume_new && attempt == 0 {
                (empty(), 0)
            } else {
                self.load_from(&stream, empty(), apply).await?
            };
            let events = decide(&state)?;
            if events.is_empty() {
                return Ok(None);
            }
            let batch = AppendBatch {
                stream: stream.clone(),
                expected_version: version,
                command_id: meta.command_id,
                retryable: meta.client_chosen_id,
                events: events.iter().map(|e| pending(meta, e)).collect(),
            };
            match self.log.append(batch).await {
                Ok(appended) => {
                    drop(stream_guard);
                    self.wait_projected(appended.last_position).await?;
                    return Ok(Some(appended));
                }
                Err(LogError::Conflict { .. }) => continue,
                Err(other) => return Err(other.into()),
            }
        }
        Err(ServiceError::conflict("too many concurrent changes, retry"))
    }

    /// The earlier outcome of a retried request (same client-chosen command id), once it is
    /// visible in the projections.
    pub(super) async fn replayed(
        &self,
        meta: &CommandMeta,
    ) -> Result<Option<Appended>, ServiceError> {
        if !meta.client_chosen_id {
            return Ok(None);
        }
        let Some(done) = self.log.find_command(meta.command_id).await? else {
            return Ok(None);
        };
        self.wait_projected(done.last_position).await?;
        Ok(Some(done))
    }

    pub(super) async fn wait_projected(&self, position: u64) -> Result<(), ServiceError> {
        let timeout = self.settings.projection_timeout;
        Ok(self.applied.wait_for(position, timeout).await?)
    }
}

pub(super) fn pending(meta: &CommandMeta, event: &Event) -> PendingEvent {
    PendingEvent {
        id: Uuid::now_v7(),
        kind: event.kind().to_owned(),
        schema: SCHEMA_VERSION,
        occurred_at: OffsetDateTime::now_utc(),
        actor: meta.actor.map(|a| a.to_string()),
        correlation_id: meta.correlation_id,
        data: event.data(),
    }
}

/// The aggregate id inside a stream name such as `thing-<uuid>`.
pub(super) fn id_in_stream(stream: &str) -> Result<Uuid, ServiceError> {
    stream
        .split_once('-')
        .and_then(|(_, id)| Uuid::parse_str(id).ok())
        .ok_or_else(|| ServiceError::Internal(format!("unexpected stream name {stream}")))
}
