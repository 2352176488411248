//! Every row of the query views in id order: what `replay --verify` and the contract suite
//! compare across backends (a PostgreSQL view against an in-memory rebuild).

use domain::config::Config;
use domain::ids::{ChannelId, ThingId};
use serde::Serialize;

use super::{ChannelRow, ThingRow, UnknownDevice, UserRow, Views};
use crate::projection::digest_of;

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ViewsDump {
    pub users: Vec<UserRow>,
    pub things: Vec<ThingRow>,
    pub channels: Vec<ChannelRow>,
    /// Live connections, by channel then thing.
    pub edges: Vec<(ChannelId, ThingId)>,
    pub configs: Vec<Config>,
    /// By external id.
    pub unknown: Vec<UnknownDevice>,
}

impl ViewsDump {
    /// Equal for equal dumps, whichever backend made them.
    pub fn digest(&self) -> String {
        digest_of(self)
    }
}

impl Views {
    pub fn dump(&self) -> ViewsDump {
        self.read(|s| {
            let mut dump = ViewsDump {
                users: s.users.values().cloned().collect(),
                things: s.things.rows.values().cloned().collect(),
                channels: s.channels.rows.values().cloned().collect(),
                edges: s.graph.edges().into_iter().collect(),
                configs: s.configs.rows.rows.values().cloned().collect(),
                unknown: s.unknown.by_id.values().cloned().collect(),
            };
            dump.configs.sort_by_key(|c| c.thing_id.0);
            dump.users.sort_by_key(|u| u.id.0);
            dump.things.sort_by_key(|t| t.id.0);
            dump.channels.sort_by_key(|c| c.id.0);
            dump
        })
    }
}
