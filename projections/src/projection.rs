//! What every projection offers the runner and `replay --verify`.

use domain::Event;
use domain::envelope::RecordedEvent;

pub trait Projection: Send + Sync + 'static {
    fn name(&self) -> &'static str;

    /// Position of the last event applied; stored with the state so both move together.
    fn checkpoint(&self) -> u64;

    /// Applies one decoded event. Must ignore positions at or below the checkpoint, so a
    /// redelivered event is harmless.
    fn apply(&self, recorded: &RecordedEvent, event: &Event);

    /// Applies events in position order; projections override it to take their lock once
    /// per batch, which matters when a rebuild replays millions of events.
    fn apply_batch(&self, batch: &[(RecordedEvent, Event)]) {
        for (recorded, event) in batch {
            self.apply(recorded, event);
        }
    }

    /// A digest of the whole state, equal for equal states: `replay --verify` compares the
    /// live projection with one rebuilt from position 0.
    fn digest(&self) -> String;
}

/// Deterministic digest of any serializable state (ordered maps only).
pub fn digest_of<T: serde::Serialize>(state: &T) -> String {
    let bytes = serde_json::to_vec(state).unwrap_or_default();
    // FNV-1a is enough to compare two states in one process; it is no security boundary.
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in bytes {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{hash:016x}")
}
