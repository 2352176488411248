//! Folds a batch of events into its net effect on the tables, so a transaction of
//! thousands of events costs a dozen multi-row statements instead of one round trip per
//! event (replay speed). Pure: the order-sensitive cases (an update after a create, a
//! connect after a removal) are decided here, in memory, and unit-tested.

use std::collections::{HashMap, HashSet};

use domain::Event;
use domain::ids::{ChannelId, KeyHash, PasswordHash, SealedKey, ThingId, UserId};
use domain::values::Metadata;

use crate::views::{ChannelRow, ThingRow, UserRow};

/// What a batch does to one row: write it whole (created in the batch), change some columns
/// of a row written earlier, or delete it.
#[derive(Debug, Clone, PartialEq)]
pub enum Net<Row, Patch> {
    Upsert(Row),
    Patch(Patch),
    Delete,
}

/// New name and metadata of a thing or channel.
pub type Info = (Option<String>, Option<Metadata>);

#[derive(Debug, Clone, Default, PartialEq)]
pub struct ThingPatch {
    pub info: Option<Info>,
    pub key: Option<(KeyHash, SealedKey)>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct UserPatch {
    pub metadata: Option<Option<Metadata>>,
    pub password: Option<PasswordHash>,
}

/// A registered user and the position of its registration.
pub type Registered = (UserRow, u64);

#[derive(Debug, Default)]
pub struct Delta {
    pub users: HashMap<UserId, Net<Registered, UserPatch>>,
    pub things: HashMap<ThingId, Net<ThingRow, ThingPatch>>,
    pub channels: HashMap<ChannelId, Net<ChannelRow, Option<Info>>>,
    /// Removed in this batch: tombstoned, and their stored edges deleted.
    pub removed_things: HashSet<ThingId>,
    pub removed_channels: HashSet<ChannelId>,
    /// The last connect (`true`) or disconnect (`false`) of each edge after the removals
    /// above; a connect is written only if both ends exist and are not tombstoned.
    pub edges: HashMap<(ChannelId, ThingId), bool>,
}

impl Delta {
    /// Adds one event, recorded at `position`, after the ones already folded.
    pub fn fold(&mut self, position: u64, event: &Event) {
        match event {
            Event::UserRegistered {
                id,
                email,
                password_hash,
                metadata,
            } => {
                let row = UserRow {
                    id: *id,
                    email: email.clone(),
                    password_hash: password_hash.clone(),
                    metadata: metadata.clone(),
                };
                self.users.insert(*id, Net::Upsert((row, position)));
            }
            Event::UserUpdated { id, metadata } => {
                match self
                    .users
                    .entry(*id)
                    .or_insert(Net::Patch(UserPatch::default()))
                {
                    Net::Upsert((row, _)) => row.metadata = metadata.clone(),
                    Net::Patch(patch) => patch.metadata = Some(metadata.clone()),
                    Net::Delete => {}
                }
            }
            Event::UserPasswordChanged { id, password_hash } => {
                match self
                    .users
                    .entry(*id)
                    .or_insert(Net::Patch(UserPatch::default()))
                {
                    Net::Upsert((row, _)) => row.password_hash = password_hash.clone(),
                    Net::Patch(patch) => patch.password = Some(password_hash.clone()),
                    Net::Delete => {}
                }
            }
            Event::ThingCreated {
                id,
                owner,
                name,
                metadata,
                key,
            } => {
                let row = ThingRow::created(*id, *owner, name, metadata, key);
                self.things.insert(*id, Net::Upsert(row));
            }
            Event::ThingUpdated { id, name, metadata } => {
                match self
                    .things
                    .entry(*id)
                    .or_insert(Net::Patch(ThingPatch::default()))
                {
                    Net::Upsert(row) => {
                        row.name = name.clone();
                        row.metadata = metadata.clone();
                    }
                    Net::Patch(patch) => patch.info = Some((name.clone(), metadata.clone())),
                    Net::Delete => {}
                }
            }
            Event::ThingKeyUpdated { id, key } => {
                match self
                    .things
                    .entry(*id)
                    .or_insert(Net::Patch(ThingPatch::default()))
                {
                    Net::Upsert(row) => {
                        row.key_hash = key.key_hash;
                        row.sealed_key = key.sealed_key.clone();
                    }
                    Net::Patch(patch) => patch.key = Some((key.key_hash, key.sealed_key.clone())),
                    Net::Delete => {}
                }
            }
            Event::ThingRemoved { id } => {
                self.things.insert(*id, Net::Delete);
                self.removed_things.insert(*id);
                self.edges.retain(|(_, thing), _| thing != id);
            }
            Event::ChannelCreated {
                id,
                owner,
                name,
                metadata,
            } => {
                let row = ChannelRow {
                    id: *id,
                    owner: *owner,
                    name: name.clone(),
                    metadata: metadata.clone(),
                };
                self.channels.insert(*id, Net::Upsert(row));
            }
            Event::ChannelUpdated { id, name, metadata } => {
                match self.channels.entry(*id).or_insert(Net::Patch(None)) {
                    Net::Upsert(row) => {
                        row.name = name.clone();
                        row.metadata = metadata.clone();
                    }
                    Net::Patch(info) => *info = Some((name.clone(), metadata.clone())),
                    Net::Delete => {}
                }
            }
            Event::ChannelRemoved { id } => {
                self.channels.insert(*id, Net::Delete);
                self.removed_channels.insert(*id);
                self.edges.retain(|(channel, _), _| channel != id);
            }
            Event::ThingConnected {
                channel_id,
                thing_id,
            } => {
                // A removed end stays removed (domain::graph): the connect is ignored.
                if !self.removed_things.contains(thing_id)
                    && !self.removed_channels.contains(channel_id)
                {
                    self.edges.insert((*channel_id, *thing_id), true);
                }
            }
            Event::ThingDisconnected {
                channel_id,
                thing_id,
            } => {
                self.edges.insert((*channel_id, *thing_id), false);
            }
            // Key claims keep keys unique across nodes; no view shows them.
            Event::ThingKeyClaimed { .. } | Event::ThingKeyReleased { .. } => {}
            // Bootstrap configs have no query view yet.
            Event::ConfigCreated { .. }
            | Event::ConfigUpdated { .. }
            | Event::ConfigCertsUpdated { .. }
            | Event::ConfigRemoved { .. }
            | Event::ThingBootstrapped { .. }
            | Event::ThingStateChanged { .. }
            | Event::ThingConnectionsUpdated { .. }
            | Event::ExternalIdClaimed { .. }
            | Event::ExternalIdReleased { .. }
            | Event::CertIssued { .. }
            | Event::CertRevoked { .. } => {}
        }
    }
}

#[cfg(test)]
#[path = "delta_tests.rs"]
mod tests;
