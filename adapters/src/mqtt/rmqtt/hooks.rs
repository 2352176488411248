//! rmqtt hook handlers: each hook asks the `Gate` and translates its answer.
//!
//! rmqtt 0.24 facts these rely on (DESIGN.md §5):
//! - `MessagePublish` runs before `MessagePublishCheckAcl` and cannot drop a message, so
//!   the bus gets a message only from the ACL hook, once allowed;
//! - the will skips the ACL hook: its topic is checked at CONNECT (`ClientAuthenticate`)
//!   and it reaches the bus from `MessagePublish`, the only hook it passes;
//! - messages injected with `SessionState::forwards` pass no hook, so they cannot echo.

use async_trait::async_trait;
use domain::ids::ThingId;
use rmqtt::codec::v5::SubscribeAckReason;
use rmqtt::context::ServerContext;
use rmqtt::hook::{Handler, HookResult, Parameter, ReturnType};
use rmqtt::session::Session;
use rmqtt::types::{
    AuthResult, ConnectInfo, FromType, LastWill, Publish, PublishAclResult, SubscribeAclResult,
};

use super::registry::Registry;
use crate::mqtt::gate::{ConnectRefusal, Gate, canonical_topic};

pub(super) struct Hooks {
    pub gate: Gate,
    pub scx: ServerContext,
    pub registry: Registry,
}

/// The thing a session authenticated as: CONNECT accepted only username = thing id.
fn thing_of(session: &Session) -> Option<ThingId> {
    session.id.username.as_ref()?.parse().ok()
}

fn content_type(publish: &Publish) -> Option<&str> {
    publish.properties.as_ref()?.content_type.as_deref()
}

impl Hooks {
    async fn authenticate(&self, info: &ConnectInfo) -> AuthResult {
        let will = info.last_will().map(|will| match will {
            LastWill::V3(will) => will.topic.clone(),
            LastWill::V5(will) => will.topic.clone(),
        });
        let username = info.username().map(|u| &**u);
        let password = info.password().map(|p| &**p);
        match self.gate.connect(username, password, will.as_deref()) {
            Ok(thing) if self.client_id_taken(info, thing).await => {
                self.gate.stats().count_connect_refused();
                AuthResult::NotAuthorized
            }
            Ok(_) => AuthResult::Allow(false, None),
            Err(ConnectRefusal::BadCredentials) => AuthResult::BadUsernameOrPassword,
            Err(ConnectRefusal::NotAuthorized) => AuthResult::NotAuthorized,
        }
    }

    /// Client ids are one namespace for all things: a thing may not take over (kick, or
    /// inherit the subscriptions of) a session another thing holds under the same id.
    async fn client_id_taken(&self, info: &ConnectInfo, thing: ThingId) -> bool {
        let shared = self.scx.extends.shared().await;
        let Some(status) = shared.session_status(info.client_id()).await else {
            return false;
        };
        let holder = status.id.username.as_ref().and_then(|u| u.parse().ok());
        holder != Some(thing)
    }

    fn subscribe_acl(&self, session: &Session, filter: &str) -> SubscribeAclResult {
        let allowed =
            thing_of(session).is_some_and(|thing| self.gate.subscribe(thing, filter).is_ok());
        if allowed {
            // QoS as requested (capped by the listener's max QoS, 1).
            SubscribeAclResult::new_success(rmqtt::types::QoS::AtLeastOnce, None)
        } else {
            SubscribeAclResult::new_failure(SubscribeAckReason::NotAuthorized)
        }
    }

    fn publish_acl(&self, session: &Session, publish: &Publish) -> PublishAclResult {
        let Some(thing) = thing_of(session) else {
            return PublishAclResult::rejected(true, None);
        };
        let payload = publish.payload.clone();
        match self
            .gate
            .publish(thing, &publish.topic, payload, content_type(publish))
        {
            Ok(()) => PublishAclResult::allow(),
            Err(refusal) => {
                tracing::info!(%thing, topic = %publish.topic, %refusal, "MQTT publish refused: closing the connection");
                PublishAclResult::rejected(true, Some(refusal.to_string().into()))
            }
        }
    }

    /// Rewrites the topic to its canonical spelling, and hands a will to the bus.
    fn on_publish(
        &self,
        session: Option<&Session>,
        from_will: bool,
        publish: &Publish,
    ) -> Option<Publish> {
        if from_will && let Some(thing) = session.and_then(thing_of) {
            let payload = publish.payload.clone();
            if let Err(refusal) =
                self.gate
                    .publish(thing, &publish.topic, payload, content_type(publish))
            {
                tracing::info!(%thing, %refusal, "MQTT will not forwarded to the bus");
            }
        }
        let topic = canonical_topic(&publish.topic)?;
        let mut rewritten = publish.clone();
        rewritten.inner.topic = topic.into();
        Some(rewritten)
    }
}

#[async_trait]
impl Handler for Hooks {
    async fn hook(&self, param: &Parameter, acc: Option<HookResult>) -> ReturnType {
        match param {
            Parameter::ClientAuthenticate(info) => {
                let result = self.authenticate(info).await;
                (false, Some(HookResult::AuthResult(result)))
            }
            Parameter::ClientSubscribeCheckAcl(session, subscribe) => {
                let result = self.subscribe_acl(session, &subscribe.topic_filter);
                (false, Some(HookResult::SubscribeAclResult(result)))
            }
            Parameter::MessagePublishCheckAcl(session, publish) => {
                let result = self.publish_acl(session, publish);
                (false, Some(HookResult::PublishAclResult(result)))
            }
            Parameter::MessagePublish(session, from, publish) => {
                let from_will = matches!(from.typ(), FromType::LastWill);
                match self.on_publish(*session, from_will, publish) {
                    Some(rewritten) => (true, Some(HookResult::Publish(rewritten))),
                    None => (true, acc),
                }
            }
            Parameter::ClientConnected(session) => {
                if let Some(thing) = thing_of(session) {
                    self.registry.insert(thing, session.id.clone());
                    self.gate.connected(thing);
                    tracing::info!(%thing, client_id = %session.id.client_id, "MQTT connect");
                }
                (true, acc)
            }
            Parameter::ClientDisconnected(session, reason) => {
                if let Some(thing) = thing_of(session) {
                    self.gate.disconnected(thing);
                    tracing::info!(%thing, client_id = %session.id.client_id, %reason, "MQTT disconnect");
                }
                (true, acc)
            }
            Parameter::SessionTerminated(session, _) => {
                if let Some(thing) = thing_of(session) {
                    self.registry.remove(thing, &session.id);
                }
                (true, acc)
            }
            _ => (true, acc),
        }
    }
}
