//! `mainflux.bootstrap` from the real binary (`FF_FEEDS`), read by a third-party consumer
//! (`tests/feeds_consumer.py`) in a consumer group, as Mainflux's consumers read it: an
//! operator's and a device's whole bootstrap path gives Mainflux's operations and fields,
//! in order, no secret; a restart writes nothing twice and the stream is exactly the log's
//! bootstrap events.

mod feeds_support;
mod process;

use std::process::Command;

use commands::test_services::redis_url;
use feeds_support::{Fields, check_for, cleanup, consume, position, prefix};
use process::{BIN, Server, User};
use reqwest::StatusCode;
use serde_json::{Value, json};

const EXTERNAL_KEY: &str = "factory-secret-ext-key";
const WRONG_KEY: &str = "a-key-some-device-tried";
const CLIENT_KEY: &str = "PRIVATE-CLIENT-KEY-PEM";

/// One call of the path: method, path, raw `Authorization` (else the user's token), body,
/// the status it must answer.
type Step<'a> = (&'a str, String, Option<&'a str>, Option<Value>, StatusCode);

/// `method path` with the user's token (or `auth` as the raw `Authorization`); its status.
async fn call(
    user: &User,
    method: &str,
    path: &str,
    auth: Option<&str>,
    body: Option<Value>,
) -> StatusCode {
    let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let mut request = user.http.request(method, format!("{}{path}", user.base));
    request = match auth {
        Some(key) => request.header("authorization", key),
        None => request.bearer_auth(&user.token),
    };
    if let Some(body) = body {
        request = request.json(&body);
    }
    request.send().await.unwrap().status()
}

fn entry(pairs: &[(&str, &str)]) -> Fields {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// Positions and types of the bootstrap events, from `ferroflux events` on the stopped
/// server.
fn bootstrap_history(dir: &std::path::Path) -> Vec<(String, String)> {
    let kinds = [
        "config.create",
        "config.update",
        "config.remove",
        "thing.bootstrap",
        "thing.state_change",
        "thing.update_connections",
    ];
    let output = Command::new(BIN)
        .arg("events")
        .env("FF_DATA_DIR", dir)
        .output()
        .unwrap();
    assert!(output.status.success());
    String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str::<Value>(line).unwrap())
        .filter(|event| kinds.contains(&event["type"].as_str().unwrap()))
        .map(|event| {
            let id = format!("{}-0", event["position"].as_u64().unwrap());
            (id, event["type"].as_str().unwrap().to_owned())
        })
        .collect()
}

/// Polls `/metrics` until `name` reads `value` (a counter moves just after its XADD).
async fn wait_for_metric(base: &str, name: &str, value: &str) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let text = reqwest::get(format!("{base}/metrics"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        if text.lines().any(|l| l == format!("{name} {value}")) {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{name} {value} in\n{text}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mainflux_consumer_reads_every_bootstrap_event_once_without_secrets() {
    let (url, prefix) = (redis_url(), prefix());
    let key = format!("{prefix}mainflux.bootstrap");
    let dir = tempfile::tempdir().unwrap();
    let env = [
        ("FF_FEEDS", url.as_str()),
        ("FF_FEEDS_PREFIX", prefix.as_str()),
    ];
    let server = Server::start_with(dir.path(), &env);
    let email = "bootfeed@example.com";
    let user = User::register(&server.base, email).await;
    let thing = user.create("/things", json!({"name": "dev"})).await;
    let c0 = user.create("/channels", json!({"name": "data"})).await;
    let c1 = user.create("/channels", json!({"name": "control"})).await;
    let config = json!({
        "thing_id": thing, "external_id": "serial-1", "external_key": EXTERNAL_KEY,
        "channels": [c0], "name": "gw", "content": "{\"a\":1}",
        "client_cert": "CERT", "client_key": CLIENT_KEY, "ca_cert": "CA"
    });
    let steps: [Step; 10] = [
        (
            "POST",
            "/things/configs".into(),
            None,
            Some(config),
            StatusCode::CREATED,
        ),
        (
            "GET",
            "/things/bootstrap/serial-1".into(),
            Some(WRONG_KEY),
            None,
            StatusCode::NOT_FOUND,
        ),
        (
            "GET",
            "/things/bootstrap/serial-9".into(),
            Some(EXTERNAL_KEY),
            None,
            StatusCode::NOT_FOUND,
        ),
        (
            "GET",
            "/things/bootstrap/serial-1".into(),
            Some(EXTERNAL_KEY),
            None,
            StatusCode::OK,
        ),
        (
            "PUT",
            format!("/things/state/{thing}"),
            None,
            Some(json!({"state": 1})),
            StatusCode::OK,
        ),
        (
            "PUT",
            format!("/things/configs/connections/{thing}"),
            None,
            Some(json!({"channels": [c0, c1]})),
            StatusCode::OK,
        ),
        (
            "PUT",
            format!("/things/configs/{thing}"),
            None,
            Some(json!({"name": "gw2", "content": ""})),
            StatusCode::OK,
        ),
        (
            "PATCH",
            format!("/things/configs/certs/{thing}"),
            None,
            Some(json!({"client_cert": "C2", "client_key": CLIENT_KEY, "ca_cert": "CA2"})),
            StatusCode::OK,
        ),
        (
            "PUT",
            format!("/things/state/{thing}"),
            None,
            Some(json!({"state": 0})),
            StatusCode::OK,
        ),
        (
            "DELETE",
            format!("/things/configs/{thing}"),
            None,
            None,
            StatusCode::NO_CONTENT,
        ),
    ];
    for (method, path, auth, body, status) in steps {
        assert_eq!(
            call(&user, method, &path, auth, body).await,
            status,
            "{method} {path}"
        );
    }

    let t = thing.as_str();
    let both = format!("{c0}, {c1}");
    let want = [
        entry(&[
            ("operation", "config.create"),
            ("thing_id", t),
            ("owner", email),
            ("name", "gw"),
            ("channels", &c0),
            ("external_id", "serial-1"),
            ("content", "{\"a\":1}"),
        ]),
        entry(&[
            ("operation", "thing.bootstrap"),
            ("external_id", "serial-1"),
            ("success", "0"),
        ]),
        entry(&[
            ("operation", "thing.bootstrap"),
            ("external_id", "serial-9"),
            ("success", "0"),
        ]),
        entry(&[
            ("operation", "thing.bootstrap"),
            ("external_id", "serial-1"),
            ("success", "1"),
        ]),
        entry(&[
            ("operation", "thing.state_change"),
            ("thing_id", t),
            ("state", "1"),
        ]),
        entry(&[
            ("operation", "thing.update_connections"),
            ("thing_id", t),
            ("channels", &both),
        ]),
        entry(&[
            ("operation", "config.update"),
            ("thing_id", t),
            ("name", "gw2"),
            ("content", ""),
        ]),
        entry(&[
            ("operation", "thing.state_change"),
            ("thing_id", t),
            ("state", "0"),
        ]),
        entry(&[("operation", "config.remove"), ("thing_id", t)]),
    ];
    check_for("every bootstrap entry", || {
        (consume(&url, &key, None).len() >= want.len()).then_some(())
    })
    .await;
    // Consumed as Mainflux's consumers do: a consumer group, every entry once.
    let entries = consume(&url, &key, Some("provision"));
    let ids: Vec<u64> = entries.iter().map(|(id, _)| position(id)).collect();
    assert!(
        ids.windows(2).all(|w| w[0] < w[1]),
        "increasing ids: {ids:?}"
    );
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let mut seen = Vec::new();
    for (_, mut fields) in entries {
        let at: u64 = fields
            .remove("timestamp")
            .expect("timestamp")
            .parse()
            .expect("Unix seconds");
        assert!(at.abs_diff(now) < 60, "{at}");
        for value in fields.values() {
            for secret in [EXTERNAL_KEY, WRONG_KEY, CLIENT_KEY, "CERT", "CA2"] {
                assert!(!value.contains(secret), "{secret} in {fields:?}");
            }
        }
        seen.push(fields);
    }
    // Fetches are recorded right after their answer, so they may land after the command
    // that followed them: each kind keeps its own order.
    let fetches = |entries: &[Fields], wanted: bool| -> Vec<_> {
        entries
            .iter()
            .filter(|e| (e["operation"] == "thing.bootstrap") == wanted)
            .cloned()
            .collect()
    };
    assert_eq!(fetches(&seen, true), fetches(&want, true));
    assert_eq!(fetches(&seen, false), fetches(&want, false));
    assert!(consume(&url, &key, Some("provision")).is_empty());
    wait_for_metric(&server.base, "ferroflux_feeds_bootstrap_written_total", "9").await;

    // A restart replays the log: nothing is written twice, and new events go on top.
    let (status, _) = server.terminate();
    assert!(status.success());
    let server = Server::start_with(dir.path(), &env);
    assert_eq!(
        call(
            &user_at(&user, &server.base),
            "GET",
            "/things/bootstrap/serial-1",
            Some(EXTERNAL_KEY),
            None
        )
        .await,
        StatusCode::NOT_FOUND
    );
    check_for("the restarted node's one entry", || {
        (consume(&url, &key, None).len() > want.len()).then_some(())
    })
    .await;
    // The restarted node wrote only the new fetch.
    wait_for_metric(&server.base, "ferroflux_feeds_bootstrap_written_total", "1").await;
    let (status, _) = server.terminate();
    assert!(status.success());
    let seen: Vec<(String, String)> = consume(&url, &key, None)
        .into_iter()
        .map(|(id, fields)| (id, fields["operation"].clone()))
        .collect();
    assert_eq!(seen, bootstrap_history(dir.path()));
    assert_eq!(seen.len(), want.len() + 1);
    cleanup(&url, &prefix);
}

/// The same user's client against another server address (the token survives a restart).
fn user_at(user: &User, base: &str) -> User {
    User {
        http: user.http.clone(),
        base: base.to_owned(),
        token: user.token.clone(),
    }
}
