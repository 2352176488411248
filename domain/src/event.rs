//! Every provisioning event. `kind()` is a wire contract: Mainflux's operation names, each
//! with a JSON Schema in `schemas/`.

use serde::{Deserialize, Serialize};

use crate::event_data::EventData;

use time::OffsetDateTime;

use crate::ids::{ChannelId, KeyHash, KeyMaterial, PasswordHash, ThingId, UserId};
use crate::values::Metadata;

/// Current schema version of every event's data; bump per kind when a shape changes and
/// upcast the old one in `Event::from_parts`.
pub const SCHEMA_VERSION: u16 = 1;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", content = "data")]
pub enum Event {
    #[serde(rename = "user.register")]
    UserRegistered {
        id: UserId,
        email: String,
        password_hash: PasswordHash,
        metadata: Option<Metadata>,
    },
    #[serde(rename = "user.update")]
    UserUpdated {
        id: UserId,
        metadata: Option<Metadata>,
    },
    #[serde(rename = "user.password_change")]
    UserPasswordChanged {
        id: UserId,
        password_hash: PasswordHash,
    },
    #[serde(rename = "thing.create")]
    ThingCreated {
        id: ThingId,
        owner: UserId,
        name: Option<String>,
        metadata: Option<Metadata>,
        #[serde(flatten)]
        key: KeyMaterial,
    },
    #[serde(rename = "thing.update")]
    ThingUpdated {
        id: ThingId,
        name: Option<String>,
        metadata: Option<Metadata>,
    },
    #[serde(rename = "thing.update_key")]
    ThingKeyUpdated {
        id: ThingId,
        #[serde(flatten)]
        key: KeyMaterial,
    },
    #[serde(rename = "thing.remove")]
    ThingRemoved { id: ThingId },
    #[serde(rename = "channel.create")]
    ChannelCreated {
        id: ChannelId,
        owner: UserId,
        name: Option<String>,
        metadata: Option<Metadata>,
    },
    #[serde(rename = "channel.update")]
    ChannelUpdated {
        id: ChannelId,
        name: Option<String>,
        metadata: Option<Metadata>,
    },
    #[serde(rename = "channel.remove")]
    ChannelRemoved { id: ChannelId },
    /// Lives on the channel's stream (the channel aggregate guards "already connected").
    #[serde(rename = "thing.connect")]
    ThingConnected {
        channel_id: ChannelId,
        thing_id: ThingId,
    },
    #[serde(rename = "thing.disconnect")]
    ThingDisconnected {
        channel_id: ChannelId,
        thing_id: ThingId,
    },
    /// Internal, on `thingkey-<key_hash>` (`key_claim`): no projection or feed shows it.
    /// `claimed_at` lets any node tell a crashed claim from a live one.
    #[serde(rename = "thing.key_claim")]
    ThingKeyClaimed {
        key_hash: KeyHash,
        thing_id: ThingId,
        #[serde(with = "time::serde::rfc3339")]
        claimed_at: OffsetDateTime,
    },
    /// Internal: the key's holder gave it up.
    #[serde(rename = "thing.key_release")]
    ThingKeyReleased {
        key_hash: KeyHash,
        thing_id: ThingId,
    },
}

/// Stored data that no longer reads as any known event.
#[derive(Debug, thiserror::Error)]
#[error("cannot read event {kind} (schema {schema}): {reason}")]
pub struct UnknownEvent {
    pub kind: String,
    pub schema: u16,
    pub reason: String,
}

impl Event {
    pub const KINDS: [&'static str; 14] = [
        "user.register",
        "user.update",
        "user.password_change",
        "thing.create",
        "thing.update",
        "thing.update_key",
        "thing.remove",
        "channel.create",
        "channel.update",
        "channel.remove",
        "thing.connect",
        "thing.disconnect",
        "thing.key_claim",
        "thing.key_release",
    ];

    pub fn kind(&self) -> &'static str {
        match self {
            Event::UserRegistered { .. } => "user.register",
            Event::UserUpdated { .. } => "user.update",
            Event::UserPasswordChanged { .. } => "user.password_change",
            Event::ThingCreated { .. } => "thing.create",
            Event::ThingUpdated { .. } => "thing.update",
            Event::ThingKeyUpdated { .. } => "thing.update_key",
            Event::ThingRemoved { .. } => "thing.remove",
            Event::ChannelCreated { .. } => "channel.create",
            Event::ChannelUpdated { .. } => "channel.update",
            Event::ChannelRemoved { .. } => "channel.remove",
            Event::ThingConnected { .. } => "thing.connect",
            Event::ThingDisconnected { .. } => "thing.disconnect",
            Event::ThingKeyClaimed { .. } => "thing.key_claim",
            Event::ThingKeyReleased { .. } => "thing.key_release",
        }
    }

    /// The event's `data` object, as stored in the envelope.
    pub fn data(&self) -> EventData {
        // The tagged form is exactly `{"type":"<kind>","data":<data>}`: cut the data out of
        // it rather than going through a `Value` tree.
        let tagged = serde_json::to_string(self).expect("events serialize");
        let start = format!(r#"{{"type":"{}","data":"#, self.kind()).len();
        let data = tagged.get(start..tagged.len() - 1).unwrap_or("null");
        EventData::from_json(data.to_owned()).expect("a slice of valid JSON at a value boundary")
    }

    /// Reads stored data back, upcasting older schema versions (none exist yet).
    pub fn from_parts(kind: &str, schema: u16, data: &EventData) -> Result<Event, UnknownEvent> {
        let unknown = |reason: String| UnknownEvent {
            kind: kind.to_owned(),
            schema,
            reason,
        };
        if schema != SCHEMA_VERSION {
            return Err(unknown("unsupported schema version".into()));
        }
        // Known kinds need no JSON escaping, so the tagged text can be assembled directly.
        if !Self::KINDS.contains(&kind) {
            return Err(unknown("unknown event type".into()));
        }
        let json = data.json();
        let mut tagged = String::with_capacity(json.len() + kind.len() + 20);
        tagged.push_str(r#"{"type":""#);
        tagged.push_str(kind);
        tagged.push_str(r#"","data":"#);
        tagged.push_str(json);
        tagged.push('}');
        serde_json::from_str(&tagged).map_err(|e| unknown(e.to_string()))
    }
}
