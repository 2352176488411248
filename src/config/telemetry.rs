//! `FF_TELEMETRY`: where messages are stored and read back. fjall in the data dir (the
//! default, one store per node, each fed every node's messages), or PostgreSQL (one
//! `messages` table for all nodes, each node writing the messages it accepted).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use adapters::telemetry::{FjallTelemetryStore, PgTelemetryStore, TelemetryStore};
use anyhow::{Context, anyhow, bail};
use clap::Args;
use projections::masked_url as masked;

#[derive(Debug, Clone, Args)]
pub struct TelemetryConfig {
    /// `fjall` (in the data dir), `fjall:///path`, or a `postgres://user:password@host/db`
    /// URL whose `messages` table every node may share.
    #[arg(
        long,
        env = "FF_TELEMETRY",
        default_value = "fjall",
        hide_env_values = true
    )]
    pub telemetry: String,
}

impl Default for TelemetryConfig {
    fn default() -> Self {
        Self {
            telemetry: "fjall".into(),
        }
    }
}

/// A parsed `FF_TELEMETRY`.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Backend {
    Fjall(Option<PathBuf>),
    Postgres(String),
}

impl TelemetryConfig {
    fn backend(&self) -> anyhow::Result<Backend> {
        let url = self.telemetry.trim();
        if url == "fjall" || url == "fjall://" {
            return Ok(Backend::Fjall(None));
        }
        if let Some(path) = url.strip_prefix("fjall://") {
            return Ok(Backend::Fjall(Some(PathBuf::from(path))));
        }
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(Backend::Postgres(url.to_owned()));
        }
        bail!(
            "FF_TELEMETRY={} is not a telemetry store: use fjall, fjall:///path or postgres://…",
            masked(url)
        )
    }

    pub fn check(&self) -> anyhow::Result<()> {
        self.backend().map(|_| ())
    }

    /// Whether the setting names a PostgreSQL database.
    pub fn is_postgres(&self) -> bool {
        matches!(self.backend(), Ok(Backend::Postgres(_)))
    }

    /// Opens the store; `telemetry_dir` is where fjall keeps it by default. An unreachable
    /// database is one line naming `FF_TELEMETRY` (password masked).
    pub async fn open(&self, telemetry_dir: &Path) -> anyhow::Result<Arc<dyn TelemetryStore>> {
        match self.backend()? {
            Backend::Fjall(path) => {
                let dir = path.unwrap_or_else(|| telemetry_dir.to_owned());
                let store = FjallTelemetryStore::open(&dir).with_context(|| {
                    format!("cannot open the telemetry store in {}", dir.display())
                })?;
                Ok(Arc::new(store))
            }
            Backend::Postgres(url) => {
                let store = PgTelemetryStore::connect(&url)
                    .await
                    .map_err(|e| anyhow!("FF_TELEMETRY ({}): {e}", masked(&url)))?;
                tracing::info!(telemetry = %masked(&url), "messages stored in PostgreSQL (table messages)");
                Ok(Arc::new(store))
            }
        }
    }

    pub fn render(&self) -> Vec<String> {
        vec![format!("FF_TELEMETRY={}", masked(&self.telemetry))]
    }
}
