//! A store against the obvious model: filter every record with `ReadQuery::matches`,
//! sort newest first (arrival breaks ties), page. Times are quarter seconds, so the
//! rounding to nanoseconds in fjall's keys never reorders them; the sub-nanosecond
//! boundaries have their own contract case. Shared by the fjall test here and the
//! PostgreSQL test of the root crate (`tests/telemetry_postgres.rs`).

use adapters::telemetry::{Comparator, ReadQuery, TelemetryRecord, TelemetryStore};
use domain::ids::{ChannelId, ThingId};
use proptest::prelude::*;
use uuid::Uuid;

/// The channels records are generated on; `on_channels` moves them to others.
pub const CHANNELS: [ChannelId; 2] = [ChannelId(Uuid::from_u128(1)), ChannelId(Uuid::from_u128(2))];
const THINGS: [ThingId; 2] = [ThingId(Uuid::from_u128(10)), ThingId(Uuid::from_u128(11))];

fn text(options: &'static [&'static str]) -> impl Strategy<Value = Option<String>> {
    prop::option::of(prop::sample::select(options).prop_map(String::from))
}

pub fn record() -> impl Strategy<Value = TelemetryRecord> {
    (
        (
            0..2usize,
            text(&["s1", "s2"]),
            0..2usize,
            prop::bool::ANY,
            text(&["a", "b"]),
        ),
        (
            0..16u32,
            prop::option::of(-1..3i32),
            text(&["x", "y"]),
            prop::option::of(prop::bool::ANY),
            text(&["d1", "d2"]),
        ),
    )
        .prop_map(
            |((ch, subtopic, thing, mqtt, name), (quarter, v, vs, vb, vd))| TelemetryRecord {
                subtopic: subtopic.map(Into::into),
                name,
                value: v.map(f64::from),
                string_value: vs,
                bool_value: vb,
                data_value: vd,
                ..TelemetryRecord::new(
                    CHANNELS[ch],
                    THINGS[thing],
                    if mqtt { "mqtt" } else { "http" },
                    f64::from(quarter) * 0.25,
                )
            },
        )
}

pub fn query() -> impl Strategy<Value = ReadQuery> {
    let comparators = [
        Comparator::Eq,
        Comparator::Lt,
        Comparator::Le,
        Comparator::Gt,
        Comparator::Ge,
    ];
    (
        (
            0..12u64,
            1..8u64,
            text(&["s1", "s2"]),
            prop::option::of(0..2usize),
            text(&["a", "b"]),
            text(&["mqtt", "http"]),
        ),
        (
            prop::option::of(-1..3i32),
            prop::sample::select(comparators.to_vec()),
            text(&["x", "y"]),
            prop::option::of(prop::bool::ANY),
            text(&["d1", "d2"]),
        ),
        (prop::option::of(0..18u32), prop::option::of(0..18u32)),
    )
        .prop_map(
            |(
                (offset, limit, subtopic, publisher, name, protocol),
                (v, comparator, vs, vb, vd),
                (a, b),
            )| {
                let bound = |q: Option<u32>| q.map(|q| f64::from(q) * 0.25 - 0.125);
                let (from, to) = match (bound(a), bound(b)) {
                    (Some(a), Some(b)) if a > b => (Some(b), Some(a)),
                    other => other,
                };
                ReadQuery {
                    offset,
                    limit,
                    subtopic,
                    publisher: publisher.map(|t| THINGS[t]),
                    name,
                    protocol,
                    v: v.map(f64::from),
                    comparator,
                    vs,
                    vb,
                    vd,
                    from,
                    to,
                }
            },
        )
}

/// Saved batches: up to three of up to a dozen records.
pub fn batches() -> impl Strategy<Value = Vec<Vec<TelemetryRecord>>> {
    prop::collection::vec(prop::collection::vec(record(), 0..12), 1..4)
}

/// `batches` moved from `CHANNELS` to `channels`: a store shared by many cases gives each
/// case channels of its own.
#[allow(dead_code)] // The fjall test keeps `CHANNELS`.
pub fn on_channels(
    batches: Vec<Vec<TelemetryRecord>>,
    channels: [ChannelId; 2],
) -> Vec<Vec<TelemetryRecord>> {
    let moved = |record: TelemetryRecord| TelemetryRecord {
        channel: channels[usize::from(record.channel != CHANNELS[0])],
        ..record
    };
    batches
        .into_iter()
        .map(|batch| batch.into_iter().map(moved).collect())
        .collect()
}

/// Saves `batches` in `store`, then reads every query (and each without its filters, which
/// a backend may count from an index alone) on both `channels`, against the model.
pub fn reads_what_the_model_reads(
    runtime: &tokio::runtime::Runtime,
    store: &dyn TelemetryStore,
    channels: [ChannelId; 2],
    batches: &[Vec<TelemetryRecord>],
    queries: &[ReadQuery],
) -> Result<(), TestCaseError> {
    for batch in batches {
        runtime.block_on(store.save(batch.clone())).expect("save");
    }
    let arrived: Vec<&TelemetryRecord> = batches.iter().flatten().collect();
    let plain = |q: &ReadQuery| ReadQuery {
        offset: q.offset,
        limit: q.limit,
        ..ReadQuery::default()
    };
    for query in queries.iter().flat_map(|q| [q.clone(), plain(q)]) {
        let query = &query;
        for channel in channels {
            let mut matching: Vec<(usize, &TelemetryRecord)> = arrived
                .iter()
                .enumerate()
                .filter(|(_, r)| r.channel == channel && query.matches(r))
                .map(|(i, r)| (i, *r))
                .collect();
            matching.sort_by(|(i, a), (j, b)| b.time.total_cmp(&a.time).then(j.cmp(i)));
            let want: Vec<TelemetryRecord> = matching
                .iter()
                .skip(query.offset as usize)
                .take(query.limit as usize)
                .map(|(_, r)| (*r).clone())
                .collect();
            let page = runtime.block_on(store.read(channel, query)).expect("read");
            prop_assert_eq!(page.total, matching.len() as u64, "total of {:?}", query);
            prop_assert_eq!(page.messages, want, "page of {:?}", query);
        }
    }
    Ok(())
}
