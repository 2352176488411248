//! The in-memory `Views` behind the query-view port: the embedded default, answering
//! from the state the sync runner folds (so it never fails).

use async_trait::async_trait;
use domain::Event;
use domain::envelope::RecordedEvent;
use domain::ids::{ChannelId, ThingId, UserId};

use super::port::{QueryViews, ViewError, ViewStore};
use super::{
    ChannelRow, ConfigQuery, ConfigRow, Page, PageQuery, ThingRow, UnknownDevice, UserRow, Views,
    ViewsDump,
};
use crate::Projection;

#[async_trait]
impl QueryViews for Views {
    async fn user(&self, id: UserId) -> Result<Option<UserRow>, ViewError> {
        Ok(Views::user(self, id))
    }

    async fn user_by_email(&self, email: &str) -> Result<Option<UserRow>, ViewError> {
        Ok(Views::user_by_email(self, email))
    }

    async fn user_count(&self) -> Result<u64, ViewError> {
        Ok(Views::user_count(self) as u64)
    }

    async fn thing(&self, owner: UserId, id: ThingId) -> Result<Option<ThingRow>, ViewError> {
        Ok(Views::thing(self, owner, id))
    }

    async fn channel(&self, owner: UserId, id: ChannelId) -> Result<Option<ChannelRow>, ViewError> {
        Ok(Views::channel(self, owner, id))
    }

    async fn things(&self, owner: UserId, query: &PageQuery) -> Result<Page<ThingRow>, ViewError> {
        Ok(Views::things(self, owner, query))
    }

    async fn channels(
        &self,
        owner: UserId,
        query: &PageQuery,
    ) -> Result<Page<ChannelRow>, ViewError> {
        Ok(Views::channels(self, owner, query))
    }

    async fn things_of_channel(
        &self,
        owner: UserId,
        channel: ChannelId,
        query: &PageQuery,
    ) -> Result<Option<Page<ThingRow>>, ViewError> {
        Ok(Views::things_of_channel(self, owner, channel, query))
    }

    async fn channels_of_thing(
        &self,
        owner: UserId,
        thing: ThingId,
        query: &PageQuery,
    ) -> Result<Option<Page<ChannelRow>>, ViewError> {
        Ok(Views::channels_of_thing(self, owner, thing, query))
    }

    async fn configs(
        &self,
        owner: UserId,
        query: &ConfigQuery,
    ) -> Result<Page<ConfigRow>, ViewError> {
        Ok(Views::configs(self, owner, query))
    }

    async fn config_by_external_id(
        &self,
        external_id: &str,
    ) -> Result<Option<ConfigRow>, ViewError> {
        Ok(Views::config_by_external_id(self, external_id))
    }

    async fn unknown_devices(
        &self,
        offset: u64,
        limit: u64,
    ) -> Result<Page<UnknownDevice>, ViewError> {
        Ok(Views::unknown_devices(self, offset, limit))
    }
}

#[async_trait]
impl ViewStore for Views {
    async fn apply_batch(&self, batch: &[(RecordedEvent, Event)]) -> Result<u64, ViewError> {
        Projection::apply_batch(self, batch);
        Ok(Projection::checkpoint(self))
    }

    async fn checkpoint(&self) -> Result<u64, ViewError> {
        Ok(Projection::checkpoint(self))
    }

    async fn dump(&self) -> Result<ViewsDump, ViewError> {
        Ok(Views::dump(self))
    }
}
