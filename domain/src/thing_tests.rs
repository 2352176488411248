use proptest::prelude::*;
use uuid::Uuid;

use super::*;
use crate::ids::{KeyHash, SealedKey};

const ALICE: UserId = UserId(Uuid::from_u128(1));
const BOB: UserId = UserId(Uuid::from_u128(2));
const ID: ThingId = ThingId(Uuid::from_u128(10));

fn key(n: u8) -> KeyMaterial {
    KeyMaterial {
        key_hash: KeyHash([n; 32]),
        sealed_key: SealedKey(format!("sealed{n}")),
    }
}

fn create(owner: UserId) -> ThingCommand {
    ThingCommand::Create {
        id: ID,
        owner,
        name: Some("sensor".into()),
        metadata: None,
        key: key(0),
    }
}

fn run(state: ThingState, command: &ThingCommand) -> Result<ThingState, DomainError> {
    Ok(decide(&state, command)?.iter().fold(state, apply))
}

#[test]
fn given_foreign_thing_when_any_command_then_not_found() {
    let state = run(ThingState::New, &create(ALICE)).unwrap();
    for command in [
        ThingCommand::Update {
            actor: BOB,
            name: None,
            metadata: None,
        },
        ThingCommand::UpdateKey {
            actor: BOB,
            key: key(1),
        },
        ThingCommand::Remove { actor: BOB },
    ] {
        assert_eq!(decide(&state, &command), Err(DomainError::NotFound));
    }
}

#[test]
fn given_removed_thing_when_owner_removes_again_then_nothing_happens() {
    let state = run(ThingState::New, &create(ALICE)).unwrap();
    let state = run(state, &ThingCommand::Remove { actor: ALICE }).unwrap();
    assert_eq!(
        decide(&state, &ThingCommand::Remove { actor: ALICE }),
        Ok(vec![])
    );
    assert_eq!(
        decide(&state, &ThingCommand::Remove { actor: BOB }),
        Err(DomainError::NotFound)
    );
    let update = ThingCommand::Update {
        actor: ALICE,
        name: None,
        metadata: None,
    };
    assert_eq!(decide(&state, &update), Err(DomainError::NotFound));
}

#[test]
fn given_long_name_when_creating_then_invalid() {
    let command = ThingCommand::Create {
        id: ID,
        owner: ALICE,
        name: Some("x".repeat(1025)),
        metadata: None,
        key: key(0),
    };
    assert!(matches!(
        decide(&ThingState::New, &command),
        Err(DomainError::Invalid(_))
    ));
}

fn command() -> impl Strategy<Value = ThingCommand> {
    let actor = prop::sample::select(vec![ALICE, BOB]);
    prop_oneof![
        actor.clone().prop_map(create),
        (actor.clone(), prop::option::of("[a-z]{0,8}")).prop_map(|(actor, name)| {
            ThingCommand::Update {
                actor,
                name,
                metadata: None,
            }
        }),
        (actor.clone(), 0u8..4)
            .prop_map(|(actor, n)| ThingCommand::UpdateKey { actor, key: key(n) }),
        actor.prop_map(|actor| ThingCommand::Remove { actor }),
    ]
}

proptest! {
    #[test]
    fn any_command_sequence_keeps_invariants_and_replays(commands in prop::collection::vec(command(), 0..40)) {
        let mut state = ThingState::New;
        let mut history = Vec::new();
        let mut owner = None;
        for command in &commands {
            if let Ok(events) = decide(&state, command) {
                for event in &events {
                    state = apply(state, event);
                }
                history.extend(events);
            }
            // Invariant: the owner never changes once set, and a removed thing stays removed.
            match &state {
                ThingState::Active(thing) => {
                    prop_assert_eq!(*owner.get_or_insert(thing.owner), thing.owner);
                    prop_assert!(!history.iter().any(|e| e.kind() == "thing.remove"));
                }
                ThingState::Removed { owner: removed_by } => {
                    prop_assert_eq!(Some(*removed_by), owner);
                }
                ThingState::New => prop_assert!(history.is_empty()),
            }
        }
        let replayed = history.iter().fold(ThingState::New, apply);
        prop_assert_eq!(replayed, state);
        prop_assert!(history.iter().filter(|e| e.kind() == "thing.create").count() <= 1);
    }
}
