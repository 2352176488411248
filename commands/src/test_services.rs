//! The URLs of the real servers that tests of the distributed backends talk to.
//!
//! `scripts/test` starts them with `scripts/services start` and exports `FF_TEST_*_URL`;
//! a test run on its own (`cargo test -p …`) starts them the same way on first use, so no
//! test is skipped and no mock stands in for NATS, PostgreSQL or Redis. Compiled in normal
//! builds for the same reason as the event-log contract suite: tests in every crate use it.

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// NATS with JetStream, e.g. `nats://127.0.0.1:14222`.
pub fn nats_url() -> String {
    url("FF_TEST_NATS_URL")
}

/// A PostgreSQL server where the test user may create databases.
pub fn postgres_url() -> String {
    url("FF_TEST_POSTGRES_URL")
}

pub fn redis_url() -> String {
    url("FF_TEST_REDIS_URL")
}

/// VictoriaMetrics: InfluxDB's v2 write API, and `/api/v1/export` to read points back.
pub fn influx_url() -> String {
    url("FF_TEST_INFLUX_URL")
}

fn url(var: &str) -> String {
    if let Ok(url) = std::env::var(var) {
        return url;
    }
    started()
        .get(var)
        .cloned()
        .unwrap_or_else(|| panic!("scripts/services did not print {var}"))
}

/// Runs `scripts/services start` once per process and keeps the `NAME=value` lines it prints.
fn started() -> &'static HashMap<String, String> {
    static STARTED: OnceLock<HashMap<String, String>> = OnceLock::new();
    STARTED.get_or_init(|| {
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../scripts/services");
        let output = Command::new(&script)
            .arg("start")
            .output()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", script.display()));
        assert!(
            output.status.success(),
            "{} start failed:\n{}",
            script.display(),
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout)
            .lines()
            .filter_map(|line| line.split_once('='))
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect()
    })
}

/// A nats-server of one test's own (free port, store in a temporary directory,
/// `sync_interval: always`), for tests that kill or stop the server.
pub struct PrivateNats {
    dir: tempfile::TempDir,
    port: u16,
    process: Option<Child>,
}

impl PrivateNats {
    pub fn start() -> Self {
        // scripts/services installs nats-server.
        let _ = nats_url();
        let dir = tempfile::tempdir().expect("tempdir");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let config = format!(
            "listen: 127.0.0.1:{port}\njetstream {{\n  store_dir: \"{}\"\n  sync_interval: always\n}}\n",
            dir.path().join("store").display()
        );
        std::fs::write(dir.path().join("nats.conf"), config).expect("config");
        let mut server = Self {
            dir,
            port,
            process: None,
        };
        server.resume();
        server
    }

    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// SIGKILLs the server; its store stays.
    pub fn kill(&mut self) {
        if let Some(mut process) = self.process.take() {
            process.kill().expect("kill -9 nats-server");
            process.wait().expect("reaped");
        }
    }

    /// Starts the server again on the same port and store.
    pub fn resume(&mut self) {
        let process = Command::new("nats-server")
            .arg("-c")
            .arg(self.dir.path().join("nats.conf"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("nats-server runs (scripts/services installs it)");
        self.process = Some(process);
        wait_listening(self.port);
    }

    pub fn kill_and_restart(&mut self) {
        self.kill();
        self.resume();
    }
}

impl Drop for PrivateNats {
    fn drop(&mut self) {
        self.kill();
    }
}

fn wait_listening(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "nats-server did not start on {port}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}
