//! MQTT 5 shared subscriptions: `$share/<group>/channels/<id>/messages[/…]`. The sessions
//! subscribed to one shared filter form a group, and each message the filter matches goes
//! to one member only, in turn, a connected one first. A group may span sessions of
//! different things: each member was authorized for the channel like any subscriber.

use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use bytestring::ByteString;
use rmqtt_codec::types::QoS;

use super::session::{Offer, QueueLimit, Routed, Session, SubscriptionIds};
use crate::subtopic::SubtopicFilter;

const PREFIX: &str = "$share/";

/// A filter's share name and the filter it shares, for a `$share/…` filter; `Err` for one
/// that starts so but is not a valid shared filter (no name, a wildcard in it, no filter).
pub(super) fn split(filter: &str) -> Result<Option<(&str, &str)>, InvalidShare> {
    let Some(rest) = filter.strip_prefix(PREFIX) else {
        return Ok(None);
    };
    let (name, shared) = rest.split_once('/').ok_or(InvalidShare)?;
    if name.is_empty() || name.contains(['+', '#']) || shared.is_empty() {
        return Err(InvalidShare);
    }
    Ok(Some((name, shared)))
}

/// A `$share/…` filter that is not one: a protocol error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct InvalidShare;

/// One member's subscription to the group's filter.
pub(super) struct Member {
    pub session: Arc<Session>,
    pub qos: QoS,
    pub retain_as_published: bool,
    pub id: Option<NonZeroU32>,
}

/// The sessions sharing one `$share/<name>/<filter>`.
pub(super) struct Group {
    /// The whole filter, `$share/` included, as members write it.
    pub raw: ByteString,
    pub filter: SubtopicFilter,
    pub members: Vec<Member>,
    /// Where the next message's search for a member starts.
    next: AtomicUsize,
}

impl Group {
    pub fn new(raw: ByteString, filter: SubtopicFilter) -> Self {
        Self {
            raw,
            filter,
            members: Vec::new(),
            next: AtomicUsize::new(0),
        }
    }

    /// Adds `member`, replacing the same session's earlier subscription to this filter.
    pub fn join(&mut self, member: Member) {
        self.leave(&member.session);
        self.members.push(member);
    }

    pub fn leave(&mut self, session: &Arc<Session>) {
        self.members.retain(|m| !Arc::ptr_eq(&m.session, session));
    }

    /// Queues `message` for one member, in turn: a connected one if any takes it, else any
    /// that takes it. `false` when none could (all full, or all away for QoS 0).
    pub fn deliver(&self, message: &Routed, limit: QueueLimit) -> bool {
        let count = self.members.len();
        if count == 0 || !self.filter.matches(message.subtopic.as_ref()) {
            return true;
        }
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        for connected_only in [true, false] {
            for at in 0..count {
                let member = &self.members[(start + at) % count];
                if offer(member, message, limit, connected_only) {
                    return true;
                }
            }
        }
        false
    }
}

/// Queues `message` for `member` if it takes it (and is connected, when asked).
fn offer(member: &Member, message: &Routed, limit: QueueLimit, connected_only: bool) -> bool {
    let mut state = member.session.lock();
    if connected_only && state.link.is_none() {
        return false;
    }
    let mut ids = SubscriptionIds::None;
    if let Some(id) = member.id {
        ids.add(id);
    }
    let retain = member.retain_as_published && message.retain;
    let copy = message.to_session(member.qos.min(message.qos), retain, ids);
    matches!(state.push(copy, limit), Offer::Queued)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn share_names_and_their_filters_are_split_off() {
        let cases = [
            ("channels/x/messages", Ok(None)),
            ("$share/g/channels/x/#", Ok(Some(("g", "channels/x/#")))),
            ("$share/g", Err(InvalidShare)),
            ("$share//channels/x", Err(InvalidShare)),
            ("$share/g/", Err(InvalidShare)),
            ("$share/g+/channels/x", Err(InvalidShare)),
            ("$share/#/channels/x", Err(InvalidShare)),
        ];
        for (filter, expected) in cases {
            assert_eq!(split(filter), expected, "{filter}");
        }
    }
}
