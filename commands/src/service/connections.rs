//! Connecting things to channels, and the lists that follow the connections.

use std::collections::{BTreeMap, BTreeSet};

use domain::channel;
use domain::channel::ChannelState;
use domain::connection::{decide_connect, decide_disconnect};
use domain::ids::{ChannelId, ThingId, UserId};
use domain::thing::{self, ThingState};
use domain::{DomainError, Event};
use futures::future::try_join_all;
use projections::views::{ChannelRow, Page, PageQuery};

use super::{CommandMeta, Service, ServiceError, ThingWithKey};

impl Service {
    /// Connects every listed thing to every listed channel. Everything is checked first (all
    /// ids owned, no pair connected yet) so a refused request appends nothing.
    pub async fn connect(
        &self,
        meta: &CommandMeta,
        actor: UserId,
        channels: Vec<ChannelId>,
        things: Vec<ThingId>,
    ) -> Result<(), ServiceError> {
        let channels: BTreeSet<ChannelId> = channels.into_iter().collect();
        let things: BTreeSet<ThingId> = things.into_iter().collect();
        if channels.is_empty() || things.is_empty() {
            return Err(ServiceError::invalid(
                "channel_ids and thing_ids must not be empty",
            ));
        }
        for channel in &channels {
            if self.views.channel(actor, *channel).await?.is_none() {
                return Err(DomainError::NotFound.into());
            }
        }
        for thing in &things {
            if self.views.thing(actor, *thing).await?.is_none() {
                return Err(DomainError::NotFound.into());
            }
        }
        // Every pair is checked before the first append, so a refused request connects
        // nothing. A pair already appended under this command id is a retry, not a conflict.
        let mut pending: BTreeMap<ChannelId, Vec<(CommandMeta, ThingId)>> = BTreeMap::new();
        for channel in &channels {
            for thing in &things {
                let part = [channel.0.as_bytes().as_slice(), thing.0.as_bytes()].concat();
                let meta = meta.part(part);
                if self.replayed(&meta).await?.is_some() {
                    continue;
                }
                if self.authz.can_access(*thing, *channel) {
                    return Err(ServiceError::conflict(
                        "thing is already connected to channel",
                    ));
                }
                pending.entry(*channel).or_default().push((meta, *thing));
            }
        }
        let per_channel = pending.into_iter().map(|(channel, pairs)| async move {
            for (meta, thing) in pairs {
                self.connect_pair(&meta, actor, channel, thing).await?;
            }
            Ok::<_, ServiceError>(())
        });
        try_join_all(per_channel).await?;
        Ok(())
    }

    async fn connect_pair(
        &self,
        meta: &CommandMeta,
        actor: UserId,
        channel: ChannelId,
        thing: ThingId,
    ) -> Result<(), ServiceError> {
        self.decide_pair(meta, actor, channel, thing, decide_connect)
            .await
    }

    pub async fn disconnect(
        &self,
        meta: &CommandMeta,
        actor: UserId,
        channel: ChannelId,
        thing: ThingId,
    ) -> Result<(), ServiceError> {
        self.decide_pair(meta, actor, channel, thing, decide_disconnect)
            .await
    }

    /// One decision over the thing's and the channel's state, appended to the channel's
    /// stream (whose version guards the pair).
    pub(super) async fn decide_pair(
        &self,
        meta: &CommandMeta,
        actor: UserId,
        channel: ChannelId,
        thing: ThingId,
        decide: fn(&ThingState, &ChannelState, UserId) -> Result<Vec<Event>, DomainError>,
    ) -> Result<(), ServiceError> {
        let (thing_state, _) = self
            .load::<ThingState>(&thing.stream(), thing::apply)
            .await?;
        self.execute(meta, channel.stream(), channel::apply, |channel_state| {
            decide(&thing_state, channel_state, actor)
        })
        .await?;
        Ok(())
    }

    pub async fn things_of_channel(
        &self,
        owner: UserId,
        channel: ChannelId,
        query: &PageQuery,
    ) -> Result<Page<ThingWithKey>, ServiceError> {
        let page = self
            .views
            .things_of_channel(owner, channel, query)
            .await?
            .ok_or(DomainError::NotFound)?;
        Ok(page.map(|row| self.with_key(row)))
    }

    pub async fn channels_of_thing(
        &self,
        owner: UserId,
        thing: ThingId,
        query: &PageQuery,
    ) -> Result<Page<ChannelRow>, ServiceError> {
        Ok(self
            .views
            .channels_of_thing(owner, thing, query)
            .await?
            .ok_or(DomainError::NotFound)?)
    }
}
