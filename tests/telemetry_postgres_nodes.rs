//! The binary with its telemetry in PostgreSQL (`FF_TELEMETRY=postgres://…`): what is
//! published is read back through the reader API and sits in Mainflux's `messages` table;
//! two nodes on one table store each message once; a bad setting stops the start.

mod cluster_support;
mod process;
mod relay_support;

use std::time::Duration;

use cluster_support::*;
use process::{Server, assert_refused_at_start, config_output};
use projections::views::postgres::ScratchDatabase;
use serde_json::json;
use sqlx::{Connection, PgConnection, Row};
use uuid::Uuid;

async fn fresh_database() -> ScratchDatabase {
    let server = commands::test_services::postgres_url();
    ScratchDatabase::create(&server, "ff_telemetry")
        .await
        .expect("test database")
}

/// Rows of `channel` in `messages`, read as a third-party SQL client would.
async fn rows(url: &str, channel: &str) -> Vec<(String, Option<f64>, Option<String>)> {
    let mut db = PgConnection::connect(url).await.expect("connect");
    let channel: Uuid = channel.parse().expect("channel id");
    sqlx::query("SELECT name, value, protocol FROM messages WHERE channel = $1 ORDER BY seq")
        .bind(channel)
        .fetch_all(&mut db)
        .await
        .expect("select")
        .iter()
        .map(|row| (row.get("name"), row.get("value"), row.get("protocol")))
        .collect()
}

/// A user, a channel and a thing on it, all through `base`: `(token, channel, key)`.
async fn provision(base: &str) -> (String, String, String) {
    let token = user(base, base).await;
    let (_, _, channel) = call(
        "POST",
        format!("{base}/channels"),
        Some(&token),
        Some(json!({})),
    )
    .await;
    let key = format!("key-{}", Uuid::new_v4());
    let (status, _, thing) = call(
        "POST",
        format!("{base}/things"),
        Some(&token),
        Some(json!({"key": key})),
    )
    .await;
    assert_eq!(status, 201);
    let connect = format!("{base}/channels/{channel}/things/{thing}");
    assert_eq!(call("PUT", connect, Some(&token), None).await.0, 200);
    (token, channel, key)
}

/// Publishes one SenML measurement over HTTP.
async fn send(base: &str, channel: &str, key: &str, name: &str, value: f64) -> u16 {
    reqwest::Client::new()
        .post(format!("{base}/channels/{channel}/messages"))
        .header("authorization", format!("Thing {key}"))
        .header("content-type", "application/senml+json")
        .body(json!([{"n": name, "v": value}]).to_string())
        .send()
        .await
        .expect("publish")
        .status()
        .as_u16()
}

/// The reader's total for `channel` through `base`, once it reaches `want`.
async fn read_total(base: &str, channel: &str, key: &str, want: u64) {
    let url = format!("{base}/channels/{channel}/messages?limit=100");
    let auth = format!("Thing {key}");
    eventually("the reader's total", || async {
        let (_, page, _) = call("GET", url.clone(), Some(&auth), None).await;
        (page["total"].as_u64() == Some(want)).then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn published_senml_is_read_back_and_sits_in_the_messages_table() {
    let database = fresh_database().await;
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_with(dir.path(), &[("FF_TELEMETRY", &database.url)]);
    let (_, channel, key) = provision(&server.base).await;
    assert_eq!(send(&server.base, &channel, &key, "temp", 21.5).await, 202);
    assert_eq!(send(&server.base, &channel, &key, "hum", 40.0).await, 202);
    read_total(&server.base, &channel, &key, 2).await;
    let url = format!("{}/channels/{channel}/messages?name=temp", server.base);
    let (_, page, _) = call("GET", url, Some(&format!("Thing {key}")), None).await;
    assert_eq!(
        (page["total"].as_u64(), &page["messages"][0]["value"]),
        (Some(1), &json!(21.5))
    );
    assert_eq!(
        rows(&database.url, &channel).await,
        [
            ("temp".into(), Some(21.5), Some("http".into())),
            ("hum".into(), Some(40.0), Some("http".into()))
        ]
    );
    // Nothing lives in the data dir's telemetry store instead.
    assert!(!dir.path().join("telemetry").exists());
}

/// The database going away: the reader answers 503 (not 500), and reads again once it is
/// back; a message published meanwhile is stored then.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_outage_is_503_for_the_reader_and_loses_no_message() {
    use relay_support::{Relay, through, upstream};

    let database = fresh_database().await;
    let relay = Relay::start(upstream(&database.url)).await;
    let dir = tempfile::tempdir().unwrap();
    let telemetry = through(&database.url, relay.addr);
    let server = Server::start_with(dir.path(), &[("FF_TELEMETRY", telemetry.as_str())]);
    let (_, channel, key) = provision(&server.base).await;
    let reader = format!("{}/channels/{channel}/messages", server.base);
    let auth = format!("Thing {key}");
    assert_eq!(send(&server.base, &channel, &key, "before", 1.0).await, 202);
    read_total(&server.base, &channel, &key, 1).await;
    relay.cut();
    let (status, body, _) = call("GET", reader.clone(), Some(&auth), None).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(
        body["error"],
        "the telemetry store is unavailable; retry later"
    );
    assert_eq!(send(&server.base, &channel, &key, "during", 2.0).await, 202);
    relay.restore();
    read_total(&server.base, &channel, &key, 2).await;
}

/// Each node stores the messages it accepted, none relayed from the other: every message
/// is in the table once, and both readers see all of them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_on_one_table_store_each_message_once() {
    let database = fresh_database().await;
    let mut cluster = Cluster::new();
    cluster
        .env
        .push(("FF_TELEMETRY".into(), database.url.clone()));
    let (one, two) = (cluster.start("one"), cluster.start("two"));
    let (_, channel, key) = provision(&one.base).await;
    until("the key on node two", 202, || {
        send(&two.base, &channel, &key, "probe", 0.0)
    })
    .await;
    for n in 1..=3 {
        assert_eq!(
            send(&one.base, &channel, &key, "on-one", f64::from(n)).await,
            202
        );
    }
    for n in 1..=2 {
        assert_eq!(
            send(&two.base, &channel, &key, "on-two", f64::from(n)).await,
            202
        );
    }
    // Five, plus the probes node two accepted (at least one).
    let probes = || async {
        let stored = rows(&database.url, &channel).await;
        let probes = stored.iter().filter(|(name, ..)| name == "probe").count();
        (stored.len() == 5 + probes).then_some(stored.len())
    };
    let (stored, _) = eventually("every message in the table", probes).await;
    // Long past the writers' linger: a second copy would have landed by now.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(rows(&database.url, &channel).await.len(), stored);
    for node in [&one, &two] {
        read_total(&node.base, &channel, &key, stored as u64).await;
    }
}

#[test]
fn a_bad_or_unreachable_telemetry_database_stops_the_start_with_one_line() {
    let dir = tempfile::tempdir().unwrap();
    for url in [
        "postgres://ff:secret@127.0.0.1:1/telemetry",
        "influx://ff:secret@127.0.0.1/telemetry",
    ] {
        assert_refused_at_start(dir.path(), "FF_TELEMETRY", url, "secret");
    }
}

#[test]
fn config_shows_the_telemetry_url_with_the_password_masked() {
    let dir = tempfile::tempdir().unwrap();
    let url = "postgres://ff:hunter2@db.example.com/telemetry";
    let stdout = config_output(dir.path(), &[("FF_TELEMETRY", url)], &[]);
    assert!(
        stdout.contains("FF_TELEMETRY=postgres://ff:****@db.example.com/telemetry"),
        "{stdout}"
    );
    assert!(!stdout.contains("hunter2"), "{stdout}");
    let default = config_output(dir.path(), &[], &["FF_TELEMETRY"]);
    assert!(default.contains("FF_TELEMETRY=fjall"), "{default}");
}
