//! `mainflux.mqtt` when Redis is slow or away: the MQTT side publishes into a bounded
//! buffer and never waits; what does not fit is dropped and counted; once Redis is back
//! the writer goes on by itself.

mod feeds_support;

use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::{Duration, Instant};

use adapters::feeds::write_presence;
use adapters::mqtt::{Presence, PresenceKind};
use domain::ids::ThingId;
use feeds_support::{OwnRedis, check_for, consume, prefix};
use projections::feeds::{self, FeedStats, Stream};
use tokio::sync::broadcast;
use uuid::Uuid;

fn presence(n: u128) -> Presence {
    Presence {
        thing_id: ThingId(Uuid::from_u128(n)),
        timestamp: 1_700_000_000,
        event_type: PresenceKind::Connect,
        instance: "node-a".into(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn presence_is_dropped_and_counted_while_redis_is_away_and_flows_again_after() {
    let mut redis = OwnRedis::start();
    let key = format!("{}mainflux.mqtt", prefix());
    let conn = feeds::connect(&redis.url()).await.unwrap();
    let stats = Arc::new(FeedStats::default());
    let (sender, receiver) = broadcast::channel(64);
    tokio::spawn(write_presence(
        receiver,
        Stream::new(conn, key.clone(), 1000),
        stats.clone(),
    ));
    sender.send(presence(1)).unwrap();
    check_for("the first entry", || {
        (stats.presence_written.load(Relaxed) == 1).then_some(())
    })
    .await;

    redis.kill();
    // Ten thousand connects while Redis is away: none waits.
    let started = Instant::now();
    for n in 0..10_000 {
        sender.send(presence(100 + n)).unwrap();
    }
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    check_for("a failed write", || {
        (stats.redis_errors.load(Relaxed) > 0).then_some(())
    })
    .await;
    redis.restart();
    sender.send(presence(2)).unwrap();
    let written = check_for("writing again", || {
        let entries = consume(&redis.url(), &key, None);
        (entries.last().map(|(_, f)| f["thing_id"].clone())
            == Some(ThingId(Uuid::from_u128(2)).to_string()))
        .then_some(entries.len() as u64)
    })
    .await;
    let dropped = stats.presence_dropped.load(Relaxed);
    assert!(dropped > 9_000, "dropped {dropped}");
    // The restarted Redis keeps what it had (append-only file), and the batch in hand when
    // Redis went away is retried and written: every event is written or counted dropped.
    assert_eq!(written, stats.presence_written.load(Relaxed));
    assert_eq!(written + dropped, 10_002);
}
