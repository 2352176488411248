//! An entity's history and its state as of any moment, read from its own stream in the log
//! and folded with the same `apply` as the live aggregates: what the log says it was, not a
//! second model of it. Only the owner sees either; to anyone else the entity does not exist.

use domain::DomainError;
use domain::channel::{self, ChannelState};
use domain::envelope::RecordedEvent;
use domain::event::Event;
use domain::ids::{ChannelId, ThingId, UserId};
use domain::thing::{self, ThingState};
use projections::views::{ChannelRow, ThingRow};
use time::OffsetDateTime;

use super::{Service, ServiceError, ThingWithKey};

/// Where in the log to stop folding: after this global position, or after the last event
/// that occurred at or before this time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AsOf {
    Position(u64),
    Time(OffsetDateTime),
}

impl AsOf {
    /// A position (digits) or an RFC 3339 time; `None` for anything else.
    pub fn parse(raw: &str) -> Option<AsOf> {
        if let Ok(position) = raw.parse() {
            return Some(AsOf::Position(position));
        }
        let format = time::format_description::well_known::Rfc3339;
        OffsetDateTime::parse(raw, &format).ok().map(AsOf::Time)
    }

    fn includes(self, event: &RecordedEvent) -> bool {
        match self {
            AsOf::Position(position) => event.position <= position,
            AsOf::Time(at) => event.occurred_at <= at,
        }
    }
}

impl Service {
    /// Every event of the thing's stream, oldest first, if `actor` owns (or owned) it.
    pub async fn thing_events(
        &self,
        actor: UserId,
        id: ThingId,
    ) -> Result<Vec<RecordedEvent>, ServiceError> {
        let recorded = self.log.read_stream(&id.stream()).await?;
        // The owner never changes: the creating event alone tells.
        match fold(recorded.get(..1).unwrap_or_default(), None, thing::apply)? {
            ThingState::Active(t) if t.owner == actor => Ok(recorded),
            _ => Err(DomainError::NotFound.into()),
        }
    }

    pub async fn channel_events(
        &self,
        actor: UserId,
        id: ChannelId,
    ) -> Result<Vec<RecordedEvent>, ServiceError> {
        let recorded = self.log.read_stream(&id.stream()).await?;
        match fold(recorded.get(..1).unwrap_or_default(), None, channel::apply)? {
            ChannelState::Active(c) if c.owner == actor => Ok(recorded),
            _ => Err(DomainError::NotFound.into()),
        }
    }

    /// The thing as it was at `at`, key included (its seal then); 404 where it did not
    /// exist then, or is not the caller's.
    pub async fn thing_as_of(
        &self,
        actor: UserId,
        id: ThingId,
        at: AsOf,
    ) -> Result<ThingWithKey, ServiceError> {
        let recorded = self.thing_events(actor, id).await?;
        let state: ThingState = fold(&recorded, Some(at), thing::apply)?;
        let thing = state.owned_by(actor)?;
        Ok(self.with_key(ThingRow {
            id: thing.id,
            owner: thing.owner,
            name: thing.name.clone(),
            metadata: thing.metadata.clone(),
            key_hash: thing.key.key_hash,
            sealed_key: thing.key.sealed_key.clone(),
        }))
    }

    pub async fn channel_as_of(
        &self,
        actor: UserId,
        id: ChannelId,
        at: AsOf,
    ) -> Result<ChannelRow, ServiceError> {
        let recorded = self.channel_events(actor, id).await?;
        let state: ChannelState = fold(&recorded, Some(at), channel::apply)?;
        let channel = state.owned_by(actor)?;
        Ok(ChannelRow {
            id: channel.id,
            owner: channel.owner,
            name: channel.name.clone(),
            metadata: channel.metadata.clone(),
        })
    }
}

/// The state after the events up to `at` (all of them when `None`).
pub fn fold<S: Default>(
    recorded: &[RecordedEvent],
    at: Option<AsOf>,
    apply: fn(S, &Event) -> S,
) -> Result<S, ServiceError> {
    let mut state = S::default();
    for event in recorded
        .iter()
        .take_while(|e| at.is_none_or(|at| at.includes(e)))
    {
        state = apply(state, &projections::runner::decode(event)?);
    }
    Ok(state)
}
