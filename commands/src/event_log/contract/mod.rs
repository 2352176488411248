//! The contract every `EventLog` backend passes: one suite, run unchanged against fjall
//! today and JetStream later.
//!
//! A backend plugs in with a `LogFactory` (a fresh, private namespace per test) and the
//! `event_log_contract_tests!` macro, which expands to one `#[tokio::test]` per case:
//!
//! ```text
//! commands::event_log_contract_tests!(MyFactory::new());
//! ```
//!
//! This module is compiled in normal builds on purpose: a backend in another crate (or an
//! integration test) must be able to call it, and a suite behind a feature flag rots.
//! Every case panics on failure, like any test.

mod atomic;
mod basics;
mod live;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use domain::envelope::PendingEvent;
use domain::event_data::EventData;
use domain::ports::event_log::{AppendBatch, Appended, EventLog, LogError};
use time::OffsetDateTime;
use uuid::Uuid;

pub use atomic::*;
pub use basics::*;
pub use live::*;

/// Opens logs for one test. Each factory value is used by exactly one test, so it owns a
/// namespace nobody else sees (a temporary directory, a random stream prefix, …).
#[async_trait]
pub trait LogFactory: Send + Sync + 'static {
    /// Opens the log called `name` in this factory's namespace, empty the first time.
    ///
    /// The suite opens a name again only after dropping every handle to it (the log and
    /// its subscriptions): that is how it checks what survives a restart.
    async fn open(&self, name: &str) -> Arc<dyn EventLog>;
}

/// Expands to one `#[tokio::test]` per contract case, each with its own `$factory` value.
/// Wrap the call in a `mod` per backend so test names say which backend failed.
#[macro_export]
macro_rules! event_log_contract_tests {
    ($factory:expr) => {
        $crate::event_log_contract_tests!(@cases $factory;
            a_fresh_log_is_empty,
            append_then_read_stream_in_version_order,
            positions_are_dense_across_streams,
            read_after_honours_bounds_and_limit,
            long_reads_are_complete_and_ordered,
            conflicts_are_typed_and_write_nothing,
            invalid_appends_are_rejected,
            same_command_id_appends_once,
            one_off_commands_are_not_remembered,
            concurrent_retries_of_one_command_append_once,
            concurrent_appends_keep_positions_and_versions_dense,
            subscribe_from_zero_during_appends,
            subscribe_from_the_middle_during_appends,
            subscribe_in_batches_during_appends,
            subscribe_waits_for_the_next_append,
            reopen_keeps_history_and_continues,
            append_all_stores_every_stream_at_consecutive_positions,
            append_all_with_one_conflict_writes_nothing,
        );
    };
    (@cases $factory:expr; $($case:ident),+ $(,)?) => {
        $(
            #[::tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $case() {
                let factory = $factory;
                $crate::event_log::contract::$case(&factory).await;
            }
        )+
    };
}

/// Longest wait for anything in the suite: generous for a loaded CI machine, finite so a
/// lost event fails the test instead of hanging it.
pub const PATIENCE: Duration = Duration::from_secs(30);

/// A distinct event; `n` makes its time and data recognizable in a failure message.
pub fn pending(n: u64) -> PendingEvent {
    PendingEvent {
        id: Uuid::now_v7(),
        kind: "test.happened".into(),
        schema: 1,
        occurred_at: OffsetDateTime::UNIX_EPOCH + time::Duration::seconds(1_700_000_000 + n as i64),
        actor: Some("user-contract".into()),
        correlation_id: Uuid::new_v4(),
        data: EventData::from_value(
            &serde_json::json!({ "n": n, "nested": { "list": [1, 2, 3] } }),
        ),
    }
}

/// A batch of `events` fresh events with a fresh command id.
pub fn batch(stream: &str, expected_version: u64, events: u64) -> AppendBatch {
    AppendBatch {
        stream: stream.into(),
        expected_version,
        command_id: Uuid::new_v4(),
        retryable: true,
        events: (0..events).map(pending).collect(),
    }
}

/// Appends `events` events at the end of `stream` the way a command handler does: guess,
/// and on `Conflict` retry the same command at the version the log reported.
pub async fn append_retrying(
    log: &dyn EventLog,
    stream: &str,
    events: u64,
) -> (Appended, AppendBatch) {
    let mut attempt = batch(stream, 0, events);
    for _ in 0..100_000 {
        match log.append(attempt.clone()).await {
            Ok(appended) => return (appended, attempt),
            Err(LogError::Conflict { actual, .. }) => attempt.expected_version = actual,
            Err(other) => panic!("append to {stream} failed: {other}"),
        }
    }
    panic!("append to {stream} kept conflicting");
}

/// Every event of the log, checking on the way that `read_after` pages without gaps.
pub async fn read_all(log: &dyn EventLog) -> Vec<domain::envelope::RecordedEvent> {
    let mut events = Vec::new();
    loop {
        let after = events.len() as u64;
        let page = log.read_after(after, 100).await.expect("read_after");
        if page.is_empty() {
            return events;
        }
        events.extend(page);
    }
}

/// Awaits `future` for at most `PATIENCE`.
pub async fn patiently<T>(what: &str, future: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(PATIENCE, future)
        .await
        .unwrap_or_else(|_| panic!("timed out: {what}"))
}
