use domain::envelope::PendingEvent;
use domain::ids::SealedKey;
use uuid::Uuid;

use super::*;

const ALICE: UserId = UserId(Uuid::from_u128(1));
const THING: ThingId = ThingId(Uuid::from_u128(10));

fn at(seconds: i64) -> OffsetDateTime {
    OffsetDateTime::UNIX_EPOCH + time::Duration::seconds(1_700_000_000 + seconds)
}

fn recorded(event: &Event, position: u64) -> RecordedEvent {
    let pending = PendingEvent {
        id: Uuid::now_v7(),
        kind: event.kind().into(),
        schema: domain::event::SCHEMA_VERSION,
        occurred_at: at(position as i64),
        actor: None,
        correlation_id: Uuid::nil(),
        data: event.data(),
    };
    RecordedEvent::record(pending, "s-1", 1, position)
}

fn issued(serial: &str) -> Event {
    Event::CertIssued {
        thing_id: THING,
        owner: ALICE,
        serial: serial.into(),
        cert: "pem".into(),
        private_key: SealedKey("sealed".into()),
        key_type: "ecdsa".into(),
        key_bits: 256,
        expires_at: at(1000),
    }
}

fn fold(events: &[Event]) -> CertRegistry {
    let registry = CertRegistry::default();
    for (n, event) in events.iter().enumerate() {
        registry.apply(&recorded(event, n as u64 + 1), event);
    }
    registry
}

#[test]
fn revoked_serials_are_revoked_and_listed_in_issue_order() {
    let registry = fold(&[
        issued("0b"),
        issued("0a"),
        Event::CertRevoked {
            thing_id: THING,
            serial: "0a".into(),
            revoked_at: at(50),
        },
    ]);
    assert!(registry.is_revoked("0a"));
    assert!(!registry.is_revoked("0b") && !registry.is_revoked("ff"));
    let page = registry.list(THING, 0, 10);
    assert_eq!(page.total, 2);
    let serials: Vec<&str> = page.items.iter().map(|c| c.serial.as_str()).collect();
    assert_eq!(serials, ["0b", "0a"]);
    assert_eq!(registry.list(THING, 1, 10).items.len(), 1);
    assert_eq!(registry.revoked().len(), 1);
    assert_eq!(registry.revoked()[0].revoked_at, Some(at(50)));
}

#[test]
fn removing_the_thing_revokes_its_certificates_whichever_event_comes_first() {
    let removed = Event::ThingRemoved { id: THING };
    let before = fold(&[issued("0a"), removed.clone()]);
    let after = fold(&[removed, issued("0a")]);
    assert!(before.is_revoked("0a"));
    assert!(after.is_revoked("0a"));
}

#[test]
fn a_redelivered_event_changes_nothing() {
    let registry = fold(&[issued("0a")]);
    let digest = registry.digest();
    registry.apply(&recorded(&issued("0a"), 1), &issued("0a"));
    assert_eq!(registry.digest(), digest);
    assert_eq!(registry.list(THING, 0, 10).total, 1);
}
