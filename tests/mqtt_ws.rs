//! MQTT over WebSocket at `/mqtt` on the HTTP listener, with a third-party client (Eclipse
//! Paho for Python, `python3-paho-mqtt`, installed by `scripts/install-deps`), and the
//! WebSocket handshake and framing rules checked byte by byte.

mod common;
mod mqtt_support;

use std::net::SocketAddr;
use std::process::Stdio;

use axum::http::StatusCode;
use common::req;
use mqtt_support::{WAIT, World};
use rumqttc::QoS;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::net::TcpStream;
use tokio::process::{Child, ChildStdout, Command};

/// Serves the app's routes on a real loopback port, through the server's own listener
/// (upgrades need a real connection).
async fn serve(routes: ferroflux::http_server::Routes) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let limits = ferroflux::Config::default().clients.http();
    let (_, routes) = tokio::sync::watch::channel(routes);
    tokio::spawn(async move {
        let forever = std::future::pending::<()>();
        ferroflux::http_server::serve(&listener, routes, limits, None, forever).await
    });
    addr
}

/// The Debian interpreter, where apt puts `paho` (a pyenv `python3` may shadow it).
fn python() -> &'static str {
    match std::path::Path::new("/usr/bin/python3").exists() {
        true => "/usr/bin/python3",
        false => "python3",
    }
}

fn paho(http: SocketAddr, thing: &mqtt_support::Thing, args: &[&str]) -> Child {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/mqtt_ws_client.py");
    Command::new(python())
        .arg(script)
        .args([
            &http.ip().to_string(),
            &http.port().to_string(),
            &thing.id,
            &thing.key,
        ])
        .args(args)
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("python3 with paho (scripts/install-deps installs python3-paho-mqtt)")
}

async fn line(lines: &mut Lines<BufReader<ChildStdout>>) -> String {
    tokio::time::timeout(WAIT, lines.next_line())
        .await
        .expect("a line from paho in time")
        .unwrap()
        .expect("paho still running")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paho_over_websocket_subscribes_and_publishes_like_any_mqtt_client() {
    let w = World::start().await;
    let http = serve(w.t.app.routes()).await;
    let topic = |sub: &str| w.topic(&w.ch, sub);

    let mut subscriber = paho(http, &w.a, &["sub", &topic("#"), "2"]);
    let mut lines = BufReader::new(subscriber.stdout.take().unwrap()).lines();
    assert_eq!(line(&mut lines).await, "subscribed 1");
    let tcp = w.client("tcp", &w.b).await;
    tcp.publish(&topic("tcp"), QoS::AtLeastOnce, "from-tcp")
        .await;
    assert_eq!(line(&mut lines).await, format!("{} from-tcp", topic("tcp")));
    w.t.send(
        req("POST", format!("/channels/{}/messages/http", w.ch))
            .auth(&format!("Thing {}", w.b.key))
            .raw(Some("text/plain"), "from-http"),
    )
    .await
    .expect(StatusCode::ACCEPTED, "HTTP publish");
    assert_eq!(
        line(&mut lines).await,
        format!("{} from-http", topic("http"))
    );
    let status = tokio::time::timeout(WAIT, subscriber.wait()).await.unwrap();
    assert!(status.unwrap().success());

    let mut watcher = w.client("watcher", &w.a).await;
    watcher.subscribe(&topic("#"), QoS::AtLeastOnce).await;
    let mut publisher = paho(http, &w.b, &["pub", &topic("ws"), "from-ws"]);
    let status = tokio::time::timeout(WAIT, publisher.wait()).await.unwrap();
    assert!(status.unwrap().success(), "PUBACK received");
    let got = watcher.message().await;
    assert_eq!(
        (got.topic, &got.payload[..]),
        (topic("ws"), &b"from-ws"[..])
    );
    watcher.nothing_more().await;
    assert_eq!(
        w.mqtt.stats().publishes,
        2,
        "the TCP and the WebSocket publish"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_key_over_websocket_gets_the_same_connack() {
    let w = World::start().await;
    let http = serve(w.t.app.routes()).await;
    let impostor = mqtt_support::Thing {
        id: w.a.id.clone(),
        key: w.b.key.clone(),
    };
    let mut child = paho(http, &impostor, &["sub", &w.topic(&w.ch, "#"), "1"]);
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    assert_eq!(
        line(&mut lines).await,
        "refused 4",
        "bad user name or password"
    );
    assert_eq!(w.mqtt.stats().connects_refused, 1);
}

const HANDSHAKE: &str = "GET /mqtt HTTP/1.1\r\nHost: test\r\nUpgrade: websocket\r\n\
    Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
    Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: mqtt\r\n\r\n";

/// Sends the handshake; the response head, lowercased.
async fn handshake(http: SocketAddr) -> (TcpStream, String) {
    let mut tcp = TcpStream::connect(http).await.unwrap();
    tcp.write_all(HANDSHAKE.as_bytes()).await.unwrap();
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        let mut byte = [0u8; 1];
        assert_eq!(tcp.read(&mut byte).await.unwrap(), 1, "response head");
        head.push(byte[0]);
    }
    (tcp, String::from_utf8_lossy(&head).to_lowercase())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_handshake_names_mqtt_and_a_text_frame_ends_the_connection() {
    let w = World::start().await;
    let http = serve(w.t.app.routes()).await;
    let (mut tcp, head) = handshake(http).await;
    assert!(head.starts_with("http/1.1 101"), "{head}");
    assert!(head.contains("sec-websocket-protocol: mqtt\r\n"), "{head}");
    // A masked text frame "hi": MQTT over WebSocket is binary only.
    let mask = [1u8, 2, 3, 4];
    let mut frame = vec![0x81, 0x80 | 2];
    frame.extend(mask);
    frame.extend(b"hi".iter().zip(mask).map(|(b, m)| b ^ m));
    tcp.write_all(&frame).await.unwrap();
    let mut answer = Vec::new();
    let read = tokio::time::timeout(WAIT, tcp.read_to_end(&mut answer)).await;
    assert!(read.is_ok(), "the server ends the connection");
    assert!(
        answer.is_empty() || answer[0] == 0x88,
        "a close frame or nothing: {answer:?}"
    );
    assert_eq!(w.mqtt.stats().connects, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_mqtt_listener_the_upgrade_is_unavailable() {
    let t = common::TestApp::start().await;
    let http = serve(t.app.routes()).await;
    let (_, head) = handshake(http).await;
    assert!(head.starts_with("http/1.1 503"), "{head}");
}
