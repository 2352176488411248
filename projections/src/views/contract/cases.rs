//! The query cases: paging, filters, order, owner isolation, connections.

use domain::Event;
use serde_json::json;

use super::ViewsFactory;
use super::history::{History, channel, metadata, thing, user};
use crate::views::{Dir, Listed, Order, Page, PageQuery, ViewStore};

pub use super::apply_cases::*;

pub fn query() -> PageQuery {
    PageQuery {
        limit: 100,
        ..PageQuery::default()
    }
}

/// The `n` of each item's id (`thing(n)`, `channel(n)`), in page order.
pub fn ns<T: Listed>(page: &Page<T>) -> Vec<u128> {
    page.items
        .iter()
        .map(|i| i.list_id().as_u128() & 0xfff_ffff)
        .collect()
}

pub async fn applied(
    factory: &dyn ViewsFactory,
    history: &History,
) -> std::sync::Arc<dyn ViewStore> {
    let store = factory.open().await;
    let checkpoint = store.apply_batch(&history.events).await.expect("apply");
    assert_eq!(checkpoint, history.last());
    store
}

pub async fn users_by_id_email_and_count(factory: &dyn ViewsFactory) {
    let mut h = History::default();
    h.register(user(1), "a@example.com");
    h.register(user(2), "b@example.com");
    h.push(Event::UserUpdated {
        id: user(1),
        metadata: Some(metadata(json!({"role": "admin"}))),
    });
    h.push(Event::UserPasswordChanged {
        id: user(2),
        password_hash: domain::ids::PasswordHash("new".into()),
    });
    let v = applied(factory, &h).await;
    assert_eq!(v.user_count().await.unwrap(), 2);
    let a = v.user(user(1)).await.unwrap().expect("a");
    assert_eq!(a.email, "a@example.com");
    assert_eq!(a.metadata, Some(metadata(json!({"role": "admin"}))));
    let b = v.user_by_email("b@example.com").await.unwrap().expect("b");
    assert_eq!((b.id, b.password_hash.0.as_str()), (user(2), "new"));
    assert!(v.user_by_email("B@example.com").await.unwrap().is_none());
    assert!(v.user(user(3)).await.unwrap().is_none());
}

pub async fn lists_page_with_totals(factory: &dyn ViewsFactory) {
    let mut h = History::default();
    for n in 1..=5 {
        h.thing(user(1), thing(n), Some("t"));
        h.channel(user(1), channel(n), None);
    }
    h.thing(user(2), thing(9), None);
    let v = applied(factory, &h).await;
    let page = |offset, limit| PageQuery {
        offset,
        limit,
        dir: Dir::Asc,
        ..query()
    };
    let cases = [
        (0, 2, vec![1, 2]),
        (2, 2, vec![3, 4]),
        (4, 2, vec![5]),
        (5, 2, vec![]),
        (9, 3, vec![]),
        (1, 0, vec![]),
    ];
    for (offset, limit, expected) in cases {
        let things = v.things(user(1), &page(offset, limit)).await.unwrap();
        assert_eq!(
            (things.total, ns(&things)),
            (5, expected.clone()),
            "things {offset} {limit}"
        );
        assert_eq!((things.offset, things.limit), (offset, limit));
        let channels = v.channels(user(1), &page(offset, limit)).await.unwrap();
        assert_eq!(
            (channels.total, ns(&channels)),
            (5, expected),
            "channels {offset} {limit}"
        );
    }
    let none = v.things(user(3), &query()).await.unwrap();
    assert_eq!((none.total, none.items.len()), (0, 0));
}

pub async fn name_filter_is_a_literal_case_insensitive_substring(factory: &dyn ViewsFactory) {
    let names = [
        Some("Alpha"),
        Some("alphabet"),
        Some("beta"),
        Some("50%_off"),
        Some("500 off"),
        None,
        Some("a\\b"),
    ];
    let mut h = History::default();
    for (n, name) in (1..).zip(names) {
        h.thing(user(1), thing(n), name);
        h.channel(user(1), channel(n), name);
    }
    let v = applied(factory, &h).await;
    let cases = [
        ("alp", vec![1, 2]),
        ("%", vec![4]),
        ("_", vec![4]),
        ("0%_", vec![4]),
        ("\\", vec![7]),
        ("", vec![1, 2, 3, 4, 5, 7]),
        ("zzz", vec![]),
    ];
    for (name, expected) in cases {
        // `PageQuery::name` comes lowercased from the HTTP edge.
        let q = PageQuery {
            name: Some(name.into()),
            dir: Dir::Asc,
            ..query()
        };
        both_lists_hold(v.as_ref(), &q, &expected, &format!("{name:?}")).await;
    }
}

/// User 1's things (with their total) and channels under `q` are exactly `expected`.
async fn both_lists_hold(v: &dyn ViewStore, q: &PageQuery, expected: &[u128], case: &str) {
    let things = v.things(user(1), q).await.unwrap();
    assert_eq!(
        (ns(&things), things.total),
        (expected.to_vec(), expected.len() as u64),
        "things {case}"
    );
    let channels = v.channels(user(1), q).await.unwrap();
    assert_eq!(ns(&channels), expected, "channels {case}");
}

pub async fn metadata_filter_is_containment(factory: &dyn ViewsFactory) {
    let docs = [
        json!({"a": 1, "b": {"c": [1, 2, {"d": "x"}]}}),
        json!({"a": 2}),
        json!({"a": 1, "e": null}),
    ];
    let mut h = History::default();
    for (n, doc) in (1..).zip(docs) {
        h.thing_with(user(1), thing(n), None, Some(metadata(doc.clone())));
        h.channel_with(user(1), channel(n), None, Some(metadata(doc)));
    }
    h.thing(user(1), thing(4), None);
    h.channel(user(1), channel(4), None);
    let v = applied(factory, &h).await;
    let cases = [
        (json!({}), vec![1, 2, 3]),
        (json!({"a": 1}), vec![1, 3]),
        (json!({"b": {"c": [2]}}), vec![1]),
        (json!({"b": {"c": [{"d": "x"}]}}), vec![1]),
        (json!({"b": {"c": [3]}}), vec![]),
        (json!({"e": null}), vec![3]),
        (json!({"a": "1"}), vec![]),
    ];
    for (filter, expected) in cases {
        let q = PageQuery {
            metadata: filter.as_object().cloned(),
            dir: Dir::Asc,
            ..query()
        };
        both_lists_hold(v.as_ref(), &q, &expected, &filter.to_string()).await;
    }
}

pub async fn order_and_dir(factory: &dyn ViewsFactory) {
    let mut h = History::default();
    for (n, name) in [
        (3, Some("b")),
        (1, Some("b")),
        (2, None),
        (4, Some("B")),
        (5, Some("a")),
        (6, Some("é")),
    ] {
        h.thing(user(1), thing(n), name);
        h.channel(user(1), channel(n), name);
    }
    let v = applied(factory, &h).await;
    let cases = [
        (Order::Id, Dir::Asc, vec![1, 2, 3, 4, 5, 6]),
        (Order::Id, Dir::Desc, vec![6, 5, 4, 3, 2, 1]),
        (Order::Name, Dir::Asc, vec![2, 4, 5, 1, 3, 6]),
        (Order::Name, Dir::Desc, vec![6, 3, 1, 5, 4, 2]),
    ];
    for (order, dir, expected) in cases {
        let q = PageQuery {
            order,
            dir,
            ..query()
        };
        assert_eq!(
            ns(&v.things(user(1), &q).await.unwrap()),
            expected,
            "things {order:?} {dir:?}"
        );
        assert_eq!(
            ns(&v.channels(user(1), &q).await.unwrap()),
            expected,
            "channels {order:?} {dir:?}"
        );
        let second = PageQuery {
            offset: 2,
            limit: 2,
            ..q
        };
        let page = v.things(user(1), &second).await.unwrap();
        assert_eq!(
            (ns(&page), page.total),
            (expected[2..4].to_vec(), 6),
            "page {order:?} {dir:?}"
        );
    }
}

pub async fn owner_isolation_on_every_query(factory: &dyn ViewsFactory) {
    let (a, b) = (user(1), user(2));
    let mut h = History::default();
    h.thing(a, thing(1), Some("mine"));
    h.channel(a, channel(1), Some("mine"));
    h.connect(channel(1), thing(1));
    h.thing(b, thing(2), Some("mine"));
    h.channel(b, channel(2), Some("mine"));
    let v = applied(factory, &h).await;
    assert!(v.thing(b, thing(1)).await.unwrap().is_none());
    assert!(v.channel(b, channel(1)).await.unwrap().is_none());
    assert!(v.thing(a, thing(1)).await.unwrap().is_some());
    for connected in [true, false] {
        let q = PageQuery {
            connected,
            ..query()
        };
        assert!(
            v.things_of_channel(b, channel(1), &q)
                .await
                .unwrap()
                .is_none()
        );
        assert!(
            v.channels_of_thing(b, thing(1), &q)
                .await
                .unwrap()
                .is_none()
        );
        let own = v
            .things_of_channel(b, channel(2), &q)
            .await
            .unwrap()
            .expect("own channel");
        assert_eq!(ns(&own), if connected { vec![] } else { vec![2] });
    }
    let q = PageQuery {
        name: Some("mine".into()),
        ..query()
    };
    assert_eq!(ns(&v.things(b, &q).await.unwrap()), vec![2]);
    assert_eq!(ns(&v.channels(b, &q).await.unwrap()), vec![2]);
}

pub async fn connections_both_ways_and_their_complement(factory: &dyn ViewsFactory) {
    let mut h = History::default();
    for n in 1..=3 {
        h.thing(user(1), thing(n), None);
        h.channel(user(1), channel(n), None);
    }
    h.connect(channel(1), thing(1));
    h.connect(channel(1), thing(2));
    h.connect(channel(2), thing(1));
    h.connect(channel(1), thing(1));
    h.disconnect(channel(3), thing(3));
    let v = applied(factory, &h).await;
    let asc = |connected| PageQuery {
        connected,
        dir: Dir::Asc,
        ..query()
    };
    let of_channel = |n, connected| {
        let v = v.clone();
        async move {
            ns(&v
                .things_of_channel(user(1), channel(n), &asc(connected))
                .await
                .unwrap()
                .unwrap())
        }
    };
    assert_eq!(of_channel(1, true).await, vec![1, 2]);
    assert_eq!(of_channel(1, false).await, vec![3]);
    assert_eq!(of_channel(3, true).await, Vec::<u128>::new());
    let of_thing = v
        .channels_of_thing(user(1), thing(1), &asc(true))
        .await
        .unwrap()
        .unwrap();
    assert_eq!((ns(&of_thing), of_thing.total), (vec![1, 2], 2));
    let not = v
        .channels_of_thing(user(1), thing(1), &asc(false))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(ns(&not), vec![3]);
    let mut more = h.clone();
    more.disconnect(channel(1), thing(1));
    v.apply_batch(&more.events).await.unwrap();
    assert_eq!(of_channel(1, true).await, vec![2]);
    let paged = PageQuery {
        limit: 1,
        offset: 1,
        ..asc(false)
    };
    let page = v
        .things_of_channel(user(1), channel(1), &paged)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((ns(&page), page.total), (vec![3], 2));
}
