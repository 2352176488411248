//! The query-view contract, run against the in-memory views and against PostgreSQL (a
//! fresh database per test on the server `scripts/services` starts).

use std::sync::Arc;

use async_trait::async_trait;
use projections::Views;
use projections::views::ViewStore;
use projections::views::contract::ViewsFactory;
use projections::views::postgres::{PgViews, ScratchDatabase};
use tokio::sync::OnceCell;

/// One `Views` shared by every handle: the memory backend's "same database".
#[derive(Default)]
struct MemoryFactory(OnceCell<Arc<Views>>);

#[async_trait]
impl ViewsFactory for MemoryFactory {
    async fn open(&self) -> Arc<dyn ViewStore> {
        self.0
            .get_or_init(|| async { Arc::default() })
            .await
            .clone()
    }
}

/// A database of its own, created on first open and dropped with the factory; every
/// handle is a new pool on it.
#[derive(Default)]
struct PgFactory(OnceCell<ScratchDatabase>);

impl PgFactory {
    async fn database(&self) -> &str {
        let database = self
            .0
            .get_or_init(|| async {
                let server = commands::test_services::postgres_url();
                ScratchDatabase::create(&server, "ff_test")
                    .await
                    .expect("create database")
            })
            .await;
        &database.url
    }
}

#[async_trait]
impl ViewsFactory for PgFactory {
    async fn open(&self) -> Arc<dyn ViewStore> {
        let url = self.database().await;
        Arc::new(PgViews::connect(url).await.expect("open views"))
    }
}

mod memory {
    projections::views_contract_tests!(super::MemoryFactory::default());
}

mod postgres {
    projections::views_contract_tests!(super::PgFactory::default());
}
