//! Starting the Redis feeds (`FF_FEEDS`): one connection, checked at start so a bad URL or
//! an unreachable Redis stops the server with one line; then one writer task per stream,
//! each retrying on its own when Redis goes away later.

use std::sync::Arc;
use std::time::{Duration, Instant};

use adapters::feeds::write_presence;
use adapters::mqtt::PresenceFeed;
use anyhow::anyhow;
use domain::ports::event_log::EventLog;
use projections::feeds::{
    self, BOOTSTRAP_STREAM, BootstrapFeed, FeedStats, MQTT_STREAM, Stream, THINGS_STREAM,
    ThingsFeed,
};

use crate::config::FeedsConfig;

/// Starts `mainflux.things` and `mainflux.bootstrap` (from the event log) and
/// `mainflux.mqtt` (from presence); `None` when `FF_FEEDS` is unset.
pub async fn start(
    config: &FeedsConfig,
    log: Arc<dyn EventLog>,
    presence: &PresenceFeed,
) -> anyhow::Result<Option<Arc<FeedStats>>> {
    let Some(url) = &config.feeds else {
        return Ok(None);
    };
    let shown = projections::masked_url(url);
    let fail = |e: feeds::FeedError| {
        anyhow!("FF_FEEDS={shown}: {e}; start Redis there, fix the URL or unset FF_FEEDS")
    };
    let conn = feeds::connect(url).await.map_err(fail)?;
    let things = Stream::new(conn.clone(), config.key(THINGS_STREAM), config.feeds_maxlen);
    let bootstrap = Stream::new(
        conn.clone(),
        config.key(BOOTSTRAP_STREAM),
        config.feeds_maxlen,
    );
    // Reads the checkpoints once now: a key of another type is named at start, not retried.
    things.top().await.map_err(fail)?;
    bootstrap.top().await.map_err(fail)?;
    let mqtt = Stream::new(conn, config.key(MQTT_STREAM), config.feeds_maxlen);
    let stats = Arc::new(FeedStats::default());
    tracing::info!(redis = %shown, things = things.key(), bootstrap = bootstrap.key(),
        mqtt = mqtt.key(), maxlen = config.feeds_maxlen, "Redis feeds on");
    tokio::spawn(ThingsFeed::new(log.clone(), things, stats.clone()).run());
    tokio::spawn(BootstrapFeed::new(log, bootstrap, stats.clone()).run());
    tokio::spawn(write_presence(presence.subscribe(), mqtt, stats.clone()));
    Ok(Some(stats))
}

/// At a stop, gives the feed writers up to `limit` to write what the log holds (`head`) and
/// every presence event sent (`presence_sent`, the disconnects of the sessions the stop
/// closed included), so consumers need not wait for this node's next start (or another
/// node) to see the last actions. No provisioning event is lost either way: the next start
/// catches up; presence is live state and would be.
pub async fn settle(stats: &FeedStats, head: u64, presence_sent: u64, limit: Duration) {
    let deadline = Instant::now() + limit;
    loop {
        let position =
            FeedStats::get(&stats.things_position).min(FeedStats::get(&stats.bootstrap_position));
        let presence_done =
            FeedStats::get(&stats.presence_written) + FeedStats::get(&stats.presence_dropped);
        if position >= head && presence_done >= presence_sent {
            return;
        }
        if Instant::now() >= deadline {
            tracing::warn!(
                position,
                head,
                presence_done,
                presence_sent,
                "the Redis feeds are behind at stop; the next start writes the rest of mainflux.things and mainflux.bootstrap"
            );
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
