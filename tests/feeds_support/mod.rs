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

/// Deletes the keys under `prefix`, so runs do not pile streams up in the shared Redis.
pub fn cleanup(url: &str, prefix: &str) {
    let script = "for _, k in ipairs(redis.call('KEYS', ARGV[1])) do redis.call('DEL', k) end";
    let _ = Command::new("redis-cli")
        .args(["-u", url, "EVAL", script, "0", &format!("{prefix}*")])
        .output();
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

/// A Redis of this test's own (append-only file fsynced on every write, as a Redis that
/// must not lose acknowledged entries runs), so it can be killed and started again.
pub struct OwnRedis {
    dir: tempfile::TempDir,
    port: u16,
    child: Option<std::process::Child>,
}

impl OwnRedis {
    pub fn start() -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut redis = OwnRedis {
            dir: tempfile::tempdir().unwrap(),
            port,
            child: None,
        };
        redis.restart();
        redis
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    pub fn restart(&mut self) {
        let child = std::process::Command::new("redis-server")
            .args(["--bind", "127.0.0.1", "--port", &self.port.to_string()])
            .args([
                "--save",
                "",
                "--appendonly",
                "yes",
                "--appendfsync",
                "always",
            ])
            .arg("--dir")
            .arg(self.dir.path())
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("redis-server (scripts/services installs it)");
        self.child = Some(child);
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("redis-server did not start on {}", self.port);
    }

    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for OwnRedis {
    fn drop(&mut self) {
        self.kill();
    }
}
