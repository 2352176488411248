//! The InfluxDB v2 export (`FF_INFLUX_URL`) against a real server with that write API
//! (VictoriaMetrics, from `scripts/services`), read back through its `/api/v1/export`, as a
//! dashboard would see the points.

mod process;

use std::time::{Duration, Instant};

use adapters::influx::{InfluxExport, InfluxOptions};
use adapters::telemetry::TelemetryRecord;
use adapters::writer::RecordSink;
use domain::ids::{ChannelId, ThingId};
use process::{Server, assert_refused_at_start, config_output};
use serde_json::{Value, json};
use uuid::Uuid;

fn options() -> InfluxOptions {
    InfluxOptions {
        url: commands::test_services::influx_url(),
        org: "ferroflux".into(),
        bucket: "messages".into(),
        token: Some("not-checked-by-victoriametrics".into()),
    }
}

/// Every point of `channel`: `(metric name, labels, value, time in ms)`, once `want` are
/// there (the server makes writes searchable within about a second).
async fn points(channel: &str, want: usize) -> Vec<(String, Value, f64, i64)> {
    let url = format!("{}/api/v1/export", commands::test_services::influx_url());
    let started = Instant::now();
    loop {
        let text = reqwest::Client::new()
            .post(&url)
            .form(&[("match[]", format!("{{channel=\"{channel}\"}}"))])
            .send()
            .await
            .expect("export")
            .text()
            .await
            .expect("export body");
        let mut found = Vec::new();
        for line in text.lines() {
            let series: Value = serde_json::from_str(line).expect("a JSON line");
            let name = series["metric"]["__name__"].as_str().unwrap_or_default();
            let values = series["values"].as_array().expect("values");
            let times = series["timestamps"].as_array().expect("timestamps");
            for (value, time) in values.iter().zip(times) {
                let labels = series["metric"].clone();
                let point = (
                    name.to_owned(),
                    labels,
                    value.as_f64().unwrap(),
                    time.as_i64().unwrap(),
                );
                found.push(point);
            }
        }
        if found.len() >= want {
            found.sort_by(|a, b| (a.0.as_str(), a.3).cmp(&(b.0.as_str(), b.3)));
            return found;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "{want} points of {channel} never arrived; found {found:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn records_become_points_in_mainflux_layout() {
    let export = InfluxExport::connect(options()).await.expect("connect");
    assert!(export.shared(), "one InfluxDB for every node");
    let (channel, publisher) = (ChannelId(Uuid::new_v4()), ThingId(Uuid::new_v4()));
    // Whole seconds: exact as floats, so the expected milliseconds are exact too.
    let seconds = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let now = seconds as f64;
    let measured = |name: &str, value: f64, time: f64| TelemetryRecord {
        subtopic: Some("floor 1".into()),
        name: Some(name.into()),
        unit: Some("Cel".into()),
        value: Some(value),
        ..TelemetryRecord::new(channel, publisher, "mqtt", time)
    };
    let door = TelemetryRecord {
        name: Some("door".into()),
        bool_value: Some(true),
        ..TelemetryRecord::new(channel, publisher, "http", now + 2.0)
    };
    let records = vec![
        measured("temp", 21.5, now),
        measured("temp", 22.0, now + 1.0),
        door,
    ];
    export.save(records).await.expect("save");

    let found = points(&channel.0.to_string(), 7).await;
    let series = |metric: &str| -> Vec<(f64, i64)> {
        found
            .iter()
            .filter(|(name, ..)| name == metric)
            .map(|(_, _, value, time)| (*value, *time))
            .collect()
    };
    let ms = seconds as i64 * 1000;
    assert_eq!(series("messages_value"), [(21.5, ms), (22.0, ms + 1000)]);
    assert_eq!(series("messages_boolValue"), [(1.0, ms + 2000)]);
    let temp = &found
        .iter()
        .find(|(name, ..)| name == "messages_value")
        .expect("a value point")
        .1;
    assert_eq!(temp["name"], "temp");
    assert_eq!(temp["subtopic"], "floor 1");
    assert_eq!(temp["publisher"], publisher.0.to_string());
    // Mainflux's string fields (protocol, unit) arrive too; this server keeps them as 0.
    assert_eq!(series("messages_protocol").len(), 3);
}

#[tokio::test]
async fn an_unreachable_server_is_unavailable_at_connect() {
    let outcome = InfluxExport::connect(InfluxOptions {
        url: "http://127.0.0.1:1".into(),
        ..options()
    })
    .await;
    assert!(
        matches!(
            outcome,
            Err(adapters::telemetry::TelemetryError::Unavailable(_))
        ),
        "got {:?}",
        outcome.err().map(|e| e.to_string())
    );
}

/// The binary exports what a device publishes, and still stores it for its reader.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_exports_published_senml_and_still_stores_it() {
    let dir = tempfile::tempdir().unwrap();
    let influx = commands::test_services::influx_url();
    let server = Server::start_with(dir.path(), &[("FF_INFLUX_URL", influx.as_str())]);
    let user = process::User::register(&server.base, "influx@example.com").await;
    let channel = user.create("/channels", json!({"name": "c"})).await;
    let key = format!("key-{}", Uuid::new_v4());
    let thing = user
        .create("/things", json!({"name": "t", "key": key}))
        .await;
    user.connect(&channel, &thing).await;
    let status = reqwest::Client::new()
        .post(format!("{}/channels/{channel}/messages", server.base))
        .header("authorization", format!("Thing {key}"))
        .header("content-type", "application/senml+json")
        .body(r#"[{"bn":"dev:","n":"temp","u":"Cel","v":19.25}]"#)
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, 202);
    let found = points(&channel, 1).await;
    let value = found
        .iter()
        .find(|(name, ..)| name == "messages_value")
        .expect("the value point");
    assert_eq!(
        (value.1["name"].as_str(), value.2),
        (Some("dev:temp"), 19.25)
    );
    let metrics = reqwest::get(format!("{}/metrics", server.base))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("ferroflux_influx_records_written_total 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("ferroflux_telemetry_records_stored_total 1"),
        "{metrics}"
    );
}

#[test]
fn a_bad_or_unreachable_influx_url_stops_the_start_with_one_line() {
    let dir = tempfile::tempdir().unwrap();
    for url in [
        "http://127.0.0.1:1",
        "https://user:secret@influx.example.com",
    ] {
        assert_refused_at_start(dir.path(), "FF_INFLUX_URL", url, "secret");
    }
}

#[test]
fn config_masks_the_influx_token() {
    let dir = tempfile::tempdir().unwrap();
    let env = [
        ("FF_INFLUX_URL", "http://influx.example.com:8086"),
        ("FF_INFLUX_TOKEN", "hunter2"),
    ];
    let stdout = config_output(dir.path(), &env, &[]);
    assert!(
        stdout.contains("FF_INFLUX_URL=http://influx.example.com:8086"),
        "{stdout}"
    );
    assert!(stdout.contains("FF_INFLUX_TOKEN=****"), "{stdout}");
    assert!(!stdout.contains("hunter2"), "{stdout}");
    // Set but empty is off: the configuration is valid.
    config_output(dir.path(), &[("FF_INFLUX_URL", "")], &[]);
}
