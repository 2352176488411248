//! `kill -9` of a running server while messages keep coming: what it had saved of the
//! telemetry is all there after a restart, and the stored count a read without filters
//! answers agrees with a walk of the records.

mod process;

use std::time::{Duration, Instant};

use process::{Server, get_json};
use serde_json::{Value, json};

const MESSAGES: u64 = 300;

/// A user, a thing with a known key and a channel, connected: (token, channel, key).
async fn provision(base: &str) -> (String, String, String) {
    let http = reqwest::Client::new();
    let credentials = json!({"email": "kill9@example.com", "password": "correct-horse"});
    let send = |request: reqwest::RequestBuilder| async move {
        let response = request.send().await.expect("request");
        assert!(response.status().is_success(), "{}", response.status());
        response
    };
    send(http.post(format!("{base}/users")).json(&credentials)).await;
    let token: Value = send(http.post(format!("{base}/tokens")).json(&credentials))
        .await
        .json()
        .await
        .unwrap();
    let token = token["token"].as_str().unwrap().to_owned();
    let created = |path: &'static str, body: Value| {
        let request = http
            .post(format!("{base}{path}"))
            .bearer_auth(&token)
            .json(&body);
        async move {
            let response = send(request).await;
            let location = response.headers()["location"].to_str().unwrap();
            location.rsplit('/').next().unwrap().to_owned()
        }
    };
    let key = "kill-nine-device-key".to_owned();
    let thing = created("/things", json!({"key": key})).await;
    let channel = created("/channels", json!({})).await;
    send(
        http.put(format!("{base}/channels/{channel}/things/{thing}"))
            .bearer_auth(&token),
    )
    .await;
    (token, channel, key)
}

/// `ferroflux_telemetry_records_stored_total`.
async fn stored(base: &str) -> u64 {
    let text = reqwest::get(format!("{base}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix("ferroflux_telemetry_records_stored_total "))
        .expect("metric")
        .parse()
        .unwrap()
}

async fn total(base: &str, channel: &str, token: &str, filter: &str) -> u64 {
    let url = format!("{base}/channels/{channel}/messages?limit=1{filter}");
    get_json(&url, token).await["total"]
        .as_u64()
        .expect("total")
}

/// Publishes numbered messages until the server stops answering.
async fn publish_until_gone(base: String, channel: String, key: String) {
    let http = reqwest::Client::new();
    for n in 0.. {
        let sent = http
            .post(format!("{base}/channels/{channel}/messages"))
            .header("authorization", format!("Thing {key}"))
            .body(format!("{{\"n\":{n}}}"))
            .send()
            .await;
        match sent {
            Ok(response) => assert_eq!(response.status(), 202),
            Err(_) => return,
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn what_was_saved_survives_kill_9_mid_stream_and_its_count_agrees() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = Server::start(dir.path());
    let (token, channel, key) = provision(&server.base).await;
    let publisher = tokio::spawn(publish_until_gone(
        server.base.clone(),
        channel.clone(),
        key,
    ));
    let deadline = Instant::now() + Duration::from_secs(10);
    let saved = loop {
        let saved = stored(&server.base).await;
        if saved >= MESSAGES {
            break saved;
        }
        assert!(Instant::now() < deadline, "{saved} saved");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    // SIGKILL while messages keep coming: no drain, no flush, maybe a batch half-written.
    server.child.kill().unwrap();
    server.child.wait().unwrap();
    publisher.await.unwrap();
    drop(server);

    let server = Server::start(dir.path());
    let counted = total(&server.base, &channel, &token, "").await;
    let walked = total(&server.base, &channel, &token, "&from=0").await;
    assert_eq!(counted, walked, "the stored count agrees with the records");
    assert!(
        counted >= saved,
        "saved {saved} before the kill, {counted} after"
    );
    let (status, _) = server.terminate();
    assert!(status.success());
}
