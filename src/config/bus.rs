//! `FF_BUS*`: where a node's messages go: its own process (`memory`, the default), or NATS
//! core subjects shared with every node on the same NATS and prefix, so that a message
//! published on one node reaches the subscribers of all.

use std::sync::Arc;

use adapters::bus::{MemoryBus, MessageBus, NatsBus, NatsBusOptions};
use anyhow::{Context, bail};
use clap::Args;
use projections::masked_url as masked;

#[derive(Debug, Clone, Args)]
pub struct BusConfig {
    /// `memory` (this process only) or `nats://host:port` (several comma-separated: one
    /// cluster), shared by every node with the same `FF_BUS_PREFIX`.
    #[arg(long, env = "FF_BUS", default_value = "memory", hide_env_values = true)]
    pub bus: String,
    /// NATS subject prefix of the messages: `ff` → `ff.channels.<channel id>`.
    #[arg(long, env = "FF_BUS_PREFIX", default_value = "ff")]
    pub bus_prefix: String,
}

impl Default for BusConfig {
    fn default() -> Self {
        Self {
            bus: "memory".into(),
            bus_prefix: "ff".into(),
        }
    }
}

impl BusConfig {
    /// The NATS URL, `None` for the in-process bus.
    fn nats(&self) -> anyhow::Result<Option<&str>> {
        let url = self.bus.trim();
        if url == "memory" || url == "memory://" {
            return Ok(None);
        }
        if url.starts_with("nats://") || url.starts_with("tls://") {
            if self.bus_prefix.is_empty() || self.bus_prefix.contains(['*', '>', ' ']) {
                bail!(
                    "FF_BUS_PREFIX={:?} is no subject prefix: use letters, digits, - and _",
                    self.bus_prefix
                );
            }
            return Ok(Some(url));
        }
        bail!(
            "FF_BUS={} is not a message bus: use memory or nats://host:port",
            masked(url)
        )
    }

    pub fn check(&self) -> anyhow::Result<()> {
        self.nats().map(|_| ())
    }

    pub async fn open(&self) -> anyhow::Result<Arc<dyn MessageBus>> {
        let Some(url) = self.nats()? else {
            return Ok(Arc::new(MemoryBus::new()));
        };
        let options = NatsBusOptions {
            prefix: self.bus_prefix.clone(),
            ..NatsBusOptions::default()
        };
        let bus = NatsBus::connect(url, options)
            .await
            .with_context(|| format!("FF_BUS={}: cannot join the message bus", masked(url)))?;
        tracing::info!(bus = %masked(url), prefix = %self.bus_prefix, "messages shared with other nodes over NATS");
        Ok(Arc::new(bus))
    }

    pub fn render(&self) -> Vec<String> {
        vec![
            format!("FF_BUS={}", masked(&self.bus)),
            format!("FF_BUS_PREFIX={}", self.bus_prefix),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(bus: &str, prefix: &str) -> BusConfig {
        BusConfig {
            bus: bus.into(),
            bus_prefix: prefix.into(),
        }
    }

    #[test]
    fn urls_choose_the_bus() {
        assert_eq!(config("memory", "ff").nats().unwrap(), None);
        assert_eq!(
            config("nats://127.0.0.1:4222", "ff").nats().unwrap(),
            Some("nats://127.0.0.1:4222")
        );
        let error = config("kafka://x", "ff").check().unwrap_err().to_string();
        assert!(error.contains("FF_BUS="), "{error}");
        let error = config("nats://x:1", "a.>").check().unwrap_err().to_string();
        assert!(error.contains("FF_BUS_PREFIX"), "{error}");
    }
}
