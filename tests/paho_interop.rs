//! The Eclipse Paho interoperability suites (MQTT 3.1.1 `client_test.py`, MQTT 5
//! `client_test5.py`) against the real binary, through `tests/paho/paho_suite.py`, which runs
//! each test in its own process under a timeout. The suites are third-party material kept
//! outside the project (`FF_CONFORMANCE_DIR`, default `../shared/conformance`); where they
//! are absent the test says so in one line and passes.
//!
//! Every test of a suite is either in its `MUST_PASS` list or in its `DEVIATIONS` list with
//! the reason; the first only grows, so the broker's interoperability never quietly slips.

mod process;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use process::{Server, User};
use serde_json::json;

/// MQTT 3.1.1 tests that must pass (all pass since QoS 2 delivery, 2026-12-04).
const MUST_PASS_311: &[&str] = &[
    "testBasic",
    "test_keepalive",
    "test_offline_message_queueing",
    "test_overlapping_subscriptions",
    "test_redelivery_on_reconnect",
    "test_retained_messages",
    "test_subscribe_failure",
    "test_unsubscribe",
    "test_zero_length_clientid",
];

/// Publishing to `$` + a suite topic: here `$channels/…`, a topic outside every channel.
const DOLLAR_LAYOUT: &str = "layout: the suite publishes to `$` + one of its topics, here \
     `$channels/…`, a topic outside every channel (refused, connection closed), so it cannot \
     check that `#` leaves `$` topics out";

/// MQTT 3.1.1 tests that fail, and why.
const DEVIATIONS_311: &[(&str, &str)] = &[("test_dollar_topics", DOLLAR_LAYOUT)];

/// MQTT 5 tests that must pass (all but 5 since MQTT 5 properties and features, 2026-12-04;
/// two of those pass too, but for a race of the suite: `SUITE_RACE`).
const MUST_PASS_5: &[&str] = &[
    "test_assigned_clientid",
    "test_basic",
    "test_client_topic_alias",
    "test_flow_control1",
    "test_flow_control2",
    "test_keepalive",
    "test_offline_message_queueing",
    "test_overlapping_subscriptions",
    "test_payload_format",
    "test_publication_expiry",
    "test_redelivery_on_reconnect",
    "test_retained_message",
    "test_server_keep_alive",
    "test_server_topic_alias",
    "test_session_expiry",
    "test_shared_subscriptions",
    "test_subscribe_identifiers",
    "test_unsubscribe",
    "test_user_properties",
    "test_will_delay",
    "test_will_message",
    "test_zero_length_clientid",
];

/// The refusal code: a filter outside the thing's channels gets MQTT 5's 0x87.
const REFUSAL_CODE: &str = "a refused filter gets MQTT 5's SUBACK 0x87 (not authorized); the \
     suite wants 0x80 (unspecified error), and its own SUBACK parser rejects any other code";

/// Two tests pass most runs, and must not turn CI red when they do not.
const SUITE_RACE: &str = "intermittent (2 in 8 runs of test_request_response on a loaded \
     2-core machine; test_subscribe_options has the same step): the suite publishes without \
     waiting for the second client's SUBACK (it waits on the first client's callback twice), \
     so SUBSCRIBE and PUBLISH arrive on two connections within microseconds, and the broker, \
     one task per connection on several threads, may route the PUBLISH before it handles the \
     SUBSCRIBE (a debug log showed it routed 0.2 ms earlier). Request/response itself is \
     tested in tests/mqtt5_properties.rs";

/// MQTT 5 tests that fail, and why.
const DEVIATIONS_5: &[(&str, &str)] = &[
    ("test_dollar_topics", DOLLAR_LAYOUT),
    ("test_request_response", SUITE_RACE),
    ("test_subscribe_options", SUITE_RACE),
    (
        "test_maximum_packet_size",
        "layout: the suite's client takes packets of 64 bytes at most, and asks for no topic \
         aliases; every topic here is longer (`channels/<uuid>/messages/…`, 55 bytes and \
         more), so the small message it expects cannot reach it (it is dropped, as MQTT 5 \
         requires for a packet over the client's maximum)",
    ),
    ("test_subscribe_failure", REFUSAL_CODE),
];

/// The Server Keep Alive the MQTT 5 suite expects when its client asks for 120 s.
const SUITE_KEEP_ALIVE_CAP: &str = "60";

fn suite_dir() -> PathBuf {
    std::env::var_os("FF_CONFORMANCE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/conformance"))
        .join("paho-mqtt-testing/interoperability")
}

/// What one run of a suite reported.
struct Report {
    passed: Vec<String>,
    failed: BTreeMap<String, String>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paho_interoperability_suites_pass_but_for_listed_deviations() {
    let suite = suite_dir();
    if !suite.is_dir() {
        println!("paho interop: skipped, {} is absent", suite.display());
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_with(
        dir.path(),
        &[
            ("FF_COAP_ADDR", "off"),
            ("FF_MQTT_MAX_KEEP_ALIVE", SUITE_KEEP_ALIVE_CAP),
        ],
    );
    let user = User::register(&server.base, "paho@example.com").await;
    let channel = user.create("/channels", json!({"name": "paho"})).await;
    let key = "paho-interop-key";
    let thing = user
        .create("/things", json!({"name": "paho", "key": key}))
        .await;
    user.connect(&channel, &thing).await;
    let (host, port) = server.mqtt.rsplit_once(':').expect("host:port");

    let mut problems = Vec::new();
    for (version, must_pass, deviations) in [
        ("311", MUST_PASS_311, DEVIATIONS_311),
        ("5", MUST_PASS_5, DEVIATIONS_5),
    ] {
        let args = [version, host, port, &thing, key, &channel];
        let report = tokio::task::spawn_blocking({
            let (suite, args) = (suite.clone(), args.map(str::to_owned));
            move || run_suite(&suite, &args)
        })
        .await
        .unwrap();
        problems.extend(judge(version, &report, must_pass, deviations));
    }
    assert!(
        problems.is_empty(),
        "paho interop:\n{}",
        problems.join("\n")
    );
    server.terminate();
}

/// Runs one suite through the wrapper with the system Python (which has the suite's needs).
fn run_suite(suite: &Path, args: &[String]) -> Report {
    let wrapper = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/paho/paho_suite.py");
    let output = Command::new("/usr/bin/python3")
        .arg(wrapper)
        .arg(suite)
        .args(args)
        .output()
        .expect("python3 runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let line = stdout.lines().last().unwrap_or_default();
    let parsed: serde_json::Value = serde_json::from_str(line).unwrap_or_else(|_| {
        panic!(
            "the wrapper printed no report: {stdout}\n{}",
            String::from_utf8_lossy(&output.stderr)
        )
    });
    let names = |v: &serde_json::Value| -> Vec<String> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|n| n.as_str().unwrap().to_owned())
            .collect()
    };
    let failed = parsed["failed"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(name, why)| (name.clone(), why.as_str().unwrap_or_default().to_owned()))
        .collect();
    Report {
        passed: names(&parsed["passed"]),
        failed,
    }
}

/// Prints the tally and returns what breaks the lists: a must-pass test failing, a test on
/// neither list, or a list naming a test the suite does not have.
fn judge(
    version: &str,
    report: &Report,
    must_pass: &[&str],
    deviations: &[(&str, &str)],
) -> Vec<String> {
    let total = report.passed.len() + report.failed.len();
    println!(
        "paho interop: MQTT {version} {}/{total} tests pass",
        report.passed.len()
    );
    let listed = |name: &str| must_pass.contains(&name) || deviations.iter().any(|d| d.0 == name);
    let mut problems = Vec::new();
    for (name, why) in &report.failed {
        let deviation = deviations.iter().find(|d| d.0 == name.as_str());
        println!(
            "  fail {name}: {why}{}",
            deviation
                .map(|d| format!(" [deviation: {}]", d.1))
                .unwrap_or_default()
        );
        if must_pass.contains(&name.as_str()) {
            problems.push(format!("MQTT {version}: {name} must pass: {why}"));
        } else if deviation.is_none() {
            problems.push(format!(
                "MQTT {version}: {name} fails and is not listed: {why}"
            ));
        }
    }
    for name in &report.passed {
        if deviations.iter().any(|d| d.0 == name.as_str()) {
            println!("  deviation now passes, move it to MUST_PASS: {name}");
        } else if !listed(name) {
            problems.push(format!(
                "MQTT {version}: {name} passes: add it to MUST_PASS"
            ));
        }
    }
    let known: Vec<&str> = report
        .passed
        .iter()
        .chain(report.failed.keys())
        .map(String::as_str)
        .collect();
    for name in must_pass.iter().chain(deviations.iter().map(|d| &d.0)) {
        if !known.contains(name) {
            problems.push(format!(
                "MQTT {version}: {name} is listed but the suite has no such test"
            ));
        }
    }
    problems
}
