//! Which sessions subscribe to which channel. Every valid topic names exactly one channel,
//! so the index is by channel and a message is matched only against that channel's
//! subscribers; each session then picks its best matching filter, so it gets a message
//! once however many of its filters match. Shared subscriptions (`shared`) are kept per
//! channel too, as groups that each take a message once.
//!
//! Lock order: the index, then a session's state (never the reverse).

use std::collections::HashMap;
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

use domain::ids::ChannelId;

use super::session::{Offer, QueueLimit, Routed, Session, Subscription};
use super::shared::{Group, Member};

/// Topic filters one session may hold: every message on a channel is matched against its
/// subscribers' filters, so a client must not make that list unbounded. Beyond: SUBACK failure.
const MAX_SUBSCRIPTIONS: usize = 256;

/// One channel's subscribers: sessions with a filter of their own, and shared groups.
#[derive(Default)]
struct Subscribers {
    sessions: Vec<Arc<Session>>,
    groups: Vec<Group>,
}

type Index = HashMap<ChannelId, Subscribers>;

#[derive(Default)]
pub(super) struct Router {
    channels: RwLock<Index>,
}

/// What `subscribe` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Subscribed {
    /// A filter the session did not hold.
    New,
    /// The session's subscription to the same filter, replaced.
    Replaced,
    /// The session was forgotten meanwhile, or holds `MAX_SUBSCRIPTIONS` already.
    Refused,
}

impl Router {
    fn read(&self) -> RwLockReadGuard<'_, Index> {
        self.channels.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write(&self) -> RwLockWriteGuard<'_, Index> {
        self.channels.write().unwrap_or_else(|p| p.into_inner())
    }

    /// Adds `subscription`, replacing one with the same filter. A forgotten session must
    /// not come back into the index.
    pub fn subscribe(&self, session: &Arc<Session>, subscription: Subscription) -> Subscribed {
        let mut channels = self.write();
        let mut state = session.lock();
        if !state.alive {
            return Subscribed::Refused;
        }
        let before = state.subscriptions.len();
        state.subscriptions.retain(|s| s.raw != subscription.raw);
        let replaced = state.subscriptions.len() < before;
        if state.subscriptions.len() >= MAX_SUBSCRIPTIONS {
            return Subscribed::Refused;
        }
        let subscribers = channels.entry(subscription.channel).or_default();
        if subscription.shared {
            let group = match subscribers
                .groups
                .iter()
                .position(|g| g.raw == subscription.raw)
            {
                Some(at) => &mut subscribers.groups[at],
                None => {
                    let group = Group::new(subscription.raw.clone(), subscription.filter.clone());
                    subscribers.groups.push(group);
                    subscribers.groups.last_mut().expect("just pushed")
                }
            };
            group.join(Member {
                session: session.clone(),
                qos: subscription.qos,
                retain_as_published: subscription.retain_as_published,
                id: subscription.id,
            });
        } else if !subscribers.sessions.iter().any(|s| Arc::ptr_eq(s, session)) {
            subscribers.sessions.push(session.clone());
        }
        state.subscriptions.push(subscription);
        match replaced {
            true => Subscribed::Replaced,
            false => Subscribed::New,
        }
    }

    /// Removes the subscription written as `raw`; whether there was one.
    pub fn unsubscribe(&self, session: &Arc<Session>, raw: &str) -> bool {
        let mut channels = self.write();
        let mut state = session.lock();
        let Some(at) = state.subscriptions.iter().position(|s| &*s.raw == raw) else {
            return false;
        };
        let removed = state.subscriptions.remove(at);
        let own_left = state
            .subscriptions
            .iter()
            .any(|s| s.channel == removed.channel && !s.shared);
        let Some(subscribers) = channels.get_mut(&removed.channel) else {
            return true;
        };
        if removed.shared {
            leave_group(subscribers, raw, session);
        } else if !own_left {
            subscribers.sessions.retain(|s| !Arc::ptr_eq(s, session));
        }
        if subscribers.sessions.is_empty() && subscribers.groups.is_empty() {
            channels.remove(&removed.channel);
        }
        true
    }

    /// Forgets a session: out of the index, nothing queued, nothing will be.
    pub fn remove(&self, session: &Arc<Session>) {
        let mut channels = self.write();
        let mut state = session.lock();
        for channel in state.channels() {
            let Some(subscribers) = channels.get_mut(&channel) else {
                continue;
            };
            subscribers.sessions.retain(|s| !Arc::ptr_eq(s, session));
            for sub in state.subscriptions.iter().filter(|s| s.shared) {
                leave_group(subscribers, &sub.raw, session);
            }
            if subscribers.sessions.is_empty() && subscribers.groups.is_empty() {
                channels.remove(&channel);
            }
        }
        state.clear();
        state.alive = false;
    }

    /// Queues `message` for every session that wants it, and for one member of each shared
    /// group; `from` is the publisher's own session, if it came over MQTT. Returns how many
    /// sessions (or groups) wanted it and could not take it.
    pub fn route(&self, message: &Routed, from: Option<&Session>, limit: QueueLimit) -> usize {
        let channels = self.read();
        let Some(subscribers) = channels.get(&message.channel) else {
            return 0;
        };
        let own = subscribers
            .sessions
            .iter()
            .filter(|s| matches!(s.offer(message, from, limit), Offer::Dropped))
            .count();
        let shared = subscribers
            .groups
            .iter()
            .filter(|g| !g.deliver(message, limit))
            .count();
        own + shared
    }

    pub fn has_subscribers(&self, channel: ChannelId) -> bool {
        self.read().contains_key(&channel)
    }

    /// The sessions subscribed to `channel`, in a group or not.
    pub fn subscribers(&self, channel: ChannelId) -> Vec<Arc<Session>> {
        let channels = self.read();
        let Some(subscribers) = channels.get(&channel) else {
            return Vec::new();
        };
        let members = subscribers.groups.iter().flat_map(|g| &g.members);
        let mut sessions = subscribers.sessions.clone();
        for member in members {
            if !sessions.iter().any(|s| Arc::ptr_eq(s, &member.session)) {
                sessions.push(member.session.clone());
            }
        }
        sessions
    }
}

/// Takes `session` out of the group `raw`, and the group out once empty.
fn leave_group(subscribers: &mut Subscribers, raw: &str, session: &Arc<Session>) {
    if let Some(at) = subscribers.groups.iter().position(|g| &*g.raw == raw) {
        subscribers.groups[at].leave(session);
        if subscribers.groups[at].members.is_empty() {
            subscribers.groups.swap_remove(at);
        }
    }
}
