//! Cases of many callers and of time: concurrency, subscriptions, restarts.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use domain::envelope::RecordedEvent;
use domain::ports::event_log::{Appended, EventLog};

use super::{LogFactory, append_retrying, batch, patiently, read_all};

/// `tasks` tasks each appending `rounds` times, alternating between a stream of their own
/// and one of three shared streams, 1 or 2 events each time; returns every outcome.
async fn append_from_many_tasks(
    log: &Arc<dyn EventLog>,
    tasks: u64,
    rounds: u64,
) -> Vec<(Appended, Vec<uuid::Uuid>)> {
    let handles: Vec<_> = (0..tasks)
        .map(|task| {
            let log = Arc::clone(log);
            tokio::spawn(async move {
                let mut outcomes = Vec::new();
                for round in 0..rounds {
                    let stream = if round % 2 == 0 {
                        format!("thing-{task}")
                    } else {
                        format!("channel-{}", (task + round) % 3)
                    };
                    let (appended, sent) = append_retrying(&*log, &stream, 1 + round % 2).await;
                    outcomes.push((appended, sent.events.iter().map(|e| e.id).collect()));
                }
                outcomes
            })
        })
        .collect();
    let mut outcomes = Vec::new();
    for handle in handles {
        outcomes.extend(
            patiently("appending task", handle)
                .await
                .expect("task panicked"),
        );
    }
    outcomes
}

/// Events per task of `append_from_many_tasks`.
fn events_per_task(rounds: u64) -> u64 {
    (0..rounds).map(|round| 1 + round % 2).sum()
}

pub async fn concurrent_retries_of_one_command_append_once<F: LogFactory>(factory: &F) {
    let log = factory.open("main").await;
    let command = batch("thing-1", 0, 2);
    let tries: Vec<_> = (0..20)
        .map(|_| {
            let (log, command) = (Arc::clone(&log), command.clone());
            tokio::spawn(async move { log.append(command).await })
        })
        .collect();
    let mut firsts = 0;
    for attempt in tries {
        let appended = patiently("retry", attempt)
            .await
            .expect("task")
            .expect("append");
        assert_eq!((appended.first_position, appended.last_position), (1, 2));
        firsts += usize::from(!appended.duplicate);
    }
    assert_eq!(firsts, 1, "exactly one attempt appends");
    assert_eq!(log.head().await, Ok(2));
}

pub async fn concurrent_appends_keep_positions_and_versions_dense<F: LogFactory>(factory: &F) {
    let log = factory.open("main").await;
    let outcomes = append_from_many_tasks(&log, 50, 20).await;
    let total = 50 * events_per_task(20);
    assert_eq!(log.head().await, Ok(total));

    let events = read_all(&*log).await;
    let positions: Vec<u64> = events.iter().map(|e| e.position).collect();
    assert_eq!(
        positions,
        (1..=total).collect::<Vec<_>>(),
        "positions dense from 1"
    );

    let mut versions: BTreeMap<&str, Vec<u64>> = BTreeMap::new();
    for event in &events {
        versions
            .entry(&event.stream)
            .or_default()
            .push(event.version);
    }
    for (stream, got) in versions {
        let dense: Vec<u64> = (1..=got.len() as u64).collect();
        assert_eq!(got, dense, "versions of {stream} dense from 1");
    }

    // Each acknowledged append sits exactly where the log said, with the events sent.
    for (appended, ids) in &outcomes {
        let first = usize::try_from(appended.first_position - 1).expect("position");
        let stored = &events[first..first + ids.len()];
        let stored_ids: Vec<_> = stored.iter().map(|e| e.id).collect();
        assert_eq!(&stored_ids, ids);
        assert!(stored.iter().all(|e| e.stream == appended.stream));
        assert_eq!(stored.last().map(|e| e.version), Some(appended.version));
        assert!(!appended.duplicate);
    }
    let unique: HashSet<_> = events.iter().map(|e| e.id).collect();
    assert_eq!(unique.len(), events.len());
}

/// Subscribes from `after` once `preload` events exist, then appends 300 more from ten
/// tasks while reading (`next`, or `next_batch` of at most `batch` when set): every event
/// after `after` must arrive once, in position order.
async fn subscription_sees_each_event_once<F: LogFactory>(
    factory: &F,
    preload: u64,
    after: u64,
    batch: Option<usize>,
) {
    let log = factory.open("main").await;
    for n in 0..preload {
        append_retrying(&*log, &format!("user-{}", n % 4), 1).await;
    }
    let mut subscription = log.subscribe(after).await.expect("subscribe");
    let writers = {
        let log = Arc::clone(&log);
        tokio::spawn(async move { append_from_many_tasks(&log, 10, 20).await })
    };
    let total = preload + 10 * events_per_task(20);

    let mut seen: Vec<RecordedEvent> = Vec::new();
    while (seen.len() as u64) < total - after {
        let events = match batch {
            None => vec![patiently("next", subscription.next()).await.expect("next")],
            Some(max) => {
                let events = patiently("next_batch", subscription.next_batch(max))
                    .await
                    .expect("next_batch");
                assert!((1..=max).contains(&events.len()), "{} events", events.len());
                events
            }
        };
        for event in events {
            let position = after + seen.len() as u64 + 1;
            assert_eq!(event.position, position, "in order, no gap, no duplicate");
            seen.push(event);
        }
    }
    patiently("writers", writers)
        .await
        .expect("writers panicked");
    assert_eq!(seen, log.read_after(after, usize::MAX).await.expect("read"));
    let extra = tokio::time::timeout(Duration::from_millis(200), subscription.next()).await;
    assert!(extra.is_err(), "nothing past the head: {extra:?}");
}

pub async fn subscribe_from_zero_during_appends<F: LogFactory>(factory: &F) {
    subscription_sees_each_event_once(factory, 30, 0, None).await;
}

pub async fn subscribe_from_the_middle_during_appends<F: LogFactory>(factory: &F) {
    subscription_sees_each_event_once(factory, 40, 25, None).await;
}

pub async fn subscribe_in_batches_during_appends<F: LogFactory>(factory: &F) {
    subscription_sees_each_event_once(factory, 40, 25, Some(7)).await;
}

pub async fn subscribe_waits_for_the_next_append<F: LogFactory>(factory: &F) {
    let log = factory.open("main").await;
    let mut subscription = log.subscribe(0).await.expect("subscribe");
    let waiting = {
        let log = Arc::clone(&log);
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(100)).await;
            log.append(batch("thing-1", 0, 1)).await
        })
    };
    let event: RecordedEvent = patiently("live event", subscription.next())
        .await
        .expect("next");
    assert_eq!((event.position, event.version), (1, 1));
    patiently("append", waiting)
        .await
        .expect("task")
        .expect("append");
}

pub async fn reopen_keeps_history_and_continues<F: LogFactory>(factory: &F) {
    let log = factory.open("main").await;
    let command = batch("thing-1", 0, 3);
    let first = log.append(command.clone()).await.expect("append");
    log.append(batch("channel-1", 0, 2)).await.expect("append");
    let history = read_all(&*log).await;
    let stream = log.read_stream("thing-1").await.expect("read");
    drop(log);

    let log = factory.open("main").await;
    assert_eq!(log.head().await, Ok(5));
    assert_eq!(read_all(&*log).await, history);
    assert_eq!(log.read_stream("thing-1").await, Ok(stream));
    assert_eq!(
        log.find_command(command.command_id).await,
        Ok(Some(first.clone()))
    );
    let retried = log.append(command).await.expect("retry after restart");
    assert_eq!(
        retried,
        Appended {
            duplicate: true,
            ..first
        }
    );

    // Versions and positions continue where they were.
    assert!(
        log.append(batch("thing-1", 0, 1)).await.is_err(),
        "thing-1 still exists"
    );
    let next = log
        .append(batch("thing-1", 3, 1))
        .await
        .expect("append after restart");
    assert_eq!((next.first_position, next.version), (6, 4));

    let mut subscription = log.subscribe(0).await.expect("subscribe");
    for position in 1..=6 {
        let event = patiently("replay", subscription.next())
            .await
            .expect("next");
        assert_eq!(event.position, position);
    }
}
