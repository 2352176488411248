//! Builders shared by the test files: real `domain::Event`s inside real envelopes.

use base64::Engine;
use base64::engine::general_purpose::STANDARD_NO_PAD;
use domain::Event;
use domain::config::{self, Activation};
use domain::envelope::{PendingEvent, RecordedEvent};
use domain::external_id_claim;
use domain::ids::{ChannelId, KeyHash, KeyMaterial, PasswordHash, SealedKey, ThingId, UserId};
use serde_json::{Value, json};
use time::OffsetDateTime;
use uuid::Uuid;

/// The stream the command layer appends `event` to.
pub fn stream_of(event: &Event) -> String {
    match event {
        Event::UserRegistered { id, .. }
        | Event::UserUpdated { id, .. }
        | Event::UserPasswordChanged { id, .. } => id.stream(),
        Event::ThingCreated { id, .. }
        | Event::ThingUpdated { id, .. }
        | Event::ThingKeyUpdated { id, .. }
        | Event::ThingRemoved { id } => id.stream(),
        Event::ChannelCreated { id, .. }
        | Event::ChannelUpdated { id, .. }
        | Event::ChannelRemoved { id } => id.stream(),
        Event::ThingConnected { channel_id, .. } | Event::ThingDisconnected { channel_id, .. } => {
            channel_id.stream()
        }
        Event::ThingKeyClaimed { key_hash, .. } | Event::ThingKeyReleased { key_hash, .. } => {
            key_hash.claim_stream()
        }
        Event::ConfigCreated { thing_id, .. }
        | Event::ConfigUpdated { thing_id, .. }
        | Event::ConfigCertsUpdated { thing_id, .. }
        | Event::ConfigRemoved { thing_id }
        | Event::ThingStateChanged { thing_id, .. }
        | Event::ThingConnectionsUpdated { thing_id, .. } => config::stream(*thing_id),
        // The recording node's stream, whatever the device.
        Event::ThingBootstrapped { .. } => format!("bootstrap-{}", uuid::Uuid::nil()),
        Event::ExternalIdClaimed {
            external_id_hash, ..
        }
        | Event::ExternalIdReleased {
            external_id_hash, ..
        } => external_id_claim::claim_stream(external_id_hash),
        Event::CertIssued { thing_id, .. } | Event::CertRevoked { thing_id, .. } => {
            domain::cert::stream(*thing_id)
        }
    }
}

/// `event` as the log stores it, serialized through the real `RecordedEvent`.
pub fn envelope(event: &Event, actor: Option<UserId>) -> Value {
    let pending = PendingEvent {
        id: Uuid::now_v7(),
        kind: event.kind().into(),
        schema: domain::event::SCHEMA_VERSION,
        // Nanoseconds, as `now_utc()` gives: RFC 3339 with a 9-digit fraction.
        occurred_at: OffsetDateTime::UNIX_EPOCH + time::Duration::new(1_700_000_000, 123_456_789),
        actor: actor.map(|a| a.to_string()),
        correlation_id: Uuid::new_v4(),
        data: event.data(),
    };
    let recorded = RecordedEvent::record(pending, &stream_of(event), 3, 42);
    serde_json::to_value(recorded).expect("an envelope serializes")
}

/// Key material shaped like `commands::auth::vault` makes it: 32-byte hex hash, and
/// base64 (no padding) of a 12-byte nonce plus ciphertext plus 16-byte tag.
pub fn key_material(key: &str) -> KeyMaterial {
    let hash: [u8; 32] = std::array::from_fn(|i| (i as u8).wrapping_mul(31) ^ key.len() as u8);
    let sealed = [&[7u8; 12][..], key.as_bytes(), &[9u8; 16]].concat();
    KeyMaterial {
        key_hash: KeyHash(hash),
        sealed_key: SealedKey(STANDARD_NO_PAD.encode(sealed)),
    }
}

pub fn password_hash() -> PasswordHash {
    PasswordHash("$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA".into())
}

/// One event of every kind, with every optional field set.
pub fn samples() -> Vec<Event> {
    let user = UserId(Uuid::new_v4());
    let thing = ThingId(Uuid::new_v4());
    let channel = ChannelId(Uuid::new_v4());
    let metadata = || {
        json!({ "site": "lab", "nested": { "floor": 3, "tags": ["a", null, 1.5, true] } })
            .as_object()
            .cloned()
            .map(Into::into)
    };
    vec![
        Event::UserRegistered {
            id: user,
            email: "ada@example.com".into(),
            password_hash: password_hash(),
            metadata: metadata(),
        },
        Event::UserUpdated {
            id: user,
            metadata: metadata(),
        },
        Event::UserPasswordChanged {
            id: user,
            password_hash: password_hash(),
        },
        Event::ThingCreated {
            id: thing,
            owner: user,
            name: Some("thermometer".into()),
            metadata: metadata(),
            key: key_material("secret-key"),
        },
        Event::ThingUpdated {
            id: thing,
            name: Some("thermometer 2".into()),
            metadata: metadata(),
        },
        Event::ThingKeyUpdated {
            id: thing,
            key: key_material("another key"),
        },
        Event::ThingRemoved { id: thing },
        Event::ChannelCreated {
            id: channel,
            owner: user,
            name: Some("readings".into()),
            metadata: metadata(),
        },
        Event::ChannelUpdated {
            id: channel,
            name: Some("readings 2".into()),
            metadata: metadata(),
        },
        Event::ChannelRemoved { id: channel },
        Event::ThingConnected {
            channel_id: channel,
            thing_id: thing,
        },
        Event::ThingDisconnected {
            channel_id: channel,
            thing_id: thing,
        },
        Event::ThingKeyClaimed {
            key_hash: key_material("secret-key").key_hash,
            thing_id: thing,
            claimed_at: OffsetDateTime::UNIX_EPOCH + time::Duration::new(1_700_000_000, 5),
        },
        Event::ThingKeyReleased {
            key_hash: key_material("secret-key").key_hash,
            thing_id: thing,
        },
        Event::ConfigCreated {
            thing_id: thing,
            owner: user,
            external_id: "factory-serial-0042".into(),
            external_key: key_material("external key"),
            name: Some("gateway".into()),
            content: Some("{\"mqtt\":\"tcp://broker:1883\"}".into()),
            channels: vec![channel, ChannelId(Uuid::new_v4())],
            client_cert: Some("-----BEGIN CERTIFICATE-----".into()),
            client_key: Some(key_material("private key").sealed_key),
            ca_cert: Some("-----BEGIN CERTIFICATE-----".into()),
        },
        Event::ConfigUpdated {
            thing_id: thing,
            name: Some("gateway 2".into()),
            content: Some("[mqtt]".into()),
        },
        Event::ConfigCertsUpdated {
            thing_id: thing,
            client_cert: Some("-----BEGIN CERTIFICATE-----".into()),
            client_key: Some(key_material("private key 2").sealed_key),
            ca_cert: None,
        },
        Event::ConfigRemoved { thing_id: thing },
        Event::ThingBootstrapped {
            external_id: "factory-serial-0042".into(),
            success: false,
            unknown: true,
        },
        Event::ThingStateChanged {
            thing_id: thing,
            state: Activation::Active,
        },
        Event::ThingConnectionsUpdated {
            thing_id: thing,
            channels: vec![channel],
        },
        Event::ExternalIdClaimed {
            external_id_hash: key_material("factory-serial-0042").key_hash,
            thing_id: thing,
            claimed_at: OffsetDateTime::UNIX_EPOCH + time::Duration::new(1_700_000_000, 5),
        },
        Event::ExternalIdReleased {
            external_id_hash: key_material("factory-serial-0042").key_hash,
            thing_id: thing,
        },
        Event::CertIssued {
            thing_id: thing,
            owner: UserId(Uuid::from_u128(1)),
            serial: "4f1c9a0b2d3e".into(),
            cert: "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n".into(),
            private_key: key_material("-----BEGIN PRIVATE KEY-----").sealed_key,
            key_type: "ecdsa".into(),
            key_bits: 256,
            expires_at: OffsetDateTime::UNIX_EPOCH + time::Duration::new(1_800_000_000, 0),
        },
        Event::CertRevoked {
            thing_id: thing,
            serial: "4f1c9a0b2d3e".into(),
            revoked_at: OffsetDateTime::UNIX_EPOCH + time::Duration::new(1_700_000_100, 7),
        },
    ]
}

/// The sample of `kind`, as an envelope.
pub fn sample(kind: &str) -> Value {
    let event = samples()
        .into_iter()
        .find(|e| e.kind() == kind)
        .expect("a sample of every kind");
    envelope(&event, Some(UserId(Uuid::new_v4())))
}
