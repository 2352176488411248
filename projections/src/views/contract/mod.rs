//! The contract every query-view backend passes: same events in, same answers out.
//!
//! A backend plugs in with a `ViewsFactory` (a fresh, private namespace per test: a new
//! database for PostgreSQL) and `views_contract_tests!`, which expands to one
//! `#[tokio::test]` per case:
//!
//! ```text
//! projections::views_contract_tests!(MyFactory::new());
//! ```
//!
//! Compiled in normal builds, like the event-log suite: the PostgreSQL run lives in an
//! integration test, and a suite behind a feature flag rots. Cases panic on failure.

mod apply_cases;
mod cases;
mod config_cases;
mod history;

use std::sync::Arc;

use async_trait::async_trait;

pub use cases::*;
pub use config_cases::{
    configs_follow_removals_in_any_order, configs_list_filters_and_device_lookup,
    unknown_devices_are_listed_until_provisioned,
};
pub use history::{History, channel, metadata, thing, user};

use crate::views::ViewStore;

/// Opens views for one test. Each factory value is used by exactly one test.
#[async_trait]
pub trait ViewsFactory: Send + Sync + 'static {
    /// A handle on this factory's views, empty at first. Each call gives another handle
    /// on the same state, as a second node on the same database would have.
    async fn open(&self) -> Arc<dyn ViewStore>;
}

/// Expands to one `#[tokio::test]` per contract case, each with its own `$factory` value.
/// Wrap the call in a `mod` per backend so test names say which backend failed.
#[macro_export]
macro_rules! views_contract_tests {
    ($factory:expr) => {
        $crate::views_contract_tests!(@cases $factory;
            users_by_id_email_and_count,
            lists_page_with_totals,
            name_filter_is_a_literal_case_insensitive_substring,
            metadata_filter_is_containment,
            order_and_dir,
            owner_isolation_on_every_query,
            connections_both_ways_and_their_complement,
            removal_drops_connections_in_any_order,
            updates_change_rows,
            checkpoint_is_monotonic,
            reapplying_an_applied_event_is_a_noop,
            two_appliers_apply_each_event_once,
            random_histories_answer_as_memory,
            configs_list_filters_and_device_lookup,
            configs_follow_removals_in_any_order,
            unknown_devices_are_listed_until_provisioned,
        );
    };
    (@cases $factory:expr; $($case:ident),+ $(,)?) => {
        $(
            #[::tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                let factory = $factory;
                $crate::views::contract::$case(&factory).await;
            }
        )+
    };
}
