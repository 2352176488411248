//! The deployment files parse, and every `FF_*` variable they set is one `ferroflux config`
//! knows: a renamed setting must not leave a deployment silently on a default.

mod process;

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

fn read(path: &str) -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(path))
        .unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Every `FF_…` name in `text`.
fn variables(text: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let mut rest = text;
    while let Some(at) = rest.find("FF_") {
        let name: String = rest[at..]
            .chars()
            .take_while(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || *c == '_')
            .collect();
        found.insert(name.trim_end_matches('_').to_owned());
        rest = &rest[at + 3..];
    }
    found
}

fn known_settings() -> BTreeSet<String> {
    let dir = tempfile::tempdir().expect("tempdir");
    let output = process::ferroflux(dir.path())
        .arg("config")
        .output()
        .expect("config runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| line.split_once('=').map(|(name, _)| name.to_owned()))
        .collect()
}

#[test]
fn every_variable_the_deployment_files_set_is_a_setting() {
    let known = known_settings();
    assert!(known.contains("FF_EVENT_LOG"), "{known:?}");
    for path in [
        "deploy/cluster/node.env.example",
        "deploy/cluster/docker-compose.yml",
        "deploy/systemd/ferroflux.env.example",
    ] {
        let unknown: Vec<_> = variables(&read(path)).difference(&known).cloned().collect();
        assert!(
            unknown.is_empty(),
            "{path} sets settings ferroflux does not have: {unknown:?}"
        );
    }
}

#[test]
fn the_env_file_is_key_value_lines() {
    for (n, line) in read("deploy/cluster/node.env.example").lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (name, value) = line
            .split_once('=')
            .unwrap_or_else(|| panic!("line {}: {line}", n + 1));
        assert!(
            name.starts_with("FF_") && !value.is_empty(),
            "line {}: {line}",
            n + 1
        );
    }
}

#[test]
fn the_compose_file_parses_with_every_part_of_the_cluster() {
    let check = r#"
import sys, yaml
doc = yaml.safe_load(open(sys.argv[1]))
services = set(doc["services"])
want = {"nats1", "nats2", "nats3", "postgres", "redis", "influxdb", "ferroflux1", "ferroflux2", "proxy"}
missing = want - services
assert not missing, f"missing services: {missing}"
for node in ("ferroflux1", "ferroflux2"):
    assert doc["services"][node]["env_file"] == "node.env", node
print("ok")
"#;
    let compose = Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/cluster/docker-compose.yml");
    let output = Command::new("/usr/bin/python3")
        .args(["-c", check])
        .arg(compose)
        .output()
        .expect("python3 runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn the_nats_config_is_valid_and_syncs_every_write() {
    let conf = Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/cluster/nats.conf");
    assert!(read("deploy/cluster/nats.conf").contains("sync_interval: always"));
    // scripts/services installs nats-server.
    let _ = commands::test_services::nats_url();
    let output = Command::new("nats-server")
        .arg("-t")
        .arg("-c")
        .arg(conf)
        .env("SERVER_NAME", "check")
        .output()
        .expect("nats-server runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}
