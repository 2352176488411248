//! Cases about the reader's filters, on one mixed dataset: every filter alone, then
//! combined and paged. Records are named by their index `i`: record `i` has time `T0 + i`,
//! so a page reads as a list of indices, newest (largest) first.

use std::sync::Arc;

use bytes::Bytes;
use domain::ids::{ChannelId, ThingId};
use uuid::Uuid;

use super::{StoreFactory, channel, measurement, read, save, values};
use crate::telemetry::{ReadPage, TelemetryRecord, TelemetryStore};

/// Time of record 0 of the mixed dataset.
const T0: f64 = 1_700_000_000.0;
/// The mixed dataset's two publishers.
const ALICE: ThingId = ThingId(Uuid::from_u128(0xa11ce));
const BOB: ThingId = ThingId(Uuid::from_u128(0xb0b));

/// The value a mixed record carries.
enum Kind {
    V(f64),
    Vs(&'static str),
    Vb(bool),
    Vd(&'static str),
    Payload,
}

/// One mixed record: (subtopic, publisher, protocol, name, value).
type Row = (
    Option<&'static str>,
    ThingId,
    &'static str,
    Option<&'static str>,
    Kind,
);

/// The mixed dataset; record `i` is `MIXED[i]`.
const MIXED: [Row; 12] = [
    (None, ALICE, "http", Some("temp"), Kind::V(20.0)),
    (Some("room.1"), ALICE, "mqtt", Some("temp"), Kind::V(21.5)),
    (Some("room.2"), BOB, "mqtt", Some("temp"), Kind::V(0.0)),
    (Some("room.1"), BOB, "coap", Some("hum"), Kind::V(-3.0)),
    (None, ALICE, "mqtt", Some("door"), Kind::Vb(true)),
    (Some("room.1"), BOB, "http", Some("door"), Kind::Vb(false)),
    (None, ALICE, "mqtt", Some("status"), Kind::Vs("ok")),
    (
        Some("room.2"),
        BOB,
        "mqtt",
        Some("status"),
        Kind::Vs("fail ed"),
    ),
    (
        Some("room.1"),
        ALICE,
        "http",
        Some("blob"),
        Kind::Vd("aGk+Lw=="),
    ),
    (None, BOB, "mqtt", Some("blob"), Kind::Vd("d29ybGQ=")),
    (Some("room.2"), ALICE, "http", None, Kind::Payload),
    (None, BOB, "mqtt", Some("temp"), Kind::V(21.5)),
];

fn mixed_record(channel: ChannelId, index: usize) -> TelemetryRecord {
    let (subtopic, publisher, protocol, name, kind) = &MIXED[index];
    let mut record = TelemetryRecord {
        subtopic: subtopic.map(Into::into),
        name: name.map(Into::into),
        ..TelemetryRecord::new(channel, *publisher, *protocol, T0 + index as f64)
    };
    match kind {
        Kind::V(v) => record.value = Some(*v),
        Kind::Vs(vs) => record.string_value = Some((*vs).into()),
        Kind::Vb(vb) => record.bool_value = Some(*vb),
        Kind::Vd(vd) => record.data_value = Some((*vd).into()),
        Kind::Payload => {
            record.payload = Some(Bytes::from_static(br#"{"x":1}"#));
            record.content_type = Some("application/json".into());
        }
    }
    record
}

/// A store holding the mixed dataset in a fresh channel, saved in three batches out of
/// time order, and the same dataset in a second channel that must never show up.
async fn mixed_store<F: StoreFactory>(factory: &F) -> (Arc<dyn TelemetryStore>, ChannelId) {
    let store = factory.open("main").await;
    let (ch, other) = (channel(), channel());
    for indices in [[7, 0, 11, 3], [10, 1, 5, 9], [2, 8, 4, 6]] {
        let mut records: Vec<_> = indices.iter().map(|&i| mixed_record(ch, i)).collect();
        records.extend(indices.iter().map(|&i| mixed_record(other, i)));
        save(&*store, records).await;
    }
    (store, ch)
}

/// The indices of a page's records, checking they are the mixed channel's.
fn indices(page: &ReadPage, ch: ChannelId) -> Vec<usize> {
    page.messages
        .iter()
        .map(|m| {
            assert_eq!(m.channel, ch, "a record of another channel: {m:?}");
            let index = (m.time - T0) as usize;
            assert_eq!(*m, mixed_record(ch, index), "record {index} changed");
            index
        })
        .collect()
}

/// Reads `query` and checks it selects exactly `want` (newest first), all on one page.
async fn expect(store: &dyn TelemetryStore, ch: ChannelId, query: &str, want: &[usize]) {
    let page = read(store, ch, query).await;
    assert_eq!(indices(&page, ch), want, "query {query:?}");
    assert_eq!(page.total, want.len() as u64, "total of {query:?}");
}

pub async fn unfiltered_reads_see_the_whole_mixed_channel<F: StoreFactory>(factory: &F) {
    let (store, ch) = mixed_store(factory).await;
    let all: Vec<usize> = (0..12).rev().collect();
    expect(&*store, ch, "limit=100", &all).await;
    // Unknown parameters are ignored, empty text filters are no filter.
    expect(&*store, ch, "limit=12&format=messages&x=1", &all).await;
    expect(&*store, ch, "limit=12&name=&subtopic=&publisher=", &all).await;
}

pub async fn filter_by_subtopic<F: StoreFactory>(factory: &F) {
    let (store, ch) = mixed_store(factory).await;
    expect(&*store, ch, "subtopic=room.1", &[8, 5, 3, 1]).await;
    expect(&*store, ch, "subtopic=room.2", &[10, 7, 2]).await;
    // Exact match: neither a prefix nor the unnormalized form selects anything.
    expect(&*store, ch, "subtopic=room", &[]).await;
    expect(&*store, ch, "subtopic=room%2F1", &[]).await;
}

pub async fn filter_by_publisher<F: StoreFactory>(factory: &F) {
    let (store, ch) = mixed_store(factory).await;
    expect(
        &*store,
        ch,
        &format!("publisher={ALICE}"),
        &[10, 8, 6, 4, 1, 0],
    )
    .await;
    expect(
        &*store,
        ch,
        &format!("publisher={BOB}"),
        &[11, 9, 7, 5, 3, 2],
    )
    .await;
    let stranger = ThingId(Uuid::new_v4());
    expect(&*store, ch, &format!("publisher={stranger}"), &[]).await;
}

pub async fn filter_by_name<F: StoreFactory>(factory: &F) {
    let (store, ch) = mixed_store(factory).await;
    expect(&*store, ch, "name=temp", &[11, 2, 1, 0]).await;
    expect(&*store, ch, "name=door", &[5, 4]).await;
    expect(&*store, ch, "name=tem", &[]).await;
}

pub async fn filter_by_protocol<F: StoreFactory>(factory: &F) {
    let (store, ch) = mixed_store(factory).await;
    expect(&*store, ch, "protocol=http", &[10, 8, 5, 0]).await;
    expect(&*store, ch, "protocol=coap", &[3]).await;
    expect(&*store, ch, "protocol=ws", &[]).await;
}

pub async fn filter_by_value<F: StoreFactory>(factory: &F) {
    let (store, ch) = mixed_store(factory).await;
    expect(&*store, ch, "v=21.5", &[11, 1]).await;
    expect(&*store, ch, "v=21.5&comparator=eq", &[11, 1]).await;
    // Zero filters (Mainflux 0.12 dropped `v=0`).
    expect(&*store, ch, "v=0", &[2]).await;
    expect(&*store, ch, "v=2e1", &[0]).await;
    expect(&*store, ch, "v=20&comparator=gt", &[11, 1]).await;
    expect(&*store, ch, "v=20&comparator=ge", &[11, 1, 0]).await;
    expect(&*store, ch, "v=0&comparator=lt", &[3]).await;
    expect(&*store, ch, "v=0&comparator=le", &[3, 2]).await;
    expect(&*store, ch, "v=99", &[]).await;
}

pub async fn filter_by_string_value<F: StoreFactory>(factory: &F) {
    let (store, ch) = mixed_store(factory).await;
    expect(&*store, ch, "vs=ok", &[6]).await;
    expect(&*store, ch, "vs=fail+ed", &[7]).await;
    expect(&*store, ch, "vs=fail%20ed", &[7]).await;
    expect(&*store, ch, "vs=fail", &[]).await;
}

pub async fn filter_by_bool_value<F: StoreFactory>(factory: &F) {
    let (store, ch) = mixed_store(factory).await;
    expect(&*store, ch, "vb=true", &[4]).await;
    // False filters (Mainflux 0.12 dropped `vb=false`).
    expect(&*store, ch, "vb=false", &[5]).await;
    expect(&*store, ch, "vb=0", &[5]).await;
}

pub async fn filter_by_data_value<F: StoreFactory>(factory: &F) {
    let (store, ch) = mixed_store(factory).await;
    expect(&*store, ch, "vd=aGk%2BLw%3D%3D", &[8]).await;
    expect(&*store, ch, "vd=d29ybGQ%3D", &[9]).await;
    // An unescaped `+` is a space, so this is another value.
    expect(&*store, ch, "vd=aGk+Lw%3D%3D", &[]).await;
}

pub async fn filter_by_time_range<F: StoreFactory>(factory: &F) {
    let (store, ch) = mixed_store(factory).await;
    // `from` inclusive, `to` exclusive.
    expect(
        &*store,
        ch,
        &format!("from={}&to={}", T0 + 3.0, T0 + 7.0),
        &[6, 5, 4, 3],
    )
    .await;
    expect(&*store, ch, &format!("from={}", T0 + 9.5), &[11, 10]).await;
    expect(&*store, ch, &format!("to={}", T0 + 0.5), &[0]).await;
    expect(&*store, ch, &format!("to={T0}"), &[]).await;
    expect(&*store, ch, &format!("from={0}&to={0}", T0 + 4.0), &[]).await;
    expect(
        &*store,
        ch,
        "from=-5&to=1e12&limit=100",
        &(0..12).rev().collect::<Vec<_>>(),
    )
    .await;
    expect(&*store, ch, "from=1e12", &[]).await;
}

pub async fn time_bounds_are_exact_below_a_nanosecond<F: StoreFactory>(factory: &F) {
    let store = factory.open("main").await;
    let ch = channel();
    // Four times within one nanosecond, saved out of order: 2, 0, 3, 1. A backend may
    // order them by arrival (its clock is coarser), but `from`/`to` must be exact.
    let time = |n: f64| 1.0 + n * 1e-10;
    let records = [2.0, 0.0, 3.0, 1.0]
        .into_iter()
        .map(|n| measurement(ch, time(n), n))
        .collect();
    save(&*store, records).await;
    let cases = [
        (format!("from={}", time(1.0)), vec![1.0, 2.0, 3.0]),
        (format!("to={}", time(2.0)), vec![0.0, 1.0]),
        (
            format!("from={}&to={}", time(1.0), time(3.0)),
            vec![1.0, 2.0],
        ),
    ];
    for (query, want) in cases {
        let page = read(&*store, ch, &query).await;
        let mut selected = values(&page);
        selected.sort_by(f64::total_cmp);
        assert_eq!(selected, want, "query {query:?}");
        assert_eq!(page.total, want.len() as u64, "total of {query:?}");
        // The same total when most matches are counted, not loaded.
        let page = read(&*store, ch, &format!("{query}&limit=1")).await;
        assert_eq!(
            page.total,
            want.len() as u64,
            "total of {query:?}, one per page"
        );
        assert_eq!(page.messages.len(), 1);
        assert!(want.contains(&values(&page)[0]), "query {query:?}");
    }
}

pub async fn filters_combine_with_paging<F: StoreFactory>(factory: &F) {
    let (store, ch) = mixed_store(factory).await;
    expect(
        &*store,
        ch,
        &format!("publisher={ALICE}&protocol=http"),
        &[10, 8, 0],
    )
    .await;
    expect(&*store, ch, "name=temp&v=21.5&subtopic=room.1", &[1]).await;
    expect(
        &*store,
        ch,
        &format!("name=temp&to={}", T0 + 11.0),
        &[2, 1, 0],
    )
    .await;
    let page = read(&*store, ch, &format!("publisher={BOB}&offset=1&limit=2")).await;
    assert_eq!((page.total, page.offset, page.limit), (6, 1, 2));
    assert_eq!(indices(&page, ch), [9, 7]);
    let page = read(&*store, ch, "subtopic=room.1&offset=4").await;
    assert_eq!((page.total, page.messages.len()), (4, 0));
}
