//! The Thing aggregate: a device or app with a secret key.
//!
//! Key uniqueness spans all things, so the command layer reserves the key hash before
//! `decide`. Owner checks live here: a foreign thing answers `NotFound`, never "forbidden",
//! so ids of other users' things cannot be probed.

use crate::DomainError;
use crate::event::Event;
use crate::ids::{KeyMaterial, ThingId, UserId};
use crate::values::{Metadata, check_metadata, check_name};

#[derive(Debug, Clone, PartialEq)]
pub struct Thing {
    pub id: ThingId,
    pub owner: UserId,
    pub name: Option<String>,
    pub metadata: Option<Metadata>,
    pub key: KeyMaterial,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub enum ThingState {
    #[default]
    New,
    Active(Thing),
    /// Kept so that a repeated `DELETE` by the owner stays a 204 while anyone else gets 404.
    Removed {
        owner: UserId,
    },
}

impl ThingState {
    /// The live thing if `actor` owns it.
    pub fn owned_by(&self, actor: UserId) -> Result<&Thing, DomainError> {
        match self {
            ThingState::Active(thing) if thing.owner == actor => Ok(thing),
            _ => Err(DomainError::NotFound),
        }
    }
}

#[derive(Debug, Clone)]
pub enum ThingCommand {
    Create {
        id: ThingId,
        owner: UserId,
        name: Option<String>,
        metadata: Option<Metadata>,
        key: KeyMaterial,
    },
    /// Replaces name and metadata wholesale (Mainflux `PUT /things/{id}`).
    Update {
        actor: UserId,
        name: Option<String>,
        metadata: Option<Metadata>,
    },
    UpdateKey {
        actor: UserId,
        key: KeyMaterial,
    },
    Remove {
        actor: UserId,
    },
}

pub fn decide(state: &ThingState, command: &ThingCommand) -> Result<Vec<Event>, DomainError> {
    match command {
        ThingCommand::Create {
            id,
            owner,
            name,
            metadata,
            key,
        } => {
            if *state != ThingState::New {
                return Err(DomainError::Conflict("thing already exists".into()));
            }
            check_name(name.as_deref())?;
            check_metadata(metadata.as_ref())?;
            Ok(vec![Event::ThingCreated {
                id: *id,
                owner: *owner,
                name: name.clone(),
                metadata: metadata.clone(),
                key: key.clone(),
            }])
        }
        ThingCommand::Update {
            actor,
            name,
            metadata,
        } => {
            let thing = state.owned_by(*actor)?;
            check_name(name.as_deref())?;
            check_metadata(metadata.as_ref())?;
            Ok(vec![Event::ThingUpdated {
                id: thing.id,
                name: name.clone(),
                metadata: metadata.clone(),
            }])
        }
        ThingCommand::UpdateKey { actor, key } => {
            let thing = state.owned_by(*actor)?;
            if thing.key.key_hash == key.key_hash {
                return Ok(vec![]);
            }
            Ok(vec![Event::ThingKeyUpdated {
                id: thing.id,
                key: key.clone(),
            }])
        }
        ThingCommand::Remove { actor } => match state {
            ThingState::Removed { owner } if owner == actor => Ok(vec![]),
            _ => Ok(vec![Event::ThingRemoved {
                id: state.owned_by(*actor)?.id,
            }]),
        },
    }
}

pub fn apply(state: ThingState, event: &Event) -> ThingState {
    match (state, event) {
        (
            ThingState::New,
            Event::ThingCreated {
                id,
                owner,
                name,
                metadata,
                key,
            },
        ) => ThingState::Active(Thing {
            id: *id,
            owner: *owner,
            name: name.clone(),
            metadata: metadata.clone(),
            key: key.clone(),
        }),
        (ThingState::Active(mut thing), Event::ThingUpdated { name, metadata, .. }) => {
            thing.name = name.clone();
            thing.metadata = metadata.clone();
            ThingState::Active(thing)
        }
        (ThingState::Active(mut thing), Event::ThingKeyUpdated { key, .. }) => {
            thing.key = key.clone();
            ThingState::Active(thing)
        }
        (ThingState::Active(thing), Event::ThingRemoved { .. }) => {
            ThingState::Removed { owner: thing.owner }
        }
        (state, _) => state,
    }
}

#[cfg(test)]
#[path = "thing_tests.rs"]
mod tests;
