//! Cases about what is stored and in which order: round trips, ordering, paging, channel
//! isolation, refusals, restarts and concurrency.

use std::sync::Arc;

use bytes::Bytes;
use uuid::Uuid;

use super::{StoreFactory, channel, measurement, read, save, thing, values};
use crate::telemetry::record::MAX_TIME;
use crate::telemetry::{ReadPage, ReadQuery, TelemetryError, TelemetryRecord};

pub async fn an_empty_channel_reads_nothing<F: StoreFactory>(factory: &F) {
    let store = factory.open("main").await;
    let empty = |offset, limit| ReadPage {
        total: 0,
        offset,
        limit,
        messages: vec![],
    };
    assert_eq!(read(&*store, channel(), "").await, empty(0, 10));
    assert_eq!(
        read(&*store, channel(), "offset=5&limit=3").await,
        empty(5, 3)
    );
    // Saving nothing is fine and stores nothing.
    save(&*store, vec![]).await;
    assert_eq!(read(&*store, channel(), "").await, empty(0, 10));
}

pub async fn every_value_kind_round_trips<F: StoreFactory>(factory: &F) {
    let store = factory.open("main").await;
    let ch = channel();
    let base = TelemetryRecord::new(ch, thing(), "http", 0.0);
    let records = vec![
        TelemetryRecord {
            subtopic: Some("building.floor-1".into()),
            name: Some("urn:dev:ow:10e2073a01080063:temp".into()),
            unit: Some("Cel".into()),
            update_time: Some(30.0),
            value: Some(23.1),
            sum: Some(-1e-3),
            ..base.clone()
        },
        TelemetryRecord {
            time: 1_700_000_000.123_456_7,
            name: Some("status".into()),
            string_value: Some("ok, ünïcode \"quoted\"".into()),
            ..base.clone()
        },
        TelemetryRecord {
            time: 1_700_000_001.0,
            name: Some("door".into()),
            bool_value: Some(false),
            ..base.clone()
        },
        TelemetryRecord {
            time: 1_700_000_002.5,
            name: Some("blob".into()),
            data_value: Some("aGk+Lw==".into()),
            ..base.clone()
        },
        TelemetryRecord {
            time: 1_700_000_003.0,
            name: Some("energy".into()),
            unit: Some("J".into()),
            sum: Some(1234.5),
            ..base.clone()
        },
        TelemetryRecord {
            time: MAX_TIME - 1.0,
            name: Some("far future".into()),
            value: Some(f64::MAX),
            ..base
        },
    ];
    save(&*store, records.clone()).await;
    let page = read(&*store, ch, "limit=100").await;
    let mut newest_first = records;
    newest_first.reverse();
    assert_eq!(page.total, 6);
    assert_eq!(page.messages, newest_first);
}

pub async fn opaque_records_round_trip<F: StoreFactory>(factory: &F) {
    let store = factory.open("main").await;
    let ch = channel();
    let opaque = |time: f64, payload: &[u8], content_type: Option<&str>| TelemetryRecord {
        subtopic: Some("raw".into()),
        payload: Some(Bytes::copy_from_slice(payload)),
        content_type: content_type.map(Into::into),
        ..TelemetryRecord::new(ch, thing(), "mqtt", time)
    };
    let records = vec![
        opaque(10.0, br#"{"temp": 21}"#, Some("application/json")),
        opaque(11.0, &[0, 1, 2, 0xff], None),
        opaque(12.0, b"", Some("application/octet-stream")),
    ];
    save(&*store, records.clone()).await;
    let page = read(&*store, ch, "").await;
    assert_eq!(page.total, 3);
    assert_eq!(page.messages, records.into_iter().rev().collect::<Vec<_>>());
}

pub async fn newest_first_with_ties_in_arrival_order<F: StoreFactory>(factory: &F) {
    let store = factory.open("main").await;
    let ch = channel();
    // `value` is the arrival number.
    let batches = [
        vec![(5.0, 0.0), (1.0, 1.0), (5.0, 2.0)],
        vec![(3.0, 3.0), (5.0, 4.0)],
        vec![(1.0, 5.0)],
    ];
    for batch in batches {
        let records = batch
            .into_iter()
            .map(|(time, n)| measurement(ch, time, n))
            .collect();
        save(&*store, records).await;
    }
    let page = read(&*store, ch, "").await;
    assert_eq!(values(&page), [4.0, 2.0, 0.0, 3.0, 5.0, 1.0]);
}

pub async fn offset_limit_and_total<F: StoreFactory>(factory: &F) {
    let store = factory.open("main").await;
    let ch = channel();
    let records = (1..=25)
        .map(|n| measurement(ch, 1_000.0 + f64::from(n), f64::from(n)))
        .collect();
    save(&*store, records).await;
    let descending = |from: i32, to: i32| (to..=from).rev().map(f64::from).collect::<Vec<_>>();

    let first = read(&*store, ch, "").await;
    assert_eq!((first.total, first.offset, first.limit), (25, 0, 10));
    assert_eq!(values(&first), descending(25, 16));

    let tail = read(&*store, ch, "offset=20").await;
    assert_eq!((tail.total, tail.offset), (25, 20));
    assert_eq!(values(&tail), descending(5, 1));

    for offset in ["25", "1000", "18446744073709551615"] {
        let past = read(&*store, ch, &format!("offset={offset}&limit=100")).await;
        assert_eq!(past.total, 25, "offset {offset}");
        assert!(past.messages.is_empty(), "offset {offset}");
    }
    assert_eq!(values(&read(&*store, ch, "offset=3&limit=1").await), [22.0]);
    assert_eq!(
        values(&read(&*store, ch, "limit=100").await),
        descending(25, 1)
    );

    let mut paged = Vec::new();
    for offset in (0..25).step_by(7) {
        paged.extend(values(
            &read(&*store, ch, &format!("offset={offset}&limit=7")).await,
        ));
    }
    assert_eq!(paged, descending(25, 1));
}

pub async fn channels_are_isolated<F: StoreFactory>(factory: &F) {
    let store = factory.open("main").await;
    // Neighbours in byte order, so a sloppy prefix or range would leak between them.
    let base = Uuid::new_v4().as_u128() & !0xff;
    let (a, b) = (
        domain::ids::ChannelId(Uuid::from_u128(base)),
        domain::ids::ChannelId(Uuid::from_u128(base + 1)),
    );
    let records = (0..10)
        .map(|n| {
            let ch = if n % 2 == 0 { a } else { b };
            measurement(ch, 100.0 + f64::from(n % 3), f64::from(n))
        })
        .collect();
    save(&*store, records).await;
    let page_a = read(&*store, a, "limit=100").await;
    assert_eq!(page_a.total, 5);
    assert!(page_a.messages.iter().all(|m| m.channel == a));
    assert_eq!(values(&page_a), [8.0, 2.0, 4.0, 6.0, 0.0]);
    let page_b = read(&*store, b, "limit=100").await;
    assert_eq!(page_b.total, 5);
    assert!(page_b.messages.iter().all(|m| m.channel == b));
    assert_eq!(values(&page_b), [5.0, 7.0, 1.0, 9.0, 3.0]);
    assert_eq!(read(&*store, channel(), "").await.total, 0);
}

pub async fn invalid_records_are_refused_whole<F: StoreFactory>(factory: &F) {
    let store = factory.open("main").await;
    let ch = channel();
    let good = measurement(ch, 10.0, 1.0);
    let bad = [
        TelemetryRecord {
            time: -1.0,
            ..good.clone()
        },
        TelemetryRecord {
            time: f64::NAN,
            ..good.clone()
        },
        TelemetryRecord {
            time: f64::INFINITY,
            ..good.clone()
        },
        TelemetryRecord {
            time: MAX_TIME,
            ..good.clone()
        },
        TelemetryRecord {
            value: Some(f64::NAN),
            ..good.clone()
        },
        TelemetryRecord {
            sum: Some(f64::INFINITY),
            ..good.clone()
        },
        TelemetryRecord {
            update_time: Some(f64::NEG_INFINITY),
            ..good.clone()
        },
        TelemetryRecord {
            string_value: Some("nul \0 inside".into()),
            ..good.clone()
        },
    ];
    for bad in bad {
        let outcome = store.save(vec![good.clone(), bad.clone()]).await;
        assert!(
            matches!(outcome, Err(TelemetryError::Invalid(_))),
            "{bad:?} gave {outcome:?}"
        );
    }
    assert_eq!(read(&*store, ch, "").await.total, 0);
    save(&*store, vec![good.clone()]).await;
    assert_eq!(read(&*store, ch, "").await.messages, [good]);
}

pub async fn invalid_queries_are_refused<F: StoreFactory>(factory: &F) {
    let store = factory.open("main").await;
    let ch = channel();
    save(&*store, vec![measurement(ch, 1.0, 1.0)]).await;
    let bad = [
        ReadQuery {
            limit: 0,
            ..ReadQuery::default()
        },
        ReadQuery {
            limit: 101,
            ..ReadQuery::default()
        },
        ReadQuery {
            v: Some(f64::NAN),
            ..ReadQuery::default()
        },
        ReadQuery {
            from: Some(f64::NEG_INFINITY),
            ..ReadQuery::default()
        },
        ReadQuery {
            from: Some(2.0),
            to: Some(1.0),
            ..ReadQuery::default()
        },
    ];
    for query in bad {
        let outcome = store.read(ch, &query).await;
        assert!(
            matches!(outcome, Err(TelemetryError::Query(_))),
            "{query:?} gave {outcome:?}"
        );
    }
}

pub async fn records_survive_reopen_and_keep_arriving_in_order<F: StoreFactory>(factory: &F) {
    let ch = channel();
    let same_time = |n: f64| measurement(ch, 7.0, n);
    let store = factory.open("main").await;
    save(
        &*store,
        vec![same_time(0.0), same_time(1.0), same_time(2.0)],
    )
    .await;
    drop(store);
    let store = factory.open("main").await;
    assert_eq!(values(&read(&*store, ch, "").await), [2.0, 1.0, 0.0]);
    // Same channel and time after a restart: kept beside the old ones, and newer.
    save(&*store, vec![same_time(3.0), same_time(4.0)]).await;
    drop(store);
    let store = factory.open("main").await;
    let page = read(&*store, ch, "").await;
    assert_eq!(page.total, 5);
    assert_eq!(values(&page), [4.0, 3.0, 2.0, 1.0, 0.0]);
}

pub async fn concurrent_saves_keep_every_record<F: StoreFactory>(factory: &F) {
    let store = factory.open("main").await;
    let ch = channel();
    let tasks: Vec<_> = (0..8u32)
        .map(|task| {
            let store = Arc::clone(&store);
            tokio::spawn(async move {
                for round in 0..25u32 {
                    let n = f64::from(task * 1000 + round * 2);
                    save(
                        &*store,
                        vec![measurement(ch, 42.0, n), measurement(ch, 42.0, n + 1.0)],
                    )
                    .await;
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.expect("saving task");
    }
    let mut seen = Vec::new();
    for offset in (0..400).step_by(100) {
        seen.extend(values(
            &read(&*store, ch, &format!("offset={offset}&limit=100")).await,
        ));
    }
    assert_eq!(read(&*store, ch, "").await.total, 400);
    // Within a batch, arrival order holds: its second record reads before its first.
    let position = |n: f64| seen.iter().position(|&seen| seen == n);
    for first in (0..8u32).flat_map(|task| (0..25u32).map(move |r| f64::from(task * 1000 + r * 2)))
    {
        let (older, newer) = (position(first), position(first + 1.0));
        assert!(
            newer.is_some() && older.is_some() && newer < older,
            "records {first} and {} at {older:?} and {newer:?}",
            first + 1.0
        );
    }
    seen.sort_by(f64::total_cmp);
    seen.dedup();
    assert_eq!(seen.len(), 400);
}
