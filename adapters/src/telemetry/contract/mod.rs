//! The contract every `TelemetryStore` backend passes: one suite, run unchanged against
//! fjall and the in-memory double today, PostgreSQL and InfluxDB later.
//!
//! A backend plugs in with a `StoreFactory` (a fresh, private namespace per test) and the
//! `telemetry_contract_tests!` macro, which expands to one `#[tokio::test]` per case:
//!
//! ```text
//! mod fjall {
//!     adapters::telemetry_contract_tests!(super::MyFactory::new());
//! }
//! ```
//!
//! Compiled in normal builds on purpose: a backend in another crate (or an integration
//! test) must be able to call it, and a suite behind a feature flag rots. Every case panics
//! on failure, like any test.

mod basics;
mod filters;

use std::sync::Arc;

use async_trait::async_trait;
use domain::ids::{ChannelId, ThingId};
use uuid::Uuid;

use super::{ReadPage, ReadQuery, TelemetryRecord, TelemetryStore};

pub use basics::*;
pub use filters::*;

/// Opens stores for one test. Each factory value is used by exactly one test, so it owns a
/// namespace nobody else sees (a temporary directory, a fresh database, …).
#[async_trait]
pub trait StoreFactory: Send + Sync + 'static {
    /// Opens the store called `name` in this factory's namespace, empty the first time.
    ///
    /// The suite opens a name again only after dropping every handle to it: that is how it
    /// checks what survives a restart.
    async fn open(&self, name: &str) -> Arc<dyn TelemetryStore>;
}

/// Expands to one `#[tokio::test]` per contract case, each with its own `$factory` value.
/// Wrap the call in a `mod` per backend so test names say which backend failed.
#[macro_export]
macro_rules! telemetry_contract_tests {
    ($factory:expr) => {
        $crate::telemetry_contract_tests!(@cases $factory;
            an_empty_channel_reads_nothing,
            every_value_kind_round_trips,
            opaque_records_round_trip,
            newest_first_with_ties_in_arrival_order,
            offset_limit_and_total,
            channels_are_isolated,
            invalid_records_are_refused_whole,
            invalid_queries_are_refused,
            records_survive_reopen_and_keep_arriving_in_order,
            concurrent_saves_keep_every_record,
            unfiltered_reads_see_the_whole_mixed_channel,
            filter_by_subtopic,
            filter_by_publisher,
            filter_by_name,
            filter_by_protocol,
            filter_by_value,
            filter_by_string_value,
            filter_by_bool_value,
            filter_by_data_value,
            filter_by_time_range,
            time_bounds_are_exact_below_a_nanosecond,
            filters_combine_with_paging,
        );
    };
    (@cases $factory:expr; $($case:ident),+ $(,)?) => {
        $(
            #[::tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                let factory = $factory;
                $crate::telemetry::contract::$case(&factory).await;
            }
        )+
    };
}

/// A channel id no other test uses.
pub fn channel() -> ChannelId {
    ChannelId(Uuid::new_v4())
}

/// A thing id no other test uses.
pub fn thing() -> ThingId {
    ThingId(Uuid::new_v4())
}

/// A SenML-like measurement: `temp` over MQTT with `value`, at `time` seconds.
pub fn measurement(channel: ChannelId, time: f64, value: f64) -> TelemetryRecord {
    TelemetryRecord {
        name: Some("temp".into()),
        unit: Some("Cel".into()),
        value: Some(value),
        ..TelemetryRecord::new(channel, thing(), "mqtt", time)
    }
}

/// Reads `channel` with the query string `query` (as a client would send it).
pub async fn read(store: &dyn TelemetryStore, channel: ChannelId, query: &str) -> ReadPage {
    let parsed = ReadQuery::parse(Some(query))
        .unwrap_or_else(|e| panic!("the suite's query {query:?} does not parse: {e}"));
    store
        .read(channel, &parsed)
        .await
        .unwrap_or_else(|e| panic!("read of {query:?} failed: {e}"))
}

/// The `value` of each message, in page order: how cases name records.
pub fn values(page: &ReadPage) -> Vec<f64> {
    page.messages
        .iter()
        .map(|message| {
            message
                .value
                .unwrap_or_else(|| panic!("message without a value: {message:?}"))
        })
        .collect()
}

/// Saves `records`, panicking with the backend's reason if it refuses.
pub async fn save(store: &dyn TelemetryStore, records: Vec<TelemetryRecord>) {
    let count = records.len();
    store
        .save(records)
        .await
        .unwrap_or_else(|e| panic!("save of {count} records failed: {e}"));
}
