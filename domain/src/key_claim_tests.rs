use proptest::prelude::*;
use uuid::Uuid;

use super::*;

const KEY: KeyHash = KeyHash([7; 32]);
const A: ThingId = ThingId(Uuid::from_u128(1));
const B: ThingId = ThingId(Uuid::from_u128(2));
const GRACE: Duration = Duration::seconds(30);

fn at(seconds: i64) -> OffsetDateTime {
    OffsetDateTime::UNIX_EPOCH + Duration::seconds(1_700_000_000 + seconds)
}

fn ctx(seconds: i64, key_user: Option<ThingId>) -> ClaimCtx {
    ClaimCtx {
        now: at(seconds),
        grace: GRACE,
        key_user,
    }
}

fn claim(thing: ThingId) -> KeyClaimCommand {
    KeyClaimCommand::Claim {
        key_hash: KEY,
        thing,
    }
}

fn release(thing: ThingId) -> KeyClaimCommand {
    KeyClaimCommand::Release {
        key_hash: KEY,
        thing,
    }
}

fn held_by(thing: ThingId, since: i64) -> KeyClaimState {
    KeyClaimState::Held {
        holder: thing,
        since: at(since),
    }
}

fn in_use() -> Result<Vec<Event>, DomainError> {
    Err(DomainError::Conflict(KEY_IN_USE.into()))
}

#[test]
fn given_free_key_when_claimed_then_held() {
    let events = decide(&KeyClaimState::Free, &claim(A), &ctx(0, None)).unwrap();
    assert_eq!(
        events.iter().fold(KeyClaimState::Free, apply),
        held_by(A, 0)
    );
}

#[test]
fn given_free_key_used_by_a_thing_from_before_claims_when_claimed_then_in_use() {
    assert_eq!(
        decide(&KeyClaimState::Free, &claim(A), &ctx(0, Some(B))),
        in_use()
    );
}

#[test]
fn given_claim_within_grace_when_another_claims_then_in_use() {
    assert_eq!(decide(&held_by(A, 0), &claim(B), &ctx(29, None)), in_use());
}

#[test]
fn given_claim_of_a_thing_using_the_key_when_another_claims_then_in_use_forever() {
    assert_eq!(
        decide(&held_by(A, 0), &claim(B), &ctx(86_400, Some(A))),
        in_use()
    );
}

#[test]
fn given_unused_claim_past_grace_when_another_claims_then_taken_over() {
    let events = decide(&held_by(A, 0), &claim(B), &ctx(30, None)).unwrap();
    assert_eq!(events.iter().fold(held_by(A, 0), apply), held_by(B, 30));
}

#[test]
fn given_own_claim_when_claimed_again_then_nothing_happens() {
    assert_eq!(decide(&held_by(A, 0), &claim(A), &ctx(1, None)), Ok(vec![]));
}

#[test]
fn given_claim_when_released_by_holder_no_longer_using_it_then_free() {
    let events = decide(&held_by(A, 0), &release(A), &ctx(1, None)).unwrap();
    assert_eq!(
        events.iter().fold(held_by(A, 0), apply),
        KeyClaimState::Free
    );
}

#[test]
fn given_claim_when_released_by_another_or_while_used_then_nothing_happens() {
    assert_eq!(
        decide(&held_by(A, 0), &release(B), &ctx(1, None)),
        Ok(vec![])
    );
    assert_eq!(
        decide(&held_by(A, 0), &release(A), &ctx(1, Some(A))),
        Ok(vec![])
    );
    assert_eq!(
        decide(&KeyClaimState::Free, &release(A), &ctx(1, None)),
        Ok(vec![])
    );
}

#[test]
fn a_release_by_a_former_holder_does_not_free_a_taken_over_claim() {
    let state = held_by(B, 40);
    let stray = Event::ThingKeyReleased {
        key_hash: KEY,
        thing_id: A,
    };
    assert_eq!(apply(state, &stray), state);
}

/// One step of a run: who acts, what, when (seconds, never backwards), and who uses the key.
#[derive(Debug, Clone)]
struct Step {
    command: KeyClaimCommand,
    after: i64,
    key_user: Option<ThingId>,
}

fn step() -> impl Strategy<Value = Step> {
    let thing = prop::sample::select(vec![A, B, ThingId(Uuid::from_u128(3))]);
    (
        thing.clone(),
        any::<bool>(),
        0i64..40,
        prop::option::of(thing),
    )
        .prop_map(|(thing, is_claim, after, key_user)| Step {
            command: if is_claim {
                claim(thing)
            } else {
                release(thing)
            },
            after,
            key_user,
        })
}

proptest! {
    #[test]
    fn any_command_sequence_keeps_invariants_and_replays(steps in prop::collection::vec(step(), 0..40)) {
        let mut state = KeyClaimState::Free;
        let mut history = Vec::new();
        let mut now = 0;
        for Step { command, after, key_user } in steps {
            now += after;
            let ctx = ctx(now, key_user);
            let before = state;
            let Ok(events) = decide(&state, &command, &ctx) else {
                // Refused only when someone else holds a live claim or uses the key.
                let KeyClaimCommand::Claim { thing, .. } = command else {
                    return Err(TestCaseError::fail("a release is never refused"));
                };
                let other_holds = matches!(state, KeyClaimState::Held { holder, .. }
                    if holder != thing && !is_stale(&state, &ctx));
                prop_assert!(other_holds || key_user.is_some_and(|u| u != thing));
                continue;
            };
            prop_assert!(events.len() <= 1);
            for event in &events {
                match (event, before, command) {
                    // Only the holder releases, and only a key it no longer uses.
                    (Event::ThingKeyReleased { thing_id, .. }, KeyClaimState::Held { holder, .. }, _) => {
                        prop_assert_eq!(*thing_id, holder);
                        prop_assert_ne!(key_user, Some(holder));
                    }
                    // A claim replaces another thing's claim only when that one is stale.
                    (Event::ThingKeyClaimed { thing_id, .. }, KeyClaimState::Held { holder, .. }, _) => {
                        prop_assert_ne!(*thing_id, holder);
                        prop_assert!(is_stale(&before, &ctx));
                    }
                    (Event::ThingKeyClaimed { .. }, KeyClaimState::Free, _) => {}
                    (event, before, command) => {
                        return Err(TestCaseError::fail(format!("{event:?} from {before:?} by {command:?}")));
                    }
                }
                state = apply(state, event);
            }
            history.extend(events);
            // At most one holder, and it is whoever claimed last.
            let last_claim = history.iter().rev().find_map(|e| match e {
                Event::ThingKeyClaimed { thing_id, .. } => Some(*thing_id),
                _ => None,
            });
            if let KeyClaimState::Held { holder, .. } = state {
                prop_assert_eq!(Some(holder), last_claim);
            }
        }
        let replayed = history.iter().fold(KeyClaimState::Free, apply);
        prop_assert_eq!(replayed, state);
    }
}
