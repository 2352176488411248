//! Which query views serve the REST API (`FF_VIEWS`): the in-memory ones, folded by the
//! local runner with the authz cache, or PostgreSQL tables fed by their own follower.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, anyhow};
use domain::ports::event_log::EventLog;
use projections::views::QueryViews;
use projections::views::postgres::{self, PgViews, mask_password};
use projections::{Applied, Projection, Views};

/// `FF_VIEWS`: `memory` (the default) or a `postgres://` URL.
pub const MEMORY: &str = "memory";

/// The configured views, before the runner starts.
pub enum Backend {
    Memory(Arc<Views>),
    Postgres(Arc<PgViews>),
}

impl Backend {
    /// Connects and migrates when `FF_VIEWS` names a database; one line naming `FF_VIEWS`
    /// (password masked) when it cannot.
    pub async fn open(setting: &str) -> anyhow::Result<Self> {
        if setting == MEMORY {
            return Ok(Backend::Memory(Arc::default()));
        }
        let views = PgViews::connect(setting)
            .await
            .map_err(|e| anyhow!("FF_VIEWS ({}): {e}", mask_password(setting)))?;
        Ok(Backend::Postgres(Arc::new(views)))
    }

    /// The projections the local runner feeds besides the authz cache.
    pub fn local(&self) -> Option<Arc<dyn Projection>> {
        match self {
            Backend::Memory(views) => Some(views.clone()),
            Backend::Postgres(_) => None,
        }
    }

    /// Starts the PostgreSQL follower (if any) and waits until the views reach `head`;
    /// returns the views and the `Applied` a command waits on (read-your-writes).
    pub async fn start(
        self,
        log: Arc<dyn EventLog>,
        local: Applied,
        head: u64,
    ) -> anyhow::Result<(Arc<dyn QueryViews>, Applied)> {
        match self {
            Backend::Memory(views) => Ok((views, local)),
            Backend::Postgres(views) => {
                let checkpoint = *views.applied().borrow();
                if checkpoint > head {
                    anyhow::bail!(
                        "FF_VIEWS: the database has applied {checkpoint} events but this event \
                         log holds {head}: it was built from another log; give this node a \
                         database of its own (or drop the views' tables to rebuild them)"
                    );
                }
                let applied = local.clone().and(views.applied());
                let follower = views.clone();
                tokio::spawn(async move {
                    if let Err(error) = postgres::follow(follower, log, local).await {
                        tracing::error!(%error, "PostgreSQL views stopped following the log");
                    }
                });
                applied
                    .wait_for(head, Duration::from_secs(24 * 3600))
                    .await
                    .context("the PostgreSQL views could not catch up with the event log")?;
                Ok((views, applied))
            }
        }
    }
}

/// Refuses anything but `memory` or a PostgreSQL URL before anything is opened.
pub fn check(setting: &str) -> anyhow::Result<()> {
    let url = setting.starts_with("postgres://") || setting.starts_with("postgresql://");
    if setting != MEMORY && !url {
        anyhow::bail!(
            "FF_VIEWS must be `memory` or a postgres:// URL, not {}",
            mask_password(setting)
        );
    }
    Ok(())
}
