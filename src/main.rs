//! `ferroflux`: one binary for the server and its operator tools.

mod cmd;

/// jemalloc, not glibc malloc: durable `POST /things` went from 0.24× to 0.30× raw group
/// commit, the other benches did not move (README, "Packages beyond the chosen list"). The
/// bench links the same allocator.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

use clap::{Parser, Subcommand};
use cmd::entities::Kind;
use ferroflux::Config;

#[derive(Parser)]
#[command(
    name = "ferroflux",
    version,
    about = "IoT messaging and device management server"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server (embedded defaults: no other server needed).
    Serve(Config),
    /// Print the effective configuration, secrets masked.
    Config(Config),
    /// Print the event history as NDJSON.
    Events(cmd::events::EventsArgs),
    /// Rebuild projections from the event log.
    Replay(cmd::replay::ReplayArgs),
    /// Copy the embedded event log into NATS JetStream and the telemetry into PostgreSQL
    /// (grow into several nodes).
    Migrate(cmd::migrate::MigrateArgs),
    /// Provision devices from a CSV through a running server's `POST /mapping`.
    Provision(cmd::provision::ProvisionArgs),
    /// List, create or remove things through a running server's REST API.
    Things(cmd::entities::EntityArgs),
    /// List, create or remove channels through a running server's REST API.
    Channels(cmd::entities::EntityArgs),
    /// List, create or remove bootstrap configs through a running server's REST API.
    Configs(cmd::entities::EntityArgs),
}

fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,fjall=warn,lsm_tree=warn".into()),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        match cli.command {
            Command::Serve(config) => cmd::serve::run(config).await,
            Command::Config(config) => {
                println!("{}", config.render());
                config.check()
            }
            Command::Events(args) => cmd::events::run(args).await,
            Command::Replay(args) => cmd::replay::run(args).await,
            Command::Migrate(args) => cmd::migrate::run(args).await,
            Command::Provision(args) => cmd::provision::run(args).await,
            Command::Things(args) => cmd::entities::run(Kind::Things, args).await,
            Command::Channels(args) => cmd::entities::run(Kind::Channels, args).await,
            Command::Configs(args) => cmd::entities::run(Kind::Configs, args).await,
        }
    });
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
