//! The claim on one bootstrap external id (`extid-<external_id_hash>`), which keeps external
//! ids unique across nodes exactly as `key_claim` keeps thing keys unique.
//!
//! The rule is the same (claim with the stream's expected version; a claim by the same
//! thing is no conflict; a crashed claim goes stale after a grace period), so this file only
//! translates: it runs `key_claim`'s decide and apply over its own event kinds, and the
//! stream is named by a keyed hash of the external id, a valid NATS token whatever the
//! device maker chose.

use crate::DomainError;
use crate::event::Event;
use crate::ids::{KeyHash, ThingId};
use crate::key_claim::{self, ClaimCtx, KeyClaimCommand, KeyClaimState};

pub const EXTERNAL_ID_IN_USE: &str = "external id is already in use";

/// `extid-<64 hex>`: the claim stream of one external id.
pub fn claim_stream(external_id_hash: &KeyHash) -> String {
    format!("extid-{external_id_hash}")
}

/// As `key_claim::decide`, with `ClaimCtx::key_user` meaning the thing whose config uses
/// the external id today.
pub fn decide(
    state: &KeyClaimState,
    command: &KeyClaimCommand,
    ctx: &ClaimCtx,
) -> Result<Vec<Event>, DomainError> {
    match key_claim::decide(state, command, ctx) {
        Ok(events) => Ok(events.iter().filter_map(to_external).collect()),
        Err(DomainError::Conflict(_)) => Err(DomainError::Conflict(EXTERNAL_ID_IN_USE.into())),
        Err(other) => Err(other),
    }
}

pub fn apply(state: KeyClaimState, event: &Event) -> KeyClaimState {
    match to_key_claim(event) {
        Some(event) => key_claim::apply(state, &event),
        None => state,
    }
}

fn to_external(event: &Event) -> Option<Event> {
    match *event {
        Event::ThingKeyClaimed {
            key_hash,
            thing_id,
            claimed_at,
        } => Some(Event::ExternalIdClaimed {
            external_id_hash: key_hash,
            thing_id,
            claimed_at,
        }),
        Event::ThingKeyReleased { key_hash, thing_id } => Some(Event::ExternalIdReleased {
            external_id_hash: key_hash,
            thing_id,
        }),
        _ => None,
    }
}

fn to_key_claim(event: &Event) -> Option<Event> {
    match *event {
        Event::ExternalIdClaimed {
            external_id_hash,
            thing_id,
            claimed_at,
        } => Some(Event::ThingKeyClaimed {
            key_hash: external_id_hash,
            thing_id,
            claimed_at,
        }),
        Event::ExternalIdReleased {
            external_id_hash,
            thing_id,
        } => Some(Event::ThingKeyReleased {
            key_hash: external_id_hash,
            thing_id,
        }),
        _ => None,
    }
}

/// The holder of a claim, if any: used by tests and by callers that report who holds it.
pub fn holder(state: &KeyClaimState) -> Option<ThingId> {
    match *state {
        KeyClaimState::Held { holder, .. } => Some(holder),
        KeyClaimState::Free => None,
    }
}

#[cfg(test)]
mod tests {
    use time::{Duration, OffsetDateTime};
    use uuid::Uuid;

    use super::*;

    const A: ThingId = ThingId(Uuid::from_u128(1));
    const B: ThingId = ThingId(Uuid::from_u128(2));
    const HASH: KeyHash = KeyHash([7; 32]);

    fn ctx(key_user: Option<ThingId>) -> ClaimCtx {
        ClaimCtx {
            now: OffsetDateTime::UNIX_EPOCH,
            grace: Duration::minutes(5),
            key_user,
        }
    }

    fn claim(thing: ThingId) -> KeyClaimCommand {
        KeyClaimCommand::Claim {
            key_hash: HASH,
            thing,
        }
    }

    #[test]
    fn given_free_when_claimed_then_external_event_and_held() {
        let events = decide(&KeyClaimState::Free, &claim(A), &ctx(None)).unwrap();
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].kind(), "config.external_id_claim");
        let state = events.iter().fold(KeyClaimState::Free, apply);
        assert_eq!(holder(&state), Some(A));
    }

    #[test]
    fn given_held_by_another_in_use_when_claimed_then_conflict_names_external_id() {
        let state = apply(
            KeyClaimState::Free,
            &decide(&KeyClaimState::Free, &claim(A), &ctx(None)).unwrap()[0],
        );
        assert_eq!(
            decide(&state, &claim(B), &ctx(Some(A))),
            Err(DomainError::Conflict(EXTERNAL_ID_IN_USE.into()))
        );
        assert_eq!(decide(&state, &claim(A), &ctx(Some(A))), Ok(vec![]));
    }

    #[test]
    fn given_held_when_released_by_holder_then_free_and_thing_key_events_ignored() {
        let held = KeyClaimState::Held {
            holder: A,
            since: OffsetDateTime::UNIX_EPOCH,
        };
        let release = KeyClaimCommand::Release {
            key_hash: HASH,
            thing: A,
        };
        let events = decide(&held, &release, &ctx(None)).unwrap();
        assert_eq!(events[0].kind(), "config.external_id_release");
        assert_eq!(apply(held, &events[0]), KeyClaimState::Free);
        let foreign = Event::ThingKeyReleased {
            key_hash: HASH,
            thing_id: A,
        };
        assert_eq!(apply(held, &foreign), held);
    }
}
