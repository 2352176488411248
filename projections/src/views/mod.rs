//! Query views for the REST API. Every query takes the caller's user id and answers only
//! from that user's rows: owner isolation is enforced here, once per backend.
//!
//! Layout:
//! - `port`: the async `QueryViews` / `ViewStore` port the command layer uses.
//! - `Views` (this file, `state`, `filter`, `order`, `memory`): the in-memory backend.
//! - `postgres`: the PostgreSQL backend (`FF_VIEWS=postgres://…`), with its follower.
//! - `dump`: every row in id order, to compare backends and rebuilds.
//! - `contract`: the suite both backends pass.

mod configs;
pub mod contract;
mod dump;
mod filter;
mod memory;
mod order;
pub mod port;
pub mod postgres;
mod state;
mod unknown;

use std::sync::RwLock;

use domain::Event;
use domain::envelope::RecordedEvent;
use domain::ids::{ChannelId, ThingId, UserId};

pub use configs::{ConfigQuery, ConfigRow};
pub use dump::ViewsDump;
pub use filter::{Page, PageQuery, contains};
pub use order::{Dir, Listed, Order};
pub use port::{QueryViews, ViewError, ViewStore};
use state::ViewState;
pub use state::{ChannelRow, ThingRow, UserRow};
pub use unknown::{MAX_UNKNOWN, UnknownDevice};

use crate::Projection;
use crate::projection::digest_of;

#[derive(Default)]
pub struct Views {
    state: RwLock<ViewState>,
}

impl Views {
    fn read<T>(&self, f: impl FnOnce(&ViewState) -> T) -> T {
        let state = self
            .state
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        f(&state)
    }

    pub fn user(&self, id: UserId) -> Option<UserRow> {
        self.read(|s| s.users.get(&id).cloned())
    }

    pub fn user_by_email(&self, email: &str) -> Option<UserRow> {
        self.read(|s| s.emails.get(email).and_then(|id| s.users.get(id)).cloned())
    }

    pub fn user_count(&self) -> usize {
        self.read(|s| s.users.len())
    }

    pub fn thing(&self, owner: UserId, id: ThingId) -> Option<ThingRow> {
        self.read(|s| s.things.rows.get(&id).filter(|t| t.owner == owner).cloned())
    }

    pub fn channel(&self, owner: UserId, id: ChannelId) -> Option<ChannelRow> {
        self.read(|s| {
            s.channels
                .rows
                .get(&id)
                .filter(|c| c.owner == owner)
                .cloned()
        })
    }

    pub fn things(&self, owner: UserId, query: &PageQuery) -> Page<ThingRow> {
        self.read(|s| query.page(s.things.owned(owner)))
    }

    pub fn channels(&self, owner: UserId, query: &PageQuery) -> Page<ChannelRow> {
        self.read(|s| query.page(s.channels.owned(owner)))
    }

    /// Things connected to one of `owner`'s channels, or with `connected: false` the
    /// owner's things not connected to it; `None` when the channel is not theirs.
    pub fn things_of_channel(
        &self,
        owner: UserId,
        channel: ChannelId,
        query: &PageQuery,
    ) -> Option<Page<ThingRow>> {
        self.read(|s| {
            s.channels.rows.get(&channel).filter(|c| c.owner == owner)?;
            Some(match query.connected {
                true => query.page(
                    s.graph
                        .things_of(channel)
                        .filter_map(|id| s.things.rows.get(&id)),
                ),
                false => query.page(
                    s.things
                        .owned(owner)
                        .filter(|t| !s.graph.is_connected(channel, t.id)),
                ),
            })
        })
    }

    /// Channels one of `owner`'s things is connected to, or with `connected: false` the
    /// owner's channels it is not connected to; `None` when the thing is not theirs.
    pub fn channels_of_thing(
        &self,
        owner: UserId,
        thing: ThingId,
        query: &PageQuery,
    ) -> Option<Page<ChannelRow>> {
        self.read(|s| {
            s.things.rows.get(&thing).filter(|t| t.owner == owner)?;
            Some(match query.connected {
                true => query.page(
                    s.graph
                        .channels_of(thing)
                        .filter_map(|id| s.channels.rows.get(&id)),
                ),
                false => query.page(
                    s.channels
                        .owned(owner)
                        .filter(|c| !s.graph.is_connected(c.id, thing)),
                ),
            })
        })
    }
}

impl Views {
    /// `owner`'s configs in thing-id order, each with its thing's sealed key.
    pub fn configs(&self, owner: UserId, query: &ConfigQuery) -> Page<ConfigRow> {
        self.read(|s| {
            query
                .page(s.configs.owned(owner))
                .map(|config| config_row(s, config))
        })
    }

    /// External ids devices fetched with and no config has, newest first.
    pub fn unknown_devices(&self, offset: u64, limit: u64) -> Page<UnknownDevice> {
        self.read(|s| s.unknown.page(offset, limit))
    }

    /// The config a device fetches; no owner: the caller is a device, not a user.
    pub fn config_by_external_id(&self, external_id: &str) -> Option<ConfigRow> {
        self.read(|s| {
            s.configs
                .by_external_id(external_id)
                .map(|config| config_row(s, config))
        })
    }
}

/// A config with its thing's key; a config is listed only while its thing lives.
fn config_row(s: &ViewState, config: &domain::config::Config) -> ConfigRow {
    let thing_key = s
        .things
        .rows
        .get(&config.thing_id)
        .map(|t| t.sealed_key.clone())
        .unwrap_or_else(|| domain::ids::SealedKey(String::new()));
    ConfigRow {
        config: config.clone(),
        thing_key,
    }
}

impl Projection for Views {
    fn name(&self) -> &'static str {
        "views"
    }

    fn checkpoint(&self) -> u64 {
        self.read(|s| s.checkpoint)
    }

    fn apply(&self, recorded: &RecordedEvent, event: &Event) {
        let mut s = self
            .state
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if recorded.position > s.checkpoint {
            s.checkpoint = recorded.position;
            s.apply(recorded, event);
        }
    }

    fn apply_batch(&self, batch: &[(RecordedEvent, Event)]) {
        let mut s = self
            .state
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        for (recorded, event) in batch {
            if recorded.position > s.checkpoint {
                s.checkpoint = recorded.position;
                s.apply(recorded, event);
            }
        }
    }

    fn digest(&self) -> String {
        self.read(digest_of)
    }
}
