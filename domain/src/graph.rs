//! The live connection graph, folded from events: which things may use which channels.
//!
//! Both the authz cache and the query views fold it, so "a connection never outlives a
//! removed end" is proven once, here. An edge exists only while both ends are live; an edge
//! event for a removed (or not yet seen) end is ignored, so the order in which concurrent
//! `thing.remove` and `thing.connect` arrive does not matter.

use std::collections::BTreeSet;

use crate::{FastMap, FastSet};

use crate::event::Event;
use crate::ids::{ChannelId, ThingId};

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Connections {
    things: FastMap<ThingId, BTreeSet<ChannelId>>,
    channels: FastMap<ChannelId, BTreeSet<ThingId>>,
    /// Tombstones: a removal is final even if a stray create for the same id comes later.
    removed_things: FastSet<ThingId>,
    removed_channels: FastSet<ChannelId>,
}

impl Connections {
    pub fn apply(&mut self, event: &Event) {
        match event {
            Event::ThingCreated { id, .. } if !self.removed_things.contains(id) => {
                self.things.entry(*id).or_default();
            }
            Event::ChannelCreated { id, .. } if !self.removed_channels.contains(id) => {
                self.channels.entry(*id).or_default();
            }
            Event::ThingConnected {
                channel_id,
                thing_id,
            } => self.connect(*channel_id, *thing_id),
            Event::ThingDisconnected {
                channel_id,
                thing_id,
            } => self.disconnect(*channel_id, *thing_id),
            Event::ThingRemoved { id } => {
                self.removed_things.insert(*id);
                for channel in self.things.remove(id).unwrap_or_default() {
                    if let Some(things) = self.channels.get_mut(&channel) {
                        things.remove(id);
                    }
                }
            }
            Event::ChannelRemoved { id } => {
                self.removed_channels.insert(*id);
                for thing in self.channels.remove(id).unwrap_or_default() {
                    if let Some(channels) = self.things.get_mut(&thing) {
                        channels.remove(id);
                    }
                }
            }
            _ => {}
        }
    }

    fn connect(&mut self, channel: ChannelId, thing: ThingId) {
        let (Some(channels), Some(things)) =
            (self.things.get_mut(&thing), self.channels.get_mut(&channel))
        else {
            return;
        };
        channels.insert(channel);
        things.insert(thing);
    }

    fn disconnect(&mut self, channel: ChannelId, thing: ThingId) {
        if let Some(channels) = self.things.get_mut(&thing) {
            channels.remove(&channel);
        }
        if let Some(things) = self.channels.get_mut(&channel) {
            things.remove(&thing);
        }
    }

    pub fn is_connected(&self, channel: ChannelId, thing: ThingId) -> bool {
        self.things
            .get(&thing)
            .is_some_and(|c| c.contains(&channel))
    }

    /// Channels of a live thing, sorted by id (empty for an unknown or removed thing).
    pub fn channels_of(&self, thing: ThingId) -> impl Iterator<Item = ChannelId> + '_ {
        self.things.get(&thing).into_iter().flatten().copied()
    }

    /// Things of a live channel, sorted by id.
    pub fn things_of(&self, channel: ChannelId) -> impl Iterator<Item = ThingId> + '_ {
        self.channels.get(&channel).into_iter().flatten().copied()
    }

    /// Every edge, for comparisons in replay verification and tests.
    pub fn edges(&self) -> BTreeSet<(ChannelId, ThingId)> {
        self.channels
            .iter()
            .flat_map(|(c, things)| things.iter().map(move |t| (*c, *t)))
            .collect()
    }
}

#[cfg(test)]
#[path = "graph_tests.rs"]
mod tests;
