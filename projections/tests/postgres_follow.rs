//! Two nodes' followers on one PostgreSQL database, fed by one event log while it grows:
//! every event is applied once, both see the final checkpoint, and the tables equal the
//! in-memory views folded from the same log.

use std::sync::Arc;
use std::time::Duration;

use commands::event_log::FjallEventLog;
use domain::envelope::PendingEvent;
use domain::ports::event_log::{AppendBatch, EventLog};
use projections::views::contract::{History, channel, thing, user};
use projections::views::postgres::{self, PgViews, ScratchDatabase};
use projections::{Projection, Projections, Views};
use uuid::Uuid;

fn history() -> History {
    let mut h = History::default();
    for n in 0..300 {
        h.thing(user(n % 3), thing(n), Some("t"));
        h.channel(user(n % 3), channel(n), None);
        h.connect(channel(n), thing(n));
        if n % 3 == 0 {
            h.push(domain::Event::ThingRemoved { id: thing(n) });
        }
    }
    h
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_followers_on_one_database_apply_a_growing_log_once() {
    let dir = tempfile::tempdir().unwrap();
    let log: Arc<dyn EventLog> = Arc::new(FjallEventLog::open(dir.path()).unwrap());
    let server = commands::test_services::postgres_url();
    let database = ScratchDatabase::create(&server, "ff_test").await.unwrap();
    let nodes = [
        Arc::new(PgViews::connect(&database.url).await.unwrap()),
        Arc::new(PgViews::connect(&database.url).await.unwrap()),
    ];
    let (grew, _runner) = Projections::new(Vec::new()).spawn(log.clone());
    for node in &nodes {
        tokio::spawn(postgres::follow(node.clone(), log.clone(), grew.clone()));
    }

    // One event per append, as commands arrive, while both followers run.
    let h = history();
    for (i, (recorded, _)) in h.events.iter().enumerate() {
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
            stream: format!("s-{i}"),
            expected_version: 0,
            command_id: Uuid::new_v4(),
            retryable: false,
            events: vec![pending],
        };
        log.append(batch).await.unwrap();
    }
    let head = log.head().await.unwrap();
    assert_eq!(head, h.last());
    for node in &nodes {
        let mut applied = node.applied();
        let reached = applied.wait_for(|position| *position >= head);
        tokio::time::timeout(Duration::from_secs(60), reached)
            .await
            .expect("the follower catches up")
            .unwrap();
    }

    let memory = Views::default();
    for (recorded, event) in &h.events {
        Projection::apply(&memory, recorded, event);
    }
    for node in &nodes {
        assert_eq!(node.dump().await.unwrap(), memory.dump());
    }
}
