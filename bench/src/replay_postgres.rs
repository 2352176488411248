//! Replay into the PostgreSQL query views (`FF_VIEWS`): the follower's path (read a page
//! of the fjall log, decode, apply as one transaction of multi-row statements), into a
//! fresh database on the test server (`scripts/services`).

use std::fmt;
use std::sync::Arc;
use std::time::Instant;

use anyhow::ensure;
use commands::event_log::FjallEventLog;
use domain::ids::UserId;
use domain::ports::event_log::EventLog;
use projections::Projections;
use projections::views::postgres::{self, PgViews, ScratchDatabase};
use projections::views::{PageQuery, QueryViews, ViewStore};
use uuid::Uuid;

use crate::replay_speed::history;

pub struct ReplayPostgres {
    events: u64,
    from_log: f64,
    apply_only: f64,
}

impl fmt::Display for ReplayPostgres {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "replay of {} events into the PostgreSQL views ({} per transaction):\n  \
             from the fjall log, as the follower (read+decode | apply) {:>9.0}/s\n  apply alone (decoded in memory) {:>9.0}/s",
            self.events,
            postgres::BATCH,
            self.from_log,
            self.apply_only
        )
    }
}

/// Views in a database of their own, dropped with the guard.
pub async fn fresh_views() -> anyhow::Result<(PgViews, ScratchDatabase)> {
    let server = commands::test_services::postgres_url();
    let database = ScratchDatabase::create(&server, "ff_bench").await?;
    Ok((PgViews::connect(&database.url).await?, database))
}

/// Events per second the PostgreSQL follower applies from `log` (holding `events` events,
/// `things` of them things of `owner`) into fresh views, as `FF_VIEWS` runs it, with a runner
/// that never reports growth: the whole log is there before it starts.
pub async fn follow_rate(
    log: Arc<dyn EventLog>,
    events: u64,
    owner: UserId,
    things: u64,
) -> anyhow::Result<f64> {
    let (views, _database) = fresh_views().await?;
    let views = Arc::new(views);
    let idle = Projections::new(Vec::new());
    let mut applied = views.applied();
    let started = Instant::now();
    let follower = tokio::spawn(postgres::follow(views.clone(), log, idle.applied()));
    applied.wait_for(|position| *position >= events).await?;
    follower.abort();
    let rate = events as f64 / started.elapsed().as_secs_f64();
    let found = views.things(owner, &PageQuery::default()).await?.total;
    ensure!(found == things, "{found} things, expected {things}");
    Ok(rate)
}

pub async fn measure(events: u64) -> anyhow::Result<ReplayPostgres> {
    let dir = tempfile::tempdir()?;
    let log = Arc::new(FjallEventLog::open(dir.path())?);
    let owner = UserId(Uuid::new_v4());
    let groups = events.div_ceil(21);
    let events = history(log.as_ref(), owner, events).await?;
    let from_log = follow_rate(log.clone(), events, owner, groups * 10).await?;

    let recorded = log.read_after(0, events as usize).await?;
    let decoded = recorded
        .iter()
        .map(|r| projections::runner::decode(r).map(|e| (r.clone(), e)))
        .collect::<Result<Vec<_>, _>>()?;
    let (views, _again) = fresh_views().await?;
    let started = Instant::now();
    for chunk in decoded.chunks(postgres::BATCH) {
        views.apply_batch(chunk).await?;
    }
    let apply_only = events as f64 / started.elapsed().as_secs_f64();
    ensure!(
        views.checkpoint().await? == events,
        "checkpoint short of {events}"
    );
    Ok(ReplayPostgres {
        events,
        from_log,
        apply_only,
    })
}
