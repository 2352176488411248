//! `ferroflux provision --from devices.csv` (issue 12): devices onboarded through the
//! public API of a running server, as an operator does it. Wall time for the whole CSV, and
//! events per second as the log counts them (each device is a thing, two channels, their
//! connections, a config, its activation and the claims: one `POST /mapping`, appended
//! together). Then the re-run, which must make nothing.

use std::process::Command;
use std::time::Instant;

use anyhow::{Context, ensure};
use serde_json::Value;

use crate::http_publish::{HTTP, provision};
use crate::server::{Server, event_log, sibling};

pub async fn part(devices: u64, concurrency: usize) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let env = [
        ("FF_DATA_DIR", dir.path().display().to_string()),
        ("FF_HTTP_ADDR", "127.0.0.1:0".into()),
        ("FF_MQTT_ADDR", "127.0.0.1:0".into()),
        ("FF_COAP_ADDR", "127.0.0.1:0".into()),
    ];
    let server = Server::spawn(&sibling("ferroflux")?, &["serve"], &env, &[HTTP])?;
    let base = format!("http://{}", server.addrs[0]);
    let token = provision(&base).await?.token;
    let csv = dir.path().join("devices.csv");
    let lines: Vec<String> = (0..devices)
        .map(|n| format!("serial-{n:06},factory-key-{n:06},device {n}"))
        .collect();
    std::fs::write(&csv, lines.join("\n"))?;
    println!(
        "provision: `ferroflux provision --from` {devices} devices, {concurrency} in flight, \
         fjall log (fsync before every answer)"
    );
    let before = events(dir.path(), &server.addrs[0])?;
    let started = Instant::now();
    let made = run_cli(&csv, &base, &token, concurrency)?;
    let seconds = started.elapsed().as_secs_f64();
    let written = events(dir.path(), &server.addrs[0])? - before;
    ensure!(made["made"] == devices, "made {made}");
    println!(
        "{devices} devices in {seconds:.1} s: {:.0} devices/s, {written} events, {:.0} events/s",
        devices as f64 / seconds,
        written as f64 / seconds
    );
    let started = Instant::now();
    let again = run_cli(&csv, &base, &token, concurrency)?;
    ensure!(
        again["made"] == 0 && again["skipped"] == devices,
        "re-run {again}"
    );
    ensure!(
        events(dir.path(), &server.addrs[0])? - before == written,
        "the re-run appended events"
    );
    println!(
        "re-run: 0 made, {devices} skipped in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Runs the CLI; its JSON summary.
fn run_cli(
    csv: &std::path::Path,
    base: &str,
    token: &str,
    concurrency: usize,
) -> anyhow::Result<Value> {
    let output = Command::new(sibling("ferroflux")?)
        .arg("provision")
        .arg("--from")
        .arg(csv)
        .args([
            "--concurrency",
            &concurrency.to_string(),
            "--url",
            base,
            "--token",
            token,
        ])
        .output()?;
    ensure!(output.status.success(), "ferroflux provision: {output:?}");
    serde_json::from_slice(&output.stdout).context("the CLI's summary")
}

/// Events in the log.
fn events(data_dir: &std::path::Path, http: &str) -> anyhow::Result<u64> {
    Ok(event_log(data_dir, http)?.lines().count() as u64)
}
