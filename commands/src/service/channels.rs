//! Channels: create (one or many), read, update, remove.

use domain::channel::{self, ChannelCommand};
use domain::ids::{ChannelId, UserId};
use domain::values::{Metadata, check_name};
use futures::future::try_join_all;
use projections::views::ChannelRow;
use uuid::Uuid;

use super::execute::id_in_stream;
use super::{CommandMeta, Service, ServiceError};

#[derive(Debug, Clone, Default)]
pub struct NewChannel {
    pub name: Option<String>,
    pub metadata: Option<Metadata>,
}

impl Service {
    pub async fn create_channels(
        &self,
        meta: &CommandMeta,
        owner: UserId,
        channels: Vec<NewChannel>,
    ) -> Result<Vec<ChannelRow>, ServiceError> {
        for channel in &channels {
            check_name(channel.name.as_deref())?;
        }
        let creates = channels.into_iter().enumerate().map(|(n, channel)| {
            let meta = meta.part(n.to_le_bytes());
            async move {
                if let Some(done) = self.replayed(&meta).await? {
                    return Ok(ChannelId(id_in_stream(&done.stream)?));
                }
                let id = ChannelId(Uuid::new_v4());
                let command = ChannelCommand::Create {
                    id,
                    owner,
                    name: channel.name,
                    metadata: channel.metadata,
                };
                self.execute_new(&meta, id.stream(), channel::apply, |s| {
                    channel::decide(s, &command)
                })
                .await?;
                Ok::<_, ServiceError>(id)
            }
        });
        let ids = try_join_all(creates).await?;
        let mut rows = Vec::with_capacity(ids.len());
        for id in ids {
            rows.push(self.channel(owner, id).await?);
        }
        Ok(rows)
    }

    pub async fn channel(&self, owner: UserId, id: ChannelId) -> Result<ChannelRow, ServiceError> {
        Ok(self
            .views
            .channel(owner, id)
            .await?
            .ok_or(domain::DomainError::NotFound)?)
    }

    pub async fn update_channel(
        &self,
        meta: &CommandMeta,
        actor: UserId,
        id: ChannelId,
        name: Option<String>,
        metadata: Option<Metadata>,
    ) -> Result<(), ServiceError> {
        let command = ChannelCommand::Update {
            actor,
            name,
            metadata,
        };
        self.execute(meta, id.stream(), channel::apply, |s| {
            channel::decide(s, &command)
        })
        .await?;
        Ok(())
    }

    pub async fn remove_channel(
        &self,
        meta: &CommandMeta,
        actor: UserId,
        id: ChannelId,
    ) -> Result<(), ServiceError> {
        let command = ChannelCommand::Remove { actor };
        self.execute(meta, id.stream(), channel::apply, |s| {
            channel::decide(s, &command)
        })
        .await?;
        Ok(())
    }
}
