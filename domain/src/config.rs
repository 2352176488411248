//! The bootstrap Config aggregate: what a device fetches with its factory-burned external id
//! and key, and whether the operator has activated it (stream `config-<thing_id>`).
//!
//! A config belongs to one thing and its owner; Mainflux uses the thing id as the config id,
//! and so do we. The external id is unique: the command layer claims it first
//! (`external_id_claim`), as it does thing keys. The external key is hashed (checked with a
//! constant-time compare) and sealed (shown to the owner); the client private key is sealed.
//!
//! The config's history is its own stream plus two foreign facts: its thing's `thing.remove`
//! and `channel.remove` of channels. Those come from other streams, so they may be folded in
//! any order relative to the config's events; `apply` keeps tombstones (`thing_removed`,
//! `removed_channels`) so the state is the same whichever order they arrive in.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::DomainError;
use crate::event::Event;
use crate::ids::{ChannelId, KeyHash, KeyMaterial, SealedKey, ThingId, UserId};
use crate::values::check_name;

/// Bytes of content or of one certificate a config may hold: a device configuration or a
/// PEM chain, not a file store.
pub const MAX_CONTENT_BYTES: usize = 64 * 1024;
/// The most channels one config may list.
pub const MAX_CHANNELS: usize = 1024;

/// Mainflux's config state: 0 inactive (the thing is not connected), 1 active.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "u8", into = "u8")]
pub enum Activation {
    #[default]
    Inactive,
    Active,
}

impl From<Activation> for u8 {
    fn from(state: Activation) -> u8 {
        match state {
            Activation::Inactive => 0,
            Activation::Active => 1,
        }
    }
}

impl TryFrom<u8> for Activation {
    type Error = String;
    fn try_from(value: u8) -> Result<Self, String> {
        match value {
            0 => Ok(Activation::Inactive),
            1 => Ok(Activation::Active),
            other => Err(format!("state must be 0 or 1, not {other}")),
        }
    }
}

/// The certificates a device receives; the private key sealed with the master key.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Certs {
    pub client_cert: Option<String>,
    pub client_key: Option<SealedKey>,
    pub ca_cert: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Config {
    pub thing_id: ThingId,
    pub owner: UserId,
    pub external_id: String,
    pub external_key: KeyMaterial,
    pub name: Option<String>,
    pub content: Option<String>,
    /// In the order given, without duplicates and without removed channels.
    pub channels: Vec<ChannelId>,
    pub certs: Certs,
    pub state: Activation,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Lifecycle {
    #[default]
    New,
    /// Boxed: a config is large and most states in a fold are short-lived.
    Live(Box<Config>),
    /// Kept so that a repeated `DELETE` by the owner stays a 204 while anyone else gets 404.
    Removed { owner: UserId },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigState {
    pub thing_id: ThingId,
    pub lifecycle: Lifecycle,
    /// The thing was removed: a config created after that (in fold order) is born removed.
    pub thing_removed: bool,
    /// Channels removed so far: never listed by the config, whenever their removal arrives.
    pub removed_channels: BTreeSet<ChannelId>,
}

impl ConfigState {
    /// The empty history of the config of `thing_id`.
    pub fn new(thing_id: ThingId) -> Self {
        Self {
            thing_id,
            lifecycle: Lifecycle::New,
            thing_removed: false,
            removed_channels: BTreeSet::new(),
        }
    }

    /// The live config if `actor` owns it; anyone else's is `NotFound`.
    pub fn owned_by(&self, actor: UserId) -> Result<&Config, DomainError> {
        match &self.lifecycle {
            Lifecycle::Live(config) if config.owner == actor => Ok(config.as_ref()),
            _ => Err(DomainError::NotFound),
        }
    }

    /// The live config if `key_hash` is its external key's, compared in constant time.
    /// A wrong key and a missing config are the same `NotFound`, as Mainflux answers 404.
    pub fn bootstrap(&self, key_hash: &KeyHash) -> Result<&Config, DomainError> {
        match &self.lifecycle {
            Lifecycle::Live(config) if config.opens_with(key_hash) => Ok(config.as_ref()),
            _ => Err(DomainError::NotFound),
        }
    }

    /// The config's stream.
    pub fn stream(&self) -> String {
        stream(self.thing_id)
    }
}

impl Config {
    /// The config a `config.create` describes, inactive, with its channels as recorded;
    /// `None` for any other event. Folds decide themselves which channels still live.
    pub fn created(event: &Event) -> Option<Config> {
        let Event::ConfigCreated {
            thing_id,
            owner,
            external_id,
            external_key,
            name,
            content,
            channels,
            client_cert,
            client_key,
            ca_cert,
        } = event
        else {
            return None;
        };
        Some(Config {
            thing_id: *thing_id,
            owner: *owner,
            external_id: external_id.clone(),
            external_key: external_key.clone(),
            name: name.clone(),
            content: content.clone(),
            channels: channels.clone(),
            certs: Certs {
                client_cert: client_cert.clone(),
                client_key: client_key.clone(),
                ca_cert: ca_cert.clone(),
            },
            state: Activation::Inactive,
        })
    }

    /// Whether `key_hash` is the external key's, compared in constant time.
    pub fn opens_with(&self, key_hash: &KeyHash) -> bool {
        same_hash(&self.external_key.key_hash, key_hash)
    }
}

/// `config-<thing_id>`: the stream of the config of one thing.
pub fn stream(thing_id: ThingId) -> String {
    format!("config-{thing_id}")
}

/// Equality that takes the same time whatever bytes differ, so response timing tells a
/// device nothing about how close its key was.
fn same_hash(a: &KeyHash, b: &KeyHash) -> bool {
    a.0.iter()
        .zip(b.0.iter())
        .fold(0u8, |acc, (x, y)| acc | (x ^ y))
        == 0
}

#[derive(Debug, Clone)]
pub enum ConfigCommand {
    /// The command layer has checked that `owner` owns the thing and the channels, and has
    /// claimed the external id.
    Create {
        thing_id: ThingId,
        owner: UserId,
        external_id: String,
        external_key: KeyMaterial,
        name: Option<String>,
        content: Option<String>,
        channels: Vec<ChannelId>,
        certs: Certs,
    },
    Update {
        actor: UserId,
        name: Option<String>,
        content: Option<String>,
    },
    UpdateCerts {
        actor: UserId,
        certs: Certs,
    },
    /// The command layer has checked that `actor` owns the channels.
    UpdateConnections {
        actor: UserId,
        channels: Vec<ChannelId>,
    },
    ChangeState {
        actor: UserId,
        state: Activation,
    },
    Remove {
        actor: UserId,
    },
}

pub fn decide(state: &ConfigState, command: &ConfigCommand) -> Result<Vec<Event>, DomainError> {
    match command {
        ConfigCommand::Create {
            thing_id,
            owner,
            external_id,
            external_key,
            name,
            content,
            channels,
            certs,
        } => {
            if state.thing_removed || *thing_id != state.thing_id {
                return Err(DomainError::NotFound);
            }
            if state.lifecycle != Lifecycle::New {
                return Err(DomainError::Conflict("config already exists".into()));
            }
            check_external_id(external_id)?;
            check_name(name.as_deref())?;
            check_text("content", content.as_deref())?;
            check_certs(certs)?;
            Ok(vec![Event::ConfigCreated {
                thing_id: *thing_id,
                owner: *owner,
                external_id: external_id.clone(),
                external_key: external_key.clone(),
                name: name.clone(),
                content: content.clone(),
                channels: listed(channels, state)?,
                client_cert: certs.client_cert.clone(),
                client_key: certs.client_key.clone(),
                ca_cert: certs.ca_cert.clone(),
            }])
        }
        ConfigCommand::Update {
            actor,
            name,
            content,
        } => {
            let config = state.owned_by(*actor)?;
            check_name(name.as_deref())?;
            check_text("content", content.as_deref())?;
            Ok(vec![Event::ConfigUpdated {
                thing_id: config.thing_id,
                name: name.clone(),
                content: content.clone(),
            }])
        }
        ConfigCommand::UpdateCerts { actor, certs } => {
            let config = state.owned_by(*actor)?;
            check_certs(certs)?;
            Ok(vec![Event::ConfigCertsUpdated {
                thing_id: config.thing_id,
                client_cert: certs.client_cert.clone(),
                client_key: certs.client_key.clone(),
                ca_cert: certs.ca_cert.clone(),
            }])
        }
        ConfigCommand::UpdateConnections { actor, channels } => {
            let config = state.owned_by(*actor)?;
            let channels = listed(channels, state)?;
            if channels == config.channels {
                return Ok(vec![]);
            }
            Ok(vec![Event::ThingConnectionsUpdated {
                thing_id: config.thing_id,
                channels,
            }])
        }
        ConfigCommand::ChangeState { actor, state: to } => {
            let config = state.owned_by(*actor)?;
            if config.state == *to {
                return Ok(vec![]);
            }
            Ok(vec![Event::ThingStateChanged {
                thing_id: config.thing_id,
                state: *to,
            }])
        }
        ConfigCommand::Remove { actor } => match &state.lifecycle {
            Lifecycle::Removed { owner } if owner == actor => Ok(vec![]),
            _ => Ok(vec![Event::ConfigRemoved {
                thing_id: state.owned_by(*actor)?.thing_id,
            }]),
        },
    }
}

/// The channel list as stored: first occurrence of each id, removed channels dropped.
fn listed(channels: &[ChannelId], state: &ConfigState) -> Result<Vec<ChannelId>, DomainError> {
    if channels.len() > MAX_CHANNELS {
        return Err(DomainError::Invalid(format!(
            "a config lists at most {MAX_CHANNELS} channels"
        )));
    }
    Ok(without_removed(channels, &state.removed_channels))
}

fn without_removed(channels: &[ChannelId], removed: &BTreeSet<ChannelId>) -> Vec<ChannelId> {
    let mut seen = BTreeSet::new();
    channels
        .iter()
        .filter(|c| !removed.contains(c) && seen.insert(**c))
        .copied()
        .collect()
}

fn check_external_id(external_id: &str) -> Result<(), DomainError> {
    if external_id.is_empty() || external_id.len() > crate::values::MAX_KEY_CHARS {
        return Err(DomainError::Invalid(
            "external_id must be 1 to 4096 characters".into(),
        ));
    }
    Ok(())
}

fn check_text(field: &str, text: Option<&str>) -> Result<(), DomainError> {
    match text {
        Some(text) if text.len() > MAX_CONTENT_BYTES => Err(DomainError::Invalid(format!(
            "{field} is longer than {MAX_CONTENT_BYTES} bytes"
        ))),
        _ => Ok(()),
    }
}

fn check_certs(certs: &Certs) -> Result<(), DomainError> {
    check_text("client_cert", certs.client_cert.as_deref())?;
    check_text(
        "client_key",
        certs.client_key.as_ref().map(|k| k.0.as_str()),
    )?;
    check_text("ca_cert", certs.ca_cert.as_deref())
}

/// Never rejects: any recorded history replays, foreign removals in any order included.
pub fn apply(mut state: ConfigState, event: &Event) -> ConfigState {
    let thing_id = state.thing_id;
    match event {
        Event::ThingRemoved { id } if *id == thing_id => {
            state.thing_removed = true;
            if let Lifecycle::Live(config) = &state.lifecycle {
                let owner = config.owner;
                state.lifecycle = Lifecycle::Removed { owner };
            }
        }
        Event::ChannelRemoved { id } => {
            state.removed_channels.insert(*id);
            if let Lifecycle::Live(config) = &mut state.lifecycle {
                config.channels.retain(|c| c != id);
            }
        }
        Event::ConfigCreated {
            thing_id: id,
            owner,
            channels,
            ..
        } if *id == thing_id && state.lifecycle == Lifecycle::New => {
            state.lifecycle = match Config::created(event) {
                Some(config) if !state.thing_removed => Lifecycle::Live(Box::new(Config {
                    channels: without_removed(channels, &state.removed_channels),
                    ..config
                })),
                _ => Lifecycle::Removed { owner: *owner },
            };
        }
        _ => apply_to_live(&mut state, event),
    }
    state
}

/// The config's own changes, which only a live config takes.
fn apply_to_live(state: &mut ConfigState, event: &Event) {
    let removed = &state.removed_channels;
    let Lifecycle::Live(config) = &mut state.lifecycle else {
        return;
    };
    match event {
        Event::ConfigUpdated {
            thing_id,
            name,
            content,
        } if *thing_id == config.thing_id => {
            config.name = name.clone();
            config.content = content.clone();
        }
        Event::ConfigCertsUpdated {
            thing_id,
            client_cert,
            client_key,
            ca_cert,
        } if *thing_id == config.thing_id => {
            config.certs = Certs {
                client_cert: client_cert.clone(),
                client_key: client_key.clone(),
                ca_cert: ca_cert.clone(),
            };
        }
        Event::ThingConnectionsUpdated { thing_id, channels } if *thing_id == config.thing_id => {
            config.channels = without_removed(channels, removed);
        }
        Event::ThingStateChanged {
            thing_id,
            state: to,
        } if *thing_id == config.thing_id => {
            config.state = *to;
        }
        Event::ConfigRemoved { thing_id } if *thing_id == config.thing_id => {
            let owner = config.owner;
            state.lifecycle = Lifecycle::Removed { owner };
        }
        _ => {}
    }
}

#[cfg(test)]
#[path = "config_tests.rs"]
mod tests;
