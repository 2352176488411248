//! The peer: raw fjall, one writer, one fsync per append. What an event store without group
//! commit gets on this disk.

use std::time::Instant;

use fjall::{Database, KeyspaceCreateOptions, PersistMode};

pub fn raw_fjall_durable_single(events: u64) -> anyhow::Result<f64> {
    let dir = tempfile::tempdir()?;
    let db = Database::builder(dir.path()).open()?;
    let log = db.keyspace("log", KeyspaceCreateOptions::default)?;
    let value = vec![b'x'; 400];
    let started = Instant::now();
    for position in 1..=events {
        log.insert(position.to_be_bytes(), value.as_slice())?;
        db.persist(PersistMode::SyncData)?;
    }
    let rate = events as f64 / started.elapsed().as_secs_f64();
    anyhow::ensure!(log.len()? as u64 == events, "raw fjall lost appends");
    Ok(rate)
}
