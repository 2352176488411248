//! `ferroflux migrate --to nats://…`: copies the embedded (fjall) history of a data dir into
//! a JetStream log, positions kept, with a progress bar; run it again to resume.

use std::path::PathBuf;

use super::progress::Bar;
use anyhow::Context;
use clap::Args;
use ferroflux::Config;
use ferroflux::config::{EventLogConfig, masked};

#[derive(Debug, Args)]
pub struct MigrateArgs {
    /// The data dir whose fjall event log is copied (the server must be stopped).
    #[arg(long, env = "FF_DATA_DIR", default_value = "./data")]
    data_dir: PathBuf,
    /// The JetStream log to copy into: `nats://host:port`.
    #[arg(long)]
    to: String,
    /// Its subject prefix and stream-name stem (`FF_EVENT_LOG_PREFIX` of the new nodes).
    #[arg(long, default_value = "ff")]
    to_prefix: String,
    /// Replicas of its streams when they are created.
    #[arg(long, default_value_t = 1)]
    to_replicas: usize,
}

pub async fn run(args: MigrateArgs) -> anyhow::Result<()> {
    let config = Config {
        data_dir: args.data_dir,
        ..Config::default()
    };
    let from = config.log.open(&config.events_dir(), None).await?;
    let target = EventLogConfig {
        event_log: args.to.clone(),
        event_log_prefix: args.to_prefix,
        event_log_replicas: args.to_replicas,
    };
    anyhow::ensure!(
        target.is_shared(),
        "--to must be a nats:// URL, not {:?}",
        masked(&args.to)
    );
    let to = target.open(&config.events_dir(), None).await?;
    let mut bar = Bar::events()?;
    let copied = replay::migrate(&*from, &*to, &mut bar)
        .await
        .with_context(|| format!("migrating into {}", masked(&args.to)))?;
    println!(
        "migrated: {copied} events copied, {} in the target; start the nodes with \
         FF_EVENT_LOG={} FF_EVENT_LOG_PREFIX={} and this data dir's secrets \
         (FF_JWT_SECRET, FF_MASTER_KEY from {})",
        to.head().await?,
        masked(&args.to),
        target.event_log_prefix,
        config.secrets_dir().display()
    );
    Ok(())
}
