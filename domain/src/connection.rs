//! The one rule over two aggregates: a thing connects to a channel of the same owner.
//!
//! One decision reads both states; the event is appended to the channel's stream only, so
//! the channel's version guards "already connected". A concurrent `thing.remove` is not
//! ordered against it; `graph::Connections` therefore ignores a connection to a removed end,
//! whatever order the two events reach it in.

use crate::DomainError;
use crate::channel::ChannelState;
use crate::event::Event;
use crate::ids::UserId;
use crate::thing::ThingState;

pub fn decide_connect(
    thing: &ThingState,
    channel: &ChannelState,
    actor: UserId,
) -> Result<Vec<Event>, DomainError> {
    let thing = thing.owned_by(actor)?;
    let channel = channel.owned_by(actor)?;
    if channel.things.contains(&thing.id) {
        return Err(DomainError::Conflict("thing is already connected".into()));
    }
    Ok(vec![Event::ThingConnected {
        channel_id: channel.id,
        thing_id: thing.id,
    }])
}

pub fn decide_disconnect(
    thing: &ThingState,
    channel: &ChannelState,
    actor: UserId,
) -> Result<Vec<Event>, DomainError> {
    let thing = thing.owned_by(actor)?;
    let channel = channel.owned_by(actor)?;
    if !channel.things.contains(&thing.id) {
        return Err(DomainError::NotFound);
    }
    Ok(vec![Event::ThingDisconnected {
        channel_id: channel.id,
        thing_id: thing.id,
    }])
}

#[cfg(test)]
mod tests {
    use uuid::Uuid;

    use super::*;
    use crate::channel::{self, ChannelCommand};
    use crate::ids::{ChannelId, KeyHash, KeyMaterial, SealedKey, ThingId};
    use crate::thing::{self, ThingCommand};

    const ALICE: UserId = UserId(Uuid::from_u128(1));
    const BOB: UserId = UserId(Uuid::from_u128(2));

    fn thing_of(owner: UserId) -> ThingState {
        let create = ThingCommand::Create {
            id: ThingId(Uuid::from_u128(10)),
            owner,
            name: None,
            metadata: None,
            key: KeyMaterial {
                key_hash: KeyHash([1; 32]),
                sealed_key: SealedKey("s".into()),
            },
        };
        thing::decide(&ThingState::New, &create)
            .unwrap()
            .iter()
            .fold(ThingState::New, thing::apply)
    }

    fn channel_of(owner: UserId) -> ChannelState {
        let create = ChannelCommand::Create {
            id: ChannelId(Uuid::from_u128(20)),
            owner,
            name: None,
            metadata: None,
        };
        channel::decide(&ChannelState::New, &create)
            .unwrap()
            .iter()
            .fold(ChannelState::New, channel::apply)
    }

    #[test]
    fn connection_rules_as_a_table() {
        let cases = [
            // (thing owner, channel owner, actor, expected)
            (ALICE, ALICE, ALICE, Ok(1)),
            (ALICE, BOB, ALICE, Err(DomainError::NotFound)),
            (BOB, ALICE, ALICE, Err(DomainError::NotFound)),
            (ALICE, ALICE, BOB, Err(DomainError::NotFound)),
        ];
        for (thing_owner, channel_owner, actor, expected) in cases {
            let got = decide_connect(&thing_of(thing_owner), &channel_of(channel_owner), actor);
            assert_eq!(got.map(|events| events.len()), expected);
        }
    }

    #[test]
    fn given_connected_pair_then_connect_conflicts_and_disconnect_works_once() {
        let thing = thing_of(ALICE);
        let events = decide_connect(&thing, &channel_of(ALICE), ALICE).unwrap();
        let channel = events.iter().fold(channel_of(ALICE), channel::apply);
        assert!(matches!(
            decide_connect(&thing, &channel, ALICE),
            Err(DomainError::Conflict(_))
        ));
        let events = decide_disconnect(&thing, &channel, ALICE).unwrap();
        let channel = events.iter().fold(channel, channel::apply);
        assert_eq!(
            decide_disconnect(&thing, &channel, ALICE),
            Err(DomainError::NotFound)
        );
    }
}
