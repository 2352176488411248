//! The Channel aggregate: a named message route. It also records which things were
//! connected to it (`thing.connect` lives on the channel's stream, see `connection`).

use std::collections::BTreeSet;

use crate::DomainError;
use crate::event::Event;
use crate::ids::{ChannelId, ThingId, UserId};
use crate::values::{Metadata, check_metadata, check_name};

#[derive(Debug, Clone, PartialEq)]
pub struct Channel {
    pub id: ChannelId,
    pub owner: UserId,
    pub name: Option<String>,
    pub metadata: Option<Metadata>,
    /// Things connected through this stream. A thing removed later may still be listed: the
    /// live graph (`graph::Connections`) is what authorizes, not this set.
    pub things: BTreeSet<ThingId>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub enum ChannelState {
    #[default]
    New,
    Active(Channel),
    Removed {
        owner: UserId,
    },
}

impl ChannelState {
    pub fn owned_by(&self, actor: UserId) -> Result<&Channel, DomainError> {
        match self {
            ChannelState::Active(channel) if channel.owner == actor => Ok(channel),
            _ => Err(DomainError::NotFound),
        }
    }
}

#[derive(Debug, Clone)]
pub enum ChannelCommand {
    Create {
        id: ChannelId,
        owner: UserId,
        name: Option<String>,
        metadata: Option<Metadata>,
    },
    Update {
        actor: UserId,
        name: Option<String>,
        metadata: Option<Metadata>,
    },
    Remove {
        actor: UserId,
    },
}

pub fn decide(state: &ChannelState, command: &ChannelCommand) -> Result<Vec<Event>, DomainError> {
    match command {
        ChannelCommand::Create {
            id,
            owner,
            name,
            metadata,
        } => {
            if *state != ChannelState::New {
                return Err(DomainError::Conflict("channel already exists".into()));
            }
            check_name(name.as_deref())?;
            check_metadata(metadata.as_ref())?;
            Ok(vec![Event::ChannelCreated {
                id: *id,
                owner: *owner,
                name: name.clone(),
                metadata: metadata.clone(),
            }])
        }
        ChannelCommand::Update {
            actor,
            name,
            metadata,
        } => {
            let channel = state.owned_by(*actor)?;
            check_name(name.as_deref())?;
            check_metadata(metadata.as_ref())?;
            Ok(vec![Event::ChannelUpdated {
                id: channel.id,
                name: name.clone(),
                metadata: metadata.clone(),
            }])
        }
        ChannelCommand::Remove { actor } => match state {
            ChannelState::Removed { owner } if owner == actor => Ok(vec![]),
            _ => Ok(vec![Event::ChannelRemoved {
                id: state.owned_by(*actor)?.id,
            }]),
        },
    }
}

pub fn apply(state: ChannelState, event: &Event) -> ChannelState {
    match (state, event) {
        (
            ChannelState::New,
            Event::ChannelCreated {
                id,
                owner,
                name,
                metadata,
            },
        ) => ChannelState::Active(Channel {
            id: *id,
            owner: *owner,
            name: name.clone(),
            metadata: metadata.clone(),
            things: BTreeSet::new(),
        }),
        (ChannelState::Active(mut channel), Event::ChannelUpdated { name, metadata, .. }) => {
            channel.name = name.clone();
            channel.metadata = metadata.clone();
            ChannelState::Active(channel)
        }
        (ChannelState::Active(mut channel), Event::ThingConnected { thing_id, .. }) => {
            channel.things.insert(*thing_id);
            ChannelState::Active(channel)
        }
        (ChannelState::Active(mut channel), Event::ThingDisconnected { thing_id, .. }) => {
            channel.things.remove(thing_id);
            ChannelState::Active(channel)
        }
        (ChannelState::Active(channel), Event::ChannelRemoved { .. }) => ChannelState::Removed {
            owner: channel.owner,
        },
        (state, _) => state,
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use uuid::Uuid;

    use super::*;

    const ALICE: UserId = UserId(Uuid::from_u128(1));
    const BOB: UserId = UserId(Uuid::from_u128(2));

    fn command() -> impl Strategy<Value = ChannelCommand> {
        let actor = prop::sample::select(vec![ALICE, BOB]);
        prop_oneof![
            actor.clone().prop_map(|owner| ChannelCommand::Create {
                id: ChannelId(Uuid::from_u128(20)),
                owner,
                name: None,
                metadata: None,
            }),
            (actor.clone(), prop::option::of("[a-z]{0,8}")).prop_map(|(actor, name)| {
                ChannelCommand::Update {
                    actor,
                    name,
                    metadata: None,
                }
            }),
            actor.prop_map(|actor| ChannelCommand::Remove { actor }),
        ]
    }

    #[test]
    fn given_foreign_channel_when_updating_then_not_found() {
        let create = ChannelCommand::Create {
            id: ChannelId(Uuid::from_u128(20)),
            owner: ALICE,
            name: None,
            metadata: None,
        };
        let state = decide(&ChannelState::New, &create)
            .unwrap()
            .iter()
            .fold(ChannelState::New, apply);
        let update = ChannelCommand::Update {
            actor: BOB,
            name: None,
            metadata: None,
        };
        assert_eq!(decide(&state, &update), Err(DomainError::NotFound));
        assert_eq!(
            decide(&state, &ChannelCommand::Remove { actor: BOB }),
            Err(DomainError::NotFound)
        );
    }

    proptest! {
        #[test]
        fn any_command_sequence_replays_to_the_same_state(commands in prop::collection::vec(command(), 0..40)) {
            let mut state = ChannelState::New;
            let mut history = Vec::new();
            for command in &commands {
                if let Ok(events) = decide(&state, command) {
                    for event in &events {
                        state = apply(state, event);
                    }
                    history.extend(events);
                }
                if let ChannelState::Active(channel) = &state {
                    prop_assert!(!history.iter().any(|e| e.kind() == "channel.remove"));
                    prop_assert_eq!(Some(channel.owner), history.iter().find_map(|e| match e {
                        Event::ChannelCreated { owner, .. } => Some(*owner),
                        _ => None,
                    }));
                }
            }
            prop_assert_eq!(history.iter().fold(ChannelState::New, apply), state);
        }
    }
}
