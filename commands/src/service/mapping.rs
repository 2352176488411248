//! One-call provisioning (`POST /mapping`): the template's things and channels, every thing
//! connected to every channel, a bootstrap config for the first thing and the claim on its
//! external id, all decided first and then appended in ONE `append_all`. The log stores
//! every stream's events or none, so a refusal or a failure at any point leaves nothing.

use domain::Event;
use domain::channel::{self, ChannelCommand, ChannelState};
use domain::config::{self, Activation, Certs, ConfigCommand, ConfigState};
use domain::connection::decide_connect;
use domain::external_id_claim::{self, EXTERNAL_ID_IN_USE};
use domain::ids::{ChannelId, ThingId, UserId};
use domain::key_claim::{self, KeyClaimCommand, KeyClaimState};
use domain::ports::event_log::{AppendBatch, LogError};
use domain::thing::{self, ThingCommand, ThingState};
use domain::values::Metadata;
use projections::views::ChannelRow;
use uuid::Uuid;

use super::execute::pending;
use super::{CommandMeta, Service, ServiceError, ThingWithKey};

/// What `POST /mapping` carries.
#[derive(Debug, Clone, Default)]
pub struct NewMapping {
    pub name: Option<String>,
    pub external_id: String,
    pub external_key: String,
}

/// What one mapping made, as Mainflux's provision service answers it.
#[derive(Debug, Clone)]
pub struct Mapping {
    pub things: Vec<ThingWithKey>,
    pub channels: Vec<ChannelRow>,
    /// The thing whose config was activated, when the template whitelists.
    pub whitelisted: Option<ThingId>,
}

/// How often the whole mapping is decided again after a stream moved underneath it (only
/// another node's append can do that: this node holds the external id's reservation).
const MAX_ATTEMPTS: usize = 3;

impl Service {
    pub async fn create_mapping(
        &self,
        meta: &CommandMeta,
        owner: UserId,
        new: NewMapping,
    ) -> Result<Mapping, ServiceError> {
        if new.external_id.is_empty() || new.external_key.is_empty() {
            return Err(ServiceError::invalid(
                "external_id and external_key must not be empty",
            ));
        }
        let id_hash = self.vault.hash(&new.external_id);
        let _reserved = self
            .reservations
            .claim(vec![format!("extid:{id_hash}")])
            .ok_or_else(|| ServiceError::conflict(EXTERNAL_ID_IN_USE))?;
        for _ in 0..MAX_ATTEMPTS {
            let plan = self.plan_mapping(meta, owner, &new).await?;
            match self.log.append_all(plan.batches).await {
                Ok(appended) => {
                    let last = appended.iter().map(|a| a.last_position).max();
                    self.wait_projected(last.unwrap_or(0)).await?;
                    return self
                        .made(owner, plan.things, plan.channels, plan.whitelisted)
                        .await;
                }
                Err(LogError::Conflict { .. }) => continue,
                Err(other) => return Err(other.into()),
            }
        }
        Err(ServiceError::conflict("too many concurrent changes, retry"))
    }

    /// Decides every event of the mapping against the freshest claim on the external id.
    async fn plan_mapping(
        &self,
        meta: &CommandMeta,
        owner: UserId,
        new: &NewMapping,
    ) -> Result<Plan, ServiceError> {
        let template = &self.settings.mapping_template;
        let id_hash = self.vault.hash(&new.external_id);
        let claim_stream = external_id_claim::claim_stream(&id_hash);
        let (claim_state, claim_version) = self
            .load::<KeyClaimState>(&claim_stream, external_id_claim::apply)
            .await?;
        let ctx = self.external_id_ctx(&id_hash).await?;
        let mut plan = Plan::default();
        let mut things = Vec::with_capacity(template.things.len());
        for entity in &template.things {
            let id = ThingId(Uuid::new_v4());
            let key = Uuid::new_v4().to_string();
            let material = self.vault.material(&key);
            let command = ThingCommand::Create {
                id,
                owner,
                name: new.name.clone().or_else(|| entity.name.clone()),
                metadata: Some(Metadata::from(entity.metadata.clone())),
                key: material,
            };
            let events = thing::decide(&ThingState::default(), &command)?;
            let state = events.iter().fold(ThingState::default(), thing::apply);
            if self.settings.key_claims {
                let hash = self.vault.hash(&key);
                let claim = KeyClaimCommand::Claim {
                    key_hash: hash,
                    thing: id,
                };
                let claimed =
                    key_claim::decide(&KeyClaimState::default(), &claim, &self.claim_ctx(&hash))?;
                plan.add(meta, hash.claim_stream(), 0, &claimed);
            }
            plan.add(meta, id.stream(), 0, &events);
            plan.things.push(id);
            things.push((id, state));
        }
        for entity in &template.channels {
            let id = ChannelId(Uuid::new_v4());
            let command = ChannelCommand::Create {
                id,
                owner,
                name: entity.name.clone(),
                metadata: Some(Metadata::from(entity.metadata.clone())),
            };
            let mut events = channel::decide(&ChannelState::default(), &command)?;
            let mut state = events.iter().fold(ChannelState::default(), channel::apply);
            for (_, thing) in &things {
                let connected = decide_connect(thing, &state, owner)?;
                state = connected.iter().fold(state, channel::apply);
                events.extend(connected);
            }
            plan.add(meta, id.stream(), 0, &events);
            plan.channels.push(id);
        }
        let thing_id = plan.things[0];
        let claim = KeyClaimCommand::Claim {
            key_hash: id_hash,
            thing: thing_id,
        };
        let claimed = external_id_claim::decide(&claim_state, &claim, &ctx)?;
        plan.add(meta, claim_stream, claim_version, &claimed);
        let create = ConfigCommand::Create {
            thing_id,
            owner,
            external_id: new.external_id.clone(),
            external_key: self.vault.material(&new.external_key),
            name: new.name.clone(),
            content: template.bootstrap.content.clone(),
            channels: plan.channels.clone(),
            certs: Certs::default(),
        };
        let mut events = config::decide(&ConfigState::new(thing_id), &create)?;
        if template.bootstrap.whitelist {
            let state = events
                .iter()
                .fold(ConfigState::new(thing_id), config::apply);
            let activate = ConfigCommand::ChangeState {
                actor: owner,
                state: Activation::Active,
            };
            events.extend(config::decide(&state, &activate)?);
            plan.whitelisted = Some(thing_id);
        }
        plan.add(meta, config::stream(thing_id), 0, &events);
        Ok(plan)
    }

    async fn made(
        &self,
        owner: UserId,
        things: Vec<ThingId>,
        channels: Vec<ChannelId>,
        whitelisted: Option<ThingId>,
    ) -> Result<Mapping, ServiceError> {
        let mut mapping = Mapping {
            things: Vec::with_capacity(things.len()),
            channels: Vec::with_capacity(channels.len()),
            whitelisted,
        };
        for id in things {
            mapping.things.push(self.thing(owner, id).await?);
        }
        for id in channels {
            mapping.channels.push(self.channel(owner, id).await?);
        }
        Ok(mapping)
    }
}

/// The mapping decided: one batch per stream, and the ids it makes.
#[derive(Default)]
struct Plan {
    batches: Vec<AppendBatch>,
    things: Vec<ThingId>,
    channels: Vec<ChannelId>,
    whitelisted: Option<ThingId>,
}

impl Plan {
    fn add(&mut self, meta: &CommandMeta, stream: String, expected_version: u64, events: &[Event]) {
        // A fresh command id per try: a try the log refused stored nothing to dedupe against.
        self.batches.push(AppendBatch {
            command_id: Uuid::new_v4(),
            retryable: false,
            stream,
            expected_version,
            events: events.iter().map(|e| pending(meta, e)).collect(),
        });
    }
}
