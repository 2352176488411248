//! Which query views serve the REST API (`FF_VIEWS`): the in-memory ones, folded by the
//! local runner with the authz cache, or PostgreSQL tables fed by their own follower.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, anyhow};
use domain::ports::event_log::EventLog;
use projections::masked_url;
use projections::views::QueryViews;
use projections::views::postgres::{self, PgViews};
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
            .map_err(|e| anyhow!("FF_VIEWS ({}): {e}", masked_url(setting)))?;
        Ok(Backend::Postgres(Arc::new(views)))
    }

    /// The projections the local runner feeds besides the authz cache.
    pub fn local(&self) -> Option<Arc<dyn Projection>> {
        match self {
            Backend::Memory(views) => Some(views.clone()),
            Backend::Postgres(_) => None,
        }
    }

    /// Starts the PostgreSQL follower (if any) and waits until the views reach `head`.
    pub async fn start(
        self,
        log: Arc<dyn EventLog>,
        local: Applied,
        head: u64,
    ) -> anyhow::Result<Started> {
        match self {
            Backend::Memory(views) => Ok(Started {
                views,
                applied: local,
                postgres: None,
            }),
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
                Ok(Started {
                    views: views.clone(),
                    applied,
                    postgres: Some(views),
                })
            }
        }
    }
}

/// The views serving the API, once caught up.
pub struct Started {
    pub views: Arc<dyn QueryViews>,
    /// What a command waits on (read-your-writes): the local runner, and PostgreSQL's
    /// checkpoint when the views are there.
    pub applied: Applied,
    /// The PostgreSQL views, for `replay --verify`.
    pub postgres: Option<Arc<PgViews>>,
}

/// Refuses anything but `memory` or a PostgreSQL URL before anything is opened.
pub fn check(setting: &str) -> anyhow::Result<()> {
    let url = setting.starts_with("postgres://") || setting.starts_with("postgresql://");
    if setting != MEMORY && !url {
        anyhow::bail!(
            "FF_VIEWS must be `memory` or a postgres:// URL, not {}",
            masked_url(setting)
        );
    }
    Ok(())
}

/// How `replay --verify` names the PostgreSQL views.
pub const POSTGRES_NAME: &str = "views (postgres)";

/// Compares the PostgreSQL views with the in-memory views rebuilt from position 0, row by
/// row (digests of both dumps). Run while no server writes to the log.
pub async fn verify_postgres(
    log: Arc<dyn EventLog>,
    postgres: &PgViews,
) -> anyhow::Result<Option<replay::Mismatch>> {
    let rebuilt = Arc::new(Views::default());
    let projections = projections::Projections::new(vec![rebuilt.clone()]);
    replay::rebuild(log, &projections, &mut ()).await?;
    let live = postgres.dump().await?.digest();
    let again = rebuilt.dump().digest();
    Ok((live != again).then_some(replay::Mismatch {
        projection: POSTGRES_NAME,
        live,
        rebuilt: again,
    }))
}
