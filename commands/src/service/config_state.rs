//! Activating a config and changing its channels: the data-plane effect.
//!
//! Going active connects the thing to every config channel; going inactive disconnects
//! it; changing the channels of an active config connects the added and disconnects the
//! dropped. The config's own event is appended first, then each pair goes through the
//! same `connect`/`disconnect` decision as `PUT /channels/{id}/things/{id}`. A pair that is
//! already as wanted is skipped, so a retried request converges.

use std::collections::BTreeSet;

use domain::config::{Activation, ConfigCommand};
use domain::connection::{decide_connect, decide_disconnect};
use domain::ids::{ChannelId, ThingId, UserId};

use super::{CommandMeta, Service, ServiceError};

impl Service {
    /// `PUT /things/state/{id}`: the same state is a no-op.
    pub async fn change_config_state(
        &self,
        meta: &CommandMeta,
        actor: UserId,
        id: ThingId,
        state: Activation,
    ) -> Result<(), ServiceError> {
        let config = self.config_state(id).await?.owned_by(actor)?.clone();
        let command = ConfigCommand::ChangeState { actor, state };
        self.decide_config(meta, id, &command).await?;
        let channels: BTreeSet<ChannelId> = config.channels.into_iter().collect();
        match state {
            Activation::Active => self.connect_config(meta, actor, id, &channels).await,
            Activation::Inactive => self.disconnect_config(meta, actor, id, &channels).await,
        }
    }

    /// `PUT /things/configs/connections/{id}`: every channel must be the actor's.
    pub async fn update_config_connections(
        &self,
        meta: &CommandMeta,
        actor: UserId,
        id: ThingId,
        channels: Vec<ChannelId>,
    ) -> Result<(), ServiceError> {
        let before = self.config_state(id).await?.owned_by(actor)?.clone();
        for channel in &channels {
            if self.views.channel(actor, *channel).await?.is_none() {
                return Err(domain::DomainError::NotFound.into());
            }
        }
        let wanted: BTreeSet<ChannelId> = channels.iter().copied().collect();
        let command = ConfigCommand::UpdateConnections { actor, channels };
        self.decide_config(meta, id, &command).await?;
        if before.state != Activation::Active {
            return Ok(());
        }
        let had: BTreeSet<ChannelId> = before.channels.into_iter().collect();
        let added = wanted.difference(&had).copied().collect();
        let dropped = had.difference(&wanted).copied().collect();
        self.connect_config(meta, actor, id, &added).await?;
        self.disconnect_config(meta, actor, id, &dropped).await
    }

    async fn connect_config(
        &self,
        meta: &CommandMeta,
        actor: UserId,
        thing: ThingId,
        channels: &BTreeSet<ChannelId>,
    ) -> Result<(), ServiceError> {
        for channel in channels {
            if self.authz.can_access(thing, *channel) {
                continue;
            }
            let part = meta.part([b"connect".as_slice(), channel.0.as_bytes()].concat());
            self.decide_pair(&part, actor, *channel, thing, decide_connect)
                .await?;
        }
        Ok(())
    }

    async fn disconnect_config(
        &self,
        meta: &CommandMeta,
        actor: UserId,
        thing: ThingId,
        channels: &BTreeSet<ChannelId>,
    ) -> Result<(), ServiceError> {
        for channel in channels {
            if !self.authz.can_access(thing, *channel) {
                continue;
            }
            let part = meta.part([b"disconnect".as_slice(), channel.0.as_bytes()].concat());
            self.decide_pair(&part, actor, *channel, thing, decide_disconnect)
                .await?;
        }
        Ok(())
    }
}
