use proptest::prelude::*;
use uuid::Uuid;

use super::*;
use crate::ids::{KeyHash, SealedKey};

const ALICE: UserId = UserId(Uuid::from_u128(1));
const BOB: UserId = UserId(Uuid::from_u128(2));
const THING: ThingId = ThingId(Uuid::from_u128(10));

fn channel(n: u8) -> ChannelId {
    ChannelId(Uuid::from_u128(100 + u128::from(n)))
}

fn key(n: u8) -> KeyMaterial {
    KeyMaterial {
        key_hash: KeyHash([n; 32]),
        sealed_key: SealedKey(format!("sealed{n}")),
    }
}

fn create(owner: UserId, channels: Vec<ChannelId>) -> ConfigCommand {
    ConfigCommand::Create {
        thing_id: THING,
        owner,
        external_id: "ext-1".into(),
        external_key: key(1),
        name: Some("gateway".into()),
        content: Some("{\"mqtt\":true}".into()),
        channels,
        certs: Certs::default(),
    }
}

fn run(state: ConfigState, command: &ConfigCommand) -> Result<ConfigState, DomainError> {
    Ok(decide(&state, command)?.iter().fold(state, apply))
}

fn live(state: &ConfigState) -> &Config {
    match &state.lifecycle {
        Lifecycle::Live(config) => config,
        other => panic!("expected a live config, got {other:?}"),
    }
}

#[test]
fn given_new_when_created_then_inactive_with_deduplicated_channels() {
    let command = create(ALICE, vec![channel(1), channel(2), channel(1)]);
    let state = run(ConfigState::new(THING), &command).unwrap();
    let config = live(&state);
    assert_eq!(config.state, Activation::Inactive);
    assert_eq!(config.channels, vec![channel(1), channel(2)]);
    assert_eq!(
        decide(&state, &command),
        Err(DomainError::Conflict("config already exists".into()))
    );
}

#[test]
fn given_foreign_config_when_any_command_then_not_found() {
    let state = run(ConfigState::new(THING), &create(ALICE, vec![])).unwrap();
    for command in [
        ConfigCommand::Update {
            actor: BOB,
            name: None,
            content: None,
        },
        ConfigCommand::UpdateCerts {
            actor: BOB,
            certs: Certs::default(),
        },
        ConfigCommand::UpdateConnections {
            actor: BOB,
            channels: vec![],
        },
        ConfigCommand::ChangeState {
            actor: BOB,
            state: Activation::Active,
        },
        ConfigCommand::Remove { actor: BOB },
    ] {
        assert_eq!(decide(&state, &command), Err(DomainError::NotFound));
    }
}

#[test]
fn given_same_state_or_same_channels_then_no_event() {
    let state = run(ConfigState::new(THING), &create(ALICE, vec![channel(1)])).unwrap();
    let same_state = ConfigCommand::ChangeState {
        actor: ALICE,
        state: Activation::Inactive,
    };
    assert_eq!(decide(&state, &same_state), Ok(vec![]));
    let same_channels = ConfigCommand::UpdateConnections {
        actor: ALICE,
        channels: vec![channel(1), channel(1)],
    };
    assert_eq!(decide(&state, &same_channels), Ok(vec![]));
}

#[test]
fn given_removed_thing_when_creating_then_not_found() {
    let state = apply(ConfigState::new(THING), &Event::ThingRemoved { id: THING });
    assert_eq!(
        decide(&state, &create(ALICE, vec![])),
        Err(DomainError::NotFound)
    );
}

#[test]
fn given_removed_channel_when_listed_then_dropped() {
    let state = apply(
        ConfigState::new(THING),
        &Event::ChannelRemoved { id: channel(2) },
    );
    let state = run(state, &create(ALICE, vec![channel(1), channel(2)])).unwrap();
    assert_eq!(live(&state).channels, vec![channel(1)]);
}

#[test]
fn given_live_config_when_bootstrapping_then_only_its_key_opens_it() {
    let state = run(ConfigState::new(THING), &create(ALICE, vec![])).unwrap();
    assert_eq!(state.bootstrap(&KeyHash([1; 32])).unwrap().thing_id, THING);
    let mut near = [1u8; 32];
    near[31] = 0;
    assert_eq!(state.bootstrap(&KeyHash(near)), Err(DomainError::NotFound));
    let removed = run(state, &ConfigCommand::Remove { actor: ALICE }).unwrap();
    assert_eq!(
        removed.bootstrap(&KeyHash([1; 32])),
        Err(DomainError::NotFound)
    );
}

#[test]
fn given_removed_config_when_owner_removes_again_then_nothing_happens() {
    let state = run(ConfigState::new(THING), &create(ALICE, vec![])).unwrap();
    let state = run(state, &ConfigCommand::Remove { actor: ALICE }).unwrap();
    assert_eq!(
        decide(&state, &ConfigCommand::Remove { actor: ALICE }),
        Ok(vec![])
    );
    assert_eq!(
        decide(&state, &ConfigCommand::Remove { actor: BOB }),
        Err(DomainError::NotFound)
    );
}

#[test]
fn given_invalid_input_when_creating_then_invalid() {
    let mut empty_id = create(ALICE, vec![]);
    if let ConfigCommand::Create { external_id, .. } = &mut empty_id {
        external_id.clear();
    }
    let mut huge = create(ALICE, vec![]);
    if let ConfigCommand::Create { content, .. } = &mut huge {
        *content = Some("x".repeat(MAX_CONTENT_BYTES + 1));
    }
    let too_many = create(ALICE, (0..=MAX_CHANNELS).map(|_| channel(0)).collect());
    for command in [empty_id, huge, too_many] {
        assert!(matches!(
            decide(&ConfigState::new(THING), &command),
            Err(DomainError::Invalid(_))
        ));
    }
}

#[test]
fn activation_is_zero_or_one_on_the_wire() {
    assert_eq!(serde_json::to_string(&Activation::Active).unwrap(), "1");
    assert_eq!(
        serde_json::from_str::<Activation>("0").unwrap(),
        Activation::Inactive
    );
    assert!(serde_json::from_str::<Activation>("2").is_err());
}

fn channels() -> impl Strategy<Value = Vec<ChannelId>> {
    prop::collection::vec((0u8..5).prop_map(channel), 0..6)
}

fn command() -> impl Strategy<Value = ConfigCommand> {
    let actor = prop::sample::select(vec![ALICE, BOB]);
    prop_oneof![
        (actor.clone(), channels()).prop_map(|(owner, channels)| create(owner, channels)),
        (actor.clone(), prop::option::of("[a-z]{0,8}")).prop_map(|(actor, name)| {
            ConfigCommand::Update {
                actor,
                name,
                content: None,
            }
        }),
        (actor.clone(), prop::option::of("[a-z]{1,8}")).prop_map(|(actor, cert)| {
            ConfigCommand::UpdateCerts {
                actor,
                certs: Certs {
                    client_cert: cert.clone(),
                    client_key: cert.map(SealedKey),
                    ca_cert: None,
                },
            }
        }),
        (actor.clone(), channels())
            .prop_map(|(actor, channels)| ConfigCommand::UpdateConnections { actor, channels }),
        (actor.clone(), any::<bool>()).prop_map(|(actor, on)| ConfigCommand::ChangeState {
            actor,
            state: if on {
                Activation::Active
            } else {
                Activation::Inactive
            },
        }),
        actor.prop_map(|actor| ConfigCommand::Remove { actor }),
    ]
}

/// Foreign facts the command layer does not decide: the thing or a channel going away.
fn removal() -> impl Strategy<Value = Event> {
    prop_oneof![
        Just(Event::ThingRemoved { id: THING }),
        (0u8..5).prop_map(|n| Event::ChannelRemoved { id: channel(n) }),
        // Another thing's removal must not touch this config.
        Just(Event::ThingRemoved {
            id: ThingId(Uuid::from_u128(11))
        }),
    ]
}

/// Either a command to decide or a foreign removal to fold, in the order generated.
#[derive(Debug, Clone)]
enum Step {
    Command(ConfigCommand),
    Removal(Event),
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        4 => command().prop_map(Step::Command),
        1 => removal().prop_map(Step::Removal),
    ]
}

fn check_invariants(state: &ConfigState, owner: &mut Option<UserId>) -> Result<(), TestCaseError> {
    match &state.lifecycle {
        Lifecycle::Live(config) => {
            prop_assert_eq!(*owner.get_or_insert(config.owner), config.owner);
            prop_assert!(!state.thing_removed, "a removed thing keeps no live config");
            let unique: BTreeSet<_> = config.channels.iter().collect();
            prop_assert_eq!(unique.len(), config.channels.len(), "channels are unique");
            prop_assert!(
                config
                    .channels
                    .iter()
                    .all(|c| !state.removed_channels.contains(c)),
                "no removed channel is listed"
            );
        }
        Lifecycle::Removed { owner: removed_by } => {
            prop_assert_eq!(Some(*removed_by), *owner);
        }
        Lifecycle::New => prop_assert!(owner.is_none()),
    }
    Ok(())
}

proptest! {
    #[test]
    fn any_command_sequence_keeps_invariants_and_replays(steps in prop::collection::vec(step(), 0..40)) {
        let mut state = ConfigState::new(THING);
        let mut history = Vec::new();
        let mut owner = None;
        for step in &steps {
            let events = match step {
                Step::Command(command) => decide(&state, command).unwrap_or_default(),
                Step::Removal(event) => vec![event.clone()],
            };
            for event in &events {
                state = apply(state, event);
            }
            history.extend(events);
            check_invariants(&state, &mut owner)?;
        }
        let replayed = history.iter().fold(ConfigState::new(THING), apply);
        prop_assert_eq!(replayed, state);
        prop_assert!(history.iter().filter(|e| e.kind() == "config.create").count() <= 1);
    }

    /// The config's own events keep their order; removals from other streams may land
    /// anywhere among them, and the state is the same.
    #[test]
    fn removals_in_any_order_give_the_same_state(
        commands in prop::collection::vec(command(), 0..25),
        removals in prop::collection::vec(removal(), 0..6),
        positions in prop::collection::vec(any::<prop::sample::Index>(), 6),
        order in any::<usize>(),
    ) {
        let mut state = ConfigState::new(THING);
        let mut own = Vec::new();
        for command in &commands {
            if let Ok(events) = decide(&state, command) {
                state = events.iter().fold(state, apply);
                own.extend(events);
            }
        }
        let at_end = own.iter().chain(&removals).fold(ConfigState::new(THING), apply);

        // Removals shuffled among themselves and spread through the config's events.
        let mut shuffled = removals.clone();
        shuffled.rotate_left(if removals.is_empty() { 0 } else { order % removals.len() });
        let mut merged = own.clone();
        for (removal, at) in shuffled.into_iter().zip(&positions) {
            let index = at.index(merged.len() + 1);
            merged.insert(index, removal);
        }
        let interleaved = merged.iter().fold(ConfigState::new(THING), apply);
        prop_assert_eq!(interleaved, at_end);
    }
}
