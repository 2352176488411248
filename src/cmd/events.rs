//! `ferroflux events`: history as NDJSON on stdout.

use std::path::PathBuf;

use clap::Args;
use ferroflux::{Config, app};

#[derive(Debug, Args)]
pub struct EventsArgs {
    #[arg(long, env = "FF_DATA_DIR", default_value = "./data")]
    data_dir: PathBuf,
    /// Print events with a position greater than this (0 = from the start).
    #[arg(long, default_value_t = 0)]
    from: u64,
    /// Keep printing new events as they are appended.
    #[arg(long)]
    follow: bool,
}

pub async fn run(args: EventsArgs) -> anyhow::Result<()> {
    let config = Config {
        data_dir: args.data_dir,
        ..Config::default()
    };
    let log = app::open_log(&config)?;
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    match replay::export_ndjson(&log, args.from, args.follow, &mut out).await {
        Err(replay::ReplayError::Output(e)) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other.map(|_| ()).map_err(Into::into),
    }
}
