//! The order-sensitive folds, as a table of event sequences and their net effect.

use domain::Event;

use super::{Delta, Net};
use crate::views::contract::{History, channel, thing, user};

fn fold(build: impl FnOnce(&mut History)) -> Delta {
    let mut h = History::default();
    build(&mut h);
    let mut delta = Delta::default();
    for (recorded, event) in &h.events {
        delta.fold(recorded.position, event);
    }
    delta
}

#[test]
fn updates_fold_into_a_row_created_in_the_batch() {
    let d = fold(|h| {
        h.thing(user(1), thing(1), Some("a"));
        h.push(Event::ThingUpdated {
            id: thing(1),
            name: Some("b".into()),
            metadata: None,
        });
        h.rekey(thing(1), 7);
    });
    let Some(Net::Upsert(row)) = d.things.get(&thing(1)) else {
        panic!("{d:?}")
    };
    assert_eq!((row.name.as_deref(), row.key_hash.0[0]), (Some("b"), 7));
}

#[test]
fn updates_of_earlier_rows_are_patches() {
    let d = fold(|h| {
        h.push(Event::ThingUpdated {
            id: thing(1),
            name: None,
            metadata: None,
        });
        h.push(Event::ChannelUpdated {
            id: channel(1),
            name: Some("c".into()),
            metadata: None,
        });
    });
    let Some(Net::Patch(patch)) = d.things.get(&thing(1)) else {
        panic!("{d:?}")
    };
    assert_eq!(
        (patch.info.clone(), patch.key.clone()),
        (Some((None, None)), None)
    );
    assert_eq!(
        d.channels.get(&channel(1)),
        Some(&Net::Patch(Some((Some("c".into()), None))))
    );
}

#[test]
fn a_removal_deletes_drops_edges_and_ignores_later_connects_and_updates() {
    let d = fold(|h| {
        h.thing(user(1), thing(1), None);
        h.connect(channel(1), thing(1));
        h.connect(channel(2), thing(2));
        h.push(Event::ThingRemoved { id: thing(1) });
        h.push(Event::ThingUpdated {
            id: thing(1),
            name: None,
            metadata: None,
        });
        h.connect(channel(3), thing(1));
        h.push(Event::ChannelRemoved { id: channel(2) });
    });
    assert_eq!(d.things.get(&thing(1)), Some(&Net::Delete));
    assert!(d.removed_things.contains(&thing(1)) && d.removed_channels.contains(&channel(2)));
    assert!(d.edges.is_empty(), "{:?}", d.edges);
}

#[test]
fn the_last_connect_or_disconnect_of_an_edge_wins() {
    let d = fold(|h| {
        h.connect(channel(1), thing(1));
        h.disconnect(channel(1), thing(1));
        h.disconnect(channel(2), thing(2));
        h.connect(channel(2), thing(2));
    });
    assert_eq!(d.edges.get(&(channel(1), thing(1))), Some(&false));
    assert_eq!(d.edges.get(&(channel(2), thing(2))), Some(&true));
}
