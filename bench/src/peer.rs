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

/// The group-commit peer: `producers` threads hand 400-byte appends to one writer thread,
/// which writes whatever is queued as one batch and fsyncs once before answering them all.
/// What an embedded event store with group commit gets on this disk, with nothing else.
pub fn raw_fjall_group_commit(events: u64, producers: usize) -> anyhow::Result<f64> {
    use std::sync::mpsc;
    let dir = tempfile::tempdir()?;
    let db = Database::builder(dir.path()).open()?;
    let log = db.keyspace("log", KeyspaceCreateOptions::default)?;
    let (tx, rx) = mpsc::channel::<mpsc::SyncSender<()>>();
    let writer = {
        let (db, log) = (db.clone(), log.clone());
        std::thread::spawn(move || -> anyhow::Result<()> {
            let value = vec![b'x'; 400];
            let mut position = 0u64;
            while let Ok(first) = rx.recv() {
                let mut waiting = vec![first];
                waiting.extend(rx.try_iter());
                let mut batch = db.batch();
                for _ in &waiting {
                    position += 1;
                    batch.insert(&log, position.to_be_bytes(), value.as_slice());
                }
                batch.commit()?;
                db.persist(PersistMode::SyncData)?;
                for done in waiting {
                    let _ = done.send(());
                }
            }
            Ok(())
        })
    };
    let started = Instant::now();
    let threads: Vec<_> = (0..producers as u64)
        .map(|p| {
            let tx = tx.clone();
            let share = events / producers as u64 + u64::from(p < events % producers as u64);
            std::thread::spawn(move || {
                for _ in 0..share {
                    let (done_tx, done_rx) = mpsc::sync_channel(1);
                    tx.send(done_tx).expect("writer alive");
                    done_rx.recv().expect("acknowledged");
                }
            })
        })
        .collect();
    for thread in threads {
        thread
            .join()
            .map_err(|_| anyhow::anyhow!("producer panicked"))?;
    }
    let rate = events as f64 / started.elapsed().as_secs_f64();
    drop(tx);
    writer
        .join()
        .map_err(|_| anyhow::anyhow!("writer panicked"))??;
    anyhow::ensure!(
        log.len()? as u64 == events,
        "raw fjall group commit lost appends"
    );
    Ok(rate)
}
