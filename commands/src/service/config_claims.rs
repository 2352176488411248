//! Claims on external ids in the log (`domain::external_id_claim`). Unlike thing-key claims
//! they are always made, even on one node: the claim stream is also how a device's fetch
//! finds its config (`extid-<hash>` names the holder), so it must exist for every config.

use domain::config::{self, ConfigState, Lifecycle};
use domain::external_id_claim;
use domain::ids::{KeyHash, ThingId};
use domain::key_claim::{ClaimCtx, KeyClaimCommand, KeyClaimState};
use time::OffsetDateTime;
use uuid::Uuid;

use super::{CommandMeta, Service, ServiceError};

impl Service {
    /// Claims the external id of hash `id_hash` for `thing`'s config; 409 while another
    /// config uses it or holds a live claim. A retry by the same thing passes.
    pub(super) async fn claim_external_id(
        &self,
        meta: &CommandMeta,
        id_hash: KeyHash,
        thing: ThingId,
    ) -> Result<(), ServiceError> {
        let ctx = self.external_id_ctx(&id_hash).await?;
        let command = KeyClaimCommand::Claim {
            key_hash: id_hash,
            thing,
        };
        self.execute(
            &fresh(meta),
            external_id_claim::claim_stream(&id_hash),
            external_id_claim::apply,
            |s| external_id_claim::decide(s, &command, &ctx),
        )
        .await?;
        Ok(())
    }

    /// Gives the external id up once `thing`'s config no longer uses it. Best effort, as
    /// for thing keys: an unreleased claim goes stale after the grace period.
    pub(super) async fn release_external_id(
        &self,
        meta: &CommandMeta,
        id_hash: KeyHash,
        thing: ThingId,
    ) {
        let command = KeyClaimCommand::Release {
            key_hash: id_hash,
            thing,
        };
        let released = match self.external_id_ctx(&id_hash).await {
            Ok(ctx) => self
                .execute(
                    &fresh(meta),
                    external_id_claim::claim_stream(&id_hash),
                    external_id_claim::apply,
                    |s| external_id_claim::decide(s, &command, &ctx),
                )
                .await
                .map(drop),
            Err(error) => Err(error),
        };
        if let Err(error) = released {
            tracing::warn!(%error, %thing, "external id claim not released; it goes stale after the grace period");
        }
    }

    /// The thing whose live config uses the external id of hash `id_hash`, if any.
    pub(super) async fn external_id_holder(
        &self,
        id_hash: &KeyHash,
    ) -> Result<Option<ThingId>, ServiceError> {
        let (claim, _) = self
            .load::<KeyClaimState>(
                &external_id_claim::claim_stream(id_hash),
                external_id_claim::apply,
            )
            .await?;
        let Some(holder) = external_id_claim::holder(&claim) else {
            return Ok(None);
        };
        let (state, _) = self
            .load_from(
                &config::stream(holder),
                ConfigState::new(holder),
                config::apply,
            )
            .await?;
        Ok(match &state.lifecycle {
            Lifecycle::Live(c) if self.vault.hash(&c.external_id) == *id_hash => Some(holder),
            _ => None,
        })
    }

    pub(super) async fn external_id_ctx(
        &self,
        id_hash: &KeyHash,
    ) -> Result<ClaimCtx, ServiceError> {
        Ok(ClaimCtx {
            now: OffsetDateTime::now_utc(),
            grace: self
                .settings
                .key_claim_grace
                .try_into()
                .unwrap_or(time::Duration::MAX),
            key_user: self.external_id_holder(id_hash).await?,
        })
    }
}

/// Claims are re-decided on every try (see `key_claims`), so each gets a fresh command id.
fn fresh(meta: &CommandMeta) -> CommandMeta {
    CommandMeta {
        command_id: Uuid::new_v4(),
        client_chosen_id: false,
        ..meta.clone()
    }
}
