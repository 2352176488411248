//! The WebSocket adapter on the real binary, with a real WebSocket client (tokio-tungstenite)
//! and a real MQTT client (rumqttc): what a socket publishes reaches every protocol once,
//! what any protocol publishes reaches the matching sockets once, and every handshake
//! refusal has its status. Limits, keep-alive, revocation and WSS: `websocket_limits.rs`.

mod process;
mod websocket_support;

use tokio_tungstenite::tungstenite::Message as Frame;
use websocket_support::{
    World, close_code, next_frame, next_text, nothing_more, open, refused_with, send_text,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_websocket_publish_reaches_mqtt_the_reader_and_every_socket_once() {
    let (w, _data) = World::start(&[]).await;
    let mut mqtt = w
        .mqtt_subscriber(&w.b, &format!("channels/{}/messages/#", w.ch))
        .await;
    // The publisher's socket (header auth, content type as a query parameter) and another
    // thing's socket under Mainflux 0.10's `/ws` prefix (query auth, a wildcard).
    let publisher_url = format!("{}?content-type=application%2Fsenml%2Bjson", w.url("/lab"));
    let mut publisher = w.open(&publisher_url, &w.a.key).await;
    let watcher_url = format!(
        "{}/ws/channels/{}/messages/%3E?authorization={}",
        w.ws(),
        w.ch,
        w.b.key
    );
    let mut watcher = open(&watcher_url, None).await.unwrap();

    let pack = r#"[{"bn":"ws:","n":"temp","u":"Cel","v":23.5}]"#;
    send_text(&mut publisher, pack).await;
    let (topic, payload) = mqtt.next().await;
    assert_eq!(topic, format!("channels/{}/messages/lab", w.ch));
    assert_eq!(payload, pack.as_bytes());
    assert_eq!(next_text(&mut watcher).await, pack);
    // Its own socket gets it back too, once: as Mainflux's adapter and MQTT 3.1.1 deliver.
    assert_eq!(next_text(&mut publisher).await, pack);
    mqtt.nothing_more().await;
    nothing_more(&mut watcher).await;
    nothing_more(&mut publisher).await;

    // Stored with its protocol and content type: the SenML was normalized.
    let url = format!("{}/channels/{}/messages?name=ws:temp", w.server.base, w.ch);
    let deadline = tokio::time::Instant::now() + websocket_support::WAIT;
    let page = loop {
        let page: serde_json::Value = w
            .user
            .http
            .get(&url)
            .header("authorization", format!("Thing {}", w.a.key))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if page["total"] == 1 || tokio::time::Instant::now() > deadline {
            break page;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    let record = &page["messages"][0];
    assert_eq!(record["protocol"], "websocket", "{page}");
    assert_eq!(record["subtopic"], "lab", "{page}");
    assert_eq!(record["publisher"], w.a.id.as_str(), "{page}");
    assert_eq!(record["value"], 23.5, "{page}");
    assert_eq!(w.metric("ws_published_total").await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_and_mqtt_publishes_reach_a_matching_socket_exactly_once() {
    let (w, _data) = World::start(&[]).await;
    let mut socket = w.open(&w.url("/lab/*"), &w.b.key).await;
    let mut exact = w.open(&w.url(""), &w.b.key).await;

    w.http_publish(&w.a.key, "/lab/bench", "text/plain", b"from-http".to_vec())
        .await;
    assert_eq!(next_text(&mut socket).await, "from-http");
    let (host, port) = w.server.mqtt.rsplit_once(':').unwrap();
    let mut options = rumqttc::MqttOptions::new("ws-pub", host, port.parse().unwrap());
    options.set_credentials(w.a.id.clone(), w.a.key.clone());
    let (client, mut events) = rumqttc::AsyncClient::new(options, 16);
    tokio::spawn(async move { while events.poll().await.is_ok() {} });
    let topic = |tail: &str| format!("channels/{}/messages{tail}", w.ch);
    client
        .publish(
            topic("/lab/desk"),
            rumqttc::QoS::AtLeastOnce,
            false,
            "from-mqtt",
        )
        .await
        .unwrap();
    assert_eq!(next_text(&mut socket).await, "from-mqtt");
    // Outside `lab/*`: one level too deep, one too shallow, another subtopic.
    for tail in ["/lab/a/b", "/lab", "/hall/a"] {
        w.http_publish(&w.a.key, tail, "text/plain", b"elsewhere".to_vec())
            .await;
    }
    nothing_more(&mut socket).await;
    // A socket without a subtopic gets only messages without one (Mainflux's `channel.<id>`).
    w.http_publish(&w.a.key, "", "text/plain", b"bare".to_vec())
        .await;
    assert_eq!(next_text(&mut exact).await, "bare");
    nothing_more(&mut exact).await;

    // CBOR (or any non-UTF-8 payload) arrives as a binary frame, bytes unchanged.
    let cbor = vec![0x81, 0xa2, 0x00, 0x61, 0x78, 0x02, 0xf9, 0x3c, 0x00];
    w.http_publish(&w.a.key, "/lab/c", "application/senml+cbor", cbor.clone())
        .await;
    match next_frame(&mut socket).await {
        Frame::Binary(bytes) => assert_eq!(bytes.to_vec(), cbor),
        other => panic!("expected binary, got {other:?}"),
    }
    nothing_more(&mut socket).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_refused_handshake_has_its_status_and_the_reader_keeps_its_path() {
    let (w, _data) = World::start(&[("FF_WS_MAX_SESSIONS", "2")]).await;
    let header = |key: &str| Some(format!("Thing {key}"));
    let cases = [
        // (path tail or full URL, authorization, status)
        (w.url("/a*"), header(&w.a.key), 400),
        (w.url("/a/%zz"), header(&w.a.key), 400),
        (
            format!("{}/channels/a%20b/messages", w.ws()),
            header(&w.a.key),
            400,
        ),
        (w.url("/%3E/a"), header(&w.a.key), 400),
        (w.url(""), None, 401),
        (w.url(""), header("not-a-key"), 401),
        (format!("{}?authorization=not-a-key", w.url("")), None, 401),
        (w.url(""), header(&w.c.key), 403),
        (
            format!("{}/channels/not-a-uuid/messages", w.ws()),
            header(&w.a.key),
            403,
        ),
        (
            format!("{}/channels/not-a-uuid/messages", w.ws()),
            header("not-a-key"),
            401,
        ),
    ];
    for (url, authorization, status) in &cases {
        assert_eq!(
            refused_with(url, authorization.as_deref()).await,
            *status,
            "{url}"
        );
    }

    // Accepted: a bare key in the header, and `Thing <key>` in the query.
    let mut bare = open(&w.url(""), Some(&w.a.key)).await.unwrap();
    let query = format!("{}?authorization=Thing%20{}", w.url(""), w.b.key);
    let mut queried = open(&query, None).await.unwrap();
    // FF_WS_MAX_SESSIONS=2: a third socket waits for a free slot (503, Retry-After).
    assert_eq!(
        refused_with(&w.url(""), header(&w.a.key).as_deref()).await,
        503
    );
    assert_eq!(w.metric("ws_sessions_refused_total").await, 1);
    assert_eq!(w.metric("ws_sessions").await, 2);
    send_text(&mut bare, "hello").await;
    assert_eq!(next_text(&mut queried).await, "hello");
    bare.close(None).await.unwrap();
    w.metric_reaches("ws_sessions_opened_total", 2).await;
    let deadline = tokio::time::Instant::now() + websocket_support::WAIT;
    while w.metric("ws_sessions").await > 1 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the closed session ends"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let _again = open(&w.url(""), Some(&w.a.key)).await.unwrap();

    // The same path without an upgrade is the reader API.
    let read = w
        .user
        .http
        .get(format!("{}/channels/{}/messages", w.server.base, w.ch))
        .header("authorization", format!("Thing {}", w.a.key))
        .send()
        .await
        .unwrap();
    assert_eq!(read.status(), 200);
    let page: serde_json::Value = read.json().await.unwrap();
    assert!(page["messages"].is_array(), "{page}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wildcard_socket_receives_but_a_frame_on_it_closes_it_with_1008() {
    let (w, _data) = World::start(&[]).await;
    let mut mqtt = w
        .mqtt_subscriber(&w.b, &format!("channels/{}/messages/#", w.ch))
        .await;
    let mut wildcard = w.open(&w.url("/lab/%3E"), &w.a.key).await;
    w.http_publish(&w.b.key, "/lab/x/y", "text/plain", b"deep".to_vec())
        .await;
    assert_eq!(next_text(&mut wildcard).await, "deep");
    assert_eq!(mqtt.next().await.1, b"deep");

    send_text(&mut wildcard, "where to?").await;
    assert_eq!(close_code(&mut wildcard).await, 1008);
    mqtt.nothing_more().await;
    assert_eq!(w.metric("ws_published_total").await, 0);
    assert_eq!(w.metric("ws_frames_refused_total").await, 1);

    // A frame over FF_MAX_PAYLOAD (default 256 KiB) ends its socket with 1009.
    let mut big = w.open(&w.url("/lab"), &w.a.key).await;
    send_text(&mut big, &"x".repeat(256 * 1024 + 1)).await;
    assert_eq!(close_code(&mut big).await, 1009);
    mqtt.nothing_more().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopping_server_closes_its_sockets_with_1001() {
    let (w, _data) = World::start(&[]).await;
    let mut socket = w.open(&w.url(""), &w.a.key).await;
    let closed = tokio::spawn(async move { close_code(&mut socket).await });
    let World { server, .. } = w;
    let (status, _) = tokio::task::spawn_blocking(move || server.terminate())
        .await
        .unwrap();
    assert!(status.success(), "{status}");
    assert_eq!(closed.await.unwrap(), 1001);
}
