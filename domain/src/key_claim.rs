//! The claim on one thing key, shared by every node through the log (`thingkey-<key_hash>`).
//!
//! Key uniqueness spans all things, and with several nodes no in-process lock can guard it:
//! the claim stream's version does. A create or key change first claims the key hash here
//! (appended with the expected version, so of two racing nodes exactly one wins), then
//! writes the thing's own event, then releases whatever key it gave up.
//!
//! A node can die between the claim and the thing's event, or before a release. So a claim
//! whose holder does not use the key (per the authz projection, passed in as
//! `ClaimCtx::key_user`) and that is older than a grace period is stale and may be taken
//! over. A claim by the same thing is no conflict: a retried command finds its own claim.
//! Events carry the key hash and thing id, never the key.

use time::{Duration, OffsetDateTime};

use crate::DomainError;
use crate::event::Event;
use crate::ids::{KeyHash, ThingId};

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum KeyClaimState {
    #[default]
    Free,
    Held {
        holder: ThingId,
        since: OffsetDateTime,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyClaimCommand {
    Claim {
        key_hash: KeyHash,
        thing: ThingId,
    },
    /// Gives the key up; only its holder can, and only once it no longer uses it.
    Release {
        key_hash: KeyHash,
        thing: ThingId,
    },
}

/// What `decide` needs from outside: the clock and the authz projection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClaimCtx {
    pub now: OffsetDateTime,
    /// How long a claim whose holder does not use the key is still honoured.
    pub grace: Duration,
    /// The thing that authenticates with this key today, if any. Covers histories written
    /// before claims existed, and tells a live claim from a crashed one.
    pub key_user: Option<ThingId>,
}

pub const KEY_IN_USE: &str = "thing key is already in use";

pub fn decide(
    state: &KeyClaimState,
    command: &KeyClaimCommand,
    ctx: &ClaimCtx,
) -> Result<Vec<Event>, DomainError> {
    match *command {
        KeyClaimCommand::Claim { key_hash, thing } => {
            if ctx.key_user.is_some_and(|user| user != thing) {
                return Err(DomainError::Conflict(KEY_IN_USE.into()));
            }
            match *state {
                KeyClaimState::Held { holder, .. } if holder == thing => Ok(vec![]),
                KeyClaimState::Held { .. } if !is_stale(state, ctx) => {
                    Err(DomainError::Conflict(KEY_IN_USE.into()))
                }
                _ => Ok(vec![Event::ThingKeyClaimed {
                    key_hash,
                    thing_id: thing,
                    claimed_at: ctx.now,
                }]),
            }
        }
        KeyClaimCommand::Release { key_hash, thing } => match *state {
            KeyClaimState::Held { holder, .. }
                if holder == thing && ctx.key_user != Some(thing) =>
            {
                Ok(vec![Event::ThingKeyReleased {
                    key_hash,
                    thing_id: thing,
                }])
            }
            _ => Ok(vec![]),
        },
    }
}

/// Held by a thing that does not use the key, for longer than the grace period.
pub fn is_stale(state: &KeyClaimState, ctx: &ClaimCtx) -> bool {
    match *state {
        KeyClaimState::Free => false,
        KeyClaimState::Held { holder, since } => {
            ctx.key_user != Some(holder) && ctx.now - since >= ctx.grace
        }
    }
}

pub fn apply(state: KeyClaimState, event: &Event) -> KeyClaimState {
    match (state, event) {
        (
            _,
            Event::ThingKeyClaimed {
                thing_id,
                claimed_at,
                ..
            },
        ) => KeyClaimState::Held {
            holder: *thing_id,
            since: *claimed_at,
        },
        (KeyClaimState::Held { holder, .. }, Event::ThingKeyReleased { thing_id, .. })
            if holder == *thing_id =>
        {
            KeyClaimState::Free
        }
        (state, _) => state,
    }
}

#[cfg(test)]
#[path = "key_claim_tests.rs"]
mod tests;
