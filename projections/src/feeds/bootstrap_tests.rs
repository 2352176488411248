//! The event → `mainflux.bootstrap` mapping: the field table of every operation, the
//! events that give no entry, then a property over random histories (ids follow
//! positions, the timestamp is the recorded time, no secret ever appears).

use domain::Event;
use domain::config::Activation;
use domain::ids::{ChannelId, KeyHash, KeyMaterial, PasswordHash, SealedKey, ThingId, UserId};
use proptest::prelude::*;
use time::OffsetDateTime;
use uuid::Uuid;

use super::*;

const SEALED_EXTERNAL_KEY: &str = "sealed-external-key";
const SEALED_CLIENT_KEY: &str = "sealed-client-private-key";
const CLIENT_CERT: &str = "-----BEGIN CERTIFICATE----- client";
const CA_CERT: &str = "-----BEGIN CERTIFICATE----- ca";
const EXTERNAL_KEY_HASH: KeyHash = KeyHash([9; 32]);
const EXTERNAL_ID_HASH: KeyHash = KeyHash([5; 32]);
/// 2026-12-04T12:00:00Z.
const AT: i64 = 1_796_385_600;

fn at() -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(AT).unwrap()
}

fn user() -> UserId {
    UserId(Uuid::from_u128(1))
}

fn thing() -> ThingId {
    ThingId(Uuid::from_u128(2))
}

fn channel(n: u128) -> ChannelId {
    ChannelId(Uuid::from_u128(10 + n))
}

fn registered() -> Event {
    Event::UserRegistered {
        id: user(),
        email: "owner@example.com".into(),
        password_hash: PasswordHash("$argon2id$secret".into()),
        metadata: None,
    }
}

fn created(name: Option<&str>, content: Option<&str>, channels: Vec<ChannelId>) -> Event {
    Event::ConfigCreated {
        thing_id: thing(),
        owner: user(),
        external_id: "ext-1".into(),
        external_key: KeyMaterial {
            key_hash: EXTERNAL_KEY_HASH,
            sealed_key: SealedKey(SEALED_EXTERNAL_KEY.into()),
        },
        name: name.map(Into::into),
        content: content.map(Into::into),
        channels,
        client_cert: Some(CLIENT_CERT.into()),
        client_key: Some(SealedKey(SEALED_CLIENT_KEY.into())),
        ca_cert: Some(CA_CERT.into()),
    }
}

fn bootstrapped(success: bool) -> Event {
    Event::ThingBootstrapped {
        external_id: "ext-1".into(),
        success,
        unknown: !success,
    }
}

/// The fields of the single entry `event` gives, in the order written.
fn fields(mapping: &mut BootstrapMapping, event: &Event) -> Vec<(&'static str, String)> {
    let entries = mapping.map(9, at(), event);
    assert_eq!(entries.len(), 1, "{event:?}");
    assert_eq!(entries[0].id.to_string(), "9-0");
    entries[0].fields.clone()
}

fn f(pairs: &[(&'static str, &str)]) -> Vec<(&'static str, String)> {
    pairs.iter().map(|(k, v)| (*k, (*v).to_owned())).collect()
}

#[test]
fn every_operation_has_mainflux_fields() {
    let (t, c0, c1) = (
        thing().to_string(),
        channel(0).to_string(),
        channel(1).to_string(),
    );
    let both = format!("{c0}, {c1}");
    let ts = AT.to_string();
    let mut m = BootstrapMapping::default();
    assert!(m.map(1, at(), &registered()).is_empty());
    let cases: Vec<(Event, Vec<(&'static str, String)>)> = vec![
        (
            created(Some("gw"), Some(r#"{"a":1}"#), vec![channel(0), channel(1)]),
            f(&[
                ("operation", "config.create"),
                ("thing_id", &t),
                ("owner", "owner@example.com"),
                ("name", "gw"),
                ("channels", &both),
                ("external_id", "ext-1"),
                ("content", r#"{"a":1}"#),
                ("timestamp", &ts),
            ]),
        ),
        (
            created(None, None, vec![]),
            f(&[
                ("operation", "config.create"),
                ("thing_id", &t),
                ("owner", "owner@example.com"),
                ("name", ""),
                ("channels", ""),
                ("external_id", "ext-1"),
                ("content", ""),
                ("timestamp", &ts),
            ]),
        ),
        (
            Event::ConfigUpdated {
                thing_id: thing(),
                name: Some("gw2".into()),
                content: None,
            },
            f(&[
                ("operation", "config.update"),
                ("thing_id", &t),
                ("name", "gw2"),
                ("content", ""),
                ("timestamp", &ts),
            ]),
        ),
        (
            Event::ConfigRemoved { thing_id: thing() },
            f(&[
                ("operation", "config.remove"),
                ("thing_id", &t),
                ("timestamp", &ts),
            ]),
        ),
        (
            bootstrapped(true),
            f(&[
                ("operation", "thing.bootstrap"),
                ("external_id", "ext-1"),
                ("success", "1"),
                ("timestamp", &ts),
            ]),
        ),
        (
            bootstrapped(false),
            f(&[
                ("operation", "thing.bootstrap"),
                ("external_id", "ext-1"),
                ("success", "0"),
                ("timestamp", &ts),
            ]),
        ),
        (
            Event::ThingStateChanged {
                thing_id: thing(),
                state: Activation::Active,
            },
            f(&[
                ("operation", "thing.state_change"),
                ("thing_id", &t),
                ("state", "1"),
                ("timestamp", &ts),
            ]),
        ),
        (
            Event::ThingStateChanged {
                thing_id: thing(),
                state: Activation::Inactive,
            },
            f(&[
                ("operation", "thing.state_change"),
                ("thing_id", &t),
                ("state", "0"),
                ("timestamp", &ts),
            ]),
        ),
        (
            Event::ThingConnectionsUpdated {
                thing_id: thing(),
                channels: vec![channel(1), channel(0)],
            },
            f(&[
                ("operation", "thing.update_connections"),
                ("thing_id", &t),
                ("channels", &format!("{c1}, {c0}")),
                ("timestamp", &ts),
            ]),
        ),
    ];
    for (event, expected) in cases {
        assert_eq!(fields(&mut m, &event), expected, "{}", event.kind());
    }
}

#[test]
fn certificates_claims_and_other_aggregates_give_no_entry() {
    let mut m = BootstrapMapping::default();
    let silent = [
        registered(),
        Event::ConfigCertsUpdated {
            thing_id: thing(),
            client_cert: None,
            client_key: Some(SealedKey(SEALED_CLIENT_KEY.into())),
            ca_cert: None,
        },
        Event::ExternalIdClaimed {
            external_id_hash: EXTERNAL_ID_HASH,
            thing_id: thing(),
            claimed_at: at(),
        },
        Event::ExternalIdReleased {
            external_id_hash: EXTERNAL_ID_HASH,
            thing_id: thing(),
        },
        Event::ThingRemoved { id: thing() },
        Event::ChannelRemoved { id: channel(0) },
        Event::ThingConnected {
            channel_id: channel(0),
            thing_id: thing(),
        },
    ];
    for event in silent {
        assert!(m.map(3, at(), &event).is_empty(), "{}", event.kind());
    }
}

#[test]
fn an_owner_never_registered_is_named_by_id() {
    let entries = BootstrapMapping::default().map(5, at(), &created(None, None, vec![]));
    assert_eq!(entries[0].get("owner"), Some(user().to_string().as_str()));
}

fn any_event() -> impl Strategy<Value = Event> {
    let channels = proptest::collection::vec((0u128..4).prop_map(channel), 0..3);
    prop_oneof![
        Just(registered()),
        (
            proptest::option::of("[a-z]{0,3}"),
            proptest::option::of("[a-z{}]{0,5}"),
            channels.clone()
        )
            .prop_map(|(name, content, channels)| created(
                name.as_deref(),
                content.as_deref(),
                channels
            )),
        Just(Event::ConfigCertsUpdated {
            thing_id: thing(),
            client_cert: Some(CLIENT_CERT.into()),
            client_key: Some(SealedKey(SEALED_CLIENT_KEY.into())),
            ca_cert: Some(CA_CERT.into()),
        }),
        any::<bool>().prop_map(bootstrapped),
        any::<bool>().prop_map(|active| Event::ThingStateChanged {
            thing_id: thing(),
            state: if active {
                Activation::Active
            } else {
                Activation::Inactive
            },
        }),
        channels.prop_map(|channels| Event::ThingConnectionsUpdated {
            thing_id: thing(),
            channels,
        }),
        Just(Event::ConfigRemoved { thing_id: thing() }),
    ]
}

proptest! {
    /// Ids follow positions (so every writer computes the same ones, increasing with the
    /// log), `operation` is the event kind, `timestamp` is the recorded time in Unix
    /// seconds, and nothing of the external key, the client key, the certificates or a
    /// hash reaches the feed.
    #[test]
    fn entries_follow_positions_and_hold_no_secret(
        events in proptest::collection::vec((any_event(), 0i64..4_000_000_000), 0..40)
    ) {
        let mut m = BootstrapMapping::default();
        let mut last = None;
        let secrets = [
            SEALED_EXTERNAL_KEY.to_owned(),
            SEALED_CLIENT_KEY.to_owned(),
            CLIENT_CERT.to_owned(),
            CA_CERT.to_owned(),
            EXTERNAL_KEY_HASH.to_string(),
            EXTERNAL_ID_HASH.to_string(),
        ];
        for (i, (event, seconds)) in events.iter().enumerate() {
            let position = i as u64 + 1;
            let recorded_at = OffsetDateTime::from_unix_timestamp(*seconds).unwrap();
            let entries = m.map(position, recorded_at, event);
            prop_assert!(entries.len() <= 1);
            for entry in entries {
                prop_assert_eq!(entry.id.position, position);
                prop_assert!(Some(entry.id) > last);
                last = Some(entry.id);
                prop_assert_eq!(entry.get("operation"), Some(event.kind()));
                let timestamp = seconds.to_string();
                prop_assert_eq!(entry.get("timestamp"), Some(timestamp.as_str()));
                for (_, value) in &entry.fields {
                    for secret in &secrets {
                        prop_assert!(!value.contains(secret.as_str()), "{} in {:?}", secret, entry);
                    }
                }
            }
        }
    }
}
