//! The PostgreSQL views rebuilt into fresh tables and swapped in (`replay`): with a node's
//! follower running and the log growing, each event is applied once, the checkpoint never
//! moves backwards, hand-damaged rows come back, the node's queries keep working; and a
//! refused rebuild leaves the live tables as they were.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use commands::event_log::FjallEventLog;
use domain::envelope::{PendingEvent, RecordedEvent};
use domain::ports::event_log::{AppendBatch, EventLog};
use projections::views::contract::{History, channel, thing, user};
use projections::views::postgres::{self, PgViews, REBUILD_SCHEMA, RebuildError, ScratchDatabase};
use projections::views::{PageQuery, QueryViews, ViewStore};
use projections::{Projection, Projections, Views};
use sqlx::{AssertSqlSafe, Connection, PgConnection};
use uuid::Uuid;

fn history(n: u128) -> History {
    let mut h = History::default();
    for n in 0..n {
        h.thing(user(n % 3), thing(n), Some("t"));
        h.channel(user(n % 3), channel(n), None);
        h.connect(channel(n), thing(n));
        if n % 5 == 0 {
            h.push(domain::Event::ThingRemoved { id: thing(n) });
        }
    }
    h
}

async fn append(log: &dyn EventLog, recorded: &RecordedEvent) {
    let pending = PendingEvent {
        id: recorded.id,
        kind: recorded.kind.clone(),
        schema: recorded.schema,
        occurred_at: recorded.occurred_at,
        actor: None,
        correlation_id: recorded.correlation_id,
        data: recorded.data.clone(),
    };
    let batch = AppendBatch {
        stream: format!("s-{}", recorded.position),
        expected_version: 0,
        command_id: Uuid::new_v4(),
        retryable: false,
        events: vec![pending],
    };
    log.append(batch).await.unwrap();
}

async fn fresh_database() -> ScratchDatabase {
    let server = commands::test_services::postgres_url();
    ScratchDatabase::create(&server, "ff_test").await.unwrap()
}

async fn checkpoint(db: &mut PgConnection) -> i64 {
    sqlx::query_scalar("SELECT position FROM view_checkpoints WHERE name = 'views'")
        .fetch_one(db)
        .await
        .unwrap()
}

async fn rebuild_schemas(db: &mut PgConnection) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM pg_namespace WHERE nspname = $1")
        .bind(REBUILD_SCHEMA)
        .fetch_one(db)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_rebuild_swapped_in_under_a_running_follower_restores_rows_and_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let log: Arc<dyn EventLog> = Arc::new(FjallEventLog::open(dir.path()).unwrap());
    let database = fresh_database().await;
    let node = Arc::new(PgViews::connect(&database.url).await.unwrap());
    let (grew, _runner) = Projections::new(Vec::new()).spawn(log.clone());
    tokio::spawn(postgres::follow(node.clone(), log.clone(), grew.clone()));
    let h = history(600);
    let (before, during) = h.events.split_at(1200);
    for (recorded, _) in before {
        append(log.as_ref(), recorded).await;
    }
    let mut applied = node.applied();
    applied.wait_for(|p| *p >= 1200).await.unwrap();

    // Rows lost or changed by hand while the checkpoint says they are applied.
    let mut db = PgConnection::connect(&database.url).await.unwrap();
    sqlx::query("DELETE FROM things WHERE id IN (SELECT id FROM things LIMIT 50)")
        .execute(&mut db)
        .await
        .unwrap();
    sqlx::query("UPDATE channels SET name = 'tampered'")
        .execute(&mut db)
        .await
        .unwrap();
    sqlx::query("DELETE FROM connections")
        .execute(&mut db)
        .await
        .unwrap();
    // The node has prepared its queries on the old tables.
    let owner = user(1);
    assert!(
        node.things(owner, &PageQuery::default())
            .await
            .unwrap()
            .total
            > 0
    );

    // The log grows, the node follows and answers, the checkpoint is watched, while the
    // rebuild runs and swaps.
    let done = Arc::new(AtomicBool::new(false));
    let writer = {
        let (log, during) = (log.clone(), during.to_vec());
        tokio::spawn(async move {
            for (recorded, _) in &during {
                append(log.as_ref(), recorded).await;
                tokio::time::sleep(Duration::from_micros(300)).await;
            }
        })
    };
    let watcher = {
        let (url, done) = (database.url.clone(), done.clone());
        tokio::spawn(async move {
            let mut db = PgConnection::connect(&url).await.unwrap();
            let mut seen = Vec::new();
            while !done.load(Ordering::Relaxed) {
                seen.push(checkpoint(&mut db).await);
            }
            seen
        })
    };
    let reader = {
        let (node, done) = (node.clone(), done.clone());
        tokio::spawn(async move {
            let mut answers = 0;
            while !done.load(Ordering::Relaxed) {
                node.things(owner, &PageQuery::default()).await.unwrap();
                node.channels_of_thing(owner, thing(1), &PageQuery::default())
                    .await
                    .unwrap();
                answers += 1;
            }
            answers
        })
    };
    let rebuild = node.begin_rebuild().await.unwrap();
    let busy = node.begin_rebuild().await;
    assert!(
        matches!(busy, Err(RebuildError::Busy)),
        "a second rebuild at once"
    );
    // The fresh tables fed as `replay` feeds them, in the follower's batches.
    let mut after = 0;
    loop {
        let page = log.read_after(after, postgres::BATCH).await.unwrap();
        let Some(last) = page.last() else { break };
        after = last.position;
        let batch: Vec<_> = page
            .into_iter()
            .map(|r| (projections::runner::decode(&r).unwrap(), r))
            .map(|(e, r)| (r, e))
            .collect();
        rebuild.views().apply_batch(&batch).await.unwrap();
    }
    let swapped = rebuild.swap_in(&node, log.as_ref()).await.unwrap();
    writer.await.unwrap();
    let head = log.head().await.unwrap();
    eprintln!("swapped in at {swapped} of {head} events");
    assert_eq!(head, h.last());
    assert!((1200..=head).contains(&swapped), "swapped at {swapped}");
    applied.wait_for(|p| *p >= head).await.unwrap();
    done.store(true, Ordering::Relaxed);
    let seen = watcher.await.unwrap();
    assert!(
        seen.windows(2).all(|w| w[0] <= w[1]),
        "the checkpoint moved backwards"
    );
    assert!(reader.await.unwrap() > 0);

    let memory = Views::default();
    for (recorded, event) in &h.events {
        Projection::apply(&memory, recorded, event);
    }
    assert_eq!(node.dump().await.unwrap(), memory.dump());
    assert_eq!(checkpoint(&mut db).await as u64, head);
    assert_eq!(
        rebuild_schemas(&mut db).await,
        0,
        "the rebuild schema is dropped"
    );
    let tables: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema')",
    )
    .fetch_one(&mut db)
    .await
    .unwrap();
    assert_eq!(
        tables, 9,
        "seven views, their checkpoint, the migrations: no old table left"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_or_abandoned_rebuild_leaves_the_live_tables_as_they_were() {
    let dir = tempfile::tempdir().unwrap();
    let log: Arc<dyn EventLog> = Arc::new(FjallEventLog::open(dir.path()).unwrap());
    let database = fresh_database().await;
    let node = PgViews::connect(&database.url).await.unwrap();
    let h = history(20);
    for (recorded, _) in &h.events {
        append(log.as_ref(), recorded).await;
    }
    node.apply_batch(&h.events).await.unwrap();
    let live = node.dump().await.unwrap();
    let mut db = PgConnection::connect(&database.url).await.unwrap();

    // A leftover of an interrupted rebuild is dropped by the next one.
    for leftover in [
        format!("CREATE SCHEMA {REBUILD_SCHEMA}"),
        format!("CREATE TABLE {REBUILD_SCHEMA}.things (junk int)"),
    ] {
        sqlx::query(AssertSqlSafe(leftover))
            .execute(&mut db)
            .await
            .unwrap();
    }
    let rebuild = node.begin_rebuild().await.unwrap();
    rebuild.views().apply_batch(&h.events[..10]).await.unwrap();
    rebuild.abandon().await.unwrap();
    assert_eq!(node.dump().await.unwrap(), live);
    assert_eq!(rebuild_schemas(&mut db).await, 0);

    // A log shorter than what the live views applied (another log): refused, untouched.
    let short_dir = tempfile::tempdir().unwrap();
    let short = FjallEventLog::open(short_dir.path()).unwrap();
    for (recorded, _) in &h.events[..5] {
        append(&short, recorded).await;
    }
    let rebuild = node.begin_rebuild().await.unwrap();
    let refused = rebuild.swap_in(&node, &short).await;
    assert!(
        matches!(refused, Err(RebuildError::LogBehind { views, log: 5 }) if views == h.last()),
        "{refused:?}"
    );
    assert_eq!(node.dump().await.unwrap(), live);
    assert_eq!(checkpoint(&mut db).await as u64, h.last());
    assert_eq!(rebuild_schemas(&mut db).await, 0);
}
