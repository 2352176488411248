//! `ferroflux provision --from devices.csv` and `ferroflux things|channels|configs …` as an
//! operator runs them: separate processes talking to a running server's REST API. 1,000
//! devices are provisioned; a re-run makes nothing new; an interrupted run is finished by
//! the next.

mod process;

use std::path::Path;
use std::process::{Command, Output};

use process::{BIN, Server, User, get_json};
use serde_json::Value;

const DEVICES: u64 = 1000;

/// Runs the binary as an operator would, with the server's URL and token in the env.
fn cli(server: &Server, user: &User, args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .env("FF_URL", &server.base)
        .env("FF_TOKEN", &user.token)
        .env("RUST_LOG", "warn")
        .output()
        .expect("ferroflux runs")
}

fn json_out(output: &Output) -> Value {
    let stdout = String::from_utf8_lossy(&output.stdout);
    serde_json::from_str(&stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}): {stdout}\nstderr: {}",
            String::from_utf8_lossy(&output.stderr)
        )
    })
}

async fn totals(server: &Server, user: &User) -> [u64; 3] {
    let mut out = [0; 3];
    for (n, path) in ["/things", "/channels", "/things/configs"]
        .iter()
        .enumerate()
    {
        let page = get_json(&format!("{}{path}?limit=1", server.base), &user.token).await;
        out[n] = page["total"].as_u64().expect("total");
    }
    out
}

fn write_csv(path: &Path, devices: std::ops::Range<u64>) {
    let mut text = String::from("# external id, external key, name\n");
    for n in devices {
        text.push_str(&format!("dev-{n:05},key-{n:05}-secret,device {n}\n"));
    }
    std::fs::write(path, text).expect("write csv");
}

#[tokio::test(flavor = "multi_thread")]
async fn provisioning_a_thousand_devices_twice_makes_them_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start(&dir.path().join("data"));
    let op = User::register(&server.base, "op@example.com").await;
    let csv = dir.path().join("devices.csv");

    // An interrupted first run: only the first 300 lines.
    write_csv(&csv, 0..300);
    let first = cli(
        &server,
        &op,
        &["provision", "--from", csv.to_str().unwrap()],
    );
    assert!(first.status.success(), "{first:?}");
    let summary = json_out(&first);
    assert_eq!(
        (summary["made"].as_u64(), summary["skipped"].as_u64()),
        (Some(300), Some(0))
    );

    // The whole list: the 300 are skipped, the rest made.
    write_csv(&csv, 0..DEVICES);
    let full = cli(
        &server,
        &op,
        &[
            "provision",
            "--from",
            csv.to_str().unwrap(),
            "--concurrency",
            "32",
        ],
    );
    assert!(full.status.success(), "{full:?}");
    let summary = json_out(&full);
    assert_eq!(summary["made"].as_u64(), Some(DEVICES - 300), "{summary}");
    assert_eq!(summary["skipped"].as_u64(), Some(300), "{summary}");
    assert_eq!(summary["failed"].as_u64(), Some(0), "{summary}");
    let made = totals(&server, &op).await;
    assert_eq!(made, [DEVICES, 2 * DEVICES, DEVICES]);

    // Again: nothing new.
    let again = cli(
        &server,
        &op,
        &["provision", "--from", csv.to_str().unwrap()],
    );
    assert!(again.status.success(), "{again:?}");
    let summary = json_out(&again);
    assert_eq!(
        (summary["made"].as_u64(), summary["skipped"].as_u64()),
        (Some(0), Some(DEVICES))
    );
    assert_eq!(totals(&server, &op).await, made);

    // Every device can fetch its config.
    let fetched = reqwest::Client::new()
        .get(format!("{}/things/bootstrap/dev-00999", server.base))
        .header("Authorization", "key-00999-secret")
        .send()
        .await
        .expect("fetch");
    assert_eq!(fetched.status(), 200);
    let (status, _) = server.terminate();
    assert!(status.success());
}

#[tokio::test(flavor = "multi_thread")]
async fn entity_commands_create_list_and_remove_as_json() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start(&dir.path().join("data"));
    let op = User::register(&server.base, "op@example.com").await;

    let thing = json_out(&cli(
        &server,
        &op,
        &[
            "things",
            "create",
            "--name",
            "pump",
            "--metadata",
            r#"{"site":"north"}"#,
        ],
    ));
    assert_eq!(thing["name"], "pump");
    assert_eq!(thing["metadata"]["site"], "north");
    let thing_id = thing["id"].as_str().expect("id").to_owned();
    let channel = json_out(&cli(
        &server,
        &op,
        &["channels", "create", "--name", "telemetry"],
    ));
    let channel_id = channel["id"].as_str().expect("id").to_owned();
    let config = json_out(&cli(
        &server,
        &op,
        &[
            "configs",
            "create",
            "--external-id",
            "ext-1",
            "--external-key",
            "ext-key-1",
            "--thing-id",
            &thing_id,
            "--channel",
            &channel_id,
        ],
    ));
    assert_eq!(config["mainflux_id"], thing_id.as_str());
    assert_eq!(config["mainflux_channels"][0]["id"], channel_id.as_str());

    let things = json_out(&cli(&server, &op, &["things", "list"]));
    assert_eq!(things["total"], 1);
    let configs = json_out(&cli(&server, &op, &["configs", "list", "--limit", "10"]));
    assert_eq!(configs["total"], 1);

    for (kind, id) in [
        ("configs", &thing_id),
        ("channels", &channel_id),
        ("things", &thing_id),
    ] {
        let removed = cli(&server, &op, &[kind, "remove", id]);
        assert!(removed.status.success(), "{kind} remove: {removed:?}");
    }
    assert_eq!(totals(&server, &op).await, [0, 0, 0]);

    // A refusal is a failed command with the server's reason, not JSON on stdout.
    let refused = cli(&server, &op, &["configs", "create", "--external-id", "x"]);
    assert!(!refused.status.success());
    let bad_token = Command::new(BIN)
        .args(["things", "list", "--url", &server.base, "--token", "nope"])
        .output()
        .expect("runs");
    assert!(!bad_token.status.success());
    assert!(
        String::from_utf8_lossy(&bad_token.stderr).contains("401"),
        "{bad_token:?}"
    );
}
