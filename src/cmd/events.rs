//! `ferroflux events`: history as NDJSON on stdout.
//!
//! A stopped server's data dir is read directly. A running server locks it, so the history
//! is then streamed from the server's `GET /events`, authorized by the admin token that
//! the server keeps in the data dir: whoever can read the data dir may read the history.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::{Args, ValueEnum};
use ferroflux::config::EventLogConfig;
use ferroflux::{Config, app};

#[derive(Debug, Args)]
pub struct EventsArgs {
    #[arg(long, env = "FF_DATA_DIR", default_value = "./data")]
    data_dir: PathBuf,
    /// The running server's HTTP address, used when it holds the data dir.
    #[arg(long, env = "FF_HTTP_ADDR", default_value = "0.0.0.0:8080")]
    http_addr: ferroflux::config::ListenAddr,
    /// Print events with a position greater than this (0 = from the start).
    #[arg(long, default_value_t = 0)]
    from: u64,
    /// Keep printing new events as they are appended.
    #[arg(long)]
    follow: bool,
    /// `log`: the provisioning history. `mqtt`: MQTT connects and disconnects as they
    /// happen (Mainflux's `mainflux.mqtt` feed), from the running server; never ends.
    #[arg(long, value_enum, default_value_t = Feed::Log)]
    feed: Feed,
    #[command(flatten)]
    log: EventLogConfig,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Feed {
    Log,
    Mqtt,
}

pub async fn run(args: EventsArgs) -> anyhow::Result<()> {
    let config = Config {
        data_dir: args.data_dir.clone(),
        log: args.log.clone(),
        ..Config::default()
    };
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let result = match args.feed {
        Feed::Log => history(&args, &config, &mut out).await,
        Feed::Mqtt => stream_from_server(&args, &config, "/events/mqtt", &mut out).await,
    };
    match result {
        Err(e) if is_broken_pipe(&e) => Ok(()),
        other => other,
    }
}

/// From the data dir when no server holds it, else from the running server.
async fn history(args: &EventsArgs, config: &Config, out: &mut dyn Write) -> anyhow::Result<()> {
    match app::open_log(config).await {
        Ok(log) => replay::export_ndjson(&*log, args.from, args.follow, out)
            .await
            .map(|_| ())
            .map_err(anyhow::Error::from),
        Err(local) => {
            let path = format!("/events?after={}&follow={}", args.from, args.follow);
            stream_from_server(args, config, &path, out)
                .await
                .with_context(|| format!("{local:#}; reading from the running server failed too"))
        }
    }
}

/// Copies the running server's NDJSON answer at `path` to `out`, line by line as it comes.
async fn stream_from_server(
    args: &EventsArgs,
    config: &Config,
    path: &str,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    let token_file = config.secrets_dir().join("admin.token");
    let token = std::fs::read_to_string(&token_file)
        .with_context(|| format!("cannot read {}", token_file.display()))?;
    let Some(mut addr) = args.http_addr.addr() else {
        anyhow::bail!("the server's plain HTTP listener is off (FF_HTTP_ADDR=off): nothing to ask");
    };
    if addr.ip().is_unspecified() {
        addr.set_ip([127, 0, 0, 1].into());
    }
    let url = format!("http://{addr}{path}");
    let mut response = reqwest::Client::new()
        .get(&url)
        .bearer_auth(token.trim())
        .send()
        .await
        .with_context(|| format!("GET {url}"))?;
    if !response.status().is_success() {
        bail!("GET {url} answered {}", response.status());
    }
    while let Some(chunk) = response.chunk().await? {
        out.write_all(&chunk)?;
        out.flush()?;
    }
    Ok(())
}

fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
