use proptest::prelude::*;
use uuid::Uuid;

use super::*;
use crate::channel::{self, ChannelState};
use crate::connection::{decide_connect, decide_disconnect};
use crate::ids::{KeyHash, KeyMaterial, SealedKey, UserId};
use crate::thing::{self, ThingState};

const OWNER: UserId = UserId(Uuid::from_u128(1));

fn thing_id(i: u8) -> ThingId {
    ThingId(Uuid::from_u128(100 + u128::from(i)))
}

fn channel_id(i: u8) -> ChannelId {
    ChannelId(Uuid::from_u128(200 + u128::from(i)))
}

/// Any event over a small id space, so that orders collide often.
fn event() -> impl Strategy<Value = Event> {
    let t = (0u8..3).prop_map(thing_id);
    let c = (0u8..3).prop_map(channel_id);
    prop_oneof![
        t.clone().prop_map(|id| Event::ThingCreated {
            id,
            owner: OWNER,
            name: None,
            metadata: None,
            key: KeyMaterial {
                key_hash: KeyHash([0; 32]),
                sealed_key: SealedKey(String::new())
            },
        }),
        c.clone().prop_map(|id| Event::ChannelCreated {
            id,
            owner: OWNER,
            name: None,
            metadata: None
        }),
        t.clone().prop_map(|id| Event::ThingRemoved { id }),
        c.clone().prop_map(|id| Event::ChannelRemoved { id }),
        (c.clone(), t.clone()).prop_map(|(channel_id, thing_id)| Event::ThingConnected {
            channel_id,
            thing_id
        }),
        (c, t).prop_map(|(channel_id, thing_id)| Event::ThingDisconnected {
            channel_id,
            thing_id
        }),
    ]
}

proptest! {
    /// Safety in any order: no edge touches an end that was removed or never created.
    #[test]
    fn no_edge_outlives_a_removed_end_in_any_event_order(events in prop::collection::vec(event(), 0..60)) {
        let mut graph = Connections::default();
        for event in &events {
            graph.apply(event);
        }
        for (channel, thing) in graph.edges() {
            let created = events.contains(&Event::ChannelCreated { id: channel, owner: OWNER, name: None, metadata: None })
                && events.iter().any(|e| matches!(e, Event::ThingCreated { id, .. } if *id == thing));
            let removed = events.contains(&Event::ChannelRemoved { id: channel })
                || events.contains(&Event::ThingRemoved { id: thing });
            prop_assert!(created && !removed, "dangling edge {channel} -> {thing}");
        }
    }

    /// Concurrent commands: a connect decided on a stale thing state (the thing stream is not
    /// version-checked) can land after that thing's removal; the graph must still drop it.
    #[test]
    fn concurrent_commands_never_leave_a_dangling_connection(
        ops in prop::collection::vec((0u8..6, 0u8..3, 0u8..3, 0usize..8), 0..60)
    ) {
        let mut log: Vec<Event> = Vec::new();
        let fold_thing = |log: &[Event], i: u8| log.iter().filter(|e| touches_thing(e, thing_id(i))).fold(ThingState::New, thing::apply);
        let fold_channel = |log: &[Event], j: u8| log.iter().filter(|e| touches_channel(e, channel_id(j))).fold(ChannelState::New, channel::apply);
        for (op, i, j, staleness) in ops {
            let stale = &log[..log.len().saturating_sub(staleness)];
            let decided = match op {
                0 => thing::decide(&fold_thing(&log, i), &thing::ThingCommand::Create {
                    id: thing_id(i), owner: OWNER, name: None, metadata: None,
                    key: KeyMaterial { key_hash: KeyHash([i; 32]), sealed_key: SealedKey(String::new()) },
                }),
                1 => channel::decide(&fold_channel(&log, j), &channel::ChannelCommand::Create {
                    id: channel_id(j), owner: OWNER, name: None, metadata: None,
                }),
                2 => thing::decide(&fold_thing(&log, i), &thing::ThingCommand::Remove { actor: OWNER }),
                3 => channel::decide(&fold_channel(&log, j), &channel::ChannelCommand::Remove { actor: OWNER }),
                4 => decide_connect(&fold_thing(stale, i), &fold_channel(&log, j), OWNER),
                _ => decide_disconnect(&fold_thing(stale, i), &fold_channel(&log, j), OWNER),
            };
            log.extend(decided.unwrap_or_default());
        }
        let mut graph = Connections::default();
        for event in &log {
            graph.apply(event);
        }
        for (channel, thing) in graph.edges() {
            let removed = log.contains(&Event::ThingRemoved { id: thing })
                || log.contains(&Event::ChannelRemoved { id: channel });
            prop_assert!(!removed, "edge {channel} -> {thing} outlived a removal");
            let last = log.iter().rev().find(|e| matches!(e,
                Event::ThingConnected { channel_id, thing_id } | Event::ThingDisconnected { channel_id, thing_id }
                    if *channel_id == channel && *thing_id == thing));
            let connected_last = matches!(last, Some(Event::ThingConnected { .. }));
            prop_assert!(connected_last, "edge {channel} -> {thing} was disconnected");
        }
    }
}

fn touches_thing(event: &Event, thing: ThingId) -> bool {
    matches!(event,
        Event::ThingCreated { id, .. } | Event::ThingUpdated { id, .. }
        | Event::ThingKeyUpdated { id, .. } | Event::ThingRemoved { id } if *id == thing)
}

fn touches_channel(event: &Event, channel: ChannelId) -> bool {
    matches!(event,
        Event::ChannelCreated { id, .. } | Event::ChannelUpdated { id, .. } | Event::ChannelRemoved { id } if *id == channel)
        || matches!(event,
        Event::ThingConnected { channel_id, .. } | Event::ThingDisconnected { channel_id, .. } if *channel_id == channel)
}
