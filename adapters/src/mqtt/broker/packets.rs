//! What a connection does with each packet its client sends.

use std::num::NonZeroU16;

use bytestring::ByteString;
use rmqtt_codec::types::{Publish, QoS};
use rmqtt_codec::v5::RetainHandling;

use super::aliases::AliasError;
use super::connection::{Connection, End};
use super::delivery::Reply;
use super::inbound::{Filter, Received};
use super::properties::Carried;
use super::router::Subscribed;
use super::session::{Offer, Subscription, SubscriptionIds};
use super::shared;
use super::wire::{Ack, SubscribeRefusal};

/// QoS 2 PUBLISHes awaiting their PUBREL, at most: CONNACK's Receive Maximum (QoS 1 ones
/// are acknowledged at once, so never count against it).
pub(super) const MAX_AWAITING_RELEASE: u16 = 1024;

impl Connection {
    pub(super) fn handle(&mut self, packet: Received) -> Result<(), End> {
        match packet {
            Received::Publish(publish) => return self.on_publish(*publish),
            Received::Acked(id, acked) => match self.session.lock().acknowledged(id, acked) {
                Reply::Nothing => {}
                Reply::Release => self.wire.ack(&mut self.output, Ack::Released, id),
                Reply::ProtocolError => return Err(End::Protocol),
            },
            Received::PubRel(id) => {
                self.session
                    .lock()
                    .awaiting_release
                    .retain(|waiting| *waiting != id);
                self.wire.ack(&mut self.output, Ack::Completed, id);
            }
            Received::Subscribe { packet_id, filters } => self.on_subscribe(packet_id, filters)?,
            Received::Unsubscribe { packet_id, filters } => {
                let existed: Vec<bool> = filters
                    .iter()
                    .map(|filter| self.broker.router.unsubscribe(&self.session, filter))
                    .collect();
                self.wire.unsuback(&mut self.output, packet_id, &existed);
            }
            Received::Ping => self.wire.pingresp(&mut self.output),
            Received::Disconnect {
                keep_will,
                session_expiry,
            } => {
                // A session that was to end with the connection cannot be kept now
                // [MQTT-3.14.2-2].
                if self.expiry_ms == 0 && session_expiry.is_some_and(|secs| secs > 0) {
                    return Err(End::Protocol);
                }
                if !keep_will {
                    self.will = None;
                }
                if let Some(secs) = session_expiry {
                    self.expiry_ms = self.broker.session_expiry_ms(secs);
                }
                return Err(End::Disconnect);
            }
            Received::Unexpected => return Err(End::Protocol),
        }
        Ok(())
    }

    fn on_publish(&mut self, publish: Publish) -> Result<(), End> {
        let Publish {
            topic,
            payload,
            qos,
            retain,
            packet_id,
            properties,
            ..
        } = publish;
        if qos == QoS::ExactlyOnce {
            let id = packet_id.ok_or(End::Protocol)?;
            let state = self.session.lock();
            if state.awaiting_release.contains(&id) {
                // A resend of one we already took: ack again, deliver once.
                drop(state);
                self.wire.ack(&mut self.output, Ack::Recorded, id);
                return Ok(());
            }
            if state.awaiting_release.len() >= usize::from(MAX_AWAITING_RELEASE) {
                return Err(End::ReceiveMaxExceeded);
            }
        }
        let response_topic = properties
            .as_ref()
            .and_then(|p| p.response_topic.as_deref());
        if response_topic.is_some_and(|t| t.contains(['+', '#'])) {
            // A response topic is a topic name, never a filter [MQTT-3.3.2-14].
            return Err(End::Protocol);
        }
        let alias = properties.as_ref().and_then(|p| p.topic_alias);
        let topic = match alias {
            Some(alias) => self.resolve_alias(&topic, alias.get())?,
            None => topic,
        };
        let carried = properties
            .as_ref()
            .and_then(|p| Carried::of_publish(p, crate::message::now_ns));
        let message = super::Inbound {
            topic: &topic,
            payload: &payload,
            qos,
            retain,
            properties: carried,
        };
        if let Err(refusal) = self
            .broker
            .publish(self.thing, Some(&self.session), message)
        {
            tracing::info!(thing = %self.thing, topic = %topic, %refusal, "MQTT publish refused: closing the connection");
            return Err(End::Refused);
        }
        match (qos, packet_id) {
            (QoS::AtMostOnce, _) => {}
            (QoS::AtLeastOnce, Some(id)) => self.wire.ack(&mut self.output, Ack::Received, id),
            (QoS::ExactlyOnce, Some(id)) => {
                self.session.lock().awaiting_release.push(id);
                self.wire.ack(&mut self.output, Ack::Recorded, id);
            }
            _ => return Err(End::Protocol),
        }
        Ok(())
    }

    /// The topic a PUBLISH with a topic alias names.
    fn resolve_alias(&mut self, topic: &ByteString, alias: u16) -> Result<ByteString, End> {
        let aliases = self.aliases.get_or_insert_default();
        aliases.resolve(topic, alias).map_err(|e| match e {
            AliasError::Invalid => End::AliasInvalid,
            AliasError::Unknown => End::Protocol,
        })
    }

    /// SUBACK for every filter, then the retained messages the new subscriptions match.
    fn on_subscribe(&mut self, packet_id: NonZeroU16, filters: Vec<Filter>) -> Result<(), End> {
        let mut granted = Vec::with_capacity(filters.len());
        let mut retained = Vec::new();
        for requested in filters {
            let (subscription, handling) = match self.subscription(&requested)? {
                Ok(subscription) => subscription,
                Err(refused) => {
                    granted.push(Err(refused));
                    continue;
                }
            };
            let (channel, qos, id) = (subscription.channel, subscription.qos, subscription.id);
            // Subscribed before the retained messages are read: a retained publish in
            // between is then delivered live, not missed.
            let filter = subscription.filter.clone();
            let outcome = self.broker.router.subscribe(&self.session, subscription);
            if outcome == Subscribed::Refused {
                granted.push(Err(SubscribeRefusal::NotAuthorized));
                continue;
            }
            granted.push(Ok(qos));
            let wanted = match handling {
                RetainHandling::AtSubscribe => true,
                RetainHandling::AtSubscribeNew => outcome == Subscribed::New,
                RetainHandling::NoAtSubscribe => false,
            };
            if wanted {
                let matching = self.broker.retained.matching(channel, &filter);
                retained.extend(matching.into_iter().map(|m| (m, qos, id)));
            }
        }
        self.wire
            .suback(&mut self.output, packet_id, &granted, self.problem_info);
        let mut state = self.session.lock();
        for (message, qos, id) in retained {
            let mut ids = SubscriptionIds::None;
            if let Some(id) = id {
                ids.add(id);
            }
            let copy = message.to_session(qos.min(message.qos), true, ids);
            if let Offer::Dropped = state.push(copy, self.broker.limits.queue) {
                self.broker.gate.stats().count_dropped();
            }
        }
        Ok(())
    }

    /// The subscription a filter asks for, authorized, with its retain handling (never for
    /// a shared one: MQTT sends no retained messages to those). No-local on a shared
    /// filter breaks the protocol (MQTT-3.8.3-4).
    fn subscription(&self, requested: &Filter) -> Result<Asked, End> {
        let (shared, topic) = match shared::split(&requested.topic) {
            Ok(Some((_, topic))) => (true, topic),
            Ok(None) => (false, &*requested.topic),
            // `$share/` without a share name and a filter after it breaks the protocol
            // [MQTT-4.8.2-1, 4.8.2-2] (Mosquitto closes too).
            Err(_) => return Err(End::Protocol),
        };
        if shared && requested.no_local {
            return Err(End::Protocol);
        }
        let Ok((channel, filter)) = self.broker.gate.subscribe(self.thing, topic) else {
            return Ok(Err(SubscribeRefusal::NotAuthorized));
        };
        let subscription = Subscription {
            // Copied: the decoded filter shares (and would pin) the read buffer.
            raw: ByteString::from(&*requested.topic),
            channel,
            filter,
            qos: requested.qos,
            no_local: requested.no_local,
            retain_as_published: requested.retain_as_published,
            id: requested.id,
            shared,
        };
        let handling = match shared {
            true => RetainHandling::NoAtSubscribe,
            false => requested.retain_handling,
        };
        Ok(Ok((subscription, handling)))
    }
}

/// A filter's subscription and its retain handling, or why it is refused.
type Asked = Result<(Subscription, RetainHandling), SubscribeRefusal>;
