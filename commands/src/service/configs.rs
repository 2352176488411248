//! Bootstrap configs: create (claiming the external id), read, update, activate, remove,
//! and the device's own fetch.
//!
//! Until the config query views exist, reads fold the config's stream here. The config's
//! foreign facts (its thing and channels removed) are taken from the query views at the
//! time of the command, which is what `domain::config::apply` would fold from their events.

use domain::config::{self, Activation, Certs, Config, ConfigCommand, ConfigState};
use domain::ids::{ChannelId, SealedKey, ThingId, UserId};
use domain::{DomainError, Event};
use projections::views::{ConfigQuery, Page};

use super::bootstrap_attempts::AttemptRecorder;
use super::execute::pending;
use super::{CommandMeta, NewThing, Service, ServiceError};

/// What `POST /things/configs` carries; keys in plaintext, sealed here.
#[derive(Debug, Clone, Default)]
pub struct NewConfig {
    /// The thing to configure; `None` creates one named like the config.
    pub thing_id: Option<ThingId>,
    pub external_id: String,
    pub external_key: String,
    pub name: Option<String>,
    pub content: Option<String>,
    pub channels: Vec<ChannelId>,
    pub certs: PlainCerts,
}

/// Certificates as the API carries them; the private key is sealed before any event.
#[derive(Debug, Clone, Default)]
pub struct PlainCerts {
    pub client_cert: Option<String>,
    pub client_key: Option<String>,
    pub ca_cert: Option<String>,
}

/// A config as its owner or its device sees it: secrets opened, the thing's key added.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigWithKeys {
    pub config: Config,
    pub external_key: String,
    pub client_key: Option<String>,
    /// The thing's own key (`mainflux_key`).
    pub thing_key: String,
}

/// A config as its device receives it: the thing's key and the client key opened; not the
/// external key, which the device sent.
#[derive(Debug, Clone, PartialEq)]
pub struct FetchedConfig {
    pub config: Config,
    pub thing_key: String,
    pub client_key: Option<String>,
}

impl Service {
    /// Creates the config (and its thing when none is named); answers its id.
    pub async fn create_config(
        &self,
        meta: &CommandMeta,
        owner: UserId,
        new: NewConfig,
    ) -> Result<ThingId, ServiceError> {
        if new.external_key.is_empty() {
            return Err(ServiceError::invalid("external_key must not be empty"));
        }
        if new.external_id.is_empty() {
            return Err(ServiceError::invalid("external_id must not be empty"));
        }
        for channel in &new.channels {
            if self.views.channel(owner, *channel).await?.is_none() {
                return Err(DomainError::NotFound.into());
            }
        }
        let id_hash = self.vault.hash(&new.external_id);
        let _reserved = self
            .reservations
            .claim(vec![format!("extid:{id_hash}")])
            .ok_or_else(|| ServiceError::conflict(domain::external_id_claim::EXTERNAL_ID_IN_USE))?;
        // Checked before a thing is made for the config, so a taken id leaves no thing
        // behind; the claim below still decides a race between nodes.
        if self.external_id_holder(&id_hash).await?.is_some() {
            return Err(ServiceError::conflict(
                domain::external_id_claim::EXTERNAL_ID_IN_USE,
            ));
        }
        let thing_id = match new.thing_id {
            Some(id) => {
                self.views
                    .thing(owner, id)
                    .await?
                    .ok_or(DomainError::NotFound)?;
                id
            }
            None => {
                let thing = NewThing {
                    name: new.name.clone(),
                    ..NewThing::default()
                };
                let created = self
                    .create_things(&meta.part("thing"), owner, vec![thing])
                    .await?;
                created
                    .first()
                    .map(|t| t.row.id)
                    .ok_or_else(|| ServiceError::Internal("no thing created".into()))?
            }
        };
        self.claim_external_id(meta, id_hash, thing_id).await?;
        let command = ConfigCommand::Create {
            thing_id,
            owner,
            external_id: new.external_id,
            external_key: self.vault.material(&new.external_key),
            name: new.name,
            content: new.content,
            channels: new.channels,
            certs: self.seal_certs(new.certs),
        };
        let created = self
            .execute_config(&meta.part("config"), thing_id, |s| {
                config::decide(s, &command)
            })
            .await;
        if let Err(error) = created {
            self.release_external_id(meta, id_hash, thing_id).await;
            return Err(error);
        }
        Ok(thing_id)
    }

    /// The owner's config; anyone else's is `NotFound`.
    pub async fn config(&self, owner: UserId, id: ThingId) -> Result<ConfigWithKeys, ServiceError> {
        let state = self.config_state(id).await?;
        let config = state.owned_by(owner)?.clone();
        self.with_keys(config).await
    }

    pub async fn update_config(
        &self,
        meta: &CommandMeta,
        actor: UserId,
        id: ThingId,
        name: Option<String>,
        content: Option<String>,
    ) -> Result<(), ServiceError> {
        let command = ConfigCommand::Update {
            actor,
            name,
            content,
        };
        self.decide_config(meta, id, &command).await
    }

    pub async fn update_config_certs(
        &self,
        meta: &CommandMeta,
        actor: UserId,
        id: ThingId,
        certs: PlainCerts,
    ) -> Result<(), ServiceError> {
        let command = ConfigCommand::UpdateCerts {
            actor,
            certs: self.seal_certs(certs),
        };
        self.decide_config(meta, id, &command).await
    }

    /// Removes the config and gives its external id up; the thing stays (Mainflux's too).
    pub async fn remove_config(
        &self,
        meta: &CommandMeta,
        actor: UserId,
        id: ThingId,
    ) -> Result<(), ServiceError> {
        let before = self.config_state(id).await?;
        let external_id = before.owned_by(actor).ok().map(|c| c.external_id.clone());
        self.decide_config(meta, id, &ConfigCommand::Remove { actor })
            .await?;
        if let Some(external_id) = external_id {
            let hash = self.vault.hash(&external_id);
            self.release_external_id(meta, hash, id).await;
        }
        Ok(())
    }

    /// The config of `external_id` if `external_key` opens it. Every attempt, failed ones
    /// included, is recorded as `thing.bootstrap` (right after the answer, see
    /// `bootstrap_attempts`); a failure is `NotFound` either way.
    pub async fn bootstrap(
        &self,
        meta: &CommandMeta,
        external_id: &str,
        external_key: &str,
    ) -> Result<FetchedConfig, ServiceError> {
        let key_hash = self.vault.hash(external_key);
        let config = self.views.config_by_external_id(external_id).await?;
        let unknown = config.is_none();
        let found = config.filter(|row| row.config.opens_with(&key_hash));
        let attempt = Event::ThingBootstrapped {
            external_id: external_id.to_owned(),
            success: found.is_some(),
            unknown,
        };
        self.attempts
            .get_or_init(|| AttemptRecorder::start(self.log.clone()))
            .record(pending(meta, &attempt))
            .await;
        let row = found.ok_or(DomainError::NotFound)?;
        Ok(FetchedConfig {
            thing_key: self.vault.open(&row.thing_key).unwrap_or_default(),
            client_key: row
                .config
                .certs
                .client_key
                .as_ref()
                .and_then(|k| self.vault.open(k)),
            config: row.config,
        })
    }

    /// Waits until the fetches answered so far are recorded (a stopping server).
    pub async fn flush_bootstrap_records(&self) {
        if let Some(recorder) = self.attempts.get() {
            recorder.flush().await;
        }
    }

    /// The config's state with its foreign facts: the thing removed, channels removed.
    pub(super) async fn config_state(&self, id: ThingId) -> Result<ConfigState, ServiceError> {
        let (state, _) = self
            .load_from(&config::stream(id), ConfigState::new(id), config::apply)
            .await?;
        let removals = self.foreign_removals(&state).await?;
        Ok(removals.iter().fold(state, config::apply))
    }

    /// The removals of the config's thing and channels, as the query views know them now.
    async fn foreign_removals(&self, state: &ConfigState) -> Result<Vec<Event>, ServiceError> {
        let config::Lifecycle::Live(config) = &state.lifecycle else {
            return Ok(Vec::new());
        };
        let owner = config.owner;
        let mut removals = Vec::new();
        if self.views.thing(owner, state.thing_id).await?.is_none() {
            removals.push(Event::ThingRemoved { id: state.thing_id });
        }
        for channel in &config.channels {
            if self.views.channel(owner, *channel).await?.is_none() {
                removals.push(Event::ChannelRemoved { id: *channel });
            }
        }
        Ok(removals)
    }

    /// Runs one config command against the config's stream and its foreign facts.
    pub(super) async fn decide_config(
        &self,
        meta: &CommandMeta,
        id: ThingId,
        command: &ConfigCommand,
    ) -> Result<(), ServiceError> {
        let (state, _) = self
            .load_from(&config::stream(id), ConfigState::new(id), config::apply)
            .await?;
        let removals = self.foreign_removals(&state).await?;
        self.execute_config(meta, id, |s| {
            let state = removals.iter().fold(s.clone(), config::apply);
            config::decide(&state, command)
        })
        .await
    }

    async fn execute_config(
        &self,
        meta: &CommandMeta,
        id: ThingId,
        decide: impl Fn(&ConfigState) -> Result<Vec<Event>, DomainError>,
    ) -> Result<(), ServiceError> {
        self.execute_from(
            meta,
            config::stream(id),
            || ConfigState::new(id),
            config::apply,
            decide,
        )
        .await?;
        Ok(())
    }

    fn seal_certs(&self, certs: PlainCerts) -> Certs {
        Certs {
            client_cert: certs.client_cert,
            client_key: certs.client_key.map(|k| self.vault.seal(&k)),
            ca_cert: certs.ca_cert,
        }
    }

    async fn with_keys(&self, config: Config) -> Result<ConfigWithKeys, ServiceError> {
        let thing = self
            .views
            .thing(config.owner, config.thing_id)
            .await?
            .ok_or(DomainError::NotFound)?;
        Ok(self.open_keys(config, &thing.sealed_key))
    }

    /// The config as its owner or device reads it: sealed keys opened. A seal that does not
    /// open (the master key changed) shows as an empty key rather than failing the read.
    fn open_keys(&self, config: Config, thing_key: &SealedKey) -> ConfigWithKeys {
        ConfigWithKeys {
            external_key: self
                .vault
                .open(&config.external_key.sealed_key)
                .unwrap_or_default(),
            client_key: config
                .certs
                .client_key
                .as_ref()
                .and_then(|k| self.vault.open(k)),
            thing_key: self.vault.open(thing_key).unwrap_or_default(),
            config,
        }
    }

    /// `owner`'s configs; `thing_key` (Mainflux's `mainflux_key` filter) narrows them to
    /// the thing holding that key.
    pub async fn configs(
        &self,
        owner: UserId,
        mut query: ConfigQuery,
        thing_key: Option<&str>,
    ) -> Result<Page<ConfigWithKeys>, ServiceError> {
        if let Some(key) = thing_key {
            let holder = self.authz.identify(&self.vault.hash(key));
            match (holder, query.thing_id) {
                (Some(holder), None) => query.thing_id = Some(holder),
                (Some(holder), Some(wanted)) if holder == wanted => {}
                _ => {
                    return Ok(Page {
                        total: 0,
                        offset: query.offset,
                        limit: query.limit,
                        items: Vec::new(),
                    });
                }
            }
        }
        let page = self.views.configs(owner, &query).await?;
        Ok(page.map(|row| self.open_keys(row.config, &row.thing_key)))
    }
}

/// `Activation` from the API's integer.
pub fn activation(state: u8) -> Result<Activation, ServiceError> {
    Activation::try_from(state).map_err(ServiceError::invalid)
}
