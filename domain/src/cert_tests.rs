use proptest::prelude::*;
use uuid::Uuid;

use super::*;
use crate::ids::{KeyHash, KeyMaterial};
use crate::thing::{self, ThingCommand};

const ALICE: UserId = UserId(Uuid::from_u128(1));
const BOB: UserId = UserId(Uuid::from_u128(2));
const THING: ThingId = ThingId(Uuid::from_u128(10));

fn at(seconds: i64) -> OffsetDateTime {
    OffsetDateTime::UNIX_EPOCH + time::Duration::seconds(1_700_000_000 + seconds)
}

fn thing_of(owner: UserId) -> ThingState {
    let create = ThingCommand::Create {
        id: THING,
        owner,
        name: None,
        metadata: None,
        key: KeyMaterial {
            key_hash: KeyHash([1; 32]),
            sealed_key: SealedKey("sealed".into()),
        },
    };
    let events = thing::decide(&ThingState::New, &create).unwrap();
    events.iter().fold(ThingState::New, thing::apply)
}

fn new_cert(serial: &str) -> NewCert {
    NewCert {
        serial: serial.into(),
        cert: "-----BEGIN CERTIFICATE-----".into(),
        private_key: SealedKey("sealed-key".into()),
        key: KeySpec::Ecdsa(256),
        expires_at: at(3600),
    }
}

fn issue(actor: UserId, serial: &str) -> CertCommand {
    CertCommand::Issue {
        actor,
        cert: new_cert(serial),
    }
}

fn revoke(actor: UserId, serial: &str, seconds: i64) -> CertCommand {
    CertCommand::Revoke {
        actor,
        serial: serial.into(),
        at: at(seconds),
    }
}

fn run(thing: &ThingState, state: CertsState, command: &CertCommand) -> CertsState {
    decide(thing, &state, command)
        .unwrap()
        .iter()
        .fold(state, apply)
}

#[test]
fn given_own_thing_when_issuing_then_the_certificate_is_recorded_with_its_sealed_key() {
    let events = decide(
        &thing_of(ALICE),
        &CertsState::default(),
        &issue(ALICE, "0a"),
    )
    .unwrap();
    assert_eq!(
        events,
        vec![Event::CertIssued {
            thing_id: THING,
            owner: ALICE,
            serial: "0a".into(),
            cert: "-----BEGIN CERTIFICATE-----".into(),
            private_key: SealedKey("sealed-key".into()),
            key_type: "ecdsa".into(),
            key_bits: 256,
            expires_at: at(3600),
        }]
    );
}

#[test]
fn given_foreign_new_or_removed_thing_when_issuing_or_revoking_then_not_found() {
    let thing = thing_of(ALICE);
    let issued = run(&thing, CertsState::default(), &issue(ALICE, "0a"));
    let removed = thing::apply(thing.clone(), &Event::ThingRemoved { id: THING });
    for (thing, command) in [
        (&thing, issue(BOB, "0b")),
        (&thing, revoke(BOB, "0a", 1)),
        (&ThingState::New, issue(ALICE, "0b")),
        (&removed, issue(ALICE, "0b")),
        (&removed, revoke(ALICE, "0a", 1)),
    ] {
        assert_eq!(
            decide(thing, &issued, &command),
            Err(DomainError::NotFound),
            "{command:?}"
        );
    }
}

#[test]
fn given_issued_serial_when_issuing_it_again_then_conflict() {
    let thing = thing_of(ALICE);
    let issued = run(&thing, CertsState::default(), &issue(ALICE, "0a"));
    assert!(matches!(
        decide(&thing, &issued, &issue(ALICE, "0a")),
        Err(DomainError::Conflict(_))
    ));
}

#[test]
fn given_revoked_cert_when_revoking_again_then_nothing_changes_and_the_first_time_stays() {
    let thing = thing_of(ALICE);
    let state = run(&thing, CertsState::default(), &issue(ALICE, "0a"));
    let state = run(&thing, state, &revoke(ALICE, "0a", 5));
    assert_eq!(decide(&thing, &state, &revoke(ALICE, "0a", 9)), Ok(vec![]));
    assert_eq!(state.certs["0a"].revoked_at, Some(at(5)));
    assert_eq!(
        decide(&thing, &state, &revoke(ALICE, "ff", 9)),
        Err(DomainError::NotFound)
    );
}

#[test]
fn key_specs_and_validities_are_read_as_mainflux_sends_them() {
    assert_eq!(KeySpec::parse(None, None), Ok(KeySpec::Rsa(2048)));
    assert_eq!(
        KeySpec::parse(Some("rsa"), Some(4096)),
        Ok(KeySpec::Rsa(4096))
    );
    assert_eq!(KeySpec::parse(Some("ec"), None), Ok(KeySpec::Ecdsa(256)));
    assert_eq!(
        KeySpec::parse(Some("ecdsa"), Some(384)),
        Ok(KeySpec::Ecdsa(384))
    );
    for (kind, bits) in [("rsa", 1024), ("ecdsa", 2048), ("dsa", 2048)] {
        assert!(
            KeySpec::parse(Some(kind), Some(bits)).is_err(),
            "{kind} {bits}"
        );
    }
    assert_eq!(
        parse_validity("2048h"),
        Ok(Duration::from_secs(2048 * 3600))
    );
    assert_eq!(parse_validity("1h30m"), Ok(Duration::from_secs(5400)));
    assert_eq!(parse_validity("90s"), Ok(Duration::from_secs(90)));
    for bad in [
        "",
        "h",
        "10",
        "10d",
        "30s",
        "87601h",
        "-1h",
        "99999999999999999999h",
    ] {
        assert!(parse_validity(bad).is_err(), "{bad:?}");
    }
    assert!(is_serial("00ff"));
    assert!(!is_serial("00FF") && !is_serial("") && !is_serial(&"a".repeat(41)));
}

fn command() -> impl Strategy<Value = CertCommand> {
    let serial = prop::sample::select(vec!["01", "02", "03", "04"]);
    let actor = prop::sample::select(vec![ALICE, BOB]);
    prop_oneof![
        (actor.clone(), serial.clone()).prop_map(|(a, s)| issue(a, s)),
        (actor, serial, 0i64..100).prop_map(|(a, s, t)| revoke(a, s, t)),
    ]
}

proptest! {
    /// Any sequence keeps the invariants (only the owner's commands count, a serial is
    /// issued once, only issued serials are revoked, once), and the fold of the events is
    /// the live state.
    #[test]
    fn any_command_sequence_keeps_invariants_and_replays(
        commands in prop::collection::vec(command(), 0..40),
    ) {
        let thing = thing_of(ALICE);
        let mut state = CertsState::default();
        let mut history = Vec::new();
        for command in &commands {
            let events = decide(&thing, &state, command).unwrap_or_default();
            if let CertCommand::Issue { actor: BOB, .. } | CertCommand::Revoke { actor: BOB, .. } = command {
                prop_assert!(events.is_empty());
            }
            for event in &events {
                state = apply(state, event);
            }
            history.extend(events);
        }
        let issued: Vec<&str> = history.iter().filter_map(|e| match e {
            Event::CertIssued { serial, .. } => Some(serial.as_str()),
            _ => None,
        }).collect();
        let revoked: Vec<&str> = history.iter().filter_map(|e| match e {
            Event::CertRevoked { serial, .. } => Some(serial.as_str()),
            _ => None,
        }).collect();
        let unique = |v: &[&str]| v.iter().collect::<std::collections::BTreeSet<_>>().len() == v.len();
        prop_assert!(unique(&issued) && unique(&revoked));
        prop_assert!(revoked.iter().all(|s| issued.contains(s)));
        prop_assert_eq!(history.iter().fold(CertsState::default(), apply), state);
    }
}
