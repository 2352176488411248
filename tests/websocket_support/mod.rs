//! WebSocket test support: the real binary with a user, two things connected to one channel
//! and one connected to nothing; a real WebSocket client (tokio-tungstenite) and a real
//! MQTT client (rumqttc) talking to it.
#![allow(dead_code)]

use std::time::Duration;

use futures::{SinkExt, StreamExt};
use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message as Frame;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::process::{Server, User};

pub const WAIT: Duration = Duration::from_secs(10);
/// How long to watch for a duplicate (or a message that must not come).
pub const QUIET: Duration = Duration::from_millis(500);

pub type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Any client WebSocket, over TCP or TLS.
pub trait Stream: AsyncRead + AsyncWrite + Unpin {}
impl<S: AsyncRead + AsyncWrite + Unpin> Stream for S {}

pub struct Thing {
    pub id: String,
    pub key: String,
}

/// A running server: `a` and `b` connected to `ch`, `c` connected to nothing.
pub struct World {
    pub server: Server,
    pub user: User,
    pub ch: String,
    pub a: Thing,
    pub b: Thing,
    pub c: Thing,
}

impl World {
    pub async fn start(env: &[(&str, &str)]) -> (World, tempfile::TempDir) {
        let data = tempfile::tempdir().unwrap();
        let server = Server::start_with(data.path(), env);
        let world = Self::provision(server).await;
        (world, data)
    }

    pub async fn provision(server: Server) -> World {
        let user = User::register(&server.base, "ws@example.com").await;
        let ch = user
            .create("/channels", serde_json::json!({"name": "ch"}))
            .await;
        let mut things = Vec::new();
        for name in ["a", "b", "c"] {
            let key = format!("ws-key-{name}-{}", uuid::Uuid::new_v4());
            let id = user
                .create("/things", serde_json::json!({"name": name, "key": key}))
                .await;
            things.push(Thing { id, key });
        }
        let (c, b, a) = (
            things.pop().unwrap(),
            things.pop().unwrap(),
            things.pop().unwrap(),
        );
        user.connect(&ch, &a.id).await;
        user.connect(&ch, &b.id).await;
        World {
            server,
            user,
            ch,
            a,
            b,
            c,
        }
    }

    /// `ws://host:port` of the plain HTTP listener.
    pub fn ws(&self) -> String {
        self.server.base.replacen("http://", "ws://", 1)
    }

    /// `ws://…/channels/<ch>/messages<tail>`.
    pub fn url(&self, tail: &str) -> String {
        format!("{}/channels/{}/messages{tail}", self.ws(), self.ch)
    }

    /// Opens `url` with `Authorization: Thing <key>`, expecting the upgrade.
    pub async fn open(&self, url: &str, key: &str) -> Socket {
        open(url, Some(&format!("Thing {key}")))
            .await
            .unwrap_or_else(|e| panic!("{url}: {e}"))
    }

    /// An HTTP publish (202 expected).
    pub async fn http_publish(&self, key: &str, tail: &str, content_type: &str, body: Vec<u8>) {
        let url = format!("{}/channels/{}/messages{tail}", self.server.base, self.ch);
        let sent = self
            .user
            .http
            .post(url)
            .header("authorization", format!("Thing {key}"))
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(sent.status(), 202, "HTTP publish");
    }

    /// A counter from `/metrics` (0 when absent).
    pub async fn metric(&self, name: &str) -> u64 {
        let text = self
            .user
            .http
            .get(format!("{}/metrics", self.server.base))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let prefix = format!("ferroflux_{name} ");
        text.lines()
            .find_map(|line| line.strip_prefix(&prefix))
            .map_or(0, |value| value.trim().parse().unwrap())
    }

    /// Waits until metric `name` reaches `at_least`.
    pub async fn metric_reaches(&self, name: &str, at_least: u64) {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let value = self.metric(name).await;
            if value >= at_least {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{name} = {value}, wanted {at_least}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// An MQTT subscriber of `thing` on `filter`; payloads as they arrive, with topics.
    pub async fn mqtt_subscriber(&self, thing: &Thing, filter: &str) -> Mqtt {
        let (host, port) = self.server.mqtt.rsplit_once(':').unwrap();
        let id = format!("ws-test-{}", uuid::Uuid::new_v4());
        let mut options = MqttOptions::new(id, host, port.parse().unwrap());
        options.set_credentials(thing.id.clone(), thing.key.clone());
        options.set_max_packet_size(1 << 20, 1 << 20);
        let (client, mut events) = AsyncClient::new(options, 64);
        let (tx, rx) = mpsc::unbounded_channel();
        let (subscribed_tx, mut subscribed) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            while let Ok(event) = events.poll().await {
                match event {
                    Event::Incoming(Packet::Publish(p)) => {
                        let _ = tx.send((p.topic.clone(), p.payload.to_vec()));
                    }
                    Event::Incoming(Packet::SubAck(_)) => {
                        let _ = subscribed_tx.send(());
                    }
                    _ => {}
                }
            }
        });
        client.subscribe(filter, QoS::AtLeastOnce).await.unwrap();
        tokio::time::timeout(WAIT, subscribed.recv())
            .await
            .expect("SUBACK in time");
        Mqtt { client, rx }
    }
}

pub struct Mqtt {
    pub client: AsyncClient,
    rx: mpsc::UnboundedReceiver<(String, Vec<u8>)>,
}

impl Mqtt {
    pub async fn next(&mut self) -> (String, Vec<u8>) {
        tokio::time::timeout(WAIT, self.rx.recv())
            .await
            .expect("an MQTT message in time")
            .expect("MQTT client running")
    }

    /// The next message, waiting as long as it takes; `None` when the client stopped.
    pub async fn next_or_none(&mut self) -> Option<(String, Vec<u8>)> {
        self.rx.recv().await
    }

    pub async fn nothing_more(&mut self) {
        if let Ok(Some(extra)) = tokio::time::timeout(QUIET, self.rx.recv()).await {
            panic!("unexpected MQTT message {extra:?}");
        }
    }
}

/// Opens a WebSocket to `url`, with `authorization` as the header when given.
pub async fn open(
    url: &str,
    authorization: Option<&str>,
) -> Result<Socket, tokio_tungstenite::tungstenite::Error> {
    let mut request = url.into_client_request().unwrap();
    if let Some(value) = authorization {
        request
            .headers_mut()
            .insert("authorization", value.parse().unwrap());
    }
    tokio_tungstenite::connect_async(request)
        .await
        .map(|(socket, _)| socket)
}

/// The HTTP status a refused handshake was answered with.
pub async fn refused_with(url: &str, authorization: Option<&str>) -> u16 {
    match open(url, authorization).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => response.status().as_u16(),
        Err(other) => panic!("{url}: {other}"),
        Ok(_) => panic!("{url}: upgraded, expected a refusal"),
    }
}

/// The next data frame (text or binary), skipping control frames.
pub async fn next_frame<S: Stream>(socket: &mut WebSocketStream<S>) -> Frame {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let frame = tokio::time::timeout_at(deadline, socket.next())
            .await
            .expect("a frame in time")
            .expect("socket open")
            .expect("a readable frame");
        match frame {
            Frame::Ping(_) | Frame::Pong(_) => continue,
            frame => return frame,
        }
    }
}

/// The next data frame's payload as text.
pub async fn next_text<S: Stream>(socket: &mut WebSocketStream<S>) -> String {
    match next_frame(socket).await {
        Frame::Text(text) => text.to_string(),
        other => panic!("expected a text frame, got {other:?}"),
    }
}

/// Asserts no data frame arrives for `QUIET`.
pub async fn nothing_more<S: Stream>(socket: &mut WebSocketStream<S>) {
    let deadline = tokio::time::Instant::now() + QUIET;
    while let Ok(frame) = tokio::time::timeout_at(deadline, socket.next()).await {
        match frame {
            Some(Ok(Frame::Ping(_) | Frame::Pong(_))) => continue,
            other => panic!("unexpected {other:?}"),
        }
    }
}

/// Reads until the server's close frame; its code. Data frames before it are skipped.
pub async fn close_code<S: Stream>(socket: &mut WebSocketStream<S>) -> u16 {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let frame = tokio::time::timeout_at(deadline, socket.next())
            .await
            .expect("a close in time");
        match frame {
            Some(Ok(Frame::Close(Some(close)))) => return close.code.into(),
            Some(Ok(Frame::Close(None))) => panic!("a close frame without a code"),
            Some(Ok(_)) => continue,
            other => panic!("the socket ended without a close frame: {other:?}"),
        }
    }
}

/// Sends a text frame.
pub async fn send_text<S: Stream>(socket: &mut WebSocketStream<S>, text: &str) {
    socket.send(Frame::text(text)).await.expect("frame sent");
}
