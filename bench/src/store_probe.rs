//! How much a ferroflux server has stored, asked two ways: `/metrics` while the run's CPU
//! is counted (a counter read costs the server next to nothing), the reader API after it
//! (its `total` walks every stored record, work that is no part of storing).

use anyhow::Context;
use serde_json::Value;

/// A ferroflux server that stores: its HTTP base URL, one channel and its owner's token.
#[derive(Clone)]
pub struct Store {
    pub base: String,
    pub channel: String,
    pub token: String,
}

impl Store {
    /// Records the telemetry writer has saved (`ferroflux_telemetry_records_stored_total`).
    pub async fn saved(&self) -> anyhow::Result<u64> {
        const NAME: &str = "ferroflux_telemetry_records_stored_total ";
        let text = reqwest::get(format!("{}/metrics", self.base))
            .await?
            .error_for_status()?
            .text()
            .await?;
        text.lines()
            .find_map(|line| line.strip_prefix(NAME))
            .context("no stored-records metric")?
            .parse()
            .context("stored-records metric")
    }

    /// What the reader API answers as the channel's `total`.
    pub async fn readable(&self) -> anyhow::Result<u64> {
        self.total("").await
    }

    /// The same with a time filter that keeps everything: the reader then counts by
    /// walking the channel's records.
    pub async fn readable_walked(&self) -> anyhow::Result<u64> {
        self.total("&from=0").await
    }

    async fn total(&self, filter: &str) -> anyhow::Result<u64> {
        let page: Value = reqwest::Client::new()
            .get(format!(
                "{}/channels/{}/messages?limit=1{filter}",
                self.base, self.channel
            ))
            .bearer_auth(&self.token)
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        page["total"].as_u64().context("reader total")
    }
}
