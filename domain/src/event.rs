//! Every provisioning event. `kind()` is a wire contract: Mainflux's operation names, each
//! with a JSON Schema in `schemas/`.

use serde::{Deserialize, Serialize};

use crate::event_data::EventData;

use time::OffsetDateTime;

use crate::config::Activation;
use crate::ids::{ChannelId, KeyHash, KeyMaterial, PasswordHash, SealedKey, ThingId, UserId};
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
    /// A bootstrap config (`config-<thing_id>`). The external key is hashed and sealed like
    /// a thing key; the client private key is sealed; neither is ever plaintext here.
    #[serde(rename = "config.create")]
    ConfigCreated {
        thing_id: ThingId,
        owner: UserId,
        external_id: String,
        external_key: KeyMaterial,
        name: Option<String>,
        content: Option<String>,
        channels: Vec<ChannelId>,
        client_cert: Option<String>,
        client_key: Option<SealedKey>,
        ca_cert: Option<String>,
    },
    /// Name and content replaced wholesale (Mainflux `PUT /things/configs/{id}`).
    #[serde(rename = "config.update")]
    ConfigUpdated {
        thing_id: ThingId,
        name: Option<String>,
        content: Option<String>,
    },
    /// Certificates replaced (`PATCH /things/configs/certs/{id}`). Mainflux writes no event
    /// for this; we must, because the log is the only store. No feed shows it.
    #[serde(rename = "config.update_certs")]
    ConfigCertsUpdated {
        thing_id: ThingId,
        client_cert: Option<String>,
        client_key: Option<SealedKey>,
        ca_cert: Option<String>,
    },
    #[serde(rename = "config.remove")]
    ConfigRemoved { thing_id: ThingId },
    /// One fetch by a device, failed ones (unknown id, wrong key) included, as Mainflux
    /// records them; on `bootstrap-<uuid>`, the stream of the node that answered (recorded
    /// in batches: `commands::service::bootstrap_attempts`). The key tried is never stored.
    #[serde(rename = "thing.bootstrap")]
    ThingBootstrapped {
        external_id: String,
        success: bool,
        /// No config had this external id (rather than a wrong key): the device is one the
        /// operator has not provisioned yet (`GET /things/unknown/configs`).
        unknown: bool,
    },
    #[serde(rename = "thing.state_change")]
    ThingStateChanged {
        thing_id: ThingId,
        state: Activation,
    },
    /// The config's channel list replaced; when the config is active the command layer
    /// applies the difference as `thing.connect` / `thing.disconnect` on the channels.
    #[serde(rename = "thing.update_connections")]
    ThingConnectionsUpdated {
        thing_id: ThingId,
        channels: Vec<ChannelId>,
    },
    /// Internal, on `extid-<external_id_hash>` (`external_id_claim`): keeps external ids
    /// unique across nodes, exactly as `thing.key_claim` does for thing keys.
    #[serde(rename = "config.external_id_claim")]
    ExternalIdClaimed {
        external_id_hash: KeyHash,
        thing_id: ThingId,
        #[serde(with = "time::serde::rfc3339")]
        claimed_at: OffsetDateTime,
    },
    /// Internal: the config gave its external id up (removed).
    #[serde(rename = "config.external_id_release")]
    ExternalIdReleased {
        external_id_hash: KeyHash,
        thing_id: ThingId,
    },
    /// A client certificate issued for a thing (`certs-<thing_id>`, `domain::cert`): the
    /// certificate in PEM, its private key sealed with the master key.
    #[serde(rename = "cert.issue")]
    CertIssued {
        thing_id: ThingId,
        owner: UserId,
        /// Lowercase hex.
        serial: String,
        cert: String,
        private_key: SealedKey,
        key_type: String,
        key_bits: u32,
        #[serde(with = "time::serde::rfc3339")]
        expires_at: OffsetDateTime,
    },
    /// The certificate stops authenticating at the next handshake and is listed in the CRL.
    #[serde(rename = "cert.revoke")]
    CertRevoked {
        thing_id: ThingId,
        serial: String,
        #[serde(with = "time::serde::rfc3339")]
        revoked_at: OffsetDateTime,
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
    pub const KINDS: [&'static str; 25] = [
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
        "config.create",
        "config.update",
        "config.update_certs",
        "config.remove",
        "thing.bootstrap",
        "thing.state_change",
        "thing.update_connections",
        "config.external_id_claim",
        "config.external_id_release",
        "cert.issue",
        "cert.revoke",
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
            Event::ConfigCreated { .. } => "config.create",
            Event::ConfigUpdated { .. } => "config.update",
            Event::ConfigCertsUpdated { .. } => "config.update_certs",
            Event::ConfigRemoved { .. } => "config.remove",
            Event::ThingBootstrapped { .. } => "thing.bootstrap",
            Event::ThingStateChanged { .. } => "thing.state_change",
            Event::ThingConnectionsUpdated { .. } => "thing.update_connections",
            Event::ExternalIdClaimed { .. } => "config.external_id_claim",
            Event::ExternalIdReleased { .. } => "config.external_id_release",
            Event::CertIssued { .. } => "cert.issue",
            Event::CertRevoked { .. } => "cert.revoke",
        }
    }

    /// The event's `data` object, as stored in the envelope.
    pub fn data(&self) -> EventData {
        // The tagged form is exactly `{"type":"<kind>","data":<data>}`: cut the data out of
        // it in place rather than going through a `Value` tree (every command does this).
        let mut tagged = serde_json::to_string(self).expect("events serialize");
        let start = r#"{"type":""#.len() + self.kind().len() + r#"","data":"#.len();
        debug_assert!(tagged.ends_with('}') && tagged[..start].ends_with(r#""data":"#));
        tagged.truncate(tagged.len() - 1);
        tagged.drain(..start);
        EventData::from_json(tagged).expect("a slice of valid JSON at a value boundary")
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
