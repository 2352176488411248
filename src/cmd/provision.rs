//! `ferroflux provision --from devices.csv`: one `POST /mapping` per device, a bounded
//! number in flight, with a progress bar and a summary. Re-running it is safe: a device
//! whose external id is already provisioned answers 409 and is counted as skipped, and the
//! server's mapping is all or nothing, so an interrupted run leaves no half-made device.

use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::Args;
use futures::StreamExt;
use indicatif::{ProgressBar, ProgressStyle};
use reqwest::{Method, StatusCode};
use serde::Serialize;
use serde_json::json;

use super::api_client::{ApiArgs, ApiClient};

#[derive(Debug, Args)]
pub struct ProvisionArgs {
    /// CSV, one device a line: external id, external key, name (optional). Empty lines and
    /// lines starting with `#` are skipped.
    #[arg(long)]
    from: PathBuf,
    /// Requests in flight at once.
    #[arg(long, default_value_t = 16)]
    concurrency: usize,
    #[command(flatten)]
    api: ApiArgs,
}

/// One line of the CSV.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Device {
    pub external_id: String,
    pub external_key: String,
    pub name: Option<String>,
}

/// What a run did, printed as JSON at the end.
#[derive(Debug, Default, Serialize)]
pub struct Summary {
    pub made: u64,
    pub skipped: u64,
    pub failed: u64,
    /// The first failures, with the server's reason.
    pub errors: Vec<String>,
}

/// Failures listed in the summary; the rest are only counted.
const ERRORS_SHOWN: usize = 20;

enum Outcome {
    Made,
    Skipped,
    Failed(String),
}

pub async fn run(args: ProvisionArgs) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(&args.from)
        .with_context(|| format!("cannot read {}", args.from.display()))?;
    let devices = parse_csv(&text)?;
    let client = ApiClient::new(&args.api)?;
    let bar = ProgressBar::new(devices.len() as u64).with_style(ProgressStyle::with_template(
        "{bar:40} {pos}/{len} devices  {per_sec}  eta {eta}",
    )?);
    let mut summary = Summary::default();
    let mut outcomes = futures::stream::iter(devices)
        .map(|device| {
            let client = client.clone();
            async move {
                (
                    device.external_id.clone(),
                    provision(&client, &device).await,
                )
            }
        })
        .buffer_unordered(args.concurrency.max(1));
    while let Some((external_id, outcome)) = outcomes.next().await {
        match outcome {
            Outcome::Made => summary.made += 1,
            Outcome::Skipped => summary.skipped += 1,
            Outcome::Failed(why) => {
                summary.failed += 1;
                if summary.errors.len() < ERRORS_SHOWN {
                    summary.errors.push(format!("{external_id}: {why}"));
                }
            }
        }
        bar.inc(1);
    }
    bar.finish();
    println!("{}", serde_json::to_string_pretty(&summary)?);
    if summary.failed > 0 {
        bail!("{} devices failed; run again to retry them", summary.failed);
    }
    Ok(())
}

async fn provision(client: &ApiClient, device: &Device) -> Outcome {
    let body = json!({
        "external_id": device.external_id,
        "external_key": device.external_key,
        "name": device.name,
    });
    match client.send(Method::POST, "/mapping", Some(&body)).await {
        Ok(answer) if answer.status == StatusCode::CREATED => Outcome::Made,
        // Taken: provisioned by an earlier run. The API answers the same 409 when another
        // user holds the id (it does not say whose), so that device is counted as skipped too.
        Ok(answer) if answer.status == StatusCode::CONFLICT => Outcome::Skipped,
        Ok(answer) => Outcome::Failed(format!("{}: {}", answer.status, answer.body)),
        Err(error) => Outcome::Failed(format!("{error:#}")),
    }
}

/// Parses the device list; a malformed line stops the run before any request.
pub fn parse_csv(text: &str) -> anyhow::Result<Vec<Device>> {
    let mut devices = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let fields: Vec<&str> = line.split(',').map(str::trim).collect();
        match fields.as_slice() {
            [id, key] | [id, key, ""] if !id.is_empty() && !key.is_empty() => {
                devices.push(Device {
                    external_id: (*id).to_owned(),
                    external_key: (*key).to_owned(),
                    name: None,
                });
            }
            [id, key, name] if !id.is_empty() && !key.is_empty() => devices.push(Device {
                external_id: (*id).to_owned(),
                external_key: (*key).to_owned(),
                name: Some((*name).to_owned()),
            }),
            _ => bail!(
                "line {}: expected `external id, external key[, name]`, got `{line}`",
                n + 1
            ),
        }
    }
    Ok(devices)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_lines_become_devices() {
        let text = "# id,key,name\n\naa:bb,secret,kitchen\ncc:dd, other \n";
        let devices = parse_csv(text).expect("parses");
        assert_eq!(
            devices,
            vec![
                Device {
                    external_id: "aa:bb".into(),
                    external_key: "secret".into(),
                    name: Some("kitchen".into()),
                },
                Device {
                    external_id: "cc:dd".into(),
                    external_key: "other".into(),
                    name: None,
                },
            ]
        );
    }

    #[test]
    fn malformed_lines_are_refused_with_their_number() {
        let error = parse_csv("a,b\nonly-one\n").expect_err("refused");
        assert!(error.to_string().contains("line 2"), "{error}");
        assert!(parse_csv(",key\n").is_err());
        assert!(parse_csv("a,b,c,d\n").is_err());
    }
}
