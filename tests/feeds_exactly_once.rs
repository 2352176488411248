//! `mainflux.things` exactly once as a consumer sees it, against a real Redis: a writer
//! that dies after its XADD (before anything else could record progress) and restarts,
//! writers aborted at random points, two writers on one stream at once, and a Redis that
//! goes away and comes back. Every check reads the stream with a third-party client and
//! compares it with the log: each event that gives an entry has exactly one, id
//! `<position>-0`, in order, and nothing else is there.

mod feeds_support;

use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

use commands::event_log::FjallEventLog;
use commands::test_services::redis_url;
use domain::Event;
use domain::envelope::PendingEvent;
use domain::event::SCHEMA_VERSION;
use domain::ids::{ChannelId, KeyHash, KeyMaterial, PasswordHash, SealedKey, ThingId, UserId};
use domain::ports::event_log::{AppendBatch, EventLog};
use feeds_support::{Fields, OwnRedis, check_for, cleanup, consume, prefix};
use projections::feeds::{
    self, Entry, FeedStats, Stream, THINGS_STREAM, ThingsFeed, ThingsMapping,
};
use projections::runner::decode;
use uuid::Uuid;

const MAXLEN: u64 = 1_000_000;

async fn append(log: &FjallEventLog, event: Event) {
    let stream = format!("feedtest-{}", Uuid::new_v4());
    let pending = PendingEvent {
        id: Uuid::now_v7(),
        kind: event.kind().to_owned(),
        schema: SCHEMA_VERSION,
        occurred_at: time::OffsetDateTime::now_utc(),
        actor: None,
        correlation_id: Uuid::new_v4(),
        data: event.data(),
    };
    let batch = AppendBatch {
        stream,
        expected_version: 0,
        command_id: Uuid::new_v4(),
        retryable: false,
        events: vec![pending],
    };
    log.append(batch).await.expect("append");
}

/// A small history of every kind, ending with events that give no entry (so a restarted
/// writer must get past a tail of silent events).
fn history(round: u128) -> Vec<Event> {
    let user = UserId(Uuid::from_u128(round << 8));
    let thing = ThingId(Uuid::from_u128((round << 8) + 1));
    let channel = ChannelId(Uuid::from_u128((round << 8) + 2));
    let key = KeyMaterial {
        key_hash: KeyHash([round as u8; 32]),
        sealed_key: SealedKey("sealed".into()),
    };
    vec![
        Event::UserRegistered {
            id: user,
            email: format!("u{round}@example.com"),
            password_hash: PasswordHash("$argon2id$x".into()),
            metadata: None,
        },
        Event::ThingCreated {
            id: thing,
            owner: user,
            name: Some(format!("t{round}")),
            metadata: None,
            key: key.clone(),
        },
        Event::ChannelCreated {
            id: channel,
            owner: user,
            name: None,
            metadata: Some(serde_json::from_str(r#"{"r":1}"#).unwrap()),
        },
        Event::ThingConnected {
            channel_id: channel,
            thing_id: thing,
        },
        Event::ThingUpdated {
            id: thing,
            name: Some("renamed".into()),
            metadata: None,
        },
        Event::ThingDisconnected {
            channel_id: channel,
            thing_id: thing,
        },
        Event::ThingKeyUpdated { id: thing, key },
        Event::UserUpdated {
            id: user,
            metadata: None,
        },
    ]
}

/// What the stream must hold for the whole log: (id, fields), in order.
async fn expected(log: &FjallEventLog) -> Vec<(String, Fields)> {
    let mut mapping = ThingsMapping::default();
    let mut out = Vec::new();
    for recorded in log.read_after(0, usize::MAX).await.unwrap() {
        let event = decode(&recorded).unwrap();
        for Entry { id, fields } in mapping.map(recorded.position, &event) {
            let fields = fields.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
            out.push((id.to_string(), fields));
        }
    }
    out
}

struct Fixture {
    _dir: tempfile::TempDir,
    log: Arc<FjallEventLog>,
    url: String,
    prefix: String,
    key: String,
}

impl Drop for Fixture {
    fn drop(&mut self) {
        cleanup(&self.url, &self.prefix);
    }
}

impl Fixture {
    fn new(url: String) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let log = Arc::new(FjallEventLog::open(dir.path()).unwrap());
        let prefix = prefix();
        let key = format!("{prefix}{THINGS_STREAM}");
        Fixture {
            _dir: dir,
            log,
            url,
            prefix,
            key,
        }
    }

    async fn stream(&self) -> Stream {
        let conn = feeds::connect(&self.url).await.expect("Redis");
        Stream::new(conn, self.key.clone(), MAXLEN)
    }

    /// A writer task on this log and stream, with its own connection.
    async fn writer(&self, stats: Arc<FeedStats>) -> tokio::task::JoinHandle<feeds::FeedError> {
        let feed = ThingsFeed::new(self.log.clone(), self.stream().await, stats);
        tokio::spawn(feed.run())
    }

    /// Waits until `stats` reached the log's head, then checks the stream is exactly the
    /// log's entries.
    async fn assert_exact(&self, stats: &[&FeedStats]) {
        let head = self.log.head().await.unwrap();
        for s in stats {
            check_for("the feed at the log's head", || {
                (s.things_position.load(Relaxed) >= head).then_some(())
            })
            .await;
        }
        let seen = consume(&self.url, &self.key, None);
        let want = expected(&self.log).await;
        assert_eq!(seen.len(), want.len(), "entry count");
        assert_eq!(seen, want);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_writer_dead_after_its_xadd_restarts_with_no_duplicate_and_no_gap() {
    let f = Fixture::new(redis_url());
    for round in 0..3 {
        for event in history(round) {
            append(&f.log, event).await;
        }
    }
    // The dead writer's last act: it wrote the entries of the first 13 events, then died
    // before any progress of its own could be recorded anywhere.
    let all = expected(&f.log).await;
    let mut mapping = ThingsMapping::default();
    let mut written = Vec::new();
    for recorded in f.log.read_after(0, 13).await.unwrap() {
        written.extend(mapping.map(recorded.position, &decode(&recorded).unwrap()));
    }
    assert_eq!(
        f.stream().await.append(&written).await.unwrap(),
        written.len() as u64
    );
    assert!(written.len() < all.len());

    let stats = Arc::new(FeedStats::default());
    let task = f.writer(stats.clone()).await;
    f.assert_exact(&[&stats]).await;
    assert_eq!(
        stats.things_written.load(Relaxed),
        (all.len() - written.len()) as u64,
        "the restarted writer wrote only what was missing"
    );
    // And again, from a stream whose last entry is followed by silent events only.
    task.abort();
    let again = Arc::new(FeedStats::default());
    let _task = f.writer(again.clone()).await;
    f.assert_exact(&[&again]).await;
    assert_eq!(again.things_written.load(Relaxed), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writers_killed_at_random_points_leave_each_entry_once() {
    let f = Fixture::new(redis_url());
    for round in 0..40u64 {
        let stats = Arc::new(FeedStats::default());
        let task = f.writer(stats).await;
        for event in history(u128::from(round)) {
            append(&f.log, event).await;
        }
        // Die anywhere: mid-catch-up, mid-script, between events.
        tokio::time::sleep(Duration::from_micros(round * 97 % 3000)).await;
        task.abort();
    }
    let stats = Arc::new(FeedStats::default());
    let _task = f.writer(stats.clone()).await;
    f.assert_exact(&[&stats]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_writers_at_once_write_each_entry_once_in_order() {
    let f = Fixture::new(redis_url());
    let (a, b) = (
        Arc::new(FeedStats::default()),
        Arc::new(FeedStats::default()),
    );
    let _ta = f.writer(a.clone()).await;
    let _tb = f.writer(b.clone()).await;
    let mut appenders = Vec::new();
    for lane in 0..3u128 {
        let log = f.log.clone();
        appenders.push(tokio::spawn(async move {
            for round in 0..30u128 {
                for event in history(lane * 1000 + round + 1) {
                    append(&log, event).await;
                }
            }
        }));
    }
    for appender in appenders {
        appender.await.unwrap();
    }
    f.assert_exact(&[&a, &b]).await;
    let total = expected(&f.log).await.len() as u64;
    let written = a.things_written.load(Relaxed) + b.things_written.load(Relaxed);
    assert_eq!(written, total, "together the writers wrote each entry once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redis_that_goes_away_is_caught_up_when_it_returns() {
    let mut redis = OwnRedis::start();
    let f = Fixture::new(redis.url());
    let stats = Arc::new(FeedStats::default());
    let _task = f.writer(stats.clone()).await;
    for event in history(1) {
        append(&f.log, event).await;
    }
    f.assert_exact(&[&stats]).await;

    redis.kill();
    for round in 2..6 {
        for event in history(round) {
            append(&f.log, event).await;
        }
    }
    check_for("a failed write, retried", || {
        (stats.redis_errors.load(Relaxed) > 0).then_some(())
    })
    .await;
    redis.restart();
    f.assert_exact(&[&stats]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trimmed_stream_keeps_its_checkpoint() {
    let f = Fixture::new(redis_url());
    for round in 0..60 {
        for event in history(round) {
            append(&f.log, event).await;
        }
    }
    let conn = feeds::connect(&f.url).await.unwrap();
    let small = Stream::new(conn, f.key.clone(), 10);
    let stats = Arc::new(FeedStats::default());
    let task = tokio::spawn(ThingsFeed::new(f.log.clone(), small.clone(), stats.clone()).run());
    let head = f.log.head().await.unwrap();
    check_for("the feed at the head", || {
        (stats.things_position.load(Relaxed) >= head).then_some(())
    })
    .await;
    task.abort();
    let all = expected(&f.log).await;
    let kept = consume(&f.url, &f.key, None);
    assert!(
        kept.len() < all.len(),
        "trimmed: {} of {}",
        kept.len(),
        all.len()
    );
    assert_eq!(
        kept[..],
        all[all.len() - kept.len()..],
        "the newest are kept"
    );

    // The trimmed entries are not written again: Redis keeps the last id even so.
    let again = Arc::new(FeedStats::default());
    let _task = tokio::spawn(ThingsFeed::new(f.log.clone(), small, again.clone()).run());
    check_for("the restarted feed at the head", || {
        (again.things_position.load(Relaxed) >= head).then_some(())
    })
    .await;
    assert_eq!(again.things_written.load(Relaxed), 0);
    assert_eq!(consume(&f.url, &f.key, None), kept);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_writers_catching_up_a_long_history_at_once_write_each_entry_once() {
    let f = Fixture::new(redis_url());
    // Several pages of history, appended by concurrent lanes (so fsyncs are shared).
    let mut appenders = Vec::new();
    for lane in 0..8u128 {
        let log = f.log.clone();
        appenders.push(tokio::spawn(async move {
            for round in 0..40u128 {
                for event in history(lane * 1000 + round + 1) {
                    append(&log, event).await;
                }
            }
        }));
    }
    for appender in appenders {
        appender.await.unwrap();
    }
    assert!(f.log.head().await.unwrap() > 2_000);
    let (a, b) = (
        Arc::new(FeedStats::default()),
        Arc::new(FeedStats::default()),
    );
    let _ta = f.writer(a.clone()).await;
    let _tb = f.writer(b.clone()).await;
    f.assert_exact(&[&a, &b]).await;
    let total = expected(&f.log).await.len() as u64;
    let written = a.things_written.load(Relaxed) + b.things_written.load(Relaxed);
    assert_eq!(written, total, "together the writers wrote each entry once");
}
