//! Which sessions subscribe to which channel. Every valid topic names exactly one channel,
//! so the index is by channel and a message is matched only against that channel's
//! subscribers; each session then picks its best matching filter, so it gets a message
//! once however many of its filters match.
//!
//! Lock order: the index, then a session's state (never the reverse).

use std::collections::HashMap;
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

use domain::ids::ChannelId;

use super::session::{Offer, QueueLimit, Routed, Session, Subscription};

/// Topic filters one session may hold: every message on a channel is matched against its
/// subscribers' filters, so a client must not make that list unbounded. Beyond: SUBACK failure.
const MAX_SUBSCRIPTIONS: usize = 256;

#[derive(Default)]
pub(super) struct Router {
    channels: RwLock<HashMap<ChannelId, Vec<Arc<Session>>>>,
}

impl Router {
    fn read(&self) -> RwLockReadGuard<'_, HashMap<ChannelId, Vec<Arc<Session>>>> {
        self.channels.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write(&self) -> RwLockWriteGuard<'_, HashMap<ChannelId, Vec<Arc<Session>>>> {
        self.channels.write().unwrap_or_else(|p| p.into_inner())
    }

    /// Adds `subscription`, replacing one with the same filter. `false` when the session
    /// was forgotten meanwhile (it must not come back into the index) or holds
    /// `MAX_SUBSCRIPTIONS` already.
    pub fn subscribe(&self, session: &Arc<Session>, subscription: Subscription) -> bool {
        let mut channels = self.write();
        let mut state = session.lock();
        if !state.alive {
            return false;
        }
        let channel = subscription.channel;
        state.subscriptions.retain(|s| s.raw != subscription.raw);
        if state.subscriptions.len() >= MAX_SUBSCRIPTIONS {
            return false;
        }
        state.subscriptions.push(subscription);
        let sessions = channels.entry(channel).or_default();
        if !sessions.iter().any(|s| Arc::ptr_eq(s, session)) {
            sessions.push(session.clone());
        }
        true
    }

    /// Removes the subscription written as `raw`, if there is one.
    pub fn unsubscribe(&self, session: &Arc<Session>, raw: &str) {
        let mut channels = self.write();
        let mut state = session.lock();
        let Some(at) = state.subscriptions.iter().position(|s| &*s.raw == raw) else {
            return;
        };
        let channel = state.subscriptions.remove(at).channel;
        if !state.subscriptions.iter().any(|s| s.channel == channel) {
            unlist(&mut channels, channel, session);
        }
    }

    /// Forgets a session: out of the index, nothing queued, nothing will be.
    pub fn remove(&self, session: &Arc<Session>) {
        let mut channels = self.write();
        let mut state = session.lock();
        for channel in state.channels() {
            unlist(&mut channels, channel, session);
        }
        state.clear();
        state.alive = false;
    }

    /// Queues `message` for every session that wants it; `from` is the publisher's own
    /// session, if it came over MQTT. Returns how many sessions wanted it and could not
    /// take it.
    pub fn route(&self, message: &Routed, from: Option<&Session>, limit: QueueLimit) -> usize {
        let channels = self.read();
        let Some(sessions) = channels.get(&message.channel) else {
            return 0;
        };
        sessions
            .iter()
            .filter(|s| matches!(s.offer(message, from, limit), Offer::Dropped))
            .count()
    }

    pub fn has_subscribers(&self, channel: ChannelId) -> bool {
        self.read().contains_key(&channel)
    }

    /// The sessions subscribed to `channel`.
    pub fn subscribers(&self, channel: ChannelId) -> Vec<Arc<Session>> {
        self.read().get(&channel).cloned().unwrap_or_default()
    }
}

fn unlist(
    channels: &mut HashMap<ChannelId, Vec<Arc<Session>>>,
    channel: ChannelId,
    session: &Arc<Session>,
) {
    if let Some(sessions) = channels.get_mut(&channel) {
        sessions.retain(|s| !Arc::ptr_eq(s, session));
        if sessions.is_empty() {
            channels.remove(&channel);
        }
    }
}
