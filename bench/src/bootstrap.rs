//! Bootstrap fetches (issue 12): `GET /things/bootstrap/{external_id}` per server-CPU-second
//! against our own `GET /things/{id}` on the same server in the same run (target ≥ 0.8×).
//! A fetch does more than a read: it checks the external key, opens sealed keys and records
//! a durable `thing.bootstrap` event, appended in batches (`bootstrap_attempts`).

use anyhow::ensure;
use serde_json::json;

use crate::http_load::{Kind, Target, load};
use crate::http_publish::{HTTP, provision};
use crate::server::{Server, event_log, sibling};
use crate::stats::ratio_summary;

const EXTERNAL_ID: &str = "bench-serial-0001";
const EXTERNAL_KEY: &str = "bench-external-key";

pub async fn part(
    requests: u64,
    concurrency: usize,
    rounds: usize,
    smoke: bool,
) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let env = [
        ("FF_DATA_DIR", dir.path().display().to_string()),
        ("FF_HTTP_ADDR", "127.0.0.1:0".into()),
        ("FF_MQTT_ADDR", "127.0.0.1:0".into()),
        ("FF_COAP_ADDR", "127.0.0.1:0".into()),
    ];
    let server = Server::spawn(&sibling("ferroflux")?, &["serve"], &env, &[HTTP])?;
    let base = format!("http://{}", server.addrs[0]);
    let p = provision(&base).await?;
    reqwest::Client::new()
        .post(format!("{base}/things/configs"))
        .bearer_auth(&p.token)
        .json(&json!({"thing_id": p.thing, "external_id": EXTERNAL_ID,
            "external_key": EXTERNAL_KEY, "channels": [p.channel],
            "content": "{\"interval\":60,\"server\":\"mqtts://example.com\"}"}))
        .send()
        .await?
        .error_for_status()?;
    let read = Target {
        addr: server.addrs[0].clone(),
        path: format!("/things/{}", p.thing),
        authorization: format!("Bearer {}", p.token),
        kind: Kind::Get,
    };
    let fetch = Target {
        path: format!("/things/bootstrap/{EXTERNAL_ID}"),
        authorization: EXTERNAL_KEY.into(),
        ..read.clone()
    };
    println!(
        "bootstrap: {requests} GET /things/bootstrap/{{id}} vs GET /things/{{id}} per run, \
         {concurrency} connections, {rounds} rounds (one server, its CPU only)"
    );
    let mut ratios = Vec::new();
    for round in 1..=rounds {
        let reads = per_cpu_second(&server, &read, requests, concurrency).await?;
        let fetches = per_cpu_second(&server, &fetch, requests, concurrency).await?;
        ratios.push(fetches / reads);
        println!(
            "round {round}: GET /things/{{id}} {reads:>9.0}/cpu-s | bootstrap fetch \
             {fetches:>9.0}/cpu-s | ratio {:.2}",
            fetches / reads
        );
    }
    let recorded = recorded_fetches(dir.path(), &server.addrs[0])?;
    let expected = rounds as u64 * (requests + requests / 10);
    ensure!(
        recorded == expected,
        "{recorded} thing.bootstrap events for {expected} fetches"
    );
    if !smoke {
        println!(
            "bootstrap fetch / GET /things/{{id}}: {} (target 0.8×); every fetch recorded",
            ratio_summary(&ratios)
        );
    }
    Ok(())
}

/// A tenth of `requests` to warm up, then `requests` measured.
async fn per_cpu_second(
    server: &Server,
    target: &Target,
    requests: u64,
    concurrency: usize,
) -> anyhow::Result<f64> {
    load(target, requests / 10, concurrency).await?;
    let cpu = server.cpu_seconds()?;
    load(target, requests, concurrency).await?;
    Ok(requests as f64 / (server.cpu_seconds()? - cpu).max(0.01))
}

/// `thing.bootstrap` events in the log.
fn recorded_fetches(data_dir: &std::path::Path, http: &str) -> anyhow::Result<u64> {
    let log = event_log(data_dir, http)?;
    Ok(log
        .lines()
        .filter(|l| l.contains("\"type\":\"thing.bootstrap\""))
        .count() as u64)
}
