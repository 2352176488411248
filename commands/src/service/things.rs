//! Things: create (one or many), read, update, rotate key, remove.
//!
//! A key the client chooses is unique across nodes through its claim in the log
//! (`key_claims`); a generated key needs none. The in-process reservation and the authz
//! check stay in front of it, the latter for keys set before claims existed.

use domain::ids::{KeyHash, ThingId, UserId};
use domain::key_claim::KEY_IN_USE;
use domain::thing::{self, ThingCommand};
use domain::values::{Metadata, check_key, check_name};
use futures::future::try_join_all;
use projections::views::{Page, PageQuery, ThingRow};
use uuid::Uuid;

use super::execute::id_in_stream;
use super::{CommandMeta, Service, ServiceError};

#[derive(Debug, Clone, Default)]
pub struct NewThing {
    pub name: Option<String>,
    /// Client-chosen key; a UUIDv4 when absent.
    pub key: Option<String>,
    pub metadata: Option<Metadata>,
}

/// A thing as its owner sees it, key included (Mainflux shows it).
#[derive(Debug, Clone, PartialEq)]
pub struct ThingWithKey {
    pub row: ThingRow,
    pub key: String,
}

impl Service {
    /// Creates all things or, on any invalid or taken key, none.
    pub async fn create_things(
        &self,
        meta: &CommandMeta,
        owner: UserId,
        things: Vec<NewThing>,
    ) -> Result<Vec<ThingWithKey>, ServiceError> {
        let mut prepared = Vec::with_capacity(things.len());
        for thing in things {
            let chosen = thing.key.is_some();
            let key = thing
                .key
                .clone()
                .unwrap_or_else(|| Uuid::new_v4().to_string());
            check_key(&key)?;
            check_name(thing.name.as_deref())?;
            let material = self.vault.material(&key);
            prepared.push((thing, material, key, chosen));
        }
        let hashes = prepared
            .iter()
            .map(|(_, m, _, _)| key_reservation(&m.key_hash));
        let _claim = self
            .reservations
            .claim(hashes.collect())
            .ok_or_else(|| ServiceError::conflict(KEY_IN_USE))?;
        // Every check happens before the first append, so a refused bulk creates nothing.
        let mut parts = Vec::with_capacity(prepared.len());
        let mut claims = Vec::with_capacity(prepared.len());
        // Each id, with the key in plain text when this request created the thing.
        let mut ids = Vec::with_capacity(prepared.len());
        for (n, (thing, key, plain_key, chosen)) in prepared.into_iter().enumerate() {
            let meta = meta.part(n.to_le_bytes());
            match self.replayed(&meta).await? {
                // A retried request that already created this one.
                Some(done) => ids.push((ThingId(id_in_stream(&done.stream)?), None)),
                None if self.authz.identify(&key.key_hash).is_some() => {
                    return Err(ServiceError::conflict(KEY_IN_USE));
                }
                None => {
                    let id = new_thing_id(&meta);
                    // Only a key the client chose can be chosen twice: a generated one is
                    // 122 random bits, unique without asking the other nodes.
                    if chosen {
                        claims.push((key.key_hash, id));
                    }
                    ids.push((id, Some(plain_key)));
                    parts.push((meta, id, thing, key));
                }
            }
        }
        // The claims make the keys unique across nodes; a create that fails after them
        // leaves claims that go stale, or that its retry (same ids) finds as its own.
        self.claim_keys(meta, &claims).await?;
        let creates = parts.into_iter().map(|(meta, id, thing, key)| async move {
            let command = ThingCommand::Create {
                id,
                owner,
                name: thing.name,
                metadata: thing.metadata,
                key,
            };
            self.execute_new(&meta, id.stream(), thing::apply, |s| {
                thing::decide(s, &command)
            })
            .await
        });
        try_join_all(creates).await?;
        let mut rows = Vec::with_capacity(ids.len());
        for (id, plain_key) in ids {
            rows.push(match plain_key {
                // The key just sealed needs no opening.
                Some(key) => ThingWithKey {
                    row: self.thing_row(owner, id).await?,
                    key,
                },
                None => self.thing(owner, id).await?,
            });
        }
        Ok(rows)
    }

    pub async fn thing(&self, owner: UserId, id: ThingId) -> Result<ThingWithKey, ServiceError> {
        let row = self.thing_row(owner, id).await?;
        Ok(self.with_key(row))
    }

    async fn thing_row(&self, owner: UserId, id: ThingId) -> Result<ThingRow, ServiceError> {
        Ok(self
            .views
            .thing(owner, id)
            .await?
            .ok_or(domain::DomainError::NotFound)?)
    }

    pub async fn things(
        &self,
        owner: UserId,
        query: &PageQuery,
    ) -> Result<Page<ThingWithKey>, ServiceError> {
        let page = self.views.things(owner, query).await?;
        Ok(page.map(|row| self.with_key(row)))
    }

    pub(super) fn with_key(&self, row: ThingRow) -> ThingWithKey {
        // A seal that does not open means the master key changed: show no key rather than
        // fail the whole listing; authentication still works through the hash.
        let key = self.vault.open(&row.sealed_key).unwrap_or_default();
        ThingWithKey { row, key }
    }

    pub async fn update_thing(
        &self,
        meta: &CommandMeta,
        actor: UserId,
        id: ThingId,
        name: Option<String>,
        metadata: Option<Metadata>,
    ) -> Result<(), ServiceError> {
        let command = ThingCommand::Update {
            actor,
            name,
            metadata,
        };
        self.execute(meta, id.stream(), thing::apply, |s| {
            thing::decide(s, &command)
        })
        .await?;
        Ok(())
    }

    pub async fn update_thing_key(
        &self,
        meta: &CommandMeta,
        actor: UserId,
        id: ThingId,
        key: String,
    ) -> Result<(), ServiceError> {
        check_key(&key)?;
        // Ownership first: a foreign or unknown thing is 404 whatever key is asked for.
        let row = self
            .views
            .thing(actor, id)
            .await?
            .ok_or(domain::DomainError::NotFound)?;
        let key = self.vault.material(&key);
        let _claim = self
            .reservations
            .claim(vec![key_reservation(&key.key_hash)])
            .ok_or_else(|| ServiceError::conflict(KEY_IN_USE))?;
        if self
            .authz
            .identify(&key.key_hash)
            .is_some_and(|holder| holder != id)
        {
            return Err(ServiceError::conflict(KEY_IN_USE));
        }
        // Claim the new key, switch to it, then give the old one up. A failure in between
        // leaves a claim its holder does not use: stale after the grace period.
        let new_hash = key.key_hash;
        self.claim_key(meta, new_hash, id).await?;
        let command = ThingCommand::UpdateKey { actor, key };
        self.execute(meta, id.stream(), thing::apply, |s| {
            thing::decide(s, &command)
        })
        .await?;
        if row.key_hash != new_hash {
            self.release_key(meta, row.key_hash, id).await;
        }
        Ok(())
    }

    pub async fn remove_thing(
        &self,
        meta: &CommandMeta,
        actor: UserId,
        id: ThingId,
    ) -> Result<(), ServiceError> {
        // The key to give up afterwards; none when the thing is already gone.
        let row = self.views.thing(actor, id).await?;
        let command = ThingCommand::Remove { actor };
        self.execute(meta, id.stream(), thing::apply, |s| {
            thing::decide(s, &command)
        })
        .await?;
        if let Some(row) = row {
            self.release_key(meta, row.key_hash, id).await;
        }
        Ok(())
    }
}

/// The id of a new thing. For a request the client may retry (`Idempotency-Key`) it is
/// derived from the command id, so the retry finds its own key claim instead of a 409.
fn new_thing_id(meta: &CommandMeta) -> ThingId {
    if !meta.client_chosen_id {
        return ThingId(Uuid::new_v4());
    }
    let derived = Uuid::new_v5(&meta.command_id, b"thing");
    // Shaped as a v4, like every other thing id.
    ThingId(uuid::Builder::from_random_bytes(*derived.as_bytes()).into_uuid())
}

/// The reservation that keeps a key to one create while it is in flight (built by hand:
/// `format!` showed in the profile of `POST /things`).
fn key_reservation(hash: &KeyHash) -> String {
    let mut name = String::with_capacity(4 + 2 * hash.0.len());
    name.push_str("key:");
    name.push_str(&hex::encode(hash.0));
    name
}
