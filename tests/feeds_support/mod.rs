//! Feed test support: a random key prefix per test, and reading a stream the way a
//! third party does (`tests/feeds_consumer.py`, the `redis` PyPI package).
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

pub type Fields = BTreeMap<String, String>;

/// A prefix no other test (or run) uses, so tests share one Redis hermetically.
pub fn prefix() -> String {
    format!("test-{}:", uuid::Uuid::new_v4().simple())
}

/// Every entry of `stream` as (id, fields), read with XREAD, or with XREADGROUP as
/// consumer group `group` (only entries not yet delivered to that group).
pub fn consume(url: &str, stream: &str, group: Option<&str>) -> Vec<(String, Fields)> {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/feeds_consumer.py");
    let mut command = Command::new("/usr/bin/python3");
    command.arg(script).arg(url).arg(stream);
    if let Some(group) = group {
        command.args(["--group", group]);
    }
    let output = command.output().expect("python3 runs");
    assert!(
        output.status.success(),
        "feeds_consumer.py failed (is the redis package installed? scripts/install-deps):\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("consumer JSON")
}

/// Polls `check` until it answers `Some`, for up to 30 s.
pub async fn check_for<T>(what: &str, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(value) = check() {
            return value;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The position part of an entry id `<position>-<k>`.
pub fn position(id: &str) -> u64 {
    id.split_once('-')
        .expect("an entry id")
        .0
        .parse()
        .expect("a number")
}
