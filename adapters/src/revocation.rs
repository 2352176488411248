//! Revocation: events after which live device sessions (MQTT sessions, WebSockets) must end
//! at once.
//!
//! `RevocationFeed` runs with the projections (after the authz cache, so a client that
//! reconnects is checked against the new state) and broadcasts what the adapters must
//! close. It is shared by every protocol, so it lives beside the pipeline rather than in
//! one protocol's folder. It holds no state worth verifying, so it is not in
//! `replay --verify`'s list.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use domain::Event;
use domain::envelope::RecordedEvent;
use domain::ids::{ChannelId, ThingId};
use projections::Projection;
use tokio::sync::broadcast;

/// Revocations buffered for a slow adapter (or session); beyond that it closes every
/// session it holds.
const BACKLOG: usize = 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Revocation {
    /// Key changed, thing removed, disconnected from a channel, or one of its
    /// certificates revoked: close its sessions
    /// (and forget their subscriptions); it reconnects and is authorized afresh.
    Thing(ThingId),
    /// Channel removed: close the sessions subscribed to it.
    Channel(ChannelId),
}

#[derive(Clone)]
pub struct RevocationFeed {
    sender: broadcast::Sender<Revocation>,
    checkpoint: Arc<AtomicU64>,
}

impl Default for RevocationFeed {
    fn default() -> Self {
        Self {
            sender: broadcast::Sender::new(BACKLOG),
            checkpoint: Arc::default(),
        }
    }
}

impl RevocationFeed {
    /// Revocations from now on. Before anyone subscribes, nothing is buffered (there are
    /// no sessions to close while the projections catch up at startup).
    pub fn subscribe(&self) -> broadcast::Receiver<Revocation> {
        self.sender.subscribe()
    }

    fn revocation(event: &Event) -> Option<Revocation> {
        match event {
            Event::ThingKeyUpdated { id, .. } | Event::ThingRemoved { id } => {
                Some(Revocation::Thing(*id))
            }
            Event::ThingDisconnected { thing_id, .. } => Some(Revocation::Thing(*thing_id)),
            // Its sessions may have logged in with the revoked certificate (the handshake
            // refuses it from now on); sessions of its other credentials just reconnect.
            Event::CertRevoked { thing_id, .. } => Some(Revocation::Thing(*thing_id)),
            Event::ChannelRemoved { id } => Some(Revocation::Channel(*id)),
            _ => None,
        }
    }
}

impl Projection for RevocationFeed {
    fn name(&self) -> &'static str {
        "mqtt-revocations"
    }

    fn checkpoint(&self) -> u64 {
        self.checkpoint.load(Ordering::Relaxed)
    }

    fn apply(&self, recorded: &RecordedEvent, event: &Event) {
        if recorded.position <= self.checkpoint() {
            return;
        }
        self.checkpoint.store(recorded.position, Ordering::Relaxed);
        if let Some(revocation) = Self::revocation(event) {
            // No subscriber (no adapter or session yet) is not an error.
            let _ = self.sender.send(revocation);
        }
    }

    fn digest(&self) -> String {
        String::new()
    }
}
