//! Replay from the JetStream log (the nats-server of `scripts/services`): into fresh
//! in-memory projections, into fresh PostgreSQL views through their follower, and as
//! `ferroflux replay` rebuilds them (fresh tables, then the swap); against raw reads of as
//! many event-sized messages from the same server, in the same run.

use std::fmt;
use std::sync::Arc;
use std::time::Instant;

use anyhow::ensure;
use commands::event_log::{JetStreamEventLog, JetStreamOptions};
use domain::ids::UserId;
use domain::ports::event_log::EventLog;
use projections::views::ViewStore;
use projections::views::postgres;
use uuid::Uuid;

use crate::jetstream_read::{RawReads, raw_reads};
use crate::replay_postgres::{follow_rate, fresh_views};
use crate::replay_speed::{fresh, history};

pub struct ReplayJetStream {
    events: u64,
    into_memory: f64,
    into_postgres: f64,
    /// `replay`'s rebuild into fresh tables, and the same with the swap included.
    rebuild: (f64, f64),
    peer: RawReads,
}

impl fmt::Display for ReplayJetStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "replay of {} events from JetStream:", self.events)?;
        let ratio = |rate: f64| rate / self.peer.consumer;
        writeln!(
            f,
            "  into views + authz in memory  {:>9.0}/s  {:.2}x the raw consumer read",
            self.into_memory,
            ratio(self.into_memory)
        )?;
        writeln!(
            f,
            "  into the PostgreSQL views     {:>9.0}/s  {:.2}x the raw consumer read",
            self.into_postgres,
            ratio(self.into_postgres)
        )?;
        writeln!(
            f,
            "  `replay` into fresh tables    {:>9.0}/s  {:.2}x the raw consumer read \
             ({:.0}/s with the catch-up and the swap)",
            self.rebuild.0,
            ratio(self.rebuild.0),
            self.rebuild.1
        )?;
        write!(
            f,
            "  peer, raw JetStream reads of as many 600 B messages with our headers: consumer \
             {:.0}/s, direct-get batches of 1000 {:.0}/s",
            self.peer.consumer, self.peer.direct_batches
        )
    }
}

pub async fn measure(events: u64) -> anyhow::Result<ReplayJetStream> {
    let peer = raw_reads(events).await?;
    let options = JetStreamOptions {
        prefix: format!("replay{}", Uuid::new_v4().simple()),
        replicas: 1,
    };
    let log: Arc<dyn EventLog> =
        Arc::new(JetStreamEventLog::connect(&commands::test_services::nats_url(), options).await?);
    let owner = UserId(Uuid::new_v4());
    let groups = events.div_ceil(21);
    let events = history(log.as_ref(), owner, events).await?;

    let projections = fresh();
    let stats = replay::rebuild(log.clone(), &projections, &mut ()).await?;
    ensure!(
        stats.events == events,
        "rebuilt {} of {events}",
        stats.events
    );
    let into_postgres = follow_rate(log.clone(), events, owner, groups * 10).await?;
    let rebuild = rebuild_rate(log, events).await?;
    Ok(ReplayJetStream {
        events,
        into_memory: stats.events_per_second(),
        into_postgres,
        rebuild,
        peer,
    })
}

/// `replay`'s rebuild of views that already hold `log` (as on a live database): events per
/// second into the fresh tables, and overall with the final catch-up and the swap.
async fn rebuild_rate(log: Arc<dyn EventLog>, events: u64) -> anyhow::Result<(f64, f64)> {
    let (views, _database) = fresh_views().await?;
    let batch = log.read_after(0, events as usize).await?;
    let batch = batch
        .into_iter()
        .map(|r| projections::runner::decode(&r).map(|e| (r, e)))
        .collect::<Result<Vec<_>, _>>()?;
    for chunk in batch.chunks(postgres::BATCH) {
        views.apply_batch(chunk).await?;
    }
    let started = Instant::now();
    let swapped = replay::rebuild_postgres(log, &views, &mut ()).await?;
    let overall = events as f64 / started.elapsed().as_secs_f64();
    ensure!(
        swapped.checkpoint == events,
        "swapped at {}",
        swapped.checkpoint
    );
    Ok((swapped.events_per_second(), overall))
}
