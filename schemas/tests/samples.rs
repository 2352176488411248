//! Events built from the real `domain::Event` validate: the schemas match the serde shape.

mod common;

use std::collections::BTreeSet;

use domain::Event;
use domain::ids::{ChannelId, KeyMaterial, ThingId, UserId};
use domain::values::{Metadata, check_email};
use proptest::prelude::*;
use serde_json::{Value, json};
use uuid::Uuid;

use common::{envelope, key_material, password_hash, samples};

#[test]
fn one_sample_of_every_kind_validates() {
    let failures: Vec<String> = samples()
        .iter()
        .filter_map(|event| schemas::validate_event(&envelope(event, None)).err())
        .collect();
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
fn samples_cover_every_kind() {
    let sampled: BTreeSet<&str> = samples().iter().map(Event::kind).collect();
    assert_eq!(sampled, Event::KINDS.into_iter().collect());
}

#[test]
fn user_actor_and_system_actor_validate() {
    let event = &samples()[3];
    schemas::validate_event(&envelope(event, Some(UserId(Uuid::new_v4())))).unwrap();
    schemas::validate_event(&envelope(event, None)).unwrap();
}

#[test]
fn timestamps_keep_nanoseconds_and_validate() {
    let env = envelope(&samples()[0], None);
    let occurred_at = env["occurred_at"].as_str().unwrap();
    assert_eq!(occurred_at, "2023-11-14T22:13:20.123456789Z");
    schemas::validate_event(&env).unwrap();
}

#[test]
fn absent_name_and_metadata_are_null_and_validate() {
    let event = Event::ThingCreated {
        id: ThingId(Uuid::new_v4()),
        owner: UserId(Uuid::new_v4()),
        name: None,
        metadata: None,
        key: key_material("k"),
    };
    let env = envelope(&event, None);
    assert_eq!(env["data"]["name"], Value::Null);
    assert_eq!(env["data"]["metadata"], Value::Null);
    schemas::validate_event(&env).unwrap();
}

#[test]
fn key_material_is_flattened_into_data() {
    let event = &samples()[5];
    let data = envelope(event, None)["data"].clone();
    let keys: BTreeSet<&str> = data
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(keys, ["id", "key_hash", "sealed_key"].into_iter().collect());
}

#[test]
fn a_name_of_1024_multibyte_characters_validates() {
    let event = Event::ChannelUpdated {
        id: ChannelId(Uuid::new_v4()),
        name: Some("é".repeat(1024)),
        metadata: Some(Metadata::new()),
    };
    schemas::validate_event(&envelope(&event, None)).unwrap();
}

fn arb_uuid() -> impl Strategy<Value = Uuid> {
    any::<u128>().prop_map(Uuid::from_u128)
}

fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("JSON numbers are finite", |f| f.is_finite())
            .prop_map(Value::from),
        "\\PC{0,8}".prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            prop::collection::btree_map("\\PC{0,6}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn arb_metadata() -> impl Strategy<Value = Option<Metadata>> {
    prop::option::of(
        prop::collection::btree_map("\\PC{0,8}", arb_json(), 0..5)
            .prop_map(|m| m.into_iter().collect()),
    )
}

fn arb_name() -> impl Strategy<Value = Option<String>> {
    prop::option::of(prop_oneof!["\\PC{0,16}", "\\PC{1000,1024}"])
}

/// Emails the domain accepts.
fn arb_email() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9!#$%&'*+/=?^_`{|}~-]{1,20}(\\.[a-z0-9]{1,8}){0,2}@([a-zA-Z0-9-]{1,10}\\.){1,3}[a-z]{2,24}"
        .prop_filter("the domain accepts it", |e| check_email(e).is_ok())
}

fn arb_key() -> impl Strategy<Value = KeyMaterial> {
    "\\PC{1,64}".prop_map(|k| key_material(&k))
}

prop_compose! {
    fn arb_event()(
        kind in 0..14usize,
        claimed_at in -1_000_000_000i64..4_000_000_000,
        (user, thing, channel) in (arb_uuid(), arb_uuid(), arb_uuid()),
        name in arb_name(),
        metadata in arb_metadata(),
        email in arb_email(),
        key in arb_key(),
    ) -> Event {
        let (id, owner, thing_id, channel_id) =
            (UserId(user), UserId(user), ThingId(thing), ChannelId(channel));
        match kind {
            0 => Event::UserRegistered { id, email, password_hash: password_hash(), metadata },
            1 => Event::UserUpdated { id, metadata },
            2 => Event::UserPasswordChanged { id, password_hash: password_hash() },
            3 => Event::ThingCreated { id: thing_id, owner, name, metadata, key },
            4 => Event::ThingUpdated { id: thing_id, name, metadata },
            5 => Event::ThingKeyUpdated { id: thing_id, key },
            6 => Event::ThingRemoved { id: thing_id },
            7 => Event::ChannelCreated { id: channel_id, owner, name, metadata },
            8 => Event::ChannelUpdated { id: channel_id, name, metadata },
            9 => Event::ChannelRemoved { id: channel_id },
            10 => Event::ThingConnected { channel_id, thing_id },
            11 => Event::ThingDisconnected { channel_id, thing_id },
            12 => Event::ThingKeyClaimed {
                key_hash: key.key_hash,
                thing_id,
                claimed_at: time::OffsetDateTime::from_unix_timestamp(claimed_at).unwrap(),
            },
            _ => Event::ThingKeyReleased { key_hash: key.key_hash, thing_id },
        }
    }
}

fn register_with(email: &str) -> Value {
    let mut env = common::sample("user.register");
    env["data"]["email"] = json!(email);
    env
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn every_event_the_domain_can_write_validates(
        event in arb_event(),
        actor in prop::option::of(arb_uuid()),
    ) {
        let env = envelope(&event, actor.map(UserId));
        prop_assert_eq!(schemas::validate_event(&env), Ok(()));
        // And it reads back: the schema describes what serde writes and reads.
        let data = domain::event_data::EventData::from_value(&env["data"]);
        let back = Event::from_parts(event.kind(), 1, &data).unwrap();
        prop_assert_eq!(back, event);
    }

    #[test]
    fn accepted_emails_validate(email in arb_email()) {
        prop_assert_eq!(schemas::validate_event(&register_with(&email)), Ok(()));
    }

    /// On strings too short for the domain's length limits to matter, the schema's email
    /// pattern and `check_email` agree both ways.
    #[test]
    fn email_pattern_agrees_with_the_domain(
        email in prop_oneof!["[a-zA-Z0-9.@!+_-]{0,40}", "[a.+]{0,4}@?[a.-]{0,5}@[a.-]{0,8}"]
    ) {
        let schema_ok = schemas::validate_event(&register_with(&email)).is_ok();
        prop_assert_eq!(schema_ok, check_email(&email).is_ok(), "{}", email);
    }
}
