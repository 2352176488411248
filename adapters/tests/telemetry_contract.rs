//! The telemetry contract suite against the fjall backend and the in-memory double, plus
//! what only fjall promises.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use adapters::telemetry::contract::{StoreFactory, channel, measurement, read, save, values};
use adapters::telemetry::{
    Durability, FjallTelemetryOptions, FjallTelemetryStore, MemoryTelemetryStore, TelemetryError,
    TelemetryStore,
};
use async_trait::async_trait;
use tempfile::TempDir;

/// One temporary directory per test; each store name is a subdirectory of it.
struct FjallFactory(TempDir);

impl FjallFactory {
    fn new() -> Self {
        Self(tempfile::tempdir().expect("tempdir"))
    }
}

#[async_trait]
impl StoreFactory for FjallFactory {
    async fn open(&self, name: &str) -> Arc<dyn TelemetryStore> {
        let dir = self.0.path().join(name);
        Arc::new(FjallTelemetryStore::open(&dir).expect("open fjall telemetry store"))
    }
}

mod fjall {
    adapters::telemetry_contract_tests!(super::FjallFactory::new());
}

/// Memory stores "survive a restart" by living as long as the factory.
#[derive(Default)]
struct MemoryFactory(Mutex<HashMap<String, Arc<MemoryTelemetryStore>>>);

#[async_trait]
impl StoreFactory for MemoryFactory {
    async fn open(&self, name: &str) -> Arc<dyn TelemetryStore> {
        let mut stores = self.0.lock().expect("factory lock");
        let store = stores.entry(name.to_owned()).or_default();
        Arc::clone(store) as Arc<dyn TelemetryStore>
    }
}

mod memory {
    adapters::telemetry_contract_tests!(super::MemoryFactory::default());
}

#[tokio::test]
async fn a_second_handle_on_the_same_directory_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = FjallTelemetryStore::open(dir.path()).expect("first open");
    let second = FjallTelemetryStore::open(dir.path());
    assert!(
        matches!(second, Err(TelemetryError::Unavailable(_))),
        "got {:?}",
        second.err()
    );
    drop(store);
    FjallTelemetryStore::open(dir.path()).expect("open after the first handle is gone");
}

#[tokio::test]
async fn synced_saves_read_back_after_reopen() {
    let dir = tempfile::tempdir().expect("tempdir");
    let options = FjallTelemetryOptions {
        durability: Durability::SyncData,
        ..FjallTelemetryOptions::default()
    };
    let ch = channel();
    {
        let store = FjallTelemetryStore::open_with(dir.path(), options.clone()).expect("open");
        save(
            &store,
            (0..50)
                .map(|n| measurement(ch, 1.0, f64::from(n)))
                .collect(),
        )
        .await;
    }
    let store = FjallTelemetryStore::open_with(dir.path(), options).expect("reopen");
    let page = read(&store, ch, "limit=3").await;
    assert_eq!(page.total, 50);
    assert_eq!(values(&page), [49.0, 48.0, 47.0]);
}

mod model {
    //! fjall against the obvious model: filter every record with `ReadQuery::matches`,
    //! sort newest first (arrival breaks ties), page. Times are quarter seconds, so the
    //! rounding to nanoseconds in fjall's keys never reorders them; the sub-nanosecond
    //! boundaries have their own contract case.

    use adapters::telemetry::{
        Comparator, FjallTelemetryStore, ReadQuery, TelemetryRecord, TelemetryStore,
    };
    use domain::ids::{ChannelId, ThingId};
    use proptest::prelude::*;
    use uuid::Uuid;

    const CHANNELS: [ChannelId; 2] = [ChannelId(Uuid::from_u128(1)), ChannelId(Uuid::from_u128(2))];
    const THINGS: [ThingId; 2] = [ThingId(Uuid::from_u128(10)), ThingId(Uuid::from_u128(11))];

    fn text(options: &'static [&'static str]) -> impl Strategy<Value = Option<String>> {
        prop::option::of(prop::sample::select(options).prop_map(String::from))
    }

    fn record() -> impl Strategy<Value = TelemetryRecord> {
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

    fn query() -> impl Strategy<Value = ReadQuery> {
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

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        #[test]
        fn fjall_reads_what_the_model_reads(
            batches in prop::collection::vec(prop::collection::vec(record(), 0..12), 1..4),
            queries in prop::collection::vec(query(), 1..6),
        ) {
            let runtime = tokio::runtime::Builder::new_current_thread().build().expect("runtime");
            let dir = tempfile::tempdir().expect("tempdir");
            let store = FjallTelemetryStore::open(dir.path()).expect("open");
            for batch in &batches {
                runtime.block_on(store.save(batch.clone())).expect("save");
            }
            let arrived: Vec<&TelemetryRecord> = batches.iter().flatten().collect();
            // Each query also without its filters: reads that take the stored count.
            let plain = |q: &ReadQuery| ReadQuery {
                offset: q.offset,
                limit: q.limit,
                ..ReadQuery::default()
            };
            for query in queries.iter().flat_map(|q| [q.clone(), plain(q)]) {
                let query = &query;
                for channel in CHANNELS {
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
        }
    }
}
