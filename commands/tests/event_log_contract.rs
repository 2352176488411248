//! The event-log contract suite against the fjall backend, plus what only fjall promises.

use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;
use commands::event_log::contract::{LogFactory, append_retrying, batch};
use commands::event_log::{FjallEventLog, FjallOptions};
use domain::ports::event_log::{EventLog, LogError};
use tempfile::TempDir;

/// One temporary directory per test; each log name is a subdirectory of it.
struct FjallFactory(TempDir);

impl FjallFactory {
    fn new() -> Self {
        Self(tempfile::tempdir().expect("tempdir"))
    }
}

#[async_trait]
impl LogFactory for FjallFactory {
    async fn open(&self, name: &str) -> Arc<dyn EventLog> {
        Arc::new(FjallEventLog::open(&self.0.path().join(name)).expect("open fjall log"))
    }
}

mod fjall {
    commands::event_log_contract_tests!(super::FjallFactory::new());
}

fn open(dir: &Path) -> FjallEventLog {
    FjallEventLog::open(dir).expect("open fjall log")
}

#[tokio::test]
async fn a_second_handle_on_the_same_directory_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = open(dir.path());
    let second = FjallEventLog::open(dir.path());
    assert!(
        matches!(second, Err(LogError::Unavailable(_))),
        "got {:?}",
        second.err()
    );
    drop(log);
    // Released on drop: the next open succeeds at once.
    open(dir.path());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_appends_share_fsyncs() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = Arc::new(open(dir.path()));
    let tasks: Vec<_> = (0..200)
        .map(|n| {
            let log = Arc::clone(&log);
            tokio::spawn(async move { append_retrying(&*log, &format!("thing-{n}"), 1).await })
        })
        .collect();
    for task in tasks {
        task.await.expect("task");
    }
    let stats = log.commit_stats();
    assert_eq!(stats.events, 200);
    assert!(stats.groups < 200, "no group shared an fsync: {stats:?}");
}

#[tokio::test]
async fn a_group_of_one_still_commits() {
    let dir = tempfile::tempdir().expect("tempdir");
    let options = FjallOptions {
        max_group: 1,
        ..FjallOptions::default()
    };
    let log = FjallEventLog::open_with(dir.path(), options).expect("open");
    let appended = log.append(batch("thing-1", 0, 2)).await.expect("append");
    assert_eq!(appended.last_position, 2);
    assert_eq!(log.commit_stats().groups, 1);
}

#[tokio::test]
async fn subscriptions_end_when_the_log_closes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = open(dir.path());
    log.append(batch("thing-1", 0, 1)).await.expect("append");
    let mut subscription = log.subscribe(0).await.expect("subscribe");
    drop(log);
    assert_eq!(subscription.next().await.map(|e| e.position), Ok(1));
    assert!(matches!(
        subscription.next().await,
        Err(LogError::Unavailable(_))
    ));
}
