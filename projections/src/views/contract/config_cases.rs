//! Bootstrap configs: the owner's list with its filters, the device's lookup, and how
//! thing and channel removals reach a config whatever the order.

use domain::Event;
use domain::config::Activation;

use super::ViewsFactory;
use super::cases::applied;
use super::history::{History, channel, thing, user};
use crate::views::{ConfigQuery, ConfigRow, Page, QueryViews};

fn all() -> ConfigQuery {
    ConfigQuery {
        limit: 100,
        ..ConfigQuery::default()
    }
}

/// The `n` of each config's thing, in page order.
fn things_of(page: &Page<ConfigRow>) -> Vec<u128> {
    page.items
        .iter()
        .map(|r| r.config.thing_id.0.as_u128() & 0xfff_ffff)
        .collect()
}

pub async fn configs_list_filters_and_device_lookup(factory: &dyn ViewsFactory) {
    let (alice, bob) = (user(1), user(2));
    let mut h = History::default();
    for n in 1..=4 {
        h.thing(alice, thing(n), None);
    }
    h.thing(bob, thing(9), None);
    h.channel(alice, channel(1), None);
    h.channel(alice, channel(2), None);
    h.config(alice, thing(3), "ext-c", &[channel(2), channel(1)]);
    h.config(alice, thing(1), "ext-a", &[channel(1)]);
    h.config(alice, thing(2), "ext-b", &[]);
    h.config(bob, thing(9), "ext-z", &[]);
    h.push(Event::ThingStateChanged {
        thing_id: thing(2),
        state: Activation::Active,
    });
    h.push(Event::ConfigUpdated {
        thing_id: thing(1),
        name: Some("Boiler ROOM".into()),
        content: Some("v2".into()),
    });
    let v = applied(factory, &h).await;

    let page = v.configs(alice, &all()).await.unwrap();
    assert_eq!(
        (page.total, things_of(&page)),
        (3, vec![1, 2, 3]),
        "thing-id order"
    );
    let third = &page.items[2];
    assert_eq!(
        third.config.channels,
        vec![channel(2), channel(1)],
        "order kept"
    );
    let things = v.thing(alice, thing(3)).await.unwrap().expect("thing 3");
    assert_eq!(
        third.thing_key, things.sealed_key,
        "the thing's key joined in"
    );
    let first = &page.items[0].config;
    assert_eq!(first.name.as_deref(), Some("Boiler ROOM"));
    assert_eq!(first.content.as_deref(), Some("v2"));

    let cases: [(ConfigQuery, Vec<u128>); 6] = [
        (
            ConfigQuery {
                state: Some(Activation::Active),
                ..all()
            },
            vec![2],
        ),
        (
            ConfigQuery {
                state: Some(Activation::Inactive),
                ..all()
            },
            vec![1, 3],
        ),
        (
            ConfigQuery {
                external_id: Some("ext-c".into()),
                ..all()
            },
            vec![3],
        ),
        (
            ConfigQuery {
                thing_id: Some(thing(1)),
                ..all()
            },
            vec![1],
        ),
        (
            ConfigQuery {
                name: Some("room".into()),
                ..all()
            },
            vec![1],
        ),
        (
            ConfigQuery {
                external_id: Some("ext-z".into()),
                ..all()
            },
            vec![],
        ),
    ];
    for (query, want) in cases {
        let page = v.configs(alice, &query).await.unwrap();
        assert_eq!(things_of(&page), want, "{query:?}");
        assert_eq!(page.total, want.len() as u64, "{query:?}");
    }
    let paged = ConfigQuery {
        offset: 1,
        limit: 1,
        ..all()
    };
    let page = v.configs(alice, &paged).await.unwrap();
    assert_eq!((page.total, things_of(&page)), (3, vec![2]));
    let past = ConfigQuery { offset: 7, ..all() };
    assert_eq!(
        v.configs(alice, &past).await.unwrap().total,
        3,
        "total past the end"
    );
    assert_eq!(things_of(&v.configs(bob, &all()).await.unwrap()), vec![9]);

    let found = v
        .config_by_external_id("ext-b")
        .await
        .unwrap()
        .expect("ext-b");
    assert_eq!(
        (found.config.thing_id, found.config.owner),
        (thing(2), alice)
    );
    assert_eq!(found.config.state, Activation::Active);
    assert!(v.config_by_external_id("ext-B").await.unwrap().is_none());
    assert!(v.config_by_external_id("nobody").await.unwrap().is_none());
}

pub async fn configs_follow_removals_in_any_order(factory: &dyn ViewsFactory) {
    let alice = user(1);
    let mut h = History::default();
    for n in 1..=3 {
        h.thing(alice, thing(n), None);
        h.channel(alice, channel(n), None);
    }
    h.config(
        alice,
        thing(1),
        "ext-1",
        &[channel(1), channel(2), channel(3)],
    );
    // Removed after its config: the config goes with it.
    h.push(Event::ThingRemoved { id: thing(1) });
    // Removed before a (stray) config names it: never listed.
    h.push(Event::ChannelRemoved { id: channel(2) });
    h.config(alice, thing(2), "ext-2", &[channel(2), channel(3)]);
    h.push(Event::ChannelRemoved { id: channel(3) });
    h.push(Event::ThingRemoved { id: thing(3) });
    h.config(alice, thing(3), "ext-3", &[]);
    h.config(alice, thing(2), "ext-dup", &[channel(1)]);
    let v = applied(factory, &h).await;
    let page = v.configs(alice, &all()).await.unwrap();
    assert_eq!(things_of(&page), vec![2], "thing 1 and 3 removed");
    assert!(
        page.items[0].config.channels.is_empty(),
        "channels 2 and 3 removed"
    );
    assert_eq!(
        page.items[0].config.external_id, "ext-2",
        "the first create wins"
    );
    assert!(v.config_by_external_id("ext-1").await.unwrap().is_none());

    h.push(Event::ThingConnectionsUpdated {
        thing_id: thing(2),
        channels: vec![channel(3), channel(1), channel(2)],
    });
    v.apply_batch(&h.events).await.unwrap();
    let page = v.configs(alice, &all()).await.unwrap();
    assert_eq!(
        page.items[0].config.channels,
        vec![channel(1)],
        "only live ones"
    );

    h.push(Event::ConfigRemoved { thing_id: thing(2) });
    v.apply_batch(&h.events).await.unwrap();
    assert_eq!(v.configs(alice, &all()).await.unwrap().total, 0);
    assert!(v.config_by_external_id("ext-2").await.unwrap().is_none());
}

pub async fn unknown_devices_are_listed_until_provisioned(factory: &dyn ViewsFactory) {
    let alice = user(1);
    let mut h = History::default();
    h.thing(alice, thing(1), None);
    h.fetch("dev-a", true);
    h.fetch("dev-b", true);
    h.fetch("dev-known", false);
    h.fetch("dev-a", true);
    h.fetch("Dev-C", true);
    let v = applied(factory, &h).await;
    let page = v.unknown_devices(0, 10).await.unwrap();
    let listed: Vec<(&str, u64)> = page
        .items
        .iter()
        .map(|d| (d.external_id.as_str(), d.attempts))
        .collect();
    assert_eq!(
        listed,
        [("Dev-C", 1), ("dev-a", 2), ("dev-b", 1)],
        "newest first"
    );
    assert_eq!(page.total, 3);
    let second = v.unknown_devices(1, 1).await.unwrap();
    assert_eq!(
        (second.total, second.items[0].external_id.as_str()),
        (3, "dev-a")
    );

    h.config(alice, thing(1), "dev-a", &[]);
    v.apply_batch(&h.events).await.unwrap();
    let page = v.unknown_devices(0, 10).await.unwrap();
    let ids: Vec<&str> = page.items.iter().map(|d| d.external_id.as_str()).collect();
    assert_eq!(ids, ["Dev-C", "dev-b"], "a config provisions the id");
}

/// Every config query of the random-history case, against the in-memory answer.
pub async fn assert_configs_as_memory(store: &dyn QueryViews, memory: &dyn QueryViews) {
    let queries = [
        all(),
        ConfigQuery {
            offset: 1,
            limit: 2,
            ..all()
        },
        ConfigQuery {
            state: Some(Activation::Active),
            name: Some("a".into()),
            ..all()
        },
    ];
    for owner in (0..3).map(user) {
        for q in &queries {
            assert_eq!(
                store.configs(owner, q).await.unwrap(),
                memory.configs(owner, q).await.unwrap(),
                "{q:?}"
            );
        }
    }
    for (offset, limit) in [(0, 100), (1, 2)] {
        assert_eq!(
            store.unknown_devices(offset, limit).await.unwrap(),
            memory.unknown_devices(offset, limit).await.unwrap()
        );
    }
    for n in 0..12 {
        let external_id = format!("ext-{}", thing(n).0.as_u128() & 0xff);
        assert_eq!(
            store.config_by_external_id(&external_id).await.unwrap(),
            memory.config_by_external_id(&external_id).await.unwrap(),
            "{external_id}"
        );
    }
}
