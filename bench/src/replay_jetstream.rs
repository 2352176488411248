//! Replay from the JetStream log (the nats-server of `scripts/services`): into fresh
//! in-memory projections, and into fresh PostgreSQL views through their follower; against
//! raw reads of as many event-sized messages from the same server, in the same run.

use std::fmt;
use std::sync::Arc;

use anyhow::ensure;
use commands::event_log::{JetStreamEventLog, JetStreamOptions};
use domain::ids::UserId;
use domain::ports::event_log::EventLog;
use uuid::Uuid;

use crate::jetstream_read::{RawReads, raw_reads};
use crate::replay_postgres::follow_rate;
use crate::replay_speed::{fresh, history};

pub struct ReplayJetStream {
    events: u64,
    into_memory: f64,
    into_postgres: f64,
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
    let into_postgres = follow_rate(log, events, owner, groups * 10).await?;
    Ok(ReplayJetStream {
        events,
        into_memory: stats.events_per_second(),
        into_postgres,
        peer,
    })
}
