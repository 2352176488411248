//! The writer's batching: a backlog is saved in full batches, a trickle after `LINGER`,
//! a failed save is retried with the same records, for as long as the store is unavailable.

use std::sync::Mutex;

use async_trait::async_trait;
use bytes::Bytes;
use domain::ids::ChannelId;

use super::*;
use crate::bus::MemoryBus;
use crate::bus::contract::{channel, message, thing};
use crate::message::ContentType;
use crate::telemetry::{MemoryTelemetryStore, ReadPage, ReadQuery, TelemetryError};

/// Records the size of every batch it is asked to save; fails the first `failures` saves
/// (as unavailable, or refusing the records when `refuse`).
#[derive(Default)]
struct Batches {
    sizes: Mutex<Vec<usize>>,
    failures: Mutex<u32>,
    refuse: bool,
}

#[async_trait]
impl TelemetryStore for Batches {
    async fn save(&self, records: Vec<TelemetryRecord>) -> Result<(), TelemetryError> {
        let mut failures = self.failures.lock().unwrap();
        if *failures > 0 {
            *failures -= 1;
            return Err(match self.refuse {
                true => TelemetryError::Invalid("refused for the test".into()),
                false => TelemetryError::Unavailable("down for the test".into()),
            });
        }
        self.sizes.lock().unwrap().push(records.len());
        Ok(())
    }

    async fn read(&self, _: ChannelId, query: &ReadQuery) -> Result<ReadPage, TelemetryError> {
        Ok(ReadPage::empty(query))
    }
}

async fn start(store: Arc<Batches>) -> (Arc<dyn MessageBus>, Arc<WriterStats>) {
    let bus: Arc<dyn MessageBus> = Arc::new(MemoryBus::new());
    let stats = Arc::new(WriterStats::default());
    let subscription = subscribe(bus.as_ref(), store.as_ref()).await.unwrap();
    tokio::spawn(run(subscription, bus.clone(), store, stats.clone()));
    (bus, stats)
}

async fn saved(stats: &WriterStats, records: u64) {
    for _ in 0..500 {
        if stats.records.load(Ordering::Relaxed) >= records {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("saved {stats:?}, expected {records} records");
}

#[tokio::test]
async fn a_backlog_is_saved_in_full_batches() {
    // More than tokio's cooperative budget (128) per poll: polling with a no-op waker must
    // not mistake the exhausted budget for an empty queue.
    let store = Arc::new(Batches::default());
    let (bus, stats) = start(store.clone()).await;
    let (channel, thing) = (channel(), thing());
    for n in 0..(2 * MAX_BATCH + 10) as i64 {
        bus.publish(message(channel, thing, None, n)).unwrap();
    }
    saved(&stats, 2 * MAX_BATCH as u64 + 10).await;
    assert_eq!(store.sizes.lock().unwrap()[..2], [MAX_BATCH, MAX_BATCH]);
}

#[tokio::test]
async fn a_trickle_is_saved_after_the_linger() {
    let store = Arc::new(Batches::default());
    let (bus, stats) = start(store.clone()).await;
    let (channel, thing) = (channel(), thing());
    bus.publish(message(channel, thing, None, 1)).unwrap();
    saved(&stats, 1).await;
    bus.publish(message(channel, thing, None, 2)).unwrap();
    saved(&stats, 2).await;
    assert_eq!(*store.sizes.lock().unwrap(), [1, 1]);
}

#[tokio::test]
async fn a_failed_save_is_retried_with_the_same_records() {
    let store = Arc::new(Batches {
        failures: Mutex::new(1),
        ..Batches::default()
    });
    let (bus, stats) = start(store.clone()).await;
    let (channel, thing) = (channel(), thing());
    for n in 0..3 {
        bus.publish(message(channel, thing, None, n)).unwrap();
    }
    saved(&stats, 3).await;
    assert_eq!(*store.sizes.lock().unwrap(), [3]);
    assert_eq!(stats.failed_batches.load(Ordering::Relaxed), 0);
}

/// Four failures back off 100 + 200 + 400 + 800 ms: an outage that outlasts a fixed
/// number of quick retries still loses nothing.
#[tokio::test]
async fn an_unavailable_store_is_retried_until_it_is_back() {
    let store = Arc::new(Batches {
        failures: Mutex::new(4),
        ..Batches::default()
    });
    let (bus, stats) = start(store.clone()).await;
    let (channel, thing) = (channel(), thing());
    for n in 0..3 {
        bus.publish(message(channel, thing, None, n)).unwrap();
    }
    saved(&stats, 3).await;
    assert_eq!(*store.sizes.lock().unwrap(), [3]);
    assert_eq!(stats.failed_batches.load(Ordering::Relaxed), 0);
    assert_eq!(stats.save_retries.load(Ordering::Relaxed), 4);
}

#[tokio::test]
async fn a_refused_batch_is_not_retried() {
    let store = Arc::new(Batches {
        failures: Mutex::new(1),
        refuse: true,
        ..Batches::default()
    });
    let (bus, stats) = start(store.clone()).await;
    let (channel, thing) = (channel(), thing());
    bus.publish(message(channel, thing, None, 1)).unwrap();
    for _ in 0..500 {
        if stats.failed_batches.load(Ordering::Relaxed) == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(stats.failed_batches.load(Ordering::Relaxed), 1);
    // A retry would have come 100 ms later and succeeded.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(store.sizes.lock().unwrap().is_empty());
}

#[tokio::test]
async fn a_pack_the_store_refuses_is_kept_opaque_and_loses_no_other_message() {
    // Parses as SenML, but its time (year 33658) is past what any store keeps: were it
    // saved as measured, the store would refuse the whole batch, and every message in it.
    let far_future = br#"[{"n":"temp","v":21.5,"t":1e12}]"#;
    let store = Arc::new(MemoryTelemetryStore::new());
    let bus: Arc<dyn MessageBus> = Arc::new(MemoryBus::new());
    let stats = Arc::new(WriterStats::default());
    let subscription = subscribe(bus.as_ref(), store.as_ref()).await.unwrap();
    tokio::spawn(run(subscription, bus.clone(), store.clone(), stats.clone()));
    let (channel, thing) = (channel(), thing());
    bus.publish(message(channel, thing, None, 1)).unwrap();
    bus.publish(Message {
        content_type: Some(ContentType::SenmlJson),
        payload: Bytes::from_static(far_future),
        ..message(channel, thing, None, 2)
    })
    .unwrap();
    bus.publish(message(channel, thing, None, 3)).unwrap();
    saved(&stats, 3).await;
    assert_eq!(stats.invalid_senml.load(Ordering::Relaxed), 1);
    assert_eq!(stats.failed_batches.load(Ordering::Relaxed), 0);
    let page = store.read(channel, &ReadQuery::default()).await.unwrap();
    assert_eq!(page.total, 3);
    assert!(
        page.messages
            .iter()
            .any(|r| r.payload.as_deref() == Some(&far_future[..]) && r.name.is_none())
    );
}
