//! CoAP end to end: the real binary, and libcoap's command-line client (`coap-client-notls`,
//! Debian `libcoap3-bin`) as a separate process publishing and observing.

mod process;

use std::process::Stdio;
use std::time::Duration;

use process::{Server, User};
use serde_json::{Value, json};
use tokio::process::Command;

const CLIENT: &str = "coap-client-notls";

struct Device {
    user: User,
    channel: String,
    key: String,
}

/// A thing connected to a channel on a running server.
async fn device(server: &Server) -> Device {
    let user = User::register(&server.base, "coap@example.com").await;
    let thing = user.create("/things", json!({"name": "sensor"})).await;
    let channel = user.create("/channels", json!({"name": "lab"})).await;
    user.connect(&channel, &thing).await;
    let thing: Value =
        process::get_json(&format!("{}/things/{thing}", server.base), &user.token).await;
    let key = thing["key"].as_str().expect("key").to_owned();
    Device { user, channel, key }
}

/// Runs the client to the end (at most 20 s); its stdout and stderr.
async fn coap_client(args: &[&str]) -> (String, String) {
    let child = Command::new(CLIENT)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|e| panic!("{CLIENT} (Debian libcoap3-bin, scripts/install-deps): {e}"));
    let output = tokio::time::timeout(Duration::from_secs(20), child.wait_with_output())
        .await
        .expect("the client ends")
        .expect("client output");
    let text = |bytes: Vec<u8>| String::from_utf8_lossy(&bytes).into_owned();
    (text(output.stdout), text(output.stderr))
}

/// The stored messages of the device's channel, read with its key.
async fn stored(server: &Server, device: &Device) -> Value {
    let url = format!("{}/channels/{}/messages", server.base, device.channel);
    let response = device
        .user
        .http
        .get(url)
        .header("authorization", format!("Thing {}", device.key));
    response.send().await.unwrap().json().await.unwrap()
}

async fn metric(server: &Server, name: &str) -> u64 {
    let text = reqwest::get(format!("{}/metrics", server.base))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .find_map(|line| line.strip_prefix(&format!("ferroflux_{name} ")))
        .and_then(|value| value.parse().ok())
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn libcoap_publishes_senml_that_is_stored_as_coap_and_a_wrong_key_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let d = device(&server).await;
    let url = format!(
        "coap://{}/channels/{}/messages/lab?auth={}",
        server.coap, d.channel, d.key
    );
    coap_client(&[
        "-m",
        "post",
        "-t",
        "110",
        "-e",
        r#"[{"n":"temp","u":"Cel","v":21.5}]"#,
        &url,
    ])
    .await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    let page = loop {
        let page = stored(&server, &d).await;
        if page["total"] == 1 || tokio::time::Instant::now() > deadline {
            break page;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let message = &page["messages"][0];
    assert_eq!(
        (&message["protocol"], &message["name"], &message["value"]),
        (&json!("coap"), &json!("temp"), &json!(21.5)),
        "{page}"
    );
    assert_eq!(message["subtopic"], "lab");

    let wrong = format!(
        "coap://{}/channels/{}/messages?auth=wrong",
        server.coap, d.channel
    );
    let (_, stderr) = coap_client(&["-m", "post", "-e", "x", &wrong]).await;
    assert!(stderr.contains("4.01"), "{stderr}");
    assert_eq!(metric(&server, "coap_publishes_total").await, 1);
    assert_eq!(metric(&server, "coap_refused_total").await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn libcoap_observes_a_message_published_over_http_and_the_server_stops_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let d = device(&server).await;
    let url = format!(
        "coap://{}/channels/{}/messages/lab?auth={}",
        server.coap, d.channel, d.key
    );
    let observer = tokio::spawn(async move { coap_client(&["-m", "get", "-s", "4", &url]).await });
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while metric(&server, "coap_observers").await == 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the observer registers"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let published = d
        .user
        .http
        .post(format!(
            "{}/channels/{}/messages/lab",
            server.base, d.channel
        ))
        .header("authorization", format!("Thing {}", d.key))
        .header("content-type", "application/senml+json")
        .body(r#"[{"n":"from-http","v":1}]"#)
        .send()
        .await
        .unwrap();
    assert_eq!(published.status(), 202);
    let (stdout, stderr) = observer.await.unwrap();
    assert_eq!(
        stdout.matches(r#"[{"n":"from-http","v":1}]"#).count(),
        1,
        "stdout: {stdout}\nstderr: {stderr}"
    );
    assert_eq!(metric(&server, "coap_notifications_total").await, 1);

    let (status, log) = server.terminate();
    assert!(status.success(), "{log}");
    assert!(log.contains("stopped cleanly"), "{log}");
}
