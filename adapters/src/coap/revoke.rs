//! Revocation (issue 15 item 5): a key change, a disconnect or a removal ends the thing's
//! observations at once.
//!
//! Each revocation names a thing or a channel; every observer concerned is checked again
//! against the new state (the revocation feed runs after the authz cache) with the key it
//! registered with. One no longer allowed is dropped and sent a last non-confirmable
//! notification with the refusal's code — 4.01 when its key is gone (changed, or the thing
//! removed), 4.03 when the thing is no longer connected or the channel was removed — which
//! ends the observation at the client (RFC 7641 §3.2). An observer still allowed (its thing
//! was disconnected from another channel) is kept. A revoker that fell behind checks all.

use std::sync::Arc;

use tokio::sync::broadcast::{self, error::RecvError};

use super::refusal::Refusal;
use super::server::{Shared, lock};
use super::stats::CoapStats;
use crate::revocation::Revocation;

pub(super) async fn revoke(shared: Arc<Shared>, mut revocations: broadcast::Receiver<Revocation>) {
    loop {
        let (thing, channel) = match revocations.recv().await {
            Ok(Revocation::Thing(thing)) => (Some(thing), None),
            Ok(Revocation::Channel(channel)) => (None, Some(channel)),
            Err(RecvError::Lagged(missed)) => {
                tracing::warn!(
                    missed,
                    "CoAP revocations fell behind: checking every observer"
                );
                (None, None)
            }
            Err(RecvError::Closed) => return,
        };
        let concerned = lock(&shared.registry).matching(thing, channel);
        for (observer, id, key, channel) in concerned {
            let Err(refused) = shared.pipeline.authorize(&key, channel) else {
                continue;
            };
            if lock(&shared.registry).remove(&observer, Some(id)).is_some() {
                CoapStats::count(&shared.stats.observers_revoked);
                shared
                    .send_final(observer, Refusal::from(refused).code())
                    .await;
            }
        }
    }
}
