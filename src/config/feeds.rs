//! `FF_FEEDS*`: the Redis-stream feeds in Mainflux's format (`mainflux.things`,
//! `mainflux.bootstrap`, `mainflux.mqtt`); off unless `FF_FEEDS` names a Redis.

use clap::Args;

/// A consumer away for an hour at 100 provisioning events per second (360,000 entries)
/// loses nothing; a few hundred MB of Redis at most.
pub const DEFAULT_FEEDS_MAXLEN: u64 = 1_000_000;

#[derive(Debug, Clone, Args)]
pub struct FeedsConfig {
    /// Redis for the event feeds, `redis://[user:password@]host:port[/db]`; unset = no feeds.
    #[arg(long = "feeds", env = "FF_FEEDS", hide_env_values = true)]
    pub feeds: Option<String>,
    /// Entries each feed stream keeps, approximately (`XADD … MAXLEN ~`); older ones are
    /// trimmed.
    #[arg(long, env = "FF_FEEDS_MAXLEN", default_value_t = DEFAULT_FEEDS_MAXLEN)]
    pub feeds_maxlen: u64,
    /// Prefix of the stream keys (`<prefix>mainflux.things`); empty = Mainflux's names.
    #[arg(long, env = "FF_FEEDS_PREFIX", default_value = "")]
    pub feeds_prefix: String,
}

impl Default for FeedsConfig {
    fn default() -> Self {
        Self {
            feeds: None,
            feeds_maxlen: DEFAULT_FEEDS_MAXLEN,
            feeds_prefix: String::new(),
        }
    }
}

impl FeedsConfig {
    pub fn check(&self) -> anyhow::Result<()> {
        if let Some(url) = &self.feeds {
            projections::feeds::check_url(url).map_err(|e| {
                anyhow::anyhow!(
                    "FF_FEEDS={} is {e}; expected redis://host:port[/db]",
                    projections::masked_url(url)
                )
            })?;
        }
        if self.feeds_maxlen == 0 {
            anyhow::bail!("FF_FEEDS_MAXLEN must be at least 1");
        }
        Ok(())
    }

    /// The stream key of `name` (`mainflux.things`, …).
    pub fn key(&self, name: &str) -> String {
        format!("{}{name}", self.feeds_prefix)
    }

    pub fn render(&self) -> Vec<String> {
        let url = match &self.feeds {
            Some(url) => projections::masked_url(url),
            None => "(off)".to_owned(),
        };
        vec![
            format!("FF_FEEDS={url}"),
            format!("FF_FEEDS_MAXLEN={}", self.feeds_maxlen),
            format!("FF_FEEDS_PREFIX={}", self.feeds_prefix),
        ]
    }
}
