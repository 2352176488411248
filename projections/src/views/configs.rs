//! Bootstrap configs in the query views: the owner's list (`GET /things/configs`) and the
//! device's lookup by external id (`GET /things/bootstrap/{external_id}`).
//!
//! The views fold the log in position order, so a config's foreign facts need no
//! tombstones here (unlike `domain::config`, which folds one stream): a config whose thing
//! is already gone is not listed, and its channel list keeps only channels still live.
//! Ids are never reused, so "live when the config event is applied" and "live at the end
//! of the batch" (what the PostgreSQL applier checks) give the same rows.

use std::collections::BTreeMap;

use domain::Event;
use domain::config::{Activation, Certs, Config};
use domain::ids::{ChannelId, SealedKey, ThingId, UserId};
use serde::Serialize;

use super::Page;
use super::state::Owned;

/// A config as listed: its thing's sealed key joined in (Mainflux's `mainflux_key`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ConfigRow {
    pub config: Config,
    pub thing_key: SealedKey,
}

/// The filters of `GET /things/configs`, validated at the HTTP edge. All are exact but
/// `name`, a case-insensitive substring, already lowercased.
#[derive(Debug, Clone, Default)]
pub struct ConfigQuery {
    pub offset: u64,
    pub limit: u64,
    pub state: Option<Activation>,
    pub external_id: Option<String>,
    pub thing_id: Option<ThingId>,
    pub name: Option<String>,
}

impl ConfigQuery {
    pub fn matches(&self, config: &Config) -> bool {
        self.state.is_none_or(|s| config.state == s)
            && self
                .external_id
                .as_ref()
                .is_none_or(|e| *e == config.external_id)
            && self.thing_id.is_none_or(|t| t == config.thing_id)
            && self.name.as_ref().is_none_or(|wanted| {
                config
                    .name
                    .as_ref()
                    .is_some_and(|n| n.to_lowercase().contains(wanted.as_str()))
            })
    }

    /// Pages rows already in thing-id order, counting the total under the filters.
    pub fn page<'a>(&self, rows: impl Iterator<Item = &'a Config>) -> Page<&'a Config> {
        let kept: Vec<&Config> = rows.filter(|c| self.matches(c)).collect();
        let skip = usize::try_from(self.offset).unwrap_or(usize::MAX);
        let take = usize::try_from(self.limit).unwrap_or(usize::MAX);
        Page {
            total: kept.len() as u64,
            offset: self.offset,
            limit: self.limit,
            items: kept.into_iter().skip(skip).take(take).collect(),
        }
    }
}

/// Configs by thing id and owner, and the thing id of each external id.
#[derive(Debug, Default, Serialize)]
pub struct ConfigRows {
    pub rows: Owned<ThingId, Config>,
    pub by_external_id: BTreeMap<String, ThingId>,
}

impl ConfigRows {
    /// Folds one event; `thing_live` and `channel_live` answer for the views' rows as they
    /// are after this event's own effect on things and channels.
    pub fn apply(
        &mut self,
        event: &Event,
        thing_live: impl Fn(ThingId) -> bool,
        channel_live: impl Fn(ChannelId) -> bool,
    ) {
        match event {
            Event::ConfigCreated {
                thing_id, owner, ..
            } if thing_live(*thing_id) && !self.rows.rows.contains_key(thing_id) => {
                if let Some(mut config) = Config::created(event) {
                    config.channels = live(&config.channels, channel_live);
                    self.by_external_id
                        .insert(config.external_id.clone(), *thing_id);
                    self.rows.insert(*thing_id, *owner, config);
                }
            }
            Event::ConfigUpdated {
                thing_id,
                name,
                content,
            } => self.change(thing_id, |c| {
                c.name = name.clone();
                c.content = content.clone();
            }),
            Event::ConfigCertsUpdated {
                thing_id,
                client_cert,
                client_key,
                ca_cert,
            } => self.change(thing_id, |c| {
                c.certs = Certs {
                    client_cert: client_cert.clone(),
                    client_key: client_key.clone(),
                    ca_cert: ca_cert.clone(),
                }
            }),
            Event::ThingConnectionsUpdated { thing_id, channels } => {
                self.change(thing_id, |c| c.channels = live(channels, &channel_live))
            }
            Event::ThingStateChanged { thing_id, state } => {
                self.change(thing_id, |c| c.state = *state)
            }
            Event::ConfigRemoved { thing_id } | Event::ThingRemoved { id: thing_id } => {
                self.remove(thing_id)
            }
            Event::ChannelRemoved { id } => {
                for config in self.rows.rows.values_mut() {
                    config.channels.retain(|c| c != id);
                }
            }
            _ => {}
        }
    }

    fn change(&mut self, thing_id: &ThingId, f: impl FnOnce(&mut Config)) {
        if let Some(config) = self.rows.rows.get_mut(thing_id) {
            f(config);
        }
    }

    fn remove(&mut self, thing_id: &ThingId) {
        if let Some(config) = self.rows.rows.get(thing_id)
            && self.by_external_id.get(&config.external_id) == Some(thing_id)
        {
            self.by_external_id.remove(&config.external_id);
        }
        self.rows.remove(thing_id, |c| c.owner);
    }

    pub fn by_external_id(&self, external_id: &str) -> Option<&Config> {
        let thing_id = self.by_external_id.get(external_id)?;
        self.rows.rows.get(thing_id)
    }

    pub fn owned(&self, owner: UserId) -> impl Iterator<Item = &Config> {
        self.rows.owned(owner)
    }
}

fn live(channels: &[ChannelId], channel_live: impl Fn(ChannelId) -> bool) -> Vec<ChannelId> {
    channels
        .iter()
        .copied()
        .filter(|c| channel_live(*c))
        .collect()
}
