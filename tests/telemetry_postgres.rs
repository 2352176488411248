//! The telemetry contract suite against PostgreSQL (`FF_TELEMETRY=postgres://…`), one
//! fresh database per test; plus what only a shared table promises.

use std::sync::Arc;

use adapters::telemetry::contract::{StoreFactory, channel, measurement, read, save, values};
use adapters::telemetry::{PgTelemetryStore, TelemetryError, TelemetryStore};
use async_trait::async_trait;
use projections::views::postgres::ScratchDatabase;
use tokio::sync::OnceCell;

/// A database per test, created on first open; each store name is a handle on it (a
/// "restart" is a new pool on the same database).
#[derive(Default)]
struct PgFactory(OnceCell<ScratchDatabase>);

impl PgFactory {
    async fn database(&self) -> &ScratchDatabase {
        self.0
            .get_or_init(|| async {
                let server = commands::test_services::postgres_url();
                ScratchDatabase::create(&server, "ff_telemetry")
                    .await
                    .expect("test database")
            })
            .await
    }
}

#[async_trait]
impl StoreFactory for PgFactory {
    async fn open(&self, _name: &str) -> Arc<dyn TelemetryStore> {
        let url = &self.database().await.url;
        let store = PgTelemetryStore::connect(url).await;
        Arc::new(store.unwrap_or_else(|e| panic!("telemetry on {url}: {e}")))
    }
}

mod postgres {
    adapters::telemetry_contract_tests!(super::PgFactory::default());
}

/// Two nodes' handles on one table read alike, and a second migration run (the second
/// node's start) changes nothing.
#[tokio::test(flavor = "multi_thread")]
async fn two_nodes_share_one_table() {
    let factory = PgFactory::default();
    let (one, two) = (factory.open("one").await, factory.open("two").await);
    assert!(one.shared(), "a PostgreSQL store is shared by every node");
    let ch = channel();
    save(&*one, vec![measurement(ch, 1.0, 1.0)]).await;
    save(&*two, vec![measurement(ch, 2.0, 2.0)]).await;
    assert_eq!(values(&read(&*one, ch, "").await), [2.0, 1.0]);
    assert_eq!(read(&*two, ch, "").await, read(&*one, ch, "").await);
}

/// Two nodes saving batches that span the same channels in opposite orders, at once: every
/// save succeeds (no deadlock on the channels' counts) and the counts are exact.
#[tokio::test(flavor = "multi_thread")]
async fn concurrent_nodes_writing_the_same_channels_keep_exact_counts() {
    let factory = PgFactory::default();
    let nodes = [factory.open("one").await, factory.open("two").await];
    let (a, b) = (channel(), channel());
    let tasks: Vec<_> = (0..8u32)
        .map(|task| {
            let store = Arc::clone(&nodes[task as usize % 2]);
            let order = if task % 2 == 0 { [a, b] } else { [b, a] };
            tokio::spawn(async move {
                for round in 0..20u32 {
                    let n = f64::from(task * 100 + round);
                    let batch = order.iter().map(|&ch| measurement(ch, n, n)).collect();
                    save(&*store, batch).await;
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.expect("saving task");
    }
    for ch in [a, b] {
        assert_eq!(read(&*nodes[0], ch, "").await.total, 160);
        // The count kept by the inserts agrees with a count of the rows.
        assert_eq!(read(&*nodes[1], ch, "from=0").await.total, 160);
    }
}

/// The query views and the telemetry may live in one database: each keeps its own
/// migrations table.
#[tokio::test(flavor = "multi_thread")]
async fn views_and_telemetry_share_a_database() {
    let factory = PgFactory::default();
    let url = factory.database().await.url.clone();
    projections::views::postgres::PgViews::connect(&url)
        .await
        .expect("views migrate first");
    let store = factory.open("after views").await;
    let ch = channel();
    save(&*store, vec![measurement(ch, 1.0, 1.0)]).await;
    projections::views::postgres::PgViews::connect(&url)
        .await
        .expect("views migrate again after telemetry");
    assert_eq!(read(&*store, ch, "").await.total, 1);
}

/// A statement PostgreSQL refuses (here a constraint an operator added) fails as
/// `Invalid`, which the writer drops and counts, not as an outage it would retry forever.
#[tokio::test(flavor = "multi_thread")]
async fn a_batch_the_database_refuses_is_invalid_not_an_outage() {
    use sqlx::{Connection, PgConnection};

    let factory = PgFactory::default();
    let store = factory.open("main").await;
    let url = factory.database().await.url.clone();
    let mut db = PgConnection::connect(&url).await.expect("connect");
    sqlx::query("ALTER TABLE messages ADD CONSTRAINT non_negative CHECK (value >= 0)")
        .execute(&mut db)
        .await
        .expect("add a constraint");
    let ch = channel();
    let outcome = store.save(vec![measurement(ch, 1.0, -1.0)]).await;
    assert!(
        matches!(outcome, Err(TelemetryError::Invalid(_))),
        "got {outcome:?}"
    );
    save(&*store, vec![measurement(ch, 1.0, 1.0)]).await;
    assert_eq!(values(&read(&*store, ch, "").await), [1.0]);
}

#[tokio::test]
async fn an_unreachable_database_is_unavailable_at_connect() {
    let outcome = PgTelemetryStore::connect("postgres://ff@127.0.0.1:1/none").await;
    assert!(
        matches!(outcome, Err(TelemetryError::Unavailable(_))),
        "got {:?}",
        outcome.err()
    );
}

#[path = "../adapters/tests/telemetry_model/mod.rs"]
mod telemetry_model;

/// PostgreSQL's `WHERE` clauses against the model's `ReadQuery::matches`: one database
/// for the whole run, two fresh channels per case.
#[test]
fn postgres_reads_what_the_model_reads() {
    use proptest::prelude::*;
    use proptest::test_runner::{Config, TestRunner};
    use telemetry_model::{batches, on_channels, query, reads_what_the_model_reads};

    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let factory = PgFactory::default();
    let store = runtime.block_on(factory.open("model"));
    let cases = (batches(), prop::collection::vec(query(), 1..6));
    TestRunner::new(Config::with_cases(48))
        .run(&cases, |(batches, queries)| {
            let channels = [channel(), channel()];
            let batches = on_channels(batches, channels);
            reads_what_the_model_reads(&runtime, &*store, channels, &batches, &queries)
        })
        .expect("PostgreSQL reads what the model reads");
}

mod relay_support;

/// The database going away under a running writer: what the bus delivers meanwhile waits
/// in the writer's queue and is saved once PostgreSQL is reachable again, all of it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_writer_outlasts_a_database_outage_and_loses_nothing() {
    use adapters::bus::contract::{message, thing};
    use adapters::bus::{MemoryBus, MessageBus};
    use adapters::writer::{self, WriterStats};
    use relay_support::{Relay, through, upstream};
    use std::sync::atomic::Ordering::Relaxed;
    use std::time::Duration;

    let factory = PgFactory::default();
    let url = factory.database().await.url.clone();
    let relay = Relay::start(upstream(&url)).await;
    let store: Arc<dyn TelemetryStore> = Arc::new(
        PgTelemetryStore::connect(&through(&url, relay.addr))
            .await
            .expect("connect through the relay"),
    );
    let bus: Arc<dyn MessageBus> = Arc::new(MemoryBus::new());
    let stats = Arc::new(WriterStats::default());
    let subscription = writer::subscribe(&*bus, &*store).await.expect("subscribe");
    tokio::spawn(writer::run(subscription, bus.clone(), store, stats.clone()));
    let (ch, publisher) = (channel(), thing());
    let reader = factory.open("reader").await;
    let stored = |want: u64| {
        let reader = reader.clone();
        async move {
            for _ in 0..600 {
                if read(&*reader, ch, "").await.total == want {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            panic!("{want} records never stored");
        }
    };
    bus.publish(message(ch, publisher, None, 0))
        .expect("publish");
    stored(1).await;
    relay.cut();
    for n in 1..=5 {
        bus.publish(message(ch, publisher, None, n))
            .expect("publish");
    }
    // Longer than any fixed budget of quick retries.
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(stats.save_retries.load(Relaxed) > 0, "{stats:?}");
    relay.restore();
    stored(6).await;
    assert_eq!(stats.failed_batches.load(Relaxed), 0, "{stats:?}");
}
