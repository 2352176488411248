//! The applying cases: removals, updates, checkpoints, concurrent appliers, and random
//! histories compared with the in-memory views as the reference.

use std::sync::Arc;

use domain::Event;
use serde_json::json;

use super::ViewsFactory;
use super::cases::{applied, ns, query};
use super::history::{History, channel, metadata, thing, user};
use crate::Projection;
use crate::views::{Dir, Order, PageQuery, ViewStore, Views};

pub async fn removal_drops_connections_in_any_order(factory: &dyn ViewsFactory) {
    let store = factory.open().await;
    let mut h = History::default();
    for n in 1..=4 {
        h.thing(user(1), thing(n), None);
        h.channel(user(1), channel(n), None);
        h.connect(channel(n), thing(n));
        h.connect(channel(n), thing(5 - n));
    }
    store.apply_batch(&h.events).await.unwrap();
    // Thing then channel across batches; channel then thing in one batch; a connect to a
    // removed end afterwards is ignored.
    h.push(Event::ThingRemoved { id: thing(1) });
    store.apply_batch(&h.events).await.unwrap();
    h.push(Event::ChannelRemoved { id: channel(1) });
    h.push(Event::ChannelRemoved { id: channel(2) });
    h.push(Event::ThingRemoved { id: thing(2) });
    h.connect(channel(3), thing(2));
    h.connect(channel(2), thing(3));
    store.apply_batch(&h.events).await.unwrap();
    let asc = PageQuery {
        dir: Dir::Asc,
        ..query()
    };
    for n in [1, 2] {
        assert!(store.thing(user(1), thing(n)).await.unwrap().is_none());
        assert!(store.channel(user(1), channel(n)).await.unwrap().is_none());
        assert!(
            store
                .channels_of_thing(user(1), thing(n), &asc)
                .await
                .unwrap()
                .is_none()
        );
    }
    let of3 = store
        .channels_of_thing(user(1), thing(3), &asc)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(ns(&of3), vec![3]);
    let of_c3 = store
        .things_of_channel(user(1), channel(3), &asc)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(ns(&of_c3), vec![3]);
    let of_c4 = store
        .things_of_channel(user(1), channel(4), &asc)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(ns(&of_c4), vec![4]);
    assert_eq!(store.things(user(1), &asc).await.unwrap().total, 2);
    assert_same_as_memory(store.as_ref(), &h).await;
}

pub async fn updates_change_rows(factory: &dyn ViewsFactory) {
    let store = factory.open().await;
    let mut h = History::default();
    h.thing(user(1), thing(1), Some("old"));
    h.channel(user(1), channel(1), Some("old"));
    h.thing(user(1), thing(2), Some("old"));
    store.apply_batch(&h.events).await.unwrap();
    // Updates of rows stored earlier, and of a row created in the same batch.
    let renamed = |id, name: &str| Event::ThingUpdated {
        id,
        name: Some(name.into()),
        metadata: Some(metadata(json!({"v": name}))),
    };
    h.push(renamed(thing(1), "new"));
    h.rekey(thing(1), 42);
    h.push(Event::ChannelUpdated {
        id: channel(1),
        name: None,
        metadata: None,
    });
    h.thing(user(1), thing(3), Some("fresh"));
    h.push(renamed(thing(3), "fresher"));
    h.rekey(thing(3), 43);
    h.push(renamed(thing(9), "never created"));
    store.apply_batch(&h.events).await.unwrap();
    let one = store.thing(user(1), thing(1)).await.unwrap().unwrap();
    assert_eq!(one.name.as_deref(), Some("new"));
    assert_eq!(one.metadata, Some(metadata(json!({"v": "new"}))));
    assert_eq!(
        (one.key_hash.0[0], one.sealed_key.0.as_str()),
        (42, "sealed-42")
    );
    let three = store.thing(user(1), thing(3)).await.unwrap().unwrap();
    assert_eq!(
        (three.name.as_deref(), three.key_hash.0[0]),
        (Some("fresher"), 43)
    );
    let c = store.channel(user(1), channel(1)).await.unwrap().unwrap();
    assert_eq!((c.name, c.metadata), (None, None));
    assert!(store.thing(user(1), thing(9)).await.unwrap().is_none());
    assert_same_as_memory(store.as_ref(), &h).await;
}

pub async fn checkpoint_is_monotonic(factory: &dyn ViewsFactory) {
    let store = factory.open().await;
    assert_eq!(store.checkpoint().await.unwrap(), 0);
    let mut h = History::default();
    for n in 1..=10 {
        h.thing(user(1), thing(n), None);
    }
    assert_eq!(store.apply_batch(&h.events[..4]).await.unwrap(), 4);
    assert_eq!(store.apply_batch(&h.events).await.unwrap(), 10);
    assert_eq!(store.apply_batch(&h.events[..5]).await.unwrap(), 10);
    assert_eq!(store.apply_batch(&[]).await.unwrap(), 10);
    assert_eq!(store.checkpoint().await.unwrap(), 10);
    assert_eq!(factory.open().await.checkpoint().await.unwrap(), 10);
}

pub async fn reapplying_an_applied_event_is_a_noop(factory: &dyn ViewsFactory) {
    let mut h = History::default();
    h.thing(user(1), thing(1), Some("t"));
    h.channel(user(1), channel(1), None);
    h.connect(channel(1), thing(1));
    h.disconnect(channel(1), thing(1));
    h.push(Event::ThingRemoved { id: thing(1) });
    let store = applied(factory, &h).await;
    for (i, _) in h.events.iter().enumerate() {
        store.apply_batch(&h.events[i..=i]).await.unwrap();
    }
    assert!(store.thing(user(1), thing(1)).await.unwrap().is_none());
    let of = store
        .things_of_channel(user(1), channel(1), &query())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(of.total, 0);
    assert_eq!(store.checkpoint().await.unwrap(), 5);
}

/// Two handles (two nodes) apply the same history at once, in different batch sizes.
/// Create-then-remove pairs would resurrect a row if either applied an event twice.
pub async fn two_appliers_apply_each_event_once(factory: &dyn ViewsFactory) {
    let mut h = History::default();
    for n in 1..=60 {
        h.thing(user(1), thing(n), None);
        h.channel(user(1), channel(n), None);
        h.connect(channel(n), thing(n));
        if n % 2 == 0 {
            h.push(Event::ThingRemoved { id: thing(n) });
            h.connect(channel(n), thing(n));
        }
    }
    let (a, b) = (factory.open().await, factory.open().await);
    let events = Arc::new(h.events.clone());
    let run = |store: Arc<dyn ViewStore>, size: usize| {
        let events = events.clone();
        tokio::spawn(async move {
            for chunk in events.chunks(size) {
                store.apply_batch(chunk).await.expect("apply");
            }
        })
    };
    let (ra, rb) = (run(a.clone(), 7), run(b.clone(), 3));
    ra.await.unwrap();
    rb.await.unwrap();
    assert_eq!(a.checkpoint().await.unwrap(), h.last());
    assert_eq!(b.checkpoint().await.unwrap(), h.last());
    assert_eq!(a.things(user(1), &query()).await.unwrap().total, 30);
    assert_same_as_memory(b.as_ref(), &h).await;
}

/// Random histories, applied in random batches, answer every query as the in-memory
/// views do after applying the same events one by one.
pub async fn random_histories_answer_as_memory(factory: &dyn ViewsFactory) {
    let mut rng = 0x9e37_79b9_7f4a_7c15_u64;
    let mut next = move |n: u64| {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng % n
    };
    let store = factory.open().await;
    let mut h = History::default();
    let names = [None, Some("a"), Some("B"), Some("ab"), Some("x_y")];
    // Ids are created at most once, as the domain guarantees; everything else may come
    // in any order (updates of unknown ids, connects to removed ends, …).
    let (mut things, mut channels) = (
        std::collections::HashSet::new(),
        std::collections::HashSet::new(),
    );
    let (mut made_channels, mut configs) = (Vec::new(), std::collections::HashSet::new());
    for _ in 0..400 {
        let (owner, t, c) = (
            user(next(3) as u128),
            thing(next(12) as u128),
            channel(next(12) as u128),
        );
        let name = names[next(5) as usize];
        let meta = Some(metadata(json!({"k": next(3)})));
        // Configs name only channels made before them, as the command layer checks.
        let listed: Vec<_> = (0..next(6))
            .filter_map(|_| made_channels.get(next(made_channels.len().max(1) as u64) as usize))
            .copied()
            .collect();
        match next(14) {
            0 if things.insert(t) => h.thing_with(owner, t, name, meta),
            1 if channels.insert(c) => {
                made_channels.push(c);
                h.channel_with(owner, c, name, meta)
            }
            0 | 1 => 0,
            9 if things.contains(&t) && configs.insert(t) => {
                h.config(owner, t, &format!("ext-{}", t.0.as_u128() & 0xff), &listed)
            }
            9 => 0,
            10 => h.push(Event::ThingConnectionsUpdated {
                thing_id: t,
                channels: listed,
            }),
            11 => h.push(Event::ConfigUpdated {
                thing_id: t,
                name: name.map(str::to_owned),
                content: None,
            }),
            13 => h.fetch(&format!("ext-{}", next(14)), next(2) == 0),
            12 => h.push(match next(3) {
                0 => Event::ConfigRemoved { thing_id: t },
                n => Event::ThingStateChanged {
                    thing_id: t,
                    state: domain::config::Activation::try_from(n as u8 - 1).expect("0 or 1"),
                },
            }),
            2 | 3 => h.connect(c, t),
            4 => h.disconnect(c, t),
            5 => h.push(Event::ThingUpdated {
                id: t,
                name: name.map(str::to_owned),
                metadata: meta,
            }),
            6 => h.push(Event::ChannelUpdated {
                id: c,
                name: name.map(str::to_owned),
                metadata: meta,
            }),
            // Removals rarer than the rest, so that configs live long enough to
            // gather channels and see some removed.
            7 if next(6) == 0 => h.push(Event::ThingRemoved { id: t }),
            8 if next(2) == 0 => h.push(Event::ChannelRemoved { id: c }),
            _ => h.connect(c, t),
        };
    }
    let mut start = 0;
    while start < h.events.len() {
        let end = (start + 1 + next(40) as usize).min(h.events.len());
        store.apply_batch(&h.events[start..end]).await.unwrap();
        start = end;
    }
    assert_same_as_memory(store.as_ref(), &h).await;
    let dump = store.dump().await.unwrap();
    assert!(
        dump.configs
            .iter()
            .filter(|c| !c.channels.is_empty())
            .count()
            > 1,
        "the history leaves configs with channels"
    );
    assert!(
        dump.unknown.iter().any(|d| d.attempts > 1),
        "and unknown devices seen more than once"
    );
}

/// Compares every list and lookup for three owners and twelve ids of each kind.
pub async fn assert_same_as_memory(store: &dyn ViewStore, h: &History) {
    let memory = Views::default();
    for (recorded, event) in &h.events {
        Projection::apply(&memory, recorded, event);
    }
    let m: &dyn ViewStore = &memory;
    assert_eq!(
        store.dump().await.unwrap(),
        memory.dump(),
        "every row and edge"
    );
    let queries = [
        query(),
        PageQuery {
            order: Order::Name,
            dir: Dir::Asc,
            offset: 1,
            limit: 3,
            ..query()
        },
        PageQuery {
            name: Some("a".into()),
            connected: false,
            ..query()
        },
        PageQuery {
            metadata: json!({"k": 1}).as_object().cloned(),
            order: Order::Name,
            ..query()
        },
    ];
    super::config_cases::assert_configs_as_memory(store, m).await;
    for owner in (0..3).map(user) {
        assert_eq!(
            store.user(owner).await.unwrap(),
            m.user(owner).await.unwrap()
        );
        for q in &queries {
            assert_eq!(
                store.things(owner, q).await.unwrap(),
                m.things(owner, q).await.unwrap(),
                "{q:?}"
            );
            assert_eq!(
                store.channels(owner, q).await.unwrap(),
                m.channels(owner, q).await.unwrap(),
                "{q:?}"
            );
            for n in 0..12 {
                let (t, c) = (thing(n), channel(n));
                assert_eq!(
                    store.thing(owner, t).await.unwrap(),
                    m.thing(owner, t).await.unwrap()
                );
                assert_eq!(
                    store.channel(owner, c).await.unwrap(),
                    m.channel(owner, c).await.unwrap()
                );
                let (got, want) = (
                    store.things_of_channel(owner, c, q).await.unwrap(),
                    m.things_of_channel(owner, c, q).await.unwrap(),
                );
                assert_eq!(got, want, "things of {n} {q:?}");
                let (got, want) = (
                    store.channels_of_thing(owner, t, q).await.unwrap(),
                    m.channels_of_thing(owner, t, q).await.unwrap(),
                );
                assert_eq!(got, want, "channels of {n} {q:?}");
            }
        }
    }
}
