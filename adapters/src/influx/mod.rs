//! The InfluxDB v2 export (`FF_INFLUX_URL`): every stored message also written to an
//! InfluxDB bucket (or a server with its write API, such as VictoriaMetrics), for Grafana and
//! the like. A second writer on the bus feeds it; the reader API keeps reading the telemetry
//! store. Line protocol over our own HTTP client (README: why not the `influxdb2` crate).
//!
//! - `line`: records as line protocol, in Mainflux's InfluxDB writer layout.

mod line;

use std::time::Duration;

use async_trait::async_trait;

use crate::telemetry::{TelemetryError, TelemetryRecord};
use crate::writer::RecordSink;

pub use line::encode;

/// How long a write may take before the export counts as unavailable (and retries).
const TIMEOUT: Duration = Duration::from_secs(10);

/// Where to write: the server's base URL (`http://host:8086`), organization, bucket, token.
#[derive(Debug, Clone)]
pub struct InfluxOptions {
    pub url: String,
    pub org: String,
    pub bucket: String,
    pub token: Option<String>,
}

/// Writes batches to `/api/v2/write`, one request per batch, nanosecond precision.
pub struct InfluxExport {
    client: reqwest::Client,
    write_url: String,
    token: Option<String>,
}

impl InfluxExport {
    /// Checks that the server answers (`/health`) before the node starts, so a wrong URL is
    /// one line at start, not a stream of retries later.
    pub async fn connect(options: InfluxOptions) -> Result<Self, TelemetryError> {
        let base = options.url.trim_end_matches('/');
        let client = reqwest::Client::builder()
            .timeout(TIMEOUT)
            .build()
            .map_err(unavailable)?;
        let health = client
            .get(format!("{base}/health"))
            .send()
            .await
            .map_err(unavailable)?;
        if !health.status().is_success() {
            return Err(TelemetryError::Unavailable(format!(
                "{base}/health answered {}",
                health.status()
            )));
        }
        let query: String = form_urlencoded::Serializer::new(String::new())
            .append_pair("org", &options.org)
            .append_pair("bucket", &options.bucket)
            .append_pair("precision", "ns")
            .finish();
        Ok(Self {
            client,
            write_url: format!("{base}/api/v2/write?{query}"),
            token: options.token,
        })
    }
}

#[async_trait]
impl RecordSink for InfluxExport {
    /// A refused batch (400, 413, 422: the server will refuse it again) is `Invalid`; a
    /// server that is down, overloaded or not letting us in (401, 403, 404: a token or bucket
    /// the operator can still fix) is `Unavailable`, which the writer retries.
    async fn save(&self, records: Vec<TelemetryRecord>) -> Result<(), TelemetryError> {
        if records.is_empty() {
            return Ok(());
        }
        let mut body = String::with_capacity(records.len() * 256);
        encode(&records, &mut body);
        let mut request = self.client.post(&self.write_url).body(body);
        if let Some(token) = &self.token {
            request = request.header("authorization", format!("Token {token}"));
        }
        let response = request.send().await.map_err(unavailable)?;
        let status = response.status();
        if status.is_success() {
            return Ok(());
        }
        let reason = response.text().await.unwrap_or_default();
        let reason = format!("InfluxDB answered {status}: {}", reason.trim());
        match status.as_u16() {
            400 | 413 | 422 => Err(TelemetryError::Invalid(reason)),
            _ => Err(TelemetryError::Unavailable(reason)),
        }
    }

    /// One InfluxDB for all nodes: each exports what it accepted.
    fn shared(&self) -> bool {
        true
    }
}

fn unavailable(error: reqwest::Error) -> TelemetryError {
    TelemetryError::Unavailable(error.to_string())
}
