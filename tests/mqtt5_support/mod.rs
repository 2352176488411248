//! MQTT 5 test support: a rumqttc v5 client driven by a task that reports every incoming
//! packet (or the error that ended it), on the `World` of `mqtt_support`.
#![allow(dead_code)]

use std::time::Duration;

use rumqttc::v5::mqttbytes::QoS;
use rumqttc::v5::mqttbytes::v5::{
    ConnAck, ConnectProperties, Packet, Publish, PublishProperties, SubscribeProperties,
    SubscribeReasonCode,
};
use rumqttc::v5::{AsyncClient, Event, MqttOptions};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::mqtt_support::{QUIET, Thing, WAIT, World};

/// Options for a v5 client of `thing`; `session_expiry` in seconds (0: ends with the
/// connection).
pub fn options(w: &World, client_id: &str, thing: &Thing, session_expiry: u32) -> MqttOptions {
    let addr = w.mqtt.local_addr();
    let mut options = MqttOptions::new(client_id, addr.ip().to_string(), addr.port());
    options.set_credentials(thing.id.clone(), thing.key.clone());
    options.set_keep_alive(Duration::from_secs(30));
    let mut properties = ConnectProperties::new();
    properties.session_expiry_interval = Some(session_expiry);
    options.set_connect_properties(properties);
    options
}

/// A connected rumqttc v5 client and the packets it receives.
pub struct V5 {
    pub client: AsyncClient,
    pub connack: ConnAck,
    incoming: mpsc::UnboundedReceiver<Result<Packet, String>>,
    driver: JoinHandle<()>,
}

impl Drop for V5 {
    fn drop(&mut self) {
        self.driver.abort();
    }
}

impl V5 {
    pub async fn connect(options: MqttOptions) -> V5 {
        let (client, mut eventloop) = AsyncClient::new(options, 64);
        let connack = tokio::time::timeout(WAIT, async {
            loop {
                match eventloop.poll().await {
                    Ok(Event::Incoming(Packet::ConnAck(ack))) => return ack,
                    Ok(_) => continue,
                    Err(e) => panic!("v5 connect: {e}"),
                }
            }
        })
        .await
        .expect("CONNACK in time");
        let (tx, incoming) = mpsc::unbounded_channel();
        let driver = tokio::spawn(async move {
            loop {
                let sent = match eventloop.poll().await {
                    Ok(Event::Incoming(packet)) => tx.send(Ok(packet)),
                    Ok(Event::Outgoing(_)) => Ok(()),
                    Err(e) => {
                        let _ = tx.send(Err(e.to_string()));
                        return;
                    }
                };
                if sent.is_err() {
                    return;
                }
            }
        });
        V5 {
            client,
            connack,
            incoming,
            driver,
        }
    }

    /// Ends the connection without DISCONNECT, as a crashed device would.
    pub fn vanish(self) {
        self.driver.abort();
    }

    /// The next packet other than acknowledgements and pings, within `limit`.
    pub async fn next_within(&mut self, limit: Duration) -> Option<Result<Packet, String>> {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let packet = tokio::time::timeout_at(deadline, self.incoming.recv())
                .await
                .ok()?;
            match packet {
                None => return Some(Err("client task ended".into())),
                Some(Ok(
                    Packet::PubAck(_)
                    | Packet::PubRec(_)
                    | Packet::PubRel(_)
                    | Packet::PubComp(_)
                    | Packet::PingResp(_)
                    | Packet::UnsubAck(_),
                )) => continue,
                Some(other) => return Some(other),
            }
        }
    }

    /// The next PUBLISH; panics on anything else or after `WAIT`.
    pub async fn message(&mut self) -> Publish {
        match self.next_within(WAIT).await {
            Some(Ok(Packet::Publish(publish))) => publish,
            other => panic!("expected a PUBLISH, got {other:?}"),
        }
    }

    /// Asserts no PUBLISH comes for `QUIET`.
    pub async fn quiet(&mut self) {
        let next = self.next_within(QUIET).await;
        assert!(next.is_none(), "expected nothing, got {next:?}");
    }

    /// Subscribes (with a subscription identifier, if given); the SUBACK's code.
    pub async fn subscribe(&mut self, filter: &str, id: Option<usize>) -> SubscribeReasonCode {
        let properties = SubscribeProperties {
            id,
            user_properties: Vec::new(),
        };
        self.client
            .subscribe_with_properties(filter, QoS::AtLeastOnce, properties)
            .await
            .expect("SUBSCRIBE queued");
        match self.next_within(WAIT).await {
            Some(Ok(Packet::SubAck(ack))) => ack.return_codes[0],
            other => panic!("expected a SUBACK for {filter}, got {other:?}"),
        }
    }

    pub async fn publish(&self, topic: &str, payload: &[u8], properties: PublishProperties) {
        self.client
            .publish_with_properties(topic, QoS::AtLeastOnce, false, payload.to_vec(), properties)
            .await
            .expect("PUBLISH queued");
    }

    pub async fn disconnect(&self) {
        self.client.disconnect().await.expect("DISCONNECT queued");
    }
}

/// A PUBLISH's topic as text.
pub fn topic_of(publish: &Publish) -> String {
    String::from_utf8(publish.topic.to_vec()).expect("UTF-8 topic")
}
