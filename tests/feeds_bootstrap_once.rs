//! `mainflux.bootstrap` exactly once as a consumer sees it, against a real Redis: a writer
//! dead after its XADD that restarts, writers aborted at random points, two writers on one
//! stream at once, and a restart over a complete stream (a replay writes nothing). The
//! fetches are appended in batches on one stream, as a node records them. Every check
//! reads the stream with a third-party client and compares it with the log: each
//! bootstrap event has exactly one entry, id `<position>-0`, in order, with the event's
//! recorded time, and nothing else is there.

mod feeds_support;

use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

use commands::event_log::FjallEventLog;
use commands::test_services::redis_url;
use domain::Event;
use domain::config::Activation;
use domain::envelope::PendingEvent;
use domain::event::SCHEMA_VERSION;
use domain::ids::{ChannelId, KeyHash, KeyMaterial, PasswordHash, SealedKey, ThingId, UserId};
use domain::ports::event_log::{AppendBatch, EventLog};
use feeds_support::{Fields, check_for, cleanup, consume, prefix};
use projections::feeds::{
    self, BOOTSTRAP_STREAM, BootstrapFeed, BootstrapMapping, Entry, FeedStats, Stream,
};
use projections::runner::decode;
use uuid::Uuid;

const MAXLEN: u64 = 1_000_000;

/// Appends `events` together on a new stream (a config's, or a node's batch of fetches),
/// recorded a few seconds apart so timestamps differ between events.
async fn append(log: &FjallEventLog, events: Vec<Event>) {
    let start = time::OffsetDateTime::now_utc() - time::Duration::hours(1);
    let events = events
        .into_iter()
        .enumerate()
        .map(|(i, event)| PendingEvent {
            id: Uuid::now_v7(),
            kind: event.kind().to_owned(),
            schema: SCHEMA_VERSION,
            occurred_at: start + time::Duration::seconds(7 * i as i64),
            actor: None,
            correlation_id: Uuid::new_v4(),
            data: event.data(),
        })
        .collect();
    let batch = AppendBatch {
        stream: format!("feedtest-{}", Uuid::new_v4()),
        expected_version: 0,
        command_id: Uuid::new_v4(),
        retryable: false,
        events,
    };
    log.append(batch).await.expect("append");
}

/// One device's life as appended batches: its owner and thing, its config, a batch of
/// fetches, activation, new channels, removal; then events that give no entry (so a
/// restarted writer must get past a tail of silent events).
fn history(round: u128) -> Vec<Vec<Event>> {
    let user = UserId(Uuid::from_u128(round << 8));
    let thing = ThingId(Uuid::from_u128((round << 8) + 1));
    let channels = vec![
        ChannelId(Uuid::from_u128((round << 8) + 2)),
        ChannelId(Uuid::from_u128((round << 8) + 3)),
    ];
    let external_id = format!("serial-{round}");
    let key = |seed: u8| KeyMaterial {
        key_hash: KeyHash([seed; 32]),
        sealed_key: SealedKey("sealed".into()),
    };
    let fetch = |success| Event::ThingBootstrapped {
        external_id: external_id.clone(),
        success,
        unknown: false,
    };
    vec![
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
                name: None,
                metadata: None,
                key: key(1),
            },
        ],
        vec![Event::ConfigCreated {
            thing_id: thing,
            owner: user,
            external_id: external_id.clone(),
            external_key: key(2),
            name: Some(format!("gw{round}")),
            content: Some("{}".into()),
            channels: channels[..1].to_vec(),
            client_cert: None,
            client_key: Some(SealedKey("sealed-client".into())),
            ca_cert: None,
        }],
        vec![fetch(false), fetch(false), fetch(true)],
        vec![
            Event::ThingStateChanged {
                thing_id: thing,
                state: Activation::Active,
            },
            Event::ThingConnectionsUpdated {
                thing_id: thing,
                channels,
            },
            Event::ConfigUpdated {
                thing_id: thing,
                name: None,
                content: Some("{\"v\":2}".into()),
            },
            Event::ConfigRemoved { thing_id: thing },
        ],
        vec![Event::ThingUpdated {
            id: thing,
            name: Some("renamed".into()),
            metadata: None,
        }],
    ]
}

async fn append_rounds(log: &FjallEventLog, rounds: std::ops::Range<u128>) {
    for round in rounds {
        for batch in history(round) {
            append(log, batch).await;
        }
    }
}

/// What the stream must hold for the whole log: (id, fields), in order.
async fn expected(log: &FjallEventLog) -> Vec<(String, Fields)> {
    let mut mapping = BootstrapMapping::default();
    let mut out = Vec::new();
    for recorded in log.read_after(0, usize::MAX).await.unwrap() {
        let event = decode(&recorded).unwrap();
        for Entry { id, fields } in mapping.map(recorded.position, recorded.occurred_at, &event) {
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
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let log = Arc::new(FjallEventLog::open(dir.path()).unwrap());
        let prefix = prefix();
        let key = format!("{prefix}{BOOTSTRAP_STREAM}");
        Fixture {
            _dir: dir,
            log,
            url: redis_url(),
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
        let feed = BootstrapFeed::new(self.log.clone(), self.stream().await, stats);
        tokio::spawn(feed.run())
    }

    /// Waits until `stats` reached the log's head, then checks the stream is exactly the
    /// log's entries.
    async fn assert_exact(&self, stats: &[&FeedStats]) {
        let head = self.log.head().await.unwrap();
        for s in stats {
            check_for("the feed at the log's head", || {
                (s.bootstrap_position.load(Relaxed) >= head).then_some(())
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
    let f = Fixture::new();
    append_rounds(&f.log, 0..3).await;
    // The dead writer's last act: the entries of the first 14 events, then nothing more.
    let all = expected(&f.log).await;
    let mut mapping = BootstrapMapping::default();
    let mut written = Vec::new();
    for recorded in f.log.read_after(0, 14).await.unwrap() {
        let event = decode(&recorded).unwrap();
        written.extend(mapping.map(recorded.position, recorded.occurred_at, &event));
    }
    assert_eq!(
        f.stream().await.append(&written).await.unwrap(),
        written.len() as u64
    );
    assert!(!written.is_empty() && written.len() < all.len());

    let stats = Arc::new(FeedStats::default());
    let task = f.writer(stats.clone()).await;
    f.assert_exact(&[&stats]).await;
    assert_eq!(
        stats.bootstrap_written.load(Relaxed),
        (all.len() - written.len()) as u64,
        "the restarted writer wrote only what was missing"
    );
    assert_eq!(
        stats.things_written.load(Relaxed),
        0,
        "its own counters only"
    );

    // A replay over the complete stream (whose last entry is followed by silent events)
    // writes nothing, then goes on with new events.
    task.abort();
    let again = Arc::new(FeedStats::default());
    let _task = f.writer(again.clone()).await;
    f.assert_exact(&[&again]).await;
    assert_eq!(again.bootstrap_written.load(Relaxed), 0);
    append_rounds(&f.log, 3..4).await;
    f.assert_exact(&[&again]).await;
    assert_eq!(
        again.bootstrap_written.load(Relaxed),
        8,
        "one round's entries"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writers_killed_at_random_points_leave_each_entry_once() {
    let f = Fixture::new();
    for round in 0..30u64 {
        let stats = Arc::new(FeedStats::default());
        let task = f.writer(stats).await;
        append_rounds(&f.log, u128::from(round)..u128::from(round) + 1).await;
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
    let f = Fixture::new();
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
            append_rounds(&log, lane * 1000 + 1..lane * 1000 + 21).await;
        }));
    }
    for appender in appenders {
        appender.await.unwrap();
    }
    f.assert_exact(&[&a, &b]).await;
    let total = expected(&f.log).await.len() as u64;
    let written = a.bootstrap_written.load(Relaxed) + b.bootstrap_written.load(Relaxed);
    assert_eq!(written, total, "together the writers wrote each entry once");
}
