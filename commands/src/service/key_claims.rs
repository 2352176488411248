//! Claims on thing keys in the shared log (`domain::key_claim`), made when several nodes
//! share the log (`Settings::key_claims`), so that two nodes setting the same key at once
//! cannot both succeed: each claim is appended with the claim stream's expected version
//! through the one `execute` path, and the loser re-decides against the winner's claim and
//! answers 409.

use domain::ids::{KeyHash, ThingId};
use domain::key_claim::{self, ClaimCtx, KeyClaimCommand};
use futures::future::join_all;
use time::OffsetDateTime;
use uuid::Uuid;

use super::{CommandMeta, Service, ServiceError};

impl Service {
    /// Claims `key_hash` for `thing`; 409 while another thing uses it or holds a live claim.
    /// Claiming a key the thing already holds is a no-op, so a retried command passes.
    pub(super) async fn claim_key(
        &self,
        meta: &CommandMeta,
        key_hash: KeyHash,
        thing: ThingId,
    ) -> Result<(), ServiceError> {
        if !self.settings.key_claims {
            return Ok(());
        }
        let command = KeyClaimCommand::Claim { key_hash, thing };
        // A random stream name part never seen before is the common case: skip the read.
        self.execute_new(
            &claim_meta(meta),
            key_hash.claim_stream(),
            key_claim::apply,
            |s| key_claim::decide(s, &command, &self.claim_ctx(&key_hash)),
        )
        .await?;
        Ok(())
    }

    /// Claims every key for its thing, or none: on the first refusal the claims already
    /// made are released again and the refusal is returned.
    pub(super) async fn claim_keys(
        &self,
        meta: &CommandMeta,
        claims: &[(KeyHash, ThingId)],
    ) -> Result<(), ServiceError> {
        let results = join_all(
            claims
                .iter()
                .map(|&(key, thing)| self.claim_key(meta, key, thing)),
        )
        .await;
        let Some(refusal) = results.iter().position(Result::is_err) else {
            return Ok(());
        };
        let granted = claims
            .iter()
            .zip(&results)
            .filter(|(_, r)| r.is_ok())
            .map(|(&claim, _)| claim);
        self.release_keys(meta, granted).await;
        let mut results = results;
        results.swap_remove(refusal)
    }

    /// Gives `key_hash` up if `thing` holds its claim and no longer uses it. Best effort:
    /// a release that is not written leaves a claim that goes stale after the grace
    /// period, so a failure is logged, not returned.
    pub(super) async fn release_key(&self, meta: &CommandMeta, key_hash: KeyHash, thing: ThingId) {
        if !self.settings.key_claims {
            return;
        }
        let command = KeyClaimCommand::Release { key_hash, thing };
        let released = self
            .execute(
                &claim_meta(meta),
                key_hash.claim_stream(),
                key_claim::apply,
                |s| key_claim::decide(s, &command, &self.claim_ctx(&key_hash)),
            )
            .await;
        if let Err(error) = released {
            tracing::warn!(%error, %thing, "key claim not released; it goes stale after the grace period");
        }
    }

    pub(super) async fn release_keys(
        &self,
        meta: &CommandMeta,
        claims: impl IntoIterator<Item = (KeyHash, ThingId)>,
    ) {
        join_all(
            claims
                .into_iter()
                .map(|(key, thing)| self.release_key(meta, key, thing)),
        )
        .await;
    }

    pub(super) fn claim_ctx(&self, key_hash: &KeyHash) -> ClaimCtx {
        ClaimCtx {
            now: OffsetDateTime::now_utc(),
            grace: self
                .settings
                .key_claim_grace
                .try_into()
                .unwrap_or(time::Duration::MAX),
            key_user: self.authz.identify(key_hash),
        }
    }
}

/// Claims are re-decided on every try, never answered from an earlier append: a retried
/// request must see whether its claim was taken over meanwhile. So each gets a fresh
/// command id, in the request's correlation.
fn claim_meta(meta: &CommandMeta) -> CommandMeta {
    CommandMeta {
        command_id: Uuid::new_v4(),
        client_chosen_id: false,
        ..meta.clone()
    }
}
