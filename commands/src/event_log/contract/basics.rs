//! Cases of one caller at a time: what is stored, where, and what is refused.

use domain::envelope::RecordedEvent;
use domain::ports::event_log::{AppendBatch, Appended, LogError};
use uuid::Uuid;

use super::{LogFactory, batch, read_all};

/// The envelopes `batch` must have become, given where the log put its first event.
fn recorded(batch: &AppendBatch, first_version: u64, first_position: u64) -> Vec<RecordedEvent> {
    (0u64..)
        .zip(&batch.events)
        .map(|(i, pending)| {
            RecordedEvent::record(
                pending.clone(),
                &batch.stream,
                first_version + i,
                first_position + i,
            )
        })
        .collect()
}

pub async fn a_fresh_log_is_empty<F: LogFactory>(factory: &F) {
    let log = factory.open("main").await;
    assert_eq!(log.head().await, Ok(0));
    assert_eq!(log.read_after(0, 10).await, Ok(vec![]));
    assert_eq!(log.read_stream("thing-1").await, Ok(vec![]));
    assert_eq!(log.find_command(Uuid::new_v4()).await, Ok(None));
}

pub async fn append_then_read_stream_in_version_order<F: LogFactory>(factory: &F) {
    let log = factory.open("main").await;
    let first = batch("thing-1", 0, 3);
    let appended = log.append(first.clone()).await.expect("first append");
    let expected = Appended {
        stream: "thing-1".into(),
        first_position: 1,
        last_position: 3,
        version: 3,
        duplicate: false,
    };
    assert_eq!(appended, expected);

    let second = batch("thing-1", 3, 2);
    let appended = log.append(second.clone()).await.expect("second append");
    assert_eq!((appended.first_position, appended.last_position), (4, 5));
    assert_eq!(appended.version, 5);

    // A stream whose name extends another's must not leak into it.
    let other = batch("thing-10", 0, 1);
    log.append(other.clone()).await.expect("other stream");

    let mut want = recorded(&first, 1, 1);
    want.extend(recorded(&second, 4, 4));
    assert_eq!(log.read_stream("thing-1").await, Ok(want));
    assert_eq!(
        log.read_stream("thing-10").await,
        Ok(recorded(&other, 1, 6))
    );
    assert_eq!(log.read_stream("thing-").await, Ok(vec![]));
    assert_eq!(log.head().await, Ok(6));
}

pub async fn positions_are_dense_across_streams<F: LogFactory>(factory: &F) {
    let log = factory.open("main").await;
    let mut versions = [0u64; 3];
    let mut want = Vec::new();
    for round in 0..12u64 {
        let slot = (round % 3) as usize;
        let events = 1 + round % 4;
        let b = batch(&format!("channel-{slot}"), versions[slot], events);
        let appended = log.append(b.clone()).await.expect("append");
        let position = want.len() as u64 + 1;
        assert_eq!(appended.first_position, position);
        want.extend(recorded(&b, versions[slot] + 1, position));
        versions[slot] += events;
        assert_eq!(appended.version, versions[slot]);
    }
    assert_eq!(read_all(&*log).await, want);
    assert_eq!(log.head().await, Ok(want.len() as u64));
}

pub async fn read_after_honours_bounds_and_limit<F: LogFactory>(factory: &F) {
    let log = factory.open("main").await;
    log.append(batch("user-1", 0, 6)).await.expect("append");
    let positions =
        |events: Vec<RecordedEvent>| -> Vec<u64> { events.iter().map(|e| e.position).collect() };
    assert_eq!(log.read_after(2, 3).await.map(positions), Ok(vec![3, 4, 5]));
    assert_eq!(log.read_after(4, 100).await.map(positions), Ok(vec![5, 6]));
    assert_eq!(log.read_after(6, 100).await, Ok(vec![]));
    assert_eq!(log.read_after(60, 100).await, Ok(vec![]));
    assert_eq!(log.read_after(0, 0).await, Ok(vec![]));
    assert_eq!(
        log.read_after(0, usize::MAX).await.map(positions),
        Ok(vec![1, 2, 3, 4, 5, 6])
    );
}

/// Long ranges (a replay's pages) come back complete and in order, wherever they start,
/// from any mix of streams and batch sizes.
pub async fn long_reads_are_complete_and_ordered<F: LogFactory>(factory: &F) {
    let log = factory.open("main").await;
    let mut versions = [0u64; 5];
    let mut want = Vec::new();
    for round in 0..130u64 {
        let slot = (round % 5) as usize;
        let events = 1 + round % 19;
        let b = batch(&format!("thing-{slot}"), versions[slot], events);
        log.append(b.clone()).await.expect("append");
        want.extend(recorded(&b, versions[slot] + 1, want.len() as u64 + 1));
        versions[slot] += events;
    }
    let total = want.len();
    assert!(total > 1200, "{total} events are not a long history");
    assert_eq!(log.read_after(0, usize::MAX).await, Ok(want.clone()));
    assert_eq!(log.read_after(7, 900).await, Ok(want[7..907].to_vec()));
    assert_eq!(
        log.read_after(total as u64 - 600, 4096).await,
        Ok(want[total - 600..].to_vec())
    );
    assert_eq!(
        log.read_after(total as u64 - 1, 4096).await,
        Ok(want[total - 1..].to_vec())
    );
}

pub async fn conflicts_are_typed_and_write_nothing<F: LogFactory>(factory: &F) {
    let log = factory.open("main").await;
    log.append(batch("thing-1", 0, 2)).await.expect("create");
    let before = read_all(&*log).await;

    let conflict = |expected, actual| {
        Err(LogError::Conflict {
            stream: "thing-1".into(),
            expected,
            actual,
        })
    };
    // The stream exists already.
    assert_eq!(log.append(batch("thing-1", 0, 1)).await, conflict(0, 2));
    // A stale version, and one from the future.
    assert_eq!(log.append(batch("thing-1", 1, 1)).await, conflict(1, 2));
    assert_eq!(log.append(batch("thing-1", 5, 1)).await, conflict(5, 2));
    // A stream that does not exist is at version 0.
    assert_eq!(
        log.append(batch("thing-2", 3, 1)).await,
        Err(LogError::Conflict {
            stream: "thing-2".into(),
            expected: 3,
            actual: 0,
        })
    );

    assert_eq!(read_all(&*log).await, before);
    assert_eq!(log.head().await, Ok(2));
    // The right version still goes through, at the next position.
    let appended = log.append(batch("thing-1", 2, 1)).await.expect("append");
    assert_eq!((appended.first_position, appended.version), (3, 3));
}

pub async fn invalid_appends_are_rejected<F: LogFactory>(factory: &F) {
    let log = factory.open("main").await;
    let empty = batch("thing-1", 0, 0);
    assert!(matches!(
        log.append(empty.clone()).await,
        Err(LogError::Invalid(_))
    ));
    assert!(matches!(
        log.append(batch("", 0, 1)).await,
        Err(LogError::Invalid(_))
    ));
    assert_eq!(log.head().await, Ok(0));
    assert_eq!(log.find_command(empty.command_id).await, Ok(None));

    // A rejected command id is not remembered: fixed, the same command goes through.
    let fixed = AppendBatch {
        events: batch("thing-1", 0, 1).events,
        ..empty
    };
    let appended = log.append(fixed).await.expect("fixed append");
    assert!(!appended.duplicate);
    assert_eq!(appended.first_position, 1);
}

pub async fn same_command_id_appends_once<F: LogFactory>(factory: &F) {
    let log = factory.open("main").await;
    let command = batch("thing-1", 0, 2);
    let first = log.append(command.clone()).await.expect("first");
    assert!(!first.duplicate);

    let again = log.append(command.clone()).await.expect("retry");
    assert_eq!(
        again,
        Appended {
            duplicate: true,
            ..first.clone()
        }
    );

    // The retry of a command whose stream moved on since is still only a duplicate.
    log.append(batch("thing-1", 2, 1))
        .await
        .expect("other command");
    let late = AppendBatch {
        expected_version: 0,
        ..command.clone()
    };
    assert_eq!(
        log.append(late).await,
        Ok(Appended {
            duplicate: true,
            ..first.clone()
        })
    );

    assert_eq!(log.read_stream("thing-1").await.map(|e| e.len()), Ok(3));
    assert_eq!(log.head().await, Ok(3));
    // find_command answers with the original outcome, as first reported.
    assert_eq!(log.find_command(command.command_id).await, Ok(Some(first)));
    assert_eq!(log.find_command(Uuid::new_v4()).await, Ok(None));
}

/// A command id no retry can carry (`retryable: false`) is not remembered: appending the
/// batch again is a new append (refused here, as its stream has moved), and `find_command`
/// does not know it.
pub async fn one_off_commands_are_not_remembered<F: LogFactory>(factory: &F) {
    let log = factory.open("main").await;
    let one_off = AppendBatch {
        retryable: false,
        ..batch("thing-1", 0, 2)
    };
    let first = log.append(one_off.clone()).await.expect("first");
    assert!(!first.duplicate);
    assert!(matches!(
        log.append(one_off.clone()).await,
        Err(LogError::Conflict { actual: 2, .. })
    ));
    assert_eq!(log.find_command(one_off.command_id).await, Ok(None));
    assert_eq!(log.read_stream("thing-1").await.map(|e| e.len()), Ok(2));
}
