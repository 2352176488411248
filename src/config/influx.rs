//! `FF_INFLUX_*`: the InfluxDB v2 export, off unless `FF_INFLUX_URL` names a server. Every
//! node exports the messages it accepted, next to storing them in `FF_TELEMETRY`.

use adapters::influx::{InfluxExport, InfluxOptions};
use anyhow::{anyhow, bail};
use clap::Args;
use projections::masked_url as masked;

#[derive(Debug, Clone, Default, Args)]
pub struct InfluxConfig {
    /// `http://host:8086`: also write every message to this InfluxDB v2 write API.
    #[arg(long, env = "FF_INFLUX_URL", hide_env_values = true)]
    pub influx_url: Option<String>,
    /// The organization (InfluxDB v2 `org`; ignored by servers without one).
    #[arg(long, env = "FF_INFLUX_ORG", default_value = "")]
    pub influx_org: String,
    /// The bucket, Mainflux's database name by default.
    #[arg(long, env = "FF_INFLUX_BUCKET", default_value = "messages")]
    pub influx_bucket: String,
    /// An API token with write access to the bucket (`Authorization: Token …`).
    #[arg(long, env = "FF_INFLUX_TOKEN", hide_env_values = true)]
    pub influx_token: Option<String>,
}

impl InfluxConfig {
    fn url(&self) -> anyhow::Result<Option<&str>> {
        // Set but empty (`FF_INFLUX_URL=` in an env file) is off, like unset.
        let url = self.influx_url.as_deref().map(str::trim);
        let Some(url) = url.filter(|url| !url.is_empty()) else {
            return Ok(None);
        };
        if !url.starts_with("http://") {
            bail!(
                "FF_INFLUX_URL={} is not an http:// URL (https is not supported yet: put a \
                 TLS-terminating proxy on loopback)",
                masked(url)
            );
        }
        if self.influx_bucket.is_empty() {
            bail!("FF_INFLUX_BUCKET must name a bucket");
        }
        Ok(Some(url))
    }

    pub fn check(&self) -> anyhow::Result<()> {
        self.url().map(|_| ())
    }

    /// The export, reachable, or `None` when `FF_INFLUX_URL` is unset.
    pub async fn open(&self) -> anyhow::Result<Option<InfluxExport>> {
        let Some(url) = self.url()? else {
            return Ok(None);
        };
        let options = InfluxOptions {
            url: url.to_owned(),
            org: self.influx_org.clone(),
            bucket: self.influx_bucket.clone(),
            token: self.influx_token.clone(),
        };
        let export = InfluxExport::connect(options)
            .await
            .map_err(|e| anyhow!("FF_INFLUX_URL ({}): {e}", masked(url)))?;
        tracing::info!(influx = %masked(url), bucket = %self.influx_bucket, "messages also exported to InfluxDB");
        Ok(Some(export))
    }

    pub fn render(&self) -> Vec<String> {
        let secret = |value: &Option<String>| match value {
            Some(_) => "****".to_owned(),
            None => "(unset)".to_owned(),
        };
        vec![
            format!(
                "FF_INFLUX_URL={}",
                self.influx_url
                    .as_deref()
                    .map_or("(unset: no export)".into(), masked)
            ),
            format!("FF_INFLUX_ORG={}", self.influx_org),
            format!("FF_INFLUX_BUCKET={}", self.influx_bucket),
            format!("FF_INFLUX_TOKEN={}", secret(&self.influx_token)),
        ]
    }
}
