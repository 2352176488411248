//! The `mainflux.things` mapping: event → stream entries, pure, in Mainflux's format
//! (reference §6): the `operation` field plus
//!
//! | operation | fields |
//! |---|---|
//! | `thing.create`, `channel.create` | `id`, `owner` (the owner's email), `name` if non-empty, `metadata` (JSON text) if set |
//! | `thing.update`, `channel.update` | `id`, `name` if non-empty, `metadata` if set |
//! | `thing.remove`, `channel.remove` | `id` |
//! | `thing.connect`, `thing.disconnect` | `chan_id`, `thing_id` |
//!
//! No entry for user events or a key change (`thing.update_key`), as in Mainflux. No key
//! either: our `thing.create` holds only a keyed hash and a sealed key, and Mainflux's own
//! `thing.create` entry has no key field, so a plaintext key never reaches Redis.
//!
//! Our events are already one per entity (a bulk create appends one `thing.create` per
//! thing) and one per (channel, thing) pair, so each event gives at most one entry; the
//! entry id still numbers entries within an event (`<position>-<k>`) so the format holds
//! if an event ever gives several.

use std::fmt;

use domain::Event;
use domain::ids::UserId;
use domain::values::Metadata;

use super::owners::Owners;

/// A stream entry id made from the event position: equal for every writer, and increasing
/// with the log, which is what lets Redis refuse a second write of the same entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct EntryId {
    pub position: u64,
    pub seq: u32,
}

impl fmt::Display for EntryId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.position, self.seq)
    }
}

/// One stream entry: its id and its field/value pairs, in the order written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub id: EntryId,
    pub fields: Vec<(&'static str, String)>,
}

impl Entry {
    /// The value of `field`, for tests and logs.
    pub fn get(&self, field: &str) -> Option<&str> {
        let (_, value) = self.fields.iter().find(|(name, _)| *name == field)?;
        Some(value)
    }
}

/// The mapping's only state: owners' emails (Mainflux's `owner` field).
#[derive(Debug, Default)]
pub struct ThingsMapping {
    owners: Owners,
}

impl ThingsMapping {
    /// Folds `event` (at `position`) and returns its entries, possibly none.
    pub fn map(&mut self, position: u64, event: &Event) -> Vec<Entry> {
        self.owners.fold(event);
        let fields = match event {
            Event::ThingCreated {
                id,
                owner,
                name,
                metadata,
                ..
            } => Some(self.created("thing.create", id, owner, name, metadata)),
            Event::ChannelCreated {
                id,
                owner,
                name,
                metadata,
            } => Some(self.created("channel.create", id, owner, name, metadata)),
            Event::ThingUpdated { id, name, metadata } => {
                Some(updated("thing.update", id, name, metadata))
            }
            Event::ChannelUpdated { id, name, metadata } => {
                Some(updated("channel.update", id, name, metadata))
            }
            Event::ThingRemoved { id } => Some(removed("thing.remove", id)),
            Event::ChannelRemoved { id } => Some(removed("channel.remove", id)),
            Event::ThingConnected {
                channel_id,
                thing_id,
            } => Some(pair("thing.connect", channel_id, thing_id)),
            Event::ThingDisconnected {
                channel_id,
                thing_id,
            } => Some(pair("thing.disconnect", channel_id, thing_id)),
            Event::UserRegistered { .. }
            | Event::UserUpdated { .. }
            | Event::UserPasswordChanged { .. }
            | Event::ThingKeyUpdated { .. }
            // Internal: Mainflux has no such operation.
            | Event::ThingKeyClaimed { .. }
            | Event::ThingKeyReleased { .. }
            // Bootstrap events belong to the `mainflux.bootstrap` stream, not this one.
            | Event::ConfigCreated { .. }
            | Event::ConfigUpdated { .. }
            | Event::ConfigCertsUpdated { .. }
            | Event::ConfigRemoved { .. }
            | Event::ThingBootstrapped { .. }
            | Event::ThingStateChanged { .. }
            | Event::ThingConnectionsUpdated { .. }
            | Event::ExternalIdClaimed { .. }
            | Event::ExternalIdReleased { .. }
            | Event::CertIssued { .. }
            | Event::CertRevoked { .. } => None,
        };
        fields
            .map(|fields| Entry {
                id: EntryId { position, seq: 0 },
                fields,
            })
            .into_iter()
            .collect()
    }

    fn created(
        &self,
        operation: &'static str,
        id: &impl ToString,
        owner: &UserId,
        name: &Option<String>,
        metadata: &Option<Metadata>,
    ) -> Vec<(&'static str, String)> {
        let mut fields = vec![
            ("operation", operation.to_owned()),
            ("id", id.to_string()),
            ("owner", self.owners.email(owner)),
        ];
        optional(&mut fields, name, metadata);
        fields
    }
}

fn updated(
    operation: &'static str,
    id: &impl ToString,
    name: &Option<String>,
    metadata: &Option<Metadata>,
) -> Vec<(&'static str, String)> {
    let mut fields = vec![("operation", operation.to_owned()), ("id", id.to_string())];
    optional(&mut fields, name, metadata);
    fields
}

fn removed(operation: &'static str, id: &impl ToString) -> Vec<(&'static str, String)> {
    vec![("operation", operation.to_owned()), ("id", id.to_string())]
}

fn pair(
    operation: &'static str,
    channel: &impl ToString,
    thing: &impl ToString,
) -> Vec<(&'static str, String)> {
    vec![
        ("operation", operation.to_owned()),
        ("chan_id", channel.to_string()),
        ("thing_id", thing.to_string()),
    ]
}

/// Mainflux writes `name` only when non-empty and `metadata` (as JSON text) only when set.
fn optional(
    fields: &mut Vec<(&'static str, String)>,
    name: &Option<String>,
    metadata: &Option<Metadata>,
) {
    if let Some(name) = name.as_ref().filter(|n| !n.is_empty()) {
        fields.push(("name", name.clone()));
    }
    if let Some(metadata) = metadata {
        fields.push(("metadata", metadata.as_str().to_owned()));
    }
}

#[cfg(test)]
#[path = "things_tests.rs"]
mod tests;
