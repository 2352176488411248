//! The WebSocket adapter's limits on the real binary: revocation closes sockets at once
//! (1008), a socket that does not read is dropped (1013) while a reading one keeps every
//! message, a socket that does not answer pings is dropped (1001), and WSS on the HTTPS
//! listener behaves as WS, with a key or a device certificate (mTLS).

mod process;
mod tls_support;
mod websocket_support;

use std::time::Duration;

use futures::StreamExt;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message as Frame;
use websocket_support::{World, close_code, next_text, nothing_more, refused_with, send_text};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn key_changes_disconnects_and_removals_close_sockets_with_1008() {
    let (w, _data) = World::start(&[]).await;
    let other = w
        .user
        .create("/channels", serde_json::json!({"name": "other"}))
        .await;
    w.user.connect(&other, &w.a.id).await;
    let other_url = format!("{}/channels/{other}/messages", w.ws());
    let mut a_here = w.open(&w.url(""), &w.a.key).await;
    let mut a_there = w.open(&other_url, &w.a.key).await;
    let mut b_here = w.open(&w.url(""), &w.b.key).await;

    // A key change closes every socket of that thing, on every channel, and only those.
    let new_key = format!("ws-new-key-{}", uuid::Uuid::new_v4());
    let changed = w
        .user
        .http
        .patch(format!("{}/things/{}/key", w.server.base, w.a.id))
        .bearer_auth(&w.user.token)
        .json(&serde_json::json!({"key": new_key}))
        .send()
        .await
        .unwrap();
    assert!(changed.status().is_success(), "key change");
    assert_eq!(close_code(&mut a_here).await, 1008);
    assert_eq!(close_code(&mut a_there).await, 1008);
    w.http_publish(&w.b.key, "", "text/plain", b"still here".to_vec())
        .await;
    assert_eq!(next_text(&mut b_here).await, "still here");
    assert_eq!(
        refused_with(&w.url(""), Some(&format!("Thing {}", w.a.key))).await,
        401
    );
    let mut a_again = w.open(&w.url(""), &new_key).await;

    // A disconnect closes the disconnected thing's sockets.
    let disconnected = w
        .user
        .http
        .delete(format!(
            "{}/channels/{}/things/{}",
            w.server.base, w.ch, w.b.id
        ))
        .bearer_auth(&w.user.token)
        .send()
        .await
        .unwrap();
    assert!(disconnected.status().is_success(), "disconnect");
    assert_eq!(close_code(&mut b_here).await, 1008);
    assert_eq!(
        refused_with(&w.url(""), Some(&format!("Thing {}", w.b.key))).await,
        403
    );

    // Removing the channel closes every socket on it; removing a thing closes its own.
    let mut a_there = w.open(&other_url, &new_key).await;
    w.user.connect(&other, &w.c.id).await;
    let mut c_there = w.open(&other_url, &w.c.key).await;
    let delete = |path: String| {
        let request = w.user.http.delete(format!("{}{path}", w.server.base));
        request.bearer_auth(&w.user.token).send()
    };
    assert!(
        delete(format!("/channels/{other}"))
            .await
            .unwrap()
            .status()
            .is_success()
    );
    assert_eq!(close_code(&mut c_there).await, 1008);
    assert_eq!(close_code(&mut a_there).await, 1008);
    send_text(&mut a_again, "alive").await;
    assert_eq!(next_text(&mut a_again).await, "alive");
    assert!(
        delete(format!("/things/{}", w.a.id))
            .await
            .unwrap()
            .status()
            .is_success()
    );
    assert_eq!(close_code(&mut a_again).await, 1008);
    assert_eq!(w.metric("ws_revoked_total").await, 6);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_socket_that_does_not_read_is_dropped_and_a_reading_one_gets_everything() {
    let env = [("FF_WS_MAX_QUEUE", "64"), ("FF_WS_PING_INTERVAL", "2")];
    let (w, _data) = World::start(&env).await;
    let mut slow = w.open(&w.url(""), &w.b.key).await;
    let fast = w.open(&w.url(""), &w.b.key).await;
    const MESSAGES: usize = 400;
    let reader = tokio::spawn(async move {
        let mut fast = fast;
        let mut seen = Vec::new();
        while seen.len() < MESSAGES {
            match fast.next().await {
                Some(Ok(Frame::Text(text))) => seen.push(text[..8].to_owned()),
                Some(Ok(_)) => {}
                other => panic!("the reading socket ended: {other:?}"),
            }
        }
        (seen, fast)
    });
    // 400 × 64 KiB: far more than the kernel buffers and the bus queue hold for a socket
    // that reads nothing.
    let filler = "x".repeat(64 * 1024 - 8);
    for n in 0..MESSAGES {
        let body = format!("{n:08}{filler}").into_bytes();
        w.http_publish(&w.a.key, "", "text/plain", body).await;
    }
    let (seen, mut fast) = tokio::time::timeout(Duration::from_secs(30), reader)
        .await
        .expect("the reading socket keeps up")
        .unwrap();
    let expected: Vec<String> = (0..MESSAGES).map(|n| format!("{n:08}")).collect();
    assert_eq!(seen, expected, "every message, in order, once");
    w.metric_reaches("ws_dropped_slow_total", 1).await;
    assert_eq!(w.metric("ws_dropped_slow_total").await, 1);
    // What the slow socket was sent before the drop, then the close frame.
    assert_eq!(close_code(&mut slow).await, 1013);
    w.http_publish(&w.a.key, "", "text/plain", b"after".to_vec())
        .await;
    assert_eq!(next_text(&mut fast).await, "after");
}

/// A handshake by hand, so nothing answers the server's pings.
async fn mute_socket(w: &World) -> TcpStream {
    let addr = w.server.base.trim_start_matches("http://").to_owned();
    let mut tcp = TcpStream::connect(&addr).await.unwrap();
    let request = format!(
        "GET /channels/{}/messages HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\n\
         Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
         Sec-WebSocket-Version: 13\r\nAuthorization: Thing {}\r\n\r\n",
        w.ch, w.a.key
    );
    tcp.write_all(request.as_bytes()).await.unwrap();
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        head.push(tcp.read_u8().await.unwrap());
    }
    assert!(
        head.starts_with(b"HTTP/1.1 101"),
        "{}",
        String::from_utf8_lossy(&head)
    );
    tcp
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_socket_that_does_not_answer_pings_is_dropped_with_1001() {
    let (w, _data) = World::start(&[("FF_WS_PING_INTERVAL", "1")]).await;
    let mut mute = mute_socket(&w).await;
    // A client that answers pings (tungstenite does, as long as it reads) from the start.
    let alive = w.open(&w.url(""), &w.b.key).await;
    let (frames_tx, mut frames) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        let mut alive = alive;
        while let Some(frame) = alive.next().await {
            let _ = frames_tx.send(frame.map_err(|e| e.to_string()));
        }
    });
    // The mute socket sees a ping, then (an interval later) the close, then the end.
    let mut bytes = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), mute.read_to_end(&mut bytes))
        .await
        .expect("the server ends the mute socket")
        .unwrap();
    let mut opcodes = Vec::new();
    let mut rest = &bytes[..];
    while rest.len() >= 2 {
        let (opcode, len) = (rest[0] & 0x0f, usize::from(rest[1] & 0x7f));
        assert!(len < 126, "short control frames only");
        opcodes.push(opcode);
        if opcode == 0x8 {
            assert_eq!(u16::from_be_bytes([rest[2], rest[3]]), 1001);
        }
        rest = &rest[2 + len..];
    }
    assert_eq!(opcodes, [0x9, 0x8], "a ping, then a close");
    // The answering client outlives several intervals, and still receives.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(w.metric("ws_dropped_no_pong_total").await, 1);
    w.http_publish(&w.a.key, "", "text/plain", b"still alive".to_vec())
        .await;
    let mut pings = 0;
    loop {
        let frame = tokio::time::timeout(websocket_support::WAIT, frames.recv()).await;
        match frame.expect("a frame in time").expect("the reader runs") {
            Ok(Frame::Ping(_)) => pings += 1,
            Ok(Frame::Text(text)) if text == "still alive" => break,
            other => panic!("the answering socket got {other:?}"),
        }
    }
    assert!(pings >= 3, "pinged every second: {pings}");
    assert_eq!(w.metric("ws_dropped_no_pong_total").await, 1);
}

type Wss = tokio_tungstenite::WebSocketStream<tokio_rustls::client::TlsStream<TcpStream>>;

/// A WebSocket over TLS to `wss://{https}{path}`, trusting `ca`, showing `identity` (a
/// device certificate) and sending `key` as `Authorization` when given.
async fn wss(
    (https, path): (&str, &str),
    ca: &std::path::Path,
    identity: Option<&(std::path::PathBuf, std::path::PathBuf)>,
    key: Option<&str>,
) -> Result<Wss, tokio_tungstenite::tungstenite::Error> {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let mut request = format!("wss://{https}{path}")
        .into_client_request()
        .unwrap();
    if let Some(key) = key {
        let value = format!("Thing {key}").parse().unwrap();
        request.headers_mut().insert("authorization", value);
    }
    let tls = tls_support::connect(https, ca, identity)
        .await
        .expect("TLS handshake");
    tokio_tungstenite::client_async(request, tls)
        .await
        .map(|(socket, _)| socket)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wss_on_the_https_listener_with_a_key_or_a_device_certificate() {
    let (dir, ca, cert, key) = tls_support::certified("ca");
    let devices = tls_support::make_ca(dir.path(), "devices-ca");
    let data = tempfile::tempdir().unwrap();
    let env = [
        ("FF_TLS_CERT", cert.to_str().unwrap()),
        ("FF_TLS_KEY", key.to_str().unwrap()),
        ("FF_TLS_CLIENT_CA", devices.0.to_str().unwrap()),
        ("FF_TLS_CLIENT_AUTH", "optional"),
        ("FF_HTTPS_ADDR", "127.0.0.1:0"),
        ("FF_MQTTS_ADDR", "127.0.0.1:0"),
    ];
    let server = process::Server::start_with(data.path(), &env);
    let https = tls_support::listening(&server, "HTTPS API listening on https://", "https://");
    let w = World::provision(server).await;
    let path = format!("/ws/channels/{}/messages/lab", w.ch);
    let at = (https.as_str(), path.as_str());

    // A key over WSS, as over WS; a device certificate whose CN is b's key, alone.
    let mut keyed = wss(at, &ca.0, None, Some(&w.a.key)).await.unwrap();
    let device_b = tls_support::make_device_cert(dir.path(), &devices, "b", &w.b.key);
    let mut certified = wss(at, &ca.0, Some(&device_b), None).await.unwrap();
    let mut plain = w.open(&w.url("/lab"), &w.b.key).await;
    send_text(&mut keyed, "over-wss").await;
    assert_eq!(next_text(&mut plain).await, "over-wss");
    assert_eq!(next_text(&mut certified).await, "over-wss");
    assert_eq!(next_text(&mut keyed).await, "over-wss");
    send_text(&mut certified, "by-certificate").await;
    assert_eq!(next_text(&mut keyed).await, "by-certificate");
    nothing_more(&mut keyed).await;

    // A key sent beside the certificate must be the certificate's.
    let borrowed = wss(at, &ca.0, Some(&device_b), Some(&w.a.key)).await;
    match borrowed {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), 401)
        }
        other => panic!(
            "another thing's key behind b's certificate: {:?}",
            other.map(drop)
        ),
    }
    let same = wss(at, &ca.0, Some(&device_b), Some(&w.b.key)).await;
    assert!(same.is_ok(), "the certificate's own key beside it");
}
