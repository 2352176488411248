//! The `ferroflux` binary as an operator meets it: started as a process on port 0, driven
//! over real HTTP, stopped with SIGTERM; `events`, `replay --verify` and `config` run as
//! separate processes; bad configuration fails with one clear line.

mod process;

use std::io::{BufRead, BufReader};
use std::process::{Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use process::{Server, ferroflux, get_json};
use serde_json::{Value, json};

async fn provision(base: &str) -> String {
    let http = reqwest::Client::new();
    let credentials = json!({"email": "op@example.com", "password": "correct-horse"});
    let created = http
        .post(format!("{base}/users"))
        .json(&credentials)
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let login = http
        .post(format!("{base}/tokens"))
        .json(&credentials)
        .send()
        .await
        .unwrap();
    let token: Value = login.json().await.unwrap();
    let token = token["token"].as_str().unwrap().to_owned();
    let thing = http
        .post(format!("{base}/things"))
        .bearer_auth(&token)
        .json(&json!({"name": "t1"}))
        .send()
        .await
        .unwrap();
    assert_eq!(thing.status(), 201);
    token
}

fn events_lines(output: &Output) -> Vec<Value> {
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|line| serde_json::from_str(line).expect("NDJSON line"))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn serve_events_follow_sigterm_and_verify() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let token = provision(&server.base).await;
    let addr = server.base.trim_start_matches("http://").to_owned();

    // The server holds the data dir: `events` reads through it, with the admin token.
    let history = ferroflux(dir.path())
        .env("FF_HTTP_ADDR", &addr)
        .arg("events")
        .output()
        .unwrap();
    let kinds: Vec<_> = events_lines(&history)
        .iter()
        .map(|e| e["type"].clone())
        .collect();
    assert_eq!(kinds, [json!("user.register"), json!("thing.create")]);

    // `--follow` sees an event appended after it started.
    let mut follow = ferroflux(dir.path())
        .env("FF_HTTP_ADDR", &addr)
        .args(["events", "--follow", "--from", "2"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let channel = reqwest::Client::new()
        .post(format!("{}/channels", server.base))
        .bearer_auth(&token)
        .json(&json!({"name": "c1"}))
        .send()
        .await
        .unwrap();
    assert_eq!(channel.status(), 201);
    let mut followed = String::new();
    BufReader::new(follow.stdout.take().unwrap())
        .read_line(&mut followed)
        .unwrap();
    let followed: Value = serde_json::from_str(&followed).unwrap();
    assert_eq!(
        (followed["type"].as_str(), followed["position"].as_u64()),
        (Some("channel.create"), Some(3))
    );
    follow.kill().unwrap();
    let _ = follow.wait();

    let (status, log) = server.terminate();
    assert!(status.success(), "SIGTERM exits 0: {status:?}\n{log}");
    assert!(log.contains("stopped cleanly"), "{log}");

    // Stopped: the data dir is read directly, and a rebuild matches the live path.
    let direct = ferroflux(dir.path())
        .args(["events", "--from", "1"])
        .output()
        .unwrap();
    assert_eq!(events_lines(&direct).len(), 2);
    let verify = ferroflux(dir.path())
        .args(["replay", "--verify"])
        .output()
        .unwrap();
    assert!(
        verify.status.success(),
        "{}",
        String::from_utf8_lossy(&verify.stderr)
    );
    assert!(String::from_utf8_lossy(&verify.stdout).contains("verified"));
}

/// `events --feed mqtt` prints MQTT connects as they happen, from the running server.
#[tokio::test(flavor = "multi_thread")]
async fn events_feed_mqtt_prints_presence() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let token = provision(&server.base).await;
    let things = get_json(&format!("{}/things", server.base), &token).await;
    let (id, key) = (&things["things"][0]["id"], &things["things"][0]["key"]);
    let (id, key) = (id.as_str().unwrap(), key.as_str().unwrap());
    let mut feed = ferroflux(dir.path())
        .env("FF_HTTP_ADDR", server.base.trim_start_matches("http://"))
        .args(["events", "--feed", "mqtt"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, lines) = mpsc::channel();
    let stdout = BufReader::new(feed.stdout.take().unwrap());
    std::thread::spawn(move || {
        stdout
            .lines()
            .map_while(Result::ok)
            .for_each(|l| drop(tx.send(l)))
    });
    // The feed is live only: connect until the reader, started concurrently, sees a
    // whole session.
    let (host, port) = server.mqtt.rsplit_once(':').unwrap();
    let line = (0..50)
        .find_map(|_| {
            let published = Command::new("mosquitto_pub")
                .args([
                    "-h",
                    host,
                    "-p",
                    port,
                    "-i",
                    "cli-presence",
                    "-u",
                    id,
                    "-P",
                    key,
                ])
                .args(["-t", "nowhere", "-n"])
                .output();
            assert!(published.is_ok(), "mosquitto_pub runs");
            lines
                .recv_timeout(Duration::from_millis(200))
                .ok()
                .filter(|line| line.contains("\"connect\""))
        })
        .expect("a presence line");
    let event: Value = serde_json::from_str(&line).unwrap();
    assert_eq!(event["thing_id"], id);
    assert_eq!(event["event_type"], "connect");
    assert_eq!(event["instance"], "node-a");
    // A live feed never ends on its own; SIGTERM still stops the server (after a bounded
    // drain), and the feed's reader ends with it.
    let (status, log) = server.terminate();
    assert!(status.success(), "{log}");
    assert!(log.contains("stopped cleanly"), "{log}");
    let _ = feed.wait();
}

fn fails_with(output: Output, needle: &str) {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains(needle), "expected {needle:?} in: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn a_port_in_use_is_one_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let output = ferroflux(dir.path())
        .env("FF_HTTP_ADDR", &addr)
        .arg("serve")
        .output()
        .unwrap();
    fails_with(output, &format!("cannot listen for HTTP on {addr}"));
}

#[test]
fn a_queue_byte_limit_below_the_payload_limit_is_one_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let output = ferroflux(dir.path())
        .env("FF_MAX_PAYLOAD", "1000")
        .env("FF_MQTT_MAX_QUEUE_BYTES", "999")
        .arg("serve")
        .output()
        .unwrap();
    fails_with(
        output,
        "FF_MQTT_MAX_QUEUE_BYTES (999) must be at least FF_MAX_PAYLOAD (1000)",
    );
}

#[test]
fn an_unwritable_data_dir_is_one_clear_error() {
    let file = tempfile::NamedTempFile::new().unwrap();
    let output = ferroflux(&file.path().join("data"))
        .arg("serve")
        .output()
        .unwrap();
    fails_with(output, "is not writable");
}

#[test]
fn a_data_dir_in_use_is_one_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let output = ferroflux(dir.path()).arg("serve").output().unwrap();
    fails_with(output, "is another ferroflux using this data dir?");
    let (status, _) = server.terminate();
    assert!(status.success());
}

#[test]
fn config_prints_effective_values_with_secrets_masked() {
    let dir = tempfile::tempdir().unwrap();
    let output = ferroflux(dir.path())
        .env("FF_JWT_SECRET", "do-not-print-me")
        .env("FF_HTTP_ADDR", "127.0.0.1:9999")
        .env("FF_SMTP_URL", "smtp://mail.example.com:2525")
        .env("FF_RESET_ORIGINS", "https://ui.example.com")
        .env("FF_SMTP_PASSWORD", "no-smtp-password-either")
        .arg("config")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success());
    assert!(stdout.contains("FF_HTTP_ADDR=127.0.0.1:9999"), "{stdout}");
    assert!(stdout.contains("FF_JWT_SECRET=******** (set)"), "{stdout}");
    assert!(!stdout.contains("do-not-print-me"), "{stdout}");
    assert!(stdout.contains("FF_MASTER_KEY=(generated in"), "{stdout}");
    assert!(
        stdout.contains("FF_SMTP_URL=smtp://mail.example.com:2525"),
        "{stdout}"
    );
    assert!(
        stdout.contains("FF_SMTP_PASSWORD=******** (set)"),
        "{stdout}"
    );
    assert!(!stdout.contains("no-smtp-password-either"), "{stdout}");
    assert!(
        stdout.contains("FF_MQTT_MAX_SESSIONS_PER_THING=256"),
        "every setting is shown: {stdout}"
    );
}

#[test]
fn boolean_settings_take_the_usual_spellings() {
    let dir = tempfile::tempdir().unwrap();
    let config = |value: &str| {
        let output = ferroflux(dir.path())
            .env("FF_NO_STORE", value)
            .env("FF_CLOSED_REGISTRATION", value)
            .arg("config")
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        assert!(output.status.success(), "FF_NO_STORE={value}: {output:?}");
        stdout
    };
    for yes in ["1", "true", "yes", "on"] {
        let stdout = config(yes);
        assert!(stdout.contains("FF_NO_STORE=true"), "{yes}: {stdout}");
        assert!(
            stdout.contains("FF_CLOSED_REGISTRATION=true"),
            "{yes}: {stdout}"
        );
    }
    for no in ["0", "false", "no", "off"] {
        let stdout = config(no);
        assert!(stdout.contains("FF_NO_STORE=false"), "{no}: {stdout}");
        assert!(
            stdout.contains("FF_CLOSED_REGISTRATION=false"),
            "{no}: {stdout}"
        );
    }
}

#[test]
fn mail_without_allowed_reset_origins_is_refused_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let output = ferroflux(dir.path())
        .env("FF_SMTP_URL", "smtp://mail.example.com:2525")
        .arg("serve")
        .output()
        .unwrap();
    fails_with(output, "FF_SMTP_URL needs FF_RESET_ORIGINS");
}

#[test]
fn a_malformed_bootstrap_key_is_refused_at_start_and_a_good_one_masked() {
    let dir = tempfile::tempdir().unwrap();
    let output = ferroflux(dir.path())
        .env("FF_BOOTSTRAP_KEY", "12345678910111213141516171819202")
        .arg("serve")
        .output()
        .unwrap();
    fails_with(output, "FF_BOOTSTRAP_KEY must be 64 hex characters");
    let key = "ab".repeat(32);
    let output = ferroflux(dir.path())
        .env("FF_BOOTSTRAP_KEY", &key)
        .arg("config")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("FF_BOOTSTRAP_KEY=******** (set)"),
        "{stdout}"
    );
    assert!(!stdout.contains(&key), "{stdout}");
}
