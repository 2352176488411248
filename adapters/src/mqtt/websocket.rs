//! MQTT over WebSocket at `/mqtt` on the HTTP listener (MQTT 3.1.1 and 5.0, section 6):
//! binary frames carry the MQTT byte stream, subprotocol `mqtt`.
//!
//! Each WebSocket is bridged to the MQTT listener over loopback, so the engine sees one
//! more client and every rule (CONNECT, ACL, revocation, presence) applies unchanged. The
//! cost is one local hop per WebSocket connection: the broker's connections work on a
//! `TcpStream` directly (readiness and non-blocking reads and writes, no buffer while
//! idle), and a second listener speaking WebSocket itself would need its own port.

use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};

use axum::Extension;
use axum::Router;
use axum::extract::State;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use bytes::BytesMut;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

use super::CertifiedLogin;
use crate::device_certificate::DeviceCertificate;

/// Subprotocols offered by MQTT clients: `mqtt` (3.1.1, 5.0), `mqttv3.1` (3.1 clients).
const SUBPROTOCOLS: [&str; 2] = ["mqtt", "mqttv3.1"];
const READ_CHUNK: usize = 8 * 1024;

/// Where the MQTT listener is, once it is started (the HTTP router exists before it).
pub type MqttTarget = Arc<OnceLock<SocketAddr>>;

#[derive(Clone)]
struct Bridge {
    target: MqttTarget,
    max_message: usize,
}

/// `GET /mqtt`. `max_message` bounds one WebSocket message (at least one MQTT packet).
pub fn router(target: MqttTarget, max_message: usize) -> Router {
    Router::new()
        .route("/mqtt", get(upgrade))
        .with_state(Bridge {
            target,
            max_message,
        })
}

/// Over WSS with a device certificate, the relay signs the client's CONNECT in with it.
async fn upgrade(
    State(bridge): State<Bridge>,
    device: Option<Extension<DeviceCertificate>>,
    ws: WebSocketUpgrade,
) -> Response {
    let Some(target) = bridge.target.get().copied().map(loopback) else {
        let body = axum::Json(serde_json::json!({ "error": "the MQTT listener is not running" }));
        return (StatusCode::SERVICE_UNAVAILABLE, body).into_response();
    };
    ws.protocols(SUBPROTOCOLS)
        .max_message_size(bridge.max_message)
        .max_frame_size(bridge.max_message)
        .on_upgrade(move |socket| async move {
            let login = device.map(|Extension(d)| CertifiedLogin::new(d, bridge.max_message));
            match TcpStream::connect(target).await {
                Ok(tcp) => relay(socket, tcp, login).await,
                Err(error) => {
                    tracing::warn!(%error, "MQTT over WebSocket: cannot reach the MQTT listener")
                }
            }
        })
}

/// `addr` with an unspecified IP (`0.0.0.0`, `::`) made loopback: where a relay in this
/// process (MQTT over WebSocket, MQTTS) reaches the MQTT listener.
pub fn loopback(mut addr: SocketAddr) -> SocketAddr {
    if addr.ip().is_unspecified() {
        addr.set_ip(match addr {
            SocketAddr::V4(_) => [127, 0, 0, 1].into(),
            SocketAddr::V6(_) => std::net::Ipv6Addr::LOCALHOST.into(),
        });
    }
    addr
}

/// Copies MQTT bytes both ways until either side ends. A text frame ends the connection
/// (MQTT over WebSocket is binary only).
async fn relay(mut socket: WebSocket, tcp: TcpStream, mut login: Option<CertifiedLogin>) {
    let _ = tcp.set_nodelay(true);
    let (from_broker, mut to_broker) = tcp.into_split();
    loop {
        tokio::select! {
            frame = socket.recv() => match frame {
                Some(Ok(Message::Binary(bytes))) => {
                    let sent = match login.as_mut() {
                        None => to_broker.write_all(&bytes).await,
                        Some(pending) => match pending.feed(&bytes) {
                            None => continue,
                            Some(signed_in) => {
                                login = None;
                                to_broker.write_all(&signed_in).await
                            }
                        },
                    };
                    if sent.is_err() {
                        break;
                    }
                }
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
                Some(Ok(Message::Text(_) | Message::Close(_)) | Err(_)) | None => break,
            },
            ready = from_broker.readable() => {
                if ready.is_err() {
                    break;
                }
                // A buffer only once there is something to read: an idle connection holds none.
                let mut buffer = BytesMut::with_capacity(READ_CHUNK);
                match from_broker.try_read_buf(&mut buffer) {
                    Ok(0) => break,
                    Ok(_) => {
                        if socket.send(Message::Binary(buffer.freeze())).await.is_err() {
                            break;
                        }
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                    Err(_) => break,
                }
            }
        }
    }
    let _ = socket.send(Message::Close(None)).await;
}
