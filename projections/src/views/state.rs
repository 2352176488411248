//! The rows of the query views and how events change them.

use std::collections::{BTreeMap, BTreeSet};
use std::hash::Hash;

use domain::graph::Connections;
use domain::ids::{ChannelId, KeyHash, KeyMaterial, PasswordHash, SealedKey, ThingId, UserId};
use domain::values::Metadata;
use domain::{Event, FastMap};
use serde::Serialize;

use super::configs::ConfigRows;
use super::unknown::UnknownDevices;
use domain::envelope::RecordedEvent;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UserRow {
    pub id: UserId,
    pub email: String,
    pub password_hash: PasswordHash,
    pub metadata: Option<Metadata>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ThingRow {
    pub id: ThingId,
    pub owner: UserId,
    pub name: Option<String>,
    pub metadata: Option<Metadata>,
    pub key_hash: KeyHash,
    pub sealed_key: SealedKey,
}

impl ThingRow {
    /// The row of a `thing.create`.
    pub fn created(
        id: ThingId,
        owner: UserId,
        name: &Option<String>,
        metadata: &Option<Metadata>,
        key: &KeyMaterial,
    ) -> Self {
        Self {
            id,
            owner,
            name: name.clone(),
            metadata: metadata.clone(),
            key_hash: key.key_hash,
            sealed_key: key.sealed_key.clone(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChannelRow {
    pub id: ChannelId,
    pub owner: UserId,
    pub name: Option<String>,
    pub metadata: Option<Metadata>,
}

/// Rows by id plus an owner index whose sets are ordered, so a list starts in id order and
/// sorting it (see `order`) is one pass. Serialized sorted, so digests are deterministic.
#[derive(Debug, Serialize)]
#[serde(bound(serialize = "Id: Serialize + Ord + Hash, Row: Serialize"))]
pub struct Owned<Id, Row> {
    #[serde(serialize_with = "sorted")]
    pub rows: FastMap<Id, Row>,
    #[serde(serialize_with = "sorted")]
    pub by_owner: FastMap<UserId, BTreeSet<Id>>,
}

impl<Id, Row> Default for Owned<Id, Row> {
    fn default() -> Self {
        Self {
            rows: FastMap::default(),
            by_owner: FastMap::default(),
        }
    }
}

/// A hash map serialized in key order.
pub fn sorted<K: Ord + Serialize, V: Serialize, S: serde::Serializer>(
    map: &FastMap<K, V>,
    s: S,
) -> Result<S::Ok, S::Error> {
    s.collect_map(map.iter().collect::<BTreeMap<_, _>>())
}

impl<Id: Ord + Hash + Copy, Row> Owned<Id, Row> {
    pub(super) fn insert(&mut self, id: Id, owner: UserId, row: Row) {
        self.by_owner.entry(owner).or_default().insert(id);
        self.rows.insert(id, row);
    }

    pub(super) fn remove(&mut self, id: &Id, owner_of: impl Fn(&Row) -> UserId) {
        if let Some(row) = self.rows.remove(id)
            && let Some(ids) = self.by_owner.get_mut(&owner_of(&row))
        {
            ids.remove(id);
        }
    }

    pub fn owned(&self, owner: UserId) -> impl Iterator<Item = &Row> {
        self.by_owner
            .get(&owner)
            .into_iter()
            .flatten()
            .filter_map(|id| self.rows.get(id))
    }
}

#[derive(Debug, Default, Serialize)]
pub struct ViewState {
    pub checkpoint: u64,
    #[serde(serialize_with = "sorted")]
    pub users: FastMap<UserId, UserRow>,
    pub emails: BTreeMap<String, UserId>,
    pub things: Owned<ThingId, ThingRow>,
    pub channels: Owned<ChannelId, ChannelRow>,
    #[serde(serialize_with = "serialize_edges")]
    pub graph: Connections,
    pub configs: ConfigRows,
    pub unknown: UnknownDevices,
}

fn serialize_edges<S: serde::Serializer>(graph: &Connections, s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(graph.edges())
}

impl ViewState {
    pub fn apply(&mut self, recorded: &RecordedEvent, event: &Event) {
        self.graph.apply(event);
        match event {
            Event::UserRegistered {
                id,
                email,
                password_hash,
                metadata,
            } => {
                self.emails.insert(email.clone(), *id);
                let row = UserRow {
                    id: *id,
                    email: email.clone(),
                    password_hash: password_hash.clone(),
                    metadata: metadata.clone(),
                };
                self.users.insert(*id, row);
            }
            Event::UserUpdated { id, metadata } => {
                if let Some(user) = self.users.get_mut(id) {
                    user.metadata = metadata.clone();
                }
            }
            Event::UserPasswordChanged { id, password_hash } => {
                if let Some(user) = self.users.get_mut(id) {
                    user.password_hash = password_hash.clone();
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
                self.things.insert(*id, *owner, row);
            }
            Event::ThingUpdated { id, name, metadata } => {
                if let Some(thing) = self.things.rows.get_mut(id) {
                    thing.name = name.clone();
                    thing.metadata = metadata.clone();
                }
            }
            Event::ThingKeyUpdated { id, key } => {
                if let Some(thing) = self.things.rows.get_mut(id) {
                    thing.key_hash = key.key_hash;
                    thing.sealed_key = key.sealed_key.clone();
                }
            }
            Event::ThingRemoved { id } => self.things.remove(id, |t| t.owner),
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
                self.channels.insert(*id, *owner, row);
            }
            Event::ChannelUpdated { id, name, metadata } => {
                if let Some(channel) = self.channels.rows.get_mut(id) {
                    channel.name = name.clone();
                    channel.metadata = metadata.clone();
                }
            }
            Event::ChannelRemoved { id } => self.channels.remove(id, |c| c.owner),
            Event::ThingConnected { .. } | Event::ThingDisconnected { .. } => {}
            // Key claims keep keys unique across nodes; no view shows them.
            Event::ThingKeyClaimed { .. } | Event::ThingKeyReleased { .. } => {}
            // Bootstrap configs: `ConfigRows`, below.
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
        match event {
            Event::ThingBootstrapped {
                external_id,
                unknown: true,
                ..
            } => self.unknown.attempt(
                external_id,
                recorded.position,
                recorded.occurred_at.unix_timestamp(),
            ),
            Event::ConfigCreated { external_id, .. } => self.unknown.provisioned(external_id),
            _ => {}
        }
        let (things, channels) = (&self.things.rows, &self.channels.rows);
        self.configs.apply(
            event,
            |t| things.contains_key(&t),
            |c| channels.contains_key(&c),
        );
    }
}
