//! The URLs of the real servers that tests of the distributed backends talk to.
//!
//! `scripts/test` starts them with `scripts/services start` and exports `FF_TEST_*_URL`;
//! a test run on its own (`cargo test -p …`) starts them the same way on first use, so no
//! test is skipped and no mock stands in for NATS, PostgreSQL or Redis. Compiled in normal
//! builds for the same reason as the event-log contract suite: tests in every crate use it.

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

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
