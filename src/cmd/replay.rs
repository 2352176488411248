//! `ferroflux replay [--verify]`: rebuild every projection from position 0.
//!
//! With `--verify`, compare each rebuild with the state the live path (catch-up, then
//! follow) produced. Without it, the PostgreSQL views (`FF_VIEWS=postgres://…`) are rebuilt
//! into fresh tables and swapped in for the live ones while nodes keep serving
//! (`replay::rebuild_postgres`); in-memory projections are rebuilt at every start anyway,
//! so for them the command only verifies.

use std::path::PathBuf;
use std::sync::Arc;

use super::progress::Bar;
use anyhow::{Context, bail};
use clap::Args;
use ferroflux::config::{EventLogConfig, masked};
use ferroflux::{App, Config};
use projections::{AuthzCache, CertRegistry, Projection, Views};

#[derive(Debug, Args)]
pub struct ReplayArgs {
    #[arg(long, env = "FF_DATA_DIR", default_value = "./data")]
    data_dir: PathBuf,
    /// Compare the rebuilt projections with the live ones; exit non-zero on any difference.
    /// Without it, PostgreSQL views are rebuilt into fresh tables and swapped in.
    #[arg(long)]
    verify: bool,
    #[command(flatten)]
    log: EventLogConfig,
    /// Needed with a shared log, as for `serve`.
    #[arg(long, env = "FF_JWT_SECRET", hide_env_values = true)]
    jwt_secret: Option<String>,
    #[arg(long, env = "FF_MASTER_KEY", hide_env_values = true)]
    master_key: Option<String>,
    /// The query views: `memory`, or the PostgreSQL URL the server uses (verified, or
    /// rebuilt and swapped in).
    #[arg(long, env = "FF_VIEWS", default_value = ferroflux::views::MEMORY, hide_env_values = true)]
    views: String,
}

pub async fn run(args: ReplayArgs) -> anyhow::Result<()> {
    let config = Config {
        data_dir: args.data_dir,
        log: args.log,
        jwt_secret: args.jwt_secret,
        master_key: args.master_key,
        views: args.views,
        ..Config::default()
    };
    if !args.verify && config.views != ferroflux::views::MEMORY {
        return rebuild_postgres(&config).await;
    }
    let app = App::open(&config).await?;
    // In the order of `app.live`, which they are compared with pairwise.
    let mut fresh: Vec<Arc<dyn Projection>> = vec![
        Arc::new(AuthzCache::default()),
        Arc::new(CertRegistry::default()),
    ];
    if app.postgres_views.is_none() {
        fresh.insert(0, Arc::new(Views::default()));
    }
    let mut bar = Bar::events()?;
    let mut mismatches = replay::verify(app.log.clone(), &app.live, fresh, &mut bar).await?;
    let mut names: Vec<_> = app.live.iter().map(|p| p.name()).collect();
    if let Some(postgres) = &app.postgres_views {
        mismatches.extend(ferroflux::views::verify_postgres(app.log.clone(), postgres).await?);
        names.push(ferroflux::views::POSTGRES_NAME);
    }
    for m in &mismatches {
        eprintln!(
            "projection {} differs: live {} rebuilt {}",
            m.projection, m.live, m.rebuilt
        );
    }
    if !mismatches.is_empty() {
        bail!(
            "{} projection(s) differ from their rebuild",
            mismatches.len()
        );
    }
    println!(
        "verified: {} match their rebuild from position 0",
        names.join(", ")
    );
    if !args.verify {
        println!("(nothing to write: in-memory projections are rebuilt at every start)");
    }
    Ok(())
}

/// Rebuilds the PostgreSQL views into fresh tables and swaps them in.
async fn rebuild_postgres(config: &Config) -> anyhow::Result<()> {
    let (log, _secrets) = ferroflux::app::open_checked_log(config).await?;
    let views = match ferroflux::views::Backend::open(&config.views).await? {
        ferroflux::views::Backend::Postgres(views) => views,
        ferroflux::views::Backend::Memory(_) => bail!("FF_VIEWS names no database"),
    };
    let mut bar = Bar::events()?;
    let swapped = replay::rebuild_postgres(log, &views, &mut bar)
        .await
        .with_context(|| {
            format!(
                "FF_VIEWS ({}): the rebuild stopped, the live tables are unchanged",
                masked(&config.views)
            )
        })?;
    println!(
        "rebuilt: {} from position 0 into fresh tables ({} events, {:.0}/s), swapped in at \
         position {}; the old tables are dropped",
        ferroflux::views::POSTGRES_NAME,
        swapped.events,
        swapped.events_per_second(),
        swapped.checkpoint
    );
    Ok(())
}
