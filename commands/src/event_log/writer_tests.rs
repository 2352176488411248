//! Group semantics, made deterministic by handing the writer a group directly instead of
//! hoping concurrent callers land in one.

use std::sync::Arc;

use domain::ports::event_log::{AppendBatch, Appended, LogError};
use tokio::sync::{oneshot, watch};

use super::{Counters, Request, Writer};
use crate::event_log::contract::batch;
use crate::event_log::store::Store;

struct Harness {
    _dir: tempfile::TempDir,
    writer: Writer,
    head: watch::Receiver<u64>,
}

fn harness() -> Harness {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Arc::new(Store::open(dir.path(), 1 << 20).expect("open"));
    let (head_tx, head) = watch::channel(0);
    let writer = Writer::new(store, head_tx, Arc::new(Counters::default()), 1024).expect("writer");
    Harness {
        _dir: dir,
        writer,
        head,
    }
}

/// Commits `batches` as one group and returns each caller's answer, in order.
fn group(writer: &mut Writer, batches: Vec<AppendBatch>) -> Vec<Result<Appended, LogError>> {
    let (requests, answers): (Vec<_>, Vec<_>) = batches
        .into_iter()
        .map(|batch| {
            let (reply, answer) = oneshot::channel();
            let batches = vec![batch];
            (Request { batches, reply }, answer)
        })
        .unzip();
    writer.commit_group(requests);
    answers
        .into_iter()
        .map(|mut answer| {
            let answer = answer.try_recv().expect("answered");
            answer.map(|mut all| all.pop().expect("one outcome"))
        })
        .collect()
}

fn at(result: &Result<Appended, LogError>) -> (u64, u64, u64, bool) {
    let a = result.as_ref().expect("appended");
    (a.first_position, a.last_position, a.version, a.duplicate)
}

#[test]
fn requests_of_one_group_see_each_other() {
    let mut h = harness();
    let answers = group(
        &mut h.writer,
        vec![
            batch("thing-1", 0, 2),
            batch("thing-1", 2, 1),
            batch("thing-2", 0, 1),
        ],
    );
    assert_eq!(at(&answers[0]), (1, 2, 2, false));
    assert_eq!(at(&answers[1]), (3, 3, 3, false));
    assert_eq!(at(&answers[2]), (4, 4, 1, false));
    assert_eq!(*h.head.borrow(), 4);
}

#[test]
fn a_conflict_in_a_group_leaves_the_others_alone() {
    let mut h = harness();
    let answers = group(
        &mut h.writer,
        vec![
            batch("thing-1", 0, 1),
            batch("thing-1", 0, 1),
            batch("thing-1", 1, 1),
        ],
    );
    assert_eq!(at(&answers[0]), (1, 1, 1, false));
    assert_eq!(
        answers[1],
        Err(LogError::Conflict {
            stream: "thing-1".into(),
            expected: 0,
            actual: 1
        })
    );
    assert_eq!(at(&answers[2]), (2, 2, 2, false));
    assert_eq!(*h.head.borrow(), 2);
}

#[test]
fn a_command_repeated_within_a_group_is_a_duplicate() {
    let mut h = harness();
    let command = batch("thing-1", 0, 2);
    let answers = group(&mut h.writer, vec![command.clone(), command.clone()]);
    assert_eq!(at(&answers[0]), (1, 2, 2, false));
    assert_eq!(at(&answers[1]), (1, 2, 2, true));
    // And across groups, from the command index.
    let answers = group(&mut h.writer, vec![command]);
    assert_eq!(at(&answers[0]), (1, 2, 2, true));
    assert_eq!(*h.head.borrow(), 2);
}

#[test]
fn a_group_of_rejections_writes_nothing() {
    let mut h = harness();
    let answers = group(
        &mut h.writer,
        vec![batch("thing-1", 3, 1), batch("thing-1", 0, 0)],
    );
    assert!(matches!(answers[0], Err(LogError::Conflict { .. })));
    assert!(matches!(answers[1], Err(LogError::Invalid(_))));
    assert_eq!(*h.head.borrow(), 0);
    assert_eq!(h.writer.store.last_position(), Ok(0));
}
