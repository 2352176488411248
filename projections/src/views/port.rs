//! The query-view port: what the REST API asks, answered by whichever backend is
//! configured (in memory, or PostgreSQL with `FF_VIEWS`).
//!
//! Async because a database answers over the network; every call takes the caller's user
//! id and answers only from that user's rows, so owner isolation lives behind the port,
//! once per backend, and the contract suite (`views::contract`) checks it for both.

use async_trait::async_trait;
use domain::Event;
use domain::envelope::RecordedEvent;
use domain::ids::{ChannelId, ThingId, UserId};

use super::{
    ChannelRow, ConfigQuery, ConfigRow, Page, PageQuery, ThingRow, UnknownDevice, UserRow,
    ViewsDump,
};

#[derive(Debug, thiserror::Error)]
pub enum ViewError {
    /// The view's store cannot be reached or refused the query: answer 503, retry later.
    #[error("query views unavailable: {0}")]
    Unavailable(String),
    /// A stored row no longer reads as the type it was written as (a bug or a manual edit):
    /// answer 500 and look at the database.
    #[error("query views hold a corrupt row: {0}")]
    Corrupt(String),
}

/// Read side of the query views.
#[async_trait]
pub trait QueryViews: Send + Sync + 'static {
    async fn user(&self, id: UserId) -> Result<Option<UserRow>, ViewError>;

    /// The user registered with this exact email (login, registration, password reset).
    async fn user_by_email(&self, email: &str) -> Result<Option<UserRow>, ViewError>;

    async fn user_count(&self) -> Result<u64, ViewError>;

    async fn thing(&self, owner: UserId, id: ThingId) -> Result<Option<ThingRow>, ViewError>;

    async fn channel(&self, owner: UserId, id: ChannelId) -> Result<Option<ChannelRow>, ViewError>;

    async fn things(&self, owner: UserId, query: &PageQuery) -> Result<Page<ThingRow>, ViewError>;

    async fn channels(
        &self,
        owner: UserId,
        query: &PageQuery,
    ) -> Result<Page<ChannelRow>, ViewError>;

    /// Things connected to one of `owner`'s channels, or with `connected: false` the
    /// owner's things not connected to it; `None` when the channel is not theirs.
    async fn things_of_channel(
        &self,
        owner: UserId,
        channel: ChannelId,
        query: &PageQuery,
    ) -> Result<Option<Page<ThingRow>>, ViewError>;

    /// Channels one of `owner`'s things is connected to, or with `connected: false` the
    /// owner's channels it is not connected to; `None` when the thing is not theirs.
    async fn channels_of_thing(
        &self,
        owner: UserId,
        thing: ThingId,
        query: &PageQuery,
    ) -> Result<Option<Page<ChannelRow>>, ViewError>;

    /// `owner`'s bootstrap configs in thing-id order (`GET /things/configs`).
    async fn configs(
        &self,
        owner: UserId,
        query: &ConfigQuery,
    ) -> Result<Page<ConfigRow>, ViewError>;

    /// The config a device fetches by its external id; the caller checks the key.
    async fn config_by_external_id(
        &self,
        external_id: &str,
    ) -> Result<Option<ConfigRow>, ViewError>;

    /// External ids devices fetched with and no config has, newest first. Not owned by
    /// anyone: they show only the id, never a key.
    async fn unknown_devices(
        &self,
        offset: u64,
        limit: u64,
    ) -> Result<Page<UnknownDevice>, ViewError>;
}

/// Write side of a query-view backend: what the contract suite and the followers feed.
#[async_trait]
pub trait ViewStore: QueryViews {
    /// Applies events in position order, skipping positions at or below the checkpoint,
    /// and returns the checkpoint afterwards. Rows and checkpoint move together, so a
    /// crash or a second applier never applies an event twice.
    async fn apply_batch(&self, batch: &[(RecordedEvent, Event)]) -> Result<u64, ViewError>;

    /// Position of the last event applied.
    async fn checkpoint(&self) -> Result<u64, ViewError>;

    /// Every row, in id order: equal dumps mean equal views, whichever the backend.
    async fn dump(&self) -> Result<ViewsDump, ViewError>;
}
