//! Telemetry in PostgreSQL (`FF_TELEMETRY`), two comparisons in each round, same servers,
//! fresh databases, rows per wall-clock second:
//! - the store's `save` alone, 1,024 records per batch as the writer saves them, against
//!   PostgreSQL's own fastest ingest of the same rows from this process: `COPY … FROM STDIN`,
//!   1,024 rows per COPY, one connection, `synchronous_commit = off` as ferroflux's;
//! - messages published over HTTP (keep-alive connections, ~90 B opaque JSON bodies) until
//!   every one is stored, into PostgreSQL against into the default fjall store.

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use adapters::telemetry::{PgTelemetryStore, TelemetryRecord, TelemetryStore};
use anyhow::ensure;
use bytes::Bytes;
use domain::ids::{ChannelId, ThingId};
use projections::views::postgres::ScratchDatabase;
use sqlx::postgres::PgConnectOptions;
use sqlx::{Connection, PgConnection};
use uuid::Uuid;

use crate::http_load::load;
use crate::http_publish::{all_saved, publishing};
use crate::stats;

/// The writer's largest batch (`adapters::writer::MAX_BATCH`).
const ROWS_PER_COPY: u64 = 1024;

pub async fn part(requests: u64, concurrency: usize, rounds: usize) -> anyhow::Result<()> {
    println!(
        "Telemetry in PostgreSQL, {rounds} rounds, rows per wall-clock second: {requests} rows \
         saved by the store, {ROWS_PER_COPY} per batch, against COPY of the same rows from this \
         process, {ROWS_PER_COPY} per COPY; {requests} messages (+10 % warm-up, not timed) \
         published over HTTP on {concurrency} connections until all are stored, in PostgreSQL \
         (FF_TELEMETRY) against in fjall (the default)."
    );
    let mut ratios = Vec::new();
    for round in 1..=rounds {
        let copy = copy_rows(requests).await?;
        let store = store_rows(requests).await?;
        let database = fresh_table().await?;
        let postgres = ferroflux(requests, concurrency, Some(&database.url)).await?;
        let fjall = ferroflux(requests, concurrency, None).await?;
        println!(
            "round {round}: COPY {copy:>7.0} | store's save {store:>7.0} | HTTP until stored: \
             PostgreSQL {:>7.0}, fjall {:>7.0} | first page with its total: PostgreSQL {}, \
             fjall {}",
            postgres.rate,
            fjall.rate,
            postgres.reads(),
            fjall.reads()
        );
        ratios.push((store / copy, postgres.rate / fjall.rate));
    }
    let (saves, http): (Vec<f64>, Vec<f64>) = ratios.into_iter().unzip();
    println!(
        "telemetry in PostgreSQL: the store's save vs COPY {}; HTTP publish until stored, \
         PostgreSQL vs fjall {}",
        stats::ratio_summary(&saves),
        stats::ratio_summary(&http)
    );
    Ok(())
}

/// A fresh database with ferroflux's `messages` table (its own migration).
async fn fresh_table() -> anyhow::Result<ScratchDatabase> {
    let server = commands::test_services::postgres_url();
    let database = ScratchDatabase::create(&server, "ff_bench").await?;
    PgTelemetryStore::connect(&database.url).await?;
    Ok(database)
}

/// COPYs `rows` rows shaped as ferroflux stores the bench's messages (channel, publisher,
/// protocol, time, a 90-byte payload); rows per second.
async fn copy_rows(rows: u64) -> anyhow::Result<f64> {
    let database = fresh_table().await?;
    let options: PgConnectOptions = database.url.parse()?;
    let mut db =
        PgConnection::connect_with(&options.options([("synchronous_commit", "off")])).await?;
    let (channel, publisher) = (Uuid::new_v4(), Uuid::new_v4());
    let payload: String = format!("{{\"worker\":1,\"n\":1,\"pad\":\"{}\"}}", "x".repeat(60))
        .bytes()
        .map(|b| format!("{b:02x}"))
        .collect();
    let started = Instant::now();
    let mut written = 0;
    while written < rows {
        let batch = (rows - written).min(ROWS_PER_COPY);
        let mut text = String::with_capacity(batch as usize * 300);
        for n in written..written + batch {
            let time = 1.7e9 + n as f64 * 1e-3;
            writeln!(text, "{channel}\t{publisher}\thttp\t{time}\t\\\\x{payload}")?;
        }
        let mut copy = db
            .copy_in_raw("COPY messages (channel, publisher, protocol, time, payload) FROM STDIN")
            .await?;
        copy.send(text.as_bytes()).await?;
        ensure!(copy.finish().await? == batch, "COPY wrote a partial batch");
        written += batch;
    }
    Ok(rows as f64 / started.elapsed().as_secs_f64())
}

/// `PgTelemetryStore::save` of the same rows, 1,024 per batch, one batch at a time as the
/// writer saves them: the store without HTTP, SenML or the bus in front.
async fn store_rows(rows: u64) -> anyhow::Result<f64> {
    let database = fresh_table().await?;
    let store = PgTelemetryStore::connect(&database.url).await?;
    let (channel, publisher) = (ChannelId(Uuid::new_v4()), ThingId(Uuid::new_v4()));
    let payload = Bytes::from(format!(
        "{{\"worker\":1,\"n\":1,\"pad\":\"{}\"}}",
        "x".repeat(60)
    ));
    let started = Instant::now();
    let mut written = 0;
    while written < rows {
        let batch = (rows - written).min(ROWS_PER_COPY);
        let records = (written..written + batch)
            .map(|n| TelemetryRecord {
                payload: Some(payload.clone()),
                ..TelemetryRecord::new(channel, publisher, "http", 1.7e9 + n as f64 * 1e-3)
            })
            .collect();
        TelemetryStore::save(&store, records).await?;
        written += batch;
    }
    Ok(rows as f64 / started.elapsed().as_secs_f64())
}

/// Messages stored per second, and how long the reader then took for a first page with
/// the total of everything stored: unfiltered, then with a time filter that keeps all.
struct Stored {
    rate: f64,
    read: Duration,
    read_filtered: Duration,
}

impl Stored {
    fn reads(&self) -> String {
        format!(
            "{:.1} ms ({:.1} ms with a time filter)",
            self.read.as_secs_f64() * 1e3,
            self.read_filtered.as_secs_f64() * 1e3
        )
    }
}

/// Ferroflux storing in `postgres` (fjall in its data dir when `None`): from the first
/// measured request until the writer has saved the last message; the reader then serves
/// every one of them.
async fn ferroflux(
    requests: u64,
    concurrency: usize,
    postgres: Option<&str>,
) -> anyhow::Result<Stored> {
    let dir = tempfile::tempdir()?;
    let telemetry = ("FF_TELEMETRY", postgres.unwrap_or("fjall").to_owned());
    // The server stops when `_server` is dropped, after the reads below.
    let (_server, target, store) = publishing(dir.path(), telemetry).await?;
    let warm_up = requests / 10;
    load(&target, warm_up, concurrency).await?;
    all_saved(&store, warm_up).await?;
    let started = Instant::now();
    load(&target, requests, concurrency).await?;
    all_saved(&store, warm_up + requests).await?;
    let rate = requests as f64 / started.elapsed().as_secs_f64();
    let started = Instant::now();
    let readable = store.readable().await?;
    let read = started.elapsed();
    let walked = store.readable_walked().await?;
    let read_filtered = started.elapsed() - read;
    ensure!(
        readable == warm_up + requests && walked == readable,
        "the reader serves {readable} (counted) and {walked} (with a filter) of {} messages",
        warm_up + requests
    );
    Ok(Stored {
        rate,
        read,
        read_filtered,
    })
}
