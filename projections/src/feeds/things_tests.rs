//! The event → entries mapping: a table of every event kind, then properties over random
//! histories (ids follow positions, no secret ever appears).

use domain::Event;
use domain::ids::{ChannelId, KeyHash, KeyMaterial, PasswordHash, SealedKey, ThingId, UserId};
use domain::values::Metadata;
use proptest::prelude::*;
use uuid::Uuid;

use super::*;

const SEALED: &str = "sealed-key-material";
const PASSWORD_HASH: &str = "$argon2id$v=19$secret-hash";

fn key() -> KeyMaterial {
    KeyMaterial {
        key_hash: KeyHash([7; 32]),
        sealed_key: SealedKey(SEALED.into()),
    }
}

fn meta() -> Metadata {
    serde_json::from_str(r#"{"room":"a1"}"#).unwrap()
}

fn ids(n: u128) -> (UserId, ThingId, ChannelId) {
    (
        UserId(Uuid::from_u128(n)),
        ThingId(Uuid::from_u128(n + 1)),
        ChannelId(Uuid::from_u128(n + 2)),
    )
}

fn registered(user: UserId) -> Event {
    Event::UserRegistered {
        id: user,
        email: "owner@example.com".into(),
        password_hash: PasswordHash(PASSWORD_HASH.into()),
        metadata: None,
    }
}

/// Fields of the single entry `event` gives, as (name, value) pairs sorted by name.
fn fields(mapping: &mut ThingsMapping, event: &Event) -> Vec<(&'static str, String)> {
    let entries = mapping.map(9, event);
    assert_eq!(entries.len(), 1, "{event:?}");
    assert_eq!(entries[0].id.to_string(), "9-0");
    let mut fields = entries[0].fields.clone();
    fields.sort();
    fields
}

fn f(pairs: &[(&'static str, &str)]) -> Vec<(&'static str, String)> {
    let mut v: Vec<_> = pairs.iter().map(|(k, v)| (*k, (*v).to_owned())).collect();
    v.sort();
    v
}

#[test]
fn every_kind_maps_to_mainflux_operations_and_fields() {
    let (user, thing, channel) = ids(100);
    let (t, c) = (thing.to_string(), channel.to_string());
    let mut m = ThingsMapping::default();
    assert!(m.map(1, &registered(user)).is_empty());
    let cases: Vec<(Event, Vec<(&'static str, String)>)> = vec![
        (
            Event::ThingCreated {
                id: thing,
                owner: user,
                name: Some("d0".into()),
                metadata: Some(meta()),
                key: key(),
            },
            f(&[
                ("operation", "thing.create"),
                ("id", &t),
                ("owner", "owner@example.com"),
                ("name", "d0"),
                ("metadata", r#"{"room":"a1"}"#),
            ]),
        ),
        (
            Event::ThingCreated {
                id: thing,
                owner: user,
                name: Some(String::new()),
                metadata: None,
                key: key(),
            },
            f(&[
                ("operation", "thing.create"),
                ("id", &t),
                ("owner", "owner@example.com"),
            ]),
        ),
        (
            Event::ChannelCreated {
                id: channel,
                owner: user,
                name: Some("c1".into()),
                metadata: None,
            },
            f(&[
                ("operation", "channel.create"),
                ("id", &c),
                ("owner", "owner@example.com"),
                ("name", "c1"),
            ]),
        ),
        (
            Event::ThingUpdated {
                id: thing,
                name: Some("weio".into()),
                metadata: None,
            },
            f(&[("operation", "thing.update"), ("id", &t), ("name", "weio")]),
        ),
        (
            Event::ChannelUpdated {
                id: channel,
                name: None,
                metadata: Some(Metadata::new()),
            },
            f(&[
                ("operation", "channel.update"),
                ("id", &c),
                ("metadata", "{}"),
            ]),
        ),
        (
            Event::ThingRemoved { id: thing },
            f(&[("operation", "thing.remove"), ("id", &t)]),
        ),
        (
            Event::ChannelRemoved { id: channel },
            f(&[("operation", "channel.remove"), ("id", &c)]),
        ),
        (
            Event::ThingConnected {
                channel_id: channel,
                thing_id: thing,
            },
            f(&[
                ("operation", "thing.connect"),
                ("chan_id", &c),
                ("thing_id", &t),
            ]),
        ),
        (
            Event::ThingDisconnected {
                channel_id: channel,
                thing_id: thing,
            },
            f(&[
                ("operation", "thing.disconnect"),
                ("chan_id", &c),
                ("thing_id", &t),
            ]),
        ),
    ];
    for (event, expected) in cases {
        assert_eq!(fields(&mut m, &event), expected, "{}", event.kind());
    }
}

#[test]
fn user_events_and_key_changes_give_no_entry() {
    let (user, thing, _) = ids(200);
    let mut m = ThingsMapping::default();
    let silent = [
        registered(user),
        Event::UserUpdated {
            id: user,
            metadata: None,
        },
        Event::UserPasswordChanged {
            id: user,
            password_hash: PasswordHash(PASSWORD_HASH.into()),
        },
        Event::ThingKeyUpdated {
            id: thing,
            key: key(),
        },
    ];
    for event in silent {
        assert!(m.map(3, &event).is_empty(), "{}", event.kind());
    }
}

#[test]
fn an_owner_never_registered_is_named_by_id() {
    let (user, thing, _) = ids(300);
    let created = Event::ThingCreated {
        id: thing,
        owner: user,
        name: None,
        metadata: None,
        key: key(),
    };
    let entries = ThingsMapping::default().map(5, &created);
    assert_eq!(entries[0].get("owner"), Some(user.to_string().as_str()));
}

fn any_event() -> impl Strategy<Value = Event> {
    let id = || (0u128..6).prop_map(Uuid::from_u128);
    let name = proptest::option::of("[a-z]{0,3}");
    prop_oneof![
        id().prop_map(|u| registered(UserId(u))),
        (id(), id(), name.clone()).prop_map(|(t, u, name)| Event::ThingCreated {
            id: ThingId(t),
            owner: UserId(u),
            name,
            metadata: None,
            key: key(),
        }),
        (id(), name).prop_map(|(t, name)| Event::ThingUpdated {
            id: ThingId(t),
            name,
            metadata: Some(meta()),
        }),
        id().prop_map(|t| Event::ThingKeyUpdated {
            id: ThingId(t),
            key: key()
        }),
        id().prop_map(|c| Event::ChannelRemoved { id: ChannelId(c) }),
        (id(), id()).prop_map(|(c, t)| Event::ThingConnected {
            channel_id: ChannelId(c),
            thing_id: ThingId(t),
        }),
    ]
}

proptest! {
    /// Ids follow positions (so they increase with the log and every writer computes the
    /// same ones), each entry has an `operation` equal to the event kind, and nothing of a
    /// key or password reaches the feed.
    #[test]
    fn entries_follow_positions_and_hold_no_secret(events in proptest::collection::vec(any_event(), 0..40)) {
        let mut m = ThingsMapping::default();
        let mut last = None;
        for (i, event) in events.iter().enumerate() {
            let position = i as u64 + 1;
            let entries = m.map(position, event);
            prop_assert!(entries.len() <= 1);
            for entry in entries {
                prop_assert_eq!(entry.id.position, position);
                prop_assert!(Some(entry.id) > last);
                last = Some(entry.id);
                prop_assert_eq!(entry.get("operation"), Some(event.kind()));
                for (_, value) in &entry.fields {
                    prop_assert!(!value.contains(SEALED) && !value.contains(PASSWORD_HASH));
                    prop_assert!(!value.contains(&KeyHash([7; 32]).to_string()));
                }
            }
        }
    }
}
