//! Copying a history into another log (fjall → JetStream), so that a user who started
//! embedded grows into a cluster without losing anything: every event keeps its id, stream,
//! version and position.
//!
//! Each event is appended on its own, in position order, with a command id derived from the
//! event id: a migration stopped half way and run again continues where it stopped, and one
//! run twice appends nothing the second time.

use domain::envelope::{PendingEvent, RecordedEvent};
use domain::ports::event_log::{AppendBatch, EventLog};
use uuid::Uuid;

use crate::{Progress, ReplayError};

const BATCH: usize = 4096;

/// Fixed namespace of migration command ids (`Uuid::new_v5(MIGRATION, event id)`).
const MIGRATION: Uuid = Uuid::from_u128(0x6d1a_2c4e_0f3b_4b8e_9a57_3c2d_1e0f_aa01);

/// Copies every event of `from` that `to` does not have yet; returns how many it appended.
pub async fn migrate(
    from: &dyn EventLog,
    to: &dyn EventLog,
    progress: &mut dyn Progress,
) -> Result<u64, ReplayError> {
    let head = from.head().await?;
    let already = to.head().await?;
    check_prefix(from, to, already).await?;
    progress.start(head);
    progress.advance(already);
    let mut cursor = already;
    let mut appended = 0;
    loop {
        let batch = from.read_after(cursor, BATCH).await?;
        let Some(last) = batch.last().map(|e| e.position) else {
            break;
        };
        for event in batch {
            copy(to, event).await?;
            appended += 1;
        }
        cursor = last;
        progress.advance(cursor);
    }
    progress.finish();
    Ok(appended)
}

/// The target must hold exactly the source's first `count` events (a resumed migration), or
/// nothing: anything else is another history, which a copy must not mix in.
async fn check_prefix(
    from: &dyn EventLog,
    to: &dyn EventLog,
    count: u64,
) -> Result<(), ReplayError> {
    let mut cursor = 0;
    while cursor < count {
        let theirs = to.read_after(cursor, BATCH).await?;
        let ours = from.read_after(cursor, theirs.len()).await?;
        if theirs.is_empty() || theirs.iter().map(|e| e.id).ne(ours.iter().map(|e| e.id)) {
            return Err(ReplayError::Migration(format!(
                "the target log already holds {count} events that are not this history's first ones"
            )));
        }
        cursor += theirs.len() as u64;
    }
    Ok(())
}

async fn copy(to: &dyn EventLog, event: RecordedEvent) -> Result<(), ReplayError> {
    let position = event.position;
    let batch = AppendBatch {
        stream: event.stream.clone(),
        expected_version: event.version - 1,
        command_id: Uuid::new_v5(&MIGRATION, event.id.as_bytes()),
        retryable: true,
        events: vec![PendingEvent {
            id: event.id,
            kind: event.kind,
            schema: event.schema,
            occurred_at: event.occurred_at,
            actor: event.actor,
            correlation_id: event.correlation_id,
            data: event.data,
        }],
    };
    let done = to.append(batch).await?;
    if done.first_position != position {
        return Err(ReplayError::Migration(format!(
            "event {position} landed at {} in the target: is something else writing to it?",
            done.first_position
        )));
    }
    Ok(())
}
