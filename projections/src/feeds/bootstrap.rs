//! The `mainflux.bootstrap` mapping: event → stream entry, pure, in Mainflux's format
//! (reference §6): the `operation` field plus
//!
//! | operation | fields |
//! |---|---|
//! | `config.create` | `thing_id`, `owner` (the owner's email), `name`, `channels`, `external_id`, `content` |
//! | `config.update` | `thing_id`, `name`, `content` |
//! | `config.remove` | `thing_id` |
//! | `thing.bootstrap` | `external_id`, `success` (`"1"`/`"0"`) |
//! | `thing.state_change` | `thing_id`, `state` (`"0"`/`"1"`) |
//! | `thing.update_connections` | `thing_id`, `channels` |
//!
//! and `timestamp` on every entry: the event's recorded time in Unix seconds, so a replay
//! writes the same value the first writer did. `channels` are the ids joined by `", "`;
//! a name or content the config does not have is `""`, as Mainflux wrote its empty strings.
//!
//! No secret: the external key and the client key exist in our events only hashed or
//! sealed, and no entry takes them (nor the certificates, which Mainflux's entries lack).
//! `thing.bootstrap` takes only the external id and the outcome, never the key tried. No
//! entry for a certificate update or the external-id claims, as in Mainflux.

use domain::Event;
use domain::ids::ChannelId;
use time::OffsetDateTime;

use super::owners::Owners;
use super::things::{Entry, EntryId};

/// The mapping's only state: owners' emails (`config.create`'s `owner`).
#[derive(Debug, Default)]
pub struct BootstrapMapping {
    owners: Owners,
}

impl BootstrapMapping {
    /// Folds `event` (at `position`, recorded at `at`) and returns its entry, if any.
    pub fn map(&mut self, position: u64, at: OffsetDateTime, event: &Event) -> Vec<Entry> {
        self.owners.fold(event);
        let mut fields = match event {
            Event::ConfigCreated {
                thing_id,
                owner,
                external_id,
                name,
                content,
                channels,
                ..
            } => vec![
                ("operation", "config.create".to_owned()),
                ("thing_id", thing_id.to_string()),
                ("owner", self.owners.email(owner)),
                ("name", text(name)),
                ("channels", joined(channels)),
                ("external_id", external_id.clone()),
                ("content", text(content)),
            ],
            Event::ConfigUpdated {
                thing_id,
                name,
                content,
            } => vec![
                ("operation", "config.update".to_owned()),
                ("thing_id", thing_id.to_string()),
                ("name", text(name)),
                ("content", text(content)),
            ],
            Event::ConfigRemoved { thing_id } => vec![
                ("operation", "config.remove".to_owned()),
                ("thing_id", thing_id.to_string()),
            ],
            // Only the id and the outcome: whatever else the attempt records stays in the log.
            Event::ThingBootstrapped {
                external_id,
                success,
                ..
            } => vec![
                ("operation", "thing.bootstrap".to_owned()),
                ("external_id", external_id.clone()),
                ("success", if *success { "1" } else { "0" }.to_owned()),
            ],
            Event::ThingStateChanged { thing_id, state } => vec![
                ("operation", "thing.state_change".to_owned()),
                ("thing_id", thing_id.to_string()),
                ("state", u8::from(*state).to_string()),
            ],
            Event::ThingConnectionsUpdated { thing_id, channels } => vec![
                ("operation", "thing.update_connections".to_owned()),
                ("thing_id", thing_id.to_string()),
                ("channels", joined(channels)),
            ],
            // Mainflux writes no bootstrap entry for a certificate update; claims are ours.
            Event::ConfigCertsUpdated { .. }
            | Event::ExternalIdClaimed { .. }
            | Event::ExternalIdReleased { .. }
            // Mainflux's certs service wrote no events.
            | Event::CertIssued { .. }
            | Event::CertRevoked { .. }
            // Users, things and channels belong to `mainflux.things`.
            | Event::UserRegistered { .. }
            | Event::UserUpdated { .. }
            | Event::UserPasswordChanged { .. }
            | Event::ThingCreated { .. }
            | Event::ThingUpdated { .. }
            | Event::ThingKeyUpdated { .. }
            | Event::ThingRemoved { .. }
            | Event::ThingKeyClaimed { .. }
            | Event::ThingKeyReleased { .. }
            | Event::ChannelCreated { .. }
            | Event::ChannelUpdated { .. }
            | Event::ChannelRemoved { .. }
            | Event::ThingConnected { .. }
            | Event::ThingDisconnected { .. } => return Vec::new(),
        };
        fields.push(("timestamp", at.unix_timestamp().to_string()));
        vec![Entry {
            id: EntryId { position, seq: 0 },
            fields,
        }]
    }
}

/// Mainflux's strings are never absent, only empty.
fn text(value: &Option<String>) -> String {
    value.clone().unwrap_or_default()
}

/// Channel ids joined as Mainflux joined them (`strings.Join(ids, ", ")`).
fn joined(channels: &[ChannelId]) -> String {
    channels
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
#[path = "bootstrap_tests.rs"]
mod tests;
