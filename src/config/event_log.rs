//! Which event log a node uses: fjall in the data dir (embedded, the default) or NATS
//! JetStream (several nodes share it).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, bail};
use clap::Args;
use commands::event_log::{FjallEventLog, JetStreamEventLog, JetStreamOptions};
use domain::ports::event_log::EventLog;
use projections::masked_url as masked;

#[derive(Debug, Clone, Args)]
pub struct EventLogConfig {
    /// `fjall` (in the data dir), `fjall:///path`, or `nats://host:port` for JetStream
    /// (nats-server 2.12 or newer, run with `sync_interval: always` for durable appends).
    #[arg(long, env = "FF_EVENT_LOG", default_value = "fjall")]
    pub event_log: String,
    /// JetStream subject prefix and stream-name stem: `ff` → `ff.events.…`, `FF_EVENTS`.
    #[arg(long, env = "FF_EVENT_LOG_PREFIX", default_value = "ff")]
    pub event_log_prefix: String,
    /// Replicas of the JetStream streams when this node creates them (3 on a cluster).
    #[arg(long, env = "FF_EVENT_LOG_REPLICAS", default_value_t = 1)]
    pub event_log_replicas: usize,
}

impl Default for EventLogConfig {
    fn default() -> Self {
        Self {
            event_log: "fjall".into(),
            event_log_prefix: "ff".into(),
            event_log_replicas: 1,
        }
    }
}

/// A parsed `FF_EVENT_LOG`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventLogBackend {
    Fjall(Option<PathBuf>),
    Nats(String),
}

impl EventLogConfig {
    pub fn backend(&self) -> anyhow::Result<EventLogBackend> {
        let url = self.event_log.trim();
        if url == "fjall" || url == "fjall://" {
            return Ok(EventLogBackend::Fjall(None));
        }
        if let Some(path) = url.strip_prefix("fjall://") {
            return Ok(EventLogBackend::Fjall(Some(PathBuf::from(path))));
        }
        if url.starts_with("nats://") || url.starts_with("tls://") {
            if !(1..=5).contains(&self.event_log_replicas) {
                bail!(
                    "FF_EVENT_LOG_REPLICAS must be 1 to 5, not {}",
                    self.event_log_replicas
                );
            }
            return Ok(EventLogBackend::Nats(url.to_owned()));
        }
        bail!(
            "FF_EVENT_LOG={url:?} is not an event log: use fjall, fjall:///path or nats://host:port"
        )
    }

    pub fn is_shared(&self) -> bool {
        matches!(self.backend(), Ok(EventLogBackend::Nats(_)))
    }

    /// Opens the log; `events_dir` is where fjall keeps it by default. On a shared log, a
    /// node whose secrets' `fingerprint` differs from the cluster's is refused.
    pub async fn open(
        &self,
        events_dir: &Path,
        fingerprint: Option<&str>,
    ) -> anyhow::Result<Arc<dyn EventLog>> {
        match self.backend()? {
            EventLogBackend::Fjall(path) => {
                let dir = path.unwrap_or_else(|| events_dir.to_owned());
                let log = FjallEventLog::open(&dir).with_context(|| {
                    format!(
                        "cannot open the event log in {} (is another ferroflux using this data dir?)",
                        dir.display()
                    )
                })?;
                Ok(Arc::new(log))
            }
            EventLogBackend::Nats(url) => {
                let options = JetStreamOptions {
                    prefix: self.event_log_prefix.clone(),
                    replicas: self.event_log_replicas,
                };
                let log = JetStreamEventLog::connect(&url, options)
                    .await
                    .with_context(|| {
                        format!("FF_EVENT_LOG={}: cannot open the event log", masked(&url))
                    })?;
                let disagrees = match fingerprint {
                    Some(fingerprint) => log.agree("secrets", fingerprint).await?.is_some(),
                    None => false,
                };
                if disagrees {
                    bail!(
                        "FF_JWT_SECRET or FF_MASTER_KEY differ from those the other nodes on \
                         FF_EVENT_LOG={} use: start this node with the cluster's secrets",
                        masked(&url)
                    );
                }
                Ok(Arc::new(log))
            }
        }
    }

    pub fn render(&self) -> Vec<String> {
        vec![
            format!("FF_EVENT_LOG={}", masked(&self.event_log)),
            format!("FF_EVENT_LOG_PREFIX={}", self.event_log_prefix),
            format!("FF_EVENT_LOG_REPLICAS={}", self.event_log_replicas),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn backend(url: &str) -> anyhow::Result<EventLogBackend> {
        EventLogConfig {
            event_log: url.into(),
            ..EventLogConfig::default()
        }
        .backend()
    }

    #[test]
    fn urls_choose_the_backend() {
        assert_eq!(backend("fjall").unwrap(), EventLogBackend::Fjall(None));
        assert_eq!(
            backend("fjall:///var/ff").unwrap(),
            EventLogBackend::Fjall(Some("/var/ff".into()))
        );
        assert_eq!(
            backend("nats://127.0.0.1:4222").unwrap(),
            EventLogBackend::Nats("nats://127.0.0.1:4222".into())
        );
        let error = backend("kafka://x").unwrap_err().to_string();
        assert!(error.contains("FF_EVENT_LOG"), "{error}");
    }
}
