//! `ferroflux migrate --to nats://…`: copies the embedded (fjall) history of a data dir into
//! a JetStream log, positions kept; `--telemetry-to postgres://…` copies its telemetry into
//! PostgreSQL's `messages` table. Progress bars; run it again to resume either.

use std::path::PathBuf;

use super::progress::Bar;
use adapters::telemetry::{FjallTelemetryStore, PgTelemetryStore};
use anyhow::Context;
use clap::Args;
use ferroflux::Config;
use ferroflux::config::{EventLogConfig, TelemetryConfig, masked};

#[derive(Debug, Args)]
pub struct MigrateArgs {
    /// The data dir whose fjall event log and telemetry are copied (the server must be
    /// stopped).
    #[arg(long, env = "FF_DATA_DIR", default_value = "./data")]
    data_dir: PathBuf,
    /// The JetStream log to copy the event log into: `nats://host:port`.
    #[arg(long, required_unless_present = "telemetry_to")]
    to: Option<String>,
    /// Its subject prefix and stream-name stem (`FF_EVENT_LOG_PREFIX` of the new nodes).
    #[arg(long, default_value = "ff")]
    to_prefix: String,
    /// Replicas of its streams when they are created.
    #[arg(long, default_value_t = 1)]
    to_replicas: usize,
    /// The PostgreSQL database to copy the telemetry into (`FF_TELEMETRY` of the new nodes).
    #[arg(long)]
    telemetry_to: Option<String>,
}

/// Records per transaction of a telemetry copy (the writer's largest batch).
const RECORDS_PER_BATCH: usize = 1024;

pub async fn run(args: MigrateArgs) -> anyhow::Result<()> {
    let config = Config {
        data_dir: args.data_dir.clone(),
        ..Config::default()
    };
    if let Some(url) = &args.to {
        events(&config, url, &args).await?;
    }
    if let Some(url) = &args.telemetry_to {
        telemetry(&config, url).await?;
    }
    Ok(())
}

async fn events(config: &Config, to: &str, args: &MigrateArgs) -> anyhow::Result<()> {
    let from = config.log.open(&config.events_dir(), None).await?;
    let target = EventLogConfig {
        event_log: to.to_owned(),
        event_log_prefix: args.to_prefix.clone(),
        event_log_replicas: args.to_replicas,
    };
    anyhow::ensure!(
        target.is_shared(),
        "--to must be a nats:// URL, not {:?}",
        masked(to)
    );
    let into = target.open(&config.events_dir(), None).await?;
    let mut bar = Bar::events()?;
    let copied = replay::migrate(&*from, &*into, &mut bar)
        .await
        .with_context(|| format!("migrating into {}", masked(to)))?;
    println!(
        "migrated: {copied} events copied, {} in the target; start the nodes with \
         FF_EVENT_LOG={} FF_EVENT_LOG_PREFIX={} and this data dir's secrets \
         (FF_JWT_SECRET, FF_MASTER_KEY from {})",
        into.head().await?,
        masked(&target.event_log),
        target.event_log_prefix,
        config.secrets_dir().display()
    );
    Ok(())
}

/// Copies the data dir's fjall telemetry into the `messages` table of `url`, in key order
/// (per channel oldest first), each batch with its position in one transaction.
async fn telemetry(config: &Config, url: &str) -> anyhow::Result<()> {
    let target = TelemetryConfig {
        telemetry: url.to_owned(),
    };
    anyhow::ensure!(
        target.is_postgres(),
        "--telemetry-to must be a postgres:// URL, not {:?}",
        masked(url)
    );
    let dir = config.data_dir.join("telemetry");
    let from = FjallTelemetryStore::open(&dir).with_context(|| {
        format!(
            "opening the telemetry in {} (is the server stopped?)",
            dir.display()
        )
    })?;
    let into = PgTelemetryStore::connect(url)
        .await
        .map_err(|e| anyhow::anyhow!("--telemetry-to ({}): {e}", masked(url)))?;
    let position = into.import_position(from.id()).await?;
    let (mut after, mut copied) = match position {
        Some(position) => (Some(position.last_key), position.copied),
        None => (None, 0),
    };
    let bar = Bar::records(from.record_count(), copied)?;
    loop {
        let batch = from.export_after(after.as_deref(), RECORDS_PER_BATCH)?;
        let Some(last_key) = batch.last_key else {
            break;
        };
        copied += batch.records.len() as u64;
        into.import(from.id(), batch.records, &last_key).await?;
        bar.set(copied);
        after = Some(last_key);
    }
    bar.done();
    println!(
        "migrated: {copied} telemetry records in {}; start the nodes with FF_TELEMETRY={}",
        masked(url),
        masked(url)
    );
    Ok(())
}
