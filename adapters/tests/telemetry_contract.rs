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

mod telemetry_model;

mod model {
    use adapters::telemetry::FjallTelemetryStore;
    use proptest::prelude::*;

    use super::telemetry_model::{CHANNELS, batches, query, reads_what_the_model_reads};

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        #[test]
        fn fjall_reads_what_the_model_reads(
            batches in batches(),
            queries in prop::collection::vec(query(), 1..6),
        ) {
            let runtime = tokio::runtime::Builder::new_current_thread().build().expect("runtime");
            let dir = tempfile::tempdir().expect("tempdir");
            let store = FjallTelemetryStore::open(dir.path()).expect("open");
            reads_what_the_model_reads(&runtime, &store, CHANNELS, &batches, &queries)?;
        }
    }
}
